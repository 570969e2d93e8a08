package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// TestRuntimeExecAndRefusals checks the wiring of exec (the runtime is
// asked for the container's bundle, and the process file's capabilities
// are narrowed to the container's) and of a refused command line (crun's
// --config, never passed on).
func TestRuntimeExecAndRefusals(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	config := `{"process":{"args":["/bin/sh"],"cwd":"/","env":["TAILOR_PROFILE=web"],` +
		`"capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]}},"root":{"path":"rootfs"}}`
	process := filepath.Join(dir, "process.json")
	for path, data := range map[string]string{
		filepath.Join(bundle, "config.json"): config,
		process:                              `{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"],"effective":["CAP_CHOWN","CAP_SYS_ADMIN"]}}`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := fmt.Sprintf("#!/bin/sh\ncase \" $* \" in *\" state \"*) printf '{\"id\":\"id\",\"bundle\":\"%s\"}' ;; esac\n", bundle)
	for _, name := range []string{"runc", "crun"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	old := execRuntime
	execRuntime = func(path string, argv, env []string) error {
		got = append([]string{path}, argv...)
		return nil
	}
	t.Cleanup(func() { execRuntime = old })

	args := []string{"--root", "/r", "exec", "--process", process, "--detach", "id"}
	if _, stderr, code := runCLI(t, append([]string{"runtime", "--runtime", filepath.Join(dir, "runc"), "--"}, args...)...); code != 0 {
		t.Fatalf("exec: exit %d, stderr %q", code, stderr)
	}
	if want := append([]string{filepath.Join(dir, "runc"), "runc"}, args...); !reflect.DeepEqual(got, want) {
		t.Errorf("exec'd %q, want %q", got, want)
	}
	if data, _ := os.ReadFile(process); strings.Contains(string(data), "CAP_SYS_ADMIN") {
		t.Errorf("the exec'd process keeps CAP_SYS_ADMIN, which the container's profile does not grant: %s", data)
	}

	got = nil
	_, stderr, code := runCLI(t, "runtime", "--runtime", filepath.Join(dir, "crun"), "--",
		"create", "--bundle", bundle, "--config", filepath.Join(dir, "other.json"), "id")
	if code != exitTailor || !strings.Contains(stderr, "--config: crun would read the container's config from") || got != nil {
		t.Errorf("crun --config: exit %d, stderr %q, exec'd %q; want a refusal naming --config", code, stderr, got)
	}
}

// TestRuntimeLearnReplaces checks that --learn-replaces reaches the
// learning hook the wrapper adds, and that without it the hook adds a
// recording (no --learn-replaces).
func TestRuntimeLearnReplaces(t *testing.T) {
	for _, replaces := range []bool{false, true} {
		t.Run(fmt.Sprint("learn-replaces=", replaces), func(t *testing.T) {
			dir := t.TempDir()
			fake := filepath.Join(dir, "fake-runc")
			bundle := filepath.Join(dir, "bundle")
			if err := os.MkdirAll(bundle, 0o755); err != nil {
				t.Fatal(err)
			}
			config := `{"process":{"args":["/bin/sh"],"cwd":"/","env":["TAILOR_LEARN=web"]},"root":{"path":"rootfs"}}`
			for path, data := range map[string]string{fake: "#!/bin/sh\n", filepath.Join(bundle, "config.json"): config} {
				if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			old := execRuntime
			execRuntime = func(string, []string, []string) error { return nil }
			t.Cleanup(func() { execRuntime = old })

			args := []string{"runtime", "--runtime", fake, "--store", filepath.Join(dir, "store")}
			if replaces {
				args = append(args, "--learn-replaces")
			}
			args = append(args, "--", "create", "--bundle", bundle, "id")
			if _, stderr, code := runCLI(t, args...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Hooks struct {
					CreateRuntime []struct{ Args []string }
				}
			}
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Hooks.CreateRuntime) != 1 {
				t.Fatalf("createRuntime hooks = %+v, want the tailor hook", cfg.Hooks.CreateRuntime)
			}
			hookArgs := cfg.Hooks.CreateRuntime[0].Args
			if got := slices.Contains(hookArgs, "--learn-replaces"); got != replaces {
				t.Errorf("hook args %q: --learn-replaces %v, want %v", hookArgs, got, replaces)
			}
		})
	}
}

// TestRuntimeFlagOrder: after "--" every argument is the runtime's, tailor's
// own flag names included; without it, a runtime's flag is refused with
// what to type, and the runtime does not run.
func TestRuntimeFlagOrder(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-runc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var got []string
	old := execRuntime
	execRuntime = func(path string, argv, env []string) error {
		got = append([]string{path}, argv...)
		return nil
	}
	t.Cleanup(func() { execRuntime = old })

	runtimeArgs := []string{"state", "id", "--store", "/elsewhere", "--runtime", "crun"}
	if _, stderr, code := runCLI(t, append([]string{"runtime", "--runtime", fake, "--"}, runtimeArgs...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := append([]string{fake, "fake-runc"}, runtimeArgs...); !reflect.DeepEqual(got, want) {
		t.Errorf("exec'd %q, want %q: tailor's flag names after -- are the runtime's", got, want)
	}

	got = nil
	stdout, stderr, code := runCLI(t, "runtime", "--runtime", fake, "--root", "/run/x", "state", "id")
	if code != exitUsage || got != nil || stdout != "" ||
		!strings.Contains(stderr, "flag provided but not defined: -root") || !strings.Contains(stderr, `the runtime's after it`) {
		t.Errorf("a runtime flag without --: exit %d, exec'd %q, stdout %q, stderr %q; want exit %d saying where -- goes",
			code, got, stdout, stderr, exitUsage)
	}
}
