package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPermute(t *testing.T) {
	tests := []struct{ in, want string }{
		{"merge a.json b.json -o out.json", "merge -o out.json a.json b.json"},
		{"merge a.json --name=web b.json -o -", "merge --name=web -o - a.json b.json"},
		{"diff a b --fail-on high --format json", "diff --fail-on high --format json a b"},
		{"apply web.json --bundle /b --allow-incomplete", "apply --bundle /b --allow-incomplete web.json"},
		{"profiles show web --store /s", "profiles show --store /s web"},
		{"generate web.json -- --format", "generate web.json -- --format"},
		{"runtime --runtime runc -- create --bundle /b id", "runtime --runtime runc -- create --bundle /b id"},
		{"--help", "--help"},
		{"nosuch a -o b", "nosuch a -o b"},
	}
	for _, tc := range tests {
		if got := strings.Join(permute(strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("permute(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestFlagsAfterArguments runs each command that takes arguments with its
// flags typed after them, the order people type.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	store := filepath.Join(dir, "store")
	bundle := filepath.Join(dir, "bundle")
	os.Mkdir(bundle, 0o755)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"process":{"args":["sh"],"cwd":"/"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged.json")
	tests := [][]string{
		{"merge", prof, prof, "-o", out, "--store", store},
		{"generate", prof, "--format", "flags", "-o", filepath.Join(dir, "flags")},
		{"diff", prof, out, "--fail-on", "none", "--format", "json"},
		{"apply", prof, "--bundle", bundle, "--default-action", "enosys"},
		{"report", prof, "--format", "json"},
		{"profiles", "list", "--store", store, "--format", "json"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			if _, stderr, code := runCLI(t, args...); code != 0 {
				t.Errorf("tailor %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
		})
	}
	if data, _ := os.ReadFile(filepath.Join(bundle, "config.json")); !strings.Contains(string(data), "SCMP_ACT_ERRNO") || !strings.Contains(string(data), `"defaultErrnoRet":38`) {
		t.Errorf("apply's --default-action after the profile was not taken:\n%s", data)
	}
	if _, stderr, code := runCLI(t, "a.json"); code != exitUsage || !strings.Contains(stderr, `no command "a.json"`) {
		t.Errorf("unknown command: exit %d, %s", code, stderr)
	}
}
