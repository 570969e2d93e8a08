package e2e

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/profiles"
)

// touchScript is the busybox workload with a few more of the file
// operations the recorder resolves: a symlink followed, a failed lookup, a
// chmod, a rename and a temporary file with a random name.
const touchScript = `set -e
echo x > /tmp/t
ln -s /tmp/t /tmp/l
cat /tmp/l > /tmp/t2
chmod 600 /tmp/t2
mv /tmp/t2 /tmp/t3
cat /nonexistent 2>/tmp/err || true
cd /tmp && cat rel-missing 2>>/tmp/err || true
cd / && cat root-rel-missing 2>>/tmp/err || true
echo random > "$(mktemp)"
` + ocitest.BusyboxScript

// busyboxTouchWorkload runs touchScript in the plain busybox rootfs.
func busyboxTouchWorkload(t testing.TB) workload {
	t.Helper()
	return workload{Name: "busybox-touch", Image: busyboxRootfs(t), Args: []string{"/bin/sh", "-c", touchScript},
		Want: ocitest.BusyboxWant}
}

// touchWorkloads are the workloads whose recording is compared with
// strace and whose AppArmor profile is checked against a separate run.
func touchWorkloads(t testing.TB) []workload {
	t.Helper()
	return append([]workload{busyboxTouchWorkload(t)}, serverWorkloads(t)...)
}

// TestTouch: the files, programs and network peers learned from the
// busybox, redis and nginx workloads under runc and crun are what strace
// sees the same workload touch, in both directions, after normalising both
// sides the same way (touchNormal). What the two views differ in, and
// why:
//   - strace runs the workload under chroot on the host, tailor in a
//     container: the runtime's own tail after the boundary (runc reads
//     /proc/self/fd to close inherited fds) is only on tailor's side and
//     is left out (runtimeTouches);
//   - the recorder records opens, execs, executable mappings and changes,
//     not stat, access or readlink: strace's view keeps the same syscalls
//     (touchCalls);
//   - names that change from run to run (pids under /proc, mktemp's
//     random names) are normalised on both sides (touchNormal).
func TestTouch(t *testing.T) {
	requireRoot(t)
	for _, w := range touchWorkloads(t) {
		touches := straceTouchesOf(t, w)
		baseline := touchSets(touches)
		for _, rt := range runtimes {
			t.Run(w.Name+"/"+rt, func(t *testing.T) {
				_, p := learnedProfile(t, rt, w)
				got := learnedTouches(p)
				for _, what := range []string{"file", "program", "network"} {
					g, b := got[what], baseline[what]
					tail := runtimeTouches(rt)[what]
					if missing := minus(b, g); len(missing) > 0 {
						t.Errorf("%ss strace saw that the profile lacks: %q\n%s", what, missing, straceCalls(touches, what, missing))
					}
					if extra := minus(g, b, tail); len(extra) > 0 {
						t.Errorf("%ss in the profile that strace did not see: %q", what, extra)
					}
					if t.Failed() {
						t.Logf("%s recorded: %q\n%s strace:   %q", what, sortedKeys(g), what, sortedKeys(b))
					}
				}
				if w.Name == "busybox-touch" {
					checkTouchAccesses(t, p)
				}
			})
		}
	}
}

// straceCalls lists the calls by which strace saw paths touched.
func straceCalls(touches []straceTouch, what string, paths []string) string {
	want := setOf(paths...)
	var b strings.Builder
	for _, x := range touches {
		if x.What == what && (want[x.Path] || want[touchNormal(x.Path)]) {
			fmt.Fprintf(&b, "  %s: %s\n", x.Path, x.Call)
		}
	}
	return b.String()
}

// checkTouchAccesses checks the accesses touchScript's operations record.
func checkTouchAccesses(t *testing.T, p *profiles.Profile) {
	t.Helper()
	for _, f := range p.Files {
		if f.Path == "/tmp/t3" && !f.Has(profiles.AccessRenameTo) {
			t.Errorf("/tmp/t3: accesses %v, want rename-to", f.Access)
		}
		if f.Path == "/nonexistent" && !f.Has(profiles.AccessLookup) {
			t.Errorf("/nonexistent: accesses %v, want lookup", f.Access)
		}
		if f.Path == "/tmp/l" && f.Has(profiles.AccessRead) {
			t.Error("/tmp/l: the symlink was recorded as read, not the file behind it")
		}
	}
}

