package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

const (
	traceAnnotation = "io.containers.trace-syscall"
	learnAnnotation = "dev.tailor.learn"
)

// hookOnce builds cmd/tailor-hook beside tailorBin's tailor, where the
// installed hook finds the tailor it starts the tracer from.
var hookOnce once[string]

// hookBin is the lean hook binary, as make install deploys it: static,
// without cgo, as make build builds it.
func hookBin(t testing.TB) string {
	t.Helper()
	tailor := tailorBin(t)
	return hookOnce.get(t, func() (string, error) {
		bin := filepath.Join(filepath.Dir(tailor), "tailor-hook")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/tailor-hook")
		cmd.Dir, cmd.Env = repoRoot(), append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build tailor-hook: %w\n%s", err, out)
		}
		return bin, nil
	})
}

// leanHook is the createRuntime hook as hooks.d deploys it: tailor-hook
// with args (its flags).
func leanHook(t testing.TB, timeout int, args ...string) specs.Hook {
	return specs.Hook{Path: hookBin(t), Timeout: &timeout, Args: append([]string{"tailor-hook"}, args...)}
}

// Test 7: the hook refuses hostile annotations with a one-line reason on
// stderr and exit code 1, and writes nothing anywhere: tailor-hook and
// `tailor hook` alike.
func TestHookRefusesHostileAnnotations(t *testing.T) {
	requireRoot(t)
	hooks := []struct {
		name string
		cmd  []string
	}{
		{"tailor-hook", []string{hookBin(t)}},
		{"tailor hook", []string{tailorBin(t), "hook"}},
	}
	base := t.TempDir()
	allowed := filepath.Join(base, "allowed")
	outside := filepath.Join(base, "outside")
	store := filepath.Join(base, "store")
	for _, d := range []string{allowed, outside, store} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, busyboxRootfs(t), []string{"/bin/true"})
	pid := sleeper(t)

	tests := []struct {
		name        string
		annotations map[string]string
		// want lists words of which the error must name at least one.
		want []string
	}{
		{"relative of", map[string]string{traceAnnotation: "of:out.json"}, []string{"absolute"}},
		{"relative if", map[string]string{traceAnnotation: "of:" + allowed + "/out.json;if:in.json"}, []string{"absolute"}},
		{"dot-dot", map[string]string{traceAnnotation: "of:" + allowed + "/../outside/out.json"}, []string{"..", "clean"}},
		{"symlinked directory", map[string]string{traceAnnotation: "of:" + allowed + "/link/out.json"}, []string{"symlink", "symbolic link"}},
		{"outside allowed dirs", map[string]string{traceAnnotation: "of:" + outside + "/out.json"}, []string{"allow"}},
		{"bad base name", map[string]string{traceAnnotation: "of:" + allowed + "/out put$.json"}, []string{"name"}},
		{"if outside allowed dirs", map[string]string{traceAnnotation: "of:" + allowed + "/out.json;if:" + outside + "/in.json"}, []string{"allow"}},
		{"bad learn name", map[string]string{learnAnnotation: "../escape"}, []string{"name"}},
	}
	for _, h := range hooks {
		for _, tt := range tests {
			t.Run(h.name+"/"+tt.name, func(t *testing.T) {
				before := snapshot(t, base)
				state, err := json.Marshal(specs.State{Version: specs.Version, ID: containerID(t),
					Status: specs.StateCreating, Pid: pid, Bundle: b.Dir, Annotations: tt.annotations})
				if err != nil {
					t.Fatal(err)
				}
				args := append(slices.Clone(h.cmd[1:]), "--store", store, "--allow-dir", allowed, "--tracer-timeout", "5s",
					"--tracer-dir", tracerDir())
				res := run(t, state, h.cmd[0], args...)
				msg := strings.TrimSpace(res.Stderr)
				if res.ExitCode != 1 {
					t.Errorf("hook exited %d on %v, want 1 (refused):\n%s", res.ExitCode, tt.annotations, res)
				}
				if msg == "" || strings.Contains(msg, "\n") {
					t.Errorf("want a one-line error on stderr, got %q", res.Stderr)
				}
				if !containsAnyFold(msg, tt.want) {
					t.Errorf("error %q names none of %q", msg, tt.want)
				}
				if after := snapshot(t, base); after != before {
					t.Errorf("hook wrote files:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	}
}

func containsAnyFold(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(strings.ToLower(s), strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// snapshot lists every path under dir with its type and size.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s %s %d", path, info.Mode().Type(), info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sleeper starts a process for hook states to point at (as a container's
// init would be) and kills it when the test ends.
func sleeper(t testing.TB) int {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// podmanLikeFilter is a permissive seccomp filter like an engine's default:
// with it in the bundle the recording starts when the filter is loaded, as
// it does under podman.
func podmanLikeFilter() *specs.LinuxSeccomp {
	eperm := uint(1)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"kexec_load"}, Action: specs.ActErrno, ErrnoRet: &eperm}},
	}
}

// Test 8: the io.containers.trace-syscall output of a run with the hook
// (tailor-hook) in the bundle's createRuntime hooks (no podman) is OCI seccomp
// JSON that runc accepts: the workload runs under it, and what the
// workload never did is refused.
func TestHookTraceSyscallSeccomp(t *testing.T) {
	requireRoot(t)
	w := busyboxWorkload(t)
	baseline := straceSyscalls(t, w.Image, ocitest.BusyboxScript)
	hookTimeout := 60 // seconds
	cases := []struct {
		name    string
		filter  bool
		enforce bool
	}{
		// Under an engine's default filter the runtime's tail after it is
		// recorded too, so the output is enough to run the container.
		{name: "with engine filter", filter: true, enforce: true},
		// Without any filter the recording starts at the final execve.
		{name: "without filter", filter: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			allowed := t.TempDir()
			out := filepath.Join(allowed, "seccomp.json")
			opts := []ocitest.Option{ocitest.WithAnnotation(traceAnnotation, "of:"+out),
				ocitest.WithCreateRuntimeHook(leanHook(t, hookTimeout, "--allow-dir", allowed, "--tracer-dir", tracerDir()))}
			if tc.filter {
				opts = append(opts, ocitest.WithSeccomp(podmanLikeFilter()))
			}
			res := runContainer(t, "runc", w.bundle(t, opts...))
			if res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
				t.Fatalf("runc run with tailor hook:\n%s", res)
			}
			sc := readSeccompOutput(t, out)
			names := map[string]bool{}
			for _, r := range sc.Syscalls {
				if r.Action == specs.ActAllow {
					for _, n := range r.Names {
						names[n] = true
					}
				}
			}
			if missing := minus(baseline, names); len(missing) > 0 {
				t.Errorf("seccomp output does not allow what strace saw the workload make: %v", missing)
			}
			if !tc.enforce {
				return
			}
			enforced := runContainer(t, "runc", w.bundle(t, ocitest.WithSeccomp(sc)))
			if enforced.ExitCode != 0 || !strings.Contains(enforced.Stdout, w.Want) {
				t.Fatalf("workload under its learned seccomp profile:\n%s", enforced)
			}
			refused := newBundle(t, w.Image, []string{"/bin/sh", "-c", "mkfifo /tmp/never-made"}, ocitest.WithSeccomp(sc))
			if res := runContainer(t, "runc", refused); res.ExitCode == 0 || !strings.Contains(res.Stderr, "Operation not permitted") {
				t.Errorf("mkfifo (mknodat, never learned) under the learned profile: want EPERM:\n%s", res)
			}
		})
	}
}

// readSeccompOutput waits for the tracer to write the hook's of: file (it
// does so after the container's tasks exit) and parses it.
func readSeccompOutput(t testing.TB, path string) *specs.LinuxSeccomp {
	t.Helper()
	data, err := ocitest.WaitFile(path, time.Minute)
	if err != nil {
		t.Fatalf("hook output: %v", err)
	}
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatalf("hook output %s is not seccomp JSON: %v\n%s", path, err, data)
	}
	if sc.DefaultAction != specs.ActErrno || len(sc.Syscalls) == 0 {
		t.Fatalf("hook output %s: want defaultAction SCMP_ACT_ERRNO and allow rules:\n%s", path, data)
	}
	if !containsArch(sc.Architectures, specs.ArchX86_64) {
		t.Errorf("hook output %s: architectures %v lack SCMP_ARCH_X86_64", path, sc.Architectures)
	}
	return &sc
}

func containsArch(list []specs.Arch, a specs.Arch) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// TestHookOutputSwappedForSymlink: someone who can write beneath an
// allowed directory swaps the output's directory for a symlink to a
// victim while the container runs. The tracer writes through the handle
// the hook opened, so the output lands in the directory the hook checked
// (now renamed) and the victim's file is untouched.
func TestHookOutputSwappedForSymlink(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	allowed := filepath.Join(base, "allowed")
	victim := filepath.Join(base, "victim")
	for _, d := range []string{filepath.Join(allowed, "team"), victim} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(victim, "out.json"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	gate := "/tmp/swap-gate"
	hookTimeout := 60
	b := newBundle(t, busyboxRootfs(t), []string{"/bin/sh", "-c", ": < " + gate + "; echo done"},
		ocitest.WithAnnotation(traceAnnotation, "of:"+allowed+"/team/out.json"),
		ocitest.WithSeccomp(podmanLikeFilter()),
		ocitest.WithCreateRuntimeHook(leanHook(t, hookTimeout, "--allow-dir", allowed, "--tracer-dir", tracerDir())))
	if err := unix.Mkfifo(filepath.Join(b.Rootfs, gate), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startContainer(t, "runc", b)
	c.waitRunning(t)
	if err := os.Rename(filepath.Join(allowed, "team"), filepath.Join(allowed, "team.moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(allowed, "team")); err != nil {
		t.Fatal(err)
	}
	openGate(t, c, filepath.Join(b.Rootfs, gate))
	if res := c.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, "done") {
		t.Fatalf("container:\n%s", res)
	}
	readSeccompOutput(t, filepath.Join(allowed, "team.moved", "out.json"))
	if data, _ := os.ReadFile(filepath.Join(victim, "out.json")); string(data) != "precious" {
		t.Errorf("the tracer followed the swapped-in symlink and replaced the victim's file: %q", data)
	}
}
