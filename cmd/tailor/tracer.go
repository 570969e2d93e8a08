package main

import (
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/internal/tracerd"
	"github.com/tailor-dev/tailor/profiler"
)

var tracerDirFlag = &cli.StringFlag{
	Name:  "tracer-dir",
	Usage: "directory of the shared tracer's socket, lock and log",
	Value: profiler.DefaultDir,
}

func init() {
	register(&cli.Command{
		Name:   "tracer",
		Usage:  "run the shared tracer (internal: hooks start it on demand)",
		Hidden: true,
		Flags: []cli.Flag{
			tracerDirFlag,
			&cli.DurationFlag{Name: "idle", Value: profiler.DefaultIdle, Usage: "exit after this long with nothing to learn (0: never, for a service)"},
			&cli.DurationFlag{Name: "grace", Value: profiler.DefaultGrace, Usage: "wait this long for a container's tasks after its init exits"},
			&cli.UintFlag{Name: "task-quota", Usage: "tasks one container may have tracked at once (default: an eighth of the task map); beyond it, its own profile is marked incomplete"},
		},
		Action: func(c *cli.Context) error {
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			var opts []bpf.Option
			if c.IsSet("task-quota") {
				opts = append(opts, bpf.TaskQuota(uint32(c.Uint("task-quota"))))
			}
			return fail(exitTailor, tracerd.Run(ctx, c.String("tracer-dir"), c.Duration("idle"), c.Duration("grace"), opts...))
		},
	})
}
