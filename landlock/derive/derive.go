package derive

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/landlock"
	"github.com/tailor-dev/tailor/profiles"
)

// systemRoots hold the image's programs and libraries: a workload that
// read or ran something beneath one gets read (and execute, when it ran
// or mapped something there) beneath all of it, so that the same program
// reading another locale file or plugin on a later run still works. What
// it wrote there stays exact.
var systemRoots = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// readRights are the rights folded into a system root.
const readRights = landlock.FSReadFile | landlock.FSReadDir | landlock.FSExecute

// loaders are the ELF interpreters the kernel opens for execute when a
// dynamic program starts. A recording sees the program's exec, not the
// interpreter's open, yet Landlock checks it: every program is granted
// them. A rule on a loader that the image does not have is skipped when
// the ruleset is enforced. They are exact rules: the name is often a
// symlink, and Landlock checks the file it resolves to, wherever it is,
// so their rules follow symlinks (the resolved file must still be a
// regular file: never rights beneath a directory).
var loaders = []string{
	"/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1",
	"/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-aarch64.so.1",
}

// FromProfile derives the Landlock ruleset of a profile that recorded
// files and programs (profiles.RequireRecorded): rights beneath the
// directories and files that cover what it did (see the doc of each
// rule's Why), TCP ports when the ones it used are fixed, and the scopes
// it never needed. Notes say what could not be restricted and why.
func FromProfile(p *profiles.Profile) (*landlock.Ruleset, []generator.Note, error) {
	if err := p.RequireRecorded(profiles.DimFiles, profiles.DimPrograms); err != nil {
		return nil, nil, fmt.Errorf("landlock: %w", err)
	}
	d := newDeriver(p)
	for _, f := range p.Files {
		d.file(f)
	}
	for _, x := range p.Programs {
		for _, bin := range []string{x.Path, x.Interpreter} {
			if bin != "" {
				d.grantAt(bin, landlock.TypeRegular, landlock.FSExecute, "executed")
			}
		}
	}
	d.fold()
	if len(p.Programs) > 0 {
		for _, l := range loaders {
			d.grant(l, landlock.TypeRegular, landlock.FSExecute|landlock.FSReadFile, "ELF interpreter of the programs it ran (skipped where the image has none)")
			d.follow[l] = true
		}
	}
	r := &landlock.Ruleset{HandledFS: landlock.AllFS, Paths: d.rules()}
	notes := d.notes
	notes = append(notes, network(p, r)...)
	notes = append(notes, scoping(p, r)...)
	r.ABI = r.NeededABI()
	if err := r.Validate(); err != nil {
		return nil, nil, fmt.Errorf("landlock: derived ruleset: %w", err)
	}
	return r, notes, nil
}

// deriver collects the rights each anchor (an existing path) needs.
type deriver struct {
	created map[string]bool // paths that came into existence during the run
	grants  map[string]landlock.FSAccess
	types   map[string]landlock.FileType
	follow  map[string]bool // rules that follow symlinks: loaders and system roots
	why     map[string]map[string]bool
	varying int // paths anchored higher because a component varies per run
	notes   []generator.Note
}

func newDeriver(p *profiles.Profile) *deriver {
	d := &deriver{created: map[string]bool{}, grants: map[string]landlock.FSAccess{}, types: map[string]landlock.FileType{},
		follow: map[string]bool{}, why: map[string]map[string]bool{}}
	for _, f := range p.Files {
		for _, a := range []profiles.Access{profiles.AccessCreate, profiles.AccessMkdir, profiles.AccessSymlink,
			profiles.AccessLink, profiles.AccessMknod, profiles.AccessBind, profiles.AccessRenameTo} {
			if f.Has(a) {
				d.created[f.Path] = true
			}
		}
	}
	return d
}

// anchor returns the path a rule for p goes on: p itself, or the
// directory above the first component that did not exist before the
// workload ran (it created it) or that names something different on each
// run (a pid, a temporary name: generator.StableDepth). Landlock grants
// rights on existing files and beneath existing directories only.
func (d *deriver) anchor(p string) string {
	if p == "/" {
		return p
	}
	comps := strings.Split(p[1:], "/")
	stable := generator.StableDepth(p)
	for i := 1; i <= len(comps); i++ {
		if i > stable || d.created["/"+strings.Join(comps[:i], "/")] {
			if i > stable {
				d.varying++
			}
			return "/" + strings.Join(comps[:i-1], "/")
		}
	}
	return p
}

// grantAt grants a on p, of type t, or beneath the directory p is
// anchored at (see anchor).
func (d *deriver) grantAt(p string, t landlock.FileType, a landlock.FSAccess, why string) {
	at := d.anchor(p)
	if at != p {
		t, why = landlock.TypeDir, why+" beneath it"
	}
	d.grant(at, t, a, why)
}

