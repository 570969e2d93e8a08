package generator

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Limits of one syscall's intersection: beyond them the syscall is
// refused (with a note) rather than costing the host time. A generated
// profile has at most profiles.MaxArgValues rules per syscall and Docker's
// default 30, so real filters stay far below.
const (
	maxPairs = 1 << 20
	maxTerms = 1024
)

// Intersection is what Intersect made of two filters.
type Intersection struct {
	// Filter allows a syscall only where both filters allow it.
	Filter *specs.LinuxSeccomp
	// Refused lists the syscalls the profile allows and Filter refuses for
	// every argument; Narrowed those Filter allows for fewer arguments.
	Refused  []string
	Narrowed []string
	Notes    []Note
}

// Intersect returns the filter that allows a syscall, with given
// arguments, only where both profile and engine allow it: profile is
// tailor's generated filter, engine the one the container would run with
// otherwise (Docker's default, a bundle's linux.seccomp). Enforcing the
// result never grants what the engine refuses. Each syscall the profile
// allows and the result no longer does (wholly or for some arguments) has
// a note saying why.
//
// Each filter is read as runc loads it: per syscall, the OR of its
// allowing rules (SCMP_ACT_ALLOW, SCMP_ACT_LOG), each the AND of its
// comparisons; every other action refuses. The result's rules are the
// pairwise ANDs, merged into one comparison per argument where that is
// exact (see intersectargs.go) and otherwise dropped; rules of shapes
// libseccomp compiles wider than written are dropped too (see sturdy).
// Where a filter's
// rules cannot be read exactly (a rule that refuses some arguments of a
// syscall its default allows, rules that both allow and refuse one
// syscall), the syscall counts as refused there. The result refuses with
// the profile's default action, or the engine's when only the engine's
// refuses; a syscall only the engine refuses with its own rule (Docker's
// clone3 ENOSYS) is refused the engine's way. Architectures are those
// both list (the runtime adds the native one to every filter).
func Intersect(profile, engine *specs.LinuxSeccomp) (*specs.LinuxSeccomp, []Note, error) {
	in, err := IntersectFilters(profile, engine)
	if err != nil {
		return nil, nil, err
	}
	return in.Filter, in.Notes, nil
}

// IntersectFilters is Intersect with the syscalls it took away listed.
func IntersectFilters(profile, engine *specs.LinuxSeccomp) (*Intersection, error) {
	if profile == nil {
		return nil, errors.New("intersect seccomp: no profile filter")
	}
	p, err := readFilter(profile)
	if err != nil {
		return nil, fmt.Errorf("intersect seccomp: the profile's filter: %w", err)
	}
	if engine == nil {
		return &Intersection{Filter: profile}, nil
	}
	e, err := readFilter(engine)
	if err != nil {
		return nil, fmt.Errorf("intersect seccomp: the engine's filter: %w", err)
	}
	in := &Intersection{Filter: &specs.LinuxSeccomp{
		DefaultAction: profile.DefaultAction, DefaultErrnoRet: profile.DefaultErrnoRet}}
	b := &builder{p: p, e: e, in: in}
	b.defaults(engine)
	b.architectures(profile.Architectures, engine.Architectures)
	if len(engine.Flags) > 0 {
		var flags []string
		for _, f := range engine.Flags {
			flags = append(flags, string(f))
		}
		in.Notes = append(in.Notes, Note{Text: "the engine's filter flags (" + strings.Join(flags, ", ") + ") are not kept"})
	}
	names := map[string]bool{}
	for n := range p.names {
		names[n] = true
	}
	for n := range e.names {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		b.syscall(n)
	}
	b.finish()
	return in, nil
}

// allowance is what one filter allows of one syscall.
type allowance struct {
	// terms are ORed; none: refused; one empty term: any arguments.
	terms []term
	// log: the allowing action is SCMP_ACT_LOG.
	log bool
	// refusal is the rule that refuses the syscall for every argument, or
	// (when none does) one that refuses it for some.
	refusal *specs.LinuxSyscall
	// why is set when the rules were read conservatively as a refusal.
	why string
}

// filter is one side of an intersection, per syscall name.
type filter struct {
	defAllows, defLog bool
	names             map[string]*allowance
}

// lookup is the filter's allowance for name, from its default when no
// rule names it.
func (f *filter) lookup(name string) *allowance {
	if a := f.names[name]; a != nil {
		return a
	}
	if f.defAllows {
		return &allowance{terms: []term{{}}, log: f.defLog}
	}
	return &allowance{}
}

