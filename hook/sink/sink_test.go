package sink

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/internal/seccompvm"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

func learned() *profiles.Profile {
	p := profiles.New("")
	p.ABIs = []profiles.ABISyscalls{{ABI: profiles.ABIX8664, Syscalls: []profiles.Syscall{
		{Name: "read", Seen: profiles.Seen{Recordings: 1}}, {Name: "write", Seen: profiles.Seen{Recordings: 1}},
		{Name: "mkdir", Seen: profiles.Seen{Recordings: 1}}, {Name: "exit_group", Seen: profiles.Seen{Recordings: 1}},
	}}}
	p.Normalize()
	return p
}

// sinkFor prepares like the hook does and returns the registration the
// tracer would get.
func sinkFor(t *testing.T, ann map[string]string, opts hook.Options) profiler.Registration {
	t.Helper()
	req, err := hook.Prepare(ann, opts)
	t.Cleanup(req.Close)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	raw, _ := json.Marshal(req.Out)
	return profiler.Registration{ContainerID: "c1", Outputs: raw, Files: req.Files}
}

// TestSinkWritesThroughHandles swaps the output's directory for a
// symlink after the hook checked it (as a tenant who can write under an
// allowed directory could, while the container runs): the profile still
// lands in the directory the hook opened, never where the link points.
func TestSinkWritesThroughHandles(t *testing.T) {
	base := t.TempDir()
	allowed := filepath.Join(base, "allowed")
	victim := filepath.Join(base, "victim")
	for _, d := range []string{filepath.Join(allowed, "team"), victim} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(victim, "out.json"), []byte("precious"), 0o644)
	reg := sinkFor(t, map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/team/out.json"}, hook.Options{AllowDirs: []string{allowed}})

	if err := os.Rename(filepath.Join(allowed, "team"), filepath.Join(allowed, "team.moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(allowed, "team")); err != nil {
		t.Fatal(err)
	}
	if err := Sink(reg, learned()); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(victim, "out.json")); string(data) != "precious" {
		t.Errorf("the victim's file was replaced: %q", data)
	}
	data, err := os.ReadFile(filepath.Join(allowed, "team.moved", "out.json"))
	if err != nil || !strings.Contains(string(data), "SCMP_ACT_ALLOW") {
		t.Errorf("the seccomp JSON is not in the directory the hook opened: %v %s", err, data)
	}
}

