package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
	"github.com/tailor-dev/tailor/profiles"
)

// touchScript is the busybox workload with a few more of the file
// operations the recorder resolves: a symlink followed, a failed lookup, a
// chmod and a rename.
const touchScript = `set -e
echo x > /tmp/t
ln -s /tmp/t /tmp/l
cat /tmp/l > /tmp/t2
chmod 600 /tmp/t2
mv /tmp/t2 /tmp/t3
cat /nonexistent 2>/tmp/err || true
` + ocitest.BusyboxScript

// TestTouchBusybox: the files, programs and network peers learned from the
// busybox workload under runc and crun are what strace sees the same
// workload touch, in both directions, after normalising both sides the
// same way (touchNormal). What the two views differ in, and why:
//   - strace runs the workload under chroot on the host, tailor in a
//     container: the runtime's own tail after the boundary (runc reads
//     /proc/self/fd to close inherited fds) is only on tailor's side and
//     is left out (runtimeTouches);
//   - the recorder records opens, execs and changes, not stat, access or
//     readlink: strace's view keeps the same syscalls (touchCalls);
//   - paths under /proc name pids, which differ per run: /proc/<n> becomes
//     /proc/PID on both sides.
func TestTouchBusybox(t *testing.T) {
	requireRoot(t)
	image := busyboxRootfs(t)
	baseline := straceTouches(t, image, touchScript)
	w := workload{Name: "busybox-touch", Image: image, Args: []string{"/bin/sh", "-c", touchScript}, Want: ocitest.BusyboxWant}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			p := learnOK(t, rt, w, w.bundle(t))
			if err := p.RequireRecorded(profiles.DimFiles, profiles.DimPrograms, profiles.DimNetwork); err != nil {
				t.Fatal(err)
			}
			got := learnedTouches(p)
			for _, what := range []string{"file", "program", "network"} {
				g, b := got[what], baseline[what]
				tail := runtimeTouches(rt)[what]
				if missing := minus(b, g); len(missing) > 0 {
					t.Errorf("%ss strace saw that the profile lacks: %q", what, missing)
				}
				if extra := minus(g, b, tail); len(extra) > 0 {
					t.Errorf("%ss in the profile that strace did not see: %q", what, extra)
				}
				if t.Failed() {
					t.Logf("%s recorded: %q\n%s strace:   %q", what, sortedKeys(g), what, sortedKeys(b))
				}
			}
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
		})
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

var procPid = regexp.MustCompile(`^/proc/[0-9]+(/|$)`)

// touchNormal is the normalisation both sides get.
func touchNormal(p string) string {
	return procPid.ReplaceAllString(p, "/proc/PID$1")
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
		out["network"][fmt.Sprintf("%s %s %s %d %s", n.Op, n.Family, n.Protocol, n.Port, n.Address)] = true
	}
	return out
}

