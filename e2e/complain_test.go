package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/complain"
	"github.com/tailor-dev/tailor/internal/rootfs"
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
// so the learned part forks the same way. It never calls read (busybox's
// cat uses sendfile), yet runc's init reads its sync pipe after loading
// the filter, and crun makes munmap and kill: the agent lets the runtime's
// own handshake through without recording it (complain/handshake.go), so
// the recording holds exactly what the workload did beyond its profile.
const (
	complainBase  = "echo hi > /tmp/a; cat /tmp/a; ls / > /dev/null; echo base done"
	complainExtra = complainBase + "; mkdir /tmp/cm; echo mkdir=$?; chmod 700 /tmp/a; echo chmod=$?; cat " + notMine + "; echo cat=$?"

	// complainExtra's cat of a file of another user, mode 0600, is refused by
	// the kernel (CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH are checked and
	// denied: the profile grants no capability) through syscalls the profile
	// allows: a denied capability check for the recording, no violation.
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
				rec.wantHandshake(t)
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
			t.Run("agent-killed", func(t *testing.T) { checkAgentKilled(t, tailor, rt, image, profile) })
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
	theirs := filepath.Join(b.Rootfs, notMine)
	if err := os.WriteFile(theirs, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	out := applyComplain(t, tailor, b, profile, report)
	res := runContainer(t, rt, b)
	if res.ExitCode != 0 {
		t.Fatalf("complain-mode container under %s:\n%s", rt, res)
	}
	p := waitFinalRecording(t, out)
	return &complainRecording{runtime: rt, path: out, stdout: res.Stdout, stderr: res.Stderr, p: p}
}

// applyComplain runs tailor apply --complain (--report) on the bundle and
// returns the path its recording goes to.
func applyComplain(t *testing.T, tailor string, b *bundle, profile string, report bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cm.violations.json")
	args := []string{"apply", "--complain", "--violations", out, "--store", t.TempDir(), "--bundle", b.Dir}
	if report {
		args = append(args, "--report")
	}
	if res := run(t, nil, tailor, append(args, profile)...); res.ExitCode != 0 || !strings.Contains(res.Stdout, "NOT a security boundary") {
		t.Fatalf("tailor %s:\n%s", strings.Join(args, " "), res)
	}
	if res := run(t, nil, tailor, "report", "--bundle", b.Dir, profile); res.ExitCode != 0 ||
		!strings.Contains(res.Stdout, "NOT a security boundary") || !strings.Contains(res.Stdout, out) {
		t.Fatalf("tailor report --bundle of a complain-mode bundle does not say it is not a security boundary, or where its violations go:\n%s", res)
	}
	return out
}

// waitFinalRecording waits until the agent has written the recording at
// path with the container's end seen (it does so once the container's
// tasks have all exited, after the runtime returned). It may still be
// incomplete for another reason (a flood).
func waitFinalRecording(t *testing.T, path string) *profiles.Profile {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := profiles.Load(path)
		if err == nil && !slices.Contains(p.Loss.Reasons, complain.PartialReason) {
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
	if !r.p.Complete {
		t.Errorf("the recording is incomplete: %+v", r.p.Loss)
	}
	var got []string
	for _, a := range r.p.ABIs {
		for _, s := range a.Syscalls {
			got = append(got, s.Name)
			if s.Seen.Comm == "" || s.Seen.Pid == 0 || s.Seen.Count == 0 {
				t.Errorf("%s recorded without its task or count: %+v", s.Name, s.Seen)
			}
		}
	}
	if !slices.Contains(r.p.Recorded, profiles.DimCapabilities) ||
		!slices.ContainsFunc(r.p.Capabilities, func(c profiles.Capability) bool { return c.Name == "CAP_DAC_OVERRIDE" && c.Denied && !c.Granted }) {
		t.Errorf("the recording lacks the denied CAP_DAC_OVERRIDE check of cat %s: recorded %v, capabilities %+v", notMine, r.p.Recorded, r.p.Capabilities)
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

// handshakes are the calls each runtime makes after loading a filter
// with a listener, before the workload's execve (complain/handshake.go).
var handshakes = map[string][]string{"runc": {"read"}, "crun": {"munmap", "kill"}}

// wantHandshake checks that the agent let the runtime's own handshake
// calls through and logged them: the recording lacks them because the
// agent recognised them, not because the profile had them.
func (r *complainRecording) wantHandshake(t *testing.T) {
	t.Helper()
	log, _ := os.ReadFile(filepath.Join(profiler.DefaultDir, complain.LogName))
	for _, call := range handshakes[r.runtime] {
		if want := fmt.Sprintf("container %q: the runtime's own %s (pid ", r.p.Source.ContainerID, call); !strings.Contains(string(log), want) {
			t.Errorf("the agent's log does not say it let %s's own %s through (%q); its log:\n%s", r.runtime, call, want, log)
		}
	}
}

// agentPid returns the pid of the agent serving the shared directory (from
// its socket's peer credentials), 0 when none answers.
func agentPid(t testing.TB) int { return agentPidIn(profiler.DefaultDir) }

func agentPidIn(dir string) int {
	conn, err := net.Dial("unix", filepath.Join(dir, complain.SocketName))
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
func stopAgent(t testing.TB) { stopAgentIn(t, profiler.DefaultDir) }

func stopAgentIn(t testing.TB, dir string) {
	pid := agentPidIn(dir)
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

// complainGated is complainExtra with a gate between mkdir and chmod, and
// the learned part once more after it.
const complainGated = complainBase + "; mkdir /tmp/cm; echo mkdir=$?; read g < /tmp/gate; chmod 700 /tmp/a; echo chmod=$?; " +
	complainBase

// checkAgentKilled kills the agent while the container waits at a gate
// after its first violation: the violation after the gate fails with
// ENOSYS, what the profile allows keeps working, the recording holds the
// first violation and is marked incomplete, and the next agent reports
// the container.
func checkAgentKilled(t *testing.T, tailor, rt, image, profile string) {
	b := newBundle(t, image, []string{"/bin/sh", "-c", complainGated})
	gate := filepath.Join(b.Rootfs, "tmp", "gate")
	if err := unix.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	out := applyComplain(t, tailor, b, profile, false)
	c := startContainer(t, rt, b)
	waitRecorded(t, c, out, "mkdir")
	pid := agentPid(t)
	if pid == 0 {
		t.Fatal("no agent answers on its socket while the container runs")
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatalf("kill the agent (pid %d): %v", pid, err)
	}
	for agentPid(t) == pid {
		time.Sleep(10 * time.Millisecond) // the socket closes when the kernel has closed the agent's fds
	}
	openGate(t, c, gate)
	<-c.exited
	res := c.result(t)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "mkdir=0") || strings.Count(res.Stdout, "base done") != 2 {
		t.Fatalf("with the agent killed, what the profile allows did not keep working:\n%s", res)
	}
	if strings.Contains(res.Stdout, "chmod=0") || !strings.Contains(res.Stderr, "Function not implemented") {
		t.Fatalf("with the agent killed, chmod did not fail with ENOSYS:\n%s", res)
	}
	p, err := profiles.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Complete || !slices.Contains(p.Loss.Reasons, complain.PartialReason) {
		t.Fatalf("the partial recording is not marked incomplete: %+v", p.Loss)
	}
	names := syscallNames(p)
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "mkdir") }) ||
		slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "chmod") }) {
		t.Fatalf("the partial recording holds %v: want mkdir, and not chmod (made after the agent was gone)", names)
	}
	// The next agent, started by the next tailor apply --complain, reports
	// the container the killed one was serving.
	applyComplain(t, tailor, newBundle(t, image, []string{"/bin/true"}), profile, false)
	log, _ := os.ReadFile(filepath.Join(profiler.DefaultDir, complain.LogName))
	if !strings.Contains(string(log), fmt.Sprintf("container %q was in complain mode when the previous agent stopped", c.ID)) {
		t.Fatalf("the restarted agent did not report container %s; its log:\n%s", c.ID, log)
	}
	t.Logf("agent killed: %s", strings.TrimSpace(res.Stderr))
}

