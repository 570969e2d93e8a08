package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/moby/sys/capability"

	"github.com/tailor-dev/tailor/internal/jsondoc"
)

// ErrInvalid marks a document that is not a valid tailor profile.
var ErrInvalid = errors.New("invalid profile")

// Load reads and validates the profile at path, within the limits of
// ReadDocumentFile.
func Load(path string) (*Profile, error) {
	data, err := jsondoc.ReadFile(path)
	switch {
	case jsondoc.IsLimit(err):
		return nil, fmt.Errorf("%s: %w: %w", path, ErrInvalid, err)
	case err != nil:
		return nil, fmt.Errorf("read profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a profile document. A document beyond
// MaxDocumentSize or MaxDepth, malformed JSON, duplicate keys, unknown
// fields, an unknown schema version, unknown syscall or capability names,
// duplicate entries and inconsistent argument values are refused with the
// line and column at fault.
//
// Completeness is derived, not read: a document that counts a loss is
// incomplete whatever its "complete" says (see Profile.Complete).
func Parse(data []byte) (*Profile, error) {
	var p Profile
	if err := DecodeStrict(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := p.upgrade(); err != nil {
		return nil, Locate(data, err)
	}
	p.deriveComplete()
	if err := p.Validate(); err != nil {
		return nil, Locate(data, err)
	}
	return &p, nil
}

// upgrade reads an older schema version into this one: a version 1
// document recorded syscalls and capabilities only, and cannot hold the
// later sections. A version 2 document must say what it recorded.
func (p *Profile) upgrade() error {
	bad := func(path, format string, a ...any) error {
		return invalidError{&PathError{Path: path, Err: fmt.Errorf(format, a...)}}
	}
	switch p.SchemaVersion {
	case 1:
		if p.Recorded != nil || len(p.Files)+len(p.Programs)+len(p.Network)+len(p.Signals) > 0 || p.Loss.Paths+p.Loss.Objects > 0 {
			return bad("schemaVersion", "a schemaVersion 1 document has no recorded, files, programs, network or signals: "+
				"set schemaVersion to %d", SchemaVersion)
		}
		p.SchemaVersion = SchemaVersion
		p.Recorded = slices.Clone(v1Dimensions)
	case SchemaVersion:
		if p.Recorded == nil {
			return bad("recorded", "a schemaVersion %d document lists the dimensions it recorded in recorded "+
				"(e.g. [\"syscalls\", \"capabilities\"])", SchemaVersion)
		}
	}
	return nil
}

// CapabilityByName resolves "CAP_CHOWN" (or "chown") to its number.
func CapabilityByName(name string) (capability.Cap, bool) {
	c, ok := capabilityNames()[name]
	return c, ok
}

// capabilityNames maps both spellings of every known capability to it,
// built once: documents can name many.
var capabilityNames = sync.OnceValue(func() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		m[CapabilityName(c)] = c
		m[c.String()] = c
	}
	return m
})

// CapabilityName is the OCI/Docker spelling of a capability, e.g. CAP_CHOWN.
func CapabilityName(c capability.Cap) string {
	return "CAP_" + upper(c.String())
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// WriteFile writes the profile to path atomically: a temporary file in the
// same directory, fsync, rename, fsync of the directory. A reader sees the
// old file or the new one, never a part.
func (p *Profile) WriteFile(path string) error {
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data, 0o644)
}

// WriteFileAtomic replaces path with data atomically.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the rename is done, durability of the dir entry
		d.Close()
	}
	return nil
}
