package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

func TestPermute(t *testing.T) {
	tests := []struct{ in, want string }{
		{"merge a.json b.json -o out.json", "merge -o out.json a.json b.json"},
		{"merge a.json --name=web b.json -o -", "merge --name=web -o - a.json b.json"},
		{"diff a b --fail-on high --format json", "diff --fail-on high --format json a b"},
		{"apply web.json --bundle /b --allow-incomplete", "apply --bundle /b --allow-incomplete web.json"},
		{"profiles show web --store /s", "profiles show --store /s web"},
		{"profiles promote web --as shop --replace", "profiles promote --as shop --replace web"},
		{"push web.json --plain-http oci://r/web:v1", "push --plain-http web.json oci://r/web:v1"},
		{"generate web.json -- --format", "generate -- web.json --format"},
		{"generate web.json --format flags -- -x.json", "generate --format flags -- web.json -x.json"},
		{"runtime --runtime runc -- create --bundle /b id", "runtime --runtime runc -- create --bundle /b id"},
		{"--help", "--help"},
		{"nosuch a -o b", "nosuch a -o b"},
	}
	for _, tc := range tests {
		got, err := permute(strings.Fields(tc.in))
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("permute(%s) = %s, %v; want %s", tc.in, strings.Join(got, " "), err, tc.want)
		}
	}
}

// flagOrderCase runs one command twice, each time in a fresh copy of the
// same environment: once with its flags before its arguments and once
// with them after (or among) them. {dir} in an argument is the run's
// directory, {ref} and {pulled} registry references.
type flagOrderCase struct {
	name          string
	before, after []string
	code          int
	stdout        string // in stdout, to show the flags were taken
	stderr        string // in stderr
}

// checkFlagOrder asserts that both orders end the same: exit code, stdout,
// stderr and every file left in the run's directory (the store, the
// bundle, the outputs), with the run's directory and the times the store
// puts in names and listings made equal.
func checkFlagOrder(t *testing.T, tests []flagOrderCase, env func(t *testing.T) string, refs map[string]string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				stdout, stderr string
				code           int
				files          map[string]string
			}
			var results [2]result
			for i, args := range [][]string{tt.before, tt.after} {
				dir := env(t)
				expand := map[string]string{"{dir}": dir}
				for k, v := range refs {
					expand[k] = v
				}
				args = expandArgs(args, expand)
				stdout, stderr, code := runCLI(t, args...)
				if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
					t.Fatalf("tailor %s: exit %d (want %d)\nstdout (want %q): %s\nstderr (want %q): %s",
						strings.Join(args, " "), code, tt.code, tt.stdout, stdout, tt.stderr, stderr)
				}
				results[i] = result{normalize(stdout, dir), normalize(stderr, dir), code, snapshot(t, dir)}
			}
			b, a := results[0], results[1]
			if a.stdout != b.stdout || a.stderr != b.stderr {
				t.Errorf("flags after the arguments print\nstdout: %s\nstderr: %s\nflags before them\nstdout: %s\nstderr: %s",
					a.stdout, a.stderr, b.stdout, b.stderr)
			}
			if !reflect.DeepEqual(a.files, b.files) {
				for name := range union(a.files, b.files) {
					if a.files[name] != b.files[name] {
						t.Errorf("%s: flags after the arguments leave\n%q\nflags before them\n%q", name, a.files[name], b.files[name])
					}
				}
			}
		})
	}
}

func expandArgs(args []string, expand map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for k, v := range expand {
			a = strings.ReplaceAll(a, k, v)
		}
		out[i] = a
	}
	return out
}

