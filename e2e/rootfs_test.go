package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	return gccOnce(t, &i386Once, "i386-probe", "i386.c", "(install gcc-multilib)", "-m32", "-static", "-O2")
}

// gccOnce builds testdata/src with gcc flags into the run's bin/name, once
// per run; hint is added to a failure.
func gccOnce(t testing.TB, o *once[string], name, src, hint string, flags ...string) string {
	t.Helper()
	requireCommand(t, "gcc")
	return o.get(t, func() (string, error) {
		out := filepath.Join(runDir, "bin", name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}
		path := filepath.Join(repoRoot(), "e2e", "testdata", src)
		cmd := exec.Command("gcc", append(flags, "-o", out, path)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			if hint != "" {
				hint = " " + hint
			}
			return "", fmt.Errorf("gcc %s %s: %w%s\n%s", strings.Join(flags, " "), path, err, hint, msg)
		}
		return out, nil
	})
}
