package derive

import (
	"path"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/landlock"
	"github.com/tailor-dev/tailor/profiles"
)

func file(p string, typ profiles.FileType, acc ...profiles.Access) profiles.File {
	return profiles.File{Path: p, Type: typ, Access: acc}
}

// server is what a small server did: libraries read and mapped, a
// program run, configuration read, a dump written through a temporary
// file renamed into place, /proc/<pid> read, /dev/null written, a TCP
// port bound and connected to.
func server() *profiles.Profile {
	reg, dir := profiles.TypeRegular, profiles.TypeDir
	return &profiles.Profile{
		Recorded: profiles.Dimensions,
		Files: []profiles.File{
			file("/usr/lib/x86_64-linux-gnu/libc.so.6", reg, profiles.AccessRead, profiles.AccessMmapExec),
			file("/usr/bin/redis-server", reg, profiles.AccessExec),
			file("/bin/busybox", reg, profiles.AccessExec),
			file("/etc/passwd", reg, profiles.AccessRead),
			file("/etc/ld.so.cache", reg, profiles.AccessRead),
			file("/srv", dir, profiles.AccessRead),
			file("/tmp/a", reg, profiles.AccessCreate, profiles.AccessWrite),
			file("/tmp/d", dir, profiles.AccessMkdir, profiles.AccessRmdir),
			file("/tmp/d/e", dir, profiles.AccessMkdir, profiles.AccessRmdir),
			file("/proc/12/stat", reg, profiles.AccessRead),
			file("/dev/null", profiles.TypeChar, profiles.AccessWrite),
			file("/data/temp-12.rdb", reg, profiles.AccessCreate, profiles.AccessWrite, profiles.AccessRenameFrom),
			file("/data/dump.rdb", reg, profiles.AccessRenameTo),
			file("/etc/missing.conf", "", profiles.AccessLookup),
		},
		Programs: []profiles.Program{{Path: "/usr/bin/redis-server"}, {Path: "/bin/busybox"}},
		Network: []profiles.Network{
			{Op: profiles.NetBind, Family: "inet", Protocol: "tcp", Port: 6379},
			{Op: profiles.NetListen, Family: "inet", Protocol: "tcp", Port: 6379},
			{Op: profiles.NetConnect, Family: "inet", Protocol: "tcp", Port: 6379, Loopback: true},
		},
	}
}

func TestRecordedIsAllowed(t *testing.T) {
	p := server()
	r, notes, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notes: %v", notes)
	for _, f := range p.Files {
		self, what := selfRights(f)
		if !r.Allows(f.Path, self) {
			t.Errorf("%s (%s): %s refused", f.Path, strings.Join(what, ", "), self)
		}
		parent, what := parentRights(f)
		if !r.Allows(path.Dir(f.Path), parent) {
			t.Errorf("the directory of %s (%s): %s refused", f.Path, strings.Join(what, ", "), parent)
		}
	}
	for _, c := range []struct {
		path string
		need landlock.FSAccess
		why  string
	}{
		{"/tmp/a", landlock.FSWriteFile | landlock.FSTruncate, "a file it made, there on a later run"},
		{"/usr/lib/x86_64-linux-gnu/libm.so.6", landlock.FSReadFile | landlock.FSExecute, "another library of the same system directory"},
		{"/proc/13/stat", landlock.FSReadFile, "the next run's pid"},
		{"/lib64/ld-linux-x86-64.so.2", landlock.FSExecute, "the ELF interpreter"},
	} {
		if !r.Allows(c.path, c.need) {
			t.Errorf("%s %s refused: %s", c.path, c.need, c.why)
		}
	}
	if !r.AllowsPort(6379, landlock.NetBindTCP|landlock.NetConnectTCP) {
		t.Error("port 6379 refused")
	}
	if r.Scoped != landlock.ScopeAbstractUnix|landlock.ScopeSignal || r.ABI != 6 {
		t.Errorf("scoped %v at ABI %d, want both scopes at ABI 6", r.Scoped.Names(), r.ABI)
	}
	if _, ok := r.Rule("/etc"); ok {
		t.Error("/etc became a rule: its files must stay exact")
	}
}

