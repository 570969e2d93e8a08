package hook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfine(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	other := filepath.Join(dir, "other")
	for _, d := range []string{allowed, other, filepath.Join(allowed, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(other, filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(other, "x.json"), filepath.Join(allowed, "file-link.json")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		allowed []string
		ok      bool
	}{
		{name: "inside", path: allowed + "/out.json", allowed: []string{allowed}, ok: true},
		{name: "inside subdirectory", path: allowed + "/sub/out.json", allowed: []string{allowed}, ok: true},
		{name: "relative", path: "out.json", allowed: []string{allowed}},
		{name: "dot-dot escape", path: allowed + "/../other/out.json", allowed: []string{allowed}},
		{name: "dot component", path: allowed + "/./out.json", allowed: []string{allowed}},
		{name: "double slash", path: allowed + "//out.json", allowed: []string{allowed}},
		{name: "outside", path: other + "/out.json", allowed: []string{allowed}},
		{name: "prefix is not a parent", path: allowed + "x/out.json", allowed: []string{allowed}},
		{name: "symlinked directory", path: allowed + "/link/out.json", allowed: []string{allowed}},
		{name: "symlinked file", path: allowed + "/file-link.json", allowed: []string{allowed}},
		{name: "bad base name", path: allowed + "/out json", allowed: []string{allowed}},
		{name: "missing directory", path: allowed + "/nope/out.json", allowed: []string{allowed}},
		{name: "directory as file", path: allowed + "/sub", allowed: []string{allowed}},
		{name: "no allowed dirs", path: allowed + "/out.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := openParent(tt.path, tt.allowed)
			if f != nil {
				f.Close()
			}
			if tt.ok && err != nil {
				t.Fatalf("confine(%q) = %v, want ok", tt.path, err)
			}
			if !tt.ok && !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("confine(%q) = %v, want ErrUnsafePath", tt.path, err)
			}
		})
	}
}

// TestCheckAllowDirs: an --allow-dir with a symbolic link on its way is
// refused when the hook starts, naming the flag, the link and the path to
// give instead; a real directory passes.
func TestCheckAllowDirs(t *testing.T) {
	real := t.TempDir()
	os.Mkdir(filepath.Join(real, "out"), 0o755)
	link := filepath.Join(t.TempDir(), "run")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := CheckAllowDirs([]string{filepath.Join(real, "out")}); err != nil {
		t.Errorf("a real directory: %v", err)
	}
	err := CheckAllowDirs([]string{filepath.Join(real, "out"), filepath.Join(link, "out")})
	want := "--allow-dir " + link + "/out: " + link + " is a symbolic link: allowed directories are opened without following links, " +
		"so give the resolved path (--allow-dir " + real + "/out)"
	if err == nil || err.Error() != want {
		t.Errorf("a symlinked component: %v, want %q", err, want)
	}
	if err := CheckAllowDirs([]string{filepath.Join(real, "missing", "later")}); err != nil {
		t.Errorf("a directory not created yet: %v", err)
	}
	for _, bad := range []string{"relative/dir", "/a/../b"} {
		if err := CheckAllowDirs([]string{bad}); err == nil || !strings.Contains(err.Error(), "--allow-dir") {
			t.Errorf("--allow-dir %s: %v", bad, err)
		}
	}
	err = Run(context.Background(), strings.NewReader(`{}`), Options{AllowDirs: []string{filepath.Join(link, "out")}})
	if err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("Run with a symlinked --allow-dir: %v", err)
	}
}
