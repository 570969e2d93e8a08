package profiler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// fakeRecorder stands in for the kernel side: every registered container
// "saw" read and write on x86_64, socket(AF_INET, SOCK_STREAM), and a
// granted CAP_CHOWN check.
type fakeRecorder struct {
	mu     sync.Mutex
	slots  map[uint32]bool
	scopes []uint32 // the scope of each Register, in order
	freed  []uint32
	events chan bpf.Event
}

func newFakeRecorder() *fakeRecorder {
	return &fakeRecorder{slots: map[uint32]bool{}, events: make(chan bpf.Event, 16)}
}

func (f *fakeRecorder) Register(cid, mntns, scope uint32, execBoundary bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slots[cid] = true
	f.scopes = append(f.scopes, scope)
	f.events <- bpf.Event{Container: cid, Kind: bpf.EventSyscall, ABI: 0, Nr: 0, Comm: "cat", Exe: "cat"}
	return nil
}
func (f *fakeRecorder) Capacity() uint32         { return 64 }
func (f *fakeRecorder) Track(uint32, int) error  { return nil }
func (f *fakeRecorder) Live(uint32) (int, error) { return 0, nil }
func (f *fakeRecorder) ReadEvent() (bpf.Event, error) {
	e, ok := <-f.events
	if !ok {
		return bpf.Event{}, bpf.ErrClosed
	}
	return e, nil
}
func (f *fakeRecorder) Free(cid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.slots, cid)
	f.freed = append(f.freed, cid)
	return nil
}
func (f *fakeRecorder) Drain(cid uint32) (*bpf.Recording, error) {
	r := &bpf.Recording{CapsGranted: 1 << 0}
	r.Syscalls[0] = []int{0, 1, 41}
	for i := range r.Args {
		r.Args[i] = map[int][]uint64{}
		r.ArgOverflow[i] = map[int]bool{}
	}
	r.Args[0][41] = []uint64{profiles.SocketValue(2, 1)}
	return r, nil
}

// ownUser is the peer check of test servers: the test's own user, so
// that unit tests run without root (the production check, rootOnly, is
// tested on its own).
func ownUser(uid uint32) error {
	if int(uid) != os.Geteuid() {
		return fmt.Errorf("%w: the peer is uid %d, the test runs as %d", ErrForbidden, uid, os.Geteuid())
	}
	return nil
}

func startServer(t *testing.T, sink Sink, mntns func(int) (uint32, error), opts ...func(*Server)) (*Client, *fakeRecorder) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tracer")
	rec := newFakeRecorder()
	s := &Server{Recorder: rec, Sink: sink, Idle: time.Minute, Grace: time.Second, Linger: time.Millisecond, MountNamespace: mntns,
		Peer: ownUser}
	for _, o := range opts {
		o(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, dir) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		close(rec.events)
	})
	c := &Client{Dir: dir, Timeout: 5 * time.Second}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(dir, socketName)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not listen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, rec
}

// otherNamespace pretends every process but the test's own has its own
// mount namespace.
func otherNamespace(pid int) (uint32, error) {
	if pid == os.Getpid() {
		return 1, nil
	}
	return uint32(pid), nil
}

func TestServerLearnsAndWritesProfile(t *testing.T) {
	var mu sync.Mutex
	var got []*profiles.Profile
	var outs []string
	sink := func(reg Registration, p *profiles.Profile) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		outs = append(outs, string(reg.Outputs))
		return nil
	}
	c, rec := startServer(t, sink, otherNamespace)
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := Registration{ContainerID: "c1", Pid: cmd.Process.Pid, Runtime: "runc", Outputs: json.RawMessage(`{"profile":"/x"}`)}
	if err := c.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, reg); err == nil || !strings.Contains(err.Error(), "already being learned") {
		t.Fatalf("second Register = %v, want already being learned", err)
	}
	go cmd.Wait()
	res, err := c.Wait(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Syscalls != 3 || res.Capabilities != 1 || res.Error != "" {
		t.Fatalf("result = %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || outs[0] != `{"profile":"/x"}` {
		t.Fatalf("sink got %d profiles, outputs %v", len(got), outs)
	}
	p := got[0]
	if names := p.SyscallNames(profiles.ABIX8664); strings.Join(names, ",") != "read,socket,write" {
		t.Errorf("syscalls = %v", names)
	}
	if s, _ := p.Syscall(profiles.ABIX8664, "socket"); s.Args == nil || len(s.Args.Values) != 1 {
		t.Errorf("socket args = %+v", s.Args)
	}
	if caps := p.GrantedCapabilities(); len(caps) != 1 || caps[0] != "CAP_CHOWN" {
		t.Errorf("caps = %v", caps)
	}
	if p.Source.ContainerID != "c1" || p.Source.Runtime != "runc" || p.Source.SyscallBoundary != "seccomp" {
		t.Errorf("source = %+v", p.Source)
	}
	if len(rec.freed) != 1 {
		t.Errorf("freed %v, want one slot", rec.freed)
	}
	// The result stays available to a late waiter.
	if res, err := c.Wait(ctx, "c1"); err != nil || res.Syscalls != 3 {
		t.Errorf("late Wait = %+v, %v", res, err)
	}
}

func TestServerRefusesHostMountNamespace(t *testing.T) {
	c, _ := startServer(t, func(Registration, *profiles.Profile) error { return nil },
		func(int) (uint32, error) { return 7, nil })
	err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: os.Getpid()})
	if err == nil || !strings.Contains(err.Error(), "mount namespace") {
		t.Fatalf("Register = %v, want the shared mount namespace refused", err)
	}
}

func TestServerReportsSinkErrors(t *testing.T) {
	c, _ := startServer(t, func(Registration, *profiles.Profile) error { return errors.New("disk full") }, otherNamespace)
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	res, err := c.Wait(context.Background(), "c")
	if err != nil || res.Error != "disk full" {
		t.Fatalf("Wait = %+v, %v; want the sink's error", res, err)
	}
}

func TestClientWithoutTracer(t *testing.T) {
	c := &Client{Dir: t.TempDir(), Timeout: time.Second}
	if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: 1}); !errors.Is(err, ErrNoTracer) {
		t.Fatalf("Register = %v, want ErrNoTracer", err)
	}
}

// TestServerShutdownAnswersWaiters stops the tracer while a container is
// being learned: the container's profile is still written, its waiter
// answered, and new registrations are refused meanwhile.
func TestServerShutdownAnswersWaiters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tracer")
	rec := newFakeRecorder()
	wrote := make(chan struct{}, 1)
	s := &Server{Recorder: rec, Idle: time.Minute, Grace: time.Second, Linger: 500 * time.Millisecond,
		MountNamespace: otherNamespace, Peer: ownUser,
		Sink: func(Registration, *profiles.Profile) error { wrote <- struct{}{}; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, dir) }()
	defer close(rec.events)
	c := &Client{Dir: dir, Timeout: 5 * time.Second}
	for ; ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, socketName)); err == nil {
			break
		}
	}
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	other := exec.Command("sleep", "1")
	other.Start()
	defer other.Process.Kill()
	short := &Client{Dir: dir, Timeout: 200 * time.Millisecond}
	if err := short.Register(context.Background(), Registration{ContainerID: "d", Pid: other.Process.Pid}); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Register while stopping = %v, want shutting down", err)
	}
	res, err := c.Wait(context.Background(), "c")
	if err != nil || res.Syscalls != 3 {
		t.Fatalf("Wait while stopping = %+v, %v", res, err)
	}
	<-wrote
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, socketName)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}
