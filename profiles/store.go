package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultStoreDir is where learned profiles are kept unless told otherwise.
const DefaultStoreDir = "/var/lib/tailor/profiles"

// MaxNameLen is the longest profile name a store accepts.
const MaxNameLen = 128

// ErrNotFound marks a profile name that is not in the store.
var ErrNotFound = errors.New("profile not found")

// ErrBadName marks a profile name a store refuses.
var ErrBadName = errors.New("invalid profile name")

// storeExt is the file name extension of a stored profile.
const storeExt = ".json"

// lockName is the lock file serialising a store's writers.
const lockName = ".lock"

// ValidName checks a profile name: 1 to MaxNameLen characters from
// [A-Za-z0-9._-], and not "." or "..". Names become file names, so
// anything else could escape the store directory.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %q is %d characters long (at most %d)", ErrBadName, name, len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q has %q at position %d (allowed: letters, digits, '.', '_', '-')", ErrBadName, name, c, i)
		}
	}
	return nil
}

// Store is a directory of named profiles, one file <name>.json each.
// Writers are serialised with an flock on a lock file in the directory, and
// every write is atomic, so readers never need the lock.
type Store struct {
	Dir string
}

// NewStore returns the store in dir (DefaultStoreDir when dir is empty).
// Nothing is created until the first write.
func NewStore(dir string) *Store {
	if dir == "" {
		dir = DefaultStoreDir
	}
	return &Store{Dir: dir}
}

// Path returns the file holding the profile name.
func (s *Store) Path(name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, name+storeExt), nil
}

// Save writes p under p.Name, replacing any profile of that name.
func (s *Store) Save(p *Profile) error {
	return s.Update(p.Name, func(*Profile) (*Profile, error) { return p, nil })
}

// Update replaces the profile name with what fn returns, holding the
// store's lock so that concurrent writers cannot lose each other's work.
// fn gets the stored profile, or nil when there is none. A typical fn
// merges a new recording into the old one.
func (s *Store) Update(name string, fn func(old *Profile) (*Profile, error)) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create profile store: %w", err)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	old, err := s.Load(name)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case err != nil:
		return err
	}
	p, err := fn(old)
	if err != nil {
		return err
	}
	if p.Name != name {
		return fmt.Errorf("save profile %q: its name field is %q", name, p.Name)
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	// Validate what will be written, so that a store only holds profiles
	// that load again.
	if _, err := Parse(data); err != nil {
		return fmt.Errorf("save profile %q: %w", name, err)
	}
	return WriteFileAtomic(path, data, 0o600)
}

// lock takes the store's exclusive writer lock.
func (s *Store) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, lockName), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
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
		return nil, fmt.Errorf("lock profile store %s: %w", s.Dir, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

// Load reads the profile name. A missing profile is ErrNotFound.
func (s *Store) Load(name string) (*Profile, error) {
	path, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	p, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	return p, err
}

// Entry describes one stored profile.
type Entry struct {
	Name    string
	Size    int64
	ModTime time.Time
	// Complete is the profile's own Complete field (false when anything
	// was lost while recording, or when the file does not load).
	Complete bool
	// Err is set when the file does not load as a profile.
	Err error
}

// List returns the stored profiles sorted by name. A store directory that
// does not exist yet is empty.
func (s *Store) List() ([]Entry, error) {
	des, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list profile store: %w", err)
	}
	var out []Entry
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), storeExt)
		if !ok || !de.Type().IsRegular() || ValidName(name) != nil {
			continue
		}
		e := Entry{Name: name}
		if fi, err := de.Info(); err == nil {
			e.Size, e.ModTime = fi.Size(), fi.ModTime()
		}
		p, err := Load(filepath.Join(s.Dir, de.Name()))
		if err != nil {
			e.Err = err
		} else {
			e.Complete = p.Complete
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the profile name. A missing profile is ErrNotFound.
func (s *Store) Remove(name string) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	if err != nil {
		return fmt.Errorf("remove profile %q: %w", name, err)
	}
	return nil
}