// allowing reports whether action lets the syscall run.
func allowing(a specs.LinuxSeccompAction) (bool, error) {
	switch a {
	case specs.ActAllow, specs.ActLog:
		return true, nil
	case specs.ActErrno, specs.ActKill, specs.ActKillThread, specs.ActKillProcess,
		specs.ActTrap, specs.ActTrace, specs.ActNotify:
		return false, nil
	}
	return false, fmt.Errorf("unsupported action %q", a)
}

// sameAction reports whether two actions are one as libseccomp sees them
// (SCMP_ACT_KILL is KILL_THREAD; ERRNO and TRACE without a code are 1).
func sameAction(a specs.LinuxSeccompAction, aRet *uint, b specs.LinuxSeccompAction, bRet *uint) bool {
	norm := func(x specs.LinuxSeccompAction) specs.LinuxSeccompAction {
		if x == specs.ActKill {
			return specs.ActKillThread
		}
		return x
	}
	if norm(a) != norm(b) {
		return false
	}
	if a != specs.ActErrno && a != specs.ActTrace {
		return true
	}
	ret := func(r *uint) uint {
		if r == nil {
			return uint(unix.EPERM)
		}
		return *r
	}
	return ret(aRet) == ret(bRet)
}

// readFilter reads a filter per syscall name, as runc loads it: rules
// whose action is the default are skipped.
func readFilter(s *specs.LinuxSeccomp) (*filter, error) {
	defAllows, err := allowing(s.DefaultAction)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	f := &filter{defAllows: defAllows, defLog: s.DefaultAction == specs.ActLog, names: map[string]*allowance{}}
	type rules struct {
		allow            [][]term
		log              bool
		refuse, refuseIf *specs.LinuxSyscall
		conditional      bool // an allowing rule has comparisons
	}
	byName := map[string]*rules{}
	for i := range s.Syscalls {
		rule := &s.Syscalls[i]
		allows, err := allowing(rule.Action)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		terms, err := ruleTerms(rule.Args)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if sameAction(rule.Action, rule.ErrnoRet, s.DefaultAction, s.DefaultErrnoRet) {
			continue
		}
		for _, name := range rule.Names {
			if name == "" {
				return nil, fmt.Errorf("syscalls[%d]: an empty syscall name", i)
			}
			r := byName[name]
			if r == nil {
				r = &rules{}
				byName[name] = r
			}
			switch {
			case allows:
				r.log = r.log || rule.Action == specs.ActLog
				r.conditional = r.conditional || len(rule.Args) > 0
				r.allow = append(r.allow, terms)
			case len(rule.Args) == 0 && r.refuse == nil:
				r.refuse = rule
			case r.refuseIf == nil:
				r.refuseIf = rule
			}
		}
	}
	for name, r := range byName {
		a := &allowance{log: r.log, refusal: r.refuse}
		if a.refusal == nil {
			a.refusal = r.refuseIf
		}
		switch {
		case r.refuse != nil:
			// Refused for every argument: libseccomp lets an unconditional
			// rule win over conditional ones.
		case r.refuseIf != nil && defAllows:
			a.why = "refuses " + name + " for some arguments and allows the others by default, " +
				"which a filter of allow rules cannot say: refused for every argument"
		case r.refuseIf != nil && len(r.allow) > 0:
			a.why = "has rules that both allow and refuse " + name + " for some arguments: refused for every argument"
		case defAllows:
			// Allowed for every argument; logged where a rule says so, or
			// where the default logs the arguments a rule does not allow.
			a.terms, a.log = []term{{}}, r.log || f.defLog && r.conditional
		default:
			seen := map[string]bool{}
			for _, terms := range r.allow {
				for _, t := range terms {
					if k := t.key(); !seen[k] {
						seen[k] = true
						a.terms = append(a.terms, t)
					}
				}
			}
			if seen[""] {
				a.terms = []term{{}}
			}
		}
		f.names[name] = a
	}
	return f, nil
}

// builder assembles the intersection of p (the profile's filter) and e
// (the engine's).
type builder struct {
	p, e *filter
	in   *Intersection
	// defAllows: both defaults allow, so every refusal needs a rule.
	defAllows      bool
	plain, logged  []string
	conditional    []specs.LinuxSyscall
	refusals       []specs.LinuxSyscall
	nativeArch     libseccomp.ScmpArch
	nativeArchRead bool
}

