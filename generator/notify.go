package generator

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/tailor-dev/tailor/profiles"
)

// maxNotifyRules bounds the rules that send one syscall's argument values
// outside the profile to the agent; beyond it those values stay refused
// (with a note) so that the filter stays far below the kernel's 4096
// instructions.
const maxNotifyRules = 128

// ErrNotifyDefault is returned when the enforced filter's default action
// lets syscalls run: complain mode has nothing to hand to the agent.
var ErrNotifyDefault = errors.New("complain mode needs a default action that refuses")

// ComplainOptions say where a complain-mode filter sends what it refuses.
type ComplainOptions struct {
	// ListenerPath is the agent's socket (linux.seccomp.listenerPath).
	ListenerPath string
	// Metadata is passed to the agent with the notify fd
	// (linux.seccomp.listenerMetadata).
	Metadata string
}

// Complain returns enforced (the filter tailor apply writes: the profile's,
// already intersected with the engine's) with every syscall it refuses
// through its default action handed to the seccomp agent instead
// (SCMP_ACT_NOTIFY), and, for syscalls it allows only for some argument
// values, the other values too. It never notifies what the engine's filter
// refuses: engine (nil when the bundle has none) must allow a syscall for
// every argument for it to be notified; a syscall it allows only for some
// stays refused, and so do syscalls enforced refuses by a rule of its own
// (clone3 with ENOSYS). write is never notified: runc writes to its parent
// after loading the filter and refuses a filter that notifies write.
// Names are those libseccomp knows for the native architecture.
func Complain(enforced, engine *specs.LinuxSeccomp, opts ComplainOptions) (*specs.LinuxSeccomp, []Note, error) {
	if enforced == nil {
		return nil, nil, errors.New("complain filter: no filter")
	}
	if opts.ListenerPath == "" {
		return nil, nil, errors.New("complain filter: no listener path")
	}
	ef, err := readFilter(enforced)
	if err != nil {
		return nil, nil, fmt.Errorf("complain filter: %w", err)
	}
	if ef.defAllows {
		return nil, nil, fmt.Errorf("complain filter: %w (default action %s); use --default-action errno or enosys",
			ErrNotifyDefault, enforced.DefaultAction)
	}
	var eng *filter
	if engine != nil {
		if eng, err = readFilter(engine); err != nil {
			return nil, nil, fmt.Errorf("complain filter: the engine's filter: %w", err)
		}
	}
	names, err := nativeSyscallNames()
	if err != nil {
		return nil, nil, fmt.Errorf("complain filter: %w", err)
	}
	out := *enforced
	out.Syscalls = slices.Clone(enforced.Syscalls)
	out.ListenerPath, out.ListenerMetadata = opts.ListenerPath, opts.Metadata
	var plain, engineLimited []string
	var notes []Note
	for _, name := range names {
		if eng != nil && !allowsAny(eng.lookup(name)) {
			if len(eng.lookup(name).terms) > 0 && !allowsAny(ef.lookup(name)) {
				engineLimited = append(engineLimited, name)
			}
			continue
		}
		a := ef.names[name]
		switch {
		case name == "write":
			if !allowsAny(ef.lookup(name)) {
				notes = append(notes, Note{Syscall: name, Text: "the profile does not allow write and runc cannot notify it: " +
					"it stays refused, and is not recorded"})
			}
		case a == nil:
			plain = append(plain, name)
		case len(a.terms) == 0 || allowsAny(a):
			// Refused by a rule of its own, or allowed for every argument.
		default:
			rules, why := complementRules(name, a.terms)
			if why != "" {
				notes = append(notes, Note{Syscall: name, Text: why})
				continue
			}
			out.Syscalls = append(out.Syscalls, rules...)
		}
	}
	if len(plain) > 0 {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: plain, Action: specs.ActNotify})
	}
	if len(engineLimited) > 0 {
		notes = append(notes, Note{Text: "the engine's filter allows " + strings.Join(engineLimited, ", ") +
			" only for some arguments: what the profile lacks of them stays refused (not notified, not recorded)"})
	}
	notes = append(notes, Note{Text: "complain mode is not a security boundary: every syscall the profile lacks and the engine's " +
		"filter allows is handed to tailor's agent and let through (or refused and recorded, with --report)"})
	return &out, notes, nil
}

// allowsAny reports whether an allowance holds for every argument.
func allowsAny(a *allowance) bool {
	return len(a.terms) == 1 && len(a.terms[0]) == 0
}

// nativeSyscallNames lists the syscall names libseccomp knows for the
// native architecture, sorted.
func nativeSyscallNames() ([]string, error) {
	arch, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("native architecture: %w", err)
	}
	var names []string
	for nr := range 1024 {
		if name, err := libseccomp.ScmpSyscall(nr).GetNameByArch(arch); err == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("libseccomp names no syscall of %s", arch)
	}
	sort.Strings(names)
	return slices.Compact(names), nil
}