func TestNeighboursAreRefused(t *testing.T) {
	r, _, err := FromProfile(server())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		need landlock.FSAccess
	}{
		{"/etc/shadow", landlock.FSReadFile},
		{"/bin/sh2", landlock.FSWriteFile},
		{"/bin", landlock.FSMakeReg},
		{"/usr/lib", landlock.FSMakeReg},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", landlock.FSWriteFile},
		{"/tmp/x", landlock.FSExecute},
		{"/tmp", landlock.FSMakeSym},
		{"/root/.ssh/id_rsa", landlock.FSReadFile},
		{"/etc", landlock.FSMakeReg},
		{"/dev/sda", landlock.FSReadFile},
		{"/data/other", landlock.FSExecute},
		{"/srv/www/secret", landlock.FSReadFile},
	} {
		if r.Allows(c.path, c.need) {
			t.Errorf("%s %s allowed", c.path, c.need)
		}
	}
	if r.AllowsPort(22, landlock.NetConnectTCP) || r.AllowsPort(80, landlock.NetBindTCP) {
		t.Error("a TCP port the workload never used is allowed")
	}
}

func TestNetworkAndScopes(t *testing.T) {
	p := server()
	p.Network = append(p.Network, profiles.Network{Op: profiles.NetBind, Family: "inet6", Protocol: "tcp"},
		profiles.Network{Op: profiles.NetConnect, Family: "unix", Protocol: "stream", Address: "@/tmp/.X11-unix/X0"})
	p.Signals = []profiles.Signal{{Signal: "SIGTERM", Target: "init"}}
	r, notes, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.HandledNet != landlock.NetConnectTCP {
		t.Errorf("handled %v: an ephemeral bind must leave bind unrestricted, connect restricted", r.HandledNet.Names())
	}
	if r.Scoped != 0 || r.ABI != 5 {
		t.Errorf("scoped %v (ABI %d): the workload used an abstract socket and signalled outside", r.Scoped.Names(), r.ABI)
	}
	if len(notes) < 3 {
		t.Errorf("notes %v: want what was left unrestricted said", notes)
	}
	p.Recorded = []profiles.Dimension{profiles.DimSyscalls, profiles.DimFiles, profiles.DimPrograms}
	if r, _, _ = FromProfile(p); r.HandledNet != 0 || r.Scoped != 0 {
		t.Errorf("network and signals not recorded: handled %v, scoped %v, want none", r.HandledNet.Names(), r.Scoped.Names())
	}
}

func TestRefusesWithoutFiles(t *testing.T) {
	p := server()
	p.Recorded = []profiles.Dimension{profiles.DimSyscalls, profiles.DimCapabilities}
	if _, _, err := FromProfile(p); err == nil || !strings.Contains(err.Error(), "did not record files") {
		t.Errorf("FromProfile of a profile without files: %v", err)
	}
}

func TestHostilePaths(t *testing.T) {
	p := server()
	p.Files = append(p.Files, file("/srv/a\nb \"c\" \xff", profiles.TypeRegular, profiles.AccessRead))
	r, _, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allows("/srv/a\nb \"c\" \xff", landlock.FSReadFile) || r.Allows("/srv/a", landlock.FSReadFile) {
		t.Error("a path with a newline, quotes and a non-UTF-8 byte must be one exact rule")
	}
}

// TestRuleTypes: each rule records what its path was, so that the helper
// never grants a file rule's rights on a directory (or through a symlink)
// that replaced it; only the loaders and system roots follow symlinks.
func TestRuleTypes(t *testing.T) {
	p := server()
	p.Files = append(p.Files, file("/etc/unknown", "", profiles.AccessRead))
	r, _, err := FromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path   string
		typ    landlock.FileType
		follow bool
	}{
		{"/etc/passwd", landlock.TypeRegular, false},
		{"/etc/unknown", landlock.TypeNotDir, false},
		{"/dev/null", landlock.TypeChar, false},
		{"/srv", landlock.TypeDir, false},
		{"/tmp", landlock.TypeDir, false},
		{"/data", landlock.TypeDir, false},
		{"/proc", landlock.TypeDir, false},
		{"/usr", landlock.TypeDir, true},
		{"/bin", landlock.TypeDir, true},
		{"/lib64/ld-linux-x86-64.so.2", landlock.TypeRegular, true},
	} {
		rule, ok := r.Rule(c.path)
		if !ok {
			t.Errorf("no rule on %s: %+v", c.path, r.Paths)
			continue
		}
		if rule.Type != c.typ || rule.Follow != c.follow {
			t.Errorf("rule on %s: type %q, follows symlinks %t; want %q, %t", c.path, rule.Type, rule.Follow, c.typ, c.follow)
		}
	}
}
