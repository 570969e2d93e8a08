package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// podman is a rootful podman with its own storage, run and temporary
// directories (nothing in /var/lib/containers), cgroupfs, file events, and
// a hooks directory holding the shipped hooks.d JSON pointed at this run's
// tailor binary and a temporary store.
type podman struct {
	dir     string
	global  []string
	Store   string // profile store the hook learns into
	Allowed string // the hook's --allow-dir for io.containers.trace-syscall
	Tracer  string // the tracer's directory
	Image   string
}

// podmanRunFlags are what every container needs on these machines: no
// network (no CNI setup), and rlimits root may set without
// CAP_SYS_RESOURCE (see ENVIRONMENT.md).
var podmanRunFlags = []string{"--rm", "--network", "none",
	"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"}

func newPodman(t *testing.T) *podman {
	t.Helper()
	ensureEngine(t, "podman", "tar")
	bin := hookBin(t)
	dir := t.TempDir()
	pm := &podman{dir: dir, Store: filepath.Join(dir, "store"), Allowed: filepath.Join(dir, "allowed"),
		Image: "localhost/tailor-e2e-busybox"}
	hooksDir := filepath.Join(dir, "hooks.d")
	for _, d := range []string{pm.Store, pm.Allowed, hooksDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pm.Tracer = startTracer(t)
	writeTestHooksJSON(t, filepath.Join(hooksDir, "tailor.json"), bin,
		"--store", pm.Store, "--allow-dir", pm.Allowed, "--tracer-dir", pm.Tracer)
	pm.global = []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--hooks-dir", hooksDir}
	// What podman creates outside its directories, removed at the end
	// (cleanups run last-in first-out: this goes after the podman cleanup).
	removeCreated(t, "/var/lib/containers", "/var/lib/containers/cache",
		"/var/lib/containers/cache/blob-info-cache-v1.boltdb")
	removeCreatedCgroups(t, "libpod_parent")
	t.Cleanup(func() {
		pm.cmd(t, "rm", "--all", "--force")
		pm.cmd(t, "rmi", "--all", "--force")
		unmountUnder(t, dir)
	})
	if res := pm.cmd(t, "import", busyboxTar(t), pm.Image); res.ExitCode != 0 {
		t.Fatalf("podman import:\n%s", res)
	}
	return pm
}

// cmd runs podman with the private global flags.
func (pm *podman) cmd(t testing.TB, args ...string) ocitest.Result {
	t.Helper()
	return run(t, nil, "podman", append(append([]string{}, pm.global...), args...)...)
}

// run runs a container of the busybox image under the runtime: podman run
// flags, then the command.
func (pm *podman) run(t testing.TB, runtime string, flags []string, command ...string) ocitest.Result {
	t.Helper()
	args := append([]string{"run", "--runtime", runtime}, podmanRunFlags...)
	args = append(append(args, flags...), pm.Image)
	return pm.cmd(t, append(args, command...)...)
}

// writeTestHooksJSON writes the shipped deploy/hooks.d/tailor.json to path
// with the hook's binary replaced and flag values replaced or added (name,
// value pairs), so that the test exercises the shipped stages and
// annotation match.
func writeTestHooksJSON(t testing.TB, path, bin string, flags ...string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "hooks.d", "tailor.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("deploy/hooks.d/tailor.json: %v", err)
	}
	hook, _ := doc["hook"].(map[string]any)
	if hook == nil {
		t.Fatal("deploy/hooks.d/tailor.json has no hook")
	}
	hook["path"] = bin
	var args []string
	for _, a := range hook["args"].([]any) {
		args = append(args, a.(string))
	}
	for i := 0; i+1 < len(flags); i += 2 {
		args = setFlag(args, flags[i], flags[i+1])
	}
	hook["args"] = args
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// setFlag replaces the value of flag in args, or appends flag and value.
func setFlag(args []string, flag, value string) []string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			args[i+1] = value
			return args
		}
	}
	return append(args, flag, value)
}

var busyboxTarOnce once[string]

// busyboxTar is the busybox rootfs as a tar archive, for `podman import`
// and `docker import`.
func busyboxTar(t testing.TB) string {
	t.Helper()
	rootfs := busyboxRootfs(t)
	return busyboxTarOnce.get(t, func() (string, error) {
		out := filepath.Join(runDir, "images", "busybox.tar")
		res := run(t, nil, "tar", "-C", rootfs, "-cf", out, ".")
		if res.ExitCode != 0 {
			return "", fmt.Errorf("tar the busybox rootfs:\n%s", res)
		}
		return out, nil
	})
}
