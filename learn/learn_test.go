package learn

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiler"
)

// fakeRuntime records what a learning run asks of the runtime. run is the
// container: it returns when the container exits (or is killed).
type fakeRuntime struct {
	gone   bool // what Gone answers
	mu     sync.Mutex
	calls  []string
	config []byte
	killed chan struct{}
	run    func(f *fakeRuntime) (int, error)
}

func newFakeRuntime(run func(f *fakeRuntime) (int, error)) *fakeRuntime {
	return &fakeRuntime{killed: make(chan struct{}), run: run}
}

func (f *fakeRuntime) String() string { return "fake-runc" }

func (f *fakeRuntime) Run(ctx context.Context, bundle, id string, stdio Stdio) (int, error) {
	cfg, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	f.mu.Lock()
	f.calls = append(f.calls, "run "+id)
	f.config = cfg
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return f.run(f)
}

func (f *fakeRuntime) Kill(id, signal string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "kill "+id+" "+signal)
	select {
	case <-f.killed:
	default:
		close(f.killed)
	}
	return nil
}

func (f *fakeRuntime) Gone(string) bool { return f.gone }

func (f *fakeRuntime) Delete(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+id)
	return nil
}

// fakeTracer answers like a tracer that learned the container, or with
// the errors set.
type fakeTracer struct {
	ensureErr, statusErr, waitErr error
	result                        profiler.Result
	waited                        bool
}

func (t *fakeTracer) Ensure() error { return t.ensureErr }
func (t *fakeTracer) Status(ctx context.Context, id string) (*profiler.Status, error) {
	if t.statusErr != nil {
		return nil, t.statusErr
	}
	return &profiler.Status{Syscalls: 1}, nil
}
func (t *fakeTracer) Wait(ctx context.Context, id string) (*profiler.Result, error) {
	t.waited = true
	if t.waitErr != nil {
		return nil, t.waitErr
	}
	return &t.result, nil
}

func exits(code int) func(*fakeRuntime) (int, error) {
	return func(*fakeRuntime) (int, error) { return code, nil }
}

func fixture(t *testing.T, config string) Options {
	t.Helper()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Options{
		Bundle: bundle, Name: "c1", Output: filepath.Join(dir, "web.json"),
		Hook:   specs.Hook{Path: "/usr/local/bin/tailor", Args: []string{"tailor", "hook"}},
		Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
	}
}

const goodConfig = `{"ociVersion":"1.2.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},
"linux":{"resources":{"memory":{"limit":9223372036854775807}}}}`

func TestRunPassesExitCodeAndCleansUp(t *testing.T) {
	for _, tc := range []struct {
		code int
		gone bool // the runtime removed the container
		want string
	}{
		{0, false, "run c1,delete c1"},
		{3, false, "run c1,delete c1"},
		{0, true, "run c1"},
		{3, true, "run c1"},
	} {
		code := tc.code
		o := fixture(t, goodConfig)
		rt := newFakeRuntime(exits(code))
		rt.gone = tc.gone
		tr := &fakeTracer{result: profiler.Result{Complete: true, Syscalls: 7}}
		o.Runtime, o.Tracer = rt, tr
		got, err := Run(context.Background(), o)
		if err != nil || got != code {
			t.Fatalf("Run = %d, %v; want %d, nil", got, err, code)
		}
		if calls := strings.Join(rt.calls, ","); calls != tc.want {
			t.Errorf("exit %d, gone %v: runtime calls %q, want %q", code, tc.gone, calls, tc.want)
		}
		cfg := string(rt.config)
		for _, want := range []string{`"limit":9223372036854775807`, `"path":"/usr/local/bin/tailor"`, `"--output","` + o.Output + `"`, `SCMP_ACT_ALLOW`, filepath.Join(o.Bundle, "rootfs")} {
			if !strings.Contains(cfg, want) {
				t.Errorf("learning config lacks %s:\n%s", want, cfg)
			}
		}
		if !strings.Contains(o.Stderr.(*bytes.Buffer).String(), "learned 7 syscalls") {
			t.Errorf("stderr %q", o.Stderr)
		}
	}
}