// defaults picks the result's default action: the profile's, unless it
// allows and the engine's refuses.
func (b *builder) defaults(engine *specs.LinuxSeccomp) {
	out := b.in.Filter
	b.defAllows = b.p.defAllows && b.e.defAllows
	if !b.p.defAllows || b.e.defAllows {
		return
	}
	b.in.Notes = append(b.in.Notes, Note{Text: fmt.Sprintf("the profile's default action %s allows and the engine's %s refuses: "+
		"syscalls the engine's filter does not allow are refused its way", out.DefaultAction, engine.DefaultAction)})
	out.DefaultAction, out.DefaultErrnoRet = engine.DefaultAction, engine.DefaultErrnoRet
	if !copyable(engine.DefaultAction) {
		out.DefaultAction, out.DefaultErrnoRet = specs.ActErrno, errnoPtr(unix.EPERM)
		b.in.Notes = append(b.in.Notes, Note{Text: fmt.Sprintf("the engine's default action %s needs a tracer or an agent "+
			"tailor does not set up: the filter refuses with EPERM instead", engine.DefaultAction)})
	}
}

// copyable reports whether a refusing action can be written into the
// result as it is: not one that hands the syscall to a tracer or an agent.
func copyable(a specs.LinuxSeccompAction) bool {
	return a != specs.ActTrace && a != specs.ActNotify
}

// architectures keeps the profile's architectures the engine lists. A
// filter covers the native architecture whether it lists it or not.
func (b *builder) architectures(profile, engine []specs.Arch) {
	for _, a := range profile {
		if slices.Contains(engine, a) || b.isNative(a) {
			b.in.Filter.Architectures = append(b.in.Filter.Architectures, a)
			continue
		}
		b.in.Notes = append(b.in.Notes, Note{Text: fmt.Sprintf("the engine's filter does not cover %s: "+
			"the runtime refuses that architecture's syscalls, and so does this filter", a)})
	}
}

func (b *builder) isNative(a specs.Arch) bool {
	if !b.nativeArchRead {
		b.nativeArch, _ = libseccomp.GetNativeArch()
		b.nativeArchRead = true
	}
	arch, err := scmpArch(a)
	return err == nil && arch == b.nativeArch
}

// syscall intersects one name and notes what the profile loses.
func (b *builder) syscall(name string) {
	pa, ea := b.p.lookup(name), b.e.lookup(name)
	pairs := andAll(pa.terms, ea.terms)
	terms := pairs.terms
	log := pa.log || ea.log
	if _, err := libseccomp.GetSyscallFromName(name); err != nil {
		if len(pa.terms) > 0 {
			b.note(name, name+" is unknown to libseccomp, so no filter can allow it: refused")
			b.in.Refused = append(b.in.Refused, name)
		}
		return
	}
	allTerms := len(terms) == 1 && len(terms[0]) == 0
	var why []string // the reasons for a loss
	switch {
	case pairs.tooMany:
		why = append(why, fmt.Sprintf("its intersection has more than %d rules: refused", maxTerms))
	case b.defAllows && !allTerms && len(terms) > 0:
		why = append(why, "both filters allow "+name+" for some arguments, and by default for the others, which a filter "+
			"of allow rules cannot say: refused for every argument")
	default:
		if pairs.inexpressible {
			why = append(why, "where both filters allow "+name+" for some arguments, tailor could not write their intersection "+
				"as one seccomp rule (two comparisons of one argument, such as a range): refused for those arguments")
		}
		if pairs.fragile {
			why = append(why, "where both filters allow "+name+" for some arguments, their intersection mixes a bound or SCMP_CMP_NE "+
				"with tests of another argument, or bounds a value above 32 bits, which libseccomp can compile wider than "+
				"written: refused for those arguments")
		}
	}
	if b.defAllows && !allTerms {
		terms = nil
	}
	switch {
	case len(terms) == 0:
		b.refuse(name, pa, ea)
	case allTerms:
		b.allow(name, log)
	default:
		act := specs.ActAllow
		if log {
			act = specs.ActLog
		}
		for _, t := range terms {
			b.conditional = append(b.conditional, specs.LinuxSyscall{Names: []string{name}, Action: act, Args: t.args()})
		}
	}
	if pa.why != "" {
		b.note(name, "the profile's filter "+pa.why)
	}
	if len(pa.terms) == 0 {
		return // the profile refuses it: nothing is lost
	}
	switch {
	case len(terms) == 0:
		b.in.Refused = append(b.in.Refused, name)
		switch {
		case len(ea.terms) == 0:
			why = []string{b.engineRefuses(name, ea)}
		case len(why) == 0:
			why = []string{"the engine's filter allows " + name + " only for arguments the profile's never allows: refused"}
		}
	case !covers(terms, pa.terms):
		b.in.Narrowed = append(b.in.Narrowed, name)
		if len(why) == 0 {
			why = []string{"the engine's filter allows " + name + " only for some arguments: allowed only where both filters allow it"}
		}
	default:
		return // all the profile allows is still allowed
	}
	for _, w := range why {
		b.note(name, w)
	}
}

