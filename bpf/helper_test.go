package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loadTracer loads the recorder for a test that needs root, and closes it
// when the test ends.
func loadTracer(t *testing.T, opts ...Option) *Tracer {
	t.Helper()
	needRoot(t)
	tr, err := Load(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// readEvents passes each event waiting in the ring buffer to fn, failing
// the test when they are not read in time.
func readEvents(t *testing.T, tr *Tracer, fn func(Event)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for tr.Pending() > 0 {
			e, err := tr.ReadEvent()
			if err != nil {
				t.Error(err)
				return
			}
			fn(e)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reading events timed out")
	}
}

// runHelper runs this test binary as a container without a seccomp filter
// (its own mount namespace, registered as cid with the exec boundary),
// with env=wait set so that its init hook does the helper's work once
// told to, and returns the recording after it exited.
func runHelper(t testing.TB, tr *Tracer, cid uint32, env string) *Recording {
	t.Helper()
	return runHelperAs(t, tr, cid, env, "wait")
}

// runHelperAs is runHelper with env set to value.
func runHelperAs(t testing.TB, tr *Tracer, cid uint32, env, value string) *Recording {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	cmd.Stderr = os.Stderr
	start, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid), &st); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(cid, uint32(st.Ino), 0, true); err != nil {
		t.Fatal(err)
	}
	defer tr.Free(cid)
	if err := tr.Track(cid, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	start.Write([]byte{1})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	r, err := tr.Drain(cid)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
