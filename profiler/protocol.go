package profiler

import (
	"encoding/json"
	"time"
)

// Registration asks the tracer to learn one container.
type Registration struct {
	ContainerID string `json:"containerID"`
	// Pid is the container's init (the OCI state's pid).
	Pid int `json:"pid"`
	// ExecBoundary is set for containers without a seccomp filter: their
	// syscalls count from the init's final execve.
	ExecBoundary bool   `json:"execBoundary,omitempty"`
	Runtime      string `json:"runtime,omitempty"`
	// Outputs is what to write when the container is done; the profiler
	// hands it back to its Sink unread.
	Outputs json.RawMessage `json:"outputs,omitempty"`
}

// Status is a live view of a container being learned.
type Status struct {
	Syscalls     int  `json:"syscalls"`
	Capabilities int  `json:"capabilities"`
	Done         bool `json:"done"`
}

// Result is the outcome of one learned container.
type Result struct {
	Complete     bool     `json:"complete"`
	Syscalls     int      `json:"syscalls"`
	Capabilities int      `json:"capabilities"`
	Loss         []string `json:"loss,omitempty"`
	// Error is set when the profile could not be written.
	Error string `json:"error,omitempty"`
}

type request struct {
	Op           string        `json:"op"` // register, status, wait
	Registration *Registration `json:"registration,omitempty"`
	ContainerID  string        `json:"containerID,omitempty"`
}

type response struct {
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
	Result *Result `json:"result,omitempty"`
}

const (
	opRegister = "register"
	opStatus   = "status"
	opWait     = "wait"
)

// Defaults for the shared tracer.
const (
	DefaultDir = "/run/tailor"
	// DefaultIdle is how long the tracer stays up with nothing to learn.
	DefaultIdle = 30 * time.Second
	// DefaultGrace is how long the tracer waits, after a container's init
	// exited, for its other tasks before it writes the profile.
	DefaultGrace = 10 * time.Second
)

const (
	socketName = "tracer.sock"
	lockName   = "tracer.lock"
	logName    = "tracer.log"
)
