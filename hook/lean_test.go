package hook

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLean(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a tailor-hook the runtime may run is owned by root: needs root to create one")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		ok    bool
	}{
		{"root's, 0755", func(t *testing.T, p string) { write(t, p, 0o755) }, true},
		{"root's, 0700", func(t *testing.T, p string) { write(t, p, 0o700) }, true},
		{"missing", func(*testing.T, string) {}, false},
		{"group-writable", func(t *testing.T, p string) { write(t, p, 0o775) }, false},
		{"world-writable", func(t *testing.T, p string) { write(t, p, 0o757) }, false},
		{"not executable", func(t *testing.T, p string) { write(t, p, 0o644) }, false},
		{"not root's", func(t *testing.T, p string) {
			write(t, p, 0o755)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a symlink", func(t *testing.T, p string) {
			write(t, p+".real", 0o755)
			if err := os.Symlink(p+".real", p); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tailor := filepath.Join(dir, "tailor")
			lean := filepath.Join(dir, LeanName)
			tt.setup(t, lean)
			want := ""
			if tt.ok {
				want = lean
			}
			if got := Lean(tailor); got != want {
				t.Errorf("Lean = %q, want %q", got, want)
			}
		})
	}
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/true\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestCommand(t *testing.T) {
	flags := []string{"--tracer-dir", "/run/t"}
	full := Command("/usr/local/bin/tailor", "", flags)
	if full.Path != "/usr/local/bin/tailor" || !reflect.DeepEqual(full.Args, []string{"tailor", "hook", "--tracer-dir", "/run/t"}) {
		t.Errorf("without tailor-hook: %+v", full)
	}
	lean := Command("/usr/local/bin/tailor", "/usr/local/bin/tailor-hook", flags)
	if lean.Path != "/usr/local/bin/tailor-hook" || !reflect.DeepEqual(lean.Args, []string{"tailor-hook", "--tracer-dir", "/run/t"}) {
		t.Errorf("with tailor-hook: %+v", lean)
	}
	if *lean.Timeout != *full.Timeout {
		t.Errorf("timeouts differ: %d, %d", *lean.Timeout, *full.Timeout)
	}
}
