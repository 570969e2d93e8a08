package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/hooks"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name:  "hook",
		Usage: "OCI hook (createRuntime or prestart): learn the container named by the OCI state on stdin",
		Description: `Triggered by the annotations ` + hooks.AnnotationTraceSyscall + `=of:/abs/out.json[;if:/abs/in.json]
(oci-seccomp-bpf-hook's syntax: writes an OCI seccomp JSON) and ` + hooks.AnnotationLearn + `=NAME
(writes the tailor profile NAME into the store). Exits non-zero with a one-line reason when the
container cannot be learned; the runtime then refuses to start it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "store", Value: profiles.DefaultStoreDir, EnvVars: []string{"TAILOR_STORE"}, Usage: "profile store for " + hooks.AnnotationLearn},
			&cli.StringSliceFlag{Name: "allow-dir", Usage: "directory " + hooks.AnnotationTraceSyscall + " may write to and read from (repeatable)"},
			&cli.StringFlag{Name: "output", Usage: "write the tailor profile here (set by tailor learn)"},
			tracerDirFlag,
			&cli.DurationFlag{Name: "tracer-timeout", Value: hooks.DefaultTracerTimeout, Usage: "give up on the tracer after this long"},
		},
		Action: func(c *cli.Context) error {
			opts := hooks.HookOptions{
				Store:     c.String("store"),
				AllowDirs: c.StringSlice("allow-dir"),
				Output:    c.String("output"),
				Tracer:    tracerClient(c.String("tracer-dir"), c.Duration("tracer-timeout")),
			}
			return fail(1, hooks.RunHook(c.Context, os.Stdin, opts))
		},
	})
}

// tracerClient reaches the shared tracer in dir, starting this binary as
// the tracer when none runs.
func tracerClient(dir string, timeout time.Duration) *profiler.Client {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	exe, _ = filepath.EvalSymlinks(exe)
	return &profiler.Client{
		Dir:     dir,
		Timeout: timeout,
		Start:   profiler.StartCommand(dir, exe, "tracer", "--tracer-dir", dir),
	}
}