// runtimeTouches is what the runtime itself touches in the container after
// the boundary: runc lists /proc/self/fd to close what it inherited.
func runtimeTouches(runtime string) map[string]map[string]bool {
	out := map[string]map[string]bool{"file": {}, "program": {}, "network": {}}
	if runtime == "runc" {
		out["file"]["/proc/PID/fd"] = true
	}
	return out
}

var (
	procPid = regexp.MustCompile(`^/proc/[0-9]+(/|$)`)
	// mktempName is busybox mktemp's default name, tmp. and six random
	// letters or digits.
	mktempName = regexp.MustCompile(`^/tmp/tmp\.[0-9A-Za-z]{6}$`)
)

// touchNormal is the normalisation both sides get: the names the AppArmor
// generator turns into globs for the same reason (a pid, a random name).
func touchNormal(p string) string {
	p = procPid.ReplaceAllString(p, "/proc/PID$1")
	return mktempName.ReplaceAllString(p, "/tmp/tmp.RANDOM")
}

// learnedTouches is the profile's files, programs and network items as
// sets of strings.
func learnedTouches(p *profiles.Profile) map[string]map[string]bool {
	out := map[string]map[string]bool{"file": {}, "program": {}, "network": {}}
	for _, f := range p.Files {
		out["file"][touchNormal(f.Path)] = true
	}
	for _, x := range p.Programs {
		out["program"][x.Path] = true
	}
	for _, n := range p.Network {
		out["network"][netKey(string(n.Op), n.Family, n.Protocol, n.Port, n.Loopback, n.Address)] = true
	}
	return out
}

func netKey(op, family, protocol string, port int, loopback bool, address string) string {
	return fmt.Sprintf("%s %s %s %d loopback=%t %s", op, family, protocol, port, loopback, address)
}

// touchSets is the strace side of learnedTouches.
func touchSets(touches []straceTouch) map[string]map[string]bool {
	out := map[string]map[string]bool{"file": {}, "program": {}, "network": {}}
	for _, x := range touches {
		p := x.Path
		if x.What != "network" {
			p = touchNormal(p)
		}
		out[x.What][p] = true
	}
	return out
}

// The recorded profile and the strace view of each workload, made once per
// test binary run and shared by the touch and AppArmor tests.
var (
	learnedMu    sync.Mutex
	learnedCache = map[string]*cached[learned]{}
	straceMu     sync.Mutex
	straceCache  = map[string]*cached[[]straceTouch]{}
)

type learned struct {
	path    string
	profile *profiles.Profile
}

// cached is a once whose failure (a t.Fatal in the first test that built
// it) fails the later callers too instead of handing them a zero value.
type cached[T any] struct{ once[T] }

func (c *cached[T]) get(t testing.TB, build func() T) T {
	t.Helper()
	return c.once.get(t, func() (T, error) {
		var v T
		done := false
		func() {
			defer func() {
				if !done {
					c.err = fmt.Errorf("building it failed in an earlier test")
				}
			}()
			v = build()
			done = true
		}()
		return v, nil
	})
}

// learnedProfile learns w under runtime once per run and returns a copy of
// the profile in the run directory.
func learnedProfile(t testing.TB, runtime string, w workload) (string, *profiles.Profile) {
	t.Helper()
	key := runtime + "/" + w.Name
	learnedMu.Lock()
	c := learnedCache[key]
	if c == nil {
		c = &cached[learned]{}
		learnedCache[key] = c
	}
	learnedMu.Unlock()
	l := c.get(t, func() learned {
		p := learnOK(t, runtime, w, w.bundle(t))
		if err := p.RequireRecorded(profiles.DimFiles, profiles.DimPrograms, profiles.DimNetwork); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(runDir, "profiles", runtime+"-"+w.Name+".json")
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteFile(out); err != nil {
			t.Fatal(err)
		}
		return learned{path: out, profile: p}
	})
	if l.profile == nil {
		t.Fatalf("learning %s under %s failed in an earlier test", w.Name, runtime)
	}
	return l.path, l.profile
}

// straceTouchesOf runs w's script under strace once per run and returns
// what it touched.
func straceTouchesOf(t testing.TB, w workload) []straceTouch {
	t.Helper()
	straceMu.Lock()
	c := straceCache[w.Name]
	if c == nil {
		c = &cached[[]straceTouch]{}
		straceCache[w.Name] = c
	}
	straceMu.Unlock()
	return c.get(t, func() []straceTouch {
		if len(w.Args) != 3 || w.Args[0] != "/bin/sh" || w.Args[1] != "-c" {
			t.Fatalf("workload %s: the strace baseline runs /bin/sh -c SCRIPT, not %q", w.Name, w.Args)
		}
		tr, root := straceRun(t, w.Image, w.Args[2])
		return tr.touches(root)
	})
}

