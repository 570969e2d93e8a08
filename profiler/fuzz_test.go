package profiler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzRequest sends a request line (with or without its newline) and a
// number of handles over a socketpair to the tracer's serve, as a client
// would: it never panics, answers with one JSON line, refuses framing and
// handle-count errors as bad requests, and closes every handle it got
// whatever the outcome (counted in /proc/self/fd).
func FuzzRequest(f *testing.F) {
	for _, s := range []struct {
		line    string
		files   uint8
		newline bool
	}{
		{`{"op":"register","registration":{"containerID":"c","pid":1,"files":2}}`, 2, true},
		{`{"op":"register","registration":{"containerID":"c","pid":1,"files":2}}`, 1, true}, // count differs
		{`{"op":"register","registration":{"containerID":"c","pid":1}}`, 3, true},           // none announced
		{`{"op":"status","containerID":"c"}`, 1, true},                                      // handles with status
		{`{"op":"wait","containerID":"c"}`, 0, true},
		{`{"op":"status"}`, 0, false}, // no newline
		{`{"op":` + strings.Repeat("[", 5000), 0, true},
		{`{"op":"register","registration":{"outputs":` + strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat("}", 1000) + `}}`, 0, true},
	} {
		f.Add([]byte(s.line), s.files, s.newline)
	}
	s := &Server{Peer: func(uint32) error { return nil },
		MountNamespace: func(int) (uint32, error) { return 1, nil }} // every pid shares the tracer's: register refuses
	f.Fuzz(func(t *testing.T, line []byte, nfiles uint8, newline bool) {
		if bytes.IndexByte(line, '\n') >= 0 || len(line) > 64<<10 {
			return // one line per request; the size limit has its own test
		}
		nfiles %= MaxRequestFiles + 1
		before := openFDs(t)
		resp, code := exchange(t, s, line, int(nfiles), newline)
		if after := openFDs(t); after != before {
			t.Fatalf("%d descriptors open after the request, %d before: a handle leaked (response %q)", after, before, resp)
		}
		var req request
		decoded := json.Unmarshal(line, &req) == nil
		switch {
		case !newline:
			want(t, code, "bad-request", "a line with no newline", resp)
		case !decoded:
			want(t, code, "bad-request", "a line that does not decode", resp)
		case req.Op == opRegister && req.Registration != nil && req.Registration.NFiles != int(nfiles):
			want(t, code, "bad-request", "a handle count that does not match", resp)
		case req.Op != opRegister && nfiles > 0:
			want(t, code, "bad-request", "handles sent with "+req.Op, resp)
		}
	})
}

func want(t *testing.T, got, code, what, resp string) {
	t.Helper()
	if got != code {
		t.Fatalf("%s: code %q, want %q (response %q)", what, got, code, resp)
	}
}

// exchange sends one request from the client end of a socketpair while
// s serves the other, and returns the response line and its code.
func exchange(t *testing.T, s *Server, line []byte, nfiles int, newline bool) (string, string) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	serverFile := os.NewFile(uintptr(fds[0]), "server")
	fc, err := net.FileConn(serverFile)
	serverFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	conn := fc.(*net.UnixConn)
	client := os.NewFile(uintptr(fds[1]), "client")
	defer client.Close()
	done := make(chan struct{})
	go func() { defer close(done); s.serve(conn) }()

	var rights []byte
	var sent []*os.File
	for range nfiles {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, f)
	}
	if len(sent) > 0 {
		ints := make([]int, len(sent))
		for i, f := range sent {
			ints[i] = int(f.Fd())
		}
		rights = unix.UnixRights(ints...)
	}
	msg := append([]byte{}, line...)
	if newline {
		msg = append(msg, '\n')
	}
	if len(msg) == 0 && len(rights) == 0 {
		msg = nil
	} else if len(msg) == 0 {
		msg = []byte{' '} // rights need a byte to travel with
	}
	if msg != nil {
		if err := unix.Sendmsg(fds[1], msg, rights, nil, 0); err != nil && err != unix.EPIPE {
			t.Fatalf("send: %v", err)
		}
	}
	for _, f := range sent {
		f.Close() // the tracer holds its own copies now
	}
	unix.Shutdown(fds[1], unix.SHUT_WR) // the request ends here
	resp, _ := bufio.NewReader(client).ReadString('\n')
	<-done
	var r response
	if err := json.Unmarshal([]byte(resp), &r); err != nil {
		t.Fatalf("response %q is not one JSON line: %v", resp, err)
	}
	return resp, r.Code
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
