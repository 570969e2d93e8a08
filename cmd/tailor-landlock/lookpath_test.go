package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLookPath: the helper finds the program as runc does (Go's
// exec.LookPath): an executable that is not a directory, judged by
// faccessat2(AT_EACCESS) rather than mode bits, and never through a
// relative PATH entry, which would name the working directory.
func TestLookPath(t *testing.T) {
	dir, cwd := t.TempDir(), t.TempDir()
	write := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(dir+"/prog", 0o755)
	write(dir+"/plain", 0o644)
	write(dir+"/other", 0o755)
	write(cwd+"/prog", 0o755)
	write(cwd+"/onlyhere", 0o755)
	if err := os.Mkdir(cwd+"/adir", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	for _, c := range []struct {
		name, prog, path string
		want, err        string // the path found, or a part of the error
	}{
		{"an absolute name as it is", dir + "/prog", "/nonexistent", dir + "/prog", ""},
		{"the first PATH entry that has it", "prog", "/nonexistent:" + dir + "/:" + cwd, dir + "/prog", ""},
		{"an empty entry is passed over when the working directory lacks it", "other", ":" + dir, dir + "/other", ""},
		{"found through an empty entry", "onlyhere", dir + "::/usr/bin", "", "relative PATH entry"},
		{"found through a leading empty entry", "prog", ":" + dir, "", `relative PATH entry ""`},
		{"found through .", "prog", ".:" + dir, "", "relative PATH entry"},
		{"found through a relative entry", "prog", "../" + filepath.Base(cwd) + ":" + dir, "", "relative PATH entry"},
		{"a PATH that is empty names no directory", "prog", "", "", "not found"},
		{"not executable", "plain", dir, "", "not found"},
		{"a directory is not a program", "adir", cwd + ":" + dir, "", "not found"},
		{"a name with a slash that is a directory", "./adir", dir, "", "is a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := lookPath(c.prog, []string{"HOME=/", "PATH=" + c.path, "PATH=/usr/bin"})
			if c.err == "" && (err != nil || got != c.want) {
				t.Errorf("lookPath(%q) in PATH %q = %q, %v; want %q", c.prog, c.path, got, err, c.want)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("lookPath(%q) in PATH %q = %q, %v; want an error with %q", c.prog, c.path, got, err, c.err)
			}
		})
	}
}

// TestLookPathAsTheKernelJudges: a file with execute bits on a noexec
// mount is not executable (execve would fail with EACCES): mode bits say
// it is, faccessat2 says it is not, and the helper looks further in PATH.
func TestLookPathAsTheKernelJudges(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must run as root: this test mounts a noexec tmpfs")
		}
		t.Skip("mounting a noexec tmpfs needs root")
	}
	noexec, dir := t.TempDir(), t.TempDir()
	if err := unix.Mount("tailor-test", noexec, "tmpfs", unix.MS_NOEXEC|unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		t.Fatalf("mount a noexec tmpfs on %s: %v", noexec, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(noexec, 0); err != nil {
			t.Errorf("unmount %s: %v", noexec, err)
		}
	})
	for _, d := range []string{noexec, dir} {
		if err := os.WriteFile(d+"/prog", []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := lookPath("prog", []string{"PATH=" + noexec + ":" + dir}); err != nil || got != dir+"/prog" {
		t.Errorf("lookPath(prog) = %q, %v; want %s/prog, past the noexec mount", got, err, dir)
	}
	if _, err := lookPath(noexec+"/prog", nil); err == nil {
		t.Errorf("lookPath(%s/prog) on a noexec mount: no error", noexec)
	}
}
