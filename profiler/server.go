package profiler

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles"
)

// Sink writes a finished profile where its registration asked.
type Sink func(reg Registration, p *profiles.Profile) error

// Recorder is the kernel side the server drives (bpf.Tracer).
type Recorder interface {
	// Capacity is how many containers fit: slots 0 to Capacity()-1.
	Capacity() uint32
	// Register starts recording slot cid; scope (0 to Capacity()-1)
	// groups the containers that share one quota of the recorder's maps.
	Register(cid, mntns, scope uint32, execBoundary bool) error
	Track(cid uint32, pid int) error
	Live(cid uint32) (int, error)
	Drain(cid uint32) (*bpf.Recording, error)
	Free(cid uint32) error
	ReadEvent() (bpf.Event, error)
}

// Ring is the event ring buffer as the server needs it to know that the
// event reader has handled everything written to it.
type Ring interface {
	// Pending is how many bytes the ring holds that the reader has not
	// taken (records reserved and not written yet included).
	Pending() int
	// Flush makes a reader blocked on an empty ring return
	// (ReadEvent: bpf.ErrFlushed).
	Flush() error
}

// Server is the shared tracer: one set of BPF programs for every container
// being learned on the host.
type Server struct {
	Recorder Recorder
	Sink     Sink
	Idle     time.Duration
	Grace    time.Duration
	// Linger is how long a stopping tracer still answers (DefaultLinger).
	Linger time.Duration
	// Ring, when set, is the ring buffer ReadEvent reads (bpf.Tracer):
	// a container's profile waits until the event reader has handled
	// every record the ring held when the container's last task exited.
	Ring Ring
	// MountNamespace returns a process's mount namespace (tests replace it).
	MountNamespace func(pid int) (uint32, error)
	// Peer decides whether a connecting uid may talk to the tracer
	// (default: root only).
	Peer func(uid uint32) error
	// ScopeShare is the fraction of container slots one Kubernetes
	// namespace may hold (default bpf.DefaultScopeShare, the share of
	// the recorder's task and object maps each scope has), so that no
	// namespace can starve the others.
	ScopeShare float64
	// Adopted reports whether a process that waits for the tracer's exit
	// has adopted it (default: a subreaper that is not init, such as
	// crun). An adopted tracer stops as soon as it has nothing to learn
	// instead of idling for Idle, so that the runtime can return.
	Adopted func() bool

	mu      sync.Mutex
	caught  []chan struct{} // waiters for the event reader to catch up
	byID    map[string]*container
	bySlot  map[uint32]*container
	scopes  map[string]*scopeID // by Registration.Scope, while in use
	results map[string]*Result
	order   []kept // results, oldest first, for pruning
	conns   chan struct{}
	active  int           // containers being learned
	closing bool          // refusing new containers
	idle    chan struct{} // nudged whenever active drops to zero
}

// scopeID is the recorder's index of a scope and how many containers
// being learned are in it.
type scopeID struct {
	id    uint32
	users int
}

type container struct {
	reg   Registration
	slot  uint32
	scope uint32 // scopeID.id of reg.Scope
	start time.Time
	prov  provenance
	touch *touches // what it touched (readEvents adds, finish takes)
	stat  Status
	done  chan struct{}
}

// Run serves on a unix socket in dir until ctx ends or the tracer has been
// idle for s.Idle. Only one tracer per dir runs: the lock file decides.
func (s *Server) Run(ctx context.Context, dir string) error {
	if err := checkDir(dir); err != nil {
		return err
	}
	lock, err := openPrivate(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("open tracer lock: %w", err)
	}
	defer lock.Close()
	if err := acquire(lock, lockWait); err != nil {
		return err
	}
	sock := filepath.Join(dir, socketName)
	os.Remove(sock) // a stale socket from a tracer that died; we hold the lock
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	// Unlink before the lock is released, so that a new tracer never
	// finds our socket.
	ln.SetUnlinkOnClose(true)
	defer ln.Close()
	s.init()
	go s.readEvents()
	wire.NotifyReady() // to the hook or tailor learn that started it, if one did
	go func() {
		adopted := s.waitIdle(ctx)
		if adopted {
			log.Printf("tracer: stopping: adopted by a subreaper that waits for it, and no container is being learned")
		}
		s.shutdown(adopted)
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		select {
		case s.conns <- struct{}{}:
			go func() {
				defer func() { <-s.conns }()
				s.serve(conn.(*net.UnixConn))
			}()
		default:
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			writeResponse(conn, errorResponse(fmt.Errorf("%w: %d connections are open", ErrBusy, MaxConnections)))
			conn.Close()
		}
	}
}

