package generator

import (
	"github.com/tailor-dev/tailor/internal/enum"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
)

// Report sets what a profile allows beside Docker's defaults.
type Report struct {
	Name     string `json:"name,omitempty"`
	Complete bool   `json:"complete"`
	// Warning is set when the profile is incomplete: enforcing it may
	// break the workload.
	Warning    string         `json:"warning,omitempty"`
	Recordings int            `json:"recordings"`
	ABIs       []profiles.ABI `json:"abis"`
	Tailor     Side           `json:"tailor"`
	// Docker is Docker's default seccomp profile (amd64) and its default
	// capabilities, on the profile's ABIs.
	Docker Side `json:"docker"`
	// RefusedAllowedByDocker is what tailor takes away from Docker's default.
	RefusedAllowedByDocker []string `json:"refusedAllowedByDocker"`
	// AllowedRefusedByDocker is what the workload needs beyond Docker's
	// default: it would not run there unconfined by a custom profile.
	AllowedRefusedByDocker []string `json:"allowedRefusedByDocker"`
	CapabilitiesDropped    []string `json:"capabilitiesDroppedVsDocker"`
	CapabilitiesAdded      []string `json:"capabilitiesAddedVsDocker"`
	// DeniedCapabilities were checked and denied, never granted: not added.
	DeniedCapabilities []string     `json:"deniedCapabilities"`
	ArgumentRules      []ArgSummary `json:"argumentRules"`
	Notes              []Note       `json:"notes"`
	// Engine is what the filter keeps within an engine's own filter, when
	// the report was asked for one (see Within).
	Engine *EngineSide `json:"engine,omitempty"`
	// Complain is set for a bundle in complain mode (see InComplainMode).
	Complain *ComplainBundle `json:"complain,omitempty"`
	// Touch is what the container touches (files, programs, network).
	Touch *TouchReport `json:"touch"`

	filter *specs.LinuxSeccomp // the generated filter
}

// EngineSide is the generated filter enforced within an engine's own
// filter (a bundle's linux.seccomp): their intersection (see Intersect).
type EngineSide struct {
	// Source names the engine's filter (the config.json it is in).
	Source string `json:"source"`
	// Filter is false when the source has no filter: the profile's is
	// enforced as it is.
	Filter bool `json:"filter"`
	// Syscalls and Conditional are what the intersection allows, as in
	// Side.
	Syscalls    []string `json:"syscalls"`
	Conditional []string `json:"conditional"`
	// Refused is what the profile allows and the intersection refuses for
	// every argument; Narrowed what it allows for fewer arguments.
	Refused  []string `json:"refused"`
	Narrowed []string `json:"narrowed"`
	Notes    []Note   `json:"notes"`
}

// Side is one filter and capability set.
type Side struct {
	Syscalls []string `json:"syscalls"`
	// Conditional is the allowed syscalls that pass only with certain
	// arguments.
	Conditional  []string `json:"conditional"`
	Capabilities []string `json:"capabilities"`
}

// ArgSummary is what one argument-aware syscall may do under the filter.
type ArgSummary struct {
	Syscall string `json:"syscall"`
	Meaning string `json:"meaning"`
	// Allowed lists the values that pass; empty with Any or Refused.
	Allowed []string `json:"allowed,omitempty"`
	// Any is set when every value passes (see Why).
	Any     bool   `json:"any,omitempty"`
	Refused bool   `json:"refused,omitempty"`
	Why     string `json:"why,omitempty"`
}

