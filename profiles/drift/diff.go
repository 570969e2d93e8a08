package drift

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

// Kind is what a change is about.
type Kind string

// The kinds of change, in report order.
const (
	KindABI        Kind = "abi"
	KindSyscall    Kind = "syscall"
	KindArgument   Kind = "argument"
	KindCapability Kind = "capability"
)

var kindOrder = []Kind{KindABI, KindSyscall, KindArgument, KindCapability, KindFile, KindProgram, KindNetwork, KindSignal}

// Change is one need CURRENT has and BASELINE had not (an addition), or
// the reverse (a removal).
type Change struct {
	Kind Kind         `json:"kind"`
	ABI  profiles.ABI `json:"abi,omitempty"`
	// Name is the syscall, the capability or the ABI; for what a container
	// touches, the path, the endpoint or the signal, quoted when it holds
	// bytes that are not printable.
	Name string `json:"name"`
	// Access is the file accesses added (or removed) for a file change.
	Access []profiles.Access `json:"access,omitempty"`
	// Values are argument values of a syscall from profiles.ArgRules (new
	// ones for an argument addition, all of them for a syscall addition).
	Values []uint64 `json:"values,omitempty"`
	// AnyValue is set when the syscall is needed with any argument value
	// (CURRENT saw too many values, or has no argument rule).
	AnyValue bool `json:"anyValue,omitempty"`
	// Detail spells the values out for people.
	Detail string `json:"detail,omitempty"`
	// The grade of an addition (risk is none for removals).
	Risk   Risk   `json:"risk,omitempty"`
	Why    string `json:"why,omitempty"`
	Source string `json:"source,omitempty"`
	// Seen is the provenance of an addition in CURRENT.
	Seen *profiles.Seen `json:"seen,omitempty"`
	// Line is where the addition is in CURRENT's file, when known.
	Line int `json:"line,omitempty"`
	// path is the JSON path Line is looked up from (see Report.locate).
	path string
}

func (c *Change) setGrade(g Grade) { c.Risk, c.Why, c.Source = g.Risk, g.Why, g.Source }

