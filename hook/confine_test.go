package hook

import (
	"errors"
	"os"
	"path/filepath"
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
