package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// TestHookCrunColdReturns: crun is a child subreaper, so the tracer that
// the hook (tailor-hook, starting tailor-tracer from beside it) starts
// under `crun run` (no tracer running before) becomes crun's child, and
// crun returns only once it exits. The tracer sees it was adopted and
// exits when the container is done (its log says so), not after its 30 s
// idle, and the profile is written by the time crun returns.
func TestHookCrunColdReturns(t *testing.T) {
	crun := runtimeBin(t, "crun")
	dir := filepath.Join(runDir, "tracer-crun-cold") // this test's own: cold
	t.Cleanup(func() { killTracerIn(t, dir) })
	allowed := t.TempDir()
	out := filepath.Join(allowed, "seccomp.json")
	hookTimeout := 60
	b := newBundle(t, busyboxRootfs(t), []string{"/bin/true"},
		ocitest.WithAnnotation(traceAnnotation, "of:"+out),
		ocitest.WithCreateRuntimeHook(leanHook(t, hookTimeout, "--allow-dir", allowed, "--tracer-dir", dir)))
	start := time.Now()
	res, err := ocitest.RunContainer(commandTimeout, crun, b.Dir, containerID(t))
	took := time.Since(start)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("crun run with tailor hook: %v\n%s", err, res)
	}
	// crun returned: the tracer it adopted must have stopped because it
	// saw the adoption, not because it idled out (which crun used to wait
	// for). Its log says which.
	logText, err := os.ReadFile(filepath.Join(dir, "tracer.log"))
	if err != nil {
		t.Fatalf("read the tracer's log: %v", err)
	}
	if !strings.Contains(string(logText), "adopted by a subreaper") {
		t.Errorf("the tracer crun adopted did not stop on seeing the adoption (crun waited for its idle exit); its log:\n%s", logText)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("profile not written by the time crun returned: %v", err)
	}
	readSeccompOutput(t, out)
	if _, err := net.Dial("unix", filepath.Join(dir, "tracer.sock")); err == nil {
		t.Errorf("the tracer in %s still answers after crun returned", dir)
	}
	t.Logf("cold crun run with the hook: %s", took.Round(time.Millisecond))
}

// killTracerIn ends a tracer still listening in dir (the test failed), by
// the pid its socket reports.
func killTracerIn(t *testing.T, dir string) {
	conn, err := net.Dial("unix", filepath.Join(dir, "tracer.sock"))
	if err != nil {
		return
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
	if err == nil && cred != nil && cred.Pid > 0 {
		t.Logf("stopping tracer %d left in %s", cred.Pid, dir)
		syscall.Kill(int(cred.Pid), syscall.SIGTERM)
	}
}
