package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/profiles"
)

// runtimeFixture is a bundle, a store and a fake runtime for Run.
type runtimeFixture struct {
	bundle, store, runtime, log string
	execs                       [][]string
}

func newRuntimeFixture(t *testing.T, env []string, annotations map[string]string) *runtimeFixture {
	t.Helper()
	dir := t.TempDir()
	f := &runtimeFixture{bundle: filepath.Join(dir, "bundle"), store: filepath.Join(dir, "store"),
		runtime: filepath.Join(dir, "fake-runc"), log: filepath.Join(dir, "bundle", "log.json")}
	if err := os.MkdirAll(f.bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.runtime, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{"args": []string{"/bin/sh"}, "cwd": "/", "env": append([]string{"PATH=/bin"}, env...),
			"capabilities": map[string]any{"bounding": []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}}},
		"root":        map[string]any{"path": "rootfs"},
		"annotations": annotations,
		"linux":       map[string]any{"namespaces": []any{map[string]any{"type": "mount"}}},
		"x-unknown":   "kept",
	}
	data, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.config(), data, 0o640); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *runtimeFixture) config() string { return filepath.Join(f.bundle, "config.json") }

func (f *runtimeFixture) save(t *testing.T, p *profiles.Profile) {
	t.Helper()
	if err := profiles.NewStore(f.store).Save(p); err != nil {
		t.Fatal(err)
	}
}

func (f *runtimeFixture) run(args []string, apply bundle.ApplyOptions) error {
	return f.runWith(args, Options{Apply: apply})
}

func (f *runtimeFixture) runWith(args []string, o Options) error {
	return Run(Options{
		Runtime: f.runtime, Args: args, Store: f.store, Exe: "/usr/local/bin/tailor", Apply: o.Apply, NoLearn: o.NoLearn, Complain: o.Complain,
		Exec: func(path string, argv, env []string) error {
			f.execs = append(f.execs, append([]string{path}, argv...))
			return nil
		},
	})
}

func (f *runtimeFixture) createArgs() []string {
	return []string{"--root", "/run/x", "--log", f.log, "--log-format", "json", "create", "--bundle", f.bundle, "--pid-file", "/p", "id1"}
}

func webProfile(complete bool) *profiles.Profile {
	p := profiles.New("web")
	p.Complete = complete
	if !complete {
		p.Loss.Events = 3
	}
	var calls []profiles.Syscall
	for _, n := range []string{"execve", "exit_group", "read", "write"} {
		calls = append(calls, profiles.Syscall{Name: n, Seen: profiles.Seen{Recordings: 1}})
	}
	p.ABIs = []profiles.ABISyscalls{{ABI: profiles.ABIX8664, Syscalls: calls}}
	p.Capabilities = []profiles.Capability{{Name: "CAP_CHOWN", Granted: true, Seen: profiles.Seen{Recordings: 1}}}
	return p
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestRunPrepares checks what create does to config.json for each
// request, and that the real runtime is then exec'd with the original
// arguments.
func TestRunPrepares(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		annotations map[string]string
		check       func(t *testing.T, cfg map[string]any)
	}{
		{"nothing asked", nil, nil, nil},
		{"learn from the environment", []string{"TAILOR_LEARN=web"}, nil, checkLearning},
		{"learn from the annotation", nil, map[string]string{hook.AnnotationLearn: "web"}, checkLearning},
		{"learn from both, agreeing", []string{"TAILOR_LEARN=web"}, map[string]string{hook.AnnotationLearn: "web"}, checkLearning},
		{"enforce from the environment", []string{"TAILOR_PROFILE=web"}, nil, checkEnforced},
		{"enforce from the annotation", nil, map[string]string{AnnotationProfile: "web"}, checkEnforced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, tt.env, tt.annotations)
			f.save(t, webProfile(true))
			before, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			if err := f.run(f.createArgs(), bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := append([]string{f.runtime, "fake-runc"}, f.createArgs()...)
			if len(f.execs) != 1 || !reflect.DeepEqual(f.execs[0], want) {
				t.Errorf("exec'd %q, want %q", f.execs, want)
			}
			after, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			if tt.check == nil {
				if !bytes.Equal(before, after) {
					t.Errorf("config.json changed although nothing was asked:\n%s", after)
				}
				return
			}
			if fi, err := os.Stat(f.config()); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("config.json mode: %v %v, want 0640", fi.Mode(), err)
			}
			cfg := readJSON(t, f.config())
			if cfg["x-unknown"] != "kept" {
				t.Errorf("unknown field lost: %v", cfg["x-unknown"])
			}
			tt.check(t, cfg)
		})
	}
}

