package profiles

import (
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

// Parse decodes and validates a profile document. Malformed JSON, duplicate
// keys, unknown fields, an unknown schema version, unknown syscall or
// capability names and duplicate entries are refused with the line and
// column at fault.
func Parse(data []byte) (*Profile, error) {
	var p Profile
	if err := DecodeStrict(data, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, Locate(data, err)
	}
	return &p, nil
}

// Validate checks names, versions and duplicates. Its errors wrap
// ErrInvalid and a *PathError naming the field at fault.
func (p *Profile) Validate() error {
	bad := func(path, format string, a ...any) error {
		return invalidError{&PathError{Path: path, Err: fmt.Errorf(format, a...)}}
	}
	if p.Kind != Kind {
		return bad("kind", "kind is %q, want %q", p.Kind, Kind)
	}
	if p.SchemaVersion != SchemaVersion {
		return bad("schemaVersion", "schemaVersion %d is not supported (this tailor reads version %d)", p.SchemaVersion, SchemaVersion)
	}
	if p.Source.Recordings < 0 {
		return bad("source.recordings", "negative count %d", p.Source.Recordings)
	}
	seenABI := map[ABI]bool{}
	for i, a := range p.ABIs {
		at := fmt.Sprintf("abis[%d]", i)
		if !a.ABI.Valid() {
			return bad(at+".abi", "unknown ABI %q (known: x86_64, x86, x32)", a.ABI)
		}
		if seenABI[a.ABI] {
			return bad(at+".abi", "ABI %q listed twice", a.ABI)
		}
		seenABI[a.ABI] = true
		seen := map[string]bool{}
		for j, s := range a.Syscalls {
			at := fmt.Sprintf("abis[%d].syscalls[%d]", i, j)
			if _, err := a.ABI.SyscallNr(s.Name); err != nil {
				return bad(at+".name", "unknown syscall %q for ABI %s", s.Name, a.ABI)
			}
			if seen[s.Name] {
				return bad(at+".name", "syscall %q listed twice", s.Name)
			}
			seen[s.Name] = true
			if s.Seen.Recordings < 0 {
				return bad(at+".seen.recordings", "negative count %d", s.Seen.Recordings)
			}
			if s.Args == nil {
				continue
			}
			if _, ok := ArgRuleFor(s.Name); !ok {
				return bad(at+".args", "%q has no recorded arguments, but args are given", s.Name)
			}
			values := map[uint64]bool{}
			for k, v := range s.Args.Values {
				if values[v] {
					return bad(fmt.Sprintf("%s.args.values[%d]", at, k), "value %#x of %s listed twice", v, s.Name)
				}
				values[v] = true
			}
		}
	}
	seenCap := map[string]bool{}
	for i, c := range p.Capabilities {
		at := fmt.Sprintf("capabilities[%d].name", i)
		cp, ok := CapabilityByName(c.Name)
		if !ok {
			return bad(at, "unknown capability %q", c.Name)
		}
		if want := CapabilityName(cp); c.Name != want {
			return bad(at, "capability %q must be spelled %q", c.Name, want)
		}
		if seenCap[c.Name] {
			return bad(at, "capability %q listed twice", c.Name)
		}
		seenCap[c.Name] = true
		if c.Seen.Recordings < 0 {
			return bad(fmt.Sprintf("capabilities[%d].seen.recordings", i), "negative count %d", c.Seen.Recordings)
		}
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
