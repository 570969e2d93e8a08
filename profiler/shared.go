package profiler

import (
	"net"
	"os"
	"time"

	"github.com/tailor-dev/tailor/profiler/wire"
)

// The seccomp agent (package complain) is a sibling of the tracer in the
// same root-only directory: it keeps its socket, lock and log the way the
// tracer does, through these.

// PeerUID returns the uid of the process at the other end of conn
// (SO_PEERCRED).
func PeerUID(conn *net.UnixConn) (uint32, error) { return wire.PeerUID(conn) }

// CheckDir creates dir (0700) when missing and refuses it unless it is a
// real directory owned by this user with no access for group or others.
func CheckDir(dir string) error { return wire.CheckDir(dir) }

// OpenPrivate opens a file in a checked directory without following a
// symlink there (mode 0600 when created).
func OpenPrivate(path string, flag int) (*os.File, error) { return wire.OpenPrivate(path, flag) }

// Acquire takes an exclusive flock on lock, waiting up to wait for a
// holder that is shutting down.
func Acquire(lock *os.File, wait time.Duration) error { return acquire(lock, wait) }

// ParseRights returns the handles of SCM_RIGHTS control messages.
func ParseRights(oob []byte) ([]*os.File, error) { return parseRights(oob) }
