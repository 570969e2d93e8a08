package generator

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// spoAppArmorDims are the dimensions an AppArmorProfile is made from: a
// profile that did not record one of them would read as "touches nothing".
var spoAppArmorDims = []profiles.Dimension{profiles.DimFiles, profiles.DimPrograms, profiles.DimNetwork}

// spoAppArmorSpec is the Security Profiles Operator's AppArmorProfileSpec:
// its structured ("abstract") form, from which the operator writes the
// AppArmor profile on each node.
type spoAppArmorSpec struct {
	Abstract spoAppArmorAbstract `json:"abstract"`
	Mode     string              `json:"mode"`
}

type spoAppArmorAbstract struct {
	Executable spoExecutable `json:"executable"`
	Filesystem spoFilesystem `json:"filesystem"`
	Network    spoNetwork    `json:"network"`
	Capability spoCapability `json:"capability"`
}

// spoExecutable: the operator writes "PATH ixr," for each executable and
// "PATH mr," for each library.
type spoExecutable struct {
	AllowedExecutables []string `json:"allowedExecutables,omitempty"`
	AllowedLibraries   []string `json:"allowedLibraries,omitempty"`
}

// spoFilesystem: the operator writes "PATH r," plus "deny PATH wlk," for
// a read-only path, "PATH wlk," plus "deny PATH r," for a write-only one,
// and "PATH rwlk," for a read-write one. Paths are AppArmor globs.
type spoFilesystem struct {
	ReadOnlyPaths  []string `json:"readOnlyPaths,omitempty"`
	WriteOnlyPaths []string `json:"writeOnlyPaths,omitempty"`
	ReadWritePaths []string `json:"readWritePaths,omitempty"`
}

// spoNetwork: "network raw," or "deny network raw,", and "network tcp,"
// and "network udp," when allowed. Every field is written, so that a
// refusal reads as a decision.
type spoNetwork struct {
	AllowRaw  bool         `json:"allowRaw"`
	Protocols spoProtocols `json:"allowedProtocols"`
}

type spoProtocols struct {
	AllowTCP bool `json:"allowTcp"`
	AllowUDP bool `json:"allowUdp"`
}

type spoCapability struct {
	AllowedCapabilities []string `json:"allowedCapabilities"`
}

// spoSafePath is a path SPO's form carries as exactly that file: the
// operator pastes paths into its profile unquoted, as globs, and refuses
// the object for bytes outside its own safe set, so anything beyond
// letters, digits and "_./+-" (glob characters, spaces, '@', ':', commas,
// quotes, newlines, non-ASCII bytes) cannot be written.
var spoSafePath = regexp.MustCompile(`^/[A-Za-z0-9_./+-]*$`)

// spoGlobs are the generaliser's glob pieces (aaGeneralize) SPO's form
// carries as they are: tunables/global's variables, which the profile the
// operator writes includes. The generaliser's character classes cannot be
// written (SPO's validation refuses '[' and ']', and a comma for {a,b}),
// nor can @{tailor_num}, which that profile does not define: a name that
// needs them is listed as recorded, never widened to '*' or '?'.
var spoGlobs = map[string]bool{"@{pid}": true, "@{tid}": true}

// spoPath returns the path SPO's form carries for a recorded one (dir
// adds the trailing slash AppArmor names a directory by): the
// generalised pattern when every glob piece is one of spoGlobs, else the
// path as recorded, with perRun set when the generaliser would have
// made it a glob. ok is false when a literal byte is outside spoSafePath's
// set: such a path cannot be written as exactly that file. The pieces
// of /proc/<pid> and task/<tid> replace whole components, so two carried
// patterns never match the same file and one path's deny rules (SPO adds
// "deny PATH wlk" to a read-only path) never take from another's.
func spoPath(path string, dir bool) (out string, perRun, ok bool) {
	if !spoSafePath.MatchString(path) {
		return "", false, false
	}
	pat, _ := aaGeneralize(path)
	carried := true
	for _, piece := range pat {
		if piece.glob && !spoGlobs[piece.text] {
			carried = false
		}
	}
	out = path
	switch {
	case carried:
		var b strings.Builder
		for _, piece := range pat {
			b.WriteString(piece.text) // literal pieces hold spoSafePath's bytes only
		}
		out = b.String()
	default:
		perRun = true
	}
	if dir && out != "/" {
		out += "/"
	}
	return out, perRun, true
}

// aaNeed is what one path needs in SPO's form.
type aaNeed struct {
	read, write, lib, exec bool
	// lockOnly is set when the only write-class access was a lock.
	lockOnly bool
}

