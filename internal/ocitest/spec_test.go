package ocitest

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var runcCaps = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// base is the part of `runc spec`'s config the options touch.
func base() *specs.Spec {
	return &specs.Spec{
		Version: "1.0.2-dev",
		Process: &specs.Process{Terminal: true, Args: []string{"sh"}, Cwd: "/", NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{Bounding: runcCaps, Effective: runcCaps, Permitted: runcCaps, Ambient: runcCaps}},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "runc",
		Mounts:   []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux:    &specs.Linux{MaskedPaths: []string{"/proc/kcore"}},
	}
}

func TestConfigSpec(t *testing.T) {
	sixty := 60
	errno := uint(1)
	filter := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"kexec_load"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
	hook := specs.Hook{Path: "/usr/bin/tailor", Args: []string{"tailor", "hook"}, Timeout: &sixty}
	tests := []struct {
		name   string
		config Config
		check  func(t *testing.T, s *specs.Spec)
	}{
		{
			name:   "own copy of the rootfs",
			config: Config{Hostname: "tailor-e2e", Args: []string{"/bin/sh", "-c", "true"}},
			check: func(t *testing.T, s *specs.Spec) {
				want := base()
				want.Process.Terminal = false
				want.Process.Args = []string{"/bin/sh", "-c", "true"}
				want.Root = &specs.Root{Path: "rootfs"}
				want.Hostname = "tailor-e2e"
				if !reflect.DeepEqual(s, want) {
					t.Errorf("got %+v\nwant %+v", s, want)
				}
			},
		},
		{
			name:   "shared read-only rootfs",
			config: Config{Rootfs: "/images/busybox", ReadOnly: true, Args: []string{"/bin/true"}},
			check: func(t *testing.T, s *specs.Spec) {
				if *s.Root != (specs.Root{Path: "/images/busybox", Readonly: true}) {
					t.Errorf("root %+v", *s.Root)
				}
				if s.Hostname != "runc" {
					t.Errorf("hostname %q: an empty Hostname keeps runc spec's", s.Hostname)
				}
			},
		},
		{
			name:   "capabilities added once to every set",
			config: Config{Options: []Option{WithCaps("CAP_CHOWN", "CAP_KILL"), WithCaps("CAP_CHOWN")}},
			check: func(t *testing.T, s *specs.Spec) {
				want := append(append([]string{}, runcCaps...), "CAP_CHOWN")
				c := s.Process.Capabilities
				for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective,
					"permitted": c.Permitted, "ambient": c.Ambient} {
					if !reflect.DeepEqual(set, want) {
						t.Errorf("%s: %v, want %v", name, set, want)
					}
				}
				if c.Inheritable != nil {
					t.Errorf("inheritable set %v: runc spec leaves it empty", c.Inheritable)
				}
			},
		},
		{
			name: "hook, filter, annotation, no_new_privs off",
			config: Config{Options: []Option{WithCreateRuntimeHook(hook), WithSeccomp(filter),
				WithAnnotation("io.containers.trace-syscall", "of:/out.json"), WithNoNewPrivileges(false)}},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Hooks == nil || !reflect.DeepEqual(s.Hooks.CreateRuntime, []specs.Hook{hook}) {
					t.Errorf("hooks %+v", s.Hooks)
				}
				if s.Linux.Seccomp != filter || s.Linux.MaskedPaths == nil {
					t.Errorf("linux %+v: want the filter and runc spec's masked paths", s.Linux)
				}
				if s.Annotations["io.containers.trace-syscall"] != "of:/out.json" {
					t.Errorf("annotations %v", s.Annotations)
				}
				if s.Process.NoNewPrivileges {
					t.Error("noNewPrivileges still true")
				}
			},
		},
		{
			name:   "mounts appended",
			config: Config{Options: []Option{WithBindMount("/host/shared", "/shared"), WithTmpfs("/tmp")}},
			check: func(t *testing.T, s *specs.Spec) {
				want := []specs.Mount{
					{Destination: "/proc", Type: "proc", Source: "proc"},
					{Destination: "/shared", Type: "bind", Source: "/host/shared", Options: []string{"rbind", "rw"}},
					{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
				}
				if !reflect.DeepEqual(s.Mounts, want) {
					t.Errorf("mounts %+v", s.Mounts)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.config.Spec(base())) })
	}
}

