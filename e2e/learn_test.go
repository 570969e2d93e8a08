package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
	"github.com/tailor-dev/tailor/profiles"
)

// learning is one `tailor learn` run, started in the background.
type learning struct {
	ID      string
	Runtime string
	Out     string // the profile path
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	stdout  bytes.Buffer
	stderr  bytes.Buffer
}

// startLearn starts `tailor learn` on the bundle under runtime, with
// tailor-hook beside tailor (as make install puts it: learn has the runtime
// run it). The container is deleted when the test ends, whatever happened.
func startLearn(t testing.TB, runtime string, b *bundle) *learning {
	t.Helper()
	bin := tailorBin(t)
	hookBin(t)
	runtimeBin(t, runtime)
	l := &learning{ID: containerID(t), Runtime: runtime, Out: filepath.Join(t.TempDir(), "profile.json")}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	l.cancel = cancel
	l.cmd = exec.CommandContext(ctx, bin, "learn", "--bundle", b.Dir, "--runtime", runtime,
		"--name", l.ID, "-o", l.Out, "--timeout", "60s", "--tracer-dir", tracerDir())
	l.cmd.Stdout, l.cmd.Stderr = &l.stdout, &l.stderr
	l.cmd.WaitDelay = 10 * time.Second
	if err := l.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start tailor learn: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		ocitest.Delete(runtime, l.ID)
	})
	return l
}

// wait waits for the learn run to end and returns its output and exit code.
func (l *learning) wait(t testing.TB) ocitest.Result {
	t.Helper()
	err := l.cmd.Wait()
	l.cancel()
	res := ocitest.Result{Stdout: l.stdout.String(), Stderr: l.stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ProcessState.Exited():
		res.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("tailor learn did not exit normally within %s: %v\n%s", commandTimeout, err, res)
	}
	return res
}

// profile loads the profile the run wrote.
func (l *learning) profile(t testing.TB) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load(l.Out)
	if err != nil {
		t.Fatalf("learned profile: %v", err)
	}
	if !p.Complete {
		t.Errorf("profile %s is marked incomplete: loss %+v", l.Out, p.Loss)
	}
	return p
}

// learnOK learns the workload's bundle to completion and requires the
// workload to have succeeded.
func learnOK(t testing.TB, runtime string, w workload, b *bundle) *profiles.Profile {
	t.Helper()
	l := startLearn(t, runtime, b)
	res := l.wait(t)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
		t.Fatalf("tailor learn of %s under %s:\n%s", w.Name, runtime, res)
	}
	return l.profile(t)
}

func syscallSet(p *profiles.Profile, abi profiles.ABI) map[string]bool {
	set := map[string]bool{}
	for _, n := range p.SyscallNames(abi) {
		set[n] = true
	}
	return set
}

// minus returns the members of a that are in none of the others.
func minus(a map[string]bool, others ...map[string]bool) []string {
	var out []string
	for k := range a {
		found := false
		for _, o := range others {
			found = found || o[k]
		}
		if !found {
			out = append(out, k)
		}
	}
	return sortedKeys(setOf(out...))
}

func setOf(names ...string) map[string]bool {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return set
}