// DefaultLinger is how long a stopping tracer keeps answering after its
// last container is done: the learning run asking for its result right
// after its runtime exited must not find a new, empty tracer.
const DefaultLinger = 2 * time.Second

// shutdown refuses new containers, lets those being learned finish (their
// waiters get their results) and lingers for late waiters. An adopted
// tracer has no late waiters (its runtime returns only after it exits): it
// stays only until the connections still open are answered.
func (s *Server) shutdown(adopted bool) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.drainAll()
	if !adopted {
		time.Sleep(s.Linger)
		return
	}
	for end := time.Now().Add(s.Linger); len(s.conns) > 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
}

// lockWait is how long a new tracer waits for an old one that is shutting
// down (idle) to release the lock.
const lockWait = 5 * time.Second

func acquire(lock *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return fmt.Errorf("another tracer holds %s: %w", lock.Name(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) init() {
	s.byID = map[string]*container{}
	s.scopes = map[string]*scopeID{}
	s.bySlot = map[uint32]*container{}
	s.results = map[string]*Result{}
	s.idle = make(chan struct{}, 1)
	if s.Idle == 0 {
		s.Idle = DefaultIdle
	}
	if s.Grace == 0 {
		s.Grace = DefaultGrace
	}
	if s.Linger == 0 {
		s.Linger = DefaultLinger
	}
	if s.MountNamespace == nil {
		s.MountNamespace = mountNamespace
	}
	if s.Peer == nil {
		s.Peer = rootOnly
	}
	if s.ScopeShare == 0 {
		s.ScopeShare = bpf.DefaultScopeShare
	}
	if s.Adopted == nil {
		s.Adopted = adoptedBySubreaper()
	}
	s.conns = make(chan struct{}, MaxConnections)
}

// adoptedCheck is how often an idle tracer looks whether it was adopted:
// a hook that started it may exit without registering a container.
const adoptedCheck = time.Second

// waitIdle returns when ctx ends, nothing was learned for s.Idle, or the
// tracer was adopted (s.Adopted) and has nothing to learn; it reports the
// last.
func (s *Server) waitIdle(ctx context.Context) (adopted bool) {
	t := time.NewTimer(s.Idle)
	defer t.Stop()
	check := time.NewTicker(adoptedCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-s.idle:
			if s.Adopted() && s.closeIfIdle() {
				return true
			}
			t.Reset(s.Idle)
		case <-check.C:
			if s.Adopted() && s.closeIfIdle() {
				return true
			}
		case <-t.C:
			if s.closeIfIdle() {
				return false
			}
			t.Reset(s.Idle)
		}
	}
}

// closeIfIdle stops taking containers if none is being learned. Deciding
// and closing under one lock means a registration cannot slip in between.
func (s *Server) closeIfIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active > 0 {
		return false
	}
	s.closing = true
	return true
}

// drainAll waits for the containers still being learned: their profiles
// are written before the tracer exits.
func (s *Server) drainAll() {
	s.mu.Lock()
	var waits []chan struct{}
	for _, c := range s.byID {
		waits = append(waits, c.done)
	}
	s.mu.Unlock()
	for _, w := range waits {
		<-w
	}
}

// ErrSharedMountNamespace refuses a container that shares the tracer's
// mount namespace: scoping by namespace would record the whole host.
var ErrSharedMountNamespace = errors.New("container shares the host's mount namespace; tailor scopes containers by mount namespace (give the container its own: linux.namespaces type mount)")

