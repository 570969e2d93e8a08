package complain

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A runtime hands the agent a notify fd for every process it starts in a
// container with a listener filter: the container's own (its init, at
// create) and one per exec (runc exec, crun exec, Docker's HEALTHCHECK,
// whose command and interval the image's author chooses). All carry the
// container's id. The agent serves them as one container: one recording,
// one journal, one partial recording, written when the last of its
// sessions ends; denied capability checks are read once, by the own
// session. Exec sessions count against MaxPerContainer, never against the
// MaxSessions slots other containers need.

// isOwn tells the container's own session from an exec session. runc 1.1
// sends its init's state as "creating" with pid the init's (pid and
// state.pid equal), an exec's as "running" with pid the exec'd process and
// state.pid the container's init (libcontainer/process_linux.go,
// setnsProcess). crun 1.8 sends "creating" from its init and "running"
// from an exec, pid and state.pid both the sender's own
// (src/libcrun/container.c, get_seccomp_receiver_fd_payload; for an exec
// crun 1.8.1 sends pid 0, checked by TestComplainExec).
func isOwn(st *processState) bool {
	return st.State.Status == specs.StateCreating && st.Pid > 0 && st.Pid == st.State.Pid
}

// container is what the agent serves for one container id.
type container struct {
	id string
	m  Metadata
	// recorded: its own session is served and its recording goes where m
	// says; a container the agent knows only from exec sessions (its own
	// session was served by an agent that stopped) has its violations
	// answered and logged, not recorded.
	recorded bool
	rec      *Recording
	// ready is closed once the own session has opened out and the journal.
	ready chan struct{}

	// guarded by Agent.mu
	sessions, execs int
	closing         bool

	mu      sync.Mutex // serializes the writes of out
	out     *output
	where   string
	journal func()
}

// attach adds a session to the container it belongs to, creating it for
// its own session or for an exec session of a container the agent does
// not serve. It refuses a session beyond the limits, and an own session
// for a container that is already served (a runtime never sends two).
func (a *Agent) attach(st *processState, m Metadata, own bool) (*container, bool, error) {
	id := st.State.ID
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.containers[id]
	switch {
	case c != nil && own:
		return nil, false, fmt.Errorf("it is already served (a second own session under the same id, pid %d)", st.Pid)
	case c != nil && c.closing:
		return nil, false, fmt.Errorf("its recording is being written (an exec session after the container ended, pid %d)", st.Pid)
	case c != nil && c.sessions >= a.MaxPerContainer:
		return nil, false, fmt.Errorf("%d sessions of it (its own and exec sessions) are already served: this exec session's (pid %d)",
			c.sessions, st.Pid)
	case c != nil && c.m != m:
		return nil, false, fmt.Errorf("an exec session (pid %d) carries other listenerMetadata than the container's", st.Pid)
	case c != nil:
		c.sessions++
		c.execs++
		return c, false, nil
	case len(a.containers) >= a.MaxSessions:
		return nil, false, fmt.Errorf("%d containers are already served", a.MaxSessions)
	}
	c = &container{id: id, m: m, recorded: own, sessions: 1, ready: make(chan struct{}), journal: func() {}}
	if !own {
		c.execs = 1
	}
	a.containers[id] = c
	return c, true, nil
}

// release ends a session of c and reports whether it was the last one;
// the caller then writes c's recording and calls forget.
func (a *Agent) release(c *container) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.sessions--
	c.closing = c.sessions == 0
	return c.closing
}

func (a *Agent) forget(c *container) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.containers, c.id)
}

// serveSession answers one notify fd's notifications until no task uses
// its filter any more, recording them in its container's recording.
func (a *Agent) serveSession(st *processState, m Metadata, src Source) {
	id, own := st.State.ID, isOwn(st)
	c, created, err := a.attach(st, m, own)
	if err != nil {
		a.Log.Printf("agent: container %q: %v: its notified syscalls fail with ENOSYS", id, err)
		return
	}
	a.touch(1)
	defer a.touch(-1)
	if created {
		a.open(c)
		close(c.ready)
	}
	<-c.ready
	if !own {
		a.Log.Printf("agent: container %q: exec session (pid %d) served with the container's", id, st.Pid)
	}
	opts := ServeOptions{
		RuntimePid: st.Pid,
		Runtime: func(n Notification, who Who) {
			name, _ := keyOf(n)
			a.Log.Printf("agent: container %q: the runtime's own %s (pid %d, comm %q) before the workload runs: let through, not recorded",
				id, name.name, who.Pid, who.Comm)
		},
		Added: func(entries int) {
			if checkpoint(entries) {
				c.save(a, false)
			}
		},
	}
	if err := Serve(src, c.rec, m, opts); err != nil {
		c.rec.Lose("the agent stopped serving the container: " + err.Error())
	}
	if own {
		// Only the own session ends with the container: an exec session
		// ending says nothing of the container, whose tracer recording
		// an exec session would wait for.
		ctx, cancel := context.WithTimeout(context.Background(), capsWait)
		caps, complete, err := DeniedCaps(ctx, a.Tracer, a.Dir, id)
		cancel()
		if err != nil {
			c.rec.NoCaps(err.Error())
		} else {
			c.rec.SetDeniedCaps(caps, complete)
		}
	}
	if !a.release(c) {
		return
	}
	defer a.forget(c)
	a.finish(c)
}

// open starts c's recording, opens where it goes and notes c in the
// journal (for its own session); an exec-only container is only logged.
func (a *Agent) open(c *container) {
	name := c.m.Recording
	if c.m.File != "" {
		name = strings.TrimSuffix(filepath.Base(c.m.File), ".json")
	}
	c.rec = NewRecording(name, c.m.Profile, c.id, c.m.Mode, a.Now())
	if !c.recorded {
		c.rec.NoCaps("the container's own session was not served by this agent (it started before it)")
		a.Log.Printf("agent: container %q: an exec session, but the container's own session is not served by this agent "+
			"(it was started before it): its violations are answered and logged, not recorded", c.id)
		return
	}
	out, where, err := a.output(c.m, c.id)
	if err != nil {
		a.Log.Printf("agent: container %q: its recording cannot be written: %v (violations are still answered, and logged at the end)", c.id, err)
	}
	c.out, c.where = out, where
	c.journal = a.journal(c.id, where, c.m.Recording)
	a.Log.Printf("agent: container %q enforcing %s in %s mode: recording to %s", c.id, c.m.Profile, c.m.Mode, where)
	c.save(a, false)
}

// save writes c's recording (the final one when ending).
func (c *container) save(a *Agent, ending bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out == nil {
		return nil
	}
	at, err := c.out.save(c.rec.Profile(a.Now(), ending), ending)
	if err != nil {
		a.Log.Printf("agent: container %q: write %s: %v", c.id, c.where, err)
	} else if ending {
		c.where = at
	}
	return err
}

// finish writes c's final recording once its last session ended, logs the
// summary and removes the journal note.
func (a *Agent) finish(c *container) {
	defer c.journal()
	where := c.where
	switch {
	case !c.recorded:
		where = "none (the container's own session was not served by this agent)"
	case c.out == nil:
		where = "none (" + where + " could not be opened)"
	case c.save(a, true) != nil:
		where = "none: refused (see above); its partial recording is removed, this summary is all that is left of it"
	default:
		where = c.where
	}
	if c.out != nil {
		c.out.close()
	}
	a.Log.Printf("agent: %s; %d exec sessions; recording %s", c.rec.Summary(), c.execs, where)
}
