package profiler

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/profiles"
)

// runAdoptable starts a server whose Adopted check the test sets, and
// returns a client and a channel that receives Run's error (closed after).
func runAdoptable(t *testing.T, adopted *atomic.Bool) (*Client, <-chan error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tracer")
	rec := newFakeRecorder()
	s := &Server{Recorder: rec, Idle: time.Minute, Grace: time.Second, Linger: 2 * time.Second,
		MountNamespace: otherNamespace, Adopted: adopted.Load, Peer: ownUser,
		Sink: func(Registration, *profiles.Profile) error { return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, dir); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		close(rec.events)
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, socketName)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not listen")
		}
	}
	return &Client{Dir: dir, Timeout: 5 * time.Second}, done
}

// TestServerAdoptedStopsWhenIdle: a tracer adopted by a subreaper (crun
// waits for it) exits as soon as its last container is done, without
// idling or lingering (Linger is 2s), and the waiter still gets its
// result; one that was not adopted keeps running.
func TestServerAdoptedStopsWhenIdle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		adopted bool
	}{
		{name: "adopted", adopted: true},
		{name: "parent or init", adopted: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var adopted atomic.Bool
			c, done := runAdoptable(t, &adopted)
			cmd := exec.Command("sleep", "0.2")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go cmd.Wait()
			if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: cmd.Process.Pid}); err != nil {
				t.Fatal(err)
			}
			adopted.Store(tc.adopted) // the hook that started the tracer exited
			res, err := c.Wait(context.Background(), "c")
			if err != nil || res.Syscalls != 3 {
				t.Fatalf("Wait = %+v, %v", res, err)
			}
			select {
			case err := <-done:
				if !tc.adopted {
					t.Fatalf("Run returned %v after its container; want it idling for Idle", err)
				}
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Second):
				if tc.adopted {
					t.Fatal("adopted tracer still runs 1s after its last container")
				}
			}
		})
	}
}

// TestServerAdoptedWithoutContainer: a hook that started the tracer and
// exited without registering leaves it adopted with nothing to learn; it
// stops within the check interval, not after Idle.
func TestServerAdoptedWithoutContainer(t *testing.T) {
	var adopted atomic.Bool
	_, done := runAdoptable(t, &adopted)
	adopted.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(adoptedCheck + 2*time.Second):
		t.Fatal("adopted idle tracer did not stop")
	}
}

func TestAdoptedBySubreaperNotForFirstParent(t *testing.T) {
	if adoptedBySubreaper()() {
		t.Errorf("a process whose parent is the one that started it counts as adopted (ppid %d)", os.Getppid())
	}
}
