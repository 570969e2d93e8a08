package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
)

// The strace baseline: a workload run on the host, in a copy of its image
// (chroot), under `strace -f -y`, in a network namespace of its own with
// loopback up (servers bind 127.0.0.1 there, not on the host). One parser
// (parseStrace) reads the trace into calls; the syscall tests take their
// names (straceTrace.names), the touch and AppArmor tests what they
// touched (straceTrace.touches).

// straceTrace is what strace saw a workload do after the execve that
// started it.
type straceTrace struct {
	Start straceCall   // the execve of the workload's first program
	Calls []straceCall // every call after it, in the order they returned
}

// straceCall is one syscall of the trace.
type straceCall struct {
	PID     string
	Name    string
	Args    []string // top-level arguments, as strace prints them
	Ret     string   // "" when the call never returned (the process died in it)
	RetPath string   // with -y, the path of a returned fd
	Errno   string   // ENOENT, ...
}

// straceRun runs script with /bin/sh in a copy of image under strace and
// returns its trace, with the copy's root. /proc is mounted in the copy
// because busybox re-executes itself through /proc/self/exe, as it does in
// a container. The copy is removed when the test ends; the trace must be
// read before (touches looks the copy's symlinks up).
func straceRun(t testing.TB, image, script string) (*straceTrace, string) {
	t.Helper()
	requireRoot(t)
	requireCommand(t, "strace", "chroot", "unshare", "ip")
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := rootfs.Copy(image, root); err != nil {
		t.Fatal(err)
	}
	if err := makeDevices(root); err != nil {
		t.Fatal(err)
	}
	// /proc and a read-only /sys, as a container has them: glibc reads
	// the number of CPUs from /sys and falls back to /proc/stat without.
	for _, m := range [][]string{{"proc", "proc", "rw"}, {"sysfs", "sys", "ro"}} {
		dir := filepath.Join(root, m[1])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", m[0], "-o", m[2], m[0], dir).CombinedOutput(); err != nil {
			t.Fatalf("mount %s for the strace baseline: %v: %s", m[0], err, out)
		}
		defer func() {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", dir, err, out)
			}
		}()
	}
	trace := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command("unshare", "--net", "--", "/bin/sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		"strace", "-f", "-qq", "-y", "-s", "4096", "-o", trace, "chroot", root, "/bin/sh", "-c", script)
	// The environment the bundles' processes get.
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
	tr, err := parseStrace(f, "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return tr, root
}

// straceDevices are the device nodes runc and crun create in a
// container's /dev (the OCI runtime spec's default devices).
var straceDevices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

// makeDevices gives the chroot the devices a container has, so that the
// workload finds /dev/null where it does in a container.
func makeDevices(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return fmt.Errorf("strace baseline: %w", err)
	}
	for _, d := range straceDevices {
		p := filepath.Join(dev, d.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("strace baseline: mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil { // past the umask
			return fmt.Errorf("strace baseline: %w", err)
		}
	}
	return nil
}

// straceSyscalls returns the syscall names every process of the workload
// made after the execve of /bin/sh: the baseline a learned profile is
// compared with.
func straceSyscalls(t testing.TB, image, script string) map[string]bool {
	t.Helper()
	tr, _ := straceRun(t, image, script)
	return tr.names()
}

// names returns the names of the calls (the starting execve, made by the
// launcher, chroot here and the runtime in a container, is not one).
func (tr *straceTrace) names() map[string]bool {
	names := map[string]bool{}
	for _, c := range tr.Calls {
		names[c.Name] = true
	}
	return names
}

var (
	// straceLine is a complete call: "PID name(args) = ret[<path>] [ERRNO (text)]".
	straceLine = regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\((.*)\) += (\?|-?\d+|0x[0-9a-f]+)(?:<(.*)>)?(?: ([A-Z][A-Z0-9_]*))?`)
	// straceStart is the beginning of a call, finished or not.
	straceStart = regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\(`)
)

