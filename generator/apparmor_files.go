package generator

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tailor-dev/tailor/internal/aamatch"
	"github.com/tailor-dev/tailor/profiles"
)

// aaAccessPerms maps each access a recording sees to the AppArmor file
// permissions the kernel checks for it (security/apparmor/lsm.c): the
// table of docs/apparmor.md. A lookup that failed needs none: AppArmor
// mediates files that exist, so a missing file still fails with ENOENT.
var aaAccessPerms = map[profiles.Access]aamatch.Perm{
	profiles.AccessRead:       aamatch.Read,
	profiles.AccessWrite:      aamatch.Write,
	profiles.AccessAppend:     aamatch.Append,
	profiles.AccessCreate:     aamatch.Write, // AA_MAY_CREATE is part of w
	profiles.AccessTruncate:   aamatch.Write, // MAY_WRITE | AA_MAY_SETATTR
	profiles.AccessMmapExec:   aamatch.Mmap,
	profiles.AccessExec:       aamatch.Exec, // written ix: the program stays in this profile
	profiles.AccessMkdir:      aamatch.Write,
	profiles.AccessRmdir:      aamatch.Write, // AA_MAY_DELETE
	profiles.AccessUnlink:     aamatch.Write,
	profiles.AccessRenameFrom: aamatch.Read | aamatch.Write, // the source is read, written and deleted
	profiles.AccessRenameTo:   aamatch.Write,
	profiles.AccessLink:       aamatch.Link,
	profiles.AccessSymlink:    aamatch.Write, // a symlink is created
	profiles.AccessChmod:      aamatch.Write,
	profiles.AccessChown:      aamatch.Write,
	profiles.AccessMknod:      aamatch.Write,
	profiles.AccessBind:       aamatch.Write, // binding a unix socket creates its node
	profiles.AccessLock:       aamatch.Lock,
	profiles.AccessLookup:     0,
}

// aaFileRule is one file rule being built: its pattern, the permissions
// merged into it, and the recorded paths it stands for.
type aaFileRule struct {
	pattern aaPattern
	perm    aamatch.Perm
	paths   []aaUse
}

// aaUse is one recorded path (a directory with its trailing slash) and
// the permissions it needed.
type aaUse struct {
	path string
	perm aamatch.Perm
}

// aaPerms writes the permissions in AppArmor's usual order, exec as ix;
// w covers a.
func aaPerms(p aamatch.Perm) string {
	var b strings.Builder
	for _, l := range []struct {
		p aamatch.Perm
		s string
	}{{aamatch.Read, "r"}, {aamatch.Write, "w"}, {aamatch.Append, "a"}, {aamatch.Link, "l"},
		{aamatch.Lock, "k"}, {aamatch.Mmap, "m"}, {aamatch.Exec, "ix"}} {
		if p&l.p != 0 && !(l.p == aamatch.Append && p&aamatch.Write != 0) {
			b.WriteString(l.s)
		}
	}
	return b.String()
}

// aaFiles collects the file rules: the profile's files, its programs and
// interpreters (ix), and the unix socket paths it connected to.
type aaFiles struct {
	rules       map[string]*aaFileRule
	generalized map[string]int // paths per generalisation rule
	lookups     int
	lockedOnly  []string
}

func newAAFiles() *aaFiles {
	return &aaFiles{rules: map[string]*aaFileRule{}, generalized: map[string]int{}}
}

// add merges path with perm into the rules; dir makes it a directory
// rule (a trailing slash, which is how AppArmor looks directories up).
func (f *aaFiles) add(path string, dir bool, perm aamatch.Perm) {
	pat, used := aaGeneralize(path)
	for _, rule := range used {
		f.generalized[rule]++
	}
	if dir && path != "/" {
		pat = pat.lit("/")
		path += "/"
	}
	key := pat.String()
	r := f.rules[key]
	if r == nil {
		r = &aaFileRule{pattern: pat}
		f.rules[key] = r
	}
	r.perm |= perm
	r.paths = append(r.paths, aaUse{path: path, perm: perm})
}

func (f *aaFiles) addProfile(p *profiles.Profile) {
	for _, file := range p.Files {
		var perm aamatch.Perm
		for _, a := range file.Access {
			perm |= aaAccessPerms[a]
		}
		if perm == 0 {
			f.lookups++
			continue
		}
		if perm&aamatch.Lock != 0 && perm&aamatch.Write == 0 {
			// An exclusive lock (flock LOCK_EX, F_WRLCK) needs w as well
			// as k, and a recording does not tell exclusive from shared.
			perm |= aamatch.Write
			f.lockedOnly = append(f.lockedOnly, file.Path)
		}
		dir := file.Type == profiles.TypeDir || file.Has(profiles.AccessMkdir) || file.Has(profiles.AccessRmdir)
		f.add(file.Path, dir, perm)
	}
	for _, prog := range p.Programs {
		f.add(prog.Path, false, aamatch.Exec)
		if prog.Interpreter != "" {
			f.add(prog.Interpreter, false, aamatch.Exec)
		}
	}
	for _, n := range p.Network {
		if n.Family == "unix" && strings.HasPrefix(n.Address, "/") && (n.Op == profiles.NetConnect || n.Op == profiles.NetSend) {
			// Kernels that mediate unix sockets check a pathname
			// socket's node for read and write on connect and send.
			f.add(n.Address, false, aamatch.Read|aamatch.Write)
		}
	}
}

