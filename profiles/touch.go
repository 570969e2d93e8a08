package profiles

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Dimension is one kind of thing a recording observes. A profile lists the
// dimensions its recording covered (Profile.Recorded), so that an empty
// section means "touched nothing" only where it was recorded.
type Dimension string

// The dimensions a recording can cover.
const (
	DimSyscalls     Dimension = "syscalls"
	DimCapabilities Dimension = "capabilities"
	DimFiles        Dimension = "files"
	DimPrograms     Dimension = "programs"
	DimNetwork      Dimension = "network"
	DimSignals      Dimension = "signals"
)

// Dimensions lists every dimension, in document order.
var Dimensions = []Dimension{DimSyscalls, DimCapabilities, DimFiles, DimPrograms, DimNetwork, DimSignals}

// v1Dimensions is what a schema version 1 document recorded.
var v1Dimensions = []Dimension{DimSyscalls, DimCapabilities}

// Records reports whether the profile's recording covered d.
func (p *Profile) Records(d Dimension) bool { return slices.Contains(p.Recorded, d) }

// RequireRecorded returns an error naming the dimensions in ds the profile
// did not record: a generator that needs them must not read an empty
// section as "touches nothing".
func (p *Profile) RequireRecorded(ds ...Dimension) error {
	var missing []string
	for _, d := range ds {
		if !p.Records(d) {
			missing = append(missing, string(d))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the profile did not record %s (it records %s): learn it again with a tailor that records them",
		strings.Join(missing, ", "), joinDims(p.Recorded))
}

func joinDims(ds []Dimension) string {
	if len(ds) == 0 {
		return "nothing"
	}
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}

// Access is one operation on a file, as the kernel mediates it. The set is
// fine enough for both AppArmor (which folds several into w) and Landlock
// (which tells making a directory from making a regular file).
type Access string

// The file accesses a recording can see.
const (
	AccessRead       Access = "read"     // open for reading, or list a directory
	AccessWrite      Access = "write"    // open for writing
	AccessAppend     Access = "append"   // open with O_APPEND (and not O_TRUNC)
	AccessCreate     Access = "create"   // create a regular file (O_CREAT that made it, creat, mknod of a regular file)
	AccessTruncate   Access = "truncate" // O_TRUNC, truncate, ftruncate
	AccessMmapExec   Access = "mmap"     // mapped with PROT_EXEC (AppArmor's m)
	AccessExec       Access = "exec"     // run as a program (see Programs)
	AccessMkdir      Access = "mkdir"
	AccessRmdir      Access = "rmdir"
	AccessUnlink     Access = "unlink"
	AccessRenameFrom Access = "rename-from"
	AccessRenameTo   Access = "rename-to"
	AccessLink       Access = "link"    // the new name of a hard link
	AccessSymlink    Access = "symlink" // the new name of a symbolic link
	AccessChmod      Access = "chmod"
	AccessChown      Access = "chown"
	AccessMknod      Access = "mknod" // a device, FIFO or socket node
	AccessBind       Access = "bind"  // bind of a unix socket at this path
	AccessLock       Access = "lock"  // flock/fcntl lock (AppArmor's k)
	// AccessLookup is a lookup that failed with ENOENT: a probe for a file
	// that was not there. Under AppArmor an unlisted path fails with
	// EACCES instead, which a program may not expect.
	AccessLookup Access = "lookup"
)

// Accesses lists every access, sorted.
var Accesses = sortedAccesses()

func sortedAccesses() []Access {
	a := []Access{AccessRead, AccessWrite, AccessAppend, AccessCreate, AccessTruncate, AccessMmapExec, AccessExec,
		AccessMkdir, AccessRmdir, AccessUnlink, AccessRenameFrom, AccessRenameTo, AccessLink, AccessSymlink,
		AccessChmod, AccessChown, AccessMknod, AccessBind, AccessLock, AccessLookup}
	slices.Sort(a)
	return a
}

// FileType is what a path named when it was accessed.
type FileType string

// The file types; "" when the recorder could not tell (a failed lookup).
const (
	TypeUnknown FileType = ""
	TypeRegular FileType = "file"
	TypeDir     FileType = "dir"
	TypeSymlink FileType = "symlink"
	TypeSocket  FileType = "socket"
	TypeFIFO    FileType = "fifo"
	TypeChar    FileType = "char"
	TypeBlock   FileType = "block"
)

var fileTypes = []FileType{TypeUnknown, TypeRegular, TypeDir, TypeSymlink, TypeSocket, TypeFIFO, TypeChar, TypeBlock}

// MaxPath is the longest path a profile holds (the kernel's PATH_MAX).
const MaxPath = 4096

// File is one path the container touched, as the container sees it (its
// root is /), with every access seen. Path may hold any bytes but NUL: a
// path that is not valid UTF-8 is written as pathBase64.
type File struct {
	Path   string   `json:"-"`
	Type   FileType `json:"-"`
	Access []Access `json:"-"`
	Seen   Seen     `json:"-"`
}

type fileJSON struct {
	Path       string   `json:"path,omitempty"`
	PathBase64 string   `json:"pathBase64,omitempty"`
	Type       FileType `json:"type,omitempty"`
	Access     []Access `json:"access"`
	Seen       Seen     `json:"seen"`
}

// MarshalJSON writes a path that is not valid UTF-8 as pathBase64, so
// that no byte of a file name is lost or replaced.
func (f File) MarshalJSON() ([]byte, error) {
	j := fileJSON{Type: f.Type, Access: f.Access, Seen: f.Seen}
	if j.Access == nil {
		j.Access = []Access{}
	}
	if utf8.ValidString(f.Path) {
		j.Path = f.Path
	} else {
		j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(f.Path))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads path or pathBase64 (exactly one of them).
func (f *File) UnmarshalJSON(data []byte) error {
	var j fileJSON
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	switch {
	case j.Path != "" && j.PathBase64 != "":
		return fmt.Errorf("a file has both path and pathBase64: give one")
	case j.PathBase64 != "":
		b, err := base64.StdEncoding.DecodeString(j.PathBase64)
		if err != nil {
			return fmt.Errorf("pathBase64: %w", err)
		}
		if utf8.Valid(b) {
			return fmt.Errorf("pathBase64 %q is valid UTF-8: write it as path", j.PathBase64)
		}
		f.Path = string(b)
	default:
		f.Path = j.Path
	}
	f.Type, f.Access, f.Seen = j.Type, j.Access, j.Seen
	return nil
}

// JSONShape is what a File decodes itself through: CheckKeys checks a
// file's keys as fileJSON's (jsondoc.Shaped).
func (File) JSONShape() reflect.Type { return reflect.TypeFor[fileJSON]() }

// Has reports whether a is among the file's accesses.
func (f File) Has(a Access) bool { return slices.Contains(f.Access, a) }

// Program is one executable the container ran, by the file the kernel
// executed; for a script, Interpreter is the program that ran it.
type Program struct {
	Path        string `json:"path"`
	Interpreter string `json:"interpreter,omitempty"`
	Seen        Seen   `json:"seen"`
}

// NetOp is a network operation.
type NetOp string

// The network operations a recording can see.
const (
	NetBind    NetOp = "bind"
	NetListen  NetOp = "listen"
	NetConnect NetOp = "connect"
	NetSend    NetOp = "send" // sendto/sendmsg with a destination (UDP)
)

var netOps = []NetOp{NetBind, NetConnect, NetListen, NetSend}

// Network is one network endpoint the container used: a port it bound or
// listened on, a destination it connected to (by family, protocol and
// port; Loopback when the address was a loopback one), or a unix socket
// peer (Address is the path, or @name for an abstract socket).
type Network struct {
	Op       NetOp  `json:"op"`
	Family   string `json:"family"`             // inet, inet6, unix
	Protocol string `json:"protocol,omitempty"` // tcp, udp (inet, inet6); stream, dgram, seqpacket (unix)
	Port     int    `json:"port,omitempty"`
	Loopback bool   `json:"loopback,omitempty"`
	Address  string `json:"address,omitempty"` // unix only
	Seen     Seen   `json:"seen"`
}

var netFamilies = map[string][]string{
	"inet":  {"tcp", "udp", ""},
	"inet6": {"tcp", "udp", ""},
	"unix":  {"stream", "dgram", "seqpacket", ""},
}

// Signal is a signal sent to a process outside the container, or a ptrace
// attempt (Signal "ptrace") on one. Signals within the container are not
// recorded: the profile's own rules allow them.
type Signal struct {
	Signal string `json:"signal"` // SIGTERM, ..., or "ptrace"
	Target string `json:"target"` // the target's comm
	// Failed marks a ptrace attach the kernel refused: an attempt, a sign
	// of intent rather than a need the container had met. An item of its
	// own beside a ptrace of the same target that succeeded.
	Failed bool `json:"failed,omitempty"`
	Seen   Seen `json:"seen"`
}

// Key identifies a file in its section: its path.
func (f File) Key() string { return f.Path }

// Key identifies a program in its section: path and interpreter.
func (x Program) Key() string { return x.Path + "\x00" + x.Interpreter }

// Key identifies an endpoint in its section: every field but Seen.
func (n Network) Key() string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%05d\x00%t\x00%s", n.Op, n.Family, n.Protocol, n.Port, n.Loopback, n.Address)
}

// Key identifies a signal item in its section: signal, target and whether
// it failed.
func (s Signal) Key() string {
	if s.Failed {
		return s.Signal + "\x00" + s.Target + "\x00failed"
	}
	return s.Signal + "\x00" + s.Target
}

// normalizeTouch sorts and deduplicates the touch sections, merging
// duplicates' accesses and keeping the first provenance.
func (p *Profile) normalizeTouch() {
	p.Recorded = normalizeDims(p.Recorded)
	p.Files = mergeItems(p.Files, File.Key, func(a, b File) File {
		a.Access = slices.Concat(a.Access, b.Access)
		if a.Type == TypeUnknown {
			a.Type = b.Type
		}
		return a
	})
	for i := range p.Files {
		p.Files[i].Access = sortedSet(p.Files[i].Access)
	}
	p.Programs = mergeItems(p.Programs, Program.Key, keepFirst[Program])
	p.Network = mergeItems(p.Network, Network.Key, keepFirst[Network])
	p.Signals = mergeItems(p.Signals, Signal.Key, keepFirst[Signal])
}

func keepFirst[T any](a, _ T) T { return a }

func mergeItems[T any](in []T, key func(T) string, join func(a, b T) T) []T {
	sort.SliceStable(in, func(i, j int) bool { return key(in[i]) < key(in[j]) })
	out := make([]T, 0, len(in))
	for _, x := range in {
		if n := len(out); n > 0 && key(out[n-1]) == key(x) {
			out[n-1] = join(out[n-1], x)
			continue
		}
		out = append(out, x)
	}
	return out
}

func sortedSet[T ~string](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []T{}
	}
	return out
}

