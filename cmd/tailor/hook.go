package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/profiler"
)

func init() {
	register(&cli.Command{
		Name:  "hook",
		Usage: "OCI hook (createRuntime or prestart): learn the container named by the OCI state on stdin",
		Description: `Triggered by the annotations ` + hook.AnnotationTraceSyscall + `=of:/abs/out.json[;if:/abs/in.json]
(oci-seccomp-bpf-hook's syntax: writes an OCI seccomp JSON) and ` + hook.AnnotationLearn + `=NAME
(adds a recording of NAME to the store, per Kubernetes namespace when the pod has one; an operator
makes it the profile containers enforce with tailor profiles promote NAME, or starts the hook with
--learn-replaces). The tracer writes through directory handles the hook opened, never through a
path. Exits non-zero with a one-line reason when the
container cannot be learned; the runtime then refuses to start it.
tailor-hook, installed beside tailor, is this command as a small binary
of its own (same flags, faster to start): the hooks.d JSON runs it.`,
		Flags: []cli.Flag{
			storeFlag(),
			learnReplacesFlag,
			&cli.StringSliceFlag{Name: "allow-dir", Usage: "directory " + hook.AnnotationTraceSyscall + " may write to and read from (repeatable)"},
			&cli.StringFlag{Name: "output", Usage: "write the tailor profile here (set by tailor learn)"},
			tracerDirFlag,
			&cli.DurationFlag{Name: "tracer-timeout", Value: hook.DefaultTracerTimeout, Usage: "give up on the tracer after this long"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(exitUsage, fmt.Errorf("tailor hook takes no arguments (got %q): the OCI state comes on stdin", c.Args().Slice()))
			}
			opts := hook.Options{
				Store:         c.String("store"),
				LearnReplaces: c.Bool("learn-replaces"),
				AllowDirs:     c.StringSlice("allow-dir"),
				Output:        c.String("output"),
				Tracer:        tracerClient(c.String("tracer-dir"), c.Duration("tracer-timeout")),
			}
			return fail(1, hook.Run(c.Context, os.Stdin, opts))
		},
	})
}

// learnReplacesFlag lets learning requests replace stored profiles.
var learnReplacesFlag = &cli.BoolFlag{Name: "learn-replaces",
	Usage: "a learning request replaces the stored profile of its name, which other containers may enforce (default: it adds a recording to promote)"}

// tracerClient reaches the shared tracer in dir, starting this binary as
// the tracer when none runs.
func tracerClient(dir string, timeout time.Duration) *profiler.Client {
	return hook.TracerClient(dir, timeout, selfExe())
}

// selfExe is this binary's resolved path, for hooks and tracers that run
// it again.
func selfExe() string { return hook.Executable() }
