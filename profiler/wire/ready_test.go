package wire

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNotifyReady checks that NotifyReady writes one byte to the pipe
// ReadyEnv names, closes it and clears the variable, and leaves anything
// that is not a pipe above stderr alone.
func TestNotifyReady(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv(ReadyEnv, strconv.Itoa(int(w.Fd())))
	NotifyReady()
	if _, ok := os.LookupEnv(ReadyEnv); ok {
		t.Errorf("%s is still set", ReadyEnv)
	}
	b := make([]byte, 2)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(b); err != nil || n != 1 {
		t.Fatalf("read the ready byte: %d, %v", n, err)
	}
	// NotifyReady closed its end (the only one): end of file, not a wait.
	if _, err := r.Read(b); err == nil {
		t.Error("the pipe is still open after NotifyReady")
	}
	w.Close() // already closed by NotifyReady; harmless

	f, err := os.CreateTemp(t.TempDir(), "notpipe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, v := range []string{strconv.Itoa(int(f.Fd())), "1", "2", "-1", "x", ""} {
		t.Setenv(ReadyEnv, v)
		NotifyReady()
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		t.Errorf("NotifyReady wrote to a regular file: %v, %v", st.Size(), err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Errorf("NotifyReady closed a descriptor that is not a pipe: %v", err)
	}
}

// TestStartDetachedReady runs a server that says it is ready, and one that
// exits first: the first is seen at once, the second as ErrExited naming
// the log.
func TestStartDetachedReady(t *testing.T) {
	dir := privateDir(t)
	ready, err := StartDetached(dir, "ready.log", "/bin/sh", "-c", `printf R >&3; sleep 1`)()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-ready; err != nil {
		t.Errorf("ready server: %v", err)
	}
	// The starter's environment stays its own.
	t.Setenv("TAILOR_TEST_LEAK", "1")
	t.Setenv("LD_PRELOAD", "/nonexistent.so")
	ready, err = StartDetached(dir, "env.log", "/bin/sh", "-c", `[ -z "$TAILOR_TEST_LEAK$LD_PRELOAD" ] && printf R >&3`)()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-ready; err != nil {
		t.Errorf("the server got the starter's environment: %v", err)
	}
	ready, err = StartDetached(dir, "exited.log", "/bin/sh", "-c", `echo failing; exit 3`)()
	if err != nil {
		t.Fatal(err)
	}
	err = <-ready
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), filepath.Join(dir, "exited.log")) {
		t.Errorf("exiting server: %v, want ErrExited naming the log", err)
	}
}

// TestDialFailsWhenTracerExits checks that a client whose tracer exits
// before it listens fails at once, naming its log, instead of waiting for
// its timeout (an hour here: the test would time out).
func TestDialFailsWhenTracerExits(t *testing.T) {
	dir := privateDir(t)
	c := &Client{Dir: dir, Timeout: time.Hour, Start: StartCommand(dir, "/bin/sh", "-c", "exit 1")}
	_, err := c.dial(time.Now().Add(c.Timeout))
	if !errors.Is(err, ErrNoTracer) || !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), LogName) {
		t.Errorf("dial = %v, want ErrNoTracer and ErrExited naming %s", err, LogName)
	}
}

// privateDir is a temporary directory CheckDir accepts.
func privateDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAwaitStart: another server that serves first is found on the 10 ms
// tries though the one started never says it is ready; at the deadline
// the last try's error comes back.
func TestAwaitStart(t *testing.T) {
	never := make(chan error)
	tries := 0
	err := AwaitStart(never, time.Now().Add(time.Hour), func() error {
		if tries++; tries < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Errorf("AwaitStart = %v after %d tries, want nil after 3", err, tries)
	}
	refused := errors.New("refused")
	if err := AwaitStart(never, time.Now().Add(30*time.Millisecond), func() error { return refused }); err != refused {
		t.Errorf("AwaitStart at its deadline = %v, want the try's error", err)
	}
}
