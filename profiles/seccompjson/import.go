package seccompjson

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/tailor-dev/tailor/profiles"
)

// ErrInvalid marks a document that is not a valid seccomp profile.
var ErrInvalid = errors.New("invalid seccomp profile")

// Limits lists what a plain seccomp JSON cannot express, so what a profile
// imported from one lacks. Reports that use an imported profile say so.
var Limits = []string{
	"capabilities: a seccomp filter grants none, so capabilities are not compared with it",
	"provenance and coverage: which program needed a syscall and how many recordings saw it",
	"denied checks: what the workload asked for and did without",
	"per-ABI exactness: a filter's names apply to every architecture it lists, so each ABI gets every listed name that exists on it",
	"argument rules other than tailor's shapes (EQ or MASKED_EQ on the recorded argument): such a syscall counts as allowed with any argument",
}

// nativeArch is Docker's name for the architecture its includes/excludes
// "arches" are matched against. tailor records the x86 family only, whose
// native (host) architecture is amd64.
const nativeArch = "amd64"

// Options control how a Docker profile's conditional rules are evaluated.
type Options struct {
	// Caps is the capabilities (CAP_...) the container is assumed to have
	// when evaluating Docker's includes.caps and excludes.caps. Docker uses
	// the container's bounding set; the default is none.
	Caps []string
	// Strict refuses syscall names libseccomp does not know. Otherwise they
	// are skipped with a note, as runc and crun do (Docker's default profile
	// names syscalls newer than many libseccomp releases).
	Strict bool
}

// Result is an imported profile and the notes that say where it is
// approximate.
type Result struct {
	Profile *profiles.Profile
	Notes   []string
}

// Import converts a runtime-spec or Docker seccomp JSON into the profile of
// what it allows: per ABI (the x86 family architectures it lists, plus the
// native x86_64 that every filter includes), the syscalls a container may
// call, and for the syscalls tailor records arguments of, the values it may
// call them with (nil Args: any value). The profile has no capabilities and
// no provenance (Source.Recordings and every Seen.Recordings are 0).
func Import(data []byte, opts Options) (*Result, error) {
	var doc mobyseccomp.Seccomp
	if err := profiles.DecodeStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	im := &importer{data: data, opts: opts, caps: map[string]bool{}, noted: map[pendingNote]bool{},
		states: map[profiles.ABI]map[string]*state{}}
	for _, c := range opts.Caps {
		if err := checkCap(c); err != nil {
			return nil, fmt.Errorf("assumed capabilities: %w", err)
		}
		im.caps[c] = true
	}
	p, err := im.run(&doc)
	if err != nil {
		return nil, err
	}
	return &Result{Profile: p, Notes: im.locatedNotes()}, nil
}

func checkCap(name string) error {
	c, ok := profiles.CapabilityByName(name)
	if !ok {
		return fmt.Errorf("unknown capability %q", name)
	}
	if want := profiles.CapabilityName(c); want != name {
		return fmt.Errorf("capability %q must be spelled %q", name, want)
	}
	return nil
}

// state is what the rules say about one syscall on one ABI.
type state struct {
	any bool // allowed with any argument
	// values is a set: rules may repeat values (a socket range stands for
	// up to 1024), and a list would grow with every repetition.
	values map[uint64]bool
	// applied is the argument conditions (argsKey) already added to
	// values: a repeated rule adds nothing, and is not expanded again.
	applied  map[string]bool
	denied   bool // refused whatever the arguments
	deniedIf bool // refused with some arguments
}

func argsKey(args []specs.LinuxSeccompArg) string { return fmt.Sprint(args) }

type importer struct {
	data  []byte
	opts  Options
	caps  map[string]bool
	notes []pendingNote
	noted map[pendingNote]bool
	// unknown counts the unknown syscall names skipped.
	unknown int
	abis    []profiles.ABI
	states  map[profiles.ABI]map[string]*state
}

// pendingNote is a note whose position in the document is not looked up
// yet: locatedNotes finds every note's position in one pass.
type pendingNote struct{ path, text string }

// maxUnknownNotes is how many unknown syscall names get a note of their
// own; the rest are counted in one.
const maxUnknownNotes = 20

func (im *importer) bad(path, format string, a ...any) error {
	pe := &profiles.PathError{Path: path, Err: fmt.Errorf(format, a...)}
	return fmt.Errorf("%w: %w", ErrInvalid, profiles.Locate(im.data, pe))
}