// straceTouch is one thing a traced workload touched.
type straceTouch struct {
	What string // "file", "program" or "network"
	// Path is the file (as the workload saw it, its root /) or program;
	// for network, netKey's string.
	Path string
	// Dir is set when the file is a directory (AppArmor names it with a
	// trailing slash).
	Dir bool
	// Perm is the AppArmor permissions the access needs (aamatch's
	// letters); empty for a lookup that found nothing.
	Perm string
	// Call is the syscall that touched it, for messages.
	Call string
}

func (c straceCall) String() string {
	s := c.Name + "(" + strings.Join(c.Args, ", ") + ") = " + c.Ret
	if c.RetPath != "" {
		s += "<" + c.RetPath + ">"
	}
	if c.Errno != "" {
		s += " " + c.Errno
	}
	return s
}

// touchCalls are the syscalls the recorder records by path, with the
// positions of their path operands (pairs: dirfd index or -1 for the
// working directory, then the string's index) as strace prints them, and
// the AppArmor permissions each operand needs.
var touchCalls = map[string][]touchOperand{
	"open": {{-1, 0, ""}}, "openat": {{0, 1, ""}}, "openat2": {{0, 1, ""}}, "creat": {{-1, 0, "w"}},
	"mkdir": {{-1, 0, "w"}}, "mkdirat": {{0, 1, "w"}}, "rmdir": {{-1, 0, "w"}},
	"unlink": {{-1, 0, "w"}}, "unlinkat": {{0, 1, "w"}},
	"rename": {{-1, 0, "rw"}, {-1, 1, "w"}}, "renameat": {{0, 1, "rw"}, {2, 3, "w"}}, "renameat2": {{0, 1, "rw"}, {2, 3, "w"}},
	"link": {{-1, 1, "l"}}, "linkat": {{2, 3, "l"}}, "symlink": {{-1, 1, "w"}}, "symlinkat": {{1, 2, "w"}},
	"chmod": {{-1, 0, "w"}}, "fchmodat": {{0, 1, "w"}}, "chown": {{-1, 0, "w"}}, "lchown": {{-1, 0, "w"}},
	"fchownat": {{0, 1, "w"}}, "truncate": {{-1, 0, "w"}}, "mknod": {{-1, 0, "w"}}, "mknodat": {{0, 1, "w"}},
}

type touchOperand struct {
	dirfd, path int
	perm        string // "" for opens: from their flags
}

var (
	straceFdPath = regexp.MustCompile(`^(?:\d+|AT_FDCWD)<(.*)>$`)
	straceSocket = regexp.MustCompile(`^socket:\[(\d+)\]$`)
	straceFamily = regexp.MustCompile(`sa_family=AF_([A-Z0-9]+)`)
	stracePort   = regexp.MustCompile(`sin6?_port=htons\((\d+)\)`)
	straceAddr   = regexp.MustCompile(`inet_addr\("([^"]*)"\)|inet_pton\(AF_INET6, "([^"]*)"`)
	straceSun    = regexp.MustCompile(`sun_path=(@?"(?:[^"\\]|\\.)*")`)
)

