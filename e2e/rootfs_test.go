package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
		return dir, buildBusyboxRootfs(dir)
	})
}

// buildBusyboxRootfs writes a minimal rootfs: /bin/busybox, a symlink per
// applet, the usual directories and an /etc/passwd with unprivileged users.
func buildBusyboxRootfs(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("find busybox: %w", err)
	}
	if out, err := exec.Command("file", "-L", bb).Output(); err == nil && !bytes.Contains(out, []byte("statically linked")) {
		return fmt.Errorf("%s is not static (install busybox-static)", bb)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "run", "var/log", "srv"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile(bb, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		rel := strings.TrimSpace(sc.Text())
		if rel == "" || rel == "bin/busybox" {
			continue
		}
		link := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"www-data:x:33:33:www-data:/var/www:/bin/false\n" +
			"user:x:1000:1000:user:/tmp:/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group": "root:x:0:\nwww-data:x:33:\nuser:x:1000:\nnogroup:x:65534:\n",
		"etc/hosts": "127.0.0.1 localhost\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
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

// copyFile copies the content of src (following symlinks) to dst.
func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
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