func (im *importer) note(path, format string, a ...any) {
	n := pendingNote{path: path, text: fmt.Sprintf(format, a...)}
	if !im.noted[n] {
		im.noted[n] = true
		im.notes = append(im.notes, n)
	}
}

// locatedNotes is the notes' text, each with the line and column of its
// path: the document is read once for all of them.
func (im *importer) locatedNotes() []string {
	if im.unknown > maxUnknownNotes {
		im.note("", "%d more unknown syscall names skipped (libseccomp %s does not know them)",
			im.unknown-maxUnknownNotes, libseccompVersion())
	}
	var paths []string
	for _, n := range im.notes {
		if n.path != "" {
			paths = append(paths, n.path)
		}
	}
	pos := profiles.Positions(im.data, paths...)
	var out []string
	for _, n := range im.notes {
		if n.path == "" {
			out = append(out, n.text)
			continue
		}
		pe := &profiles.PathError{Path: n.path, Err: errors.New(n.text)}
		if at, ok := pos[n.path]; ok {
			pe.Line, pe.Column = at.Line, at.Column
		}
		out = append(out, pe.Error())
	}
	return out
}

func (im *importer) run(doc *mobyseccomp.Seccomp) (*profiles.Profile, error) {
	if doc.DefaultAction == "" {
		return nil, im.bad("defaultAction", "missing: every seccomp profile needs a default action")
	}
	allowDefault, err := allows(doc.DefaultAction)
	if err != nil {
		return nil, im.bad("defaultAction", "%w", err)
	}
	if err := im.architectures(doc); err != nil {
		return nil, err
	}
	conditional := false
	for i, r := range doc.Syscalls {
		c, err := im.rule(fmt.Sprintf("syscalls[%d]", i), r)
		if err != nil {
			return nil, err
		}
		conditional = conditional || c
	}
	if conditional {
		caps := "none"
		if len(im.opts.Caps) > 0 {
			caps = strings.Join(im.opts.Caps, ", ")
		}
		im.note("", "rules conditional on capabilities were evaluated for a container with capabilities: %s; "+
			"rules conditional on a minimum kernel as on a current kernel", caps)
	}
	if allowDefault {
		im.note("defaultAction", "the default action %s allows every syscall not refused by a rule", doc.DefaultAction)
	}
	p := profiles.New("")
	p.Source.Recordings = 0
	for _, abi := range im.abis {
		p.ABIs = append(p.ABIs, im.allowed(abi, allowDefault))
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("import seccomp profile: %w", err)
	}
	return p, nil
}

// allows says whether a seccomp action lets the syscall run.
func allows(a specs.LinuxSeccompAction) (bool, error) {
	switch a {
	case specs.ActAllow, specs.ActLog, specs.ActNotify:
		// NOTIFY hands the decision to a supervisor at run time: the
		// container may be allowed to make the call.
		return true, nil
	case specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap, specs.ActErrno, specs.ActTrace:
		// TRACE without a tracer fails the call with ENOSYS.
		return false, nil
	}
	return false, fmt.Errorf("unknown action %q", a)
}

