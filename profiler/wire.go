package profiler

import "github.com/tailor-dev/tailor/profiler/wire"

// The protocol and its client live in package wire, which links no BPF,
// so that the hook binary stays small. These names keep the tracer's
// side, and the callers that also run it (tailor learn, the runtime
// wrapper), reading as before.
type (
	Client       = wire.Client
	Registration = wire.Registration
	Status       = wire.Status
	Result       = wire.Result

	request  = wire.Request
	response = wire.Response
)

// Errors of the protocol (the same values as wire's: errors.Is holds
// across both names).
var (
	ErrNoTracer         = wire.ErrNoTracer
	ErrShuttingDown     = wire.ErrShuttingDown
	ErrUnknownContainer = wire.ErrUnknownContainer
	ErrBadRequest       = wire.ErrBadRequest
	ErrForbidden        = wire.ErrForbidden
	ErrBusy             = wire.ErrBusy
	ErrQuota            = wire.ErrQuota
	ErrUnsafeDir        = wire.ErrUnsafeDir
)

// Limits and defaults of the protocol (see wire).
const (
	MaxRequestSize  = wire.MaxRequestSize
	RequestTimeout  = wire.RequestTimeout
	MaxRequestFiles = wire.MaxRequestFiles
	MaxConnections  = wire.MaxConnections

	DefaultDir   = wire.DefaultDir
	DefaultIdle  = wire.DefaultIdle
	DefaultGrace = wire.DefaultGrace

	opRegister = wire.OpRegister
	opStatus   = wire.OpStatus
	opWait     = wire.OpWait

	socketName = wire.SocketName
	lockName   = wire.LockName
	logName    = wire.LogName
)

// The server's own names for wire's helpers.
var (
	errorResponse = wire.ErrorResponse
	peerUID       = wire.PeerUID
	checkDir      = wire.CheckDir
	openPrivate   = wire.OpenPrivate
)
