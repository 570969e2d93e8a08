package profiler

// The end of a learning run: from the container's init exit to the
// published result. watch waits for its tasks, caughtUp for the event
// reader, finish builds and writes the profile, forget frees what the
// container held; readEvents feeds what the kernel sends meanwhile.

import (
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// watch waits for the container's init to exit, then for its other tasks,
// and writes the profile.
func (s *Server) watch(c *container, pidfd int) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
			break
		}
	}
	unix.Close(pidfd)
	var reasons []string
	deadline := time.Now().Add(s.Grace)
	for {
		n, err := s.Recorder.Live(c.slot)
		if err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			reasons = append(reasons, fmt.Sprintf("%d task(s) still running %s after the container's init exited: recorded until then", n, s.Grace))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !s.caughtUp() {
		reasons = append(reasons, fmt.Sprintf("the tracer's event reader had not caught up %s after the container's last task exited: files, programs or endpoints may be missing", caughtUpWait))
	}
	res := s.finish(c, reasons)
	s.forget(c, res)
}

// caughtUpWait bounds the wait for the event reader once a container's
// last task is gone (it is behind only when the ring is busy with other
// containers' records).
const caughtUpWait = 2 * time.Second

// caughtUp returns once the event reader has handled every record that
// was in the ring when it was called, false if that takes longer than
// caughtUpWait. Called after the container's last task exited: a record
// is written by the task it is about (the program runs in that task's
// context, and submits it before returning), so every record of the
// container is in the ring by then. The reader confirms after handling a
// record, or after a Flush woke it on an empty ring, by finding the ring
// empty: everything in it before that point was taken by the reader,
// which handles each record before it takes the next (readEvents).
func (s *Server) caughtUp() bool {
	if s.Ring == nil {
		return true
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.caught = append(s.caught, ch)
	s.mu.Unlock()
	if err := s.Ring.Flush(); err != nil {
		log.Printf("%v", err)
	}
	t := time.NewTimer(caughtUpWait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-ch: // answered meanwhile
			return true
		default:
		}
		if i := slices.Index(s.caught, ch); i >= 0 {
			s.caught = slices.Delete(s.caught, i, i+1)
		}
		return false
	}
}

// releaseCaughtUp answers the caughtUp waiters if the reader has handled
// everything in the ring; s.mu is held, by the reader.
func (s *Server) releaseCaughtUp() {
	if len(s.caught) == 0 || s.Ring.Pending() != 0 {
		return
	}
	for _, ch := range s.caught {
		close(ch)
	}
	s.caught = nil
}

func (s *Server) finish(c *container, reasons []string) *Result {
	rec, err := s.Recorder.Drain(c.slot)
	if err != nil {
		return &Result{Error: err.Error()}
	}
	// Take the provenance map out: readEvents keeps running and must not
	// write to the map build reads.
	s.mu.Lock()
	prov, touched := c.prov, c.touch
	c.prov, c.touch = nil, nil
	s.mu.Unlock()
	src := profiles.Source{
		Runtime:     c.reg.Runtime,
		Kernel:      kernelRelease(),
		ContainerID: c.reg.ContainerID,
		Start:       c.start.Truncate(time.Second),
		End:         time.Now().UTC().Truncate(time.Second),
	}
	if c.reg.ExecBoundary {
		src.SyscallBoundary = "exec"
	} else {
		src.SyscallBoundary = "seccomp"
	}
	p := build(rec, prov, touched, src)
	p.Loss.Reasons = append(p.Loss.Reasons, reasons...)
	p.Normalize()
	res := &Result{Complete: p.Complete, Capabilities: len(p.GrantedCapabilities())}
	for _, a := range p.ABIs {
		res.Syscalls += len(a.Syscalls)
	}
	if !p.Complete {
		res.Loss = lossText(p.Loss)
	}
	if err := s.Sink(c.reg, p); err != nil {
		res.Error = err.Error()
		log.Printf("container %s: %v", c.reg.ContainerID, err)
	}
	return res
}

func lossText(l profiles.Loss) []string {
	var out []string
	if l.Events > 0 {
		out = append(out, fmt.Sprintf("%d event(s) lost (ring buffer full)", l.Events))
	}
	if l.Tasks > 0 {
		out = append(out, fmt.Sprintf("%d task(s) not tracked", l.Tasks))
	}
	if l.ArgValues > 0 {
		out = append(out, fmt.Sprintf("%d argument value(s) lost", l.ArgValues))
	}
	if l.Paths > 0 {
		out = append(out, fmt.Sprintf("%d path(s) deeper or longer than the kernel's walk", l.Paths))
	}
	if l.Objects > 0 {
		out = append(out, fmt.Sprintf("%d file(s), program(s) or endpoint(s) not stored (the tracer's object map full)", l.Objects))
	}
	return append(out, l.Reasons...)
}

// forget frees the container's slot and publishes its result.
func (s *Server) forget(c *container, res *Result) {
	if err := s.Recorder.Free(c.slot); err != nil {
		log.Printf("container %s: %v", c.reg.ContainerID, err)
	}
	s.mu.Lock()
	delete(s.byID, c.reg.ContainerID)
	delete(s.bySlot, c.slot)
	s.dropScope(c.reg.Scope)
	closeAll(c.reg.Files)
	if res != nil {
		s.keepResult(c.reg.ContainerID, res)
	}
	s.active--
	if s.active == 0 {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	close(c.done)
}

// readEvents adds each event to its container, and answers the caughtUp
// waiters whenever it has read the ring to its end.
func (s *Server) readEvents() {
	for {
		e, err := s.Recorder.ReadEvent()
		if errors.Is(err, bpf.ErrClosed) {
			return
		}
		// bpf.ErrFlushed: woken by caughtUp, no event.
		if err != nil && !errors.Is(err, bpf.ErrFlushed) {
			log.Printf("%v", err)
		}
		s.mu.Lock()
		if err == nil {
			s.add(e)
		}
		s.releaseCaughtUp()
		s.mu.Unlock()
	}
}

// add records an event for its container; s.mu is held.
func (s *Server) add(e bpf.Event) {
	c, ok := s.bySlot[e.Container]
	if !ok || c.prov == nil {
		return
	}
	if e.Touch != nil {
		c.touch.add(e)
	}
	c.prov.add(e)
	switch {
	case e.Kind == bpf.EventSyscall:
		c.stat.Syscalls++
	case e.Kind == bpf.EventCap && e.Value == 1:
		c.stat.Capabilities++
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