// waitRecorded waits until the partial recording at path holds a syscall
// named with prefix (the agent rewrites it as new violations arrive).
func waitRecorded(t *testing.T, c *container, path, prefix string) {
	t.Helper()
	deadline := time.Now().Add(commandTimeout)
	for {
		p, err := profiles.Load(path)
		if err == nil && slices.ContainsFunc(syscallNames(p), func(n string) bool { return strings.HasPrefix(n, prefix) }) {
			return
		}
		select {
		case <-c.exited:
			t.Fatalf("the container exited before %s was recorded in %s (last: %v):\n%s", prefix, path, err, c.result(t))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was never recorded in %s (last: %v)", prefix, path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func syscallNames(p *profiles.Profile) []string {
	var names []string
	for _, a := range p.ABIs {
		for _, s := range a.Syscalls {
			names = append(names, s.Name)
		}
	}
	return names
}

// Storm: stormThreads threads each make stormCalls calls the profile
// lacks (times), at once.
const (
	stormThreads = 8
	stormCalls   = 2000
	stormPath    = "/usr/local/bin/tailor-storm"
)

var stormOnce once[string]

// stormBinary builds testdata/storm.c once per run (static, with pthreads).
func stormBinary(t testing.TB) string {
	t.Helper()
	return gccOnce(t, &stormOnce, "tailor-storm", "storm.c", "", "-static", "-pthread", "-O2")
}

// TestComplainStorm: the storm program's threads are learned without the
// calls; in complain mode every call succeeds and the recording counts
// exactly as many as the program made, or says it lost some.
func TestComplainStorm(t *testing.T) {
	requireRoot(t)
	tailor := tailorBin(t)
	storm := stormBinary(t)
	image := busyboxRootfs(t)
	bundleOf := func(t *testing.T, calls int) *bundle {
		b := newBundle(t, image, []string{stormPath, strconv.Itoa(stormThreads), strconv.Itoa(calls)})
		if err := rootfs.CopyFile(storm, filepath.Join(b.Rootfs, stormPath), 0o755); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			bin := runtimeBin(t, rt)
			t.Cleanup(func() { stopAgent(t) })
			profile := filepath.Join(t.TempDir(), "storm.json")
			if res := run(t, nil, tailor, "learn", "--bundle", bundleOf(t, 0).Dir, "--runtime", bin, "-o", profile); res.ExitCode != 0 {
				t.Fatalf("tailor learn:\n%s", res)
			}
			b := bundleOf(t, stormCalls)
			out := applyComplain(t, tailor, b, profile, false)
			res := runContainer(t, rt, b)
			issued := stormThreads * stormCalls
			if want := fmt.Sprintf("issued=%d failed=0", issued); res.ExitCode != 0 || !strings.Contains(res.Stdout, want) {
				t.Fatalf("storm in complain mode under %s: want %q:\n%s", rt, want, res)
			}
			p := waitFinalRecording(t, out)
			var got uint64
			for _, s := range p.Syscalls(profiles.ABIX8664) {
				if s.Name == "times" {
					got = s.Seen.Count
				}
			}
			switch {
			case p.Complete && got != uint64(issued):
				t.Fatalf("the recording is complete but counts %d times calls; the program made %d", got, issued)
			case !p.Complete && len(p.Loss.Reasons) == 0 && p.Loss.Events == 0:
				t.Fatalf("the recording is incomplete without saying what was lost: %+v", p.Loss)
			case !p.Complete:
				t.Logf("the agent reported loss: %d events, %v (counted %d of %d)", p.Loss.Events, p.Loss.Reasons, got, issued)
			}
			t.Logf("%d threads made %d times calls; recorded %d (complete: %v)", stormThreads, issued, got, p.Complete)
		})
	}
}

