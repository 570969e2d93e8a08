package e2e

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/complain"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// Issue 13, complain mode: a learned busybox workload, enforced in
// complain mode, also does mkdir and chmod; both succeed and the recording
// holds exactly those two; merged and enforced normally both work and a
// third new call is refused; with --report the two are refused and still
// recorded.

// complainBase is what is learned; complainExtra adds what the profile
// lacks. The applets fork (busybox's sh runs mkdir and chmod in a child),
// so the learned part forks the same way; its read is there because runc's
// init reads its sync pipe after loading the filter, and busybox's cat
// uses sendfile, not read.
const (
	complainBase  = "echo hi > /tmp/a; read x < /tmp/a; cat /tmp/a; ls / > /dev/null; echo base done $x"
	complainExtra = complainBase + "; mkdir /tmp/cm; echo mkdir=$?; chmod 700 /tmp/a; echo chmod=$?"
	// complainThird is one more syscall neither run made: symlink.
	complainThird = complainExtra + "; ln -s /tmp/a /tmp/l; echo ln=$?"
)

func TestComplain(t *testing.T) {
	requireRoot(t)
	tailor := tailorBin(t)
	image := busyboxRootfs(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			bin := runtimeBin(t, rt)
			t.Cleanup(func() { stopAgent(t) })
			profile := filepath.Join(t.TempDir(), "cm.json")
			learnB := newBundle(t, image, []string{"/bin/sh", "-c", complainBase})
			if res := run(t, nil, tailor, "learn", "--bundle", learnB.Dir, "--runtime", bin, "-o", profile); res.ExitCode != 0 {
				t.Fatalf("tailor learn:\n%s", res)
			}

			t.Run("complain", func(t *testing.T) {
				rec := complainRun(t, tailor, rt, image, profile, complainExtra, false)
				if !strings.Contains(rec.stdout, "mkdir=0") || !strings.Contains(rec.stdout, "chmod=0") {
					t.Fatalf("in complain mode mkdir and chmod did not succeed:\n%s", rec.stdout)
				}
				rec.wantExactly(t, "mkdir", "chmod")
				merged := filepath.Join(t.TempDir(), "merged.json")
				if res := run(t, nil, tailor, "merge", "-o", merged, profile, rec.path); res.ExitCode != 0 {
					t.Fatalf("tailor merge:\n%s", res)
				}
				b := newBundle(t, image, []string{"/bin/sh", "-c", complainThird})
				applyProfile(t, tailor, b, merged)
				res := runContainer(t, rt, b)
				if !strings.Contains(res.Stdout, "mkdir=0") || !strings.Contains(res.Stdout, "chmod=0") {
					t.Fatalf("merged profile, enforced: mkdir and chmod did not succeed:\n%s", res)
				}
				if !strings.Contains(res.Stdout, "ln=1") || !strings.Contains(res.Stderr, "Operation not permitted") {
					t.Fatalf("merged profile, enforced: symlink was not refused with EPERM:\n%s", res)
				}
			})
			t.Run("report", func(t *testing.T) {
				rec := complainRun(t, tailor, rt, image, profile, complainExtra, true)
				if strings.Contains(rec.stdout, "mkdir=0") || strings.Contains(rec.stdout, "chmod=0") ||
					strings.Count(rec.stderr, "Operation not permitted") < 2 {
					t.Fatalf("in report mode mkdir and chmod were not refused with EPERM:\n%s\n%s", rec.stdout, rec.stderr)
				}
				rec.wantExactly(t, "mkdir", "chmod")
			})
		})
	}
}

// complainRecording is one complain-mode run and what the agent recorded.
type complainRecording struct {
	runtime, path, stdout, stderr string
	p                             *profiles.Profile
}

// complainRun applies profile in complain (or report) mode to a fresh
// bundle running script, runs it to completion, and waits for the agent's
// final recording.
func complainRun(t *testing.T, tailor, rt, image, profile, script string, report bool) *complainRecording {
	t.Helper()
	b := newBundle(t, image, []string{"/bin/sh", "-c", script})
	out := filepath.Join(t.TempDir(), "cm.violations.json")
	args := []string{"apply", "--complain", "--violations", out, "--store", t.TempDir(), "--bundle", b.Dir}
	if report {
		args = append(args, "--report")
	}
	if res := run(t, nil, tailor, append(args, profile)...); res.ExitCode != 0 || !strings.Contains(res.Stdout, "NOT a security boundary") {
		t.Fatalf("tailor %s:\n%s", strings.Join(args, " "), res)
	}
	res := runContainer(t, rt, b)
	if res.ExitCode != 0 {
		t.Fatalf("complain-mode container under %s:\n%s", rt, res)
	}
	p := waitFinalRecording(t, out)
	return &complainRecording{runtime: rt, path: out, stdout: res.Stdout, stderr: res.Stderr, p: p}
}

// waitFinalRecording waits until the agent has written the recording at
// path with the container's end seen (it does so once the container's
// tasks have all exited, after the runtime returned).
func waitFinalRecording(t *testing.T, path string) *profiles.Profile {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := profiles.Load(path)
		if err == nil && p.Complete {
			return p
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(profiler.DefaultDir, complain.LogName))
			t.Fatalf("no final recording at %s (last: %v, %+v); agent log:\n%s", path, err, p, string(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantExactly checks that the recording holds exactly the syscalls whose
// names start with the given prefixes (mkdir may be mkdir or mkdirat), one
// each, with the task that made it.
func (r *complainRecording) wantExactly(t *testing.T, prefixes ...string) {
	t.Helper()
	var got []string
	for _, a := range r.p.ABIs {
		for _, s := range a.Syscalls {
			if r.runtime == "crun" && s.Seen.Comm == "crun" && (s.Name == "munmap" || s.Name == "kill") {
				// crun 1.8 itself makes these after loading a filter with
				// a listener (docs/complain.md): they are its own, not
				// the workload's.
				t.Logf("crun's own %s recorded: %+v", s.Name, s.Seen)
				continue
			}
			got = append(got, s.Name)
			if s.Seen.Comm == "" || s.Seen.Pid == 0 || s.Seen.Count == 0 {
				t.Errorf("%s recorded without its task or count: %+v", s.Name, s.Seen)
			}
		}
	}
	ok := len(got) == len(prefixes)
	for _, p := range prefixes {
		ok = ok && slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, p) || strings.HasPrefix(n, "f"+p) })
	}
	if !ok {
		data, _ := os.ReadFile(r.path)
		t.Fatalf("recording holds %v, want exactly one each of %v:\n%s", got, prefixes, data)
	}
	t.Logf("recording %s: %v", r.path, got)
}

// agentPid returns the pid of the agent serving the shared directory (from
// its socket's peer credentials), 0 when none answers.
func agentPid(t testing.TB) int {
	conn, err := net.Dial("unix", filepath.Join(profiler.DefaultDir, complain.SocketName))
	if err != nil {
		return 0
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if cred == nil {
		return 0
	}
	return int(cred.Pid)
}

// stopAgent stops the agent the test's hooks started, by its pid.
func stopAgent(t testing.TB) {
	pid := agentPid(t)
	if pid == 0 {
		return
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Logf("stop agent %d: %v", pid, err)
		return
	}
	for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
}
