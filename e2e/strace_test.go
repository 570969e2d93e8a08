package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
)

// straceSyscalls runs script with /bin/sh in a copy of image on the host
// under `strace -f`, and returns the syscall names every process made after
// the execve of /bin/sh: the baseline a learned profile is compared with.
// /proc is mounted in the copy because busybox re-executes itself through
// /proc/self/exe, as it does in a container.
func straceSyscalls(t testing.TB, image, script string) map[string]bool {
	t.Helper()
	requireRoot(t)
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
	cmd := exec.Command("strace", "-f", "-qq", "-o", trace, "chroot", root, "/bin/sh", "-c", script)
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
	names, err := parseStrace(f, "/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// straceCall matches the start of a syscall line of `strace -f -o`: "PID
// name(". Resumed halves ("<... name resumed>"), signals and exits do not
// match: the call was counted when it started.
var straceCall = regexp.MustCompile(`^\d+ +([a-z0-9_]+)\(`)

// straceExec matches the successful execve that starts the workload.
func straceExec(path string) *regexp.Regexp {
	return regexp.MustCompile(`^\d+ +execve\("` + regexp.QuoteMeta(path) + `", .*\) = 0$`)
}

// parseStrace returns the syscall names in an `strace -f -o` trace after
// the first successful execve of path (which itself is not counted: it is
// made by the launcher, chroot here, the runtime in a container).
func parseStrace(r io.Reader, path string) (map[string]bool, error) {
	start := straceExec(path)
	names := map[string]bool{}
	started := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !started {
			started = start.MatchString(line)
			continue
		}
		if m := straceCall.FindStringSubmatch(line); m != nil {
			names[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read strace output: %w", err)
	}
	if !started {
		return nil, fmt.Errorf("strace output has no successful execve of %s", path)
	}
	return names, nil
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
101 openat(AT_FDCWD, "/a", O_RDONLY)    = 3
101 exit_group(0)                       = ?
101 +++ exited with 0 +++
100 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101} ---
100 rt_sigreturn({mask=[]})             = 101
`
	tests := []struct {
		name    string
		trace   string
		want    string
		wantErr bool
	}{
		{name: "after sh execve", trace: trace, want: "brk clone execve exit_group openat rt_sigreturn wait4"},
		{name: "no execve", trace: "100 brk(NULL) = 0x1000\n", wantErr: true},
		{name: "failed execve", trace: `100 execve("/bin/sh", ["sh"], 0x1) = -1 ENOENT (No such file or directory)` + "\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStrace(strings.NewReader(tt.trace), "/bin/sh")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if s := strings.Join(sortedKeys(got), " "); !tt.wantErr && s != tt.want {
				t.Fatalf("got %q, want %q", s, tt.want)
			}
		})
	}
}
