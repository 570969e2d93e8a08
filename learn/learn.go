package learn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiler"
)

// Options configure one learning run of an OCI bundle.
type Options struct {
	Bundle string
	// Runtime runs the container (see OCIRuntime).
	Runtime Runtime
	Name    string // container id; generated when empty
	Output  string // the profile to write
	Timeout time.Duration
	// Hook is the tailor hook the runtime runs at createRuntime (its
	// arguments reach the tracer Tracer talks to).
	Hook   specs.Hook
	Tracer Tracer
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Progress, when set, gets a live count while the container runs.
	Progress io.Writer
}

// Tracer is what a learning run needs of the shared tracer
// (*profiler.Client).
type Tracer interface {
	Ensure() error
	Status(ctx context.Context, id string) (*profiler.Status, error)
	Wait(ctx context.Context, id string) (*profiler.Result, error)
}

// ErrLearn marks tailor's own failures in a learning run (as opposed to the
// container's exit code).
var ErrLearn = errors.New("learning run")

// ErrBadInput marks a learning run refused for its input (a bundle that is
// missing or invalid, an output directory that does not exist): the user's
// to fix, not tailor's failure.
var ErrBadInput = errors.New("bad input")

// resultGrace bounds the wait for the profile once the container is gone:
// the tracer waits DefaultGrace for stray tasks, then drains and writes.
const resultGrace = profiler.DefaultGrace + 30*time.Second

// probeTimeout bounds the question whether the tracer knows a container
// whose runtime failed: a tracer that cannot answer that at once cannot
// deliver its profile either.
const probeTimeout = 2 * time.Second

// Run runs the bundle once under the runtime with the tailor hook and a
// permissive learning filter, on a copy of its config.json. It returns the
// container's exit code; err is tailor's own failure (ErrLearn) or bad
// input (ErrBadInput).
func Run(ctx context.Context, o Options) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("%w: %w", ErrLearn, err) }
	bad := func(err error) (int, error) { return 0, fmt.Errorf("%w: %w", ErrBadInput, err) }
	out, err := filepath.Abs(o.Output)
	if err != nil {
		return bad(fmt.Errorf("-o %s: %w", o.Output, err))
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return bad(fmt.Errorf("-o %s: directory %s does not exist", o.Output, filepath.Dir(out)))
	}
	dir, err := filepath.Abs(o.Bundle)
	if err != nil {
		return bad(fmt.Errorf("--bundle %s: %w", o.Bundle, err))
	}
	if o.Name == "" {
		o.Name = "tailor-learn-" + randomHex(6)
	}
	work, err := os.MkdirTemp("", "tailor-bundle-")
	if err != nil {
		return fail(fmt.Errorf("create working bundle: %w", err))
	}
	defer os.RemoveAll(work)
	hook := o.Hook
	hook.Args = append(hook.Args, "--output", out)
	if err := writeLearningConfig(dir, work, hook); err != nil {
		return bad(err)
	}
	if err := o.Tracer.Ensure(); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Progress != nil {
		go showProgress(ctx, o.Tracer, o.Name, o.Progress)
	}

	var timedOut atomic.Bool
	if o.Timeout > 0 {
		t := time.AfterFunc(o.Timeout, func() {
			timedOut.Store(true)
			o.Runtime.Kill(o.Name, "KILL")
		})
		defer t.Stop()
	}
	code, runErr := o.Runtime.Run(ctx, work, o.Name, Stdio{o.Stdin, o.Stdout, o.Stderr})
	// `run` removes a container when it exits (runc 1.1 and crun 1.8 also
	// when they failed to start it): the delete is for a runtime that
	// could not be run, or one whose state is still there. It runs beside
	// the wait for the profile rather than before it.
	deleted := make(chan struct{})
	if runErr == nil && o.Runtime.Gone(o.Name) {
		close(deleted)
	} else {
		go func() {
			defer close(deleted)
			o.Runtime.Delete(o.Name)
		}()
	}
	defer func() { <-deleted }()
	cancel()
	if o.Progress != nil {
		fmt.Fprint(o.Progress, "\r\033[K")
	}
	if runErr != nil {
		return fail(fmt.Errorf("run %s: %w", o.Runtime, runErr))
	}
	if code != 0 {
		// The runtime may have failed before the container started (a
		// refused config, a failed hook): then no profile can come, so say
		// so now rather than after waiting for one.
		pctx, pcancel := context.WithTimeout(context.Background(), probeTimeout)
		_, err := o.Tracer.Status(pctx, o.Name)
		pcancel()
		if err != nil {
			return fail(fmt.Errorf("container %s was not learned: %s exited with %d (see its message above) and the tracer has no record of it: %w",
				o.Name, o.Runtime, code, err))
		}
	}

	wctx, wcancel := context.WithTimeout(context.Background(), resultGrace)
	defer wcancel()
	res, err := o.Tracer.Wait(wctx, o.Name)
	if err != nil {
		return fail(fmt.Errorf("container %s was not learned (%s exited with %d; see its message above): %w", o.Name, o.Runtime, code, err))
	}
	if res.Error != "" {
		return fail(fmt.Errorf("write profile: %s", res.Error))
	}
	if timedOut.Load() {
		fmt.Fprintf(o.Stderr, "tailor: the container ran longer than --timeout %s and was killed; the profile holds what it did until then\n", o.Timeout)
	}
	if !res.Complete {
		fmt.Fprintf(o.Stderr, "tailor: warning: the profile is INCOMPLETE: %v\n", res.Loss)
	}
	fmt.Fprintf(o.Stderr, "tailor: learned %d syscalls and %d capabilities into %s\n", res.Syscalls, res.Capabilities, out)
	return code, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func showProgress(ctx context.Context, c Tracer, id string, w io.Writer) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := c.Status(ctx, id)
		if err != nil || st == nil {
			continue
		}
		fmt.Fprintf(w, "\r\033[Ktailor: learning %s: %d syscalls, %d capabilities", id, st.Syscalls, st.Capabilities)
	}
}

// writeLearningConfig writes work/config.json: the bundle's config with
// root.path and relative bind sources made absolute and the learning setup
// added (see bundle.AddLearning).
func writeLearningConfig(dir, work string, hook specs.Hook) error {
	path := filepath.Join(dir, "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--bundle %s: %w", dir, err)
	}
	out, err := bundle.AddLearning(data, dir, hook)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(filepath.Join(work, "config.json"), out, 0o600)
}
