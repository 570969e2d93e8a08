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

	"github.com/tailor-dev/tailor/internal/jsondoc"
	"github.com/tailor-dev/tailor/profiles/storedir"
)

// The store's layout (names, scopes, recordings, the lock, atomic writes)
// is package storedir's, which the OCI hook uses without the profile
// model; these are its names here.

// DefaultStoreDir is where learned profiles are kept unless told otherwise.
const DefaultStoreDir = storedir.DefaultDir

// MaxNameLen is the longest profile name a store accepts.
const MaxNameLen = storedir.MaxNameLen

// ErrNotFound marks a profile name that is not in the store.
var ErrNotFound = errors.New("profile not found")

// ErrBadName marks a profile name a store refuses.
var ErrBadName = storedir.ErrBadName

// storeExt is the file name extension of a stored profile.
const storeExt = storedir.Ext

// ValidName checks a profile name: 1 to MaxNameLen characters from
// [A-Za-z0-9._-], and not "." or "..". Names become file names, so
// anything else could escape the store directory.
func ValidName(name string) error { return storedir.ValidName(name) }

// Store is a directory of named profiles, one file <name>.json each, and
// of the recordings learning runs left for them (see Record). Writers are
// serialised with an flock on a lock file in the directory, and every
// write is atomic, so readers never need the lock. Every file is reached
// through a handle on the directory (os.Root): a name never resolves
// outside it, whatever is swapped for a symlink inside.
type Store struct {
	Dir  string
	root *os.Root // set by StoreIn: a directory opened by someone else
}

// NewStore returns the store in dir (DefaultStoreDir when dir is empty).
// Nothing is created until the first write.
func NewStore(dir string) *Store {
	if dir == "" {
		dir = DefaultStoreDir
	}
	return &Store{Dir: dir}
}

// StoreIn returns the store in an open directory; label names it in
// messages. The caller keeps root and closes it.
func StoreIn(root *os.Root, label string) *Store {
	return &Store{Dir: label, root: root}
}

// OpenDir creates the store directory when it is missing (0700) and opens
// it: the handle a hook passes to the tracer.
func (s *Store) OpenDir() (*os.File, error) {
	if s.root != nil {
		return nil, errors.New("store: already open")
	}
	return storedir.OpenDir(s.Dir)
}

// open returns a handle on the store directory and how to release it. A
// missing directory is created when create is set, else fs.ErrNotExist.
func (s *Store) open(create bool) (*os.Root, func(), error) {
	if s.root != nil {
		return s.root, func() {}, nil
	}
	r, err := storedir.OpenRoot(s.Dir, create)
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
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
	if err := ValidName(name); err != nil {
		return err
	}
	root, done, err := s.open(true)
	if err != nil {
		return err
	}
	defer done()
	unlock, err := s.lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	return s.update(root, name, fn)
}

func (s *Store) update(root *os.Root, name string, fn func(old *Profile) (*Profile, error)) error {
	old, err := s.load(root, name+storeExt, name)
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
	return s.write(root, name+storeExt, p)
}

// write stores p as file (a path beneath the store) atomically, after
// checking that what is written loads again.
func (s *Store) write(root *os.Root, file string, p *Profile) error {
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	if _, err := Parse(data); err != nil {
		return fmt.Errorf("save profile %q: %w", p.Name, err)
	}
	if err := WriteFileIn(root, file, data, 0o600); err != nil {
		return fmt.Errorf("store %s: %w", s.Dir, err)
	}
	return nil
}

// WriteFileIn replaces file (a path beneath root) with data atomically: a
// temporary file created beside it, fsync, rename. Nothing is resolved
// outside root.
func WriteFileIn(root *os.Root, file string, data []byte, perm os.FileMode) error {
	return storedir.WriteFileIn(root, file, data, perm)
}

// lock takes the store's exclusive writer lock.
func (s *Store) lock(root *os.Root) (unlock func(), err error) { return storedir.Lock(root, s.Dir) }

// Load reads the profile name. A missing profile is ErrNotFound.
func (s *Store) Load(name string) (*Profile, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	root, done, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open profile store: %w", err)
	}
	defer done()
	return s.load(root, name+storeExt, name)
}

// load reads file beneath root; what names it in ErrNotFound.
func (s *Store) load(root *os.Root, file, what string) (*Profile, error) {
	f, err := root.OpenFile(file, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q in %s", ErrNotFound, what, s.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	defer f.Close()
	path := filepath.Join(s.Dir, file)
	data, err := jsondoc.ReadOpen(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, ErrInvalid, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
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
	root, done, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list profile store: %w", err)
	}
	defer done()
	return s.entries(root, ".", func(file string) (string, bool) {
		name, ok := strings.CutSuffix(file, storeExt)
		return name, ok && ValidName(name) == nil
	})
}

// entries lists the profiles in dir beneath root whose file name keep
// accepts, sorted by the name it gives.
func (s *Store) entries(root *os.Root, dir string, keep func(string) (string, bool)) ([]Entry, error) {
	d, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list profile store: %w", err)
	}
	des, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list profile store: %w", err)
	}
	var out []Entry
	for _, de := range des {
		name, ok := keep(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		e := Entry{Name: name}
		if fi, err := de.Info(); err == nil {
			e.Size, e.ModTime = fi.Size(), fi.ModTime()
		}
		p, err := s.load(root, filepath.Join(dir, de.Name()), name)
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
	if err := ValidName(name); err != nil {
		return err
	}
	root, done, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	if err != nil {
		return fmt.Errorf("open profile store: %w", err)
	}
	defer done()
	unlock, err := s.lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	err = root.Remove(name + storeExt)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, s.Dir)
	}
	if err != nil {
		return fmt.Errorf("remove profile %q: %w", name, err)
	}
	return nil
}
