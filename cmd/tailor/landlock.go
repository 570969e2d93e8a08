package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/landlock"
	"github.com/tailor-dev/tailor/landlock/derive"
	"github.com/tailor-dev/tailor/profiles"
)

// formatLandlock is `tailor generate --format landlock`: the ruleset as
// JSON, for people who enforce it with their own tools.
const formatLandlock generator.Format = "landlock"

// helperName is the helper's file name beside the tailor executable.
const helperName = "tailor-landlock"

// landlockFlags are the flags of the commands that can enforce Landlock.
func landlockFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "landlock", Usage: "also enforce the profile's Landlock ruleset (files, TCP ports, scopes) " +
			"through the " + helperName + " helper, which becomes the container's first program (docs/landlock.md)"},
		&cli.BoolFlag{Name: "landlock-strict", Usage: "with --landlock: refuse a kernel whose Landlock ABI lacks something the ruleset needs " +
			"(default: enforce what it supports and say what was dropped)"},
		&cli.StringFlag{Name: "landlock-helper", DefaultText: helperName + " beside the tailor executable",
			Usage: "with --landlock: the helper executable `PATH` on the host"},
	}
}

// landlockOptions reads the Landlock flags; nil without --landlock.
func landlockOptions(c *cli.Context, dir string) (*bundle.LandlockOptions, error) {
	if !c.Bool("landlock") {
		for _, f := range []string{"landlock-strict", "landlock-helper"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s applies with --landlock only", f)
			}
		}
		return nil, nil
	}
	return &bundle.LandlockOptions{Helper: helperPath(c.String("landlock-helper")), Dir: dir,
		Strict: c.Bool("landlock-strict"), KernelABI: landlock.KernelABI}, nil
}

// helperPath is the helper given, else the one beside this executable.
func helperPath(flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(filepath.Dir(selfExe()), helperName)
}

// parseFormat is generator.ParseFormat with the Landlock format.
func parseFormat(s string) (generator.Format, error) {
	if s == string(formatLandlock) {
		return formatLandlock, nil
	}
	return generator.ParseFormat(s)
}

// generateOutput is generator.Generate with the Landlock format.
func generateOutput(p *profiles.Profile, opts generator.Options) ([]byte, []generator.Note, error) {
	if opts.Format != formatLandlock {
		return generator.Generate(p, opts)
	}
	rs, notes, err := derive.FromProfile(p)
	if err != nil {
		return nil, nil, err
	}
	out, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("encode the landlock ruleset: %w", err)
	}
	return append(out, '\n'), notes, nil
}

// landlockReport is the report's Landlock section: the ruleset, or why
// there is none.
type landlockReport struct {
	Ruleset *landlock.Ruleset `json:"ruleset,omitempty"`
	Notes   []string          `json:"notes,omitempty"`
	Missing string            `json:"missing,omitempty"`
}

func newLandlockReport(p *profiles.Profile) *landlockReport {
	rs, notes, err := derive.FromProfile(p)
	if err != nil {
		return &landlockReport{Missing: err.Error()}
	}
	r := &landlockReport{Ruleset: rs}
	for _, n := range notes {
		r.Notes = append(r.Notes, n.String())
	}
	return r
}

// reportJSON is the report's JSON with its Landlock section.
func reportJSON(rep *generator.Report, p *profiles.Profile) ([]byte, error) {
	data, err := json.MarshalIndent(struct {
		*generator.Report
		Landlock *landlockReport `json:"landlock"`
	}{rep, newLandlockReport(p)}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(data, '\n'), nil
}

// writeLandlockText writes the report's Landlock section for people. Paths
// are quoted: a file name may hold any byte.
func writeLandlockText(w io.Writer, p *profiles.Profile) error {
	r := newLandlockReport(p)
	var b strings.Builder
	b.WriteString("\nLandlock ruleset (tailor apply --landlock)\n")
	if r.Ruleset == nil {
		fmt.Fprintf(&b, "  none: %s\n", r.Missing)
		_, err := io.WriteString(w, b.String())
		return err
	}
	rs := r.Ruleset
	fmt.Fprintf(&b, "  ABI %d; handles %d filesystem rights, TCP %s, scopes %s\n", rs.ABI, rs.HandledFS.Count(),
		orNoneList(rs.HandledNet.Names()), orNoneList(rs.Scoped.Names()))
	for _, pr := range rs.Paths {
		fmt.Fprintf(&b, "  %-40s %s\n", fmt.Sprintf("%q", pr.Path), pr.Access)
	}
	for _, pr := range rs.Ports {
		fmt.Fprintf(&b, "  tcp port %-31d %s\n", pr.Port, strings.Join(pr.Access.Names(), ","))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNoneList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}
