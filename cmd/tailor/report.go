package main

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name:      "report",
		Usage:     "summarise a profile beside Docker's default seccomp profile and capabilities",
		UsageText: "tailor report [--format text|json] [--default-action ACTION] [--bundle DIR] PROFILE",
		Description: "Shows the syscalls and capabilities the generated filter allows, how many Docker's\n" +
			"default allows (amd64, its 14 default capabilities), what tailor refuses that Docker\n" +
			"allows, the argument rules, and notes. An incomplete profile is flagged on the first line.\n" +
			"With --bundle, it also shows what enforcing the profile on that bundle (tailor apply, tailor\n" +
			"runtime) takes away: the filter enforced allows only what both the profile's filter and the\n" +
			"bundle's own linux.seccomp allow (read from config.json" + bundle.BackupSuffix + " once apply has kept it).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(generator.ReportFormats[0]), Usage: "text or json"},
			defaultActionFlag("the seccomp default action to report on: errno, enosys, kill or log"),
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "also show what the seccomp filter of the OCI bundle `DIR` takes away"},
			plainHTTPFlag(),
		},
		Action: func(c *cli.Context) error {
			req, err := reportRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c.App.Writer))
		},
	})
}

// reportReq is a validated `tailor report` invocation.
type reportReq struct {
	path    string
	profile *profiles.Profile
	format  generator.ReportFormat
	opts    generator.SeccompOptions
	bold    bool
	// engine is the bundle's own filter (--bundle; nil: it has none), read
	// from engineFrom; engineFrom is empty without --bundle.
	engine     *specs.LinuxSeccomp
	engineFrom string
	// complain is set when the bundle is in complain mode.
	complain *generator.ComplainBundle
}

func reportRequest(c *cli.Context) (*reportReq, error) {
	format, err := generator.ParseReportFormat(c.String("format"))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	opts, err := seccompOptions(c)
	if err != nil {
		return nil, err
	}
	path, p, err := profileArg(c)
	if err != nil {
		return nil, err
	}
	out, isFile := c.App.Writer.(*os.File)
	req := &reportReq{path: path, profile: p, format: format, opts: opts, bold: isFile && isTerminal(out)}
	if dir := c.String("bundle"); dir != "" {
		if req.engine, req.engineFrom, err = bundle.EngineSeccomp(dir); err != nil {
			return nil, fmt.Errorf("--bundle: %w", err)
		}
		if req.complain, err = complainBundle(dir); err != nil {
			return nil, fmt.Errorf("--bundle: %w", err)
		}
	}
	return req, nil
}

func (r *reportReq) run(w io.Writer) error {
	rep, err := generator.NewReport(r.profile, r.opts)
	if err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	if r.engineFrom != "" {
		if err := rep.Within(r.engineFrom, r.engine); err != nil {
			return fmt.Errorf("--bundle: %w", err)
		}
	}
	if r.complain != nil {
		rep.InComplainMode(*r.complain)
	}
	if r.format == generator.ReportJSON {
		data, err := reportJSON(rep, r.profile)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := rep.WriteText(w, r.bold); err != nil {
		return err
	}
	return writeLandlockText(w, r.profile)
}