// sorted returns the rules by their written pattern.
func (f *aaFiles) sorted() []*aaFileRule {
	keys := slices.Sorted(maps.Keys(f.rules))
	out := make([]*aaFileRule, len(keys))
	for i, k := range keys {
		out[i] = f.rules[k]
	}
	return out
}

func (f *aaFiles) notes() []Note {
	var notes []Note
	if len(f.generalized) > 0 {
		var parts []string
		total := 0
		for _, rule := range slices.Sorted(maps.Keys(f.generalized)) {
			parts = append(parts, fmt.Sprintf("%s %d", rule, f.generalized[rule]))
			total += f.generalized[rule]
		}
		notes = append(notes, Note{Text: fmt.Sprintf("%s with names that change from run to run became globs (%s); "+
			"every other path is exact (docs/apparmor.md lists the rules)", aaCount(total, "path"), strings.Join(parts, ", "))})
	}
	if f.lookups > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("%s only looked up and not found: no rule needed "+
			"(AppArmor mediates files that exist, so a lookup of a missing one still fails with ENOENT)", aaCount(f.lookups, "path"))})
	}
	for _, path := range f.lockedOnly {
		notes = append(notes, Note{Text: fmt.Sprintf("%q was locked but never written: allowed w as well as k, because an "+
			"exclusive lock needs w under AppArmor and the recording does not tell exclusive locks from shared ones", path)})
	}
	return notes
}

// aaCount writes n and a noun, in the plural unless n is 1.
func aaCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// aaInherited are the files a container's processes inherit open from the
// runtime (their stdio: /dev/null, or a terminal of the container's own
// devpts). AppArmor revalidates open files when a program is executed
// into a profile and swaps those it refuses for a dead file, so they
// need rules although no recording sees them opened.
var aaInherited = []struct {
	pattern aaPattern
	perm    aamatch.Perm
}{
	{pattern: aaLiteral("/dev/null"), perm: aamatch.Read | aamatch.Write},
	{pattern: aaLiteral("/dev/pts/").glob("[0-9]*"), perm: aamatch.Read | aamatch.Write},
}

// aaDeny is one of the deny rules for kernel knobs and memory that
// Docker's docker-default carries: a deny wins over any allow rule, so
// these hold even when someone widens the profile by hand.
type aaDeny struct {
	glob string
	perm aamatch.Perm
}

const aaDenyAll = aamatch.Read | aamatch.Write | aamatch.Link | aamatch.Lock | aamatch.Exec

var aaDenies = []aaDeny{
	{glob: "/proc/*", perm: aamatch.Write}, // files directly in /proc (sysrq-trigger, ...)
	{glob: "/proc/sys/**", perm: aamatch.Write | aamatch.Link},
	{glob: "/proc/sys/kernel/**", perm: aamatch.Write | aamatch.Link},
	{glob: "/proc/sysrq-trigger", perm: aaDenyAll},
	{glob: "/proc/kcore", perm: aaDenyAll},
	{glob: "/sys/**", perm: aamatch.Write | aamatch.Link},
	{glob: "/sys/firmware/**", perm: aaDenyAll},
	{glob: "/sys/kernel/security/**", perm: aaDenyAll},
	{glob: "/sys/devices/virtual/powercap/**", perm: aaDenyAll},
	{glob: "/dev/mem", perm: aaDenyAll},
	{glob: "/dev/kmem", perm: aaDenyAll},
	{glob: "/dev/port", perm: aaDenyAll},
}

// aaDenyPerms writes a deny rule's permissions (exec as a bare x).
func aaDenyPerms(p aamatch.Perm) string {
	return strings.Replace(aaPerms(p), "ix", "x", 1)
}

// denies returns the deny rules the workload leaves standing: a rule
// that would refuse something it did is left out, with a note.
func (f *aaFiles) denies() ([]string, []Note) {
	var out []string
	var notes []Note
	rules := f.sorted()
	for _, d := range aaDenies {
		g := aamatch.MustCompile(d.glob, nil)
		var used *aaUse
		for _, r := range rules {
			for i, u := range r.paths {
				if used == nil && u.perm&d.perm != 0 && g.Match(u.path) {
					used = &r.paths[i]
				}
			}
		}
		rule := fmt.Sprintf("deny %s %s,", d.glob, aaDenyPerms(d.perm))
		if used != nil {
			notes = append(notes, Note{Text: fmt.Sprintf("the workload needs %s on %q: left out %q "+
				"(docker-default's rule for kernel knobs)", aaPerms(used.perm&d.perm), used.path, rule)})
			continue
		}
		out = append(out, rule)
	}
	return out, notes
}
