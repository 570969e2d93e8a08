package landlock

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxRules bounds the rules of a ruleset the helper accepts: far above
// what a derivation makes (it folds files into hierarchies), low enough
// that a hostile document cannot make the helper open paths for minutes.
const MaxRules = 8192

// Ruleset is a Landlock ruleset: the rights it handles (refused unless a
// rule grants them) and the rules that grant them, beneath a path or on a
// TCP port, plus the IPC scopes it restricts.
type Ruleset struct {
	// ABI is the first Landlock ABI that enforces all of the ruleset.
	ABI        int        `json:"abi"`
	HandledFS  FSAccess   `json:"handledAccessFS"`
	HandledNet NetAccess  `json:"handledAccessNet"`
	Scoped     Scope      `json:"scoped"`
	Paths      []PathRule `json:"paths"`
	Ports      []PortRule `json:"ports"`
}

// PathRule grants Access beneath Path when it is a directory, on Path
// alone otherwise. Why says which recorded accesses it stands for.
//
// Type is what Path was when it was recorded: the helper opens Path
// without following symlinks (unless Follow), checks that it still is of
// that type and skips the rule, saying so, when it is not. Rights beneath
// a directory are never granted through a rule recorded on a file, nor
// through a symlink that replaced it.
type PathRule struct {
	Path   string
	Type   FileType
	Follow bool
	Access FSAccess
	Why    string
}

// FileType is what a rule's path must be: the names of profiles.FileType,
// and TypeNotDir for a file whose type the recording could not tell.
type FileType string

// The file types of a rule.
const (
	TypeRegular FileType = "file"
	TypeDir     FileType = "dir"
	TypeSymlink FileType = "symlink"
	TypeSocket  FileType = "socket"
	TypeFIFO    FileType = "fifo"
	TypeChar    FileType = "char"
	TypeBlock   FileType = "block"
	// TypeNotDir is anything but a directory.
	TypeNotDir FileType = "notdir"
)

var fileTypes = []FileType{TypeRegular, TypeDir, TypeSymlink, TypeSocket, TypeFIFO, TypeChar, TypeBlock, TypeNotDir}

// Matches reports whether a file of type got (never TypeNotDir) is what
// a rule of type t was recorded on.
func (t FileType) Matches(got FileType) bool {
	return t == got || (t == TypeNotDir && got != TypeDir)
}

type pathRuleJSON struct {
	Path       string   `json:"path,omitempty"`
	PathBase64 string   `json:"pathBase64,omitempty"`
	Type       FileType `json:"type"`
	Follow     bool     `json:"followSymlinks,omitempty"`
	Access     FSAccess `json:"access"`
	Why        string   `json:"why,omitempty"`
}

