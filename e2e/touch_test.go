package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
