package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/wrapper"
)

func init() {
	register(&cli.Command{
		Name:      "runtime",
		Usage:     "OCI runtime wrapper (for Docker): learn or enforce a profile on create, then exec the real runtime",
		UsageText: "tailor runtime [--runtime runc|crun|PATH] [--store DIR] [--learn-replaces] -- RUNTIME-ARGS...",
		Description: `Register it with Docker (daemon.json):

     "runtimes": {"tailor": {"path": "/usr/local/bin/tailor",
                             "runtimeArgs": ["runtime", "--runtime", "runc", "--"]}}

   then: docker run --runtime tailor -e ` + wrapper.EnvLearn + `=web IMAGE     (add a recording of web)
         tailor profiles promote web                               (make it the profile web)
         docker run --runtime tailor -e ` + wrapper.EnvProfile + `=web IMAGE   (enforce it)

On create (and run) the bundle's config.json is prepared: ` + wrapper.EnvLearn + ` (or the annotation
` + hook.AnnotationLearn + `) adds the tailor hook and the learning filter, and the hook adds a
recording to the store that an operator promotes (with --learn-replaces it replaces the stored
profile, which other containers may enforce); ` + wrapper.EnvProfile + ` (or ` + wrapper.AnnotationProfile + `)
applies the stored profile's seccomp filter and capabilities, and a missing, invalid or
incomplete profile refuses the container; a profile never grants a capability the engine did
not. On exec into a container that enforces a profile, the process file's capabilities are
narrowed to the container's, and a --cap it does not hold is refused. A command line tailor
cannot read the way the runtime will (crun's --config, abbreviated options, -bDIR) is refused.
Every other command, and a container that asks for neither, passes straight through.
The "--" ends tailor's own flags. See docs/engines.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "runtime", Aliases: []string{"delegate"}, Value: "runc", Usage: "the real OCI runtime: runc, crun or a path"},
			storeFlag(),
			&cli.BoolFlag{Name: "allow-incomplete", Usage: "enforce profiles that lost observations while recording"},
			&cli.BoolFlag{Name: "no-learn", Usage: "refuse learning requests (an image's environment can ask for one): enforce only"},
			learnReplacesFlag,
			tracerDirFlag,
			&cli.BoolFlag{Name: "landlock", Usage: "enforce the Landlock ruleset of every enforced profile " +
				"(a container asks with " + wrapper.EnvLandlock + "=1 otherwise; its image cannot turn this off)"},
			&cli.BoolFlag{Name: "landlock-strict", Usage: "refuse a kernel whose Landlock ABI lacks something a ruleset needs"},
			&cli.StringFlag{Name: "landlock-helper", DefaultText: helperName + " beside the tailor executable",
				Usage: "the Landlock helper executable `PATH` on the host"},
			&cli.BoolFlag{Name: "allow-complain", Usage: "honour " + wrapper.EnvComplain + "=1|report beside " + wrapper.EnvProfile +
				" (complain mode lets through what the profile lacks: an image's ENV alone cannot turn it on; docs/complain.md)"},
		},
		// Docker puts the runtime's own flags (--root, --log) before its
		// command: without the "--", they read as tailor's.
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fail(exitUsage, fmt.Errorf("%w: tailor's own flags come before \"--\", the runtime's after it "+
				"(tailor runtime --runtime runc -- --root DIR create ...; in daemon.json, end runtimeArgs with \"--\")", err))
		},
		Action: func(c *cli.Context) error {
			opts := wrapper.Options{
				Runtime: c.String("runtime"), Args: c.Args().Slice(), Store: c.String("store"),
				Exe: selfExe(), LeanHook: hook.Lean(selfExe()), TracerDir: c.String("tracer-dir"),
				Apply:   bundle.ApplyOptions{AllowIncomplete: c.Bool("allow-incomplete")},
				NoLearn: c.Bool("no-learn"), LearnReplaces: c.Bool("learn-replaces"),
				Landlock: c.Bool("landlock"), LandlockStrict: c.Bool("landlock-strict"),
				LandlockHelper: helperPath(c.String("landlock-helper")),
				Exec:           execRuntime, Output: wrapper.RuntimeOutput, Env: os.Environ(), Complain: runtimeComplain(c),
			}
			return fail(exitTailor, wrapper.Run(opts))
		},
	})
}

// execRuntime replaces this process with the real runtime (a variable for
// tests, which must not be replaced).
var execRuntime = syscall.Exec
