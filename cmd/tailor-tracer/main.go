// Command tailor-tracer is tailor's shared tracer as a binary of its own:
// what `tailor tracer` does, with the same flags and exit codes. A hook
// that finds no tracer starts one and the container waits for it, so
// this one links the recorder, the profiler's server and the hook's sink,
// and nothing of the command line, the registry or the manual.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/internal/tracerd"
	"github.com/tailor-dev/tailor/profiler"
)

// Exit codes, as `tailor tracer`'s: 125 when the tracer fails, 2 for a
// usage error.
const (
	exitFailed = 125
	exitUsage  = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tailor-tracer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("tracer-dir", profiler.DefaultDir, "directory of the shared tracer's socket, lock and log")
	idle := fs.Duration("idle", profiler.DefaultIdle, "exit after this long with nothing to learn (0: never, for a service)")
	grace := fs.Duration("grace", profiler.DefaultGrace, "wait this long for a container's tasks after its init exits")
	quota := fs.Uint("task-quota", 0, "tasks one container may have tracked at once (default: an eighth of the task map); beyond it, its own profile is marked incomplete")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tailor-tracer [flags]\n\nThe shared tracer that tailor's hook starts on demand (see tailor tracer --help).\n\n")
		fs.PrintDefaults()
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tailor-tracer: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *quota > math.MaxUint32 {
		fmt.Fprintf(stderr, "tailor-tracer: --task-quota %d is out of range\n", *quota)
		return exitUsage
	}
	var opts []bpf.Option
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "task-quota" {
			opts = append(opts, bpf.TaskQuota(uint32(*quota)))
		}
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := tracerd.Run(ctx, *dir, *idle, *grace, opts...); err != nil {
		fmt.Fprintf(stderr, "tailor-tracer: %s\n", err)
		return exitFailed
	}
	return 0
}
