package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

// cli runs tailor in-process and returns stdout, stderr and the exit code
// main would end with.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"tailor"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

const (
	baselineFile = "../../profiles/drift/testdata/baseline.json"
	currentFile  = "../../profiles/drift/testdata/current.json"
	seccompFile  = "../../profiles/drift/testdata/seccomp-baseline.json"
)

func TestDiffExitCodes(t *testing.T) {
	store := t.TempDir()
	p, err := profiles.Load(currentFile)
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "stored"
	if err := profiles.NewStore(store).Save(p); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\"kind\": \"TailorProfile\",\n \"schemaVersion\": 9}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "identical", args: []string{baselineFile, baselineFile}, code: 0},
		{name: "additions fail by default", args: []string{baselineFile, currentFile}, code: exitDrift, stderr: "drift: "},
		{name: "high", args: []string{"--fail-on", "high", baselineFile, currentFile}, code: exitDrift},
		{name: "report only", args: []string{"--fail-on", "none", baselineFile, currentFile}, code: 0, stdout: "CURRENT needs 10 more"},
		{name: "removals only pass added", args: []string{"--fail-on", "added", currentFile, currentFile}, code: 0},
		{name: "removals fail any", args: []string{"--fail-on", "any", baselineFile, baselineFile}, code: 0},
		{name: "seccomp baseline", args: []string{"--fail-on", "high", seccompFile, currentFile}, code: exitDrift},
		{name: "store name", args: []string{"--store", store, "--fail-on", "any", currentFile, "stored"}, code: 0},
		{name: "json", args: []string{"--format", "json", "--fail-on", "none", baselineFile, currentFile}, code: 0, stdout: `"drift": false`},
		{name: "github", args: []string{"--format", "github", "--fail-on", "high", baselineFile, currentFile}, code: exitDrift,
			stdout: "::error file=../../profiles/drift/testdata/current.json,line="},
		{name: "markdown", args: []string{"--format", "markdown", baselineFile, currentFile}, code: exitDrift, stdout: "| Risk | Need |"},
		{name: "unknown policy", args: []string{"--fail-on", "new", baselineFile, currentFile}, code: exitUsage, stderr: "--fail-on"},
		{name: "unknown format", args: []string{"--format", "html", baselineFile, currentFile}, code: exitUsage, stderr: "--format"},
		{name: "one argument", args: []string{baselineFile}, code: exitUsage},
		{name: "missing", args: []string{baselineFile, "no-such-profile"}, code: exitUsage, stderr: "no such file, and no profile of that name"},
		{name: "bad schema", args: []string{baselineFile, bad}, code: exitUsage, stderr: bad + ": invalid profile: line 2, column 2: schemaVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, append([]string{"diff"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "merged.json")
	if _, stderr, code := runCLI(t, "merge", "-o", out, currentFile, baselineFile, seccompFile); code != 0 {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	p, err := profiles.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.Recordings != 5 || p.Complete {
		t.Errorf("merged source %+v complete=%v, want 5 recordings, incomplete", p.Source, p.Complete)
	}
	// The seccomp JSON allows clone without namespace flags only, and
	// close with any argument: values stay, and mmap (from both learned
	// profiles) counts two recordings.
	if s, _ := p.Syscall(profiles.ABIX8664, "mmap"); s == nil || s.Seen.Recordings != 5 {
		t.Errorf("mmap coverage %+v, want 5", s)
	}
	if p.Name != "merged" {
		t.Errorf("merged name %q, want OUT's base name (the seccomp JSON has no name)", p.Name)
	}
	// The same bytes whatever the order.
	out2 := filepath.Join(t.TempDir(), "merged.json")
	if _, stderr, code := runCLI(t, "merge", "-o", out2, seccompFile, baselineFile, currentFile); code != 0 {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("merge output depends on the order of its inputs")
	}
}

func TestMergeBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "read"], "action": "SCMP_ACT_ALLOW"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.json")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		out    string
		args   []string
		stderr string
	}{
		{name: "new file", out: filepath.Join(dir, "new.json"), args: []string{baselineFile, bad}, stderr: `syscalls[0].names[1]: syscall "read" listed twice`},
		{name: "existing file", out: existing, args: []string{bad}, stderr: bad},
		{name: "bad name", out: filepath.Join(dir, "new.json"), args: []string{"--name", "a/b", baselineFile}, stderr: "--name"},
		{name: "no inputs", out: filepath.Join(dir, "new.json"), stderr: "at least one INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(tt.out)
			args := append([]string{"merge", "-o", tt.out}, tt.args...)
			_, stderr, code := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", code, stderr, exitUsage, tt.stderr)
			}
			after, _ := os.ReadFile(tt.out)
			if !bytes.Equal(before, after) {
				t.Errorf("%s changed on error", tt.out)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("merge left files behind: %v", entries)
	}
}

