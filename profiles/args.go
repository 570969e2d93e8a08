package profiles

// ArgRule describes how one syscall's argument values are recorded and
// what they mean. The recorder (arg_value in bpf/tailor.bpf.c) and the
// generator both follow it: bpf/internal/gennr writes each rule's argument
// index and mask into bpf/profiles.h, and the BPF program does not compile
// while a rule lacks its branch there.
type ArgRule struct {
	// Syscall is the syscall name (the same on every ABI where it exists).
	Syscall string
	// Arg is the argument index the value comes from.
	Arg int
	// Mask is applied to the argument before it is recorded; the
	// generator compares (arg & Mask) == value (SCMP_CMP_MASKED_EQ).
	Mask uint64
	// Meaning is a short description for reports.
	Meaning string
}

// Namespace flag bits usable with clone(2) (CLONE_NEWNS and
// CLONE_NEWCGROUP..CLONE_NEWNET; CLONE_NEWTIME shares its bit with the exit
// signal in clone and exists only for clone3/unshare). This is Docker's
// default profile's clone mask.
const CloneNamespaceMask uint64 = 0x7E020000

// Namespace flags for clone3 and unshare, CLONE_NEWTIME (0x80) included.
const NamespaceMask uint64 = CloneNamespaceMask | 0x80

// SocketTypeMask strips SOCK_NONBLOCK and SOCK_CLOEXEC from socket's type
// (SOCKET_TYPE_MASK in the generated bpf/profiles.h).
const SocketTypeMask = 0xf

// MaxArgValues is how many distinct values per syscall the recorder keeps
// before it gives up on an argument rule (ArgValues.Overflow); it is
// MAX_ARG_VALUES in the generated bpf/profiles.h.
const MaxArgValues = 32

// ArgRules lists the syscalls whose arguments tailor records. Socket's value
// is encoded as domain<<32 | (type & SocketTypeMask): see SocketValue.
var ArgRules = []ArgRule{
	{Syscall: "clone", Arg: 0, Mask: CloneNamespaceMask, Meaning: "namespace flags"},
	{Syscall: "clone3", Arg: 0, Mask: NamespaceMask, Meaning: "namespace flags (read from struct clone_args)"},
	{Syscall: "unshare", Arg: 0, Mask: ^uint64(0), Meaning: "flags"},
	{Syscall: "setns", Arg: 1, Mask: ^uint64(0), Meaning: "namespace type"},
	{Syscall: "socket", Arg: 0, Mask: ^uint64(0), Meaning: "domain and type"},
	{Syscall: "personality", Arg: 0, Mask: ^uint64(0), Meaning: "persona"},
	{Syscall: "prctl", Arg: 0, Mask: ^uint64(0), Meaning: "option"},
	{Syscall: "ioctl", Arg: 1, Mask: 0xffffffff, Meaning: "request"},
	// On x86 (i386) socket(2) can also be reached through socketcall(2),
	// whose own arguments live in user memory where seccomp cannot see them:
	// only the call (SYS_SOCKET, SYS_CONNECT, ...) can be filtered.
	{Syscall: "socketcall", Arg: 0, Mask: ^uint64(0), Meaning: "call"},
}

// ArgRuleFor returns the argument rule of a syscall, if it has one.
func ArgRuleFor(name string) (ArgRule, bool) {
	for _, r := range ArgRules {
		if r.Syscall == name {
			return r, true
		}
	}
	return ArgRule{}, false
}

// SocketValue encodes a socket(2) domain and type as recorded.
func SocketValue(domain, typ uint64) uint64 {
	return domain<<32 | typ&SocketTypeMask
}

// SocketDomainType decodes a recorded socket value.
func SocketDomainType(v uint64) (domain, typ uint64) {
	return v >> 32, v & SocketTypeMask
}