// grant grants a on at, a path of type t. A path recorded both as a
// directory and as something else is a directory (the other recording
// could not tell); of two other types, the one recorded is kept over
// TypeNotDir.
func (d *deriver) grant(at string, t landlock.FileType, a landlock.FSAccess, why string) {
	if a == 0 {
		return
	}
	if old, ok := d.types[at]; !ok || t == landlock.TypeDir || old == landlock.TypeNotDir {
		d.types[at] = t
	}
	d.grants[at] |= a
	if d.why[at] == nil {
		d.why[at] = map[string]bool{}
	}
	d.why[at][why] = true
}

// file adds the rights one recorded file needs: on the file (read, write,
// truncate, execute, ioctl on a device) and on its directory (making,
// removing, renaming entries).
func (d *deriver) file(f profiles.File) {
	self, what := selfRights(f)
	at := d.anchor(f.Path)
	if at == f.Path && f.Type != profiles.TypeDir {
		self &= landlock.FileRights
	}
	if at == f.Path {
		d.grant(at, ruleType(f.Type), self, strings.Join(what, ", "))
	} else {
		// A file the workload made may already be there on a later
		// run (the same rootfs, restarted), and the open that created
		// it with O_TRUNC then truncates it: Landlock checks truncate
		// on an existing file only, so the recording never saw it.
		if self&landlock.FSWriteFile != 0 {
			self |= landlock.FSTruncate
		}
		d.grant(at, landlock.TypeDir, self, strings.Join(what, ", ")+" beneath it")
	}
	if f.Path == "/" {
		return
	}
	if parent, what := parentRights(f); parent != 0 {
		d.grant(d.anchor(path.Dir(f.Path)), landlock.TypeDir, parent, strings.Join(what, ", ")+" beneath it")
	}
}

// ruleType is the type of a rule on a file the profile recorded as t.
func ruleType(t profiles.FileType) landlock.FileType {
	if t == profiles.TypeUnknown {
		return landlock.TypeNotDir
	}
	return landlock.FileType(t)
}

func selfRights(f profiles.File) (landlock.FSAccess, []string) {
	var a landlock.FSAccess
	var what []string
	add := func(acc profiles.Access, r landlock.FSAccess, name string) {
		if f.Has(acc) {
			a |= r
			what = append(what, name)
		}
	}
	if f.Type == profiles.TypeDir {
		add(profiles.AccessRead, landlock.FSReadDir, "listed")
	} else {
		add(profiles.AccessRead, landlock.FSReadFile, "read")
	}
	add(profiles.AccessWrite, landlock.FSWriteFile, "written")
	add(profiles.AccessAppend, landlock.FSWriteFile, "appended")
	add(profiles.AccessTruncate, landlock.FSTruncate, "truncated")
	add(profiles.AccessExec, landlock.FSExecute, "executed")
	if (f.Type == profiles.TypeChar || f.Type == profiles.TypeBlock) && a&(landlock.FSReadFile|landlock.FSWriteFile) != 0 {
		a |= landlock.FSIoctlDev // an ioctl is not recorded: a device opened is granted them
	}
	return a, what
}

func parentRights(f profiles.File) (landlock.FSAccess, []string) {
	var a landlock.FSAccess
	var what []string
	add := func(acc profiles.Access, r landlock.FSAccess, name string) {
		if f.Has(acc) {
			a |= r
			what = append(what, name)
		}
	}
	mk, rm := makeRight(f.Type), landlock.FSRemoveFile
	if f.Type == profiles.TypeDir {
		rm = landlock.FSRemoveDir
	}
	add(profiles.AccessCreate, landlock.FSMakeReg, "files created")
	add(profiles.AccessMkdir, landlock.FSMakeDir, "directories made")
	add(profiles.AccessRmdir, landlock.FSRemoveDir, "directories removed")
	add(profiles.AccessUnlink, landlock.FSRemoveFile, "files removed")
	add(profiles.AccessSymlink, landlock.FSMakeSym, "symlinks made")
	add(profiles.AccessMknod, mk, "nodes made")
	add(profiles.AccessBind, landlock.FSMakeSock, "unix sockets bound")
	// A rename or link may cross directories: refer on both sides (a
	// rename within one directory does not need it, and it grants
	// nothing the other rights do not).
	add(profiles.AccessLink, mk|landlock.FSRefer, "hard links made")
	add(profiles.AccessRenameFrom, rm|landlock.FSRefer, "renamed away")
	add(profiles.AccessRenameTo, mk|rm|landlock.FSRefer, "renamed into")
	return a, what
}

func makeRight(t profiles.FileType) landlock.FSAccess {
	switch t {
	case profiles.TypeDir:
		return landlock.FSMakeDir
	case profiles.TypeSymlink:
		return landlock.FSMakeSym
	case profiles.TypeChar:
		return landlock.FSMakeChar
	case profiles.TypeBlock:
		return landlock.FSMakeBlock
	case profiles.TypeFIFO:
		return landlock.FSMakeFifo
	case profiles.TypeSocket:
		return landlock.FSMakeSock
	}
	return landlock.FSMakeReg
}

