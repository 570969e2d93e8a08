package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
)

// Real server workloads come from Debian packages fetched with
// `apt-get download` and unpacked with `dpkg -x` into the run directory:
// nothing is installed on the host. Each rootfs is busybox plus the server
// binaries and their ldd closure.

var debrootOnce once[string]

// debroot downloads and unpacks rootfs.ServerPackages once per run and
// returns the directory they were unpacked into.
func debroot(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	requireCommand(t, "apt-get", "dpkg", "ldd")
	return debrootOnce.get(t, func() (string, error) {
		debs := filepath.Join(runDir, "debs")
		root := filepath.Join(runDir, "debroot")
		return root, rootfs.Unpack(debs, root, rootfs.ServerPackages)
	})
}

// workload is a container image plus what to run in it.
type workload struct {
	Name  string
	Image string
	Args  []string
	// Caps are added to the bundle's capability sets.
	Caps []string
	// Want is printed on stdout when the workload succeeded.
	Want string
}

// bundle makes a fresh bundle for the workload.
func (w workload) bundle(t testing.TB, opts ...ocitest.Option) *bundle {
	t.Helper()
	return newBundle(t, w.Image, w.Args, append([]ocitest.Option{ocitest.WithCaps(w.Caps...)}, opts...)...)
}

// waitFor is a shell function polling a command until it succeeds, bounded
// so a server that never starts fails the workload instead of hanging it.
const waitFor = `waitfor() { i=0; until "$@"; do i=$((i+1)); if [ $i -ge 600 ]; then echo "gave up waiting for: $*" >&2; exit 1; fi; sleep 0.1; done; }
exited() { cut -d' ' -f3 /proc/$$/stat >/dev/null; [ ! -e /proc/$1 ] || [ "$(cut -d' ' -f3 /proc/$1/stat)" = Z ]; }
`

// The servers' scripts wait for the server to have exited (waitfor exited
// PID) before the shell's wait: ash's wait blocks in rt_sigsuspend only
// when the child still runs, so whether a learned profile holds
// rt_sigsuspend would depend on timing, and an enforced run that needed it
// would hang (ash retries a refused sigsuspend forever). Reaping a child
// that already exited takes only wait4.
//
// exited reads the shell's own /proc/PID/stat first: whether the server
// is already reaped (no /proc/PID, so its stat is never read) when it is
// first asked is timing too, and a learning run that never read a
// process's stat gave a profile that refuses the read in a later run that
// does (Landlock: "cut: /proc/6/stat: Permission denied", nginx/crun).
// Every run now reads one, so the per-run pid directory is in every
// recording.

var redisOnce once[string]

// redisWorkload starts redis-server on 127.0.0.1:6379 and does a
// set/get round trip with redis-cli.
func redisWorkload(t testing.TB) workload {
	t.Helper()
	image := redisOnce.get(t, func() (string, error) {
		dir := filepath.Join(runDir, "images", "redis")
		if err := rootfs.Copy(busyboxRootfs(t), dir); err != nil {
			return "", err
		}
		return dir, rootfs.Redis(debroot(t), dir)
	})
	script := waitFor + `redis-server --save '' --appendonly no --bind 127.0.0.1 --port 6379 --daemonize no --loglevel warning &
server=$!
pong() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
waitfor pong
[ "$(redis-cli -h 127.0.0.1 set tailor-key tailor-value)" = OK ] || exit 11
[ "$(redis-cli -h 127.0.0.1 get tailor-key)" = tailor-value ] || exit 12
redis-cli -h 127.0.0.1 shutdown nosave >/dev/null 2>&1
waitfor exited $server
wait $server || exit 13
echo redis round trip ok
`
	return workload{Name: "redis", Image: image, Args: []string{"/bin/sh", "-c", script},
		Caps: generator.DockerDefaultCapabilities(), Want: "redis round trip ok"}
}

const nginxPage = "served by nginx for tailor e2e"

var nginxOnce once[string]

// nginxWorkload starts nginx on 127.0.0.1:8080 (master as root, worker
// as www-data) and fetches a file from it with busybox wget.
func nginxWorkload(t testing.TB) workload {
	t.Helper()
	image := nginxOnce.get(t, func() (string, error) {
		dir := filepath.Join(runDir, "images", "nginx")
		if err := rootfs.Copy(busyboxRootfs(t), dir); err != nil {
			return "", err
		}
		return dir, rootfs.Nginx(debroot(t), dir, rootfs.NginxConfig{Page: nginxPage})
	})
	script := waitFor + `nginx -c /etc/nginx/nginx.conf &
server=$!
fetch() { wget -q -O /tmp/page http://127.0.0.1:8080/index.html 2>/dev/null; }
waitfor fetch
[ "$(cat /tmp/page)" = "` + nginxPage + `" ] || exit 11
nginx -s quit || exit 12
waitfor exited $server
wait $server || exit 13
echo nginx round trip ok
`
	return workload{Name: "nginx", Image: image, Args: []string{"/bin/sh", "-c", script},
		Caps: generator.DockerDefaultCapabilities(), Want: "nginx round trip ok"}
}

// serverWorkloads lists the real servers the enforcement tests use.
func serverWorkloads(t testing.TB) []workload {
	return []workload{redisWorkload(t), nginxWorkload(t)}
}

// TestServersRunPlain proves the server rootfs and round trips work under
// both runtimes without tailor.
func TestServersRunPlain(t *testing.T) {
	requireRoot(t)
	for _, w := range serverWorkloads(t) {
		for _, rt := range runtimes {
			t.Run(w.Name+"/"+rt, func(t *testing.T) {
				res := runContainer(t, rt, w.bundle(t))
				if res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
					t.Fatalf("%s under %s:\n%s", w.Name, rt, res)
				}
			})
		}
	}
}