// engineRefuses says why the engine refuses name for every argument.
func (b *builder) engineRefuses(name string, ea *allowance) string {
	text := "the engine's filter refuses " + name
	switch {
	case ea.why != "":
		text = "the engine's filter " + ea.why
	case ea.refusal != nil && !copyable(ea.refusal.Action):
		text += fmt.Sprintf(" (it hands it to a tracer or an agent, %s, which tailor counts as refusing)", ea.refusal.Action)
	case ea.refusal != nil:
		text += " (" + describeAction(ea.refusal.Action, ea.refusal.ErrnoRet) + "): refused the same way"
	default:
		text += ": not allowed"
	}
	if slices.Contains(lifecycleSyscalls, name) {
		text += "; the engine's filter wins, though tailor allows " + name + " in every profile: whether a run sees it " +
			"depends on timing, and refusing it can crash the workload"
	}
	return text
}

func describeAction(a specs.LinuxSeccompAction, ret *uint) string {
	if a != specs.ActErrno || ret == nil {
		return string(a)
	}
	return fmt.Sprintf("%s, errno %d", a, *ret)
}

func (b *builder) note(name, text string) {
	b.in.Notes = append(b.in.Notes, Note{Syscall: name, Text: text})
}

func (b *builder) allow(name string, log bool) {
	act := specs.ActAllow
	if log {
		act = specs.ActLog
	}
	if sameAction(act, nil, b.in.Filter.DefaultAction, b.in.Filter.DefaultErrnoRet) {
		return
	}
	if log {
		b.logged = append(b.logged, name)
	} else {
		b.plain = append(b.plain, name)
	}
}

// refuse writes the rule that refuses name, when the default does not:
// the profile's own refusal where the profile refuses it, else the
// engine's where the engine refuses it with a rule of its own.
func (b *builder) refuse(name string, pa, ea *allowance) {
	var rule *specs.LinuxSyscall
	switch {
	case len(pa.terms) == 0 && pa.refusal != nil && (len(pa.refusal.Args) == 0 || b.defAllows):
		rule = pa.refusal
	case len(ea.terms) == 0 && ea.refusal != nil && (len(ea.refusal.Args) == 0 || b.defAllows) && len(pa.terms) > 0:
		rule = ea.refusal
	}
	var out specs.LinuxSyscall
	switch {
	case rule != nil && copyable(rule.Action):
		out = specs.LinuxSyscall{Names: []string{name}, Action: rule.Action, ErrnoRet: rule.ErrnoRet}
	case b.defAllows:
		out = specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.EPERM)}
	default:
		return
	}
	if !sameAction(out.Action, out.ErrnoRet, b.in.Filter.DefaultAction, b.in.Filter.DefaultErrnoRet) {
		b.refusals = append(b.refusals, out)
	}
}

// finish writes the rules: names allowed with any arguments first (one
// rule per action), then the conditional rules and the refusals by name.
func (b *builder) finish() {
	out := b.in.Filter
	if len(b.plain) > 0 {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: b.plain, Action: specs.ActAllow})
	}
	if len(b.logged) > 0 {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: b.logged, Action: specs.ActLog})
	}
	out.Syscalls = append(out.Syscalls, b.conditional...)
	out.Syscalls = append(out.Syscalls, b.refusals...)
}

// pairing is the OR of the pairwise ANDs of two allowances' terms,
// deduplicated and simplified.
type pairing struct {
	terms []term
	// inexpressible: a pair was dropped because its AND needs two
	// comparisons of one argument.
	inexpressible bool
	// fragile: terms were dropped because libseccomp may compile them
	// wider than written (see sturdy).
	fragile bool
	// tooMany: the result exceeded the limits (terms is then empty).
	tooMany bool
}

func andAll(p, e []term) pairing {
	var out pairing
	if len(p)*len(e) > maxPairs {
		return pairing{tooMany: true}
	}
	seen := map[string]bool{}
	for _, a := range p {
		for _, c := range e {
			t, unsat, drop := andTerms(a, c)
			out.inexpressible = out.inexpressible || drop
			if unsat || drop {
				continue
			}
			if k := t.key(); !seen[k] {
				seen[k] = true
				out.terms = append(out.terms, t)
				if len(out.terms) > maxTerms {
					return pairing{tooMany: true}
				}
			}
		}
	}
	out.terms, out.fragile = sturdy(simplify(out.terms))
	return out
}

// covers reports whether terms allow everything want does: each of
// want's terms is covered by one of them. (It may answer no for terms
// that split want's differently; the note then errs on the cautious side.)
func covers(terms, want []term) bool {
	for _, w := range want {
		if !slices.ContainsFunc(terms, func(t term) bool { return t.covers(w) }) {
			return false
		}
	}
	return true
}