// runtimeTail is what the runtime itself does in the container's init
// after the boundary (the learning filter loaded) and before the workload
// runs: the container's filter governs these calls too, so a profile must
// allow them. Determined by learning the busybox workload under runc 1.1.5
// and crun 1.8.1 with noNewPrivileges true and false; calls the busybox
// workload makes anyway (openat, close, getdents64, fcntl, prctl, ...) are
// not listed, except where a smaller workload showed them.
func runtimeTail(runtime string, noNewPrivileges bool) map[string]bool {
	// The runtime's execve of the container's command.
	tail := setOf("execve")
	add := func(names ...string) {
		for _, n := range names {
			tail[n] = true
		}
	}
	switch runtime {
	case "runc":
		// Right before the execve runc closes the fds it inherited: it opens
		// /proc/self/fd, checks with fstatfs that it is procfs, Go's poller
		// tries (epoll_ctl) to register the directory, and it reads the
		// directory and closes what it lists.
		add("openat", "fstatfs", "epoll_ctl", "getdents64", "close")
		// runc init is a Go program and the filter covers all its threads:
		// the Go runtime's threads wake each other with futex at any time.
		add("futex")
		if !noNewPrivileges {
			// Without no_new_privs runc loads the filter while it still has
			// CAP_SYS_ADMIN, before the rest of the process setup: chdir to
			// process.cwd; capget, capset for process.capabilities;
			// setgroups, setgid, setuid for process.user; faccessat2 to
			// find process.args[0] in PATH; fstat from Go's os.Open.
			add("chdir", "capget", "capset", "setgroups", "setgid", "setuid", "faccessat2", "fstat")
		}
	case "crun":
		if !noNewPrivileges {
			// crun loads the filter before switching user and
			// capabilities, then unblocks signals for the container.
			add("setresgid", "setresuid", "capset", "rt_sigprocmask")
		}
	}
	return tail
}

// runtimeSetupSyscalls are what runc and crun do to build the container
// before its filter is loaded; none of them may show up in a profile whose
// workload does not make them.
var runtimeSetupSyscalls = []string{
	"mount", "umount2", "pivot_root", "chroot", "sethostname", "setdomainname", "unshare", "setns",
	"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"mknod", "mknodat", "symlink", "symlinkat", "keyctl",
}

// Tests 1 and 2 of the learning issue: the busybox workload's profile is
// exactly what strace sees the workload do, plus the runtime's tail after
// the boundary, and holds none of the runtime's setup.
func TestLearnBusybox(t *testing.T) {
	requireRoot(t)
	w := busyboxWorkload(t)
	baseline := straceSyscalls(t, w.Image, ocitest.BusyboxScript)
	for _, rt := range runtimes {
		for _, nnp := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/noNewPrivileges=%v", rt, nnp), func(t *testing.T) {
				b := w.bundle(t, ocitest.WithNoNewPrivileges(nnp))
				config, err := os.ReadFile(b.Config())
				if err != nil {
					t.Fatal(err)
				}
				p := learnOK(t, rt, w, b)
				if after, _ := os.ReadFile(b.Config()); !bytes.Equal(config, after) {
					t.Errorf("tailor learn changed the user's %s", b.Config())
				}
				got := syscallSet(p, profiles.ABIX8664)
				if missing := minus(baseline, got); len(missing) > 0 {
					t.Errorf("recorded syscalls lack what strace saw the workload make: %v", missing)
				}
				if extra := minus(got, baseline, runtimeTail(rt, nnp)); len(extra) > 0 {
					t.Errorf("recorded syscalls neither strace saw nor in the %s tail: %v", rt, extra)
				}
				for _, name := range runtimeSetupSyscalls {
					if got[name] {
						t.Errorf("runtime setup syscall %s recorded (workload never makes it)", name)
					}
				}
				if other := p.SyscallNames(profiles.ABIX86); len(other) > 0 {
					t.Errorf("x86 syscalls recorded for a 64-bit workload: %v", other)
				}
				if t.Failed() {
					t.Logf("recorded: %v\nstrace:   %v", sortedKeys(got), sortedKeys(baseline))
				}
			})
		}
	}
}

