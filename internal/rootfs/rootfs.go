// Package rootfs builds the container root filesystems tailor's end-to-end
// tests and benchmarks run: busybox from busybox-static, plus real programs
// taken from Debian packages (apt-get download, dpkg -x: nothing is
// installed on the host) with their shared libraries, and the two servers
// the workloads run, Redis and Nginx.
package rootfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Busybox writes a minimal rootfs into dir: /bin/busybox, a symlink per
// applet, the usual directories and an /etc/passwd with unprivileged users
// (www-data, user 1000, nobody).
func Busybox(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("find busybox: %w", err)
	}
	if out, err := exec.Command("file", "-L", bb).Output(); err == nil && !bytes.Contains(out, []byte("statically linked")) {
		return fmt.Errorf("%s is not static (install busybox-static)", bb)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "run", "var/log", "var/lib", "srv"} {
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
	if err := CopyFile(bb, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	for _, rel := range strings.Fields(string(list)) {
		if rel == "bin/busybox" {
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

// CopyFile copies the content of src (following symlinks) to dst.
func CopyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// Unpack downloads pkgs into debs with apt-get and unpacks them into root
// with dpkg -x.
func Unpack(debs, root string, pkgs []string) error {
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	if err := aptDownload(debs, pkgs); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if out, err := exec.Command("dpkg", "-x", f, root).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg -x %s: %w: %s", f, err, out)
		}
	}
	return nil
}

// aptDownload fetches the packages' .deb files into dir, refreshing the
// package lists once if apt does not know a package yet.
func aptDownload(dir string, pkgs []string) error {
	download := func() ([]byte, error) {
		// The sandbox user cannot write into a root-only temp dir.
		cmd := exec.Command("apt-get", append([]string{"-q", "-o", "APT::Sandbox::User=root", "download"}, pkgs...)...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if _, err := download(); err == nil {
		return nil
	}
	if upd, err := exec.Command("apt-get", "-q", "update").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w: %s", err, upd)
	}
	if out, err := download(); err != nil {
		return fmt.Errorf("apt-get download %s: %w: %s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// InstallBinary copies bin (relative to debroot) to dst inside rootfs, with
// every shared library it needs (resolved against the debroot first, then
// the host) under /lib/x86_64-linux-gnu and the loader at its own path.
func InstallBinary(debroot, bin, rootfs, dst string) error {
	src := filepath.Join(debroot, bin)
	if err := CopyFile(src, filepath.Join(rootfs, dst), 0o755); err != nil {
		return err
	}
	libs, err := lddClosure(debroot, src)
	if err != nil {
		return err
	}
	for soname, path := range libs {
		target := filepath.Join(rootfs, "lib/x86_64-linux-gnu", soname)
		if filepath.IsAbs(soname) { // the dynamic loader
			target = filepath.Join(rootfs, soname)
		}
		if err := CopyFile(path, target, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// lddClosure maps each library bin needs (soname, or the loader's absolute
// path) to the file that provides it.
func lddClosure(debroot, bin string) (map[string]string, error) {
	var dirs []string
	for _, d := range []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"} {
		dirs = append(dirs, filepath.Join(debroot, d))
	}
	cmd := exec.Command("ldd", bin)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(dirs, ":"))
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	return parseLdd(out)
}

func parseLdd(out []byte) (map[string]string, error) {
	libs := map[string]string{}
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, rest, ok := strings.Cut(line, " => "); ok {
			path, _, _ := strings.Cut(rest, " (")
			if path == "not found" {
				missing = append(missing, name)
				continue
			}
			libs[name] = path
			continue
		}
		path, _, _ := strings.Cut(line, " (")
		if filepath.IsAbs(path) {
			libs[path] = path
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("libraries not found in the downloaded packages or on the host: %s (add their packages to the package list)", strings.Join(missing, ", "))
	}
	return libs, nil
}