// MarshalJSON writes a path that is not valid UTF-8 as pathBase64, as a
// profile does, so that no byte of a file name is replaced.
func (r PathRule) MarshalJSON() ([]byte, error) {
	j := pathRuleJSON{Type: r.Type, Follow: r.Follow, Access: r.Access, Why: r.Why}
	if utf8.ValidString(r.Path) {
		j.Path = r.Path
	} else {
		j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(r.Path))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads path or pathBase64 (exactly one).
func (r *PathRule) UnmarshalJSON(data []byte) error {
	var j pathRuleJSON
	if err := strictDecode(data, &j); err != nil {
		return err
	}
	switch {
	case (j.Path == "") == (j.PathBase64 == ""):
		return errors.New("a path rule needs exactly one of path and pathBase64")
	case j.PathBase64 != "":
		b, err := base64.StdEncoding.DecodeString(j.PathBase64)
		if err != nil {
			return fmt.Errorf("pathBase64: %w", err)
		}
		r.Path = string(b)
	default:
		r.Path = j.Path
	}
	r.Type, r.Follow, r.Access, r.Why = j.Type, j.Follow, j.Access, j.Why
	return nil
}

// PortRule grants Access (bind, connect) on a TCP port.
type PortRule struct {
	Port   uint16    `json:"port"`
	Access NetAccess `json:"access"`
	Why    string    `json:"why,omitempty"`
}

// Validate checks a ruleset read from a document: known rights, an ABI
// that knows them, absolute clean paths, a known type on each path rule
// and only file rights on a rule that is not on a directory, rules within
// what is handled, no duplicates, at most MaxRules rules.
func (r *Ruleset) Validate() error {
	if r.ABI < 1 || r.ABI > MaxABI {
		return fmt.Errorf("abi %d: want 1 to %d", r.ABI, MaxABI)
	}
	if need := r.NeededABI(); need > r.ABI {
		return fmt.Errorf("abi %d: the rights handled need ABI %d", r.ABI, need)
	}
	if n := len(r.Paths) + len(r.Ports); n > MaxRules {
		return fmt.Errorf("%d rules: at most %d", n, MaxRules)
	}
	seen := map[string]bool{}
	for i, p := range r.Paths {
		if err := checkPath(p.Path); err != nil {
			return fmt.Errorf("paths[%d]: %w", i, err)
		}
		if seen[p.Path] {
			return fmt.Errorf("paths[%d]: %q listed twice", i, p.Path)
		}
		seen[p.Path] = true
		if p.Access == 0 || p.Access&^r.HandledFS != 0 {
			return fmt.Errorf("paths[%d] (%q): access %s is empty or not within the handled %s", i, p.Path, p.Access, r.HandledFS)
		}
		if !slices.Contains(fileTypes, p.Type) {
			return fmt.Errorf("paths[%d] (%q): type %q: want one of %v", i, p.Path, p.Type, fileTypes)
		}
		if p.Type != TypeDir && p.Access&^FileRights != 0 {
			return fmt.Errorf("paths[%d] (%q): a rule on a %s grants %s: only %s are rights on a file", i, p.Path, p.Type, p.Access&^FileRights, FileRights)
		}
	}
	ports := map[uint16]bool{}
	for i, p := range r.Ports {
		if ports[p.Port] {
			return fmt.Errorf("ports[%d]: port %d listed twice", i, p.Port)
		}
		ports[p.Port] = true
		if p.Access == 0 || p.Access&^r.HandledNet != 0 {
			return fmt.Errorf("ports[%d] (%d): access %v is empty or not within the handled %v", i, p.Port, p.Access.Names(), r.HandledNet.Names())
		}
	}
	return nil
}

// NeededABI is the first ABI that knows every right and scope handled.
func (r *Ruleset) NeededABI() int {
	return max(minABI(fsRights, uint64(r.HandledFS)), minABI(netRights, uint64(r.HandledNet)), minABI(scopes, uint64(r.Scoped)), 1)
}

// Downgrade returns the part of the ruleset a kernel of Landlock ABI abi
// enforces, and what it leaves out (empty when nothing). An abi below 1
// (no Landlock) leaves everything out: the result handles nothing.
func (r *Ruleset) Downgrade(abi int) (*Ruleset, []string) {
	out := &Ruleset{ABI: min(abi, r.ABI),
		HandledFS:  r.HandledFS & FSAccess(upTo(fsRights, abi)),
		HandledNet: r.HandledNet & NetAccess(upTo(netRights, abi)),
		Scoped:     r.Scoped & Scope(upTo(scopes, abi)),
	}
	var dropped []string
	if abi < 1 {
		return &Ruleset{}, []string{"everything: the kernel has no Landlock (not built, or not in the lsm= list)"}
	}
	for _, x := range []struct {
		rs       []right
		was, now uint64
	}{{fsRights, uint64(r.HandledFS), uint64(out.HandledFS)}, {netRights, uint64(r.HandledNet), uint64(out.HandledNet)},
		{scopes, uint64(r.Scoped), uint64(out.Scoped)}} {
		for _, rt := range x.rs {
			if x.was&rt.bit != 0 && x.now&rt.bit == 0 {
				d := fmt.Sprintf("%s (ABI %d)", rt.name, rt.abi)
				if rt.bit == uint64(FSRefer) {
					d += ": a rename or link into another directory fails with EXDEV on ABI 1"
				}
				dropped = append(dropped, d)
			}
		}
	}
	for _, p := range r.Paths {
		if p.Access &= out.HandledFS; p.Access != 0 {
			out.Paths = append(out.Paths, p)
		}
	}
	for _, p := range r.Ports {
		if p.Access &= out.HandledNet; p.Access != 0 {
			out.Ports = append(out.Ports, p)
		}
	}
	if len(out.Paths) == 0 && out.HandledFS == 0 {
		out.Paths = nil
	}
	return out, dropped
}

// Allows reports whether the ruleset lets a process access path with the
// rights need, as the kernel decides: a handled right is granted by a
// rule on path itself or on one of its directories; a right that is not
// handled is not restricted.
func (r *Ruleset) Allows(path string, need FSAccess) bool {
	need &= r.HandledFS
	var got FSAccess
	for _, p := range r.Paths {
		if Beneath(path, p.Path) {
			got |= p.Access
		}
	}
	return need&^got == 0
}

// AllowsPort reports whether the ruleset lets a process bind or connect
// (need) a TCP port.
func (r *Ruleset) AllowsPort(port uint16, need NetAccess) bool {
	need &= r.HandledNet
	for _, p := range r.Ports {
		if p.Port == port {
			need &^= p.Access
		}
	}
	return need == 0
}

// Beneath reports whether path is dir or lies beneath it.
func Beneath(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// Rule returns the rule on path, if any.
func (r *Ruleset) Rule(path string) (PathRule, bool) {
	i := slices.IndexFunc(r.Paths, func(p PathRule) bool { return p.Path == path })
	if i < 0 {
		return PathRule{}, false
	}
	return r.Paths[i], true
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// maxPath is the longest path a rule holds (the kernel's PATH_MAX).
const maxPath = 4096

// checkPath checks a rule's path: absolute, clean, without NUL, at most
// maxPath bytes. The helper opens it as it is: a path with . or ..
// components, or a relative one, was not written by tailor.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 || len(p) > maxPath {
		return fmt.Errorf("path %q: want an absolute path of at most %d bytes without NUL", p, maxPath)
	}
	if p != "/" && path.Clean(p) != p {
		return fmt.Errorf("path %q is not clean", p)
	}
	return nil
}