// TestLearnExitCode: tailor learn exits with the container's exit code.
func TestLearnExitCode(t *testing.T) {
	requireRoot(t)
	b := newBundle(t, busyboxRootfs(t), []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 7"})
	res := startLearn(t, "runc", b).wait(t)
	if res.ExitCode != 7 || !strings.Contains(res.Stdout, "out") || !strings.Contains(res.Stderr, "err") {
		t.Fatalf("want exit 7 with the container's stdout and stderr passed through:\n%s", res)
	}
}

// Test 3: a process that unshares a mount namespace inside the container
// is still recorded, and so is a session joined later with `exec`.
func TestLearnUnshareAndExec(t *testing.T) {
	requireRoot(t)
	for _, rt := range runtimes {
		t.Run(rt+"/unshare", func(t *testing.T) {
			w := workload{Name: "unshare", Image: busyboxRootfs(t), Caps: []string{"CAP_SYS_ADMIN"},
				Args: []string{"/bin/sh", "-c", "unshare -m /bin/sh -c 'mkfifo /tmp/in-new-ns && echo unshared ok'"},
				Want: "unshared ok"}
			got := syscallSet(learnOK(t, rt, w, w.bundle(t)), profiles.ABIX8664)
			for _, name := range []string{"unshare", "mknodat"} {
				if !got[name] {
					t.Errorf("%s not recorded: the task in the new mount namespace was lost; recorded %v", name, sortedKeys(got))
				}
			}
		})
		t.Run(rt+"/exec", func(t *testing.T) {
			// The init waits for the exec session to create /tmp/done; the
			// session alone calls sync.
			script := waitFor + "waitfor test -e /tmp/done\necho init done\n"
			w := workload{Name: "exec", Image: busyboxRootfs(t), Args: []string{"/bin/sh", "-c", script}, Want: "init done"}
			l := startLearn(t, rt, w.bundle(t))
			waitRunning(t, rt, l.ID)
			res := run(t, nil, rt, "exec", l.ID, "/bin/sh", "-c", "sync && touch /tmp/done")
			if res.ExitCode != 0 {
				t.Fatalf("%s exec: %s", rt, res)
			}
			if res := l.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
				t.Fatalf("tailor learn:\n%s", res)
			}
			if got := syscallSet(l.profile(t), profiles.ABIX8664); !got["sync"] {
				t.Errorf("sync from the exec session not recorded; recorded %v", sortedKeys(got))
			}
		})
	}
}

// waitRunning waits until the runtime reports the container running (the
// learn run is in the background), bounded so a failed start fails the test.
func waitRunning(t testing.TB, runtime, id string) {
	t.Helper()
	var last string
	for i := 0; i < 600; i++ {
		out, err := exec.Command(runtime, "state", id).CombinedOutput()
		last = string(out)
		if err == nil && strings.Contains(last, `"running"`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s never reported running by %s state: %s", id, runtime, last)
}

// Test 4: two containers learned at the same time each get exactly their
// own syscalls. The workloads meet through a shared directory, so both are
// running at once: one creates a fifo (mknodat), the other calls sync.
func TestLearnConcurrent(t *testing.T) {
	requireRoot(t)
	image := filepath.Join(t.TempDir(), "rootfs")
	if err := rootfs.Copy(busyboxRootfs(t), image); err != nil {
		t.Fatal(err)
	}
	// The strace baseline runs without the shared mount: both marks exist.
	for _, f := range []string{"shared/a", "shared/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(image, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(image, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meet := func(me, peer, work string) string {
		return waitFor + "touch /shared/" + me + "\nsleep 0.1\nwaitfor test -e /shared/" + peer + "\n" + work + "\necho " + me + " done\n"
	}
	scripts := map[string]string{
		"a": meet("a", "b", "mkfifo /tmp/fifo"),
		"b": meet("b", "a", "sync"),
	}
	own := map[string]string{"a": "mknodat", "b": "sync"}
	shared := t.TempDir()
	var runs = map[string]*learning{}
	for _, name := range []string{"a", "b"} {
		b := newBundle(t, image, []string{"/bin/sh", "-c", scripts[name]}, ocitest.WithBindMount(shared, "/shared"))
		runs[name] = startLearn(t, "runc", b)
	}
	for _, name := range []string{"a", "b"} {
		res := runs[name].wait(t)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, name+" done") {
			t.Fatalf("learn %s:\n%s", name, res)
		}
	}
	for name, peer := range map[string]string{"a": "b", "b": "a"} {
		got := syscallSet(runs[name].profile(t), profiles.ABIX8664)
		if !got[own[name]] {
			t.Errorf("workload %s: its own %s not recorded", name, own[name])
		}
		if got[own[peer]] {
			t.Errorf("workload %s: the other container's %s recorded", name, own[peer])
		}
		baseline := straceSyscalls(t, image, scripts[name])
		if missing := minus(baseline, got); len(missing) > 0 {
			t.Errorf("workload %s: recorded syscalls lack what strace saw: %v", name, missing)
		}
		if extra := minus(got, baseline, runtimeTail("runc", true)); len(extra) > 0 {
			t.Errorf("workload %s: recorded syscalls neither strace saw nor in the runc tail: %v", name, extra)
		}
	}
}

// Test 5: a static i386 binary's syscalls are recorded under the x86 ABI.
func TestLearnI386(t *testing.T) {
	requireRoot(t)
	bin := i386Binary(t)
	requireIA32(t, bin)
	image := filepath.Join(t.TempDir(), "rootfs")
	if err := rootfs.Copy(busyboxRootfs(t), image); err != nil {
		t.Fatal(err)
	}
	if err := rootfs.CopyFile(bin, filepath.Join(image, "usr/local/bin/i386-probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			w := workload{Name: "i386", Image: image, Args: []string{"/usr/local/bin/i386-probe"}, Want: "i386 ok"}
			p := learnOK(t, rt, w, w.bundle(t))
			x86 := syscallSet(p, profiles.ABIX86)
			for _, name := range []string{"uname", "getppid", "write", "exit_group"} {
				if !x86[name] {
					t.Errorf("%s not recorded under x86; x86: %v", name, sortedKeys(x86))
				}
			}
			x8664 := syscallSet(p, profiles.ABIX8664)
			for _, name := range []string{"uname", "getppid"} {
				if x8664[name] {
					t.Errorf("the i386 binary's %s recorded under x86_64", name)
				}
			}
		})
	}
}