// complementRules returns NOTIFY rules that hold exactly where no term
// holds, for terms that compare the same arguments under the same masks
// (the shape the generator writes: one value per rule). Any other shape,
// or too many rules, is returned as a reason instead.
func complementRules(name string, terms []term) ([]specs.LinuxSyscall, string) {
	shape := terms[0]
	for _, t := range terms {
		if len(t) != len(shape) {
			return nil, "its argument rules compare different arguments: values outside them stay refused (not notified)"
		}
		for i, c := range t {
			if c.op != specs.OpMaskedEqual || c.index != shape[i].index || c.mask != shape[i].mask {
				return nil, "its argument rules are not all equality tests on one mask: values outside them stay refused (not notified)"
			}
		}
	}
	var out []term
	complementTerms(terms, 0, nil, &out)
	if len(out) > maxNotifyRules {
		return nil, fmt.Sprintf("the values outside its argument rules need %d rules (more than %d): they stay refused (not notified)",
			len(out), maxNotifyRules)
	}
	var rules []specs.LinuxSyscall
	for _, t := range out {
		rules = append(rules, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActNotify, Args: t.args()})
	}
	return rules, ""
}

// complementTerms appends to out terms covering every argument tuple that
// agrees with prefix and matches no term at position level and beyond.
func complementTerms(terms []term, level int, prefix term, out *[]term) {
	if level == len(terms[0]) {
		return
	}
	index, mask := terms[0][level].index, terms[0][level].mask
	byValue := map[uint64][]term{}
	var values []uint64
	for _, t := range terms {
		v := t[level].value
		if byValue[v] == nil {
			values = append(values, v)
		}
		byValue[v] = append(byValue[v], t)
	}
	slices.Sort(values)
	for _, c := range maskedComplement(values, mask) {
		*out = append(*out, append(slices.Clone(prefix), cond{index: index, op: specs.OpMaskedEqual, mask: c[0], value: c[1]}))
	}
	for _, v := range values {
		fixed := append(slices.Clone(prefix), cond{index: index, op: specs.OpMaskedEqual, mask: mask, value: v})
		complementTerms(byValue[v], level+1, fixed, out)
	}
}

// maskedComplement returns (mask, value) pairs whose matches (x&mask ==
// value) cover every x whose x&full is not in values, and no x whose
// x&full is. It walks the binary trie of values over full's bits, high to
// low: each missing branch is one pair. A pair tests only the bits where
// values differ, plus its own branching bit: a bit all values share
// cannot tell them apart from the pair, so testing it only adds work.
func maskedComplement(values []uint64, full uint64) [][2]uint64 {
	var all, any uint64 = ^uint64(0), 0
	for _, v := range values {
		all &= v
		any |= v
	}
	differ := all ^ any // bits where the values are not all equal
	var order []uint64
	for b := 63; b >= 0; b-- {
		if full&(1<<b) != 0 {
			order = append(order, 1<<b)
		}
	}
	var out [][2]uint64
	var walk func(vals []uint64, i int, mask, value uint64)
	walk = func(vals []uint64, i int, mask, value uint64) {
		if i == len(order) {
			return
		}
		bit := order[i]
		var zero, one []uint64
		for _, v := range vals {
			if v&bit != 0 {
				one = append(one, v)
			} else {
				zero = append(zero, v)
			}
		}
		keep := mask
		if differ&bit != 0 {
			keep |= bit
		}
		for _, side := range []struct {
			vals []uint64
			set  uint64
		}{{zero, 0}, {one, bit}} {
			if len(side.vals) == 0 {
				out = append(out, [2]uint64{mask | bit, value&mask | side.set})
				continue
			}
			walk(side.vals, i+1, keep, value|side.set)
		}
	}
	walk(values, 0, 0, 0)
	return out
}

// ComplainSeccomp is the seccomp JSON of p in complain mode for an engine
// that takes a whole filter file (podman's --security-opt seccomp=FILE,
// which replaces the engine's default): p's filter within Docker's default
// (DockerDefaultSeccomp, which podman's default derives from), with what
// it refuses and Docker's default allows handed to the agent (Complain).
// What Docker's default refuses stays refused, so the file is never wider
// than the default it replaces in that respect.
func ComplainSeccomp(p *profiles.Profile, sopts SeccompOptions, copts ComplainOptions) ([]byte, []Note, error) {
	s, notes, err := Seccomp(p, sopts)
	if err != nil {
		return nil, nil, err
	}
	engine := DockerDefaultSeccomp()
	in, err := IntersectFilters(s, engine)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, in.Notes...)
	if len(in.Refused) > 0 {
		notes = append(notes, Note{Text: "Docker's default filter refuses " + strings.Join(in.Refused, ", ") +
			", which the profile allows: refused here too"})
	}
	c, cnotes, err := Complain(in.Filter, engine, copts)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, cnotes...)
	out, err := marshalCompiled(c)
	return out, notes, err
}
