package hook

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTracerCommand: the tracer's own binary beside tailor when root may
// run it in tailor's place, else `tailor tracer`.
func TestTracerCommand(t *testing.T) {
	dir := t.TempDir()
	tailor := filepath.Join(dir, "tailor")
	lean := filepath.Join(dir, TracerName)
	check := func(what, wantExe string, wantArgs []string) {
		t.Helper()
		exe, args := TracerCommand(tailor)
		if exe != wantExe || !slices.Equal(args, wantArgs) {
			t.Errorf("%s: %s %q, want %s %q", what, exe, args, wantExe, wantArgs)
		}
	}
	check("no tailor-tracer", tailor, []string{"tracer"})
	if err := os.Mkdir(lean, 0o755); err != nil {
		t.Fatal(err)
	}
	check("a directory", tailor, []string{"tracer"})
	os.Remove(lean)
	if err := os.WriteFile(lean, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("not executable", tailor, []string{"tracer"})
	if err := os.Chmod(lean, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(lean, 0o775); err != nil {
		t.Fatal(err)
	}
	check("group-writable", tailor, []string{"tracer"})
	if err := os.Chmod(lean, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		check("installed", lean, nil)
	} else {
		check("not root's", tailor, []string{"tracer"})
	}
	os.Remove(lean)
	if err := os.Symlink("/bin/true", lean); err != nil {
		t.Fatal(err)
	}
	check("a symlink", tailor, []string{"tracer"})
	c := TracerClient("/run/tailor-test", 0, tailor)
	if c.Start == nil || c.Dir != "/run/tailor-test" {
		t.Errorf("TracerClient: %+v", c)
	}
}