// TestComplainPodman: podman 4.3 passes the listenerPath of a seccomp JSON
// (--security-opt seccomp=FILE) to runc and crun, so tailor generate
// --format seccomp --complain rolls a profile out under podman: mkdir and
// chmod succeed and are recorded. What podman's own set-up adds beyond the
// learned (runc bundle) profile is let through and recorded too, so the
// recording is checked to hold the two, not only them.
func TestComplainPodman(t *testing.T) {
	requireRoot(t)
	tailor := tailorBin(t)
	image := busyboxRootfs(t)
	profile := filepath.Join(t.TempDir(), "cm.json")
	learnB := newBundle(t, image, []string{"/bin/sh", "-c", complainBase})
	if res := run(t, nil, tailor, "learn", "--bundle", learnB.Dir, "--runtime", runtimeBin(t, "runc"), "-o", profile); res.ExitCode != 0 {
		t.Fatalf("tailor learn:\n%s", res)
	}
	pm := newPodman(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			runtimeBin(t, rt)
			t.Cleanup(func() { stopAgent(t) })
			out := filepath.Join(t.TempDir(), "cm.violations.json")
			file := filepath.Join(t.TempDir(), "cm.seccomp.json")
			res := run(t, nil, tailor, "generate", "--format", "seccomp", "--complain", "--violations", out, "-o", file, profile)
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, "not a security boundary") {
				t.Fatalf("tailor generate --format seccomp --complain:\n%s", res)
			}
			res = pm.run(t, rt, []string{"--security-opt", "seccomp=" + file}, "/bin/sh", "-c", complainExtra)
			if res.ExitCode != 0 || !strings.Contains(res.Stdout, "mkdir=0") || !strings.Contains(res.Stdout, "chmod=0") {
				t.Fatalf("podman (%s) in complain mode: mkdir and chmod did not succeed:\n%s", rt, res)
			}
			p := waitFinalRecording(t, out)
			names := syscallNames(p)
			for _, want := range []string{"mkdir", "chmod"} {
				if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, want) || strings.HasPrefix(n, "f"+want) }) {
					t.Errorf("the recording holds %v: no %s", names, want)
				}
			}
			t.Logf("podman (%s): recorded %v", rt, names)
		})
	}
}

