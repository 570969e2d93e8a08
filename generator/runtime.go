package generator

import (
	"slices"
	"strings"

	"github.com/tailor-dev/tailor/profiles"
)

// runtimeSyscalls are syscalls a runtime makes after loading the
// container's filter at moments a learning run does not reliably catch,
// and without which the runtime crashes before the workload starts.
//
// runc's init is a Go program: between loading the filter and the execve
// of the workload, the Go runtime wakes a thread with futex whenever a
// goroutine comes back from a syscall that outlasted its time slice. A
// refused futex kills runc init ("futexwakeup addr=... returned -1",
// fatal error), so a profile whose learning run happened not to see it
// breaks one start in a few.
var runtimeSyscalls = map[string][]string{
	"runc": {"futex"},
}

// addRuntimeSyscalls adds to calls what the runtime the profile was
// learned under needs (see runtimeSyscalls) and was not recorded, and says
// so.
func addRuntimeSyscalls(p *profiles.Profile, calls map[string]*seenCall) []Note {
	var notes []Note
	for _, runtime := range strings.Split(p.Source.Runtime, ", ") {
		for _, name := range runtimeSyscalls[runtime] {
			if calls[name] != nil {
				continue
			}
			c := &seenCall{values: map[uint64]bool{}}
			for _, a := range p.ABIs {
				if !slices.Contains(c.abis, a.ABI) {
					c.abis = append(c.abis, a.ABI)
				}
			}
			calls[name] = c
			notes = append(notes, Note{Syscall: name, Text: "allowed though not recorded: " + runtime +
				" may make it after loading the filter, and crashes when it is refused"})
		}
	}
	return notes
}
