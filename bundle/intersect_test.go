package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

// configWith is a minimal config.json whose linux.seccomp is filter
// (none when nil).
func configWith(t *testing.T, filter *specs.LinuxSeccomp) []byte {
	t.Helper()
	spec := map[string]any{"ociVersion": "1.2.0", "process": map[string]any{"args": []string{"sh"}, "cwd": "/"},
		"root": map[string]any{"path": "rootfs"}}
	if filter != nil {
		spec["linux"] = map[string]any{"seccomp": filter}
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func seccompIn(t *testing.T, config []byte) *specs.LinuxSeccomp {
	t.Helper()
	var spec specs.Spec
	if err := json.Unmarshal(config, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		t.Fatalf("no linux.seccomp in\n%s", config)
	}
	return spec.Linux.Seccomp
}

// allowedNames lists the names a filter allows with any arguments.
func allowedNames(s *specs.LinuxSeccomp) []string {
	var out []string
	for _, r := range s.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			out = append(out, r.Names...)
		}
	}
	slices.Sort(out)
	return out
}

// TestApplyWithinDockerDefault is the case: a profile learned
// under the allow-all learning filter that made a user namespace, applied
// to a bundle that carries Docker's default filter.
func TestApplyWithinDockerDefault(t *testing.T) {
	p := applyProfile(t)
	p.ABIs[0].Syscalls = append(p.ABIs[0].Syscalls,
		profiles.Syscall{Name: "unshare", Args: &profiles.ArgValues{Values: []uint64{unix.CLONE_NEWUSER}}},
		profiles.Syscall{Name: "clone", Args: &profiles.ArgValues{Values: []uint64{0, unix.CLONE_NEWUSER}}})
	p.Normalize()
	docker := generator.DockerDefaultSeccomp()
	out, notes, err := ApplyProfile(configWith(t, docker), p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	generated, _, err := generator.Seccomp(p, generator.SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := generator.Intersect(generated, docker)
	if err != nil {
		t.Fatal(err)
	}
	got := seccompIn(t, out)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("linux.seccomp is not the intersection with Docker's default:\n%+v", got)
	}
	for _, r := range got.Syscalls {
		if slices.Contains(r.Names, "unshare") && r.Action == specs.ActAllow {
			t.Errorf("unshare allowed: %+v", r)
		}
		if slices.Contains(r.Names, "clone") && r.Action == specs.ActAllow &&
			(len(r.Args) == 0 || r.Args[0].ValueTwo&unix.CLONE_NEWUSER != 0 || r.Args[0].Op == specs.OpEqualTo && r.Args[0].Value&unix.CLONE_NEWUSER != 0) {
			t.Errorf("clone allowed with CLONE_NEWUSER: %+v", r)
		}
	}
	var text strings.Builder
	for _, n := range notes {
		text.WriteString(n.String() + "\n")
	}
	for _, w := range []string{"the bundle's linux.seccomp is kept as a limit", "it refuses unshare and narrows the arguments of clone",
		"unshare: the engine's filter refuses unshare: not allowed", "clone: the engine's filter allows clone only for some arguments"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("no note says %q; notes:\n%s", w, text.String())
		}
	}
}

// TestApplyBundleAgainIntersectsWithTheOriginal checks that a second apply
// is limited by the user's own filter (kept in the backup), not by the
// filter the first apply wrote, and that a bundle that had no filter of
// its own gets the profile's whole.
func TestApplyBundleAgainIntersectsWithTheOriginal(t *testing.T) {
	engine := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"execve", "exit", "exit_group", "getpid", "read", "restart_syscall",
			"rt_sigreturn", "socket"}, Action: specs.ActAllow}}}
	narrow := applyProfile(t) // read, write, exit_group, execve, socket
	wide := applyProfile(t)
	wide.ABIs[0].Syscalls = append(wide.ABIs[0].Syscalls, profiles.Syscall{Name: "getpid"})
	wide.Normalize()
	tests := []struct {
		name         string
		engine       *specs.LinuxSeccomp
		first, again []string // the names allowed with any arguments after each apply
	}{
		{name: "the bundle's filter", engine: engine,
			first: []string{"execve", "exit", "exit_group", "read", "restart_syscall", "rt_sigreturn"},
			again: []string{"execve", "exit", "exit_group", "getpid", "read", "restart_syscall", "rt_sigreturn"}},
		{name: "no filter of its own", engine: nil,
			first: []string{"execve", "exit", "exit_group", "read", "restart_syscall", "rt_sigreturn", "write"},
			again: []string{"execve", "exit", "exit_group", "getpid", "read", "restart_syscall", "rt_sigreturn", "write"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			config := filepath.Join(dir, "config.json")
			original := configWith(t, tc.engine)
			if err := os.WriteFile(config, original, 0o600); err != nil {
				t.Fatal(err)
			}
			for i, step := range []struct {
				p    *profiles.Profile
				want []string
			}{{narrow, tc.first}, {wide, tc.again}} {
				notes, err := ApplyBundle(dir, step.p, ApplyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(config)
				if err != nil {
					t.Fatal(err)
				}
				if got := allowedNames(seccompIn(t, data)); !slices.Equal(got, step.want) {
					t.Errorf("apply %d allows %v, want %v", i+1, got, step.want)
				}
				limited := slices.ContainsFunc(notes, func(n generator.Note) bool {
					return strings.Contains(n.Text, "the linux.seccomp of "+config+BackupSuffix+" is kept as a limit") ||
						i == 0 && strings.Contains(n.Text, "the linux.seccomp of "+config+" is kept as a limit")
				})
				if limited != (tc.engine != nil) {
					t.Errorf("apply %d: a note names the filter kept as a limit: %v, want %v; notes %v", i+1, limited, tc.engine != nil, notes)
				}
			}
			assertFile(t, config+BackupSuffix, original, 0o600)
			if f, from, err := EngineSeccomp(dir); err != nil || from != config+BackupSuffix || !reflect.DeepEqual(f, tc.engine) {
				t.Errorf("EngineSeccomp = %+v, %s, %v; want the original's filter from the backup", f, from, err)
			}
		})
	}
}

func TestEngineSeccompRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := EngineSeccomp(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("no config.json: %v", err)
	}
	config := filepath.Join(dir, "config.json")
	if err := os.WriteFile(config, configWith(t, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, from, err := EngineSeccomp(dir); err != nil || f != nil || from != config {
		t.Errorf("no filter: %+v, %s, %v", f, from, err)
	}
	if err := os.WriteFile(config+BackupSuffix, []byte(`{"process":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EngineSeccomp(dir); err == nil || !strings.Contains(err.Error(), BackupSuffix) {
		t.Errorf("a broken backup: %v, want an error naming it", err)
	}
	if _, err := ApplyBundle(dir, applyProfile(t), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), BackupSuffix) {
		t.Errorf("apply with a broken backup: %v, want an error naming it", err)
	}
}