func (s *Server) register(reg Registration) error {
	ok := false
	defer func() {
		if !ok {
			closeAll(reg.Files)
		}
	}()
	if reg.ContainerID == "" || reg.Pid <= 0 {
		return fmt.Errorf("%w: register: containerID and pid are required", ErrBadRequest)
	}
	mntns, err := s.MountNamespace(reg.Pid)
	if err != nil {
		return err
	}
	self, err := s.MountNamespace(os.Getpid())
	if err != nil {
		return err
	}
	if mntns == self {
		return ErrSharedMountNamespace
	}
	pidfd, err := unix.PidfdOpen(reg.Pid, 0)
	if err != nil {
		return fmt.Errorf("open pidfd of container init %d: %w", reg.Pid, err)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		unix.Close(pidfd)
		return ErrShuttingDown
	}
	if old, ok := s.byID[reg.ContainerID]; ok {
		s.mu.Unlock()
		unix.Close(pidfd)
		return fmt.Errorf("container %q is already being learned (init pid %d)", reg.ContainerID, old.reg.Pid)
	}
	if err := s.scopeRoom(reg.Scope); err != nil {
		s.mu.Unlock()
		unix.Close(pidfd)
		return err
	}
	slot, free := s.freeSlot()
	if !free {
		s.mu.Unlock()
		unix.Close(pidfd)
		return fmt.Errorf("%w: %d containers are being learned", bpf.ErrCapacity, len(s.bySlot))
	}
	c := &container{reg: reg, slot: slot, scope: s.takeScope(reg.Scope), start: time.Now().UTC(), prov: provenance{}, touch: newTouches(), done: make(chan struct{})}
	s.byID[reg.ContainerID] = c
	s.bySlot[slot] = c
	delete(s.results, reg.ContainerID)
	s.active++
	s.mu.Unlock()

	err = s.Recorder.Register(slot, mntns, c.scope, reg.ExecBoundary)
	if err == nil {
		err = s.Recorder.Track(slot, reg.Pid)
	}
	if err != nil {
		unix.Close(pidfd)
		s.forget(c, nil)
		return fmt.Errorf("register container %q: %w", reg.ContainerID, err)
	}
	ok = true // the files are the container's now: closed when it is done
	go s.watch(c, pidfd)
	return nil
}

// scopeRoom checks that a Kubernetes namespace holds less than its share
// of the slots; the host scope ("") is the operator's and has no quota of
// slots (its share of the recorder's maps it has, as every scope).
func (s *Server) scopeRoom(scope string) error {
	if scope == "" {
		return nil
	}
	limit := max(1, int(float64(s.Recorder.Capacity())*s.ScopeShare))
	n := 0
	for _, c := range s.byID {
		if c.reg.Scope == scope {
			n++
		}
	}
	if n >= limit {
		return fmt.Errorf("%w: namespace %s has %d containers being learned, its share of the tracer's %d slots", ErrQuota, scope, n, s.Recorder.Capacity())
	}
	return nil
}

// takeScope returns the recorder's index of scope (the host's, "", is one
// too), giving it the lowest one not in use when no container being learned
// is in it. Called with s.mu held and a slot free: fewer scopes than slots
// are in use, so an index below Capacity is free.
func (s *Server) takeScope(scope string) uint32 {
	if sc, ok := s.scopes[scope]; ok {
		sc.users++
		return sc.id
	}
	used := map[uint32]bool{}
	for _, sc := range s.scopes {
		used[sc.id] = true
	}
	var id uint32
	for used[id] {
		id++
	}
	s.scopes[scope] = &scopeID{id: id, users: 1}
	return id
}

// dropScope releases a container's hold on its scope's index (s.mu held),
// after the recorder freed the container.
func (s *Server) dropScope(scope string) {
	if sc, ok := s.scopes[scope]; ok {
		if sc.users--; sc.users <= 0 {
			delete(s.scopes, scope)
		}
	}
}

func (s *Server) freeSlot() (uint32, bool) {
	for i := range s.Recorder.Capacity() {
		if _, used := s.bySlot[i]; !used {
			return i, true
		}
	}
	return 0, false
}

func mountNamespace(pid int) (uint32, error) {
	var st unix.Stat_t
	path := fmt.Sprintf("/proc/%d/ns/mnt", pid)
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("read mount namespace of pid %d: %w", pid, err)
	}
	return uint32(st.Ino), nil
}