// TestComplainDocker: the rollout through the Docker runtime wrapper. A
// container asking for complain mode (TAILOR_COMPLAIN=1 beside
// TAILOR_PROFILE) is refused by the runtime registered without
// --allow-complain; under the one registered with it, mkdir and chmod
// succeed and the container's violations become a recording of
// cm.violations; promoted into cm, both work enforced while symlink is
// refused.
func TestComplainDocker(t *testing.T) {
	d := startDockerd(t)
	t.Cleanup(func() { stopAgentIn(t, d.Tracer) })
	learn := []string{"--runtime", "tailor", "-e", "TAILOR_LEARN=cm"}
	if res := d.run(t, learn, "/bin/sh", "-c", complainBase); res.ExitCode != 0 || !strings.Contains(res.Stdout, "base done") {
		t.Fatalf("learning run under docker --runtime tailor:\n%s", res)
	}
	promoteLearned(t, d.Store, "cm", d.Tracer)
	rollout := []string{"-e", "TAILOR_PROFILE=cm", "-e", "TAILOR_COMPLAIN=1"}
	res := d.run(t, append([]string{"--runtime", "tailor"}, rollout...), "/bin/sh", "-c", "echo started")
	if res.ExitCode == 0 || strings.Contains(res.Stdout, "started") || !strings.Contains(res.Stderr, "--allow-complain") {
		t.Fatalf("an image's TAILOR_COMPLAIN turned complain mode on without --allow-complain:\n%s", res)
	}
	res = d.run(t, append([]string{"--runtime", "tailor-complain"}, rollout...), "/bin/sh", "-c", complainExtra)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "mkdir=0") || !strings.Contains(res.Stdout, "chmod=0") {
		t.Fatalf("docker --runtime tailor-complain: mkdir and chmod did not succeed:\n%s", res)
	}
	waitRecording(t, d.Store, "cm.violations", d.Tracer)
	recs, err := profiles.NewStore(d.Store).Recordings("", "cm.violations")
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings of cm.violations: %v, %v", recs, err)
	}
	p, err := profiles.Load(filepath.Join(d.Store, "recordings", "host", "cm.violations", recs[0].Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	names := syscallNames(p)
	for _, want := range []string{"mkdir", "chmod"} {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, want) || strings.HasPrefix(n, "f"+want) }) {
			t.Fatalf("the recording holds %v: no %s", names, want)
		}
	}
	t.Logf("docker: recorded %v, capabilities %+v", names, p.Capabilities)
	if res := run(t, nil, tailorBin(t), "profiles", "promote", "--store", d.Store, "--as", "cm", "cm.violations"); res.ExitCode != 0 {
		t.Fatalf("tailor profiles promote --as cm cm.violations:\n%s", res)
	}
	res = d.run(t, []string{"--runtime", "tailor", "-e", "TAILOR_PROFILE=cm"}, "/bin/sh", "-c", complainThird)
	if !strings.Contains(res.Stdout, "mkdir=0") || !strings.Contains(res.Stdout, "chmod=0") || !strings.Contains(res.Stdout, "ln=1") ||
		!strings.Contains(res.Stderr, "Operation not permitted") {
		t.Fatalf("cm extended with its violations, enforced: want mkdir and chmod to work and symlink refused with EPERM:\n%s", res)
	}
}

