package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name:      "apply",
		Usage:     "enforce a profile on an OCI bundle (writes linux.seccomp and process.capabilities)",
		UsageText: "tailor apply --bundle DIR [--default-action errno|enosys|kill|log] [--allow-incomplete] [--apparmor NAME] [--landlock [--landlock-strict] | --complain [--report] [--violations FILE]] PROFILE",
		Description: "Patches the bundle's config.json in place: linux.seccomp becomes the generated filter\n" +
			"(intersected with the bundle's own filter, when it has one: apply never allows what that\n" +
			"refuses, and says what the intersection removed)\n" +
			"and process.capabilities the profile's minimal set; every other field is kept as it was.\n" +
			"The first apply keeps the original as config.json" + bundle.BackupSuffix + ". The file is replaced\n" +
			"atomically, and left untouched when the config or the profile is invalid.\n\n" +
			"--landlock also enforces the files, TCP ports and scopes the profile recorded (a Landlock\n" +
			"ruleset) through the tailor-landlock helper, bind-mounted read-only under /dev and made\n" +
			"process.args[0]; the helper loads the learned seccomp filter before it execs the workload.\n" +
			"linux.seccomp, which exec sessions get, is then the learned filter plus the helper's own\n" +
			"syscalls (docs/landlock.md lists them).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Required: true, Usage: "OCI bundle `DIR` (with config.json)"},
			defaultActionFlag("seccomp action for syscalls the profile never made: errno (EPERM), enosys, kill (the process) or log"),
			&cli.BoolFlag{Name: "allow-incomplete", Usage: "enforce a profile that lost observations while recording (it may be too tight)"},
			plainHTTPFlag(),
			&cli.StringFlag{Name: "apparmor", Usage: "also set process.apparmorProfile to `NAME`: the AppArmor profile " +
				"tailor generate --format apparmor wrote, loaded with apparmor_parser -r (docs/apparmor.md)"},
			tracerDirFlag,
		}, append(landlockFlags(), complainFlags()...)...),
		Action: func(c *cli.Context) error {
			req, err := applyRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c.App.Writer, c.App.ErrWriter))
		},
	})
}

// applyReq is a validated `tailor apply` invocation.
type applyReq struct {
	bundle string
	// tracerDir and store are where complain mode's agent runs and keeps
	// its recordings.
	tracerDir, store string
	path             string
	profile          *profiles.Profile
	opts             bundle.ApplyOptions
}

func applyRequest(c *cli.Context) (*applyReq, error) {
	opts, err := seccompOptions(c)
	if err != nil {
		return nil, err
	}
	path, p, err := profileArg(c)
	if err != nil {
		return nil, err
	}
	ll, err := landlockOptions(c, c.String("bundle"))
	if err != nil {
		return nil, err
	}
	cmpl, err := complainOptions(c, path, p, opts.DefaultAction)
	if err != nil {
		return nil, err
	}
	if ll != nil && cmpl != nil {
		return nil, errors.New("--landlock and --complain cannot be combined: roll the profile out with --complain first, then enforce it with --landlock")
	}
	return &applyReq{bundle: c.String("bundle"), tracerDir: c.String("tracer-dir"), store: c.String("store"), path: path, profile: p, opts: bundle.ApplyOptions{
		Seccomp: opts, AllowIncomplete: c.Bool("allow-incomplete"), AppArmorProfile: c.String("apparmor"), Landlock: ll, Complain: cmpl}}, nil
}

func (r *applyReq) run(stdout, stderr io.Writer) error {
	notes, err := bundle.ApplyBundle(r.bundle, r.profile, r.opts)
	if err != nil {
		return fmt.Errorf("apply %s: %w", r.path, err)
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "tailor: note: %s\n", n)
	}
	if r.opts.Complain != nil {
		if err := ensureAgent(r.tracerDir, r.store); err != nil {
			return err
		}
		complainNotice(stdout, r.opts.Complain)
	}
	config := filepath.Join(r.bundle, "config.json")
	_, err = fmt.Fprintf(stdout, "applied %s to %s (original kept in %s)\n", r.path, config, config+bundle.BackupSuffix)
	return err
}
