package generator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/drift"
)

// TouchReport summarises what a container touches: the profile's files,
// programs, network endpoints and signals, with the high-risk ones named
// (graded as tailor diff grades a new need).
type TouchReport struct {
	// Recorded is the dimensions the profile's recording covered.
	Recorded []profiles.Dimension `json:"recorded"`
	// NotRecorded is the touch dimensions it did not: their sections say
	// nothing, and profiles that need them (AppArmor, Landlock) refuse it.
	NotRecorded []profiles.Dimension `json:"notRecorded"`
	Files       FileCounts           `json:"files"`
	// Written is the paths written, created, removed or renamed.
	Written  []string `json:"written"`
	Programs []string `json:"programs"`
	Network  []string `json:"network"`
	Signals  []string `json:"signals"`
	// HighRisk is what diff would grade high if it were new, with why.
	HighRisk []string `json:"highRisk"`
}

// FileCounts counts paths by what was done to them (a path counts in
// every class it is in).
type FileCounts struct {
	Paths    int `json:"paths"`
	Read     int `json:"read"`
	Written  int `json:"written"`
	Executed int `json:"executed"`
	// Lookups is paths looked up and not found (config probes).
	Lookups int `json:"lookups"`
}

var writeAccesses = []profiles.Access{profiles.AccessWrite, profiles.AccessAppend, profiles.AccessCreate,
	profiles.AccessTruncate, profiles.AccessMkdir, profiles.AccessRmdir, profiles.AccessUnlink,
	profiles.AccessRenameFrom, profiles.AccessRenameTo, profiles.AccessLink, profiles.AccessSymlink,
	profiles.AccessChmod, profiles.AccessChown, profiles.AccessMknod, profiles.AccessBind}

// newTouchReport summarises p's touch sections.
func newTouchReport(p *profiles.Profile) *TouchReport {
	t := &TouchReport{Recorded: nonNilDims(p.Recorded), Written: []string{}, Programs: []string{},
		Network: []string{}, Signals: []string{}, HighRisk: []string{}, NotRecorded: []profiles.Dimension{}}
	for _, d := range []profiles.Dimension{profiles.DimFiles, profiles.DimPrograms, profiles.DimNetwork, profiles.DimSignals} {
		if !p.Records(d) {
			t.NotRecorded = append(t.NotRecorded, d)
		}
	}
	high := func(subject string, g drift.Grade) {
		if g.Risk >= drift.High {
			t.HighRisk = append(t.HighRisk, subject+": "+g.Why)
		}
	}
	for _, f := range p.Files {
		t.Files.Paths++
		var wrote bool
		for _, a := range f.Access {
			wrote = wrote || slices.Contains(writeAccesses, a)
		}
		if f.Has(profiles.AccessRead) {
			t.Files.Read++
		}
		if wrote {
			t.Files.Written++
			t.Written = append(t.Written, drift.QuoteName(f.Path))
		}
		if f.Has(profiles.AccessExec) || f.Has(profiles.AccessMmapExec) {
			t.Files.Executed++
		}
		if f.Has(profiles.AccessLookup) && len(f.Access) == 1 {
			t.Files.Lookups++
		}
		// Programs are graded below; a file is graded for what it is
		// besides being run.
		var rest []profiles.Access
		for _, a := range f.Access {
			if a != profiles.AccessExec && a != profiles.AccessMmapExec {
				rest = append(rest, a)
			}
		}
		if len(rest) > 0 {
			high(fmt.Sprintf("file %s (%s)", drift.QuoteName(f.Path), joinAccesses(rest)), drift.FileGrade(f.Path, rest))
		}
	}
	for _, x := range p.Programs {
		s := drift.QuoteName(x.Path)
		if x.Interpreter != "" {
			s += " (run by " + drift.QuoteName(x.Interpreter) + ")"
		}
		t.Programs = append(t.Programs, s)
		if g := drift.ProgramGrade(x.Path); strings.Contains(g.Why, "world-writable") {
			high("program "+s, g)
		}
	}
	for _, n := range p.Network {
		s := drift.DescribeNetwork(n)
		t.Network = append(t.Network, s)
		high("network "+s, drift.NetworkGrade(n))
	}
	for _, s := range p.Signals {
		d := drift.DescribeSignal(s)
		t.Signals = append(t.Signals, d)
		high("signal "+d, drift.SignalGrade(s))
	}
	return t
}

func nonNilDims(d []profiles.Dimension) []profiles.Dimension {
	if d == nil {
		return []profiles.Dimension{}
	}
	return d
}

func joinAccesses(as []profiles.Access) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func (t *TouchReport) writeText(b *strings.Builder) {
	section(b, "What it touches")
	if len(t.NotRecorded) == 4 {
		b.WriteString("  (not recorded: this profile was learned before tailor recorded files, programs and network)\n")
		return
	}
	if len(t.NotRecorded) > 0 {
		var s []string
		for _, d := range t.NotRecorded {
			s = append(s, string(d))
		}
		fmt.Fprintf(b, "  %-20s %s (those sections say nothing)\n", "not recorded", strings.Join(s, ", "))
	}
	fmt.Fprintf(b, "  %-20s %d (%d read, %d written, %d executed, %d looked up and missing)\n", "files",
		t.Files.Paths, t.Files.Read, t.Files.Written, t.Files.Executed, t.Files.Lookups)
	for _, l := range []struct {
		title string
		items []string
	}{{"written", t.Written}, {"programs", t.Programs}, {"network", t.Network}, {"signals outside", t.Signals}, {"high risk", t.HighRisk}} {
		if len(l.items) == 0 {
			fmt.Fprintf(b, "  %-20s (none)\n", l.title)
			continue
		}
		fmt.Fprintf(b, "  %s\n", l.title)
		for _, it := range l.items {
			fmt.Fprintf(b, "    %s\n", it)
		}
	}
}
