package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/sys/capability"
)

// ErrInvalid marks a document that is not a valid tailor profile.
var ErrInvalid = errors.New("invalid profile")

// Load reads and validates the profile at path.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a profile document. Unknown fields, an
// unknown schema version, unknown syscall or capability names and duplicate
// entries are refused.
func Parse(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, jsonError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the profile document", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// jsonError adds the line and column to a decoding error.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Validate checks names, versions and duplicates.
func (p *Profile) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if p.Kind != Kind {
		return bad("kind is %q, want %q", p.Kind, Kind)
	}
	if p.SchemaVersion != SchemaVersion {
		return bad("schemaVersion %d is not supported (this tailor reads version %d)", p.SchemaVersion, SchemaVersion)
	}
	seenABI := map[ABI]bool{}
	for i, a := range p.ABIs {
		if !a.ABI.Valid() {
			return bad("abis[%d]: unknown ABI %q (known: x86_64, x86, x32)", i, a.ABI)
		}
		if seenABI[a.ABI] {
			return bad("abis[%d]: ABI %q listed twice", i, a.ABI)
		}
		seenABI[a.ABI] = true
		seen := map[string]bool{}
		for j, s := range a.Syscalls {
			if _, err := a.ABI.SyscallNr(s.Name); err != nil {
				return bad("abis[%d].syscalls[%d]: unknown syscall %q for ABI %s", i, j, s.Name, a.ABI)
			}
			if seen[s.Name] {
				return bad("abis[%d].syscalls[%d]: syscall %q listed twice", i, j, s.Name)
			}
			seen[s.Name] = true
			if s.Args != nil {
				if _, ok := ArgRuleFor(s.Name); !ok {
					return bad("abis[%d].syscalls[%d]: %q has no recorded arguments, but args are given", i, j, s.Name)
				}
			}
		}
	}
	seenCap := map[string]bool{}
	for i, c := range p.Capabilities {
		if _, ok := CapabilityByName(c.Name); !ok {
			return bad("capabilities[%d]: unknown capability %q", i, c.Name)
		}
		if seenCap[c.Name] {
			return bad("capabilities[%d]: capability %q listed twice", i, c.Name)
		}
		seenCap[c.Name] = true
	}
	return nil
}

// CapabilityByName resolves "CAP_CHOWN" (or "chown") to its number.
func CapabilityByName(name string) (capability.Cap, bool) {
	for _, c := range capability.ListKnown() {
		if CapabilityName(c) == name || c.String() == name {
			return c, true
		}
	}
	return 0, false
}

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
