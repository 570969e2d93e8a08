package ocitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSnapshot: a hanging container's description names its threads and
// the syscall each is in.
func TestSnapshot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI runs as root)")
		}
		t.Skip("needs root: runs a container")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		missing(t, "busybox not found: run scripts/install-prereqs.sh")
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755)
	if err := (Config{Rootfs: rootfs, Args: []string{"/bin/busybox", "sleep", "30"}}).Write(dir); err != nil {
		t.Fatal(err)
	}
	id := "ocitest-snapshot-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	res, err := RunContainer(time.Second, "runc", dir, id)
	if err == nil {
		t.Fatalf("sleep 30 exited within a second: %s", res)
	}
	// clock_nanosleep is syscall 230 on x86_64.
	if !strings.Contains(err.Error(), "busybox state S syscall 230") {
		t.Errorf("the timeout does not describe the sleeping thread: %v", err)
	}
}
