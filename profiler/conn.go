package profiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

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
