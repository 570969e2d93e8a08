package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// runDir holds everything built for this test run (tailor, rootfs images,
// downloaded packages); TestMain removes it.
var runDir string

// teardown holds host changes to undo when the run ends (e.g. a cgroup
// mount made for crun), run in reverse order.
var (
	teardownMu sync.Mutex
	teardown   []func()
)

func atExit(f func()) {
	teardownMu.Lock()
	defer teardownMu.Unlock()
	teardown = append(teardown, f)
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tailor-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: create run directory: %s\n", err)
		os.Exit(1)
	}
	// Containers' rootfs must be reachable by any uid the workload
	// switches to (nginx workers run as nobody).
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: chmod run directory: %s\n", err)
		os.Exit(1)
	}
	runDir = dir
	code := m.Run()
	for i := len(teardown) - 1; i >= 0; i-- {
		teardown[i]()
	}
	if os.Getenv("TAILOR_E2E_KEEP") == "" {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: kept %s\n", dir)
	}
	os.Exit(code)
}

// inCI reports whether skips must fail: CI runs as root with everything
// installed, so a skipped privileged test there hides a broken setup.
func inCI() bool { return os.Getenv("CI") == "true" }

// skip skips the test with reason, or fails it under CI.
func skip(t testing.TB, reason string) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true: cannot skip: %s", reason)
	}
	t.Skip(reason)
}

// requireRoot skips tests that run containers or load BPF when not root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "needs root: runs containers with runc/crun and loads BPF programs")
	}
}

// requireCommand skips when a host tool is missing (installed by
// scripts/install-prereqs.sh).
func requireCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			skip(t, fmt.Sprintf("%s not found on PATH: run scripts/install-prereqs.sh", n))
		}
	}
}

// repoRoot is the module root (the parent of this package's directory).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// once is a lazily built artifact shared by the tests of one run: the first
// caller builds it, later callers get the same result (or the same error).
type once[T any] struct {
	o   sync.Once
	v   T
	err error
}

func (o *once[T]) get(t testing.TB, build func() (T, error)) T {
	t.Helper()
	o.o.Do(func() { o.v, o.err = build() })
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.v
}

var tailorOnce once[string]

// tailorBin builds cmd/tailor (and cmd/tailor-tracer beside it) once per
// run and returns its path.
func tailorBin(t testing.TB) string {
	t.Helper()
	return tailorOnce.get(t, func() (string, error) {
		// tailor-tracer beside it, as make install puts it: the tracer
		// that hooks and tailor learn start (engine_host_test runs
		// `tailor tracer` itself).
		bin := filepath.Join(runDir, "bin", "tailor")
		for _, b := range []struct{ out, pkg string }{{bin, "./cmd/tailor"}, {filepath.Join(runDir, "bin", "tailor-tracer"), "./cmd/tailor-tracer"}} {
			cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
			cmd.Dir = repoRoot()
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("build %s: %w\n%s", b.pkg, err, out)
			}
		}
		return bin, nil
	})
}