// SPOAppArmor returns a Security Profiles Operator AppArmorProfile object
// (YAML) made from what the profile recorded the container touch: files
// (read-only, write-only and read-write paths; mapped executable files as
// libraries), programs run, TCP/UDP/raw sockets and granted capabilities.
// It refuses a profile that did not record files, programs and network.
// What SPO's form cannot carry is left out (narrower) or, where the form
// only grants more together, granted with a note; paths it cannot carry
// as exactly one file are left out with a note.
func SPOAppArmor(p *profiles.Profile, name string) ([]byte, []Note, error) {
	if err := checkObjectName(name); err != nil {
		return nil, nil, fmt.Errorf("generate spo-apparmor: %w", err)
	}
	c, notes, err := Capabilities(p)
	if err != nil {
		return nil, nil, err
	}
	if err := p.RequireRecorded(spoAppArmorDims...); err != nil {
		return nil, nil, fmt.Errorf("generate spo-apparmor: %w", err)
	}
	var a spoAppArmorAbstract
	fileNotes := spoFiles(p, &a)
	notes = append(notes, fileNotes...)
	notes = append(notes, spoNetworkOf(p, &a.Network)...)
	a.Capability.AllowedCapabilities = []string{}
	for _, capName := range c.Bounding {
		a.Capability.AllowedCapabilities = append(a.Capability.AllowedCapabilities, strings.ToLower(strings.TrimPrefix(capName, "CAP_")))
	}
	if slices.Contains(c.Bounding, "CAP_SYS_RAWIO") {
		notes = append(notes, Note{Text: "CAP_SYS_RAWIO is granted: the Security Profiles Operator then also allows mount, " +
			"remount and umount and running /sbin/fsck and /sbin/fsck.ext4 in the profile it writes"})
	}
	if len(p.Signals) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d signal or ptrace target(s) outside the container are not carried: "+
			"SPO's form has no signal or ptrace rules, so the profile allows only what abstractions/base does "+
			"(signals within the profile, from unconfined processes)", len(p.Signals))})
	}
	out, err := marshalSPO("AppArmorProfile", spoMetadata(p, name), spoAppArmorSpec{Abstract: a, Mode: "Enforce"})
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, Note{Text: fmt.Sprintf("the Security Profiles Operator loads the object on every node as AppArmor "+
		"profile %s: reference it with tailor generate --format k8s --spo --name %[1]s", name)})
	return out, notes, nil
}

// spoFiles fills the executable and filesystem rules from the recorded
// files, programs and unix socket paths.
func spoFiles(p *profiles.Profile, a *spoAppArmorAbstract) []Note {
	needs := map[string]*aaNeed{}
	var unsafe, lookups, locked, abstract, perRun []string
	generalized := 0
	need := func(path string) *aaNeed {
		if needs[path] == nil {
			needs[path] = &aaNeed{}
		}
		return needs[path]
	}
	// carry returns the path (or pattern) SPO's form lists for a
	// recorded path, false when it cannot list it.
	carry := func(path string, dir bool) (string, bool) {
		out, keptExact, ok := spoPath(path, dir)
		switch {
		case !ok:
			unsafe = append(unsafe, path)
		case keptExact:
			perRun = append(perRun, path)
		case strings.TrimSuffix(out, "/") != strings.TrimSuffix(path, "/"):
			generalized++
		}
		return out, ok
	}
	for _, f := range p.Files {
		if len(f.Access) == 1 && f.Has(profiles.AccessLookup) {
			lookups = append(lookups, f.Path)
			continue
		}
		// AppArmor names a directory with a trailing slash.
		path, ok := carry(f.Path, f.Type == profiles.TypeDir)
		if !ok {
			continue
		}
		n := need(path)
		wrote := n.write
		for _, acc := range f.Access {
			switch acc {
			case profiles.AccessRead:
				n.read = true
			case profiles.AccessMmapExec:
				n.lib = true
			case profiles.AccessExec:
				n.exec = true
			case profiles.AccessLookup:
			case profiles.AccessRenameFrom:
				// AppArmor checks the old name of a rename for read and write.
				n.read, n.write, wrote = true, true, true
			case profiles.AccessLock:
				n.write = true
			default:
				n.write, wrote = true, true
			}
		}
		if f.Has(profiles.AccessLock) && !wrote {
			n.lockOnly = true
		}
	}
	for _, x := range p.Programs {
		for _, path := range []string{x.Path, x.Interpreter} {
			if path == "" {
				continue
			}
			if path, ok := carry(path, false); ok {
				need(path).exec = true
			}
		}
	}
	for _, n := range p.Network {
		if n.Family != "unix" || n.Address == "" {
			continue
		}
		if strings.HasPrefix(n.Address, "@") {
			abstract = append(abstract, n.Address)
			continue
		}
		path, ok := carry(n.Address, false)
		if !ok {
			continue
		}
		// AppArmor mediates a pathname socket as a file: creating it
		// (bind) is a write, connecting or sending to it read and write.
		s := need(path)
		s.write = true
		if n.Op == profiles.NetConnect || n.Op == profiles.NetSend {
			s.read = true
		}
	}
	paths := make([]string, 0, len(needs))
	for path := range needs {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	written := 0
	for _, path := range paths {
		n := needs[path]
		if n.exec {
			a.Executable.AllowedExecutables = append(a.Executable.AllowedExecutables, path)
		}
		if n.lib {
			a.Executable.AllowedLibraries = append(a.Executable.AllowedLibraries, path)
		}
		if n.lockOnly {
			locked = append(locked, path)
		}
		// A write-only path gets "deny PATH r", which would also take
		// away the read that running or mapping it needs.
		readish := n.read || n.exec || n.lib
		switch {
		case n.write && readish:
			a.Filesystem.ReadWritePaths = append(a.Filesystem.ReadWritePaths, path)
			written++
		case n.write:
			a.Filesystem.WriteOnlyPaths = append(a.Filesystem.WriteOnlyPaths, path)
			written++
		case n.read:
			a.Filesystem.ReadOnlyPaths = append(a.Filesystem.ReadOnlyPaths, path)
		}
	}
	var notes []Note
	if len(unsafe) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d path(s) are left out, so the profile refuses them: SPO's form writes paths "+
			"unquoted as AppArmor globs and accepts only letters, digits and _./+- in them, so a name with other bytes "+
			"(glob characters, spaces, '@', ':', quotes, newlines, non-UTF-8) cannot be allowed as exactly that file "+
			"(--format apparmor escapes them): %s", len(unsafe), samplePaths(unsafe))})
	}
	if written > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("SPO's form grants writing as wlk (write, link, lock): the %d written "+
			"path(s) may also be hard-linked and locked, and a write-only path is denied reading", written)})
	}
	if len(locked) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d path(s) were locked but never written: SPO's form grants lock (k) only "+
			"with write, so they are read-write here: %s", len(locked), samplePaths(locked))})
	}
	if len(a.Executable.AllowedLibraries) > 0 {
		notes = append(notes, Note{Text: "files mapped executable are allowedLibraries (mr); executables are run with ix " +
			"(under this same profile), scripts' interpreters included"})
	}
	if len(lookups) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d failed lookup(s) are not listed: SPO's form has no rule for a name "+
			"that did not exist, so creating it later is refused: %s", len(lookups), samplePaths(lookups))})
	}
	if len(abstract) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d abstract unix socket peer(s) are not carried: SPO's form has no unix "+
			"rules, so the profile allows only what abstractions/base does (peers under the same profile): %s",
			len(abstract), samplePaths(abstract))})
	}
	if generalized > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d path(s) under /proc name a process or thread: listed with "+
			"@{pid} and @{tid} (tunables/global), so that the next run's pids match", generalized)})
	}
	if len(perRun) > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%d path(s) have names that change per run (a temporary file, a hash): "+
			"listed as recorded, because the globs that match them exactly (character classes, @{tailor_num}) cannot be "+
			"written in SPO's form, so the next run's names are refused; --format apparmor generalises them: %s",
			len(perRun), samplePaths(perRun))})
	}
	return notes
}

