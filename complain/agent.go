package complain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles"
)

// The agent's files in the tracer's directory.
const (
	SocketName = "notify.sock"
	LogName    = "notify.log"
	lockName   = "notify.lock"
	// sessionsDir holds one file per container being served, so that an
	// agent that starts after one died can report the containers it left.
	sessionsDir = "notify.sessions"
)

// Defaults of an Agent.
const (
	DefaultIdle        = 10 * time.Minute
	DefaultMaxSessions = 256
	// DefaultMaxPerContainer: a container's own session and 15 exec
	// sessions at once (a HEALTHCHECK that hangs piles them up).
	DefaultMaxPerContainer = 16
	readTimeout            = 5 * time.Second
	maxFds                 = 4
)

// ping is what the hook sends to check that the agent answers.
var ping, pong = []byte("tailor-ping\n"), []byte("tailor-pong\n")

// Agent serves seccomp notify fds from runtimes on Dir/notify.sock.
type Agent struct {
	Dir string
	// Store is where named recordings go (NAME.violations).
	Store *profiles.Store
	// Idle: the agent exits when it has served nothing for this long
	// (negative: never).
	Idle time.Duration
	// MaxSessions bounds the containers served at once; their exec
	// sessions count against MaxPerContainer, not against it, so that
	// one container's exec sessions cannot take other containers' slots.
	MaxSessions int
	Log         *log.Logger
	// Peer decides who may connect (default: root only).
	Peer func(uid uint32) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tracer is the shared tracer, which records the capability checks of
	// the containers the complain hook registered (default: the one in
	// Dir, not started by the agent).
	Tracer *profiler.Client

	// MaxPerContainer bounds the sessions served at once for one
	// container: its own and its exec sessions (see container).
	MaxPerContainer int

	mu         sync.Mutex
	sessions   int
	last       time.Time
	containers map[string]*container // by container id, guarded by mu
}

func rootOnly(uid uint32) error {
	if uid != 0 {
		return fmt.Errorf("uid %d is not root: only a runtime run by root may hand over a notify fd", uid)
	}
	return nil
}

// Run serves until ctx ends or the agent has been idle for a.Idle. One
// agent per directory runs: the lock file decides.
func (a *Agent) Run(ctx context.Context) error {
	a.defaults()
	if err := profiler.CheckDir(a.Dir); err != nil {
		return err
	}
	lock, err := profiler.OpenPrivate(filepath.Join(a.Dir, lockName), os.O_RDWR|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("open agent lock: %w", err)
	}
	defer lock.Close()
	if err := profiler.Acquire(lock, 5*time.Second); err != nil {
		return err
	}
	a.reportOrphans()
	sock := filepath.Join(a.Dir, SocketName)
	os.Remove(sock) // a stale socket of an agent that died; we hold the lock
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	ln.SetUnlinkOnClose(true)
	defer ln.Close()
	if err := os.Chmod(sock, 0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", sock, err)
	}
	a.Log.Printf("agent: serving %s", sock)
	wire.NotifyReady()
	var wg sync.WaitGroup
	defer wg.Wait()
	go a.stopWhenIdle(ctx, ln)
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		a.touch(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serve(conn)
		}()
	}
}

func (a *Agent) defaults() {
	if a.Idle == 0 {
		a.Idle = DefaultIdle
	}
	if a.MaxSessions == 0 {
		a.MaxSessions = DefaultMaxSessions
	}
	if a.MaxPerContainer == 0 {
		a.MaxPerContainer = DefaultMaxPerContainer
	}
	a.containers = map[string]*container{}
	if a.Log == nil {
		a.Log = log.New(os.Stderr, "tailor: ", log.LstdFlags)
	}
	if a.Peer == nil {
		a.Peer = rootOnly
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Store == nil {
		a.Store = profiles.NewStore("")
	}
	if a.Tracer == nil {
		a.Tracer = &profiler.Client{Dir: a.Dir, Timeout: readTimeout}
	}
	a.last = a.Now()
}

// touch records activity and changes the number of sessions by delta.
func (a *Agent) touch(delta int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions += delta
	a.last = a.Now()
}

func (a *Agent) stopWhenIdle(ctx context.Context, ln *net.UnixListener) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			ln.Close()
			return
		case <-tick.C:
		}
		a.mu.Lock()
		idle := a.Idle > 0 && a.sessions == 0 && a.Now().Sub(a.last) >= a.Idle
		a.mu.Unlock()
		if idle {
			a.Log.Printf("agent: idle for %s, exiting", a.Idle)
			ln.Close()
			return
		}
	}
}

