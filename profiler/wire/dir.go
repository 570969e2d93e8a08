package wire

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// PeerUID returns the uid of the process at the other end of conn
// (SO_PEERCRED: its credentials when it connected).
func PeerUID(conn *net.UnixConn) (uint32, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return cred.Uid, nil
}

// ErrUnsafeDir refuses a tracer directory that others could write to.
var ErrUnsafeDir = errors.New("unsafe tracer directory")

// CheckDir creates dir (0700) when missing and checks that it is a real
// directory (not a symlink) owned by this user with no access for group or
// others: the socket, lock and log in it are root's alone.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, _ := fi.Sys().(*unix.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link: give the real directory", ErrUnsafeDir, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeDir, dir)
	case st != nil && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: %s is owned by uid %d: it must be root's (chown root:root %s)", ErrUnsafeDir, dir, st.Uid, dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s has mode %04o: no one but root may use it (chmod 0700 %s)", ErrUnsafeDir, dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// OpenPrivate opens a file in a checked tracer directory without
// following a symlink there (mode 0600 when created).
func OpenPrivate(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
}
