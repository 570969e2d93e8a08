package bench

import (
	"github.com/tailor-dev/tailor/internal/rootfs"

	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// serverPackages are unpacked (never installed) for the server images: the
// servers and the libraries they link that a minimal host may lack.
var serverPackages = []string{
	"redis-server", "redis-tools", "nginx",
	"libjemalloc2", "liblzf1", "libssl3", "libsystemd0", "libatomic1", "libpcre2-8-0", "zlib1g",
	"libcrypt1", "libcap2", "libgcrypt20", "liblzma5", "libzstd1", "liblz4-1", "libgpg-error0",
}

// debroot downloads serverPackages with apt-get and unpacks them with
// dpkg -x; it returns the unpacked tree.
func (e *Env) debroot() (string, error) {
	return cached(e, "debroot", func() (string, error) {
		debs, root := filepath.Join(e.Work, "debs"), filepath.Join(e.Work, "debroot")
		return root, rootfs.Unpack(debs, root, serverPackages)
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
		if out, err := exec.Command("cp", "-a", bb, dir).CombinedOutput(); err != nil {
			return "", fmt.Errorf("copy busybox rootfs: %w: %s", err, out)
		}
		switch name {
		case "redis":
			// redis-server is a symlink to redis-check-rdb, which picks its
			// mode from argv[0].
			err = rootfs.InstallBinary(root, "usr/bin/redis-check-rdb", dir, "usr/bin/redis-server")
		case "nginx":
			err = installNginx(root, dir)
		default:
			err = fmt.Errorf("no image %q", name)
		}
		return dir, err
	})
}

const nginxConf = `user www-data www-data;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log /var/log/nginx/access.log;
    keepalive_requests 100000000;
    client_body_temp_path /var/lib/nginx/body;
    proxy_temp_path /var/lib/nginx/proxy;
    fastcgi_temp_path /var/lib/nginx/fastcgi;
    uwsgi_temp_path /var/lib/nginx/uwsgi;
    scgi_temp_path /var/lib/nginx/scgi;
    server {
        listen 127.0.0.1:8080;
        root /srv/www;
    }
}
`

func installNginx(debroot, dir string) error {
	if err := rootfs.InstallBinary(debroot, "usr/sbin/nginx", dir, "usr/sbin/nginx"); err != nil {
		return err
	}
	for _, d := range []string{"var/log/nginx", "var/lib/nginx", "etc/nginx", "srv/www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/nginx/nginx.conf"), []byte(nginxConf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "srv/www/index.html"), []byte("served by nginx for tailor bench\n"), 0o644)
}