// serve reads one message: the hook's ping, or a runtime's process state
// with the notify fd.
func (a *Agent) serve(conn *net.UnixConn) {
	defer conn.Close()
	uid, err := profiler.PeerUID(conn)
	if err == nil {
		err = a.Peer(uid)
	}
	if err != nil {
		a.Log.Printf("agent: refused a connection: %v", err)
		return
	}
	conn.SetReadDeadline(time.Now().Add(readTimeout))
	data, files, err := readMessage(conn)
	if err != nil {
		closeFiles(files)
		a.Log.Printf("agent: %v", err)
		return
	}
	if bytes.Equal(data, ping) && len(files) == 0 {
		conn.SetWriteDeadline(time.Now().Add(readTimeout))
		conn.Write(pong)
		return
	}
	st, at, err := parseState(data, len(files))
	if err != nil {
		closeFiles(files)
		a.Log.Printf("agent: %v", err)
		return
	}
	notify := files[at]
	files[at] = nil
	closeFiles(files)
	defer notify.Close()
	m, err := ParseMetadata(st.Metadata)
	if err != nil {
		a.Log.Printf("agent: container %q: %v: its notified syscalls fail with ENOSYS", st.State.ID, err)
		return
	}
	a.serveSession(st, m, &fdSource{f: notify})
}

// readMessage reads one datagram-like message of at most MaxMessage bytes
// (a runtime sends its state in one sendmsg, then closes) with at most
// maxFds handles.
func readMessage(conn *net.UnixConn) ([]byte, []*os.File, error) {
	buf := make([]byte, MaxMessage+1)
	oob := make([]byte, unix.CmsgSpace(4*maxFds))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	var files []*os.File
	if oobn > 0 {
		got, perr := profiler.ParseRights(oob[:oobn])
		files = got
		if perr != nil {
			return nil, files, fmt.Errorf("%w: %w", ErrBadMessage, perr)
		}
	}
	switch {
	case flags&unix.MSG_CTRUNC != 0:
		return nil, files, fmt.Errorf("%w: more than %d handles", ErrBadMessage, maxFds)
	case err != nil && !errors.Is(err, io.EOF):
		return nil, files, fmt.Errorf("%w: read: %w", ErrBadMessage, err)
	case n > MaxMessage:
		return nil, files, fmt.Errorf("%w: more than %d bytes", ErrBadMessage, MaxMessage)
	}
	data := buf[:n]
	// A runtime may write the state in more than one piece: read on up
	// to the bound, without more handles.
	for !bytes.Equal(data, ping) && len(files) > 0 && !json.Valid(data) {
		m, err := conn.Read(buf[len(data):])
		data = buf[:len(data)+m]
		if err != nil || m == 0 || len(data) > MaxMessage {
			break
		}
	}
	return data, files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// checkpoint says whether the partial recording is written again once it
// holds entries distinct violations: each of the first 64, then at each
// power of two, so that what an agent that dies has seen is on disk
// without rewriting a large recording for every new entry.
func checkpoint(entries int) bool {
	return entries <= 64 || entries&(entries-1) == 0
}

// ServeOptions are what Serve does besides answering and recording.
type ServeOptions struct {
	// RuntimePid is the task the runtime named in its message: its
	// handshake calls (see handshakeCalls) are let through, not recorded.
	RuntimePid int
	// Runtime, when not nil, is called with each of them.
	Runtime func(n Notification, who Who)
	// Added, when not nil, is called with the number of distinct
	// violations after one not seen before was recorded, before it is
	// answered.
	Added func(entries int)
}

// Serve answers notifications from src until it ends: each is recorded in
// rec, then let through (complain) or refused with m.Errno (report); the
// runtime's own handshake calls are let through and not recorded.
func Serve(src Source, rec *Recording, m Metadata, opts ServeOptions) error {
	hs := handshake{pid: opts.RuntimePid}
	for {
		n, err := src.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if who, ok := hs.runtimes(n, func() Who { return whoIs(src, n) }); ok {
			if opts.Runtime != nil {
				opts.Runtime(n, who)
			}
			if err := src.Continue(n.ID); err != nil {
				return err
			}
			continue
		}
		switch isNew, err := rec.Add(n, func() Who { return whoIs(src, n) }); {
		case err != nil:
			rec.Lose(err.Error())
		case isNew && opts.Added != nil:
			opts.Added(rec.Entries())
		}
		if m.Mode == ModeReport {
			err = src.Fail(n.ID, m.Errno)
		} else {
			err = src.Continue(n.ID)
		}
		if err != nil {
			return err
		}
	}
}

// whoIs reads the notified task's comm and exe from /proc, and keeps them
// only if the notification is still pending afterwards: otherwise the pid
// may already name another task.
func whoIs(src Source, n Notification) Who {
	dir := "/proc/" + strconv.Itoa(n.Pid)
	comm, _ := readSmall(dir + "/comm")
	exe, _ := os.Readlink(dir + "/exe")
	if !src.Valid(n.ID) {
		return Who{}
	}
	return Who{Comm: strings.TrimSuffix(comm, "\n"), Exe: exe, Pid: n.Pid}
}

func readSmall(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	return string(buf[:max(n, 0)]), err
}
