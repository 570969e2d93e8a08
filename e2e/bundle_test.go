package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds every runtime or tailor invocation so that a broken
// build fails the test instead of hanging the run.
const commandTimeout = 3 * time.Minute

// bundle is an OCI bundle made by `runc spec` and patched for a test.
type bundle struct {
	Dir    string
	Rootfs string
}

func (b *bundle) Config() string { return filepath.Join(b.Dir, "config.json") }

// spec is config.json as a generic document: patching it this way keeps
// every field `runc spec` wrote.
type spec map[string]any

type specOption func(spec)

// newBundle copies the rootfs image into a new bundle directory and writes a
// config.json running args (no terminal, writable root), then applies opts.
func newBundle(t testing.TB, image string, args []string, opts ...specOption) *bundle {
	t.Helper()
	requireCommand(t, "runc")
	b := &bundle{Dir: t.TempDir()}
	b.Rootfs = filepath.Join(b.Dir, "rootfs")
	if err := copyTree(image, b.Rootfs); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("runc", "spec", "--bundle", b.Dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	s := b.readSpec(t)
	proc := s.obj("process")
	proc["args"] = args
	proc["terminal"] = false
	s.obj("root")["readonly"] = false
	s["hostname"] = "tailor-e2e"
	for _, o := range opts {
		o(s)
	}
	b.writeSpec(t, s)
	return b
}

func (b *bundle) readSpec(t testing.TB) spec {
	t.Helper()
	data, err := os.ReadFile(b.Config())
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("parse %s: %v", b.Config(), err)
	}
	return s
}

func (b *bundle) writeSpec(t testing.TB, s spec) {
	t.Helper()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.Config(), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// patch applies opts to the bundle's existing config.json.
func (b *bundle) patch(t testing.TB, opts ...specOption) {
	t.Helper()
	s := b.readSpec(t)
	for _, o := range opts {
		o(s)
	}
	b.writeSpec(t, s)
}

// obj returns the object at key, creating it when absent.
func (s spec) obj(key string) spec {
	switch v := s[key].(type) {
	case map[string]any:
		return spec(v)
	case spec:
		return v
	}
	m := map[string]any{}
	s[key] = m
	return spec(m)
}

// withCaps adds capabilities to every set runc spec fills.
func withCaps(caps ...string) specOption {
	return func(s spec) {
		c := s.obj("process").obj("capabilities")
		for _, set := range []string{"bounding", "effective", "permitted", "ambient"} {
			have, _ := c[set].([]any)
			for _, name := range caps {
				if !containsAny(have, name) {
					have = append(have, name)
				}
			}
			c[set] = have
		}
	}
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// dockerDefaultCaps is the capability set Docker and podman give a
// container by default: the server workloads run with it, as they would
// under an engine.
var dockerDefaultCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// withNoNewPrivileges sets process.noNewPrivileges: runc and crun load the
// seccomp filter at different points depending on it.
func withNoNewPrivileges(v bool) specOption {
	return func(s spec) { s.obj("process")["noNewPrivileges"] = v }
}

func withAnnotation(key, value string) specOption {
	return func(s spec) { s.obj("annotations")[key] = value }
}

// withBindMount bind-mounts a host directory read-write into the container.
func withBindMount(src, dst string) specOption {
	return func(s spec) {
		mounts, _ := s["mounts"].([]any)
		s["mounts"] = append(mounts, map[string]any{
			"destination": dst, "type": "bind", "source": src,
			"options": []any{"rbind", "rw"},
		})
	}
}

// withHook adds an OCI hook at stage (e.g. "createRuntime").
func withHook(stage, path string, args ...string) specOption {
	return func(s spec) {
		hooks := s.obj("hooks")
		list, _ := hooks[stage].([]any)
		hooks[stage] = append(list, map[string]any{"path": path, "args": args, "timeout": 60})
	}
}

// withSeccomp sets linux.seccomp to the given document.
func withSeccomp(seccomp any) specOption {
	return func(s spec) { s.obj("linux")["seccomp"] = seccomp }
}

var idUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// containerID returns a unique, recognisable container id for the test.
func containerID(t testing.TB) string {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "tailor-e2e-" + name + "-" + hex.EncodeToString(r[:])
}

// result is what a command printed and how it ended.
type result struct {
	Stdout, Stderr string
	ExitCode       int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
}

// run runs a command with the command timeout and returns its output and
// exit code; it fails the test only when the command could not run at all
// or timed out.
func run(t testing.TB, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: no exit within %s\n%s", name, strings.Join(args, " "), commandTimeout, res)
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// runtimeBin returns the runtime's binary, preparing the host for it.
func runtimeBin(t testing.TB, runtime string) string {
	t.Helper()
	requireRoot(t)
	requireCommand(t, runtime)
	if runtime == "crun" {
		ensureCrunCgroups(t)
	}
	path, _ := exec.LookPath(runtime)
	return path
}

// runContainer runs the bundle to completion under runtime (no tailor) and
// deletes the container afterwards.
func runContainer(t testing.TB, runtime string, b *bundle) result {
	t.Helper()
	bin := runtimeBin(t, runtime)
	id := containerID(t)
	t.Cleanup(func() { deleteContainer(runtime, id) })
	return run(t, nil, bin, "run", "--bundle", b.Dir, id)
}

// deleteContainer removes a container whatever its state; errors are
// ignored because the container is usually already gone.
func deleteContainer(runtime, id string) {
	_ = exec.Command(runtime, "delete", "-f", id).Run()
}

// runtimes is the list the runtime-parametrised tests iterate over.
var runtimes = []string{"runc", "crun"}

var crunOnce once[struct{}]

// ensureCrunCgroups makes crun 1.8 work on a hybrid cgroup host: it refuses
// to run while the hugetlb controller is not mounted as v1. The mount is
// made only when missing and undone when the run ends.
func ensureCrunCgroups(t testing.TB) {
	t.Helper()
	crunOnce.get(t, func() (struct{}, error) {
		var st struct{}
		hybrid, err := isHybridCgroups()
		if err != nil || !hybrid {
			return st, err
		}
		mounted, err := hasCgroupV1Controller("hugetlb")
		if err != nil || mounted {
			return st, err
		}
		dir := "/sys/fs/cgroup/hugetlb"
		_, statErr := os.Stat(dir)
		created := os.IsNotExist(statErr)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return st, fmt.Errorf("crun setup: %w", err)
		}
		if out, err := exec.Command("mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", dir).CombinedOutput(); err != nil {
			return st, fmt.Errorf("crun setup: mount hugetlb cgroup v1: %w: %s", err, out)
		}
		atExit(func() {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: umount %s: %s: %s\n", dir, err, out)
				return
			}
			if created {
				os.Remove(dir)
			}
		})
		return st, nil
	})
}

// isHybridCgroups reports whether /sys/fs/cgroup is a tmpfs of v1
// controllers (as opposed to a pure cgroup2 mount).
func isHybridCgroups() (bool, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == "/sys/fs/cgroup" {
			return strings.Contains(line, " - tmpfs "), nil
		}
	}
	return false, nil
}

// hasCgroupV1Controller reports whether a v1 hierarchy with the controller
// is mounted anywhere.
func hasCgroupV1Controller(name string) (bool, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		_, after, ok := strings.Cut(line, " - cgroup ")
		if !ok {
			continue
		}
		f := strings.Fields(after)
		if len(f) < 2 {
			continue
		}
		for _, opt := range strings.Split(f[1], ",") {
			if opt == name {
				return true, nil
			}
		}
	}
	return false, nil
}