// architectures works out the ABIs the filter lets in: the x86 family
// architectures it lists (or, in Docker's archMap, those of the amd64
// entry), and always the native x86_64 which libseccomp adds to every
// filter.
func (im *importer) architectures(doc *mobyseccomp.Seccomp) error {
	if len(doc.Architectures) > 0 && len(doc.ArchMap) > 0 {
		return im.bad("archMap", "both architectures and archMap are given: use one (Docker refuses both)")
	}
	abis := map[profiles.ABI]bool{profiles.ABIX8664: true}
	listed := map[specs.Arch]bool{}
	add := func(path string, arch specs.Arch) error {
		if _, err := libseccomp.GetArchFromString(strings.TrimPrefix(string(arch), "SCMP_ARCH_")); err != nil || !strings.HasPrefix(string(arch), "SCMP_ARCH_") {
			return im.bad(path, "unknown architecture %q (e.g. SCMP_ARCH_X86_64)", arch)
		}
		if abi, ok := profiles.ABIFromOCIArch(arch); ok {
			abis[abi] = true
		}
		return nil
	}
	for i, a := range doc.Architectures {
		path := fmt.Sprintf("architectures[%d]", i)
		if listed[a] {
			return im.bad(path, "architecture %q listed twice", a)
		}
		listed[a] = true
		if err := add(path, a); err != nil {
			return err
		}
	}
	for i, m := range doc.ArchMap {
		path := fmt.Sprintf("archMap[%d]", i)
		if listed[m.Arch] {
			return im.bad(path+".architecture", "architecture %q listed twice", m.Arch)
		}
		listed[m.Arch] = true
		if _, err := libseccomp.GetArchFromString(strings.TrimPrefix(string(m.Arch), "SCMP_ARCH_")); err != nil {
			return im.bad(path+".architecture", "unknown architecture %q (e.g. SCMP_ARCH_X86_64)", m.Arch)
		}
		for j, sub := range m.SubArches {
			subPath := fmt.Sprintf("%s.subArchitectures[%d]", path, j)
			if m.Arch != specs.ArchX86_64 {
				// Only the host's entry counts; still refuse typos.
				if _, err := libseccomp.GetArchFromString(strings.TrimPrefix(string(sub), "SCMP_ARCH_")); err != nil {
					return im.bad(subPath, "unknown architecture %q", sub)
				}
				continue
			}
			if err := add(subPath, sub); err != nil {
				return err
			}
		}
	}
	if len(doc.Architectures) == 0 && len(doc.ArchMap) == 0 {
		im.note("", "no architectures listed: only the native x86_64 ABI is allowed")
	}
	for _, abi := range profiles.ABIs {
		if abis[abi] {
			im.abis = append(im.abis, abi)
		}
	}
	return nil
}

// rule validates one syscalls[] entry and, when it applies, records what it
// says about each of its names. conditional reports whether it depends on
// capabilities or the kernel version.
func (im *importer) rule(path string, r *mobyseccomp.Syscall) (conditional bool, err error) {
	if r == nil {
		return false, im.bad(path, "empty rule")
	}
	names, namesPath := r.Names, path+".names"
	if r.Name != "" {
		if len(names) > 0 {
			return false, im.bad(path+".name", "both name and names are given: use names")
		}
		names, namesPath = []string{r.Name}, path+".name"
	}
	if len(names) == 0 {
		return false, im.bad(path, "no syscall names")
	}
	allow, err := allows(r.Action)
	if err != nil {
		return false, im.bad(path+".action", "%w", err)
	}
	if r.Action == specs.ActNotify {
		im.note(path+".action", "%s is decided at run time by a seccomp agent: counted as allowed", r.Action)
	}
	for i, a := range r.Args {
		if err := checkArg(a); err != nil {
			return false, im.bad(fmt.Sprintf("%s.args[%d]", path, i), "%w", err)
		}
	}
	applies, conditional, err := im.applies(path, r)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for j, name := range names {
		namePath := namesPath
		if r.Name == "" {
			namePath = fmt.Sprintf("%s[%d]", namesPath, j)
		}
		if seen[name] {
			return false, im.bad(namePath, "syscall %q listed twice in one rule", name)
		}
		seen[name] = true
		if _, err := libseccomp.GetSyscallFromName(name); err != nil {
			if im.opts.Strict {
				return false, im.bad(namePath, "unknown syscall %q (libseccomp %s does not know it)", name, libseccompVersion())
			}
			if im.unknown++; im.unknown <= maxUnknownNotes {
				im.note(namePath, "unknown syscall %q skipped: libseccomp %s does not know it (runc and crun skip it too)", name, libseccompVersion())
			}
			continue
		}
		if applies {
			im.apply(path, name, allow, r.Args)
		}
	}
	return conditional, nil
}

func libseccompVersion() string {
	a, b, c := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}

func checkArg(a specs.LinuxSeccompArg) error {
	if a.Index > 5 {
		return fmt.Errorf("argument index %d out of range (0 to 5)", a.Index)
	}
	switch a.Op {
	case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual:
		return nil
	}
	return fmt.Errorf("unknown operator %q", a.Op)
}