// Options create the parts of the config they edit when a base lacks them.
func TestOptionsOnEmptySpec(t *testing.T) {
	c := Config{Args: []string{"/bin/true"}, Options: []Option{WithCaps("CAP_CHOWN"), WithSeccomp(&specs.LinuxSeccomp{}),
		WithCreateRuntimeHook(specs.Hook{Path: "/bin/true"}), WithAnnotation("k", "v"), WithNoNewPrivileges(true)}}
	s := c.Spec(&specs.Spec{})
	if s.Root.Path != "rootfs" || s.Process.Capabilities.Ambient[0] != "CAP_CHOWN" || s.Linux.Seccomp == nil ||
		len(s.Hooks.CreateRuntime) != 1 || s.Annotations["k"] != "v" || !s.Process.NoNewPrivileges {
		t.Fatalf("got %+v", s)
	}
}

// The config is written from typed fields: numbers up to 2^64-1 keep
// every digit (a map[string]any round trip would make them floats).
func TestWriteKeepsLargeNumbers(t *testing.T) {
	b := base()
	b.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: math.MaxUint64, Soft: math.MaxUint64}}
	limit := int64(math.MaxInt64)
	b.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	sc := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"},
		Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: math.MaxUint64, Op: specs.OpEqualTo}}}}}
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := (Config{Options: []Option{WithSeccomp(sc)}}).write(dir, b); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"hard": 18446744073709551615`, `"limit": 9223372036854775807`, `"value": 18446744073709551615`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("config.json lacks %s:\n%s", want, data)
		}
	}
}

func TestWriteRewrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	var seen []byte
	c := Config{Hostname: "bench", Rewrite: func(config []byte) ([]byte, error) {
		seen = config
		return []byte(`{"rewritten":true}`), nil
	}}
	if err := c.write(dir, base()); err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(seen, &s); err != nil || s.Hostname != "bench" {
		t.Errorf("Rewrite got %s (%v), want the finished config", seen, err)
	}
	if data, _ := os.ReadFile(ConfigPath(dir)); string(data) != `{"rewritten":true}` {
		t.Errorf("config.json is %s, want what Rewrite returned", data)
	}

	failed := filepath.Join(t.TempDir(), "failed")
	c.Rewrite = func([]byte) ([]byte, error) { return nil, errors.New("no hook") }
	if err := c.write(failed, base()); err == nil || !strings.Contains(err.Error(), "no hook") {
		t.Errorf("error %v, want Rewrite's", err)
	}
	if _, err := os.Stat(ConfigPath(failed)); err == nil {
		t.Error("config.json written although Rewrite failed")
	}
}

// RuncSpec parses `runc spec`'s config into specs.Spec: written back, it
// says all runc wrote (runc spec needs no root, only runc on PATH).
func TestRuncSpecRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		missing(t, "runc not found on PATH: run scripts/install-prereqs.sh")
	}
	raw, err := runcSpec()
	if err != nil {
		t.Fatal(err)
	}
	s, err := RuncSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Process == nil || len(s.Process.Capabilities.Bounding) == 0 || s.Root == nil {
		t.Fatalf("runc spec: no process capabilities or root: %+v", s)
	}
	typed, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(typed, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runc spec's config changed by the typed round trip:\nrunc: %s\ntyped: %s", raw, typed)
	}
	s.Hostname = "changed"
	if again, _ := RuncSpec(); again.Hostname == "changed" {
		t.Error("RuncSpec returned a shared spec: an edit leaked into the next call")
	}
}

// missing skips a test whose prerequisite is not there, except in CI
// (CI=true), which installs every prerequisite: a skip there would hide a
// test that never ran.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI installs every prerequisite)", why)
	}
	t.Skip(why)
}
