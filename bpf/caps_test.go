package bpf

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// capsHelperEnv selects the capability helper's phase (see capsHelper).
const capsHelperEnv = "TAILOR_BPF_CAPS_HELPER"

func init() {
	if os.Getenv(capsHelperEnv) != "" {
		runtime.LockOSThread() // capset changes this thread's credentials only
	}
	switch os.Getenv(capsHelperEnv) {
	case "wait":
		os.Stdin.Read(make([]byte, 1))
		// A pending check, kept at the final execve (record_caps from
		// sched_process_exec): CAP_SYS_ADMIN granted.
		unix.Unshare(unix.CLONE_NEWUTS)
		os.Setenv(capsHelperEnv, "call")
		exe, _ := os.Executable()
		fmt.Fprintln(os.Stderr, syscall.Exec(exe, os.Args, os.Environ()))
		os.Exit(2)
	case "call":
		// Active checks (record_caps from the capability hook):
		// CAP_SYSLOG granted, CAP_SYS_CHROOT denied.
		unix.Klogctl(9, nil) // SYSLOG_ACTION_SIZE_UNREAD: a CAP_SYSLOG check
		dropEffective(unix.CAP_SYS_CHROOT)
		unix.Chroot("/")
		os.Exit(0)
	}
}

func dropEffective(c int) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		panic(err)
	}
	data[c/32].Effective &^= 1 << (c % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		panic(err)
	}
}

// TestRecordsCapabilities checks capability checks made before the final
// execve and after it: each one is in the recording, and the events are
// one per recorded capability and result, no more.
func TestRecordsCapabilities(t *testing.T) {
	tr := loadTracer(t)

	const cid = 2
	r := runHelper(t, tr, cid, capsHelperEnv)
	for _, c := range []struct {
		caps    uint64
		cap     int
		granted bool
	}{
		{r.CapsGranted, unix.CAP_SYS_ADMIN, true},
		{r.CapsGranted, unix.CAP_SYSLOG, true},
		{r.CapsDenied, unix.CAP_SYS_CHROOT, false},
	} {
		if c.caps&(1<<c.cap) == 0 {
			t.Errorf("capability %d (granted %v) not recorded: granted %#x, denied %#x", c.cap, c.granted, r.CapsGranted, r.CapsDenied)
		}
	}
	var granted, denied uint64
	readEvents(t, tr, func(e Event) {
		if e.Container != cid || e.Kind != EventCap {
			return
		}
		bit := uint64(1) << e.Nr
		p := &denied
		if e.Value == 1 {
			p = &granted
		}
		if *p&bit != 0 {
			t.Errorf("capability %d (value %d): a second event", e.Nr, e.Value)
		}
		*p |= bit
	})
	if granted != r.CapsGranted || denied != r.CapsDenied {
		t.Errorf("events: granted %#x, denied %#x; recording: granted %#x, denied %#x", granted, denied, r.CapsGranted, r.CapsDenied)
	}
}
