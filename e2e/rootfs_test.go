package e2e

import (
	"github.com/tailor-dev/tailor/internal/rootfs"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The busybox rootfs is built once per run from the host's busybox-static;
// each bundle gets its own copy, so workloads that write never see each
// other.
var busyboxOnce once[string]

func busyboxRootfs(t testing.TB) string {
	t.Helper()
	requireCommand(t, "busybox")
	return busyboxOnce.get(t, func() (string, error) {
		dir := filepath.Join(runDir, "images", "busybox")
		return dir, rootfs.Busybox(dir)
	})
}

// copyTree copies src to dst preserving modes, owners and symlinks.
func copyTree(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %w: %s", src, err, out)
	}
	return nil
}

var i386Once once[string]

// i386Binary builds testdata/i386.c as a static 32-bit binary once per run.
func i386Binary(t testing.TB) string {
	t.Helper()
	requireCommand(t, "gcc")
	return i386Once.get(t, func() (string, error) {
		out := filepath.Join(runDir, "bin", "i386-probe")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}
		src := filepath.Join(repoRoot(), "e2e", "testdata", "i386.c")
		cmd := exec.Command("gcc", "-m32", "-static", "-O2", "-o", out, src)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("gcc -m32 -static (install gcc-multilib): %w\n%s", err, msg)
		}
		return out, nil
	})
}
