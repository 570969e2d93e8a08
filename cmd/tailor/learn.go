package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/learn"
)

func init() {
	register(&cli.Command{
		Name:      "learn",
		Usage:     "run an OCI bundle once and record what it does into a profile",
		UsageText: "tailor learn --bundle DIR [--runtime runc|crun|PATH] [--name ID] -o PROFILE [--timeout DURATION]",
		Description: `Runs the bundle under the runtime with the tailor hook and a permissive learning
seccomp filter, on a copy of its config.json (the bundle is not modified), passing stdio through.
Exit status: the container's; 2 for bad input (a missing bundle, an invalid config.json, a
missing output directory); 125 when tailor itself failed (with a message).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Required: true, Usage: "OCI bundle directory (with config.json)"},
			&cli.StringFlag{Name: "runtime", Value: "runc", Usage: "OCI runtime: runc, crun or a path"},
			&cli.StringFlag{Name: "name", Usage: "container id (default: generated)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "where to write the profile"},
			&cli.DurationFlag{Name: "timeout", Usage: "kill the container after this long (default: no limit)"},
			tracerDirFlag,
		},
		Action: func(c *cli.Context) error {
			runtime, err := learn.LookupRuntime(c.String("runtime"))
			if err != nil {
				return fail(exitUsage, err)
			}
			dir := c.String("tracer-dir")
			opts := learn.Options{
				Bundle: c.String("bundle"), Runtime: runtime, Name: c.String("name"),
				Output: c.String("output"), Timeout: c.Duration("timeout"),
				Hook:   hook.Command(selfExe(), hook.Lean(selfExe()), []string{"--tracer-dir", dir}),
				Tracer: tracerClient(dir, hook.DefaultTracerTimeout),
				Stdin:  os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
			}
			if isTerminal(os.Stderr) {
				opts.Progress = os.Stderr
			}
			code, err := learn.Run(c.Context, opts)
			switch {
			case errors.Is(err, learn.ErrBadInput):
				return fail(exitUsage, err)
			case err != nil:
				return fail(exitTailor, err)
			case code != 0:
				return cli.Exit("", code)
			}
			return nil
		},
	})
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