// parseStrace reads an `strace -f -o` trace (with or without -y) from the
// first successful execve of start on. A call strace split in two
// ("<unfinished ...>", then "<... name resumed>") is put back together;
// one that never resumed is kept without a return value. Signals and
// exits are not calls.
func parseStrace(r io.Reader, start string) (*straceTrace, error) {
	tr := &straceTrace{}
	started := false
	pending := map[string]string{} // pid -> the first half of its call
	var unfinished []string        // pids, in the order their calls started
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		pid, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimLeft(rest, " ")
		if head, ok := strings.CutSuffix(rest, " <unfinished ...>"); ok {
			if straceStart.MatchString(line) {
				pending[pid] = head
				unfinished = append(unfinished, pid)
			}
			continue
		}
		if strings.HasPrefix(rest, "<... ") {
			head, ok := pending[pid]
			if !ok {
				continue
			}
			_, tail, _ := strings.Cut(rest, "resumed>")
			line = pid + " " + head + tail
			delete(pending, pid)
		}
		c, ok := parseCall(line)
		if !ok {
			continue
		}
		if !started {
			started = c.Name == "execve" && c.Ret == "0" && len(c.Args) > 0 && unquote(c.Args[0]) == start
			if started {
				tr.Start = c
			}
			continue
		}
		tr.Calls = append(tr.Calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read strace output: %w", err)
	}
	if !started {
		return nil, fmt.Errorf("strace output has no successful execve of %s", start)
	}
	for _, pid := range unfinished {
		if head, ok := pending[pid]; ok {
			m := straceStart.FindStringSubmatch(pid + " " + head)
			tr.Calls = append(tr.Calls, straceCall{PID: pid, Name: m[2]})
			delete(pending, pid)
		}
	}
	return tr, nil
}

func parseCall(line string) (straceCall, bool) {
	m := straceLine.FindStringSubmatch(line)
	if m == nil {
		return straceCall{}, false
	}
	return straceCall{PID: m[1], Name: m[2], Args: splitArgs(m[3]), Ret: m[4], RetPath: m[5], Errno: m[6]}, true
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

// unquote reads a C string as strace prints it (its escapes are Go's,
// \x escapes of -x included).
func unquote(s string) string {
	s = strings.TrimSuffix(s, "...")
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"`)
}

// sortedKeys returns a set's members, sorted, for messages.
func sortedKeys(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestParseStrace(t *testing.T) {
	const trace = `100 execve("/usr/sbin/chroot", ["chroot", "/r", "/bin/sh"], 0x7ffc /* 1 var */) = 0
100 chroot("/r")                        = 0
100 chdir("/")                          = 0
100 execve("/bin/sh", ["/bin/sh", "-c", "cat /a"], 0x7ffd /* 1 var */) = 0
100 brk(NULL)                           = 0x1000
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x2d) = 101
101 execve("/proc/self/exe", ["cat", "/a"], 0x2d /* 3 vars */) = 0
100 wait4(-1,  <unfinished ...>
101 openat(AT_FDCWD, "/a", O_RDONLY)    = 3</r/a>
102 read(3,  <unfinished ...>
101 exit_group(0)                       = ?
101 +++ exited with 0 +++
100 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101} ---
100 rt_sigreturn({mask=[]})             = 101
100 openat(AT_FDCWD, "/b", O_RDONLY) = -1 ENOENT (No such file or directory)
`
	tests := []struct {
		name    string
		trace   string
		want    string
		wantErr bool
	}{
		{name: "after sh execve", trace: trace, want: "brk clone execve exit_group openat read rt_sigreturn wait4"},
		{name: "no execve", trace: "100 brk(NULL) = 0x1000\n", wantErr: true},
		{name: "failed execve", trace: `100 execve("/bin/sh", ["sh"], 0x1) = -1 ENOENT (No such file or directory)` + "\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStrace(strings.NewReader(tt.trace), "/bin/sh")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if s := strings.Join(sortedKeys(got.names()), " "); s != tt.want {
				t.Fatalf("got %q, want %q", s, tt.want)
			}
			var wait, open, failed *straceCall
			for i, c := range got.Calls {
				switch {
				case c.Name == "wait4":
					wait = &got.Calls[i]
				case c.Name == "openat" && c.Ret == "3":
					open = &got.Calls[i]
				case c.Name == "openat":
					failed = &got.Calls[i]
				}
			}
			if wait == nil || wait.Ret != "101" || len(wait.Args) != 4 {
				t.Errorf("wait4 not put back together: %+v", wait)
			}
			if open == nil || open.RetPath != "/r/a" || unquote(open.Args[1]) != "/a" {
				t.Errorf("openat of /a: %+v", open)
			}
			if failed == nil || failed.Ret != "-1" || failed.Errno != "ENOENT" {
				t.Errorf("failed openat: %+v", failed)
			}
		})
	}
}