// NewReport compares the filter and capability set generated from p with
// Docker's defaults (see DockerDefaultSeccomp).
func NewReport(p *profiles.Profile, opts SeccompOptions) (*Report, error) {
	if p == nil {
		return nil, errors.New("report: no profile")
	}
	filter, notes, err := Seccomp(p, opts)
	if err != nil {
		return nil, err
	}
	caps, capNotes, err := Capabilities(p)
	if err != nil {
		return nil, err
	}
	abis, calls := unionSyscalls(p)
	r := &Report{Name: p.Name, Complete: p.Complete, Recordings: p.Source.Recordings, ABIs: abis,
		Notes: append(notes, capNotes...), DeniedCapabilities: nonNil(DeniedCapabilities(p)), filter: filter}
	if r.ABIs == nil {
		r.ABIs = []profiles.ABI{}
	}
	if !p.Complete {
		r.Warning = fmt.Sprintf("profile is INCOMPLETE (%s): it may be too tight to enforce; learn again", DescribeLoss(p.Loss))
	}
	r.Tailor = side(filter, caps.Bounding, nil)
	onABIs := abis
	if len(onABIs) == 0 {
		onABIs = []profiles.ABI{profiles.ABIX8664}
	}
	r.Docker = side(DockerDefaultSeccomp(), DockerDefaultCapabilities(), onABIs)
	r.RefusedAllowedByDocker = minus(r.Docker.Syscalls, r.Tailor.Syscalls)
	r.AllowedRefusedByDocker = minus(r.Tailor.Syscalls, r.Docker.Syscalls)
	r.CapabilitiesDropped = minus(r.Docker.Capabilities, r.Tailor.Capabilities)
	r.CapabilitiesAdded = minus(r.Tailor.Capabilities, r.Docker.Capabilities)
	r.ArgumentRules = argSummaries(filter, calls)
	r.Touch = newTouchReport(p)
	var missing []string
	for _, a := range []profiles.ABI{profiles.ABIX86, profiles.ABIX32} {
		if !slices.Contains(abis, a) {
			missing = append(missing, string(a))
		}
	}
	if len(missing) > 0 {
		abiWord := "ABI"
		if len(missing) > 1 {
			abiWord = "ABIs"
		}
		r.Notes = append(r.Notes, Note{Text: fmt.Sprintf("Docker's default also allows the %s %s, which this filter refuses entirely "+
			"(the comparison counts syscalls on the profile's ABIs only)", strings.Join(missing, " and "), abiWord)})
	}
	return r, nil
}

// Within adds to the report what the profile's filter keeps when it is
// enforced within engine, the filter named source (nil: source has none),
// as tailor apply and tailor runtime enforce it.
func (r *Report) Within(source string, engine *specs.LinuxSeccomp) error {
	e := &EngineSide{Source: source, Filter: engine != nil, Refused: []string{}, Narrowed: []string{}, Notes: []Note{}}
	enforced := r.filter
	if engine != nil {
		in, err := IntersectFilters(r.filter, engine)
		if err != nil {
			return fmt.Errorf("report: %s: %w", source, err)
		}
		e.Refused, e.Narrowed, e.Notes = nonNil(in.Refused), nonNil(in.Narrowed), append(e.Notes, in.Notes...)
		enforced = in.Filter
	}
	s := side(enforced, nil, nil)
	e.Syscalls, e.Conditional = s.Syscalls, s.Conditional
	r.Engine = e
	return nil
}