// TestComplainExec: runc and crun hand the agent a notify fd for every
// exec in a complain-mode container (Docker's HEALTHCHECK is one), under
// the container's id. An exec session that ends leaves the container's
// journal and partial recording in place; its violations join the
// container's one recording, written when the container ends.
func TestComplainExec(t *testing.T) {
	requireRoot(t)
	tailor := tailorBin(t)
	image := busyboxRootfs(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			bin := runtimeBin(t, rt)
			t.Cleanup(func() { stopAgent(t) })
			profile := filepath.Join(t.TempDir(), "cm.json")
			if res := run(t, nil, tailor, "learn", "--bundle", newBundle(t, image, []string{"/bin/sh", "-c", complainBase}).Dir,
				"--runtime", bin, "-o", profile); res.ExitCode != 0 {
				t.Fatalf("tailor learn:\n%s", res)
			}
			b := newBundle(t, image, []string{"/bin/sh", "-c", complainBase + "; mkdir /tmp/cm; echo mkdir=$?; cat /tmp/gate"})
			gate := filepath.Join(b.Rootfs, "tmp", "gate")
			if err := unix.Mkfifo(gate, 0o600); err != nil {
				t.Fatal(err)
			}
			out := applyComplain(t, tailor, b, profile, false)
			c := startContainer(t, rt, b)
			waitRecorded(t, c, out, "mkdir")
			journal := filepath.Join(profiler.DefaultDir, "notify.sessions", c.ID)
			for i := range 2 {
				res := run(t, nil, bin, "exec", c.ID, "/bin/sh", "-c", "chmod 700 /tmp/a; echo chmod=$?")
				if res.ExitCode != 0 || !strings.Contains(res.Stdout, "chmod=0") {
					t.Fatalf("%s exec %d in the complain-mode container: chmod did not succeed:\n%s", rt, i+1, res)
				}
				if _, err := os.Stat(journal); err != nil {
					t.Fatalf("after exec %d ended, the container's journal note is gone while it runs: %v", i+1, err)
				}
				if p, err := profiles.Load(out); err != nil || !slices.Contains(p.Loss.Reasons, complain.PartialReason) {
					t.Fatalf("after exec %d ended, the container's partial recording is gone or final while it runs: %v %+v", i+1, err, p)
				}
			}
			openGate(t, c, gate)
			<-c.exited
			if res := c.result(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, "mkdir=0") {
				t.Fatalf("the complain-mode container:\n%s", res)
			}
			p := waitFinalRecording(t, out)
			counts := map[string]uint64{}
			for _, s := range p.Syscalls(profiles.ABIX8664) {
				counts[strings.TrimPrefix(s.Name, "f")] = s.Seen.Count
			}
			if counts["chmod"] != 2 && counts["chmodat"] != 2 || counts["mkdir"] == 0 && counts["mkdirat"] == 0 {
				t.Errorf("the container's recording holds %v: want its mkdir and the two exec sessions' chmod", counts)
			}
			if !slices.Contains(p.Recorded, profiles.DimCapabilities) {
				t.Errorf("the container's recording lacks its denied capability checks (read by its own session): %v", p.Recorded)
			}
			log, _ := os.ReadFile(filepath.Join(profiler.DefaultDir, complain.LogName))
			if n := strings.Count(string(log), fmt.Sprintf("container %q: exec session (pid ", c.ID)); n != 2 ||
				!strings.Contains(string(log), "; 2 exec sessions; recording") {
				t.Errorf("the agent's log names %d exec sessions of %s, want 2 merged into its recording:\n%s", n, c.ID, log)
			}
			t.Logf("%s: recorded %v", rt, counts)
		})
	}
}
