package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/landlock"
)

// Issue 11, Landlock: each workload is learned under runc and crun, its
// profile applied with --landlock (the tailor-landlock helper becomes the
// container's first program), and then
//   - the enforced container runs enforcedRuns times and prints what it
//     prints unconfined;
//   - the same workload followed by a read of a file it never read (in
//     the image, with known content), a write under /bin and a TCP
//     connect to a port it never used gets "Permission denied" (EACCES,
//     Landlock's errno) for each, and the file's content never shows;
//     unconfined, the same steps succeed (the connect is refused by the
//     closed port instead), so the refusals are Landlock's.

// landlockSecret is the never-read file and its content.
const (
	landlockSecret  = "/srv/tailor-landlock-secret"
	landlockContent = "tailor-landlock-secret-content"
	landlockPort    = 9 // nothing listens there, and no workload uses it
)

// landlockLearnExtra makes busybox connect once over TCP (to a closed
// port) while it is learned: the workload then has socket and connect in
// its seccomp profile, so that the refused connect below is Landlock's
// doing, not seccomp's.
const landlockLearnExtra = "nc 127.0.0.1 1 </dev/null 2>/dev/null || true\n"

// landlockSteps are the denied actions, each preceded by a marker line.
var landlockSteps = "echo '== read'\ncat " + landlockSecret + " 2>&1 || true\n" +
	"echo '== write'\n(echo x > /bin/tailor-landlock-write) 2>&1 || true\n" +
	fmt.Sprintf("echo '== connect'\nnc 127.0.0.1 %d </dev/null 2>&1 || true\n", landlockPort) +
	"echo '== done'\n"

var helperOnce once[string]

// helperBin builds the helper beside tailorBin's tailor, where tailor
// looks for it, static and without cgo as make build does.
func helperBin(t testing.TB) string {
	t.Helper()
	return helperOnce.get(t, func() (string, error) {
		bin := filepath.Join(filepath.Dir(tailorBin(t)), "tailor-landlock")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/tailor-landlock")
		cmd.Dir, cmd.Env = repoRoot(), append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build tailor-landlock: %w\n%s", err, out)
		}
		return bin, nil
	})
}

func requireLandlock(t testing.TB) {
	t.Helper()
	if abi := landlock.KernelABI(); abi < landlock.MaxABI {
		skip(t, fmt.Sprintf("the kernel's Landlock ABI is %d, the e2e tests need %d (lsm= must list landlock)", abi, landlock.MaxABI))
	}
}

func TestLandlock(t *testing.T) {
	requireRoot(t)
	requireLandlock(t)
	tailor := tailorBin(t)
	helperBin(t)
	bb := busyboxWorkload(t)
	bb.Args = slices.Clone(bb.Args)
	bb.Args[len(bb.Args)-1] += landlockLearnExtra
	for _, w := range append([]workload{bb}, serverWorkloads(t)...) {
		for _, rt := range runtimes {
			t.Run(w.Name+"/"+rt, func(t *testing.T) {
				l := startLearn(t, rt, w.bundle(t))
				if res := l.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
					t.Fatalf("tailor learn of %s under %s:\n%s", w.Name, rt, res)
				}
				l.profile(t)
				t.Run("runs", func(t *testing.T) { checkEnforcedRuns(t, tailor, rt, w, l.Out, applyLandlock, landlockRefusalMarks) })
				t.Run("refuses", func(t *testing.T) { checkLandlockRefusals(t, tailor, rt, w, l.Out) })
			})
		}
	}
}

// TestLandlockExec: an exec session (runc exec, crun exec) never passes
// through the helper, so it has no Landlock ruleset, but it keeps the
// seccomp filter: linux.seccomp is the learned profile plus the helper's
// own set, which the runtime applies to the session. What neither makes
// (mkdir or symlink, unshare, a user-namespace clone) fails with EPERM in
// the session, and the capability set still refuses what it refuses, as
// without --landlock (TestEnforce's exec case).
func TestLandlockExec(t *testing.T) {
	requireRoot(t)
	requireLandlock(t)
	tailor, probe := tailorBin(t), probeBinary(t)
	helperBin(t)
	w := enforceWorkloads(t)[0] // busybox, with Docker's capabilities
	for _, rt := range runtimes {
		t.Run(w.Name+"/"+rt, func(t *testing.T) {
			l := learnWithExec(t, probe, rt, w)
			if res := l.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
				t.Fatalf("tailor learn of %s under %s:\n%s", w.Name, rt, res)
			}
			l.profile(t)
			probes := probesFor(t, w, tailorReport(t, tailor, l.Out))
			checkExec(t, tailor, probe, rt, w, l.Out, probes, applyLandlock)
		})
	}
}

// landlockRefusalMarks are the refusals a run under Landlock must not add:
// seccomp's and Landlock's EACCES.
var landlockRefusalMarks = append(slices.Clone(refusalMarks), "Permission denied")

// applyLandlock runs `tailor apply --landlock` on the bundle.
func applyLandlock(t testing.TB, tailor string, b *bundle, profile string) {
	t.Helper()
	if res := run(t, nil, tailor, "apply", "--landlock", "--landlock-strict", "--bundle", b.Dir, profile); res.ExitCode != 0 {
		t.Fatalf("tailor apply --landlock --bundle %s %s:\n%s", b.Dir, profile, res)
	}
}

// landlockMarker is a step's marker line.
var landlockMarker = regexp.MustCompile(`(?m)^== ([a-z]+)$`)

