// Package seccompvm runs an exported seccomp BPF program in a BPF VM, so
// that tests check a filter's verdicts without root and without loading
// it: the generator's tests and the hook's if: tests share it.
package seccompvm

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// VM runs one compiled seccomp filter against seccomp_data.
type VM struct{ vm *bpf.VM }

// New loads raw, a sock_filter array as libseccomp exports it.
func New(t testing.TB, raw []byte) *VM {
	t.Helper()
	if len(raw)%8 != 0 || len(raw) == 0 {
		t.Fatalf("bpf program of %d bytes is not a sock_filter array", len(raw))
	}
	var prog []bpf.Instruction
	for off := 0; off < len(raw); off += 8 {
		ri := bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(raw[off:]),
			Jt: raw[off+2],
			Jf: raw[off+3],
			K:  binary.NativeEndian.Uint32(raw[off+4:]),
		}
		prog = append(prog, ri.Disassemble())
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("bpf vm: %v", err)
	}
	return &VM{vm: vm}
}

// Run returns the filter's verdict (SECCOMP_RET_*) for one syscall.
func (v *VM) Run(t testing.TB, arch uint32, nr int, args ...uint64) uint32 {
	t.Helper()
	ret, err := v.vm.Run(Data(arch, nr, args...))
	if err != nil {
		t.Fatalf("bpf run: %v", err)
	}
	return uint32(ret)
}

// Data lays out struct seccomp_data as the kernel does on a little endian
// machine (u64 arguments low word first). The VM loads words in network
// byte order, so every 32-bit word is stored big endian: the filter then
// reads the same values the kernel would give it.
func Data(arch uint32, nr int, args ...uint64) []byte {
	b := make([]byte, 64)
	put := func(off int, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }
	put(0, uint32(nr))
	put(4, arch)
	for i, a := range args {
		put(16+8*i, uint32(a))
		put(16+8*i+4, uint32(a>>32))
	}
	return b
}

// The architectures tests run filters for.
const (
	ArchX8664 = unix.AUDIT_ARCH_X86_64
	ArchI386  = unix.AUDIT_ARCH_I386
)

// Verdict names a SECCOMP_RET_* value ("allow", "errno 1", ...).
func Verdict(r uint32) string {
	switch r & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_ALLOW:
		return "allow"
	case unix.SECCOMP_RET_ERRNO:
		return fmt.Sprintf("errno %d", r&unix.SECCOMP_RET_DATA)
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "kill-process"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "kill-thread"
	case unix.SECCOMP_RET_LOG:
		return "log"
	case unix.SECCOMP_RET_USER_NOTIF:
		return "notify"
	case unix.SECCOMP_RET_TRAP:
		return "trap"
	}
	return fmt.Sprintf("0x%x", r)
}
