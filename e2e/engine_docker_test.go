package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// dockerCLI is Debian's docker client, which matches its dockerd (a newer
// client may sit earlier on PATH).
const dockerCLI = "/usr/bin/docker"

// dockerd is a Docker daemon of the test's own: private socket, data root,
// exec root and pid file; no bridge, no iptables changes; the tailor
// runtime registered through daemon.json with runtimeArgs, as a user
// would.
type dockerd struct {
	dir    string
	host   string // -H for the client
	cmd    *exec.Cmd
	exited chan struct{} // closed when dockerd has exited
	Store  string        // the tailor runtime's profile store
	Tracer string        // the tracer's directory
	Image  string
}

// dockerReady bounds how long dockerd may take to answer (it is ready in
// about a second here).
const dockerReady = 60 * time.Second

func startDockerd(t *testing.T) *dockerd {
	t.Helper()
	ensureEngine(t, dockerCLI, "dockerd", "runc", "tar")
	bin := tailorBin(t)
	hookBin(t) // beside tailor, as make install puts it: tailor runtime's learning hook runs it
	// Unix socket paths are short: keep the exec root near /tmp.
	dir, err := os.MkdirTemp("", "tailor-docker-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock"),
		Store: filepath.Join(dir, "store"), Image: "tailor-e2e-busybox"}
	// What dockerd and its shims create outside their roots, removed at
	// the end (these cleanups run after the daemon's own, below).
	removeCreated(t, "/run/docker", "/run/docker/plugins", "/run/containerd", "/run/containerd/s",
		"/etc/docker/key.json")
	removeCreatedCgroups(t, "docker")
	d.Tracer = startTracer(t)
	t.Cleanup(func() {
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("leave the host as found: %v", err)
		}
	})
	config := map[string]any{
		"runtimes": map[string]any{
			"tailor": map[string]any{
				"path":        bin,
				"runtimeArgs": []string{"runtime", "--runtime", "runc", "--store", d.Store, "--tracer-dir", d.Tracer, "--"},
			},
			// For rollouts: complain mode allowed (TestComplainDocker).
			"tailor-complain": map[string]any{
				"path": bin,
				"runtimeArgs": []string{"runtime", "--runtime", "runc", "--store", d.Store, "--tracer-dir", d.Tracer,
					"--allow-complain", "--"},
			},
		},
		// dockerd 20.10 otherwise writes /etc/docker/key.json.
		"deprecated-key-path": filepath.Join(dir, "key.json"),
	}
	data, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var log string
	for _, driver := range []string{"overlay2", "vfs"} {
		if d.start(t, driver) {
			t.Cleanup(func() { d.stop(t) })
			break
		}
		out, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
		log += string(out)
	}
	if d.cmd == nil {
		t.Fatalf("dockerd did not start with overlay2 nor vfs:\n%s", log)
	}
	if res := d.docker(t, "import", busyboxTar(t), d.Image); res.ExitCode != 0 {
		t.Fatalf("docker import:\n%s", res)
	}
	return d
}

// start runs dockerd with the storage driver and waits until it answers;
// it reports false (and leaves nothing running) when it exits instead.
func (d *dockerd) start(t *testing.T, driver string) bool {
	t.Helper()
	logFile, err := os.Create(filepath.Join(d.dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command("dockerd", "--config-file", filepath.Join(d.dir, "daemon.json"),
		"--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver="+driver,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"), "-H", d.host)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(dockerReady)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			d.stopContainerd(t)
			unmountUnder(t, d.dir)
			os.RemoveAll(filepath.Join(d.dir, "data"))
			return false
		case <-time.After(200 * time.Millisecond):
		}
		if exec.Command(dockerCLI, "-H", d.host, "version").Run() == nil {
			d.cmd = cmd
			d.exited = exited
			return true
		}
	}
	cmd.Process.Kill()
	<-exited
	d.stopContainerd(t)
	t.Fatalf("dockerd did not answer within %s", dockerReady)
	return false
}

// stop removes the test's containers and images, then stops dockerd (by
// its pid) and the containerd it started.
func (d *dockerd) stop(t testing.TB) {
	t.Helper()
	if ids := strings.Fields(d.docker(t, "ps", "-aq").Stdout); len(ids) > 0 {
		d.docker(t, append([]string{"rm", "-f"}, ids...)...)
	}
	d.docker(t, "rmi", "-f", d.Image)
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(dockerReady):
		t.Errorf("dockerd (pid %d) did not stop on SIGTERM within %s: killed", d.cmd.Process.Pid, dockerReady)
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.stopContainerd(t)
}

// stopContainerd kills the containerd dockerd supervises, should it have
// outlived dockerd.
func (d *dockerd) stopContainerd(t testing.TB) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(d.dir, "exec", "containerd", "containerd.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return
	}
	comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if strings.TrimSpace(string(comm)) != "containerd" {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// docker runs the client against this daemon.
func (d *dockerd) docker(t testing.TB, args ...string) ocitest.Result {
	t.Helper()
	return run(t, nil, dockerCLI, append([]string{"-H", d.host}, args...)...)
}

// run runs a container of the busybox image: docker run flags, then the
// command.
func (d *dockerd) run(t testing.TB, flags []string, command ...string) ocitest.Result {
	t.Helper()
	args := append([]string{"run", "--rm", "--network", "none"}, flags...)
	args = append(append(args, d.Image), command...)
	return d.docker(t, args...)
}
