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

// lifecycleSyscalls only end or resume what a task is already doing. Whether
// a learning run sees them depends on timing (a signal arriving while a
// handler is installed, a thread ending before the process does), and
// refusing them turns that timing into a crash: a handler that cannot
// return (rt_sigreturn: SIGSEGV, seen in runc's init one start in twenty),
// a thread that spins in glibc retrying exit, an interrupted sleep that
// cannot restart. They are always allowed, as Docker's default does.
var lifecycleSyscalls = []string{"exit", "exit_group", "restart_syscall", "rt_sigreturn"}

// addRuntimeSyscalls adds to calls what the runtime the profile was
// learned under needs (see runtimeSyscalls) and was not recorded, and says
// so.
func addRuntimeSyscalls(p *profiles.Profile, calls map[string]*seenCall) []Note {
	var notes []Note
	add := func(name, why string) {
		if calls[name] != nil || len(p.ABIs) == 0 {
			return
		}
		c := &seenCall{values: map[uint64]bool{}}
		for _, a := range p.ABIs {
			if !slices.Contains(c.abis, a.ABI) {
				c.abis = append(c.abis, a.ABI)
			}
		}
		calls[name] = c
		notes = append(notes, Note{Syscall: name, Text: "allowed though not recorded: " + why})
	}
	for _, runtime := range strings.Split(p.Source.Runtime, ", ") {
		for _, name := range runtimeSyscalls[runtime] {
			add(name, runtime+" may make it after loading the filter, and crashes when it is refused")
		}
	}
	for _, name := range lifecycleSyscalls {
		add(name, "it only ends or resumes what a task already does, and whether a run sees it depends on timing")
	}
	return notes
}