func checkLearning(t *testing.T, cfg map[string]any) {
	t.Helper()
	if ann, _ := cfg["annotations"].(map[string]any); ann[hook.AnnotationLearn] != "web" {
		t.Errorf("annotations = %v, want %s=web", cfg["annotations"], hook.AnnotationLearn)
	}
	hooks, _ := cfg["hooks"].(map[string]any)
	list, _ := hooks["createRuntime"].([]any)
	if len(list) != 1 {
		t.Fatalf("createRuntime hooks = %v, want the tailor hook", hooks)
	}
	h, _ := list[0].(map[string]any)
	args, _ := json.Marshal(h["args"])
	full := h["path"] == "/usr/local/bin/tailor" && strings.HasPrefix(string(args), `["tailor","hook","--store"`)
	lean := h["path"] == "/usr/local/bin/tailor-hook" && strings.HasPrefix(string(args), `["tailor-hook","--store"`)
	if !full && !lean {
		t.Errorf("hook = %v", h)
	}
	linux, _ := cfg["linux"].(map[string]any)
	if sc, _ := linux["seccomp"].(map[string]any); sc["defaultAction"] != "SCMP_ACT_ALLOW" {
		t.Errorf("learning filter missing: linux.seccomp = %v", linux["seccomp"])
	}
	if root, _ := cfg["root"].(map[string]any); root["path"] != "rootfs" {
		t.Errorf("root.path = %v, want it relative as the engine wrote it", root["path"])
	}
}

func checkEnforced(t *testing.T, cfg map[string]any) {
	t.Helper()
	linux, _ := cfg["linux"].(map[string]any)
	sc, _ := linux["seccomp"].(map[string]any)
	if sc["defaultAction"] != "SCMP_ACT_ERRNO" || sc["syscalls"] == nil {
		t.Errorf("linux.seccomp = %v, want the profile's filter", sc)
	}
	proc, _ := cfg["process"].(map[string]any)
	caps, _ := proc["capabilities"].(map[string]any)
	if got, _ := json.Marshal(caps["bounding"]); string(got) != `["CAP_CHOWN"]` {
		t.Errorf("bounding capabilities = %s, want the profile's", got)
	}
	if cfg["hooks"] != nil {
		t.Errorf("enforcement added hooks: %v", cfg["hooks"])
	}
}