// Subject names what changed: "x86_64 syscall ptrace", "capability
// CAP_SYS_ADMIN", "x86_64 socket AF_PACKET/SOCK_RAW".
func (c Change) Subject() string {
	switch c.Kind {
	case KindABI:
		return "ABI " + c.Name
	case KindCapability:
		return "capability " + c.Name
	case KindArgument:
		return fmt.Sprintf("%s %s %s", c.ABI, c.Name, c.Detail)
	case KindFile:
		return fmt.Sprintf("file %s (%s)", c.Name, c.Detail)
	case KindProgram:
		if c.Detail != "" {
			return fmt.Sprintf("program %s (%s)", c.Name, c.Detail)
		}
		return "program " + c.Name
	case KindNetwork:
		return "network " + c.Name
	case KindSignal:
		return "signal " + c.Name
	}
	s := fmt.Sprintf("%s syscall %s", c.ABI, c.Name)
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Side describes one of the compared documents.
type Side struct {
	Name       string             `json:"name"`
	Format     seccompjson.Format `json:"format"`
	Complete   bool               `json:"complete"`
	Recordings int                `json:"recordings"`
}

// Report is what CURRENT needs beyond BASELINE (Added) and what it no
// longer needs (Removed).
type Report struct {
	Baseline Side     `json:"baseline"`
	Current  Side     `json:"current"`
	Added    []Change `json:"added"`
	Removed  []Change `json:"removed"`
	// Unchanged counts the syscalls (per ABI) and granted capabilities
	// both have.
	Unchanged int `json:"unchanged"`
	// CapabilitiesCompared is false when either side is a seccomp JSON,
	// which cannot express capabilities.
	CapabilitiesCompared bool `json:"capabilitiesCompared"`
	// TouchCompared lists the dimensions of what a container touches
	// (files, programs, network, signals) that both sides recorded, and so
	// were compared.
	TouchCompared []profiles.Dimension `json:"touchCompared,omitempty"`
	Notes         []string             `json:"notes,omitempty"`
}

// Diff compares CURRENT with BASELINE: syscalls per ABI, argument values of
// the syscalls tailor records them for, and granted capabilities.
func Diff(base, cur *seccompjson.Document) *Report {
	r := &Report{Baseline: side(base), Current: side(cur), Added: []Change{}, Removed: []Change{},
		CapabilitiesCompared: base.Format == seccompjson.FormatTailor && cur.Format == seccompjson.FormatTailor}
	for i, ca := range cur.Profile.ABIs {
		bs, known := abiSyscalls(base.Profile, ca.ABI)
		if !known {
			c := Change{Kind: KindABI, ABI: ca.ABI, Name: string(ca.ABI), path: fmt.Sprintf("abis[%d].abi", i)}
			c.setGrade(abiGrade)
			r.Added = append(r.Added, c)
		}
		for j, s := range ca.Syscalls {
			path := fmt.Sprintf("abis[%d].syscalls[%d]", i, j)
			b := findSyscall(bs, s.Name)
			if b == nil {
				r.Added = append(r.Added, syscallAdded(ca.ABI, s, path+".name"))
				continue
			}
			r.Unchanged++
			added, removed := argsDiff(ca.ABI, b, &s, func(k int) string { return fmt.Sprintf("%s.args.values[%d]", path, k) })
			r.Added = append(r.Added, added...)
			r.Removed = append(r.Removed, removed...)
		}
	}
	for _, ba := range base.Profile.ABIs {
		cs, known := abiSyscalls(cur.Profile, ba.ABI)
		if !known {
			r.Removed = append(r.Removed, Change{Kind: KindABI, ABI: ba.ABI, Name: string(ba.ABI)})
		}
		for _, s := range ba.Syscalls {
			if findSyscall(cs, s.Name) == nil {
				r.Removed = append(r.Removed, Change{Kind: KindSyscall, ABI: ba.ABI, Name: s.Name})
			}
		}
	}
	if r.CapabilitiesCompared {
		r.diffCapabilities(base.Profile, cur.Profile)
		r.diffTouch(base.Profile, cur.Profile)
	}
	if cur.Format == seccompjson.FormatTailor {
		r.locate(cur.Data)
	}
	r.notes(base, cur)
	sortChanges(r.Added)
	sortChanges(r.Removed)
	return r
}

// locate sets the Line of every addition from CURRENT's bytes, read once
// for all of them.
func (r *Report) locate(data []byte) {
	var paths []string
	for _, c := range r.Added {
		if c.path != "" {
			paths = append(paths, c.path)
		}
	}
	pos := profiles.Positions(data, paths...)
	for i := range r.Added {
		r.Added[i].Line = pos[r.Added[i].path].Line
	}
}

func side(d *seccompjson.Document) Side {
	return Side{Name: d.Name, Format: d.Format, Complete: d.Profile.Complete, Recordings: d.Profile.Source.Recordings}
}

func abiSyscalls(p *profiles.Profile, abi profiles.ABI) ([]profiles.Syscall, bool) {
	for _, a := range p.ABIs {
		if a.ABI == abi {
			return a.Syscalls, true
		}
	}
	return nil, false
}

func findSyscall(list []profiles.Syscall, name string) *profiles.Syscall {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// anyValue reports whether args allow any value: no argument rule, too
// many values, or none recorded (the generator allows any value then too).
func anyValue(a *profiles.ArgValues) bool {
	return a == nil || a.Overflow || len(a.Values) == 0
}

func anyDetail(a *profiles.ArgValues) string {
	switch {
	case a == nil:
		return "any value (no argument rule)"
	case a.Overflow:
		return fmt.Sprintf("any value (more than %d distinct values seen)", profiles.MaxArgValues)
	}
	return "any value (none recorded)"
}

func seen(s profiles.Seen) *profiles.Seen {
	if s == (profiles.Seen{}) {
		return nil
	}
	return &s
}

func syscallAdded(abi profiles.ABI, s profiles.Syscall, path string) Change {
	c := Change{Kind: KindSyscall, ABI: abi, Name: s.Name, Seen: seen(s.Seen), path: path}
	if _, ok := profiles.ArgRuleFor(s.Name); !ok {
		c.setGrade(SyscallGrade(abi, s.Name))
		return c
	}
	if anyValue(s.Args) {
		c.AnyValue, c.Detail = true, anyDetail(s.Args)
		c.setGrade(SyscallGrade(abi, s.Name))
		return c
	}
	c.Values = sortedValues(s.Args.Values)
	var grades []Grade
	for _, v := range c.Values {
		grades = append(grades, ValueGrade(abi, s.Name, v))
	}
	c.Detail = DescribeValues(s.Name, c.Values)
	c.setGrade(highest(grades...))
	return c
}

func sortedValues(v []uint64) []uint64 {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}

// argsDiff compares the argument values of a syscall both sides have.
// path gives the JSON path of CURRENT's k-th value.
func argsDiff(abi profiles.ABI, base, cur *profiles.Syscall, path func(k int) string) (added, removed []Change) {
	if _, ok := profiles.ArgRuleFor(cur.Name); !ok || anyValue(base.Args) {
		return nil, nil
	}
	if anyValue(cur.Args) {
		c := Change{Kind: KindArgument, ABI: abi, Name: cur.Name, AnyValue: true, Detail: anyDetail(cur.Args), Seen: seen(cur.Seen)}
		c.setGrade(SyscallGrade(abi, cur.Name))
		return []Change{c}, nil
	}
	baseValues, curValues := valueSet(base.Args.Values), valueSet(cur.Args.Values)
	for k, v := range cur.Args.Values {
		if baseValues[v] {
			continue
		}
		c := Change{Kind: KindArgument, ABI: abi, Name: cur.Name, Values: []uint64{v}, Detail: Describe(cur.Name, v),
			Seen: seen(cur.Seen), path: path(k)}
		c.setGrade(ValueGrade(abi, cur.Name, v))
		added = append(added, c)
	}
	var gone []uint64
	for _, v := range sortedValues(base.Args.Values) {
		if !curValues[v] {
			gone = append(gone, v)
		}
	}
	if len(gone) > 0 {
		removed = append(removed, Change{Kind: KindArgument, ABI: abi, Name: cur.Name, Values: gone, Detail: DescribeValues(cur.Name, gone)})
	}
	return added, removed
}

// valueSet makes membership tests constant-time: value lists can be long.
func valueSet(v []uint64) map[uint64]bool {
	m := make(map[uint64]bool, len(v))
	for _, x := range v {
		m[x] = true
	}
	return m
}

func (r *Report) diffCapabilities(base, cur *profiles.Profile) {
	granted := func(p *profiles.Profile, name string) bool {
		return slices.Contains(p.GrantedCapabilities(), name)
	}
	for i, c := range cur.Capabilities {
		switch {
		case !c.Granted:
		case granted(base, c.Name):
			r.Unchanged++
		default:
			ch := Change{Kind: KindCapability, Name: c.Name, Seen: seen(c.Seen), path: fmt.Sprintf("capabilities[%d].name", i)}
			ch.setGrade(CapabilityGrade(c.Name))
			r.Added = append(r.Added, ch)
		}
	}
	for _, name := range base.GrantedCapabilities() {
		if !granted(cur, name) {
			r.Removed = append(r.Removed, Change{Kind: KindCapability, Name: name})
		}
	}
}

func (r *Report) notes(base, cur *seccompjson.Document) {
	for _, d := range []struct {
		role string
		doc  *seccompjson.Document
	}{{"BASELINE", base}, {"CURRENT", cur}} {
		p := d.doc.Profile
		if d.doc.Format == seccompjson.FormatTailor && !p.Complete {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%s) is incomplete (%s): it may lack needs the workload has", d.role, d.doc.Name, lossText(p.Loss)))
		}
		for _, n := range d.doc.Notes {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%s): %s", d.role, d.doc.Name, n))
		}
		if d.doc.Format == seccompjson.FormatSeccomp {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%s) is a seccomp JSON, which cannot express %s", d.role, d.doc.Name,
				strings.Join(seccompjson.Limits, "; ")))
		}
	}
}

func lossText(l profiles.Loss) string {
	var parts []string
	for _, c := range []struct {
		n    uint64
		what string
	}{{l.Events, "events"}, {l.Tasks, "tasks"}, {l.ArgValues, "argument values"}, {l.Paths, "paths"}, {l.Objects, "objects"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s lost", c.n, c.what))
		}
	}
	parts = append(parts, l.Reasons...)
	if len(parts) == 0 {
		return "marked incomplete"
	}
	return strings.Join(parts, "; ")
}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		if ka, kb := slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind); ka != kb {
			return ka < kb
		}
		if a.ABI != b.ABI {
			return a.ABI.Index() < b.ABI.Index()
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if c := slices.Compare(a.Access, b.Access); c != 0 {
			return c < 0
		}
		return slices.Compare(a.Values, b.Values) < 0
	})
}
