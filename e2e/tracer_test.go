package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tracerDir is this run's own directory for tailor's shared tracer (socket,
// lock, log): the tests never talk to a tracer some other tailor build
// started in /run/tailor, and the run stops the one it started.
func tracerDir() string { return filepath.Join(runDir, "tracer") }

func init() { atExit(stopTracer) }

// stopTracer ends the tracer that hooks started for this run: the process
// listening on the run's socket, found by its peer credentials.
func stopTracer() {
	sock := filepath.Join(tracerDir(), "tracer.sock")
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return // none started, or it already exited when idle
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil || cred.Pid <= 0 {
		return
	}
	if err := syscall.Kill(int(cred.Pid), syscall.SIGTERM); err != nil {
		return
	}
	for i := 0; i < 300; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", cred.Pid)); os.IsNotExist(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "e2e: tracer %d did not exit on SIGTERM; see %s\n", cred.Pid, filepath.Join(tracerDir(), "tracer.log"))
}
