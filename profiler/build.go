package profiler

import (
	"fmt"
	"sort"

	"github.com/moby/sys/capability"
	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// itemKey names one recorded item for provenance.
type itemKey struct {
	kind uint8
	abi  uint8
	nr   uint16
}

// provenance keeps the first task seen needing each item.
type provenance map[itemKey]profiles.Seen

func (p provenance) add(e bpf.Event) {
	k := itemKey{kind: e.Kind, abi: e.ABI, nr: e.Nr}
	if e.Kind == bpf.EventArg {
		return // the syscall's own record carries the provenance
	}
	if _, ok := p[k]; !ok {
		p[k] = profiles.Seen{Comm: e.Comm, Exe: e.Exe, Recordings: 1}
	}
}

// build turns what the kernel aggregated into a profile.
func build(r *bpf.Recording, prov provenance, src profiles.Source) *profiles.Profile {
	p := profiles.New("")
	p.Source = src
	p.Source.Recordings = 1
	for i, abi := range profiles.ABIs {
		if len(r.Syscalls[i]) == 0 {
			continue
		}
		a := profiles.ABISyscalls{ABI: abi}
		for _, nr := range r.Syscalls[i] {
			name, err := abi.SyscallName(nr)
			if err != nil {
				a.Unnamed = append(a.Unnamed, nr)
				continue
			}
			seen := prov[itemKey{kind: bpf.EventSyscall, abi: uint8(i), nr: uint16(nr)}]
			seen.Recordings = 1
			s := profiles.Syscall{Name: name, Seen: seen}
			if _, ok := profiles.ArgRuleFor(name); ok {
				s.Args = argValues(r, i, nr)
			}
			a.Syscalls = append(a.Syscalls, s)
		}
		sort.Ints(a.Unnamed)
		p.ABIs = append(p.ABIs, a)
	}
	for c := range 64 {
		bit := uint64(1) << c
		if (r.CapsGranted|r.CapsDenied)&bit == 0 {
			continue
		}
		seen := prov[itemKey{kind: bpf.EventCap, nr: uint16(c)}]
		seen.Recordings = 1
		p.Capabilities = append(p.Capabilities, profiles.Capability{
			Name:    profiles.CapabilityName(capability.Cap(c)),
			Granted: r.CapsGranted&bit != 0,
			Denied:  r.CapsDenied&bit != 0,
			Seen:    seen,
		})
	}
	p.Loss.Events = r.LostEvents
	p.Loss.Tasks = r.LostTasks
	if r.OverQuota > 0 {
		p.Loss.Reasons = append(p.Loss.Reasons, fmt.Sprintf(
			"%d task(s) not tracked: the container had more tasks at once than the tracer's per-container quota (tailor tracer --task-quota)", r.OverQuota))
	}
	p.Loss.ArgValues = r.LostArgs
	return p
}

// argValues returns the recorded values of one syscall. A syscall seen
// without any value (its values were lost, which the loss counters show)
// gets no argument rule rather than one that refuses every call.
func argValues(r *bpf.Recording, abi, nr int) *profiles.ArgValues {
	if r.ArgOverflow[abi][nr] {
		return &profiles.ArgValues{Overflow: true}
	}
	vals := r.Args[abi][nr]
	if len(vals) == 0 {
		return nil
	}
	out := append([]uint64(nil), vals...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return &profiles.ArgValues{Values: out}
}
