package complain

import "slices"

// The runtime's own listener handshake: after loading a filter with a
// listener, the runtime's task (the one that goes on to execve the
// workload, or the exec'd process) still makes a few syscalls of its own
// before that execve. A profile learned from the workload may lack them,
// and they are not the workload's: the agent lets them through (in
// report mode too: refused, the container would not start) and leaves
// them out of the recording, and logs each.
//
//   - runc 1.1: its init sends the notify fd to its parent and reads the
//     parent's answer from its sync pipe (syncParentSeccomp): read.
//   - crun 1.8: after handing the fd over itself, it makes munmap and
//     kill before its execve.
//
// A notification is the runtime's when it comes from the task the
// runtime named in its message (ContainerProcessState.pid), is one of
// handshakeCalls, and the task's comm is the runtime's own (runc's init
// renames itself, crun keeps its name), while the session has not yet
// seen any other notification from that task and at most maxHandshake of
// them. A workload that names its binary like the runtime and makes those
// calls first would have them treated as the runtime's: at most
// maxHandshake read, munmap or kill calls, before anything else it is
// notified for (docs/complain.md).
var (
	handshakeCalls = []string{"read", "munmap", "kill"}
	runtimeComms   = []string{"runc:[2:INIT]", "crun"}
)

const maxHandshake = 8

// handshake follows one session's runtime task until its handshake ends.
type handshake struct {
	pid   int // the task the runtime named; 0: none
	calls int
	over  bool
}

// runtimes reports whether n, made by who, is part of the runtime's
// handshake; any other notification from the runtime's task ends it.
func (h *handshake) runtimes(n Notification, who func() Who) (Who, bool) {
	if h.over || h.pid == 0 || n.Pid != h.pid {
		return Who{}, false
	}
	k, err := keyOf(n)
	if err != nil || !slices.Contains(handshakeCalls, k.name) || h.calls >= maxHandshake {
		h.over = true
		return Who{}, false
	}
	w := who()
	if !slices.Contains(runtimeComms, w.Comm) {
		h.over = true
		return Who{}, false
	}
	h.calls++
	return w, true
}
