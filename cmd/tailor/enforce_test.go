package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
)

// runTailor runs the CLI in-process (generate, apply and report do not
// need root) and returns stdout, stderr and the exit code.
func runTailor(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, args...)
}

func writeProfile(t *testing.T, dir string, complete bool) string {
	t.Helper()
	p := profiles.New("web")
	p.ABIs = []profiles.ABISyscalls{{ABI: profiles.ABIX8664, Syscalls: []profiles.Syscall{
		{Name: "read"}, {Name: "write"}, {Name: "exit_group"}, {Name: "execve"},
		{Name: "ioctl", Args: &profiles.ArgValues{Values: []uint64{0x5401}}},
	}}}
	p.Capabilities = []profiles.Capability{{Name: "CAP_CHOWN", Granted: true}}
	if !complete {
		p.Loss.Events = 2
	}
	path := filepath.Join(dir, "web.json")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGenerateCommand(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	lossy := filepath.Join(t.TempDir(), "lossy.json")
	os.Rename(writeProfile(t, t.TempDir(), false), lossy)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		noStdout bool
	}{
		{name: "seccomp", args: []string{"generate", "--format", "seccomp", prof}, stdout: `"defaultErrnoRet": 1`},
		{name: "default format", args: []string{"generate", prof}, stdout: `"SCMP_ARCH_X86_64"`},
		{name: "enosys", args: []string{"generate", "--default-action", "enosys", prof}, stdout: `"defaultErrnoRet": 38`},
		{name: "capabilities", args: []string{"generate", "--format", "capabilities", prof}, stdout: `"inheritable": []`},
		{name: "flags default seccomp file", args: []string{"generate", "--format", "flags", prof},
			stdout: "--cap-drop=ALL --cap-add=CAP_CHOWN --security-opt seccomp=" + strings.TrimSuffix(prof, ".json") + ".seccomp.json\n"},
		{name: "flags seccomp file", args: []string{"generate", "--format", "flags", "--seccomp-file", "/etc/web.json", prof},
			stdout: "seccomp=/etc/web.json\n"},
		{name: "k8s", args: []string{"generate", "--format", "k8s", prof}, stdout: "localhostProfile: tailor/web.json"},
		{name: "k8s name", args: []string{"generate", "--format", "k8s", "--name", "api", prof}, stdout: "localhostProfile: tailor/api.json"},
		{name: "incomplete warns", args: []string{"generate", lossy}, stdout: `"defaultAction"`, stderr: "tailor: warning: " + lossy + " is incomplete"},
		{name: "unknown format", args: []string{"generate", "--format", "selinux", prof}, code: exitUsage,
			stderr: `--format: unknown format "selinux"`, noStdout: true},
		{name: "spo-seccomp", args: []string{"generate", "--format", "spo-seccomp", prof}, stdout: "kind: SeccompProfile"},
		{name: "k8s patch", args: []string{"generate", "--format", "k8s", "--container", "web", prof}, stdout: "name: web"},
		{name: "k8s spo", args: []string{"generate", "--format", "k8s", "--spo", prof}, stdout: "localhostProfile: operator/web.json"},
		{name: "spo-apparmor needs files", args: []string{"generate", "--format", "spo-apparmor", prof}, code: exitUsage,
			stderr: "did not record files", noStdout: true},
		{name: "container outside k8s", args: []string{"generate", "--format", "seccomp", "--container", "web", prof}, code: exitUsage,
			stderr: "--container applies to --format k8s only", noStdout: true},
		{name: "namespace", args: []string{"generate", "--format", "spo-seccomp", "--namespace", "shop", prof}, code: exitUsage,
			stderr: "cluster-scoped", noStdout: true},
		{name: "unknown action", args: []string{"generate", "--default-action", "allow", prof}, code: exitUsage,
			stderr: "--default-action", noStdout: true},
		{name: "no profile", args: []string{"generate"}, code: exitUsage, stderr: "one PROFILE argument", noStdout: true},
		{name: "missing profile", args: []string{"generate", filepath.Join(dir, "nope.json")}, code: exitUsage, stderr: "nope.json", noStdout: true},
		{name: "bad k8s name", args: []string{"generate", "--format", "k8s", "--name", "a/b", prof}, code: exitUsage,
			stderr: `profile name "a/b"`, noStdout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runTailor(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || (tc.noStdout && stdout != "") {
				t.Errorf("stdout:\n%s\nwant it to contain %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr, tc.stderr)
			}
		})
	}
}

func TestGenerateOutputFile(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	out := filepath.Join(dir, "web.seccomp.json")
	stdout, stderr, code := runTailor(t, "generate", "-o", out, prof)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	want, _, _ := runTailor(t, "generate", prof)
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want {
		t.Errorf("-o wrote %q (%v), want stdout's bytes", got, err)
	}
}

func TestApplyCommand(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	lossy := filepath.Join(dir, "lossy.json")
	os.Rename(writeProfile(t, t.TempDir(), false), lossy)
	bundle := filepath.Join(dir, "bundle")
	os.Mkdir(bundle, 0o755)
	config := filepath.Join(bundle, "config.json")
	original := []byte("{\n\t\"ociVersion\": \"1.0.2\",\n\t\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}\n}\n")
	if err := os.WriteFile(config, original, 0o644); err != nil {
		t.Fatal(err)
	}

	_, stderr, code := runTailor(t, "apply", "--bundle", bundle, lossy)
	if code != exitUsage || !strings.Contains(stderr, "incomplete") {
		t.Errorf("incomplete profile: exit %d, stderr %s", code, stderr)
	}
	if got, _ := os.ReadFile(config); !bytes.Equal(got, original) {
		t.Error("refused apply changed config.json")
	}
	stdout, stderr, code := runTailor(t, "apply", "--bundle", bundle, prof)
	if code != 0 || !strings.Contains(stdout, "applied") {
		t.Fatalf("exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	var spec specs.Spec
	data, _ := os.ReadFile(config)
	if err := json.Unmarshal(data, &spec); err != nil || spec.Linux == nil || spec.Linux.Seccomp == nil {
		t.Fatalf("config.json after apply: %v\n%s", err, data)
	}
	if backup, _ := os.ReadFile(config + ".tailor-orig"); !bytes.Equal(backup, original) {
		t.Errorf("backup %q", backup)
	}
	if _, _, code := runTailor(t, "apply", "--bundle", bundle, "--allow-incomplete", lossy); code != 0 {
		t.Errorf("--allow-incomplete: exit %d", code)
	}
	if _, stderr, code := runTailor(t, "apply", prof); code != exitUsage || !strings.Contains(stderr, "bundle") {
		t.Errorf("without --bundle: exit %d, stderr %s", code, stderr)
	}
}

func TestReportCommand(t *testing.T) {
	prof := writeProfile(t, t.TempDir(), true)
	stdout, stderr, code := runTailor(t, "report", prof)
	if code != 0 || !strings.Contains(stdout, "docker default") || !strings.Contains(stdout, "ioctl        request: 0x5401") {
		t.Errorf("text report: exit %d, stderr %s\n%s", code, stderr, stdout)
	}
	stdout, _, code = runTailor(t, "report", "--format", "json", prof)
	var r struct {
		Tailor struct{ Syscalls []string } `json:"tailor"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 || len(r.Tailor.Syscalls) == 0 {
		t.Errorf("json report: exit %d, %v\n%s", code, err, stdout)
	}
	if _, stderr, code := runTailor(t, "report", "--format", "html", prof); code != exitUsage || !strings.Contains(stderr, "--format") {
		t.Errorf("bad format: exit %d, stderr %s", code, stderr)
	}
}

// TestReportAndApplyWithinBundle checks that report --bundle and apply
// both say what the bundle's own filter takes away, and that report reads
// the user's original filter once apply has replaced config.json.
func TestReportAndApplyWithinBundle(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	bundle := filepath.Join(dir, "bundle")
	os.Mkdir(bundle, 0o755)
	config := filepath.Join(bundle, "config.json")
	original := []byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"},
	"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
		"syscalls": [{"names": ["read", "exit", "exit_group", "execve", "ioctl", "restart_syscall", "rt_sigreturn"], "action": "SCMP_ACT_ALLOW"}]}}}
`)
	if err := os.WriteFile(config, original, 0o644); err != nil {
		t.Fatal(err)
	}
	report := func(when string) {
		t.Helper()
		stdout, stderr, code := runTailor(t, "report", "--bundle", bundle, prof)
		if code != 0 || !strings.Contains(stdout, "refused by the engine    write\n") ||
			!strings.Contains(stdout, "write: the engine's filter refuses write: not allowed") {
			t.Errorf("%s: text report: exit %d, stderr %s\n%s", when, code, stderr, stdout)
		}
		stdout, _, code = runTailor(t, "report", "--format", "json", "--bundle", bundle, prof)
		var r struct {
			Engine struct {
				Source  string   `json:"source"`
				Refused []string `json:"refused"`
			} `json:"engine"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != 0 || strings.Join(r.Engine.Refused, " ") != "write" {
			t.Errorf("%s: json report: exit %d, %v\n%s", when, code, err, stdout)
		}
		if want := map[string]string{"before apply": config, "after apply": config + ".tailor-orig"}[when]; r.Engine.Source != want {
			t.Errorf("%s: the engine's filter read from %s, want %s", when, r.Engine.Source, want)
		}
	}
	report("before apply")
	stdout, stderr, code := runTailor(t, "apply", "--bundle", bundle, prof)
	if code != 0 || !strings.Contains(stdout, "applied") ||
		!strings.Contains(stderr, "tailor: note: the linux.seccomp of "+config+" is kept as a limit") ||
		!strings.Contains(stderr, "it refuses write") {
		t.Fatalf("apply: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	report("after apply")

	if _, stderr, code := runTailor(t, "report", "--bundle", filepath.Join(dir, "nosuch"), prof); code != exitUsage || !strings.Contains(stderr, "--bundle") {
		t.Errorf("missing bundle: exit %d, stderr %s", code, stderr)
	}
}