// DescribeLoss says in a few words what a profile lost while recording.
func DescribeLoss(l profiles.Loss) string {
	var parts []string
	for _, c := range []struct {
		n    uint64
		what string
	}{{l.Events, "events lost"}, {l.Tasks, "tasks untracked"}, {l.ArgValues, "argument values lost"}} {
		if c.n != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	parts = append(parts, l.Reasons...)
	if len(parts) == 0 {
		return "marked incomplete"
	}
	return strings.Join(parts, ", ")
}

// side lists the syscalls a filter allows (any allow rule, with or without
// conditions), keeping only names that exist on one of abis when given.
func side(f *specs.LinuxSeccomp, caps []string, abis []profiles.ABI) Side {
	plain, conditional := map[string]bool{}, map[string]bool{}
	for _, rule := range f.Syscalls {
		if rule.Action != specs.ActAllow {
			continue
		}
		for _, name := range rule.Names {
			if len(abis) > 0 && !slices.ContainsFunc(abis, func(a profiles.ABI) bool { _, err := a.SyscallNr(name); return err == nil }) {
				continue
			}
			if len(rule.Args) == 0 {
				plain[name] = true
			} else {
				conditional[name] = true
			}
		}
	}
	s := Side{Syscalls: []string{}, Conditional: []string{}, Capabilities: nonNil(slices.Clone(caps))}
	for name := range plain {
		s.Syscalls = append(s.Syscalls, name)
	}
	for name := range conditional {
		if !plain[name] {
			s.Syscalls = append(s.Syscalls, name)
			s.Conditional = append(s.Conditional, name)
		}
	}
	slices.Sort(s.Syscalls)
	slices.Sort(s.Conditional)
	slices.Sort(s.Capabilities)
	return s
}

func minus(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// argSummaries describes every argument-aware syscall the profile saw (and
// clone3, always ruled on), from the rules actually generated.
func argSummaries(f *specs.LinuxSeccomp, calls map[string]*seenCall) []ArgSummary {
	values := map[string][]uint64{}
	plain := map[string]bool{}
	for _, rule := range f.Syscalls {
		for _, name := range rule.Names {
			switch {
			case rule.Action != specs.ActAllow:
			case len(rule.Args) == 0:
				plain[name] = true
			default:
				values[name] = append(values[name], ruleValue(name, rule.Args))
			}
		}
	}
	var out []ArgSummary
	for _, rule := range profiles.ArgRules {
		name := rule.Syscall
		c := calls[name]
		s := ArgSummary{Syscall: name, Meaning: rule.Meaning}
		switch {
		case len(values[name]) > 0:
			for _, v := range values[name] {
				s.Allowed = append(s.Allowed, describeValue(name, v))
			}
		case plain[name] && c != nil && c.overflow:
			s.Any, s.Why = true, fmt.Sprintf("more than %d distinct values seen", profiles.MaxArgValues)
		case plain[name] && name == "clone3":
			s.Any, s.Why = true, "its flags are in user memory, where seccomp cannot check them"
		case plain[name]:
			s.Any, s.Why = true, "no values recorded"
		case name == "clone3":
			s.Refused, s.Why = true, "ENOSYS, so that libc falls back to clone"
		default:
			continue // never seen: refused like any other syscall
		}
		out = append(out, s)
	}
	return out
}

// ruleValue recovers the recorded value an argument rule stands for (the
// inverse of argSyscalls).
func ruleValue(name string, args []specs.LinuxSeccompArg) uint64 {
	if name == "socket" && len(args) == 2 {
		return profiles.SocketValue(args[0].Value, args[1].ValueTwo)
	}
	if args[0].Op == specs.OpMaskedEqual {
		return args[0].ValueTwo
	}
	return args[0].Value
}

// ReportFormat is an output of `tailor report`.
type ReportFormat string

// The report formats, the default first.
const (
	ReportText ReportFormat = "text"
	ReportJSON ReportFormat = "json"
)

// ReportFormats lists the accepted report formats.
var ReportFormats = []ReportFormat{ReportText, ReportJSON}

// ParseReportFormat checks a user's --format value.
func ParseReportFormat(s string) (ReportFormat, error) {
	return enum.Parse("report format", s, ReportFormats)
}

// JSON encodes the report for machines (indented, stable).
func (r *Report) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteText writes the report for people. bold emphasises the warning
// with terminal escapes (for a terminal only).
func (r *Report) WriteText(w io.Writer, bold bool) error {
	var b strings.Builder
	if r.Warning != "" {
		line := "WARNING: " + r.Warning
		if bold {
			line = "\x1b[1m" + line + "\x1b[0m"
		}
		b.WriteString(line + "\n\n")
	}
	r.Complain.writeText(&b, bold)
	name := r.Name
	if name == "" {
		name = "(unnamed)"
	}
	var abis []string
	for _, a := range r.ABIs {
		abis = append(abis, string(a))
	}
	fmt.Fprintf(&b, "Profile %s: ABIs %s, %d recording(s)\n\n", name, orNone(abis), r.Recordings)
	fmt.Fprintf(&b, "%-24s %8s %16s\n", "", "tailor", "docker default")
	fmt.Fprintf(&b, "%-24s %8d %16d\n", "syscalls allowed", len(r.Tailor.Syscalls), len(r.Docker.Syscalls))
	fmt.Fprintf(&b, "%-24s %8d %16d\n", "  only with arguments", len(r.Tailor.Conditional), len(r.Docker.Conditional))
	fmt.Fprintf(&b, "%-24s %8d %16d\n", "capabilities", len(r.Tailor.Capabilities), len(r.Docker.Capabilities))

	section(&b, "Capabilities")
	fmt.Fprintf(&b, "  %-20s %s\n", "allowed", orNone(r.Tailor.Capabilities))
	fmt.Fprintf(&b, "  %-20s %s\n", "dropped vs docker", orNone(r.CapabilitiesDropped))
	fmt.Fprintf(&b, "  %-20s %s\n", "beyond docker", orNone(r.CapabilitiesAdded))
	fmt.Fprintf(&b, "  %-20s %s\n", "denied, not added", orNone(r.DeniedCapabilities))

	section(&b, "Argument rules")
	if len(r.ArgumentRules) == 0 {
		b.WriteString("  (none: no argument-aware syscall was seen)\n")
	}
	for _, a := range r.ArgumentRules {
		var what string
		switch {
		case a.Refused:
			what = "refused with " + a.Why
		case a.Any:
			what = "any value (" + a.Why + ")"
		default:
			what = strings.Join(a.Allowed, ", ")
		}
		fmt.Fprintf(&b, "  %-12s %s: %s\n", a.Syscall, a.Meaning, what)
	}

	list(&b, fmt.Sprintf("Syscalls allowed (%d)", len(r.Tailor.Syscalls)), r.Tailor.Syscalls)
	list(&b, fmt.Sprintf("Refused by tailor, allowed by docker (%d)", len(r.RefusedAllowedByDocker)), r.RefusedAllowedByDocker)
	list(&b, fmt.Sprintf("Allowed by tailor, refused by docker (%d)", len(r.AllowedRefusedByDocker)), r.AllowedRefusedByDocker)
	r.Touch.writeText(&b)
	if len(r.Notes) > 0 {
		section(&b, "Notes")
		for _, n := range r.Notes {
			b.WriteString("  - " + n.String() + "\n")
		}
	}
	if r.Engine != nil {
		r.Engine.writeText(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (e *EngineSide) writeText(b *strings.Builder) {
	section(b, "Within the engine's filter ("+e.Source+")")
	if !e.Filter {
		b.WriteString("  (it has none: the profile's filter is enforced as it is)\n")
		return
	}
	fmt.Fprintf(b, "  %-24s %d (%d only with arguments)\n", "syscalls allowed", len(e.Syscalls), len(e.Conditional))
	fmt.Fprintf(b, "  %-24s %s\n", "refused by the engine", orNone(e.Refused))
	fmt.Fprintf(b, "  %-24s %s\n", "narrowed by the engine", orNone(e.Narrowed))
	for _, n := range e.Notes {
		b.WriteString("  - " + n.String() + "\n")
	}
}

func section(b *strings.Builder, title string) {
	b.WriteString("\n" + title + "\n")
}

// list writes names wrapped at 80 columns.
func list(b *strings.Builder, title string, names []string) {
	section(b, title)
	if len(names) == 0 {
		b.WriteString("  (none)\n")
		return
	}
	line := " "
	for _, n := range names {
		if len(line)+1+len(n) > 80 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + n
	}
	b.WriteString(line + "\n")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}
