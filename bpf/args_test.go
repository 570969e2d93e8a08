package bpf

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// argCalls are the raw arguments the helper passes to each syscall of
// profiles.ArgRules. Every call fails or only asks (no new namespace, no
// process): the values are there to be recorded. The bits beyond each
// rule's mask show that the recorder applies it.
var argCalls = map[string][6]uint64{
	// CLONE_NEWNS|CLONE_FS is EINVAL; CLONE_NEWUTS is another namespace.
	"clone": {unix.CLONE_NEWNS | unix.CLONE_FS | unix.CLONE_NEWUTS},
	// clone3's argument points to struct clone_args; its flags go in
	// clone3Flags, and a size below the first version's is EINVAL.
	"clone3": {0, 8},
	// CLONE_PARENT is not a flag unshare takes: EINVAL.
	"unshare":     {unix.CLONE_NEWUTS | unix.CLONE_PARENT},
	"setns":       {^uint64(0), unix.CLONE_NEWUTS},
	"socket":      {unix.AF_UNIX, unix.SOCK_DGRAM | unix.SOCK_CLOEXEC},
	"personality": {0xffffffff}, // asks for the current persona
	"prctl":       {unix.PR_GET_DUMPABLE},
	"ioctl":       {^uint64(0), 0xdead_0000_0000 | unix.TCGETS},
}

const clone3Flags = unix.CLONE_NEWTIME | unix.CLONE_NEWUTS | unix.CLONE_FS

// clone3Args is clone3's struct clone_args (flags first). A global does not
// move while the kernel reads it.
var clone3Args = [8]uint64{clone3Flags}

// argHelperEnv selects the helper's phase when the test binary runs as
// the traced process.
const argHelperEnv = "TAILOR_BPF_ARG_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(argHelperEnv) {
	case "wait":
		// Wait to be tracked, then make the final execve: the boundary of
		// a container without a seccomp filter.
		os.Stdin.Read(make([]byte, 1))
		os.Setenv(argHelperEnv, "call")
		exe, _ := os.Executable()
		fmt.Fprintln(os.Stderr, syscall.Exec(exe, os.Args, os.Environ()))
		os.Exit(2)
	case "call":
		callArgs()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func callArgs() {
	for name, a := range argCalls {
		nr, err := profiles.ABIX8664.SyscallNr(name)
		if err != nil {
			continue
		}
		if name == "clone3" {
			a[0] = uint64(uintptr(unsafe.Pointer(&clone3Args)))
		}
		unix.Syscall6(uintptr(nr), uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
	}
}

// wantArg is the value the recorder should keep for a call of argCalls,
// following the rule.
func wantArg(r profiles.ArgRule, a [6]uint64) uint64 {
	switch r.Syscall {
	case "clone3":
		return clone3Flags & r.Mask
	case "socket":
		return profiles.SocketValue(a[r.Arg]&r.Mask, a[r.Arg+1])
	}
	return a[r.Arg] & r.Mask
}

// TestRecordsArguments runs a process in its own mount namespace as a
// container without a seccomp filter and checks that the recorder keeps,
// for every rule of profiles.ArgRules, the value the rule describes: the
// C side's arg_value and the Go side's rules cannot drift apart unnoticed.
func TestRecordsArguments(t *testing.T) {
	tr := loadTracer(t)

	r := runHelper(t, tr, 1, argHelperEnv)
	abi := profiles.ABIX8664.Index()
	for _, rule := range profiles.ArgRules {
		nr, err := profiles.ABIX8664.SyscallNr(rule.Syscall)
		if err != nil {
			continue // socketcall: not on x86_64
		}
		a, ok := argCalls[rule.Syscall]
		if !ok {
			t.Errorf("%s has an argument rule but no call in argCalls", rule.Syscall)
			continue
		}
		if !slices.Contains(r.Syscalls[abi], nr) {
			t.Errorf("%s (%d) was not recorded", rule.Syscall, nr)
			continue
		}
		want, got := wantArg(rule, a), r.Args[abi][nr]
		if !slices.Contains(got, want) {
			t.Errorf("%s: recorded values %s, want %#x (argument %d, mask %#x)", rule.Syscall, hex(got), want, rule.Arg, rule.Mask)
		}
	}
}

func hex(vs []uint64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%#x", v)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("loading BPF needs root, and CI runs as root")
		}
		t.Skip("loading BPF needs root")
	}
}
