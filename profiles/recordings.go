package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/tailor-dev/tailor/profiles/storedir"
)

// A learning run asked for by a container (an annotation, an image's
// environment) never changes what other containers are enforced with: it
// adds a recording beside the profile of that name, and the profile changes
// only when an operator promotes the recordings into it (Promote), or runs
// the hook or runtime with learning allowed to replace profiles.
//
// Recordings live beneath recordings/ in the store, per scope (see package
// storedir, whose names these are): the host (recordings/host/NAME/) or a
// Kubernetes namespace (recordings/ns/NAMESPACE/NAME/), so that a pod
// author in one namespace cannot add to the recordings of another.

// MaxRecordings is how many recordings of one name a store keeps pending:
// a container that asks to be learned again and again cannot fill the
// disk. Promote (or remove) them to make room.
const MaxRecordings = storedir.MaxRecordings

// MaxScopeRecordings is how many recordings one scope (the host, or a
// namespace) keeps pending over all its names: a pod author cannot fill
// the disk with learning requests of ever new names either.
const MaxScopeRecordings = storedir.MaxScopeRecordings

// ErrTooManyRecordings refuses a recording beyond MaxRecordings.
var ErrTooManyRecordings = storedir.ErrTooManyRecordings

// Scope is where a recording was asked for: "" for the host, else a
// Kubernetes namespace.
type Scope = storedir.Scope

// ValidScope checks a scope: empty, or a Kubernetes namespace (a DNS
// label).
func ValidScope(s Scope) error { return storedir.ValidScope(s) }

// CanRecord checks that a recording of name in scope would be kept, before
// a container is learned at all.
func (s *Store) CanRecord(scope Scope, name string) error {
	if s.root == nil {
		return storedir.CanRecord(s.Dir, scope, name)
	}
	if err := ValidName(name); err != nil {
		return err
	}
	if err := ValidScope(scope); err != nil {
		return err
	}
	return storedir.RoomFor(s.root, s.Dir, scope, name)
}

// recordingName makes a file name of a recording: when it was written and
// the container's id, reduced to the characters a name may hold.
func recordingName(id string, at time.Time) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
	if len(clean) > 64 {
		clean = clean[:64]
	}
	return at.UTC().Format("20060102T150405.000000000Z") + "-" + clean + storeExt
}

// Record adds p as a recording of name in scope and returns its path.
func (s *Store) Record(scope Scope, name, containerID string, p *Profile) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if err := ValidScope(scope); err != nil {
		return "", err
	}
	root, done, err := s.open(true)
	if err != nil {
		return "", err
	}
	defer done()
	unlock, err := s.lock(root)
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := storedir.RoomFor(root, s.Dir, scope, name); err != nil {
		return "", err
	}
	dir := scope.Dir(name)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store %s: %w", s.Dir, err)
	}
	file := path.Join(dir, recordingName(containerID, time.Now()))
	p.Name = name
	if err := s.write(root, file, p); err != nil {
		return "", err
	}
	return path.Join(s.Dir, file), nil
}

// Recordings lists the pending recordings of name in scope, oldest first.
func (s *Store) Recordings(scope Scope, name string) ([]Entry, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := ValidScope(scope); err != nil {
		return nil, err
	}
	root, done, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer done()
	return s.entries(root, scope.Dir(name), func(file string) (string, bool) {
		return strings.TrimSuffix(file, storeExt), strings.HasSuffix(file, storeExt) && !strings.HasPrefix(file, ".")
	})
}

// Promote merges the pending recordings of name in scope into the profile
// target (created when missing; with replace, the recordings alone become
// it) and removes them. It returns the promoted profile and how many
// recordings went into it. A recording that does not load stops it, with
// nothing changed.
func (s *Store) Promote(scope Scope, name, target string, replace bool) (*Profile, int, error) {
	for _, n := range []string{name, target} {
		if err := ValidName(n); err != nil {
			return nil, 0, err
		}
	}
	if err := ValidScope(scope); err != nil {
		return nil, 0, err
	}
	root, done, err := s.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: no recordings of %q (%s) in %s", ErrNotFound, name, scope, s.Dir)
	}
	if err != nil {
		return nil, 0, err
	}
	defer done()
	unlock, err := s.lock(root)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	files, err := storedir.RecordingFiles(root, scope, name)
	if err != nil {
		return nil, 0, err
	}
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("%w: no recordings of %q (%s) in %s", ErrNotFound, name, scope, s.Dir)
	}
	var recs []*Profile
	for _, f := range files {
		p, err := s.load(root, path.Join(scope.Dir(name), f), f)
		if err != nil {
			return nil, 0, fmt.Errorf("promote %s: %w (remove it, or fix it, and promote again)", f, err)
		}
		recs = append(recs, p)
	}
	var promoted *Profile
	err = s.update(root, target, func(old *Profile) (*Profile, error) {
		inputs := recs
		if old != nil && !replace {
			inputs = append([]*Profile{old}, recs...)
		}
		p, err := Merge(inputs...)
		if err != nil {
			return nil, err
		}
		p.Name = target
		promoted = p
		return p, nil
	})
	if err != nil {
		return nil, 0, err
	}
	var errs []error
	for _, f := range files {
		if err := root.Remove(path.Join(scope.Dir(name), f)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return promoted, len(recs), fmt.Errorf("promoted into %q, but could not remove every recording: %w", target, err)
	}
	return promoted, len(recs), nil
}
