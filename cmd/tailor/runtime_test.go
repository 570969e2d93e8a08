package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRuntimePassesArguments checks the contract Docker relies on: after
// "--", the runtime gets every argument unchanged, flags included, and a
// refused container exits non-zero with the reason.
func TestRuntimePassesArguments(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-runc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	config := `{"process":{"args":["/bin/sh"],"cwd":"/","env":["TAILOR_PROFILE=nosuch"]},"root":{"path":"rootfs"}}`
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	old := execRuntime
	execRuntime = func(path string, argv, env []string) error {
		got = append([]string{path}, argv...)
		return nil
	}
	t.Cleanup(func() { execRuntime = old })

	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"flags after --", []string{"--root", "/run/x", "--log", filepath.Join(dir, "log.json"), "--log-format", "json", "state", "id"}, 0, ""},
		{"help after --", []string{"--help"}, 0, ""},
		{"refused create", []string{"create", "--bundle", bundle, "id"}, exitTailor, `profile "nosuch" is not in the store`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			args := append([]string{"runtime", "--runtime", fake, "--store", filepath.Join(dir, "store"), "--"}, tt.args...)
			_, stderr, code := runCLI(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.code, stderr, tt.want)
			}
			if tt.code != 0 {
				if got != nil {
					t.Errorf("the runtime ran for a refused container: %q", got)
				}
				return
			}
			if want := append([]string{fake, "fake-runc"}, tt.args...); !reflect.DeepEqual(got, want) {
				t.Errorf("exec'd %q, want %q", got, want)
			}
		})
	}
}
