package storedir

import (
	"errors"
	"fmt"
	"path"
)

// DefaultDir is where learned profiles are kept unless told otherwise.
const DefaultDir = "/var/lib/tailor/profiles"

// MaxNameLen is the longest profile name a store accepts.
const MaxNameLen = 128

// Ext is the file name extension of a stored profile and of a recording.
const Ext = ".json"

// ErrBadName marks a profile name a store refuses.
var ErrBadName = errors.New("invalid profile name")

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

// Scope is where a recording was asked for: "" for the host, else a
// Kubernetes namespace.
type Scope string

// ValidScope checks a scope: empty, or a Kubernetes namespace (a DNS
// label: 1 to 63 of [a-z0-9-], starting and ending with a letter or
// digit).
func ValidScope(s Scope) error {
	if s != "" && !dnsLabel(string(s)) {
		return fmt.Errorf("%w: namespace %q is not a DNS label", ErrBadName, string(s))
	}
	return nil
}

// dnsLabel is ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ without compiling a
// regular expression on every start of the hook (TestDNSLabel compares
// them).
func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

// Dir is the recordings directory of name in the scope, beneath the
// store.
func (s Scope) Dir(name string) string {
	return path.Join(s.Root(), name)
}

// Root is the scope's directory of recordings, beneath the store.
func (s Scope) Root() string {
	if s == "" {
		return path.Join("recordings", "host")
	}
	return path.Join("recordings", "ns", string(s))
}

// String names the scope in messages.
func (s Scope) String() string {
	if s == "" {
		return "host"
	}
	return "namespace " + string(s)
}

// PromotedName is the profile recordings of name in scope are promoted into
// by default: name for the host, NAMESPACE.name for a namespace.
func (s Scope) PromotedName(name string) string {
	if s == "" {
		return name
	}
	return string(s) + "." + name
}