// touches returns what the trace's workload touched: the files opened (by
// the path strace resolved from the fd), mapped executable, created,
// changed or looked up in vain (ENOENT) by the syscalls the recorder
// records, the programs run (following /proc/self/exe through each
// process's executable), and the network endpoints bound, listened on or
// connected to. root is the chroot, cut from strace's host paths; it
// must still exist (symlinks and directories are looked up in it).
func (tr *straceTrace) touches(root string) []straceTouch {
	var out []straceTouch
	var call straceCall
	host := func(p string) string {
		if rest, ok := strings.CutPrefix(p, root); ok && (rest == "" || rest[0] == '/') {
			p = "/" + strings.TrimPrefix(rest, "/")
		}
		return p
	}
	isDir := func(p string) bool {
		fi, err := os.Stat(filepath.Join(root, p))
		return err == nil && fi.IsDir() && !strings.HasPrefix(p, "/proc/")
	}
	file := func(p string, dir bool, perm string) {
		out = append(out, straceTouch{What: "file", Path: p, Dir: dir || p == "/", Perm: perm, Call: call.String()})
	}
	exe := map[string]string{tr.Start.PID: resolveIn(root, unquote(tr.Start.Args[0]))}
	ran := func(pid string) {
		out = append(out, straceTouch{What: "program", Path: exe[pid], Perm: "x", Call: call.String()})
		file(exe[pid], false, "x")
	}
	call = tr.Start
	ran(tr.Start.PID)
	// strace -f may print a child's first calls before its parent's clone
	// returns: a child whose executable is not known yet has its parent's.
	parent := map[string]string{}
	for _, c := range tr.Calls {
		switch c.Name {
		case "clone", "clone3", "fork", "vfork":
			if c.Ret != "-1" && c.Ret != "" {
				parent[c.Ret] = c.PID
			}
		}
	}
	sockets := map[string]*straceSock{} // by inode
	for _, c := range tr.Calls {
		call = c
		if _, known := exe[c.PID]; !known {
			if p, ok := parent[c.PID]; ok {
				exe[c.PID] = exe[p]
			}
		}
		switch c.Name {
		case "clone", "clone3", "fork", "vfork":
			if _, early := exe[c.Ret]; !early && c.Ret != "-1" && c.Ret != "" {
				exe[c.Ret] = exe[c.PID]
			}
			continue
		case "execve":
			if c.Ret == "0" && len(c.Args) > 0 {
				// /proc/self/exe runs the process's own executable again.
				if p := unquote(c.Args[0]); p != "/proc/self/exe" {
					exe[c.PID] = resolveIn(root, p)
				}
				ran(c.PID)
			}
			continue
		case "mmap":
			if len(c.Args) == 6 && c.Ret != "-1" && strings.Contains(c.Args[2], "PROT_EXEC") {
				if fm := straceFdPath.FindStringSubmatch(c.Args[4]); fm != nil && strings.HasPrefix(fm[1], "/") {
					file(host(fm[1]), false, "m")
				}
			}
			continue
		case "socket":
			if m := straceSocket.FindStringSubmatch(c.RetPath); m != nil && len(c.Args) == 3 {
				sockets[m[1]] = newStraceSock(c.Args[0], c.Args[1])
			}
			continue
		case "bind", "listen", "connect":
			if t, node, ok := netTouch(c, sockets); ok {
				t.Call, node.Call = c.String(), c.String()
				out = append(out, t)
				if node.Perm != "" { // a unix socket at a path
					out = append(out, node)
				}
			}
			continue
		}
		ops, ok := touchCalls[c.Name]
		if !ok {
			continue
		}
		opened := strings.HasPrefix(c.Name, "open") || c.Name == "creat"
		switch {
		case opened && c.RetPath != "":
			// The flags follow the path (openat2: in its struct).
			flags := ""
			if i := ops[0].path + 1; i < len(c.Args) {
				flags = c.Args[i]
			}
			if strings.Contains(flags, "O_PATH") {
				continue // AppArmor does not mediate O_PATH descriptors
			}
			p := host(c.RetPath)
			perm := ops[0].perm
			if perm == "" {
				perm = openPerm(flags)
			}
			file(p, strings.Contains(flags, "O_DIRECTORY") || isDir(p), perm)
			continue
		case opened && c.Errno != "ENOENT":
			continue
		case !opened && c.Ret != "0":
			continue
		}
		for _, op := range ops {
			if op.path >= len(c.Args) {
				continue
			}
			dir := "/" // the workload's working directory
			if op.dirfd >= 0 && op.dirfd < len(c.Args) {
				if fm := straceFdPath.FindStringSubmatch(c.Args[op.dirfd]); fm != nil {
					dir = host(fm[1])
				}
			}
			p := unquote(c.Args[op.path])
			if !strings.HasPrefix(p, "/") {
				p = path.Join(dir, p)
			}
			p = path.Clean(p)
			perm := op.perm
			if opened {
				perm = "" // a failed lookup needs no permission
			}
			isDirOp := c.Name == "mkdir" || c.Name == "mkdirat" || c.Name == "rmdir" ||
				c.Name == "unlinkat" && len(c.Args) > 2 && strings.Contains(c.Args[2], "AT_REMOVEDIR")
			file(p, isDirOp || isDir(p), perm)
		}
	}
	return out
}