// spoNetworkOf fills the network rules from the endpoints and the socket
// families and types recorded.
func spoNetworkOf(p *profiles.Profile, n *spoNetwork) []Note {
	var notes []Note
	endpoints := 0
	for _, e := range p.Network {
		if e.Family != "inet" && e.Family != "inet6" {
			continue
		}
		endpoints++
		switch e.Protocol {
		case "tcp":
			n.Protocols.AllowTCP = true
		case "udp":
			n.Protocols.AllowUDP = true
		}
	}
	_, calls := unionSyscalls(p)
	var other []string
	if sc := calls["socket"]; sc != nil {
		if sc.overflow || sc.noArgs || len(sc.values) == 0 {
			notes = append(notes, Note{Syscall: "socket", Text: "its families and types were not recorded: " +
				"TCP and UDP follow the recorded endpoints, and raw sockets are denied"})
		}
		for _, v := range sc.sortedValues() {
			domain, typ := profiles.SocketDomainType(v)
			inet := domain == unix.AF_INET || domain == unix.AF_INET6
			switch {
			case typ == unix.SOCK_RAW:
				n.AllowRaw = true
			case inet && typ == unix.SOCK_STREAM:
				n.Protocols.AllowTCP = true
			case inet && typ == unix.SOCK_DGRAM:
				n.Protocols.AllowUDP = true
			case domain == unix.AF_UNIX:
				// abstractions/base allows unix sockets.
			default:
				other = append(other, describeValue("socket", v))
			}
		}
	}
	if n.AllowRaw {
		notes = append(notes, Note{Text: "raw sockets were created: allowRaw lets the profile create raw sockets of any family"})
	}
	if len(other) > 0 {
		notes = append(notes, Note{Text: "sockets of " + strings.Join(other, ", ") + " are not carried: SPO's form " +
			"allows only TCP, UDP and raw sockets, so the profile refuses them"})
	}
	if n.Protocols.AllowTCP || n.Protocols.AllowUDP {
		notes = append(notes, Note{Text: fmt.Sprintf("ports and addresses are not carried (%d endpoint(s) recorded): "+
			"allowTcp and allowUdp allow any TCP or UDP socket, bound or connected anywhere", endpoints)})
	}
	return notes
}

// samplePaths quotes the first few paths of a note (escaping newlines and
// other bytes a terminal would act on).
func samplePaths(paths []string) string {
	const max = 3
	var q []string
	for i, path := range paths {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(paths)-max))
			break
		}
		q = append(q, fmt.Sprintf("%q", path))
	}
	return strings.Join(q, ", ")
}
