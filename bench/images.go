package bench

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
		if err := buildBusybox(dir); err != nil {
			return "", fmt.Errorf("busybox rootfs: %w", err)
		}
		storm, err := e.storm()
		if err != nil {
			return "", err
		}
		return dir, copyFile(storm, filepath.Join(dir, "storm"), 0o755)
	})
}

func buildBusybox(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	if out, _ := exec.Command("file", "-L", bb).Output(); len(out) > 0 && !bytes.Contains(out, []byte("statically linked")) {
		return fmt.Errorf("%s is not static (install busybox-static)", bb)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root", "run", "var/log", "var/lib", "srv"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile(bb, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
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
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n",
		"etc/hosts":  "127.0.0.1 localhost\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
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
		if err := os.MkdirAll(debs, 0o755); err != nil {
			return "", err
		}
		download := func() ([]byte, error) {
			cmd := exec.Command("apt-get", append([]string{"-q", "-o", "APT::Sandbox::User=root", "download"}, serverPackages...)...)
			cmd.Dir = debs
			return cmd.CombinedOutput()
		}
		if _, err := download(); err != nil {
			if out, err := exec.Command("apt-get", "-q", "update").CombinedOutput(); err != nil {
				return "", fmt.Errorf("apt-get update: %w: %s", err, out)
			}
			if out, err := download(); err != nil {
				return "", fmt.Errorf("apt-get download: %w: %s", err, out)
			}
		}
		files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
		for _, f := range files {
			if out, err := exec.Command("dpkg", "-x", f, root).CombinedOutput(); err != nil {
				return "", fmt.Errorf("dpkg -x %s: %w: %s", f, err, out)
			}
		}
		return root, nil
	})
}

// installBinary copies bin (relative to debroot) to dst in rootfs with
// the libraries ldd resolves for it, the debroot's first.
func installBinary(debroot, bin, rootfs, dst string) error {
	src := filepath.Join(debroot, bin)
	if err := copyFile(src, filepath.Join(rootfs, dst), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("ldd", src)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(debroot, "lib/x86_64-linux-gnu")+":"+filepath.Join(debroot, "usr/lib/x86_64-linux-gnu"))
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", bin, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, path := "", ""
		if n, rest, ok := strings.Cut(line, " => "); ok {
			name, path = n, strings.Fields(rest)[0]
			if path == "not" {
				return fmt.Errorf("%s: %s not found (add its package to serverPackages)", bin, name)
			}
			name = filepath.Join("lib/x86_64-linux-gnu", name)
		} else if f := strings.Fields(line); len(f) > 0 && filepath.IsAbs(f[0]) {
			name, path = f[0], f[0] // the dynamic loader, at its own path
		} else {
			continue
		}
		if err := copyFile(path, filepath.Join(rootfs, name), 0o755); err != nil {
			return err
		}
	}
	return nil
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
			err = installBinary(root, "usr/bin/redis-check-rdb", dir, "usr/bin/redis-server")
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
	if err := installBinary(debroot, "usr/sbin/nginx", dir, "usr/sbin/nginx"); err != nil {
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
