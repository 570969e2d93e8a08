package landlock

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HelperSyscall is a syscall the helper makes between the runtime's execve
// of it and its own execve of the workload.
type HelperSyscall struct {
	Name string
	// Arg0, when not empty, lists the only values of the first argument
	// the helper passes: the set allows the syscall for those alone.
	Arg0 []uint64
	// Why says what in the helper makes it (docs/landlock.md lists them).
	Why string
}

// threadClone is the clone(2) flags word of the Go runtime's new threads
// (runtime.cloneFlags): a thread, never a process or a namespace.
const threadClone = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS

// archSetFS is ARCH_SET_FS of asm/prctl.h (x86_64), the one arch_prctl
// code the Go runtime uses.
const archSetFS = 0x1002

// HelperSyscalls is the helper's own syscall set, measured with strace -f
// on x86_64 (cmd/tailor-landlock, Go 1.26, static): tailor apply
// --landlock puts the learned profile plus this set in linux.seccomp,
// which the runtime loads before it execs the helper and also applies to
// every exec session. The helper then loads the learned filter alone,
// last before its execve, so the workload runs under exactly the learned
// profile; an exec session runs under the learned profile plus this set.
// cmd/tailor-landlock's tests run the helper under a filter of exactly
// this set (and execve) that kills on anything else.
//
// Keep it small: the helper reads its configuration without the
// netpoller and runs on one P. The epoll calls are there because the os
// package registers a standard stream the caller left non-blocking.
var HelperSyscalls = []HelperSyscall{
	{Name: "execve", Why: "the exec of the workload (the learned profile must allow it as well)"},
	{Name: "arch_prctl", Arg0: []uint64{archSetFS}, Why: "Go runtime start: thread-local storage"},
	{Name: "mmap", Why: "Go runtime: heap, stacks"},
	{Name: "madvise", Why: "Go runtime: heap"},
	{Name: "prctl", Arg0: []uint64{unix.PR_SET_VMA, unix.PR_SET_NO_NEW_PRIVS},
		Why: "Go runtime: names of its mappings; no_new_privs, which Landlock and seccomp need"},
	{Name: "sched_getaffinity", Why: "Go runtime start: CPU count"},
	{Name: "openat", Why: "Go runtime start (huge page size, cgroup CPU limit); the configuration"},
	{Name: "openat2", Why: "O_PATH handles of the rules' paths, opened without following symlinks"},
	{Name: "read", Why: "the same files"},
	{Name: "pread64", Why: "Go runtime start: cgroup CPU limit"},
	{Name: "close", Why: "the same files"},
	{Name: "fcntl", Why: "Go runtime and os start: the standard streams; the configuration made blocking"},
	{Name: "fstat", Why: "the configuration is a regular file of bounded size; the type of each rule's path, from its handle"},
	{Name: "newfstatat", Why: "lookup of the program in PATH: not a directory"},
	{Name: "faccessat2", Why: "lookup of the program in PATH: executable for the effective ids (AT_EACCESS)"},
	{Name: "prlimit64", Arg0: []uint64{0}, Why: "os start: raises its own open-files soft limit to the hard one"},
	{Name: "rt_sigaction", Why: "Go runtime: signal handlers"},
	{Name: "rt_sigprocmask", Why: "Go runtime: signal masks"},
	{Name: "rt_sigreturn", Why: "return from a signal handler (preemption, a signal sent to the container)"},
	{Name: "sigaltstack", Why: "Go runtime: signal stacks of its threads"},
	{Name: "clone", Arg0: []uint64{threadClone}, Why: "Go runtime: its threads (sysmon, the template thread), with the flags of a thread only"},
	{Name: "gettid", Why: "Go runtime: thread ids"},
	{Name: "futex", Why: "Go runtime: wakes and parks threads"},
	{Name: "nanosleep", Why: "Go runtime: sysmon's sleeps, spinning"},
	{Name: "sched_yield", Why: "Go runtime: spinning"},
	{Name: "getpid", Why: "Go runtime: preemption signal"},
	{Name: "tgkill", Why: "Go runtime: preemption signal to its own threads"},
	{Name: "epoll_create1", Why: "os start, when a standard stream is non-blocking: the netpoller"},
	{Name: "epoll_ctl", Why: "the same"},
	{Name: "epoll_pwait", Why: "the same"},
	{Name: "eventfd2", Why: "the same"},
	{Name: "landlock_create_ruleset", Why: "the ruleset, and the kernel's Landlock ABI"},
	{Name: "landlock_add_rule", Why: "the ruleset's rules"},
	{Name: "landlock_restrict_self", Why: "enforcing the ruleset"},
	{Name: "seccomp", Arg0: []uint64{unix.SECCOMP_SET_MODE_FILTER}, Why: "loading the learned filter"},
	{Name: "write", Why: "its message on stderr when it refuses, or warns of a dropped right"},
	{Name: "exit_group", Why: "its exit when it refuses"},
}

// HelperSyscallNames are the names of HelperSyscalls.
func HelperSyscallNames() []string {
	names := make([]string, len(HelperSyscalls))
	for i, s := range HelperSyscalls {
		names[i] = s.Name
	}
	return names
}

// HelperFilter allows HelperSyscalls, each narrowed to its Arg0 values,
// and refuses every other syscall as like does (its default action and
// architectures).
func HelperFilter(like *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	h := &specs.LinuxSeccomp{DefaultAction: like.DefaultAction, DefaultErrnoRet: like.DefaultErrnoRet,
		Architectures: like.Architectures}
	var plain []string
	var narrowed []specs.LinuxSyscall
	for _, s := range HelperSyscalls {
		if len(s.Arg0) == 0 {
			plain = append(plain, s.Name)
		}
		for _, v := range s.Arg0 { // ORed rules: one per value
			narrowed = append(narrowed, specs.LinuxSyscall{Names: []string{s.Name}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}})
		}
	}
	h.Syscalls = append([]specs.LinuxSyscall{{Names: plain, Action: specs.ActAllow}}, narrowed...)
	return h
}
