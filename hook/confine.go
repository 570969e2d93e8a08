package hook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrUnsafePath is returned for an output path the hook may not write.
var ErrUnsafePath = errors.New("unsafe path")

var baseName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// confine checks that path may be written by the hook: absolute, clean (no
// "." or ".." components), inside one of allowed, with a base name of
// [A-Za-z0-9._-]+ and no symlink among its existing components. The
// directory holding the file must exist.
func confine(path string, allowed []string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %q: %s", ErrUnsafePath, path, fmt.Sprintf(format, a...))
	}
	if !filepath.IsAbs(path) {
		return bad("not an absolute path")
	}
	for _, part := range strings.Split(path, "/")[1:] {
		if part == "." || part == ".." {
			return bad("contains a %q component", part)
		}
	}
	if filepath.Clean(path) != path {
		return bad("not a clean path (use %q)", filepath.Clean(path))
	}
	base := filepath.Base(path)
	if !baseName.MatchString(base) || base == "." || base == ".." {
		return bad("file name must match [A-Za-z0-9._-]+")
	}
	if len(allowed) == 0 {
		return bad("no directory is allowed for hook output (start the hook with --allow-dir DIR)")
	}
	inside := false
	for _, dir := range allowed {
		dir = filepath.Clean(dir)
		if strings.HasPrefix(path, dir+"/") || (dir == "/" && path != "/") {
			inside = true
			break
		}
	}
	if !inside {
		return bad("outside the allowed directories %s", strings.Join(allowed, ", "))
	}
	// Walk every component: an existing one must not be a symlink; the
	// parent must be an existing directory.
	cur := "/"
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			if i == len(parts)-1 {
				return nil
			}
			return bad("directory %s does not exist", cur)
		}
		if err != nil {
			return bad("%v", err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return bad("%s is a symbolic link", cur)
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return bad("%s is not a directory", cur)
		}
		if i == len(parts)-1 && !fi.Mode().IsRegular() {
			return bad("%s exists and is not a regular file", cur)
		}
	}
	return nil
}
