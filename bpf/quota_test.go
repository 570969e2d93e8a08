package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
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
			tr := loadTracer(t, TaskQuota(tc.quota), taskMapSize(mapSize))
			a := startContainer(t, tr, 1)
			b := startContainer(t, tr, 2)

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

// TestFreedSlotTasksAreStale checks that a task map entry left from a
// freed container (a fork racing Tracer.Free leaves one) counts for
// nobody once the slot is registered again: the kernel drops it at the
// task's next fork instead of tracking the child into the new container.
func TestFreedSlotTasksAreStale(t *testing.T) {
	tr := loadTracer(t, TaskQuota(8))
	a := startContainer(t, tr, 1)
	var old tailorTaskState
	if err := tr.objs.Tasks.Lookup(uint32(a.cmd.Process.Pid), &old); err != nil {
		t.Fatalf("A's shell is not tracked: %v", err)
	}
	a.do(t, "fork 2")
	if err := tr.Free(a.cid); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(a.cid, 4026531999, true); err != nil {
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
// (dash runs read, test, kill and wait itself), so that the test knows
// every task it should have.
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
	esac
done`

// testContainer is a shell in its own mount namespace, registered and
// tracked as container cid with the exec boundary.
type testContainer struct {
	tr  *Tracer
	cid uint32
	cmd *exec.Cmd
	in  *os.File
	out *os.File
	rd  *bufio.Reader
}

func startContainer(t *testing.T, tr *Tracer, cid uint32) *testContainer {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &testContainer{tr: tr, cid: cid, in: inW, out: outR, rd: bufio.NewReader(outR)}
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
	if err := tr.Register(cid, uint32(st.Ino), true); err != nil {
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
	c.expect(t, cmd, map[string]string{"fork": "forked", "kill": "killed"}[strings.Fields(cmd)[0]])
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
