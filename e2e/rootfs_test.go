package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tailor-dev/tailor/internal/rootfs"
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
