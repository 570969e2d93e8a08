package hook

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseTraceSyscall: the annotation parser never panics, and what it
// accepts has an output and no empty part.
func FuzzParseTraceSyscall(f *testing.F) {
	for _, s := range []string{"of:/a/o.json", "of:/a/o.json;if:/a/i.json", "if:/x;of:/y", ";;;", "of:" + strings.Repeat("/a", 5000),
		strings.Repeat("of:/a;", 3000), "of:\x00", "of:/a/o.json;if:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		of, inf, err := ParseTraceSyscall(v)
		if err != nil {
			return
		}
		if of == "" || strings.Contains(of, ";") || strings.Contains(inf, ";") {
			t.Fatalf("ParseTraceSyscall(%q) = %q, %q", v, of, inf)
		}
	})
}

// FuzzConfine: a path checkPath accepts is absolute, clean, inside the
// allowed directory and has a plain base name, whatever bytes it holds.
func FuzzConfine(f *testing.F) {
	for _, s := range []string{"/allowed/o.json", "/allowed/../etc/passwd", "/allowed//o", "/allowedx/o", "/allowed/a b",
		"/allowed/" + strings.Repeat("a/", 4000) + "o", "/allowed/\n", "/allowed/o.json\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if checkPath(path, []string{"/allowed"}) != nil {
			return
		}
		if filepath.Clean(path) != path || !strings.HasPrefix(path, "/allowed/") || !baseName.MatchString(filepath.Base(path)) {
			t.Fatalf("checkPath accepted %q", path)
		}
		for _, part := range strings.Split(path, "/")[1:] {
			if part == ".." || part == "." {
				t.Fatalf("checkPath accepted %q", path)
			}
		}
	})
}
