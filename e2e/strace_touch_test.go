package e2e

// The touch side of the e2e strace parser: what a traced workload touched
// (files with the AppArmor permission each access needs, programs, network
// endpoints), read from the calls parseStrace put back together.

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The strace notations the touch parser reads.
var (
	straceFdPath = regexp.MustCompile(`^(?:\d+|AT_FDCWD)<(.*)>$`)
	straceSocket = regexp.MustCompile(`^socket:\[(\d+)\]$`)
	straceFamily = regexp.MustCompile(`sa_family=AF_([A-Z0-9]+)`)
	stracePort   = regexp.MustCompile(`sin6?_port=htons\((\d+)\)`)
	straceAddr   = regexp.MustCompile(`inet_addr\("([^"]*)"\)|inet_pton\(AF_INET6, "([^"]*)"`)
	straceSun    = regexp.MustCompile(`sun_path=(@?"(?:[^"\\]|\\.)*")`)
)

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
