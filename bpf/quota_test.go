package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// TestDefaultTaskQuota checks the quota the object comes with: it takes
// eight containers at their quota to fill the task map.
func TestDefaultTaskQuota(t *testing.T) {
	spec, err := loadTailor()
	if err != nil {
		t.Fatal(err)
	}
	quota, err := configure(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	size := spec.Maps[tailorMapTasks].MaxEntries
	if quota == 0 || quota*8 > size {
		t.Errorf("default task quota %d: want 1 to an eighth of the task map (%d)", quota, size)
	}
	t.Logf("default task quota %d of %d tasks", quota, size)
	for _, v := range []struct {
		name string
		size uint32
	}{{tailorVarScopeTaskQuota, size}, {tailorVarScopeObjectQuota, spec.Maps[tailorMapObjects].MaxEntries}} {
		var got uint32
		if err := spec.Variables[v.name].Get(&got); err != nil {
			t.Fatal(err)
		}
		if want := uint32(float64(v.size) * DefaultScopeShare); got != want {
			t.Errorf("%s = %d, want %d (DefaultScopeShare of %d)", v.name, got, want, v.size)
		}
	}
}

func TestTaskQuotaOption(t *testing.T) {
	size := func() uint32 {
		spec, err := loadTailor()
		if err != nil {
			t.Fatal(err)
		}
		return spec.Maps[tailorMapTasks].MaxEntries
	}()
	for _, tc := range []struct {
		name string
		opts []Option
		want uint32 // 0: ErrBadOption
	}{
		{"set", []Option{TaskQuota(100)}, 100},
		{"the whole map", []Option{TaskQuota(size)}, size},
		{"above the map", []Option{TaskQuota(size + 1)}, 0},
		{"above a resized map", []Option{taskMapSize(16), TaskQuota(17)}, 0},
		{"last one wins", []Option{TaskQuota(5), TaskQuota(6)}, 6},
		{"scope share of all", []Option{TaskQuota(7), ScopeShare(1)}, 7},
		{"scope share above one", []Option{ScopeShare(1.5)}, 0},
		{"scope share zero", []Option{ScopeShare(0)}, 0},
		{"negative scope share", []Option{ScopeShare(-0.25)}, 0},
		{"scope share NaN", []Option{ScopeShare(math.NaN())}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := loadTailor()
			if err != nil {
				t.Fatal(err)
			}
			got, err := configure(spec, tc.opts)
			if tc.want == 0 {
				if !errors.Is(err, ErrBadOption) {
					t.Fatalf("configure = %d, %v; want ErrBadOption", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("configure = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// TestTaskQuota runs two containers sharing a small task map: A forks far
// more children than its quota, then B forks a few. With a quota, A loses
// its own tasks and B is recorded in full; A's count drops as its children
// exit, and A can fork again. Without one (the quota is the whole map), A
// fills the map and B's children are lost: what this test guards against.
func TestTaskQuota(t *testing.T) {
	needRoot(t)
	const mapSize, aForks, bForks = 24, 30, 3
	for _, tc := range []struct {
		name   string
		quota  uint32
		bStarv bool // B's children find the map full
	}{
		{"quota", 8, false},
		{"no quota", mapSize, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each its own scope, and a scope may have the whole map:
			// TestScopeQuota checks scopes.
			tr := loadTracer(t, TaskQuota(tc.quota), taskMapSize(mapSize), ScopeShare(1))
			a := startContainer(t, tr, 1, 1)
			b := startContainer(t, tr, 2, 2)

			a.do(t, fmt.Sprintf("fork %d", aForks))
			ra := a.recording(t)
			if tc.bStarv {
				if ra.LostTasks == 0 || ra.OverQuota != 0 {
					t.Fatalf("A without a quota: %d lost tasks, %d over quota; want some, all to a full map", ra.LostTasks, ra.OverQuota)
				}
			} else {
				if n := a.tasks(t); n != int64(tc.quota) {
					t.Errorf("A holds %d of its quota, want all %d", n, tc.quota)
				}
				if ra.LostTasks < aForks-uint64(tc.quota) || ra.OverQuota != ra.LostTasks {
					t.Errorf("A: %d lost tasks, %d of them over quota; want at least %d, all over quota", ra.LostTasks, ra.OverQuota, aForks-tc.quota)
				}
			}

			b.do(t, fmt.Sprintf("fork %d", bForks))
			sleep, err := profiles.ABIX8664.SyscallNr("clock_nanosleep")
			if err != nil {
				t.Fatal(err)
			}
			rb := b.waitFor(t, func(r *Recording) bool {
				return tc.bStarv || slices.Contains(r.Syscalls[profiles.ABIX8664.Index()], sleep)
			})
			if tc.bStarv {
				if rb.LostTasks == 0 {
					t.Fatal("B's children were tracked in a map A had filled: the test cannot tell a quota from none")
				}
				return
			}
			if rb.LostTasks != 0 {
				t.Errorf("B lost %d tasks to A's forks", rb.LostTasks)
			}
			if n := b.tasks(t); n != bForks {
				t.Errorf("B holds %d of its quota, want %d (its children)", n, bForks)
			}
			if n, err := tr.Live(b.cid); err != nil || n != bForks+1 {
				t.Errorf("Live(B) = %d, %v; want its shell and %d children", n, err, bForks)
			}

			// A's children exit: their entries, and the quota they held, go.
			a.do(t, "kill")
			a.waitTasks(t, 0)
			lost := a.recording(t).LostTasks
			a.do(t, fmt.Sprintf("fork %d", tc.quota/2))
			if n := a.tasks(t); n != int64(tc.quota/2) {
				t.Errorf("A forked %d after its children exited: holds %d of its quota", tc.quota/2, n)
			}
			if got := a.recording(t).LostTasks; got != lost {
				t.Errorf("A lost %d more tasks within its quota", got-lost)
			}
			a.do(t, "kill")
			b.do(t, "kill")
			a.waitTasks(t, 0)
			b.waitTasks(t, 0)
		})
	}
}

// TestScopeQuota runs two containers of scope A and one of scope B sharing
// a small task map: A's two fork more than their scope's share of the map
// together (each within its own quota), then B forks a few. With a scope
// quota, A's second container loses its tasks over A's share and B is
// recorded in full; without one (a scope may have the whole map), A's two
// fill the map and B's children are lost: what this test guards against.
// Once A's first container is freed, its quota is A's again.
func TestScopeQuota(t *testing.T) {
	needRoot(t)
	const mapSize, quota, aForks, bForks = 20, 8, 10, 3
	for _, tc := range []struct {
		name   string
		share  float64
		bStarv bool
	}{
		{"scope quota", 0.6, false}, // 12 tasks for A
		{"no scope quota", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := loadTracer(t, TaskQuota(quota), taskMapSize(mapSize), ScopeShare(tc.share))
			a1 := startContainer(t, tr, 1, 7)
			a2 := startContainer(t, tr, 2, 7)
			b := startContainer(t, tr, 3, 9)
			a1.do(t, fmt.Sprintf("fork %d", aForks))
			a2.do(t, fmt.Sprintf("fork %d", aForks))
			b.do(t, fmt.Sprintf("fork %d", bForks))
			ra1, ra2, rb := a1.recording(t), a2.recording(t), b.recording(t)
			if tc.bStarv {
				if rb.LostTasks == 0 {
					t.Fatal("B's children were tracked in a map A's containers had filled: the test cannot tell a scope quota from none")
				}
				return
			}
			if n := a1.tasks(t) + a2.tasks(t); n != 12 {
				t.Errorf("A's containers hold %d tasks, want their scope's 12", n)
			}
			// A lost child counts again at its exec, when the kernel
			// tries to join it: at least the forks over the quotas.
			if ra1.OverScope != 0 || ra1.OverQuota < aForks-quota {
				t.Errorf("A1: %d over its scope's quota, %d over its own; want 0, at least %d", ra1.OverScope, ra1.OverQuota, aForks-quota)
			}
			if want := uint64(aForks - (12 - quota)); ra2.OverScope < want || ra2.LostTasks != ra2.OverScope {
				t.Errorf("A2: %d lost tasks, %d over its scope's quota; want at least %d, all over the scope's", ra2.LostTasks, ra2.OverScope, want)
			}
			if rb.LostTasks != 0 {
				t.Errorf("B lost %d tasks to scope A's forks", rb.LostTasks)
			}
			if n := b.tasks(t); n != bForks {
				t.Errorf("B holds %d tasks, want its %d children", n, bForks)
			}

			// A's first container is freed while its children run (Free
			// deletes their entries, the kernel gives nothing back): what
			// it held is A's again.
			if err := tr.Free(a1.cid); err != nil {
				t.Fatal(err)
			}
			lost := a2.recording(t).LostTasks
			a2.do(t, "fork 4")
			if got := a2.recording(t).LostTasks; got != lost {
				t.Errorf("A2 lost %d tasks within its scope's room after A1 was freed", got-lost)
			}
			a2.do(t, "kill")
			b.do(t, "kill")
			a2.waitTasks(t, 0)
			b.waitTasks(t, 0)
		})
	}
}

// TestScopeObjectQuota is TestScopeQuota for the object map: A's two
// containers look up more missing files than their scope's share of a
// small object map, each within its own object quota, and B's lookups are
// recorded in full; without a scope quota A's two fill the map.
func TestScopeObjectQuota(t *testing.T) {
	needRoot(t)
	const mapSize, quota, aMiss, bMiss = 90, 40, 60, 20
	for _, tc := range []struct {
		name   string
		share  float64
		bStarv bool
	}{
		{"scope quota", 0.5, false}, // 45 objects for A
		{"no scope quota", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := loadTracer(t, objectMap(mapSize, quota), ScopeShare(tc.share))
			a1 := startContainer(t, tr, 1, 7)
			a2 := startContainer(t, tr, 2, 7)
			b := startContainer(t, tr, 3, 9)
			a1.do(t, fmt.Sprintf("miss %d", aMiss))
			a2.do(t, fmt.Sprintf("miss %d", aMiss))
			b.do(t, fmt.Sprintf("miss %d", bMiss))
			ra1, ra2, rb := a1.recording(t), a2.recording(t), b.recording(t)
			if tc.bStarv {
				if rb.LostObjects == 0 {
					t.Fatal("B's lookups were recorded in a map A's containers had filled: the test cannot tell a scope quota from none")
				}
				return
			}
			if ra1.LostObjects == 0 || ra2.LostObjects == 0 {
				t.Errorf("A's containers lost %d and %d objects, want some each", ra1.LostObjects, ra2.LostObjects)
			}
			if n := a1.objects(t) + a2.objects(t); n != 45 {
				t.Errorf("A's containers hold %d objects, want their scope's 45", n)
			}
			if rb.LostObjects != 0 {
				t.Errorf("B lost %d objects to scope A's lookups", rb.LostObjects)
			}
			if n := b.objects(t); n < bMiss {
				t.Errorf("B holds %d objects, want at least its %d lookups", n, bMiss)
			}
		})
	}
}

// TestFreedSlotTasksAreStale checks that a task map entry left from a
// freed container (a fork racing Tracer.Free leaves one) counts for
// nobody once the slot is registered again: the kernel drops it at the
// task's next fork instead of tracking the child into the new container.
func TestFreedSlotTasksAreStale(t *testing.T) {
	tr := loadTracer(t, TaskQuota(8))
	a := startContainer(t, tr, 1, 0)
	var old tailorTaskState
	if err := tr.objs.Tasks.Lookup(uint32(a.cmd.Process.Pid), &old); err != nil {
		t.Fatalf("A's shell is not tracked: %v", err)
	}
	a.do(t, "fork 2")
	if err := tr.Free(a.cid); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(a.cid, 4026531999, a.scope, true); err != nil {
		t.Fatal(err)
	}
	// What a fork during Free leaves: A's shell under the old generation.
	if err := tr.objs.Tasks.Put(uint32(a.cmd.Process.Pid), old); err != nil {
		t.Fatal(err)
	}
	if n, err := tr.Live(a.cid); err != nil || n != 0 {
		t.Errorf("Live of the new container = %d, %v; want 0 (the entry is stale)", n, err)
	}
	a.do(t, "fork 2")
	if err := tr.objs.Tasks.Lookup(uint32(a.cmd.Process.Pid), &old); err == nil {
		t.Error("the stale entry survived its task's fork")
	}
	var c tailorContainer
	if err := tr.objs.Containers.Lookup(a.cid, &c); err != nil {
		t.Fatal(err)
	}
	if c.Tasks != 0 || c.LostTasks != 0 {
		t.Errorf("the new container holds %d tasks and lost %d: the freed one's children were taken for its own", c.Tasks, c.LostTasks)
	}
	a.do(t, "kill")
	if err := tr.Free(a.cid); err != nil {
		t.Fatal(err)
	}
}

// shellBody is the container's program after its final execve: it forks
// sleeping children and kills them on request, and forks nothing else
// (dash runs read, test, kill, wait and true itself), so that the test
// knows every task it should have; miss looks up n files that do not
// exist, n objects (failed lookups).
const shellBody = `pids=
while read cmd n; do
	case $cmd in
	fork)
		i=0
		while [ $i -lt $n ]; do sleep 1000 & pids="$pids $!"; i=$((i+1)); done
		echo forked;;
	kill)
		kill $pids; wait; pids=
		echo killed;;
	miss)
		i=0
		while [ $i -lt $n ]; do true 2>/dev/null </tailor-missing-$i; i=$((i+1)); done
		echo missed;;
	esac
done`

// testContainer is a shell in its own mount namespace, registered and
// tracked as container cid with the exec boundary.
type testContainer struct {
	tr    *Tracer
	cid   uint32
	scope uint32
	cmd   *exec.Cmd
	in    *os.File
	out   *os.File
	rd    *bufio.Reader
	alive int // children forked and not killed
}

func startContainer(t *testing.T, tr *Tracer, cid, scope uint32) *testContainer {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &testContainer{tr: tr, cid: cid, scope: scope, in: inW, out: outR, rd: bufio.NewReader(outR)}
	// "ready" once the shell runs: registered earlier, its own exec would
	// count as a joiner's (Start returns before the exec hook has run).
	c.cmd = exec.Command("/bin/sh", "-c", `echo ready; read go && exec /bin/sh -c "$1"`, "sh", shellBody)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, os.Stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Setpgid: true}
	err = c.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The shell and its children share its process group.
		unix.Kill(-c.cmd.Process.Pid, unix.SIGKILL)
		c.cmd.Wait()
		c.in.Close()
		c.out.Close()
	})
	c.expect(t, "start", "ready")
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/mnt", c.cmd.Process.Pid), &st); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(cid, uint32(st.Ino), scope, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Free(cid) })
	if err := tr.Track(cid, c.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.in.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends the shell a command and waits for its answer.
func (c *testContainer) do(t *testing.T, cmd string) {
	t.Helper()
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(cmd)
	c.expect(t, cmd, map[string]string{"fork": "forked", "kill": "killed", "miss": "missed"}[f[0]])
	switch f[0] {
	case "fork":
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatal(err)
		}
		c.alive += n
		c.settle(t)
	case "kill":
		c.alive = 0
	}
}

// settle waits until every child the shell forked has run its exec of
// sleep and sleeps: the shell answers "forked" before its children exec,
// and a child the recorder could not track at its fork is tried again at
// its exec, so a check or a Free before that races with it.
func (c *testContainer) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			i := strings.LastIndexByte(string(st), ')')
			j := strings.IndexByte(string(st), '(')
			if i < 0 || j < 0 {
				continue
			}
			rest := strings.Fields(string(st[i+1:]))
			if len(rest) > 3 && string(st[j+1:i]) == "sleep" && rest[0] == "S" && rest[2] == strconv.Itoa(c.cmd.Process.Pid) {
				n++
			}
		}
		if n == c.alive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %d: %d of its %d children sleep after 10 s", c.cid, n, c.alive)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *testContainer) expect(t *testing.T, cmd, want string) {
	t.Helper()
	c.out.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := c.rd.ReadString('\n')
	if err != nil {
		t.Fatalf("container %d, %q: %v", c.cid, cmd, err)
	}
	if strings.TrimSpace(line) != want {
		t.Fatalf("container %d, %q: answered %q, want %q", c.cid, cmd, line, want)
	}
}

func (c *testContainer) recording(t *testing.T) *Recording {
	t.Helper()
	r, err := c.tr.Drain(c.cid)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor drains the recording until ok accepts it: children record their
// syscalls after the shell has answered.
func (c *testContainer) waitFor(t *testing.T, ok func(*Recording) bool) *Recording {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := c.recording(t)
		if ok(r) {
			return r
		}
		if time.Now().After(end) {
			t.Fatalf("container %d: recording never got there: syscalls %v, %d lost tasks", c.cid, r.Syscalls, r.LostTasks)
		}
	}
}

// tasks is how much of its quota the container holds.
func (c *testContainer) tasks(t *testing.T) int64 {
	t.Helper()
	var k tailorContainer
	if err := c.tr.objs.Containers.Lookup(c.cid, &k); err != nil {
		t.Fatal(err)
	}
	return k.Tasks
}

// objects is how many objects the container holds.
func (c *testContainer) objects(t *testing.T) int64 {
	t.Helper()
	var k tailorContainer
	if err := c.tr.objs.Containers.Lookup(c.cid, &k); err != nil {
		t.Fatal(err)
	}
	return k.Objects
}

// waitTasks waits for the container's count to reach n: the shell's wait
// returns once its children are zombies, past their exit hook, but a test
// should not depend on that ordering.
func (c *testContainer) waitTasks(t *testing.T, n int64) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := c.tasks(t)
		if got == n {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("container %d holds %d of its quota, want %d", c.cid, got, n)
		}
	}
}