func normalizeDims(in []Dimension) []Dimension {
	out := []Dimension{}
	for _, d := range Dimensions {
		if slices.Contains(in, d) {
			out = append(out, d)
		}
	}
	return out
}

// validateTouch checks the touch sections: known dimensions, absolute
// paths without NUL, known accesses, types, operations and families, no
// duplicates. A section may hold items without being recorded (a merge
// with a profile that did not record it): it is then known to be partial,
// and generators that need it refuse the profile (RequireRecorded).
func (p *Profile) validateTouch(bad func(path, format string, a ...any) error) error {
	for i, d := range p.Recorded {
		if !slices.Contains(Dimensions, d) {
			return bad(fmt.Sprintf("recorded[%d]", i), "unknown dimension %q (known: %s)", d, joinDims(Dimensions))
		}
		if slices.Contains(p.Recorded[:i], d) {
			return bad(fmt.Sprintf("recorded[%d]", i), "dimension %q listed twice", d)
		}
	}
	seen := map[string]bool{}
	for i, f := range p.Files {
		at := fmt.Sprintf("files[%d]", i)
		if err := checkPath(f.Path); err != nil {
			return bad(at+".path", "%w", err)
		}
		if seen[f.Path] {
			return bad(at+".path", "path %q listed twice", f.Path)
		}
		seen[f.Path] = true
		if !slices.Contains(fileTypes, f.Type) {
			return bad(at+".type", "unknown file type %q", f.Type)
		}
		if len(f.Access) == 0 {
			return bad(at+".access", "no access listed for %q", f.Path)
		}
		for j, a := range f.Access {
			if !slices.Contains(Accesses, a) {
				return bad(fmt.Sprintf("%s.access[%d]", at, j), "unknown access %q (known: %s)", a, joinAccess())
			}
			if slices.Contains(f.Access[:j], a) {
				return bad(fmt.Sprintf("%s.access[%d]", at, j), "access %q listed twice", a)
			}
		}
		if f.Seen.Recordings < 0 {
			return bad(at+".seen.recordings", "negative count %d", f.Seen.Recordings)
		}
	}
	seen = map[string]bool{}
	for i, x := range p.Programs {
		at := fmt.Sprintf("programs[%d]", i)
		if err := checkPath(x.Path); err != nil {
			return bad(at+".path", "%w", err)
		}
		if x.Interpreter != "" {
			if err := checkPath(x.Interpreter); err != nil {
				return bad(at+".interpreter", "%w", err)
			}
		}
		k := x.Key()
		if seen[k] {
			return bad(at, "program %q listed twice", x.Path)
		}
		seen[k] = true
	}
	seen = map[string]bool{}
	for i, n := range p.Network {
		at := fmt.Sprintf("network[%d]", i)
		if !slices.Contains(netOps, n.Op) {
			return bad(at+".op", "unknown operation %q (known: bind, connect, listen, send)", n.Op)
		}
		protos, ok := netFamilies[n.Family]
		if !ok {
			return bad(at+".family", "unknown family %q (known: inet, inet6, unix)", n.Family)
		}
		if !slices.Contains(protos, n.Protocol) {
			return bad(at+".protocol", "protocol %q is not one of family %s's", n.Protocol, n.Family)
		}
		if n.Port < 0 || n.Port > 65535 || (n.Family == "unix" && n.Port != 0) {
			return bad(at+".port", "port %d is out of range for family %s", n.Port, n.Family)
		}
		if n.Family != "unix" && n.Address != "" {
			return bad(at+".address", "an address is kept for unix sockets only")
		}
		if n.Family == "unix" && n.Address != "" && !strings.HasPrefix(n.Address, "@") {
			if err := checkPath(n.Address); err != nil {
				return bad(at+".address", "%w", err)
			}
		}
		if seen[n.Key()] {
			return bad(at, "network item listed twice")
		}
		seen[n.Key()] = true
	}
	seen = map[string]bool{}
	for i, s := range p.Signals {
		at := fmt.Sprintf("signals[%d]", i)
		if s.Signal != "ptrace" && !strings.HasPrefix(s.Signal, "SIG") {
			return bad(at+".signal", "signal %q: want a SIG name or ptrace", s.Signal)
		}
		if s.Failed && s.Signal != "ptrace" {
			return bad(at+".failed", "only a ptrace attempt is recorded as failed, not signal %s", s.Signal)
		}
		if seen[s.Key()] {
			return bad(at, "signal item listed twice")
		}
		seen[s.Key()] = true
	}
	return nil
}