func TestRunTimeoutKills(t *testing.T) {
	o := fixture(t, goodConfig)
	rt := newFakeRuntime(func(f *fakeRuntime) (int, error) {
		select {
		case <-f.killed:
			return 137, nil
		case <-time.After(10 * time.Second):
			return 0, errors.New("never killed")
		}
	})
	o.Runtime, o.Tracer, o.Timeout = rt, &fakeTracer{result: profiler.Result{Complete: true}}, 20*time.Millisecond
	code, err := Run(context.Background(), o)
	if err != nil || code != 137 {
		t.Fatalf("Run = %d, %v; want 137", code, err)
	}
	if want := "run c1,kill c1 KILL,delete c1"; strings.Join(rt.calls, ",") != want {
		t.Errorf("runtime calls %q, want %q", rt.calls, want)
	}
	if !strings.Contains(o.Stderr.(*bytes.Buffer).String(), "longer than --timeout") {
		t.Errorf("stderr does not say the container was killed: %q", o.Stderr)
	}
}

func TestRunFailsFast(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		runtime *fakeRuntime
		tracer  *fakeTracer
		is      error
		want    string
		waited  bool
	}{
		{name: "missing bundle", is: ErrBadInput, want: "config.json"},
		{name: "invalid config", config: `{"process":{"args":"sh"}}`, is: ErrBadInput, want: "invalid OCI config"},
		{name: "case variant key", config: `{"root":{"path":"r"},"Root":{"path":"/"}}`, is: ErrBadInput, want: "is not runtime-spec's"},
		{name: "no tracer", config: goodConfig, tracer: &fakeTracer{ensureErr: profiler.ErrNoTracer}, is: ErrLearn, want: "not running"},
		{name: "runtime cannot run", config: goodConfig, runtime: newFakeRuntime(func(*fakeRuntime) (int, error) { return 0, errors.New("exec format error") }),
			is: ErrLearn, want: "exec format error"},
		{name: "runtime failed before the container", config: goodConfig, runtime: newFakeRuntime(exits(1)),
			tracer: &fakeTracer{statusErr: profiler.ErrUnknownContainer}, is: ErrLearn, want: "no record of it"},
		{name: "profile not written", config: goodConfig, tracer: &fakeTracer{result: profiler.Result{Error: "disk full"}},
			is: ErrLearn, want: "disk full", waited: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := fixture(t, tc.config)
			if tc.runtime == nil {
				tc.runtime = newFakeRuntime(exits(0))
			}
			if tc.tracer == nil {
				tc.tracer = &fakeTracer{}
			}
			o.Runtime, o.Tracer = tc.runtime, tc.tracer
			_, err := Run(context.Background(), o)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want %v saying %q", err, tc.is, tc.want)
			}
			if tc.tracer.waited != tc.waited {
				t.Errorf("waited for the profile: %v, want %v", tc.tracer.waited, tc.waited)
			}
			if _, err := os.Stat(o.Output); err == nil {
				t.Error("a profile was written")
			}
		})
	}
}

func TestRunRefusesMissingOutputDir(t *testing.T) {
	o := fixture(t, goodConfig)
	o.Output = filepath.Join(t.TempDir(), "nosuch", "web.json")
	o.Runtime, o.Tracer = newFakeRuntime(exits(0)), &fakeTracer{}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Run error = %v, want ErrBadInput", err)
	}
}

// TestRunDeletesWhenTheRuntimeFailed: a runtime that could not be run may
// have left the container behind, whatever its state directory says.
func TestRunDeletesWhenTheRuntimeFailed(t *testing.T) {
	o := fixture(t, goodConfig)
	rt := newFakeRuntime(func(*fakeRuntime) (int, error) { return 0, errors.New("exec format error") })
	rt.gone = true
	o.Runtime, o.Tracer = rt, &fakeTracer{}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrLearn) {
		t.Fatalf("Run error = %v, want ErrLearn", err)
	}
	if want := "run c1,delete c1"; strings.Join(rt.calls, ",") != want {
		t.Errorf("runtime calls %q, want %q", rt.calls, want)
	}
}

func TestOCIRuntimeGone(t *testing.T) {
	if (OCIRuntime{Path: "/usr/bin/youki"}).Gone("c1") {
		t.Error("a runtime whose state directory is unknown reported a container gone")
	}
	for _, id := range []string{"", ".", "..", "a/b", "../runc"} {
		if (OCIRuntime{Path: "/usr/sbin/runc"}).Gone(id) {
			t.Errorf("Gone(%q) = true for an id runc refuses", id)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("runc's state directory without --root is root's")
	}
	root := t.TempDir()
	old := stateRoots["runc"]
	stateRoots["runc"] = root
	defer func() { stateRoots["runc"] = old }()
	runc := OCIRuntime{Path: "/usr/sbin/runc"}
	if !runc.Gone("c1") {
		t.Error("a container with no state directory is not reported gone")
	}
	if err := os.Mkdir(filepath.Join(root, "c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if runc.Gone("c1") {
		t.Error("a container whose state directory exists is reported gone")
	}
}