// storeTimes matches the times the store writes into recording names and
// listings, which differ between two runs.
var storeTimes = regexp.MustCompile(`\d{8}T\d{6}\.\d{9}Z|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)

func normalize(s, dir string) string {
	return storeTimes.ReplaceAllString(strings.ReplaceAll(s, dir, "{dir}"), "{time}")
}

// snapshot is every regular file under dir, by normalized relative path,
// normalized.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for name, data := range readTree(t, dir) {
		files[normalize(name, dir)] = normalize(data, dir)
	}
	return files
}

// readTree is every regular file under dir, by relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func union(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// flagOrderEnv makes a run's directory: the profile web.json, a store
// with the profile web and a recording of web on the host and in the
// namespace team-a, and a bundle.
func flagOrderEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p, err := profiles.Load(writeProfile(t, dir, true))
	if err != nil {
		t.Fatal(err)
	}
	s := profiles.NewStore(filepath.Join(dir, "store"))
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	for _, scope := range []profiles.Scope{"", "team-a"} {
		if _, err := s.Record(scope, "web", "c1", p); err != nil {
			t.Fatal(err)
		}
	}
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"process":{"args":["sh"],"cwd":"/"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFlagsAfterArguments runs each command that takes arguments with its
// flags typed after them, the order people type, and among them: each
// ends exactly as with the flags first. Where the order cannot be told
// apart from something else, the error says what to type.
func TestFlagsAfterArguments(t *testing.T) {
	const prof, store, bundle = "{dir}/web.json", "{dir}/store", "{dir}/bundle"
	tests := []flagOrderCase{
		{name: "merge",
			before: []string{"merge", "-o", "{dir}/merged.json", "--store", store, "--name", "all", prof, "web"},
			after:  []string{"merge", prof, "web", "-o", "{dir}/merged.json", "--store", store, "--name", "all"}},
		{name: "merge among",
			before: []string{"merge", "-o", "-", "--store", store, prof, "web"},
			after:  []string{"merge", prof, "--store=" + store, "web", "-o", "-"}, stdout: `"recordings": 2`},
		{name: "generate",
			before: []string{"generate", "--format", "flags", "--seccomp-file", "/etc/web.json", "-o", "{dir}/flags", prof},
			after:  []string{"generate", prof, "--format", "flags", "--seccomp-file", "/etc/web.json", "-o", "{dir}/flags"}},
		{name: "generate default action",
			before: []string{"generate", "--default-action", "enosys", prof},
			after:  []string{"generate", prof, "--default-action", "enosys"}, stdout: `"defaultErrnoRet": 38`},
		{name: "diff",
			before: []string{"diff", "--fail-on", "none", "--format", "json", baselineFile, currentFile},
			after:  []string{"diff", baselineFile, currentFile, "--fail-on", "none", "--format", "json"}, stdout: `"drift": false`},
		{name: "diff drift",
			before: []string{"diff", "--fail-on", "high", "--format", "markdown", baselineFile, currentFile},
			after:  []string{"diff", baselineFile, "--format", "markdown", currentFile, "--fail-on", "high"}, code: exitDrift, stdout: "| Risk | Need |"},
		{name: "diff store",
			before: []string{"diff", "--store", store, "--fail-on", "any", "web", prof},
			after:  []string{"diff", "web", prof, "--store", store, "--fail-on", "any"}},
		{name: "apply",
			before: []string{"apply", "--bundle", bundle, "--default-action", "enosys", prof},
			after:  []string{"apply", prof, "--bundle", bundle, "--default-action", "enosys"}, stdout: "applied"},
		{name: "apply short flag",
			before: []string{"apply", "-b", bundle, "--apparmor", "web", prof},
			after:  []string{"apply", prof, "-b", bundle, "--apparmor", "web"}},
		{name: "report",
			before: []string{"report", "--format", "json", "--default-action", "kill", prof},
			after:  []string{"report", prof, "--format", "json", "--default-action", "kill"}, stdout: `"tailor": {`},
		{name: "report bundle",
			before: []string{"report", "--bundle", bundle, prof},
			after:  []string{"report", prof, "--bundle", bundle}},
		{name: "profiles list",
			before: []string{"profiles", "list", "--store", store, "--format", "json"},
			after:  []string{"profiles", "list", "--format", "json", "--store", store}, stdout: `"name": "web"`},
		{name: "profiles show",
			before: []string{"profiles", "show", "--store", store, "web"},
			after:  []string{"profiles", "show", "web", "--store", store}, stdout: `"name": "web"`},
		{name: "profiles rm",
			before: []string{"profiles", "rm", "--store", store, "web"},
			after:  []string{"profiles", "rm", "web", "--store", store}},
		{name: "profiles rm missing",
			before: []string{"profiles", "rm", "--store", store, "web", "nope"},
			after:  []string{"profiles", "rm", "web", "--store", store, "nope"}, code: exitUsage, stderr: `"nope"`},
		{name: "profiles recordings",
			before: []string{"profiles", "recordings", "--store", store, "--namespace", "team-a", "web"},
			after:  []string{"profiles", "recordings", "web", "--namespace", "team-a", "--store", store}, stdout: "c1"},
		{name: "profiles promote",
			before: []string{"profiles", "promote", "--store", store, "--namespace", "team-a", "--as", "shop", "--replace", "web"},
			after:  []string{"profiles", "promote", "web", "--store", store, "--as", "shop", "--namespace", "team-a", "--replace"},
			stdout: "promoted 1 recording(s) of web (namespace team-a) into shop"},
		{name: "profiles promote among",
			before: []string{"profiles", "promote", "--store", store, "--as", "shop", "web"},
			after:  []string{"profiles", "promote", "--store", store, "web", "--as", "shop"}, stdout: "into shop"},
		// What cannot be taken the same way either side fails the same
		// way, with the reason.
		{name: "unknown flag",
			before: []string{"merge", "-o", "{dir}/merged.json", "--bogus", prof},
			after:  []string{"merge", prof, "-o", "{dir}/merged.json", "--bogus"}, code: exitUsage, stderr: "flag provided but not defined: -bogus"},
		{name: "boolean with a value",
			before: []string{"apply", "--bundle", bundle, "--allow-incomplete", "false", prof},
			after:  []string{"apply", prof, "--bundle", bundle, "--allow-incomplete", "false"}, code: exitUsage, stderr: "apply takes one PROFILE argument, got 2"},
		{name: "argument after --",
			before: []string{"generate", "--format", "flags", prof},
			after:  []string{"generate", "--format", "flags", "--", prof}, stdout: "--cap-drop=ALL"},
	}
	checkFlagOrder(t, tests, flagOrderEnv, nil)

	// A flag's value cannot be missing: at the end, the flag says so.
	dir := flagOrderEnv(t)
	if _, stderr, code := runCLI(t, "generate", filepath.Join(dir, "web.json"), "--format"); code != exitUsage ||
		!strings.Contains(stderr, "flag --format needs a value (tailor generate --format VALUE)") {
		t.Errorf("a flag without its value after the profile: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "profiles", "show", "web", "--store"); code != exitUsage ||
		!strings.Contains(stderr, "flag --store needs a value (tailor profiles show --store VALUE)") {
		t.Errorf("a flag without its value after the name: exit %d, %s", code, stderr)
	}
	// An argument that looks like a flag comes after "--", which keeps
	// everything after it in place and is no argument itself.
	if _, stderr, code := runCLI(t, "generate", filepath.Join(dir, "web.json"), "--", "--format"); code != exitUsage ||
		!strings.Contains(stderr, "generate takes one PROFILE argument, got 2") {
		t.Errorf("a flag after --: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "a.json"); code != exitUsage || !strings.Contains(stderr, `no command "a.json"`) {
		t.Errorf("unknown command: exit %d, %s", code, stderr)
	}
}

// TestHelpIsAName: a profile or file named help (or h) is an argument like
// any other; --help and tailor help COMMAND still print help.
func TestHelpIsAName(t *testing.T) {
	dir := flagOrderEnv(t)
	store := filepath.Join(dir, "store")
	p, err := profiles.Load(filepath.Join(dir, "web.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"help", "h"} {
		p.Name = name
		if err := profiles.NewStore(store).Save(p); err != nil {
			t.Fatal(err)
		}
		if out, stderr, code := runCLI(t, "profiles", "show", name, "--store", store); code != 0 || !strings.Contains(out, `"name": "`+name+`"`) {
			t.Errorf("profiles show %s: exit %d, stdout %q, stderr %q; want the profile", name, code, out, stderr)
		}
		if out, stderr, code := runCLI(t, "profiles", "rm", "--store", store, name); code != 0 || out != "" {
			t.Errorf("profiles rm %s: exit %d, stdout %q, stderr %q", name, code, out, stderr)
		}
		if _, err := profiles.NewStore(store).Load(name); err == nil {
			t.Errorf("profiles rm %s left the profile in the store", name)
		}
		if _, stderr, code := runCLI(t, "generate", name); code != exitUsage || !strings.Contains(stderr, name) {
			t.Errorf("generate %s (no such file): exit %d, stderr %q", name, code, stderr)
		}
	}
	for _, args := range [][]string{{"merge", "--help"}, {"help", "merge"}, {"profiles", "help", "rm"}, {"profiles", "rm", "--help"}} {
		if out, stderr, code := runCLI(t, args...); code != 0 || !strings.Contains(out, "USAGE:") {
			t.Errorf("tailor %s: exit %d, stdout %q, stderr %q; want help", strings.Join(args, " "), code, out, stderr)
		}
	}
}
