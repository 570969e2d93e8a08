// Package tracerd runs the shared tracer: the recorder's BPF programs and
// the profiler's server on its socket, writing profiles with the hook's
// sink. `tailor tracer` and the tailor-tracer binary are this package
// behind their flags.
package tracerd

import (
	"context"
	"log"
	"time"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/hook/sink"
	"github.com/tailor-dev/tailor/profiler"
)

// Run loads the recorder and serves on dir's socket until ctx ends or the
// tracer is idle for idle (0: never, as a service, whoever its parent is).
func Run(ctx context.Context, dir string, idle, grace time.Duration, opts ...bpf.Option) error {
	if err := profiler.LeaveCgroups(); err != nil {
		log.Printf("tracer stays in its cgroups: %v", err)
	}
	t, err := bpf.Load(opts...)
	if err != nil {
		return err
	}
	defer t.Close()
	s := &profiler.Server{Recorder: t, Sink: sink.Sink, Ring: t, Idle: idle, Grace: grace}
	if idle == 0 {
		// Run as a service: never idle out, whoever the parent is.
		s.Idle = 1<<63 - 1
		s.Adopted = func() bool { return false }
	}
	return s.Run(ctx, dir)
}
