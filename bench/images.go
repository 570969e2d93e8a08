package bench

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tailor-dev/tailor/internal/rootfs"
)

//go:embed csrc/storm.c
var stormSource []byte

// storm builds the syscall-storm program, static so that it runs alike on
// the host and in a busybox rootfs.
func (e *Env) storm() (string, error) {
	return cached(e, "storm", func() (string, error) {
		dir := filepath.Join(e.Work, "storm")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		src, bin := filepath.Join(dir, "storm.c"), filepath.Join(dir, "storm")
		if err := os.WriteFile(src, stormSource, 0o644); err != nil {
			return "", err
		}
		out, err := exec.Command("gcc", "-O2", "-static", "-pthread", "-Wall", "-o", bin, src).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("gcc -static storm.c: %w\n%s", err, out)
		}
		return bin, nil
	})
}

// busybox returns a rootfs with busybox-static, its applets and the storm
// program at /storm. Bundles that do not write share it read-only.
func (e *Env) busybox() (string, error) {
	return cached(e, "busybox", func() (string, error) {
		dir := filepath.Join(e.Work, "images", "busybox")
		if err := rootfs.Busybox(dir); err != nil {
			return "", fmt.Errorf("busybox rootfs: %w", err)
		}
		storm, err := e.storm()
		if err != nil {
			return "", err
		}
		return dir, rootfs.CopyFile(storm, filepath.Join(dir, "storm"), 0o755)
	})
}

// debroot downloads rootfs.ServerPackages with apt-get and unpacks them with
// dpkg -x; it returns the unpacked tree.
func (e *Env) debroot() (string, error) {
	return cached(e, "debroot", func() (string, error) {
		debs, root := filepath.Join(e.Work, "debs"), filepath.Join(e.Work, "debroot")
		return root, rootfs.Unpack(debs, root, rootfs.ServerPackages)
	})
}

// serverImage returns a writable rootfs for redis or nginx: busybox, the
// storm program (their load client) and the server.
func (e *Env) serverImage(name string) (string, error) {
	return cached(e, "image-"+name, func() (string, error) {
		bb, err := e.busybox()
		if err != nil {
			return "", err
		}
		root, err := e.debroot()
		if err != nil {
			return "", err
		}
		dir := filepath.Join(e.Work, "images", name)
		if err := rootfs.Copy(bb, dir); err != nil {
			return "", err
		}
		switch name {
		case "redis":
			err = rootfs.Redis(root, dir)
		case "nginx":
			// The load client makes every request on one connection.
			err = rootfs.Nginx(root, dir, rootfs.NginxConfig{Page: "served by nginx for tailor bench",
				KeepaliveRequests: 100000000})
		default:
			err = fmt.Errorf("no image %q", name)
		}
		return dir, err
	})
}
