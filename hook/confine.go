package hook

import (
	"io/fs"

	"github.com/tailor-dev/tailor/internal/bounded"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUnsafePath is returned for an output path the hook may not write.
var ErrUnsafePath = errors.New("unsafe path")

var baseName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkPath checks the syntax of a path an annotation names: absolute,
// clean (no "." or ".." components), inside one of allowed, with a base
// name of [A-Za-z0-9._-]+.
func checkPath(path string, allowed []string) error {
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
	if !strings.HasSuffix(base, ".json") || base == ".json" {
		return bad("file name must end in .json (seccomp JSON is all the hook reads or writes)")
	}
	if len(allowed) == 0 {
		return bad("no directory is allowed for hook output (start the hook with --allow-dir DIR)")
	}
	for _, dir := range allowed {
		dir = filepath.Clean(dir)
		if strings.HasPrefix(path, dir+"/") || (dir == "/" && path != "/") {
			return nil
		}
	}
	return bad("outside the allowed directories %s", strings.Join(allowed, ", "))
}

// openParent checks path (see checkPath) and opens the directory that
// holds it, walking every component from / without following a symbolic
// link. The returned handle is where the file is then read or written:
// nothing swapped in later, anywhere on the path, can redirect it.
func openParent(path string, allowed []string) (*os.File, string, error) {
	if err := checkPath(path, allowed); err != nil {
		return nil, "", err
	}
	dir, base := filepath.Split(path)
	f, err := openDirNoFollow(filepath.Clean(dir))
	if err != nil {
		// One message whatever the reason, so that an annotation cannot
		// probe what exists in directories its author cannot list.
		return nil, "", fmt.Errorf("%w: %q: its directory cannot be opened without following a symbolic link (missing, not a directory, or a link)",
			ErrUnsafePath, path)
	}
	var st unix.Stat_t
	err = unix.Fstatat(int(f.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		f.Close()
		return nil, "", fmt.Errorf("%w: %q: %w", ErrUnsafePath, path, err)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		f.Close()
		return nil, "", fmt.Errorf("%w: %q is a symbolic link", ErrUnsafePath, path)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		f.Close()
		return nil, "", fmt.Errorf("%w: %q exists and is not a regular file", ErrUnsafePath, path)
	}
	return f, base, nil
}

// openDirNoFollow opens the directory dir (absolute), component by
// component, refusing a symbolic link anywhere on the way.
func openDirNoFollow(dir string) (*os.File, error) {
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cur := "/"
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		next, err := unix.Openat(fd, part, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ELOOP):
			return nil, fmt.Errorf("%s is a symbolic link", cur)
		case errors.Is(err, unix.ENOTDIR):
			var st unix.Stat_t
			if unix.Lstat(cur, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return nil, fmt.Errorf("%s is a symbolic link", cur)
			}
			return nil, fmt.Errorf("%s is not a directory", cur)
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("directory %s does not exist", cur)
		case err != nil:
			return nil, fmt.Errorf("open %s: %w", cur, err)
		}
		fd = next
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// MaxSeccompInput is the largest seccomp JSON an if: may name (Docker's
// default profile is about 18 KB).
const MaxSeccompInput = 1 << 20

// readBeneath reads the regular file name in dir without following a
// symbolic link and without blocking on a FIFO or a device, at most limit
// bytes.
func readBeneath(dir *os.File, name string, limit int) ([]byte, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link", ErrUnsafePath, name)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := bounded.ReadRegular(f, int64(limit))
	if errors.Is(err, bounded.ErrNotRegular) {
		return nil, fmt.Errorf("%w: %w", ErrUnsafePath, err)
	}
	return data, err
}

// CheckAllowDirs refuses an --allow-dir the hook could never open: each
// request opens its directory component by component from "/" without
// following a symbolic link, so a link anywhere on the way (/var/run on
// Debian) would refuse every annotation naming it, and with a message
// about the annotation, not the flag. It says which component is a link
// and what to give instead.
func CheckAllowDirs(dirs []string) error {
	for _, d := range dirs {
		if !filepath.IsAbs(d) || filepath.Clean(d) != d {
			return fmt.Errorf("--allow-dir %q: give an absolute, clean path (%q)", d, filepath.Clean("/"+d))
		}
		at := "/"
		for _, part := range strings.Split(strings.TrimPrefix(d, "/"), "/") {
			if part == "" {
				continue
			}
			at = filepath.Join(at, part)
			fi, err := os.Lstat(at)
			if errors.Is(err, fs.ErrNotExist) {
				break // not there yet: requests naming it are refused until it is
			}
			if err != nil {
				return fmt.Errorf("--allow-dir %s: %w", d, err)
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				resolved, rerr := filepath.EvalSymlinks(d)
				if rerr != nil {
					resolved = "the directory it points to"
				}
				return fmt.Errorf("--allow-dir %s: %s is a symbolic link: allowed directories are opened without following links, "+
					"so give the resolved path (--allow-dir %s)", d, at, resolved)
			}
			if !fi.IsDir() {
				return fmt.Errorf("--allow-dir %s: %s is not a directory", d, at)
			}
		}
	}
	return nil
}
