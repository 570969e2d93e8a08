package complain

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestHandshake(t *testing.T) {
	const rt = 42
	n := func(pid, nr int) Notification { return Notification{Pid: pid, Nr: nr, Arch: unix.AUDIT_ARCH_X86_64} }
	as := func(comm string) func() Who { return func() Who { return Who{Comm: comm, Pid: rt} } }
	type step struct {
		n    Notification
		comm string
		want bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"runc's read", []step{{n(rt, unix.SYS_READ), "runc:[2:INIT]", true}, {n(rt, unix.SYS_READ), "runc:[2:INIT]", true}}},
		{"crun's munmap and kill", []step{{n(rt, unix.SYS_MUNMAP), "crun", true}, {n(rt, unix.SYS_KILL), "crun", true}}},
		{"another task", []step{{n(rt+1, unix.SYS_READ), "crun", false}, {n(rt, unix.SYS_READ), "crun", true}}},
		{"after another call of the runtime's task", []step{{n(rt, unix.SYS_MKDIR), "crun", false}, {n(rt, unix.SYS_READ), "crun", false}}},
		{"the workload's comm", []step{{n(rt, unix.SYS_READ), "sh", false}, {n(rt, unix.SYS_READ), "crun", false}}},
		{"a call the handshake does not make", []step{{n(rt, unix.SYS_WRITE), "crun", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := handshake{pid: rt}
			for i, s := range tc.steps {
				if _, got := h.runtimes(s.n, as(s.comm)); got != s.want {
					t.Errorf("step %d (nr %d by pid %d, comm %q): the runtime's = %v, want %v", i, s.n.Nr, s.n.Pid, s.comm, got, s.want)
				}
			}
		})
	}
	h := handshake{pid: rt}
	for i := range maxHandshake + 1 {
		if _, got := h.runtimes(n(rt, unix.SYS_READ), as("crun")); got != (i < maxHandshake) {
			t.Errorf("read %d: the runtime's = %v, want at most %d", i+1, got, maxHandshake)
		}
	}
	if _, got := (&handshake{}).runtimes(n(0, unix.SYS_READ), as("crun")); got {
		t.Error("a session without a runtime task treats a read as the runtime's")
	}
}

// TestServeLetsTheHandshakeThrough: in report mode, the runtime task's
// read (a thread named as runc's init, read from /proc) is let through and
// not recorded; the workload's read after its mkdir is refused and
// recorded.
func TestServeLetsTheHandshakeThrough(t *testing.T) {
	tid := make(chan int)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		runtime.LockOSThread() // never unlocked: the renamed thread ends with the goroutine
		name := append([]byte("runc:[2:INIT]"), 0)
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0); err != nil {
			t.Error(err)
		}
		tid <- unix.Gettid()
		<-stop
	}()
	pid := <-tid
	src := &fakeSource{answers: map[uint64]int{}, queue: []Notification{
		{ID: 1, Pid: pid, Nr: unix.SYS_READ, Arch: unix.AUDIT_ARCH_X86_64},
		{ID: 2, Pid: pid, Nr: unix.SYS_MKDIR, Arch: unix.AUDIT_ARCH_X86_64},
		{ID: 3, Pid: pid, Nr: unix.SYS_READ, Arch: unix.AUDIT_ARCH_X86_64},
	}}
	m := Metadata{Mode: ModeReport, Errno: int(unix.EPERM)}
	rec := NewRecording("x", "x", "c", ModeReport, time.Unix(0, 0))
	var runtimes []Who
	if err := Serve(src, rec, m, ServeOptions{RuntimePid: pid, Runtime: func(_ Notification, w Who) { runtimes = append(runtimes, w) }}); err != nil {
		t.Fatal(err)
	}
	if src.answers[1] != 0 || src.answers[2] != m.Errno || src.answers[3] != m.Errno {
		t.Errorf("answers %v: want the runtime's read let through, mkdir and the later read refused", src.answers)
	}
	if len(runtimes) != 1 || runtimes[0].Comm != "runc:[2:INIT]" {
		t.Errorf("reported as the runtime's: %+v", runtimes)
	}
	var names []string
	for _, s := range rec.Profile(time.Unix(0, 0), true).Syscalls("x86_64") {
		names = append(names, fmt.Sprintf("%s:%d", s.Name, s.Seen.Count))
	}
	if len(names) != 2 || names[0] != "mkdir:1" || names[1] != "read:1" {
		t.Errorf("recorded %v: want mkdir and the workload's read, once each", names)
	}
}