// requireIA32 skips when the kernel cannot run 32-bit binaries. This is a
// property of the kernel (ia32_emulation=off or no CONFIG_IA32_EMULATION),
// not of the setup, so it skips even under CI, like the x32 ABI.
func requireIA32(t testing.TB, bin string) {
	t.Helper()
	out, err := exec.Command(bin).CombinedOutput()
	if err == nil && strings.Contains(string(out), "i386 ok") {
		return
	}
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skipf("this kernel does not run 32-bit binaries (IA32 emulation disabled: ia32_emulation=off or CONFIG_IA32_EMULATION unset): %v", err)
	}
	t.Fatalf("run %s on the host: %v: %s", bin, err, out)
}

// Test 6: a workload that chowns a file it does not own needs CAP_CHOWN
// (granted); one that does not chown does not need it, and none of the
// runtime's own capability use (setgroups/setresuid before the container's
// capabilities take effect) leaks into either.
func TestLearnCapabilities(t *testing.T) {
	requireRoot(t)
	image := filepath.Join(t.TempDir(), "rootfs")
	if err := rootfs.Copy(busyboxRootfs(t), image); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(image, "srv", "theirs")
	if err := os.WriteFile(file, []byte("not root's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	chown := workload{Name: "chown", Image: image, Caps: []string{"CAP_CHOWN"},
		Args: []string{"/bin/sh", "-c", "chown 0:0 /srv/theirs && echo chowned"}, Want: "chowned"}
	read := workload{Name: "read", Image: image, Caps: []string{"CAP_CHOWN"},
		Args: []string{"/bin/sh", "-c", "cat /srv/theirs && echo read only"}, Want: "read only"}
	runtimeLeaks := []string{"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_SYS_ADMIN"}
	for _, rt := range runtimes {
		for _, nnp := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/noNewPrivileges=%v", rt, nnp), func(t *testing.T) {
				granted := setOf(learnOK(t, rt, chown, chown.bundle(t, ocitest.WithNoNewPrivileges(nnp))).GrantedCapabilities()...)
				if !granted["CAP_CHOWN"] {
					t.Errorf("chown workload: CAP_CHOWN not granted; granted %v", sortedKeys(granted))
				}
				readGranted := setOf(learnOK(t, rt, read, read.bundle(t, ocitest.WithNoNewPrivileges(nnp))).GrantedCapabilities()...)
				if readGranted["CAP_CHOWN"] {
					t.Errorf("read-only workload: CAP_CHOWN granted")
				}
				for _, c := range runtimeLeaks {
					if granted[c] || readGranted[c] {
						t.Errorf("%s granted: the runtime's own use leaked into the profile", c)
					}
				}
			})
		}
	}
}

