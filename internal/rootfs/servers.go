package rootfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ServerPackages are the Debian packages Redis and Nginx are taken from
// (Unpack them, then pass the tree to Redis and Nginx): the servers and
// the shared libraries they link that a minimal host may lack.
var ServerPackages = []string{
	"redis-server", "redis-tools", "nginx",
	"libjemalloc2", "liblzf1", "libssl3", "libsystemd0", "libatomic1", "libpcre2-8-0", "zlib1g",
	"libcrypt1", "libcap2", "libgcrypt20", "liblzma5", "libzstd1", "liblz4-1", "libgpg-error0",
}

// Copy copies the tree src to dst preserving modes, owners and symlinks:
// a workload's own copy of a shared image.
func Copy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %w: %s", src, err, out)
	}
	return nil
}

// Redis installs redis-server and redis-cli from debroot (ServerPackages
// unpacked) into the rootfs at dir.
func Redis(debroot, dir string) error {
	// redis-server is a symlink to redis-check-rdb, which picks its mode
	// from argv[0]: install the binary under the server's name.
	if err := InstallBinary(debroot, "usr/bin/redis-check-rdb", dir, "usr/bin/redis-server"); err != nil {
		return err
	}
	return InstallBinary(debroot, "usr/bin/redis-cli", dir, "usr/bin/redis-cli")
}

// NginxConfig is what differs between the nginx workloads.
type NginxConfig struct {
	// Page is served as /index.html (a newline is added).
	Page string
	// KeepaliveRequests, when not zero, is how many requests one keep-alive
	// connection may carry; nginx closes it after 1000 by default, which a
	// load client on one connection outruns.
	KeepaliveRequests int
}

// Nginx installs nginx from debroot (ServerPackages unpacked) into the
// rootfs at dir with /etc/nginx/nginx.conf serving c.Page on
// 127.0.0.1:8080 in the foreground: the master runs as root, its one
// worker as www-data, so the container needs CAP_CHOWN, CAP_SETUID and
// CAP_SETGID.
func Nginx(debroot, dir string, c NginxConfig) error {
	if err := InstallBinary(debroot, "usr/sbin/nginx", dir, "usr/sbin/nginx"); err != nil {
		return err
	}
	for _, d := range []string{"var/log/nginx", "var/lib/nginx", "etc/nginx", "srv/www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{"etc/nginx/nginx.conf": c.conf(), "srv/www/index.html": c.Page + "\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (c NginxConfig) conf() string {
	keepalive := ""
	if c.KeepaliveRequests > 0 {
		keepalive = fmt.Sprintf("    keepalive_requests %d;\n", c.KeepaliveRequests)
	}
	return `user www-data www-data;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log /var/log/nginx/access.log;
` + keepalive + `    client_body_temp_path /var/lib/nginx/body;
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
}