// applies evaluates Docker's includes and excludes the way Docker does on
// an amd64 host, for a container with Options.Caps, on a current kernel
// (every minKernel is taken as met).
func (im *importer) applies(path string, r *mobyseccomp.Syscall) (applies, conditional bool, err error) {
	for _, nf := range []struct {
		name string
		f    *mobyseccomp.Filter
	}{{"includes", r.Includes}, {"excludes", r.Excludes}} {
		name, f := nf.name, nf.f
		if f == nil {
			continue
		}
		for k, c := range f.Caps {
			if err := checkCap(c); err != nil {
				return false, false, im.bad(fmt.Sprintf("%s.%s.caps[%d]", path, name, k), "%w", err)
			}
		}
		conditional = conditional || len(f.Caps) > 0 || f.MinKernel != nil
	}
	// Included when every condition holds.
	if in := r.Includes; in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, nativeArch) {
			return false, conditional, nil
		}
		if slices.ContainsFunc(in.Caps, func(c string) bool { return !im.caps[c] }) {
			return false, conditional, nil
		}
	}
	// Excluded when any condition holds.
	if ex := r.Excludes; ex != nil {
		if slices.Contains(ex.Arches, nativeArch) || ex.MinKernel != nil ||
			slices.ContainsFunc(ex.Caps, func(c string) bool { return im.caps[c] }) {
			return false, conditional, nil
		}
	}
	return true, conditional, nil
}

func (im *importer) apply(path, name string, allow bool, args []specs.LinuxSeccompArg) {
	for _, abi := range im.abis {
		if !syscallSet(abi)[name] {
			continue // not a syscall of this ABI
		}
		m := im.states[abi]
		if m == nil {
			m = map[string]*state{}
			im.states[abi] = m
		}
		st := m[name]
		if st == nil {
			st = &state{}
			m[name] = st
		}
		switch {
		case !allow && len(args) == 0:
			st.denied = true
		case !allow:
			st.deniedIf = true
		case len(args) == 0:
			st.any = true
		default:
			rule, ok := profiles.ArgRuleFor(name)
			if !ok {
				st.any = true
				im.note(path+".args", "%s is allowed only with some arguments, which tailor does not record: counted as allowed", name)
				continue
			}
			key := argsKey(args)
			if st.applied[key] {
				continue
			}
			values, ok := ruleValues(rule, args)
			if !ok {
				st.any = true
				im.note(path+".args", "%s's argument rule is not one of tailor's shapes: counted as allowed with any %s", name, rule.Meaning)
				continue
			}
			if st.values == nil {
				st.values, st.applied = map[uint64]bool{}, map[string]bool{}
			}
			st.applied[key] = true
			for _, v := range values {
				st.values[v] = true
			}
		}
	}
}

// allowed is the syscalls the filter lets abi make.
func (im *importer) allowed(abi profiles.ABI, allowDefault bool) profiles.ABISyscalls {
	m := im.states[abi]
	var names []string
	if allowDefault {
		names = allSyscalls(abi)
	} else {
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
	}
	out := profiles.ABISyscalls{ABI: abi, Syscalls: []profiles.Syscall{}}
	for _, name := range names {
		st := m[name]
		if st == nil {
			st = &state{any: allowDefault}
		}
		// libseccomp lets the strictest matching action win, and the
		// default applies only when no rule matches.
		ok := (st.any || len(st.values) > 0 || allowDefault) && !st.denied
		if !ok {
			continue
		}
		s := profiles.Syscall{Name: name}
		if _, hasRule := profiles.ArgRuleFor(name); hasRule && !st.any && !allowDefault {
			s.Args = &profiles.ArgValues{Values: slices.Sorted(maps.Keys(st.values))}
		}
		if st.deniedIf {
			s.Args = nil
			im.note("", "%s is refused with some argument values only: counted as allowed with any", name)
		}
		out.Syscalls = append(out.Syscalls, s)
	}
	return out
}

var syscallTables sync.Map // profiles.ABI -> *syscallTable

type syscallTable struct {
	names []string
	set   map[string]bool
}

// table lists every syscall name of abi known to libseccomp, once: asking
// libseccomp name by name is slow (a linear search per call).
func table(abi profiles.ABI) *syscallTable {
	if v, ok := syscallTables.Load(abi); ok {
		return v.(*syscallTable)
	}
	t := &syscallTable{set: map[string]bool{}}
	// profiles.MaxSyscallNr bounds every ABI's numbers (x32's own calls
	// end near 550).
	for nr := range profiles.MaxSyscallNr {
		name, err := abi.SyscallName(nr)
		if err != nil || t.set[name] {
			continue
		}
		t.set[name] = true
		t.names = append(t.names, name)
	}
	sort.Strings(t.names)
	syscallTables.Store(abi, t)
	return t
}

// allSyscalls lists every syscall name of abi, sorted.
func allSyscalls(abi profiles.ABI) []string { return table(abi).names }

// syscallSet is the set of abi's syscall names.
func syscallSet(abi profiles.ABI) map[string]bool { return table(abi).set }