func TestProfilesCommands(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	t.Setenv("TAILOR_STORE", store)
	if out, stderr, code := runCLI(t, "merge", "--store", store, "-o", "-", "--name", "web", baselineFile); code != 0 || !strings.Contains(out, `"name": "web"`) {
		t.Fatalf("merge to stdout: exit %d, %s%s", code, out, stderr)
	}
	p, err := profiles.Load(baselineFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "db"} {
		p.Name = name
		if err := profiles.NewStore(store).Save(p); err != nil {
			t.Fatal(err)
		}
	}
	out, _, code := runCLI(t, "profiles", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "web") || strings.Index(out, "db") > strings.Index(out, "web") {
		t.Errorf("list (exit %d):\n%s", code, out)
	}
	out, _, code = runCLI(t, "profiles", "list", "--format", "json")
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); code != 0 || err != nil || len(entries) != 2 {
		t.Errorf("list --format json (exit %d, %v):\n%s", code, err, out)
	}
	out, _, code = runCLI(t, "profiles", "show", "web")
	if shown, err := profiles.Parse([]byte(out)); code != 0 || err != nil || shown.Name != "web" {
		t.Errorf("show (exit %d, %v):\n%s", code, err, out)
	}
	if _, stderr, code := runCLI(t, "profiles", "show", "nope"); code != exitUsage || !strings.Contains(stderr, "profile not found") {
		t.Errorf("show of a missing profile: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "profiles", "show", "../etc/passwd"); code != exitUsage || !strings.Contains(stderr, "invalid profile name") {
		t.Errorf("show of a bad name: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "profiles", "rm", "web", "nope"); code != exitUsage || !strings.Contains(stderr, `"nope"`) {
		t.Errorf("rm with a missing name: exit %d, %s", code, stderr)
	}
	out, _, _ = runCLI(t, "profiles", "list")
	if strings.Contains(out, "web") || !strings.Contains(out, "db") {
		t.Errorf("after rm web:\n%s", out)
	}
}

func TestPromoteCommand(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	p, err := profiles.Load(baselineFile)
	if err != nil {
		t.Fatal(err)
	}
	s := profiles.NewStore(store)
	for _, scope := range []profiles.Scope{"", "team-a"} {
		if _, err := s.Record(scope, "web", "c1", p); err != nil {
			t.Fatal(err)
		}
	}
	if out, _, code := runCLI(t, "profiles", "recordings", "--store", store, "web"); code != 0 || !strings.Contains(out, "RECORDING") || !strings.Contains(out, "c1") {
		t.Errorf("recordings (exit %d):\n%s", code, out)
	}
	if _, stderr, code := runCLI(t, "profiles", "show", "--store", store, "web"); code != exitUsage || !strings.Contains(stderr, "not found") {
		t.Errorf("a recording is enforceable before promotion: exit %d %s", code, stderr)
	}
	if out, stderr, code := runCLI(t, "profiles", "promote", "web", "--store", store); code != 0 || !strings.Contains(out, "promoted 1 recording(s) of web (host) into web") {
		t.Fatalf("promote (exit %d): %s%s", code, out, stderr)
	}
	if out, stderr, code := runCLI(t, "profiles", "promote", "--store", store, "--namespace", "team-a", "web"); code != 0 || !strings.Contains(out, "into team-a.web") {
		t.Fatalf("promote --namespace (exit %d): %s%s", code, out, stderr)
	}
	for _, name := range []string{"web", "team-a.web"} {
		if _, err := s.Load(name); err != nil {
			t.Errorf("%s after promotion: %v", name, err)
		}
	}
	if _, stderr, code := runCLI(t, "profiles", "promote", "--store", store, "web"); code != exitUsage || !strings.Contains(stderr, "no recordings") {
		t.Errorf("promote with nothing pending: exit %d %s", code, stderr)
	}
}
