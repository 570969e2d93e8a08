package profiler

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// slowRing is a ring buffer whose reader takes a record out (Pending drops
// to 0) and holds it for hold before ReadEvent returns it: the window in
// which the ring is empty but the record is not handled yet.
type slowRing struct {
	*fakeRecorder
	hold    time.Duration
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []bpf.Event
	flushed bool
	closed  bool
}

func newSlowRing(hold time.Duration) *slowRing {
	r := &slowRing{fakeRecorder: newFakeRecorder(), hold: hold}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *slowRing) put(e bpf.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue = append(r.queue, e)
	r.cond.Broadcast()
}

func (r *slowRing) ReadEvent() (bpf.Event, error) {
	r.mu.Lock()
	for len(r.queue) == 0 && !r.flushed && !r.closed {
		r.cond.Wait()
	}
	if len(r.queue) == 0 {
		r.flushed = false
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return bpf.Event{}, bpf.ErrClosed
		}
		return bpf.Event{}, bpf.ErrFlushed
	}
	e := r.queue[0]
	r.queue = r.queue[1:]
	r.mu.Unlock()
	time.Sleep(r.hold)
	return e, nil
}

func (r *slowRing) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

func (r *slowRing) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed = true
	r.cond.Broadcast()
	return nil
}

func (r *slowRing) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cond.Broadcast()
}

// TestServerWaitsForTheLastRecord: a record the container wrote just
// before it exited, still in the event reader's hands when the tracer sees
// the exit, is in the profile (the wait is a handshake with the reader,
// not a fixed sleep: the reader here holds it for longer than the sleep
// that preceded it).
func TestServerWaitsForTheLastRecord(t *testing.T) {
	ring := newSlowRing(300 * time.Millisecond)
	got := make(chan *profiles.Profile, 1)
	s := &Server{Recorder: ring, Ring: ring, Idle: time.Minute, Grace: time.Second, Linger: time.Millisecond,
		MountNamespace: otherNamespace, Peer: ownUser,
		Sink: func(_ Registration, p *profiles.Profile) error { got <- p; return nil }}
	dir := filepath.Join(t.TempDir(), "tracer")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, dir) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		ring.close()
	}()
	c := &Client{Dir: dir, Timeout: 5 * time.Second}
	for ; ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, socketName)); err == nil {
			break
		}
	}
	cmd := exec.Command("sleep", "0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	// write (1), first made by "last", just before the exit.
	ring.put(bpf.Event{Container: 0, Kind: bpf.EventSyscall, Nr: 1, Comm: "last", Exe: "last"})
	res, err := c.Wait(context.Background(), "c")
	if err != nil || !res.Complete {
		t.Fatalf("Wait = %+v, %v", res, err)
	}
	p := <-got
	if sc, ok := p.Syscall(profiles.ABIX8664, "write"); !ok || sc.Seen.Comm != "last" {
		t.Errorf("write seen %+v (found %v), want first seen by \"last\": the last record was not waited for", sc.Seen, ok)
	}
}