func checkLandlockRefusals(t *testing.T, tailor, runtime string, w workload, profile string) {
	args := slices.Clone(w.Args)
	args[len(args)-1] += landlockSteps
	bundleWithSecret := func() *bundle {
		b := newBundle(t, w.Image, args, ocitest.WithCaps(w.Caps...))
		if err := os.WriteFile(filepath.Join(b.Rootfs, landlockSecret), []byte(landlockContent+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	unconfined := landlockSections(t, checkRun(t, runtime, w, bundleWithSecret(), "== done"))
	b := bundleWithSecret()
	applyLandlock(t, tailor, b, profile)
	res := checkRun(t, runtime, w, b, "== done")
	enforced := landlockSections(t, res)
	t.Logf("unconfined: %q\nlandlock:   %q", unconfined, enforced)
	if !strings.Contains(unconfined["read"], landlockContent) || strings.Contains(unconfined["write"], "denied") {
		t.Errorf("unconfined, the read or the write failed: the refusals below would not be Landlock's: %q", unconfined)
	}
	for _, step := range []string{"read", "write", "connect"} {
		if !strings.Contains(enforced[step], "Permission denied") {
			t.Errorf("%s under Landlock: %q, want Permission denied (EACCES)\n%s", step, enforced[step], res)
		}
	}
	if strings.Contains(res.Stdout+res.Stderr, landlockContent) {
		t.Errorf("the never-read file's content appeared under Landlock:\n%s", res)
	}
}

// landlockSections maps each step to what it printed.
func landlockSections(t *testing.T, res ocitest.Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	marks := landlockMarker.FindAllStringSubmatchIndex(res.Stdout, -1)
	for i, m := range marks {
		end := len(res.Stdout)
		if i+1 < len(marks) {
			end = marks[i+1][0]
		}
		out[res.Stdout[m[2]:m[3]]] = strings.TrimSpace(res.Stdout[m[1]:end])
	}
	return out
}

// landlockDockerScript is the Docker case's workload: the engine
// workload, a read of $READ, then "ready" and a sleep of $SLEEP seconds,
// during which the test runs its docker exec sessions.
const landlockDockerScript = engineWorkload + `cat "$READ" 2>&1 || true
echo ready
sleep "$SLEEP"
`

// TestLandlockDocker: through `tailor runtime` under dockerd, a container
// asking for its profile with TAILOR_LANDLOCK=1 runs through the helper:
// a read of a file it never read (bind-mounted from the host) gets
// Permission denied, and so does the same read in a `docker exec`
// session, which the wrapper runs through the helper too; a file the
// workload made is read in the session as in the workload, and mkdir,
// which it never made, fails with EPERM there (the seccomp filter).
func TestLandlockDocker(t *testing.T) {
	requireRoot(t)
	requireLandlock(t)
	helperBin(t) // beside tailor, where the wrapper looks for it
	d := startDockerd(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(landlockContent+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runtime := []string{"--runtime", "tailor", "-e", "READ=/tmp/a"}
	if res := d.run(t, append(runtime, "-e", "TAILOR_LEARN=landlock", "-e", "SLEEP=0"), "/bin/sh", "-c", landlockDockerScript); res.ExitCode != 0 || !strings.Contains(res.Stdout, engineWant) {
		t.Fatalf("learning run under docker --runtime tailor:\n%s", res)
	}
	promoteLearned(t, d.Store, "landlock", d.Tracer)

	res := d.docker(t, "run", "-d", "--network", "none", "--runtime", "tailor", "-e", "TAILOR_PROFILE=landlock", "-e", "TAILOR_LANDLOCK=1",
		"-e", "READ="+landlockSecret, "-e", "SLEEP=600", "-v", secret+":"+landlockSecret+":ro", d.Image, "/bin/sh", "-c", landlockDockerScript)
	if res.ExitCode != 0 {
		t.Fatalf("docker run -d with TAILOR_LANDLOCK=1:\n%s", res)
	}
	id := strings.TrimSpace(res.Stdout)
	defer d.docker(t, "rm", "-f", id)
	var logs ocitest.Result
	for deadline := time.Now().Add(commandTimeout); ; time.Sleep(100 * time.Millisecond) {
		if logs = d.docker(t, "logs", id); strings.Contains(logs.Stdout, "ready") {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(d.docker(t, "inspect", "-f", "{{.State.Running}}", id).Stdout, "true") {
			t.Fatalf("the container never printed ready:\n%s", logs)
		}
	}
	if !strings.Contains(logs.Stdout, engineWant) || !strings.Contains(logs.Stdout, "can't open '"+landlockSecret+"': Permission denied") {
		t.Errorf("under Landlock the workload did not pass, or its read of %s was not refused with EACCES:\n%s", landlockSecret, logs)
	}
	seen := logs.Stdout + logs.Stderr
	for _, c := range []struct{ args, want string }{
		{"cat /tmp/a", "hello"},
		{"cat " + landlockSecret, "can't open '" + landlockSecret + "': Permission denied"},
		{"mkdir /tmp/never", "can't create directory '/tmp/never': Operation not permitted"},
	} {
		res := d.docker(t, append([]string{"exec", id}, strings.Fields(c.args)...)...)
		seen += res.Stdout + res.Stderr
		t.Logf("docker exec %s: %q", c.args, strings.TrimSpace(res.Stdout+res.Stderr))
		if !strings.Contains(res.Stdout+res.Stderr, c.want) {
			t.Errorf("docker exec %s: want %q\n%s", c.args, c.want, res)
		}
	}
	if seen += d.docker(t, "logs", id).Stdout; strings.Contains(seen, landlockContent) {
		t.Errorf("the never-read file's content appeared:\n%s", seen)
	}
}
