package storedir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the lock file serialising a store's writers.
const lockName = ".lock"

// OpenRoot returns a handle on the store directory dir. A missing
// directory is created (0700) when create is set, else the error is
// fs.ErrNotExist.
func OpenRoot(dir string, create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create profile store: %w", err)
		}
	}
	return os.OpenRoot(dir)
}

// OpenDir creates the store directory dir when it is missing (0700) and
// opens it: the handle a hook passes to the tracer.
func OpenDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create profile store: %w", err)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open profile store: %w", err)
	}
	return f, nil
}

// Lock takes the exclusive writer lock of the store in root; label names
// the store in messages.
func Lock(root *os.Root, label string) (unlock func(), err error) {
	f, err := root.OpenFile(lockName, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock profile store: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock profile store %s: %w", label, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

// WriteFileIn replaces file (a path beneath root) with data atomically: a
// temporary file created beside it, fsync, rename. Nothing is resolved
// outside root.
func WriteFileIn(root *os.Root, file string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(file)
	var tmp string
	var f *os.File
	for range 100 {
		tmp = dir + "." + base + ".tmp" + randomSuffix()
		var err error
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, perm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write %s: %w", file, err)
		}
	}
	if f == nil {
		return fmt.Errorf("write %s: no free temporary name", file)
	}
	defer root.Remove(tmp) // fails harmlessly after the rename
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, file)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
