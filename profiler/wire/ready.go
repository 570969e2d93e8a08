package wire

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ReadyEnv names the descriptor on which a server that StartDetached
// started says it is ready: the write end of a pipe whose read end the
// starter holds. The server writes one byte once it accepts connections
// (NotifyReady); the starter sees the byte, or end of file when the
// server exits first, at once, instead of polling the socket.
const ReadyEnv = "TAILOR_READY_FD"

// readyFd is the descriptor the pipe is given in the child: the first of
// exec.Cmd's ExtraFiles.
const readyFd = 3

// serverPath is the only variable a started server gets besides ReadyEnv.
const serverPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrExited is returned by a Start function when the server it started
// exited, or closed its end of the pipe, before it was ready: another one
// may have been serving already (the lock decides), or it failed.
var ErrExited = errors.New("exited before it was ready")

// NotifyReady tells the process that started this one (StartDetached)
// that it is ready, when it was started so: it writes one byte to the pipe
// ReadyEnv names, closes it and clears ReadyEnv. Anything else there (no
// variable, a number that is not a pipe's descriptor above stderr) is left
// alone: a server started by hand or by systemd has no starter waiting.
func NotifyReady() {
	v, ok := os.LookupEnv(ReadyEnv)
	if !ok {
		return
	}
	os.Unsetenv(ReadyEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd <= 2 {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	unix.Write(fd, []byte{'R'})
	unix.Close(fd)
}

// StartCommand returns a Start function that runs `exe args...` as a
// detached tracer: its own session, stdio on the log file in dir, so that
// the runtime waiting on the hook's pipes is not held by it.
func StartCommand(dir, exe string, args ...string) func() (<-chan error, error) {
	return StartDetached(dir, LogName, exe, args...)
}

// StartDetached is StartCommand with the log file named: exe runs in its
// own session with its output appended to dir/logName and an environment
// of its own (PATH and ReadyEnv only). The channel it
// returns gets nil once the server says it is ready (NotifyReady), or
// ErrExited when it exits first, and is then closed.
func StartDetached(dir, logName, exe string, args ...string) func() (<-chan error, error) {
	return func() (<-chan error, error) {
		if err := CheckDir(dir); err != nil {
			return nil, err
		}
		logPath := filepath.Join(dir, logName)
		logf, err := OpenPrivate(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
		if err != nil {
			return nil, fmt.Errorf("open tracer log: %w", err)
		}
		defer logf.Close()
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("make the readiness pipe for %s: %w", exe, err)
		}
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.ExtraFiles = []*os.File{w}
		// Nothing of the starter's environment, which a runtime built
		// from the bundle's hook entry, reaches a root daemon.
		cmd.Env = []string{serverPath, ReadyEnv + "=" + strconv.Itoa(readyFd)}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		w.Close() // the child's copy is the only one left
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("run %s: %w", exe, err)
		}
		if err := cmd.Process.Release(); err != nil {
			r.Close()
			return nil, fmt.Errorf("release %s: %w", exe, err)
		}
		ready := make(chan error, 1)
		go func() {
			defer close(ready)
			defer r.Close()
			var b [1]byte
			if _, err := r.Read(b[:]); errors.Is(err, io.EOF) {
				ready <- fmt.Errorf("%s %w (see %s)", exe, ErrExited, logPath)
			} else if err != nil {
				ready <- fmt.Errorf("wait for %s: %w", exe, err)
			} else {
				ready <- nil
			}
		}()
		return ready, nil
	}
}

// AwaitStart waits for a server a Start function started, whose ready
// channel it reads: it runs try (a connect, a ping) when the server says
// it is ready, and every 10 ms besides, for another server that serves the
// socket first (a lock decides which one does; the one started then
// exits). It returns nil once try succeeds; when the server exited and
// try still fails, the exit (ErrExited); at deadline, try's last error.
func AwaitStart(ready <-chan error, deadline time.Time, try func() error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var exited error
		select {
		case exited = <-ready:
			ready = nil
		case <-tick.C:
		case <-time.After(time.Until(deadline)):
		}
		err := try()
		switch {
		case err == nil:
			return nil
		case exited != nil:
			return exited
		case time.Now().After(deadline):
			return err
		}
	}
}
