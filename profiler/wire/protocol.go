package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
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
	// Scope is the Kubernetes namespace the container runs in ("" for
	// the host): no namespace may hold more than its share of the
	// tracer's container slots, and the containers of a scope (the host
	// included) hold at most that share of its task and object maps.
	Scope string `json:"scope,omitempty"`
	// Outputs is what to write when the container is done; the profiler
	// hands it back to its Sink unread.
	Outputs json.RawMessage `json:"outputs,omitempty"`
	// Files are handles the Sink writes through (directories the hook
	// opened and checked): they travel beside the request as SCM_RIGHTS,
	// so the tracer never resolves an output path itself. NFiles says how
	// many came; the tracer refuses a request whose count differs.
	Files  []*os.File `json:"-"`
	NFiles int        `json:"files,omitempty"`
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

// Request is one request line from a client.
type Request struct {
	Op           string        `json:"op"` // OpRegister, OpStatus, OpWait
	Registration *Registration `json:"registration,omitempty"`
	ContainerID  string        `json:"containerID,omitempty"`
}

// Response is the tracer's one reply line.
type Response struct {
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
	"forbidden":         ErrForbidden,
	"busy":              ErrBusy,
	"quota":             ErrQuota,
}

var (
	// ErrForbidden answers a peer that is not root.
	ErrForbidden = errors.New("only root may talk to the tracer")
	// ErrBusy answers a connection beyond MaxConnections.
	ErrBusy = errors.New("tracer is busy")
	// ErrQuota refuses a container of a namespace that holds its share of
	// the tracer's slots.
	ErrQuota = errors.New("namespace quota reached")
)

// Limits of the tracer's protocol: a request is one JSON line of at most
// MaxRequestSize bytes, read within RequestTimeout, carrying at most
// MaxRequestFiles handles; at most MaxConnections are served at once.
const (
	MaxRequestSize  = 1 << 20
	RequestTimeout  = 5 * time.Second
	MaxRequestFiles = 8
	MaxConnections  = 256
)

// ErrorResponse is the response carrying err, with its code.
func ErrorResponse(err error) Response {
	for code, e := range errorCodes {
		if errors.Is(err, e) {
			return Response{Code: code, Error: err.Error()}
		}
	}
	return Response{Error: err.Error()}
}

// Err is the error a response carries, wrapping the sentinel of its
// code.
func (r *Response) Err() error {
	if r.Error == "" && r.Code == "" {
		return nil
	}
	if e, ok := errorCodes[r.Code]; ok {
		// The message usually starts with the sentinel's own text
		// (errorResponse sends err.Error() of an error wrapping it): say
		// it once.
		msg := strings.TrimPrefix(r.Error, e.Error())
		if msg == "" {
			return e
		}
		return fmt.Errorf("%w: %s", e, strings.TrimPrefix(msg, ": "))
	}
	return errors.New(r.Error)
}

// Request operations.
const (
	OpRegister = "register"
	OpStatus   = "status"
	OpWait     = "wait"
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

// Files of the tracer's directory.
const (
	SocketName = "tracer.sock"
	LockName   = "tracer.lock"
	LogName    = "tracer.log"
)