// TestRunRefuses checks that a container whose request cannot be met
// never reaches the runtime, its config is untouched, and the reason is in
// the runtime log where containerd looks for it.
func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		annotations map[string]string
		stored      *profiles.Profile
		raw         string // written as the stored profile "web" instead
		noLearn     bool
		want        string
	}{
		{"learning disabled", []string{"TAILOR_LEARN=web"}, nil, webProfile(true), "", true, "--no-learn"},
		{"missing profile", []string{"TAILOR_PROFILE=nosuch"}, nil, webProfile(true), "", false, `profile "nosuch" is not in the store`},
		{"invalid profile", []string{"TAILOR_PROFILE=web"}, nil, nil, `{"kind":"TailorProfile","schemaVersion":1,"abis":[{"abi":"mips","syscalls":[]}]}`, false, "mips"},
		{"incomplete profile", []string{"TAILOR_PROFILE=web"}, nil, webProfile(false), "", false, "incomplete"},
		{"both", []string{"TAILOR_LEARN=web", "TAILOR_PROFILE=web"}, nil, webProfile(true), "", false, "both"},
		{"learn env and profile annotation", []string{"TAILOR_LEARN=web"}, map[string]string{AnnotationProfile: "web"}, webProfile(true), "", false, "both"},
		{"empty name", []string{"TAILOR_PROFILE="}, nil, webProfile(true), "", false, "empty"},
		{"bad name", []string{"TAILOR_PROFILE=../web"}, nil, webProfile(true), "", false, "invalid profile name"},
		{"contradiction", []string{"TAILOR_LEARN=web"}, map[string]string{hook.AnnotationLearn: "db"}, nil, "", false, "contradicts"},
		{"repeated", []string{"TAILOR_PROFILE=web", "TAILOR_PROFILE=db"}, nil, webProfile(true), "", false, "contradicts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, tt.env, tt.annotations)
			if tt.stored != nil {
				f.save(t, tt.stored)
			}
			if tt.raw != "" {
				if err := os.MkdirAll(f.store, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(f.store, "web.json"), []byte(tt.raw), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			err = f.runWith(f.createArgs(), Options{NoLearn: tt.noLearn})
			if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want ErrRuntime naming %q", err, tt.want)
			}
			if len(f.execs) != 0 {
				t.Errorf("the runtime ran: %q", f.execs)
			}
			if after, _ := os.ReadFile(f.config()); !bytes.Equal(before, after) {
				t.Errorf("config.json changed:\n%s", after)
			}
			var entry struct{ Level, Msg, Time string }
			log, _ := os.ReadFile(f.log)
			if jerr := json.Unmarshal(log, &entry); jerr != nil || entry.Level != "error" || entry.Msg != err.Error() {
				t.Errorf("runtime log = %q, want one JSON error entry with the error", log)
			}
		})
	}
}

// TestRunPassesThrough checks that commands other than create and
// run never look at the bundle, even one that would be refused.
func TestRunPassesThrough(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"start", []string{"--root", "/r", "start", "id1"}},
		{"delete", []string{"--root", "/r", "delete", "--force", "id1"}},
		{"kill", []string{"--root", "/r", "kill", "id1", "9"}},
		{"version", []string{"--version"}},
	}
	for _, tt := range tests {
		args := tt.args
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=nosuch"}, nil)
			t.Chdir(f.bundle)
			if err := f.run(args, bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if want := append([]string{f.runtime, "fake-runc"}, args...); len(f.execs) != 1 || !reflect.DeepEqual(f.execs[0], want) {
				t.Errorf("exec'd %q, want %q", f.execs, want)
			}
		})
	}
}

