package profiles

import (
	"fmt"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// ABI names a system call ABI. A task's syscalls are recorded under the ABI
// it entered the kernel with, because the same number means different
// syscalls on each (and a filter must name every architecture it allows).
type ABI string

// The ABIs tailor records. The BPF program's ABI indexes (enum abi in
// bpf/profiles.h) are generated from ABIs by bpf/internal/gennr.
const (
	ABIX8664 ABI = "x86_64"
	ABIX86   ABI = "x86"
	ABIX32   ABI = "x32"
)

// ABIs lists the known ABIs in their canonical (and BPF index) order.
var ABIs = []ABI{ABIX8664, ABIX86, ABIX32}

// ABIByIndex maps the BPF program's ABI index to its name.
func ABIByIndex(i int) (ABI, error) {
	if i < 0 || i >= len(ABIs) {
		return "", fmt.Errorf("unknown ABI index %d", i)
	}
	return ABIs[i], nil
}

// Index is the ABI's position in ABIs (the BPF program's ABI index).
func (a ABI) Index() int {
	for i, b := range ABIs {
		if a == b {
			return i
		}
	}
	return -1
}

// Valid reports whether a is a known ABI.
func (a ABI) Valid() bool { return a.Index() >= 0 }

// ScmpArch is libseccomp's architecture for the ABI.
func (a ABI) ScmpArch() libseccomp.ScmpArch {
	switch a {
	case ABIX8664:
		return libseccomp.ArchAMD64
	case ABIX86:
		return libseccomp.ArchX86
	case ABIX32:
		return libseccomp.ArchX32
	}
	return libseccomp.ArchInvalid
}

// OCIArch is the runtime-spec seccomp architecture for the ABI.
func (a ABI) OCIArch() specs.Arch {
	switch a {
	case ABIX8664:
		return specs.ArchX86_64
	case ABIX86:
		return specs.ArchX86
	case ABIX32:
		return specs.ArchX32
	}
	return ""
}

// ABIFromOCIArch maps a runtime-spec architecture to an ABI.
func ABIFromOCIArch(arch specs.Arch) (ABI, bool) {
	for _, a := range ABIs {
		if a.OCIArch() == arch {
			return a, true
		}
	}
	return "", false
}

// SyscallName resolves a syscall number of this ABI to its name through
// libseccomp. x32 numbers may be given with or without the x32 syscall bit.
func (a ABI) SyscallName(nr int) (string, error) {
	arch := a.ScmpArch()
	if arch == libseccomp.ArchInvalid {
		return "", fmt.Errorf("unknown ABI %q", a)
	}
	if a == ABIX32 {
		nr |= X32SyscallBit
	}
	name, err := libseccomp.ScmpSyscall(nr).GetNameByArch(arch)
	if err != nil {
		return "", fmt.Errorf("syscall %d of ABI %s: %w", nr, a, err)
	}
	return name, nil
}

// SyscallNr resolves a syscall name to this ABI's number (x32 numbers carry
// the x32 syscall bit, as the kernel sees them). Answers are cached:
// libseccomp's lookup is linear and validation asks for every name.
func (a ABI) SyscallNr(name string) (int, error) {
	type key struct {
		abi  ABI
		name string
	}
	type answer struct {
		nr  int
		err error
	}
	k := key{a, name}
	if v, ok := nrCache.Load(k); ok {
		ans := v.(answer)
		return ans.nr, ans.err
	}
	nr, err := a.lookupNr(name)
	nrCache.Store(k, answer{nr, err})
	return nr, err
}

var nrCache sync.Map

func (a ABI) lookupNr(name string) (int, error) {
	arch := a.ScmpArch()
	if arch == libseccomp.ArchInvalid {
		return 0, fmt.Errorf("unknown ABI %q", a)
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, arch)
	if err != nil {
		return 0, fmt.Errorf("syscall %q on ABI %s: %w", name, a, err)
	}
	if nr >= 0 {
		return int(nr), nil
	}
	// A negative number is libseccomp's pseudo number for a multiplexed
	// syscall (socket on x86 is also reachable through socketcall): find
	// the kernel's direct number, if the ABI has one.
	base := 0
	if a == ABIX32 {
		base = X32SyscallBit
	}
	for n := base; n < base+MaxSyscallNr; n++ {
		if got, err := libseccomp.ScmpSyscall(n).GetNameByArch(arch); err == nil && got == name {
			return n, nil
		}
	}
	return 0, fmt.Errorf("syscall %q does not exist on ABI %s", name, a)
}

// MaxSyscallNr bounds the syscall numbers tailor records per ABI (x32
// numbers without the x32 bit). It sizes the BPF program's syscall bitmap
// (MAX_NR in the generated bpf/profiles.h).
const MaxSyscallNr = 1024

// X32SyscallBit marks x32 syscalls in the syscall number
// (__X32_SYSCALL_BIT; X32_SYSCALL_BIT in the generated bpf/profiles.h).
const X32SyscallBit = 0x40000000
