package profiler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// peerUID returns the uid of the process at the other end of conn
// (SO_PEERCRED: its credentials when it connected).
func peerUID(conn *net.UnixConn) (uint32, error) {
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

// readRequest reads one request line of at most MaxRequestSize bytes
// within RequestTimeout, and the handles sent with it (at most
// MaxRequestFiles). The handles are returned even with an error, for the
// caller to close.
func readRequest(conn *net.UnixConn) ([]byte, []*os.File, error) {
	conn.SetReadDeadline(time.Now().Add(RequestTimeout))
	defer conn.SetReadDeadline(time.Time{})
	var files []*os.File
	var line []byte
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*MaxRequestFiles))
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		n, oobn = max(n, 0), max(oobn, 0)
		if oobn > 0 {
			got, perr := parseRights(oob[:oobn])
			files = append(files, got...)
			if perr != nil {
				return nil, files, perr
			}
			if len(files) > MaxRequestFiles {
				return nil, files, fmt.Errorf("%w: more than %d handles", ErrBadRequest, MaxRequestFiles)
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return nil, files, fmt.Errorf("%w: more than %d handles", ErrBadRequest, MaxRequestFiles)
		}
		line = append(line, buf[:n]...)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			return line[:i], files, nil
		}
		if len(line) > MaxRequestSize {
			return nil, files, fmt.Errorf("%w: request larger than %d bytes", ErrBadRequest, MaxRequestSize)
		}
		if err != nil {
			return nil, files, fmt.Errorf("%w: read: %v", ErrBadRequest, err)
		}
		if n == 0 && oobn == 0 {
			return nil, files, fmt.Errorf("%w: connection closed mid-request", ErrBadRequest)
		}
	}
}

func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: control message: %v", ErrBadRequest, err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			return files, fmt.Errorf("%w: control message: %v", ErrBadRequest, err)
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), fmt.Sprintf("handle %d", len(files))))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// ErrUnsafeDir refuses a tracer directory that others could write to.
var ErrUnsafeDir = errors.New("unsafe tracer directory")

// checkDir creates dir (0700) when missing and checks that it is a real
// directory (not a symlink) owned by this user with no access for group or
// others: the socket, lock and log in it are root's alone.
func checkDir(dir string) error {
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

// openPrivate opens name in the checked tracer directory without
// following a symlink there.
func openPrivate(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
}

func rootOnly(uid uint32) error {
	if uid != 0 {
		return fmt.Errorf("%w: the peer is uid %d", ErrForbidden, uid)
	}
	return nil
}

func (s *Server) serve(conn *net.UnixConn) {
	defer conn.Close()
	uid, err := peerUID(conn)
	if err == nil {
		err = s.Peer(uid)
	}
	if err != nil {
		writeResponse(conn, errorResponse(err))
		return
	}
	line, files, err := readRequest(conn)
	var req request
	if err == nil {
		if err = json.Unmarshal(line, &req); err != nil {
			err = fmt.Errorf("%w: decode: %v", ErrBadRequest, err)
		}
	}
	if err == nil && req.Op == opRegister && req.Registration != nil && req.Registration.NFiles != len(files) {
		err = fmt.Errorf("%w: the registration says %d handles, %d came", ErrBadRequest, req.Registration.NFiles, len(files))
	}
	if err == nil && req.Op != opRegister && len(files) > 0 {
		err = fmt.Errorf("%w: handles sent with %s", ErrBadRequest, req.Op)
	}
	if err != nil {
		closeAll(files)
		writeResponse(conn, errorResponse(err))
		return
	}
	var resp response
	switch req.Op {
	case opRegister:
		if req.Registration == nil {
			err = fmt.Errorf("%w: register without a registration", ErrBadRequest)
			break
		}
		req.Registration.Files = files
		files = nil
		err = s.register(*req.Registration)
	case opStatus:
		resp.Status, err = s.status(req.ContainerID)
	case opWait:
		resp.Result, err = s.wait(req.ContainerID, closed(conn))
	default:
		err = fmt.Errorf("%w: unknown op %q", ErrBadRequest, req.Op)
	}
	closeAll(files)
	if err != nil {
		e := errorResponse(err)
		resp.Code, resp.Error = e.Code, e.Error
	}
	writeResponse(conn, resp)
}

// closed returns a channel closed when the client hangs up (a waiter that
// gave up must not hold a goroutine until its container ends).
func closed(conn *net.UnixConn) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		defer close(c)
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
		}
	}()
	return c
}

func writeResponse(conn net.Conn, r response) {
	if err := json.NewEncoder(conn).Encode(r); err != nil {
		log.Printf("write response: %v", err)
	}
}
