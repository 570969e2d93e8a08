package storedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// A learning run asked for by a container (an annotation, an image's
// environment) never changes what other containers are enforced with: it
// adds a recording beside the profile of that name (profiles.Store.Record).
// Recordings live beneath recordings/ in the store, per scope: the host
// (recordings/host/NAME/) or a Kubernetes namespace
// (recordings/ns/NAMESPACE/NAME/), so that a pod author in one namespace
// cannot add to the recordings of another.

// MaxRecordings is how many recordings of one name a store keeps pending:
// a container that asks to be learned again and again cannot fill the
// disk. Promote (or remove) them to make room.
const MaxRecordings = 64

// MaxScopeRecordings is how many recordings one scope (the host, or a
// namespace) keeps pending over all its names: a pod author cannot fill
// the disk with learning requests of ever new names either.
const MaxScopeRecordings = 1024

// scopeLimit is MaxScopeRecordings (tests lower it).
var scopeLimit = MaxScopeRecordings

// ErrTooManyRecordings refuses a recording beyond MaxRecordings.
var ErrTooManyRecordings = errors.New("too many pending recordings")

// CanRecord checks that a recording of name in scope would be kept in the
// store dir, before a container is learned at all. It writes nothing: a
// store not created yet has room.
func CanRecord(dir string, scope Scope, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := ValidScope(scope); err != nil {
		return err
	}
	root, err := OpenRoot(dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	return RoomFor(root, dir, scope, name)
}

// RoomFor checks that the store in root (label names it in messages) has
// room for one more recording of name in scope: fewer than MaxRecordings
// of name, and fewer than MaxScopeRecordings in the scope. name and scope
// are valid.
func RoomFor(root *os.Root, label string, scope Scope, name string) error {
	list, err := RecordingFiles(root, scope, name)
	if err != nil {
		return err
	}
	if len(list) >= MaxRecordings {
		return fmt.Errorf("%w: the store %s holds %d recordings of %q (%s), the most it keeps: promote them (tailor profiles promote %s) or remove them",
			ErrTooManyRecordings, label, len(list), name, scope, promoteArgs(scope, name))
	}
	total := 0
	d, err := root.Open(scope.Root())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list recordings: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list recordings: %w", err)
	}
	for _, n := range names {
		if ValidName(n) != nil {
			continue
		}
		files, err := RecordingFiles(root, scope, n)
		if err != nil {
			return err
		}
		total += len(files)
	}
	if total >= scopeLimit {
		return fmt.Errorf("%w: the store %s holds %d recordings for the %s, the most it keeps over all names: promote or remove some",
			ErrTooManyRecordings, label, total, scope)
	}
	return nil
}

func promoteArgs(scope Scope, name string) string {
	if scope == "" {
		return name
	}
	return "--namespace " + string(scope) + " " + name
}

// RecordingFiles lists the file names of the pending recordings of name in
// scope in the store in root (regular files ending in Ext, not hidden), in
// directory order.
func RecordingFiles(root *os.Root, scope Scope, name string) ([]string, error) {
	d, err := root.Open(scope.Dir(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	defer d.Close()
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), Ext) && !strings.HasPrefix(de.Name(), ".") {
			out = append(out, de.Name())
		}
	}
	return out, nil
}
