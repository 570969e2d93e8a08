package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/drift"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

// exitDrift is diff's exit code for drift beyond the --fail-on policy.
const exitDrift = 1

func init() {
	register(&cli.Command{
		Name:      "diff",
		Usage:     "what CURRENT needs beyond BASELINE, graded by risk (a CI drift check)",
		UsageText: "tailor diff [--fail-on added|high|any|none] [--format text|json|markdown|github] BASELINE CURRENT",
		Description: `Compares syscalls per ABI, argument values (namespace flags, socket families, ioctl
requests, ...) and granted capabilities. Each addition is graded low, medium or high risk from
tailor's curated table (see docs/drift.md: Docker's default profile, man pages, CVE classes).
BASELINE and CURRENT are files, tailor profiles or seccomp JSON (OCI or Docker format, told
apart by content), names of stored profiles, or oci://HOST/REPO:TAG references to profiles
published with tailor push. A seccomp JSON cannot express capabilities,
provenance, coverage or per-ABI differences: they are not compared against one.

--fail-on decides what is drift:
   added   any addition (new syscall, argument value, ABI or capability), whatever its risk
   high    any high-risk addition
   any     any addition or removal: the profiles must match
   none    never: report only

Exit codes: 0 no drift beyond --fail-on, 1 drift, 2 bad input or usage.

   tailor diff --fail-on high profiles/web.json /var/lib/tailor/profiles/web.json
   tailor diff --format github --fail-on high web.json ci-run   (GitHub Actions annotations)`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "fail-on", Value: string(drift.FailOnAdded), Usage: "what counts as drift: added, high, any or none"},
			&cli.StringFlag{Name: "format", Value: string(drift.FormatText), Usage: "text, json, markdown (a pull-request comment) or github (workflow commands)"},
			&cli.StringFlag{Name: "annotate", Usage: "with --format github: the `FILE` annotations name (default CURRENT; " +
				"e.g. the committed BASELINE, so they show on the pull request; lines only for CURRENT)"},
			storeFlag(),
			plainHTTPFlag(),
		}, importFlags()...),
		Action: func(c *cli.Context) error {
			req, err := diffRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return req.run(c.App.Writer)
		},
	})
}

// diffReq is a validated `tailor diff` invocation.
type diffReq struct {
	baseline, current *seccompjson.Document
	failOn            drift.FailOn
	format            drift.Format
	render            drift.RenderOptions
}

func diffRequest(c *cli.Context) (*diffReq, error) {
	if c.NArg() != 2 {
		return nil, fmt.Errorf("diff takes BASELINE and CURRENT, got %d arguments", c.NArg())
	}
	failOn, err := drift.ParseFailOn(c.String("fail-on"))
	if err != nil {
		return nil, fmt.Errorf("--fail-on: %w", err)
	}
	format, err := drift.ParseFormat(c.String("format"))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	store := profiles.NewStore(c.String("store"))
	opts := importOptions(c)
	req := &diffReq{failOn: failOn, format: format, render: drift.RenderOptions{AnnotateFile: c.String("annotate")}}
	if req.baseline, err = readInputArg(c, c.Args().Get(0), store, opts); err != nil {
		return nil, err
	}
	if req.current, err = readInputArg(c, c.Args().Get(1), store, opts); err != nil {
		return nil, err
	}
	out, isFile := c.App.Writer.(*os.File)
	req.render.Color = isFile && isTerminal(out) && os.Getenv("NO_COLOR") == ""
	return req, nil
}

func (r *diffReq) run(w io.Writer) error {
	report := drift.Diff(r.baseline, r.current)
	verdict := report.Judge(r.failOn)
	if err := drift.Render(w, report, verdict, r.format, r.render); err != nil {
		return fail(exitUsage, err)
	}
	if verdict.Drift {
		return fail(exitDrift, errors.New("drift: "+verdict.Summary))
	}
	return nil
}