// TestLearnFailsFast: with the tracer hung (its socket accepts and never
// answers) tailor learn fails soon, as tailor's own failure (125), saying
// why; a missing bundle is bad input (2) at once.
func TestLearnFailsFast(t *testing.T) {
	requireRoot(t)
	bin := tailorBin(t)
	dir := filepath.Join(t.TempDir(), "hung")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "tracer.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	b := newBundle(t, busyboxRootfs(t), []string{"/bin/true"})
	start := time.Now()
	res := run(t, nil, bin, "learn", "--bundle", b.Dir, "--name", containerID(t), "-o", filepath.Join(t.TempDir(), "p.json"),
		"--tracer-dir", dir)
	took := time.Since(start)
	t.Logf("tailor learn against a hung tracer: exit %d after %s", res.ExitCode, took.Round(time.Millisecond))
	if res.ExitCode != 125 || !strings.Contains(res.Stderr, "tracer") {
		t.Errorf("want exit 125 naming the tracer:\n%s", res)
	}
	// Generous: the hook's tracer timeout (10 s) and the probe (2 s), not
	// the 40 s wait for a profile that cannot come.
	if took > 30*time.Second {
		t.Errorf("took %s to fail", took)
	}
	res = run(t, nil, bin, "learn", "--bundle", filepath.Join(t.TempDir(), "nosuch"), "-o", filepath.Join(t.TempDir(), "p.json"))
	if res.ExitCode != 2 || !strings.Contains(res.Stderr, "config.json") {
		t.Errorf("missing bundle: want exit 2 naming config.json:\n%s", res)
	}
}

// exitBoundaryRounds is how many learning runs TestLearnExitBoundary makes
// under each runtime.
const exitBoundaryRounds = 10

// TestLearnExitBoundary: what a container does right before it exits is in
// its profile, round after round: the tracer writes the profile only once
// its event reader has handled every record the container's tasks wrote.
// The workload's last two actions each leave a record in the ring only
// (the kernel's maps hold the syscall bits, the ring what is new to the
// container: a file opened, the task that first made a syscall): it opens
// a file of its own, then execs ionice, whose ioprio_get is the last new
// syscall before exit_group.
func TestLearnExitBoundary(t *testing.T) {
	requireRoot(t)
	const mark = "/etc/tailor-exitmark"
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			b := newBundle(t, busyboxRootfs(t), []string{"/bin/sh", "-c", "cat " + mark + " && exec ionice"})
			if err := os.WriteFile(filepath.Join(b.Rootfs, mark), []byte("mark\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for i := range exitBoundaryRounds {
				l := startLearn(t, rt, b)
				if res := l.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, "mark") {
					t.Fatalf("round %d: tailor learn:\n%s", i, res)
				}
				p := l.profile(t)
				if !learnedTouches(p)["file"][mark] {
					t.Errorf("round %d: %s, opened right before the exit, is not in the profile", i, mark)
				}
				sc, ok := p.Syscall(profiles.ABIX8664, "ioprio_get")
				if !ok || sc.Seen.Comm != "ionice" {
					t.Errorf("round %d: ioprio_get, the last syscall new to the container, recorded %v, first seen by %+v; want seen by ionice", i, ok, sc.Seen)
				}
			}
		})
	}
}