// TestRunAmbiguous checks that a command line whose command the
// wrapper cannot find, but which may be a create, is refused rather than
// passed through unprepared.
func TestRunAmbiguous(t *testing.T) {
	f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
	f.save(t, webProfile(true))
	args := []string{"--new-value-flag", "x", "create", "--bundle", f.bundle, "id1"}
	if err := f.run(args, bundle.ApplyOptions{}); !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), "cannot tell") {
		t.Fatalf("Run(%q) = %v, want a refusal", args, err)
	}
	if len(f.execs) != 0 {
		t.Errorf("the runtime ran: %q", f.execs)
	}
	// An unknown flag without "create" or "run" anywhere passes through.
	if err := f.run([]string{"--new-value-flag", "x", "state", "id1"}, bundle.ApplyOptions{}); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRunAllowIncomplete(t *testing.T) {
	f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
	f.save(t, webProfile(false))
	if err := f.run(f.createArgs(), bundle.ApplyOptions{AllowIncomplete: true}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkEnforced(t, readJSON(t, f.config()))
}

func TestRunWorkingDirectoryBundle(t *testing.T) {
	f := newRuntimeFixture(t, []string{"TAILOR_LEARN=web"}, nil)
	t.Chdir(f.bundle)
	if err := f.run([]string{"create", "id1"}, bundle.ApplyOptions{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkLearning(t, readJSON(t, f.config()))
}

// TestRunNeverWidensCapabilities checks that a profile (which an
// image can pick through its environment) cannot grant a capability the
// engine did not give the container.
func TestRunNeverWidensCapabilities(t *testing.T) {
	f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
	p := webProfile(true)
	p.Capabilities = append(p.Capabilities, profiles.Capability{Name: "CAP_NET_ADMIN", Granted: true, Seen: profiles.Seen{Recordings: 1}})
	f.save(t, p)
	if err := f.run(f.createArgs(), bundle.ApplyOptions{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	cfg := readJSON(t, f.config())
	checkEnforced(t, cfg)
	caps := cfg["process"].(map[string]any)["capabilities"].(map[string]any)
	for set, list := range caps {
		if got, _ := json.Marshal(list); strings.Contains(string(got), "NET_ADMIN") || set == "effective" && string(got) != "[]" {
			t.Errorf("capabilities.%s = %s: wider than the engine's (bounding CAP_CHOWN, CAP_SYS_ADMIN only)", set, got)
		}
	}
	if log, _ := os.ReadFile(f.log); !strings.Contains(string(log), `"level":"warning"`) || !strings.Contains(string(log), "CAP_NET_ADMIN") {
		t.Errorf("runtime log does not warn about CAP_NET_ADMIN: %s", log)
	}
}

// TestRunNeverWidensSeccomp checks that a profile (which an image can
// pick through its environment) cannot allow a syscall the engine's own
// filter refuses: the filter enforced is the intersection, and the
// runtime log says what it took away.
func TestRunNeverWidensSeccomp(t *testing.T) {
	tests := []struct {
		name    string
		engine  *specs.LinuxSeccomp
		profile func(*profiles.Profile)
		refused string
	}{
		{name: "a filter refusing write", refused: "write",
			engine: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"execve", "exit", "exit_group", "read", "restart_syscall", "rt_sigreturn"},
					Action: specs.ActAllow}}}},
		{name: "Docker's default", refused: "unshare", engine: generator.DockerDefaultSeccomp(),
			profile: func(p *profiles.Profile) {
				p.ABIs[0].Syscalls = append(p.ABIs[0].Syscalls, profiles.Syscall{Name: "unshare",
					Args: &profiles.ArgValues{Values: []uint64{unix.CLONE_NEWUSER}}, Seen: profiles.Seen{Recordings: 1}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
			cfg := readJSON(t, f.config())
			cfg["linux"].(map[string]any)["seccomp"] = tt.engine
			data, err := json.MarshalIndent(cfg, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.config(), data, 0o640); err != nil {
				t.Fatal(err)
			}
			p := webProfile(true)
			if tt.profile != nil {
				tt.profile(p)
			}
			f.save(t, p)
			if err := f.run(f.createArgs(), bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			out := readJSON(t, f.config())
			checkEnforced(t, out)
			enforced, err := json.Marshal(out["linux"].(map[string]any)["seccomp"])
			if err != nil {
				t.Fatal(err)
			}
			var s specs.LinuxSeccomp
			if err := json.Unmarshal(enforced, &s); err != nil {
				t.Fatal(err)
			}
			for _, r := range s.Syscalls {
				if slices.Contains(r.Names, tt.refused) && (r.Action == specs.ActAllow || r.Action == specs.ActLog) {
					t.Errorf("%s allowed although the engine's filter refuses it: %+v", tt.refused, r)
				}
			}
			if !slices.ContainsFunc(s.Syscalls, func(r specs.LinuxSyscall) bool { return slices.Contains(r.Names, "read") && r.Action == specs.ActAllow }) {
				t.Errorf("read, which both allow, is not allowed: %+v", s.Syscalls)
			}
			log, _ := os.ReadFile(f.log)
			if want := "the engine's filter refuses " + tt.refused + ": not allowed"; !strings.Contains(string(log), `"level":"warning"`) || !strings.Contains(string(log), want) {
				t.Errorf("runtime log does not warn %q: %s", want, log)
			}
		})
	}
}
