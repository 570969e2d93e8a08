package profiles

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// ErrNothingToMerge is returned by Merge without inputs.
var ErrNothingToMerge = errors.New("nothing to merge")

// Merge unions profiles into a new one; the inputs are not modified.
//
// Every combining rule is associative and commutative, so the result's
// bytes (Marshal) do not depend on how the inputs are ordered or grouped:
//   - syscalls (per ABI) and capabilities are unioned; Granted and Denied
//     are or-ed;
//   - Seen.Recordings and Source.Recordings are summed: an item's count is
//     its coverage, how many recordings saw it;
//   - provenance (Seen.Comm and Exe) is the smallest non-empty (Exe, Comm)
//     pair among the inputs: a choice that depends on the values only, as
//     an item carries no time to tell which recording saw it first;
//   - argument values are unioned, and widen: a syscall with an argument
//     rule (ArgRules) whose Args is nil in any input that has it (e.g. one
//     imported from a seccomp JSON without an argument rule) is allowed with
//     any argument in the result (Args nil); otherwise Overflow wins over
//     values;
//   - loss counters are summed and reasons unioned; the result is complete
//     only when every input is;
//   - Source strings (runtime, kernel, container ID, boundary) become the
//     sorted set of the inputs' values, joined with ", "; Start is the
//     earliest and End the latest time;
//   - Name is kept when every input has the same one, else it is empty;
//   - files, programs, network endpoints and signals are unioned as
//     syscalls are (a file's accesses are unioned), and a dimension is
//     recorded in the result only when every input recorded it.
func Merge(ps ...*Profile) (*Profile, error) {
	if len(ps) == 0 {
		return nil, ErrNothingToMerge
	}
	out := &Profile{SchemaVersion: SchemaVersion, Kind: Kind, Name: ps[0].Name, Complete: true}
	syscalls := map[ABI]map[string]*Syscall{}
	caps := map[string]*Capability{}
	var src [4][]string
	for _, p := range ps {
		if p.Name != out.Name {
			out.Name = ""
		}
		mergeLoss(&out.Loss, p)
		mergeSource(&out.Source, &src, p.Source)
		for _, a := range p.ABIs {
			m := syscalls[a.ABI]
			if m == nil {
				m = map[string]*Syscall{}
				syscalls[a.ABI] = m
			}
			for _, s := range a.Syscalls {
				m[s.Name] = mergeSyscall(m[s.Name], s)
			}
		}
		for _, c := range p.Capabilities {
			caps[c.Name] = mergeCapability(caps[c.Name], c)
		}
	}
	out.Source.Runtime = joinSet(src[0])
	out.Source.Kernel = joinSet(src[1])
	out.Source.ContainerID = joinSet(src[2])
	out.Source.SyscallBoundary = joinSet(src[3])
	out.Loss.Reasons = setOf(out.Loss.Reasons)
	out.ABIs = []ABISyscalls{}
	for abi, m := range syscalls {
		a := ABISyscalls{ABI: abi, Syscalls: []Syscall{}}
		for _, s := range m {
			a.Syscalls = append(a.Syscalls, *s)
		}
		out.ABIs = append(out.ABIs, a)
	}
	out.Capabilities = []Capability{}
	for _, c := range caps {
		out.Capabilities = append(out.Capabilities, *c)
	}
	mergeTouch(out, ps)
	out.Normalize()
	return out, nil
}

// incompleteReason keeps an input's Complete=false through a merge when it
// has no loss to say why (Normalize derives Complete from Loss).
const incompleteReason = "a merged profile was marked incomplete"

func mergeLoss(l *Loss, p *Profile) {
	l.Events += p.Loss.Events
	l.Tasks += p.Loss.Tasks
	l.ArgValues += p.Loss.ArgValues
	l.Paths += p.Loss.Paths
	l.Objects += p.Loss.Objects
	l.Reasons = append(l.Reasons, p.Loss.Reasons...)
	if !p.Complete && !p.Loss.Any() {
		l.Reasons = append(l.Reasons, incompleteReason)
	}
}

func mergeSource(s *Source, strs *[4][]string, in Source) {
	s.Recordings += in.Recordings
	for i, v := range []string{in.Runtime, in.Kernel, in.ContainerID, in.SyscallBoundary} {
		strs[i] = append(strs[i], splitSet(v)...)
	}
	if start := utc(in.Start); !start.IsZero() && (s.Start.IsZero() || start.Before(s.Start)) {
		s.Start = start
	}
	if end := utc(in.End); !end.IsZero() && (s.End.IsZero() || end.After(s.End)) {
		s.End = end
	}
}

// utc drops t's location and monotonic reading, so that equal instants
// encode to equal bytes.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Round(0)
}

const setSep = ", "

func splitSet(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, setSep)
}

func setOf(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	s := append([]string(nil), v...)
	sort.Strings(s)
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

func joinSet(v []string) string { return strings.Join(setOf(v), setSep) }

func mergeSyscall(acc *Syscall, s Syscall) *Syscall {
	if acc == nil {
		c := s
		c.Args = copyArgs(s.Args)
		return &c
	}
	acc.Seen = mergeSeen(acc.Seen, s.Seen)
	if _, ok := ArgRuleFor(s.Name); ok {
		acc.Args = widenArgs(acc.Args, s.Args)
	}
	return acc
}

// widenArgs unions the argument values of two recordings: nil (no
// restriction) absorbs everything, then Overflow, then the values' union.
func widenArgs(a, b *ArgValues) *ArgValues {
	if a == nil || b == nil {
		return nil
	}
	return unionArgs(a, b)
}

func copyArgs(a *ArgValues) *ArgValues {
	if a == nil {
		return nil
	}
	return &ArgValues{Values: append([]uint64(nil), a.Values...), Overflow: a.Overflow}
}

func mergeCapability(acc *Capability, c Capability) *Capability {
	if acc == nil {
		return &c
	}
	acc.Granted = acc.Granted || c.Granted
	acc.Denied = acc.Denied || c.Denied
	acc.Seen = mergeSeen(acc.Seen, c.Seen)
	return acc
}

func mergeSeen(a, b Seen) Seen {
	out := a
	if provenanceLess(b, a) {
		out = b
	}
	out.Recordings = a.Recordings + b.Recordings
	out.Count = a.Count + b.Count
	return out
}

// provenanceLess orders provenance: non-empty before empty, then by Exe,
// then by Comm.
func provenanceLess(a, b Seen) bool {
	ae, be := a.Exe == "" && a.Comm == "", b.Exe == "" && b.Comm == ""
	if ae != be {
		return be
	}
	if a.Exe != b.Exe {
		return a.Exe < b.Exe
	}
	return a.Comm < b.Comm
}