// fold moves the read rights of what lies beneath a system root to the
// root (see systemRoots), then drops rules an ancestor's rule covers.
func (d *deriver) fold() {
	for _, root := range systemRoots {
		var folded landlock.FSAccess
		var n int
		for at, a := range d.grants {
			if !landlock.Beneath(at, root) || a&readRights == 0 {
				continue
			}
			folded |= a & readRights
			n++
			if d.grants[at] &^= readRights; d.grants[at] == 0 {
				delete(d.grants, at)
				delete(d.types, at)
				delete(d.why, at)
			}
		}
		if folded == 0 {
			continue
		}
		what := "read"
		if folded&landlock.FSExecute != 0 {
			what = "read and execute"
		}
		d.grant(root, landlock.TypeDir, folded&landlock.FSExecute|landlock.FSReadFile|landlock.FSReadDir,
			fmt.Sprintf("%s beneath a system directory (%d paths recorded beneath it)", what, n))
		// /bin, /lib64, ... are symlinks into /usr in merged-/usr
		// images: the rule follows them (to a directory only).
		d.follow[root] = true
	}
	if d.varying > 0 {
		d.notes = append(d.notes, generator.Note{Text: fmt.Sprintf("%d accesses to paths that differ per run (pids, temporary names) "+
			"are granted beneath their nearest fixed directory: Landlock has no globs", d.varying)})
	}
}

// rules returns the grants as rules, sorted by path, without those a rule
// on a directory above already covers.
func (d *deriver) rules() []landlock.PathRule {
	paths := slices.Sorted(maps.Keys(d.grants))
	var out []landlock.PathRule
	for _, p := range paths {
		covered := false
		for _, q := range paths {
			if q != p && landlock.Beneath(p, q) && d.grants[p]&^d.grants[q] == 0 {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, landlock.PathRule{Path: p, Type: d.types[p], Follow: d.follow[p], Access: d.grants[p],
				Why: strings.Join(slices.Sorted(maps.Keys(d.why[p])), "; ")})
		}
	}
	return out
}

// network handles TCP bind and connect when the recording covered the
// network and every port it bound or connected to was a fixed one.
func network(p *profiles.Profile, r *landlock.Ruleset) []generator.Note {
	if !p.Records(profiles.DimNetwork) {
		return []generator.Note{{Text: "the profile did not record the network: TCP ports and abstract unix sockets are not restricted"}}
	}
	var notes []generator.Note
	ports := map[uint16]landlock.NetAccess{}
	ephemeral := map[landlock.NetAccess]bool{}
	for _, n := range p.Network {
		if (n.Family != "inet" && n.Family != "inet6") || (n.Protocol != "tcp" && n.Protocol != "") {
			continue
		}
		var a landlock.NetAccess
		switch n.Op {
		case profiles.NetBind:
			a = landlock.NetBindTCP
		case profiles.NetConnect:
			a = landlock.NetConnectTCP
		default:
			continue // Landlock does not mediate listen
		}
		if n.Port == 0 {
			ephemeral[a] = true
			continue
		}
		ports[uint16(n.Port)] |= a
	}
	for _, a := range []landlock.NetAccess{landlock.NetBindTCP, landlock.NetConnectTCP} {
		if ephemeral[a] {
			notes = append(notes, generator.Note{Text: fmt.Sprintf("%s is not restricted: the workload used a port the kernel picked (port 0)", a.Names()[0])})
			continue
		}
		r.HandledNet |= a
	}
	for _, port := range slices.Sorted(maps.Keys(ports)) {
		if a := ports[port] & r.HandledNet; a != 0 {
			r.Ports = append(r.Ports, landlock.PortRule{Port: port, Access: a, Why: "recorded"})
		}
	}
	if r.HandledNet != 0 {
		notes = append(notes, generator.Note{Text: "Landlock restricts TCP ports, not addresses, and not UDP (before ABI 10)"})
	}
	return notes
}

// scoping restricts abstract unix sockets and signals to the container's
// own processes when the recording saw none leave it.
func scoping(p *profiles.Profile, r *landlock.Ruleset) []generator.Note {
	var notes []generator.Note
	if p.Records(profiles.DimNetwork) {
		abstract := slices.ContainsFunc(p.Network, func(n profiles.Network) bool {
			return n.Family == "unix" && strings.HasPrefix(n.Address, "@")
		})
		if abstract {
			notes = append(notes, generator.Note{Text: "abstract unix sockets are not scoped: the workload used one"})
		} else {
			r.Scoped |= landlock.ScopeAbstractUnix
		}
	}
	switch {
	case !p.Records(profiles.DimSignals):
		notes = append(notes, generator.Note{Text: "the profile did not record signals: signals are not scoped"})
	case len(p.Signals) > 0:
		notes = append(notes, generator.Note{Text: "signals are not scoped: the workload signalled or traced a process outside the container"})
	default:
		r.Scoped |= landlock.ScopeSignal
	}
	return notes
}