func joinAccess() string {
	s := make([]string, len(Accesses))
	for i, a := range Accesses {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// checkPath checks a path from a recording: absolute, no NUL, at most
// MaxPath bytes. It is not cleaned: the recorder resolves paths, and a
// document that holds "." or ".." components was not written by it.
func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is not absolute", p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("path %q holds a NUL byte", p)
	case len(p) > MaxPath:
		return fmt.Errorf("path of %d bytes is longer than %d", len(p), MaxPath)
	}
	for _, c := range strings.Split(p[1:], "/") {
		if c == "." || c == ".." || (c == "" && p != "/") {
			return fmt.Errorf("path %q is not clean (empty, . or .. component)", p)
		}
	}
	return nil
}

// mergeTouch unions the touch sections of ps into out. A dimension is
// recorded in the result only when every input recorded it: otherwise an
// input's empty section would read as "touched nothing".
func mergeTouch(out *Profile, ps []*Profile) {
	out.Recorded = nil
	for _, d := range Dimensions {
		all := true
		for _, p := range ps {
			all = all && p.Records(d)
		}
		if all {
			out.Recorded = append(out.Recorded, d)
		}
	}
	var files []File
	var progs []Program
	var nets []Network
	var sigs []Signal
	for _, p := range ps {
		files = append(files, p.Files...)
		progs = append(progs, p.Programs...)
		nets = append(nets, p.Network...)
		sigs = append(sigs, p.Signals...)
	}
	out.Files = mergeItems(files, File.Key, func(a, b File) File {
		a.Access = sortedSet(slices.Concat(a.Access, b.Access))
		if a.Type == TypeUnknown {
			a.Type = b.Type
		}
		a.Seen = mergeSeen(a.Seen, b.Seen)
		return a
	})
	out.Programs = mergeItems(progs, Program.Key, func(a, b Program) Program { a.Seen = mergeSeen(a.Seen, b.Seen); return a })
	out.Network = mergeItems(nets, Network.Key, func(a, b Network) Network { a.Seen = mergeSeen(a.Seen, b.Seen); return a })
	out.Signals = mergeItems(sigs, Signal.Key, func(a, b Signal) Signal { a.Seen = mergeSeen(a.Seen, b.Seen); return a })
}