// openPerm is what AppArmor checks for an open with these flags: r, w, or
// a for appending without truncating.
func openPerm(flags string) string {
	write := "w"
	if strings.Contains(flags, "O_APPEND") && !strings.Contains(flags, "O_TRUNC") {
		write = "a"
	}
	switch {
	case strings.Contains(flags, "O_RDWR"):
		return "r" + write
	case strings.Contains(flags, "O_WRONLY"), strings.Contains(flags, "O_CREAT"), strings.Contains(flags, "O_TRUNC"):
		return write
	}
	return "r"
}

// straceSock is a socket the workload created, by its inode.
type straceSock struct {
	family, protocol string
	port             int // the port bound, for listen
}

var straceSockTypes = map[string]map[string]string{
	"inet":  {"SOCK_STREAM": "tcp", "SOCK_DGRAM": "udp"},
	"inet6": {"SOCK_STREAM": "tcp", "SOCK_DGRAM": "udp"},
	"unix":  {"SOCK_STREAM": "stream", "SOCK_DGRAM": "dgram", "SOCK_SEQPACKET": "seqpacket"},
}

func newStraceSock(domain, typ string) *straceSock {
	family := map[string]string{"AF_INET": "inet", "AF_INET6": "inet6", "AF_UNIX": "unix"}[domain]
	base, _, _ := strings.Cut(typ, "|")
	return &straceSock{family: family, protocol: straceSockTypes[family][base]}
}

// netTouch reads a bind, listen or connect the recorder records: inet
// bind by the port asked for, listen by the port bound, connect (done or
// in progress) by the destination's port and whether it is loopback, and
// unix sockets by their path or abstract name. For a unix socket at a
// path, node is its file, with what AppArmor checks on it.
func netTouch(c straceCall, sockets map[string]*straceSock) (t, node straceTouch, ok bool) {
	if len(c.Args) == 0 || !(c.Ret == "0" || c.Name == "connect" && c.Errno == "EINPROGRESS") {
		return t, node, false
	}
	fm := straceFdPath.FindStringSubmatch(c.Args[0])
	if fm == nil {
		return t, node, false
	}
	sm := straceSocket.FindStringSubmatch(fm[1])
	if sm == nil || sockets[sm[1]] == nil || sockets[sm[1]].family == "" {
		return t, node, false
	}
	s := sockets[sm[1]]
	if c.Name == "listen" {
		if s.family == "unix" || s.port == 0 {
			return t, node, false
		}
		return straceTouch{What: "network", Path: netKey("listen", s.family, s.protocol, s.port, false, "")}, node, true
	}
	if len(c.Args) < 2 {
		return t, node, false
	}
	addr := c.Args[1]
	if fam := straceFamily.FindStringSubmatch(addr); fam == nil || strings.ToLower(fam[1]) != s.family {
		return t, node, false
	}
	if s.family == "unix" {
		m := straceSun.FindStringSubmatch(addr)
		if m == nil {
			return t, node, false
		}
		name, perm := unquote(strings.TrimPrefix(m[1], "@")), "w"
		if strings.HasPrefix(m[1], "@") {
			name, perm = "@"+name, ""
		} else if c.Name == "connect" {
			perm = "rw"
		}
		return straceTouch{What: "network", Path: netKey(c.Name, s.family, s.protocol, 0, false, name)},
			straceTouch{What: "file", Path: name, Perm: perm}, true
	}
	pm := stracePort.FindStringSubmatch(addr)
	if pm == nil {
		return t, node, false
	}
	port, _ := strconv.Atoi(pm[1])
	loopback := false
	if am := straceAddr.FindStringSubmatch(addr); am != nil {
		ip := am[1] + am[2]
		loopback = strings.HasPrefix(ip, "127.") || ip == "::1" || strings.HasPrefix(ip, "::ffff:127.")
	}
	if c.Name == "bind" {
		s.port = port
	}
	return straceTouch{What: "network", Path: netKey(c.Name, s.family, s.protocol, port, loopback, "")}, node, true
}

// resolveIn resolves the symlinks of p as a process chrooted to root sees
// them (an absolute link target starts again from root), as the kernel
// does for an exec; p as given when that fails.
func resolveIn(root, p string) string {
	todo := strings.Split(strings.Trim(p, "/"), "/")
	done := "/"
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		next := path.Join(done, c)
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil { // not a link (or missing: the exec would have failed)
			done = next
			continue
		}
		if links++; links > 40 {
			return p
		}
		if strings.HasPrefix(target, "/") {
			done = "/"
		}
		todo = append(strings.Split(strings.Trim(target, "/"), "/"), todo...)
	}
	return done
}

