package profiler

import (
	"encoding/json"
	"errors"
	"fmt"
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
	// Code says what kind of error Error is (see errorCodes), so that
	// clients never compare messages.
	Code   string  `json:"code,omitempty"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
	Result *Result `json:"result,omitempty"`
}

// Errors the tracer answers with, by the code that carries them. Other
// failures have no code.
var (
	// ErrShuttingDown refuses registrations while the tracer stops;
	// clients retry with its successor.
	ErrShuttingDown = errors.New("tracer is shutting down")
	// ErrUnknownContainer answers status and wait for a container the
	// tracer has neither tracked nor finished.
	ErrUnknownContainer = errors.New("container is not being learned")
	// ErrBadRequest answers a request the tracer cannot decode.
	ErrBadRequest = errors.New("bad request")
)

var errorCodes = map[string]error{
	"shutting-down":     ErrShuttingDown,
	"unknown-container": ErrUnknownContainer,
	"bad-request":       ErrBadRequest,
}

// errorResponse is the response carrying err, with its code.
func errorResponse(err error) response {
	for code, e := range errorCodes {
		if errors.Is(err, e) {
			return response{Code: code, Error: err.Error()}
		}
	}
	return response{Error: err.Error()}
}

// responseError is the error a response carries, wrapping the sentinel
// of its code.
func (r *response) err() error {
	if r.Error == "" && r.Code == "" {
		return nil
	}
	if e, ok := errorCodes[r.Code]; ok {
		if r.Error == e.Error() {
			return e
		}
		return fmt.Errorf("%w: %s", e, r.Error)
	}
	return errors.New(r.Error)
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