// straceTouches runs script in a copy of image under `strace -f -y` (as
// straceSyscalls does) and returns what it touched, as learnedTouches.
func straceTouches(t testing.TB, image, script string) map[string]map[string]bool {
	t.Helper()
	requireCommand(t, "strace", "chroot")
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := rootfs.Copy(image, root); err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join(root, "proc")
	if out, err := exec.Command("mount", "-t", "proc", "proc", proc).CombinedOutput(); err != nil {
		t.Fatalf("mount proc for the strace baseline: %v: %s", err, out)
	}
	defer func() {
		if out, err := exec.Command("umount", proc).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", proc, err, out)
		}
	}()
	trace := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command("strace", "-f", "-qq", "-y", "-s", "4096", "-o", trace, "chroot", root, "/bin/sh", "-c", script)
	spec, err := ocitest.RuncSpec()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = spec.Process.Env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("workload under strace: %v\n%s", err, out)
	}
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parseTouches(f, root, "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// touchCalls are the syscalls the recorder records, with the positions of
// their path operands (pairs: dirfd index or -1 for the working
// directory, then the string's index) as strace prints them.
var touchCalls = map[string][][2]int{
	"open": {{-1, 0}}, "openat": {{0, 1}}, "openat2": {{0, 1}}, "creat": {{-1, 0}},
	"mkdir": {{-1, 0}}, "mkdirat": {{0, 1}}, "rmdir": {{-1, 0}}, "unlink": {{-1, 0}}, "unlinkat": {{0, 1}},
	"rename": {{-1, 0}, {-1, 1}}, "renameat": {{0, 1}, {2, 3}}, "renameat2": {{0, 1}, {2, 3}},
	"link": {{-1, 1}}, "linkat": {{2, 3}}, "symlink": {{-1, 1}}, "symlinkat": {{1, 2}},
	"chmod": {{-1, 0}}, "fchmodat": {{0, 1}}, "chown": {{-1, 0}}, "lchown": {{-1, 0}}, "fchownat": {{0, 1}},
	"truncate": {{-1, 0}}, "mknod": {{-1, 0}}, "mknodat": {{0, 1}},
}

var (
	straceLine   = regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\((.*)\) += (-?\d+)(<(.*)>)?(?: ([A-Z]+))?`)
	straceFdPath = regexp.MustCompile(`^\d+<(.*)>$`)
)

// parseTouches reads an `strace -f -y` trace after the first successful
// execve of start: the files opened (by the path strace resolved from the
// fd), created, changed or looked up in vain (ENOENT) by the syscalls the
// recorder records, the programs run (following /proc/self/exe through
// each process's executable), and the network endpoints bound or
// connected to. root is the chroot, cut from strace's host paths.
func parseTouches(r io.Reader, root, start string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{"file": {}, "program": {}, "network": {}}
	host := func(p string) string {
		if rest, ok := strings.CutPrefix(p, root); ok && (rest == "" || rest[0] == '/') {
			p = "/" + strings.TrimPrefix(rest, "/")
		}
		return touchNormal(p)
	}
	resolve := func(p string) string { return touchNormal(resolveIn(root, p)) }
	exe := map[string]string{}
	pending := map[string]string{}
	startExec := straceExec(start)
	started := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !started {
			if started = startExec.MatchString(line); started {
				pid := strings.Fields(line)[0]
				exe[pid] = resolve(start)
				out["program"][exe[pid]] = true
				out["file"][exe[pid]] = true
			}
			continue
		}
		pid, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimLeft(rest, " ")
		if head, ok := strings.CutSuffix(rest, " <unfinished ...>"); ok {
			pending[pid] = head
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			_, tail, _ := strings.Cut(rest, "resumed>")
			line = pid + " " + pending[pid] + tail
			delete(pending, pid)
		}
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, args, ret, retPath, errno := m[2], splitArgs(m[3]), m[4], m[6], m[7]
		switch name {
		case "clone", "clone3", "fork", "vfork":
			if ret != "-1" {
				exe[ret] = exe[pid]
			}
			continue
		case "execve":
			if ret == "0" && len(args) > 0 {
				// /proc/self/exe runs the process's own executable again.
				if p := unquote(args[0]); p != "/proc/self/exe" {
					exe[pid] = resolve(p)
				}
				out["program"][exe[pid]] = true
				out["file"][exe[pid]] = true
			}
			continue
		case "bind", "connect":
			if ret == "0" || errno == "EINPROGRESS" {
				out["network"][name+" "+strings.Join(args, ",")] = true
			}
			continue
		}
		ops, ok := touchCalls[name]
		if !ok {
			continue
		}
		opened := strings.HasPrefix(name, "open") || name == "creat"
		switch {
		case opened && retPath != "":
			// The flags follow the path (openat2: in its struct).
			if flags := ops[0][1] + 1; flags >= len(args) || !strings.Contains(args[flags], "O_PATH") {
				out["file"][host(retPath)] = true
			}
			continue
		case opened && errno != "ENOENT":
			continue
		case !opened && ret != "0":
			continue
		}
		for _, op := range ops {
			if op[1] >= len(args) {
				continue
			}
			dir := "/" // the workload's working directory
			if op[0] >= 0 && op[0] < len(args) {
				if fm := straceFdPath.FindStringSubmatch(args[op[0]]); fm != nil {
					dir = fm[1]
				}
			}
			p := unquote(args[op[1]])
			if !strings.HasPrefix(p, "/") {
				p = path.Join(host(dir), p)
			}
			out["file"][touchNormal(path.Clean(p))] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read strace output: %w", err)
	}
	if !started {
		return nil, fmt.Errorf("strace output has no successful execve of %s", start)
	}
	return out, nil
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

// splitArgs splits strace's argument list at the top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, quoted, startAt := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[' || c == '{' || c == '(':
			depth++
		case c == ']' || c == '}' || c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[startAt:i]))
			startAt = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[startAt:]))
}

// unquote reads a C string as strace prints it (its escapes are Go's).
func unquote(s string) string {
	s = strings.TrimSuffix(s, "...")
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"`)
}

func TestParseTouches(t *testing.T) {
	const trace = `100 execve("/usr/sbin/chroot", ["chroot", "/r", "/bin/sh"], 0x1 /* 1 var */) = 0
100 execve("/bin/sh", ["/bin/sh", "-c", "x"], 0x2 /* 1 var */) = 0
100 openat(AT_FDCWD, "/tmp/a", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</r/tmp/a>
100 openat(AT_FDCWD, "/etc/x", O_RDONLY|O_PATH) = 4</r/etc/x>
100 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
100 stat("/tmp/s", 0x1) = 0
100 unlinkat(5</r/tmp/d>, "e", AT_REMOVEDIR) = 0
100 mkdir("rel", 0777) = 0
100 rename("/tmp/a", "/tmp/b") = 0
100 clone(child_stack=NULL, flags=SIGCHLD) = 101
101 execve("/proc/self/exe", ["cat"], 0x3 /* 1 var */ <unfinished ...>
101 <... execve resumed>) = 0
101 openat(AT_FDCWD, "/proc/self/fd", O_RDONLY|O_DIRECTORY) = 3</proc/101/fd>
`
	got, err := parseTouches(strings.NewReader(trace), "/r", "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Join(sortedKeys(got["file"]), " ")
	if want := "/bin/sh /nope /proc/PID/fd /rel /tmp/a /tmp/b /tmp/d/e"; files != want {
		t.Errorf("files %q, want %q", files, want)
	}
	if progs := strings.Join(sortedKeys(got["program"]), " "); progs != "/bin/sh" {
		t.Errorf("programs %q, want /bin/sh (the root /r does not exist here)", progs)
	}
}