// TestInputReadOnce: the if: input is read by the hook while the
// container is created; replacing it later (in what used to be the
// re-check-to-write window) changes nothing the tracer writes.
func TestInputReadOnce(t *testing.T) {
	allowed := t.TempDir()
	in := filepath.Join(allowed, "in.json")
	os.WriteFile(in, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
	reg := sinkFor(t, map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/out.json;if:" + in}, hook.Options{AllowDirs: []string{allowed}})
	os.Remove(in)
	os.Symlink("/etc/shadow", in)
	if err := Sink(reg, learned()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(allowed, "out.json"))
	if !strings.Contains(string(data), "getpid") {
		t.Errorf("the input read at hook time is not in the output:\n%s", data)
	}
}

// TestInputRules: oci-seccomp-bpf-hook's semantics of if: — what the
// input refuses stays refused even though the run made it; what it allows
// is added; foreign architectures are refused.
func TestInputRules(t *testing.T) {
	allowed := t.TempDir()
	in := filepath.Join(allowed, "in.json")
	os.WriteFile(in, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
		{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
	reg := sinkFor(t, map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/out.json;if:" + in}, hook.Options{AllowDirs: []string{allowed}})
	if err := Sink(reg, learned()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(allowed, "out.json"))
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	action := map[string]specs.LinuxSeccompAction{}
	for _, r := range sc.Syscalls {
		for _, n := range r.Names {
			if _, dup := action[n]; dup {
				t.Errorf("%s has two rules", n)
			}
			action[n] = r.Action
		}
	}
	if action["mkdir"] != specs.ActErrno || action["getpid"] != specs.ActAllow || action["read"] != specs.ActAllow {
		t.Errorf("actions %v: want mkdir refused as the input says, getpid and read allowed", action)
	}

	os.WriteFile(in, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}],`+"\n"+`"Syscalls":[]}`), 0o644)
	if _, err := hook.Prepare(map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/o.json;if:" + in}, hook.Options{AllowDirs: []string{allowed}}); err == nil ||
		!strings.Contains(err.Error(), in+": line 2, column 1: in the document: key \"Syscalls\" is not the field \"syscalls\"") {
		t.Errorf("a case variant of syscalls in the input: %v", err)
	}

	os.WriteFile(in, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_AARCH64"]}`), 0o644)
	if _, err := hook.Prepare(map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/o.json;if:" + in}, hook.Options{AllowDirs: []string{allowed}}); err == nil ||
		!strings.Contains(err.Error(), "SCMP_ARCH_AARCH64") {
		t.Errorf("a foreign architecture: %v", err)
	}
}

// TestLearningAddsARecording: dev.tailor.learn never replaces the
// stored profile others enforce, unless the operator said so; recordings
// are scoped by the pod's namespace.
func TestLearningAddsARecording(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	store := profiles.NewStore(dir)
	enforced := learned()
	enforced.Name = "web"
	if err := store.Save(enforced); err != nil {
		t.Fatal(err)
	}
	wider := learned()
	wider.ABIs[0].Syscalls = append(wider.ABIs[0].Syscalls, profiles.Syscall{Name: "ptrace", Seen: profiles.Seen{Recordings: 1}})
	wider.Normalize()

	reg := sinkFor(t, map[string]string{hook.AnnotationLearn: "web", hook.AnnotationNamespace: "team-a"}, hook.Options{Store: dir})
	if err := Sink(reg, wider); err != nil {
		t.Fatal(err)
	}
	if p, _ := store.Load("web"); slices.ContainsFunc(p.ABIs[0].Syscalls, func(s profiles.Syscall) bool { return s.Name == "ptrace" }) {
		t.Error("a learning request replaced the enforced profile")
	}
	if recs, _ := store.Recordings("team-a", "web"); len(recs) != 1 {
		t.Errorf("recordings of team-a/web: %v", recs)
	}
	if recs, _ := store.Recordings("", "web"); len(recs) != 0 {
		t.Errorf("a namespace's recording landed in the host's: %v", recs)
	}

	reg = sinkFor(t, map[string]string{hook.AnnotationLearn: "web"}, hook.Options{Store: dir, LearnReplaces: true})
	if err := Sink(reg, wider); err != nil {
		t.Fatal(err)
	}
	if p, _ := store.Load("web"); !slices.ContainsFunc(p.ABIs[0].Syscalls, func(s profiles.Syscall) bool { return s.Name == "ptrace" }) {
		t.Error("--learn-replaces did not replace the profile")
	}
	if _, err := hook.Prepare(map[string]string{hook.AnnotationLearn: "web", hook.AnnotationNamespace: "../x"}, hook.Options{Store: dir}); !errors.Is(err, profiles.ErrBadName) {
		t.Errorf("a bad namespace: %v", err)
	}
}

// TestInputRefusesSomeArguments: an input that refuses mkdir only with
// mode 0777 keeps the learned allow for every other mode. Checked on the
// filter itself: libseccomp lets an unconditional allow of a syscall
// override its argument rules, so the two must be made disjoint.
func TestInputRefusesSomeArguments(t *testing.T) {
	allowed := t.TempDir()
	in := filepath.Join(allowed, "in.json")
	os.WriteFile(in, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
		{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":1,"value":511,"valueTwo":511,"op":"SCMP_CMP_MASKED_EQ"}]},
		{"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":9,"args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]},
		{"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":9,"args":[{"index":2,"value":4096,"op":"SCMP_CMP_GT"}]}]}`), 0o644)
	reg := sinkFor(t, map[string]string{hook.AnnotationTraceSyscall: "of:" + allowed + "/out.json;if:" + in}, hook.Options{AllowDirs: []string{allowed}})
	if err := Sink(reg, learned()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(allowed, "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	f, err := generator.Compile(&sc)
	if err != nil {
		t.Fatalf("compile the output: %v\n%s", err, data)
	}
	raw, err := generator.ExportBPF(f)
	f.Release()
	if err != nil {
		t.Fatal(err)
	}
	vm := seccompvm.New(t, raw)
	const mkdir, write, read, getppid = 83, 1, 0, 110
	for _, tc := range []struct {
		name string
		nr   int
		args []uint64
		want string
	}{
		{"mkdir 0777", mkdir, []uint64{0, 0o777}, "errno 13"},
		{"mkdir 01777", mkdir, []uint64{0, 0o1777}, "errno 13"},
		{"mkdir 0755", mkdir, []uint64{0, 0o755}, "allow"},
		{"mkdir 0", mkdir, []uint64{0, 0}, "allow"},
		{"write to stderr", write, []uint64{2, 0, 10}, "errno 9"},
		{"write of 8 KiB", write, []uint64{1, 0, 8192}, "errno 9"},
		{"write to stdout", write, []uint64{1, 0, 10}, "allow"},
		{"read (learned, not in the input)", read, []uint64{0, 0, 1}, "allow"},
		{"getppid (neither)", getppid, nil, "errno 1"},
	} {
		if got := seccompvm.Verdict(vm.Run(t, seccompvm.ArchX8664, tc.nr, tc.args...)); got != tc.want {
			t.Errorf("%s: %s, want %s\n%s", tc.name, got, tc.want, data)
		}
	}
}