// TestStraceTouchesChildFirst: strace -f printed a child's execve of
// /proc/self/exe before its parent's clone returned; the child still runs
// its parent's executable.
func TestStraceTouchesChildFirst(t *testing.T) {
	const trace = `100 execve("/bin/sh", ["/bin/sh", "-c", "x"], 0x2 /* 1 var */) = 0
100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>
101 execve("/proc/self/exe", ["sleep", "0.1"], 0x3 /* 1 var */) = 0
100 <... clone resumed>) = 101
`
	tr, err := parseStrace(strings.NewReader(trace), "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tr.touches("/r") {
		if x.Path == "" {
			t.Errorf("a touch with no path: %+v", x)
		}
	}
}

func TestStraceTouches(t *testing.T) {
	const trace = `100 execve("/usr/sbin/chroot", ["chroot", "/r", "/bin/sh"], 0x1 /* 1 var */) = 0
100 execve("/bin/sh", ["/bin/sh", "-c", "x"], 0x2 /* 1 var */) = 0
100 openat(AT_FDCWD, "/tmp/a", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</r/tmp/a>
100 openat(AT_FDCWD, "/var/log/x", O_WRONLY|O_APPEND) = 3</r/var/log/x>
100 openat(AT_FDCWD, "/etc/x", O_RDONLY|O_PATH) = 4</r/etc/x>
100 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
100 openat(AT_FDCWD, "/etc", O_RDONLY|O_DIRECTORY) = 4</r/etc>
100 stat("/tmp/s", 0x1) = 0
100 unlinkat(5</r/tmp/d>, "e", AT_REMOVEDIR) = 0
100 mkdir("rel", 0777) = 0
100 rename("/tmp/a", "/tmp/b") = 0
100 mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_DENYWRITE, 3</r/lib/libc.so>, 0) = 0x7f0000
100 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 6<socket:[77]>
100 bind(6<socket:[77]>, {sa_family=AF_INET, sin_port=htons(6379), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
100 listen(6<socket:[77]>, 511) = 0
100 socket(AF_UNIX, SOCK_STREAM, 0) = 7<socket:[78]>
100 connect(7<socket:[78]>, {sa_family=AF_UNIX, sun_path="/run/s.sock"}, 110) = 0
100 socket(AF_INET6, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 8<socket:[79]>
100 connect(8<socket:[79]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 EINPROGRESS (Operation now in progress)
100 clone(child_stack=NULL, flags=SIGCHLD) = 101
101 execve("/proc/self/exe", ["cat"], 0x3 /* 1 var */ <unfinished ...>
101 <... execve resumed>) = 0
101 openat(AT_FDCWD, "/proc/self/fd", O_RDONLY|O_DIRECTORY) = 3</proc/101/fd>
`
	tr, err := parseStrace(strings.NewReader(trace), "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	touches := tr.touches("/r")
	got := touchSets(touches)
	files := strings.Join(sortedKeys(got["file"]), " ")
	if want := "/bin/sh /etc /lib/libc.so /nope /proc/PID/fd /rel /run/s.sock /tmp/a /tmp/b /tmp/d/e /var/log/x"; files != want {
		t.Errorf("files %q, want %q", files, want)
	}
	if progs := strings.Join(sortedKeys(got["program"]), " "); progs != "/bin/sh" {
		t.Errorf("programs %q, want /bin/sh (the root /r does not exist here)", progs)
	}
	net := strings.Join(sortedKeys(got["network"]), "|")
	if want := "bind inet tcp 6379 loopback=true |connect inet6 tcp 443 loopback=false |" +
		"connect unix stream 0 loopback=false /run/s.sock|listen inet tcp 6379 loopback=false "; net != want {
		t.Errorf("network %q, want %q", net, want)
	}
	perms := map[string]string{}
	for _, x := range touches {
		if x.What == "file" {
			p := x.Path
			if x.Dir {
				p += "/"
			}
			perms[p] += x.Perm
		}
	}
	want := map[string]string{"/tmp/a": "wrw", "/var/log/x": "a", "/nope": "", "/etc/": "r", "/tmp/d/e/": "w",
		"/rel/": "w", "/tmp/b": "w", "/lib/libc.so": "m", "/run/s.sock": "rw", "/bin/sh": "xx", "/proc/101/fd/": "r"}
	for p, w := range want {
		if perms[p] != w {
			t.Errorf("%s: permissions %q, want %q", p, perms[p], w)
		}
	}
}
