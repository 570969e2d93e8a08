package complain

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// ownState is what runc and crun send from a container's init.
func ownState(id string) *processState {
	return &processState{Pid: 100, State: specs.State{ID: id, Status: specs.StateCreating, Pid: 100}}
}

// execState is what runc sends for an exec in container id.
func execState(id string, pid int) *processState {
	return &processState{Pid: pid, State: specs.State{ID: id, Status: specs.StateRunning, Pid: 100}}
}

func TestIsOwn(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   processState
		want bool
	}{
		{"runc init", processState{Pid: 7, State: specs.State{Status: specs.StateCreating, Pid: 7}}, true},
		{"runc exec", processState{Pid: 9, State: specs.State{Status: specs.StateRunning, Pid: 7}}, false},
		{"crun init", processState{Pid: 7, State: specs.State{Status: specs.StateCreating, Pid: 7}}, true},
		{"crun exec", processState{Pid: 9, State: specs.State{Status: specs.StateRunning, Pid: 9}}, false},
		{"crun 1.8.1 exec", processState{Pid: 0, State: specs.State{Status: specs.StateRunning, Pid: 0}}, false},
		{"creating without a pid", processState{Pid: 0, State: specs.State{Status: specs.StateCreating, Pid: 0}}, false},
		{"creating, another pid", processState{Pid: 9, State: specs.State{Status: specs.StateCreating, Pid: 7}}, false},
	} {
		if got := isOwn(&tc.st); got != tc.want {
			t.Errorf("%s: isOwn = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// gatedSource yields its notifications, says so on drained, then blocks
// until gate is closed: a container that keeps running.
type gatedSource struct {
	*fakeSource
	drained, gate chan struct{}
	once          sync.Once
}

func gated(src *fakeSource) *gatedSource {
	return &gatedSource{fakeSource: src, drained: make(chan struct{}), gate: make(chan struct{})}
}

func (g *gatedSource) Recv() (Notification, error) {
	if len(g.queue) == 0 {
		g.once.Do(func() { close(g.drained) })
		<-g.gate
	}
	return g.fakeSource.Recv()
}

func calls(nrs ...int) *fakeSource {
	src := &fakeSource{answers: map[uint64]int{}}
	for i, nr := range nrs {
		src.queue = append(src.queue, Notification{ID: uint64(i + 1), Pid: 1, Nr: nr, Arch: unix.AUDIT_ARCH_X86_64})
	}
	return src
}

// start serves src in the background; done is closed when it ends.
func start(a *Agent, st *processState, m Metadata, src Source) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		defer close(done)
		a.serveSession(st, m, src)
	}()
	return done
}

var webMeta = Metadata{Version: metadataVersion, Mode: ModeComplain, Profile: "web", Recording: "web.violations"}

// TestExecSessionsJoinTheContainer: an exec session of a running
// container (a HEALTHCHECK) that ends leaves the container's journal and
// partial recording in place, and its violations end up in the
// container's one recording, written when the container ends.
func TestExecSessionsJoinTheContainer(t *testing.T) {
	a, logs := testAgent(t)
	journal := filepath.Join(a.Dir, sessionsDir, "c1")
	partial := filepath.Join(a.Dir, partialDir, "c1.json")
	own := gated(calls(unix.SYS_MKDIR))
	done := start(a, ownState("c1"), webMeta, own)
	<-own.drained
	exists := func(when string) {
		t.Helper()
		for _, f := range []string{journal, partial} {
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("%s: %v; log:\n%s", when, err, logs)
			}
		}
	}
	exists("while the container runs")
	a.serveSession(execState("c1", 200), webMeta, calls(unix.SYS_CHMOD, unix.SYS_CHMOD))
	exists("after an exec session of the running container ended")
	a.serveSession(ownState("c1"), webMeta, calls(unix.SYS_SYMLINK)) // a second own session: refused
	exists("after a second own session of the running container was refused")
	if recs, _ := a.Store.Recordings("", "web.violations"); len(recs) != 0 {
		t.Fatalf("an exec session wrote a recording of its own while the container runs: %v", recs)
	}
	close(own.gate)
	<-done
	recs, err := a.Store.Recordings("", "web.violations")
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings of web.violations: %v, %v: want one for the container; log:\n%s", recs, err, logs)
	}
	p, err := profiles.Load(filepath.Join(a.Store.Dir, "recordings", "host", "web.violations", recs[0].Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, s := range p.Syscalls(profiles.ABIX8664) {
		got[s.Name] = s.Seen.Count
	}
	if len(got) != 2 || got["mkdir"] != 1 || got["chmod"] != 2 {
		t.Errorf("the container's recording holds %v: want mkdir 1 (its own) and chmod 2 (its exec session), not symlink", got)
	}
	for _, f := range []string{journal, partial} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left after the container ended: %v", f, err)
		}
	}
	if !strings.Contains(logs.String(), `container "c1": it is already served`) || !strings.Contains(logs.String(), "; 1 exec sessions;") {
		t.Errorf("the log does not name the refused second own session or the merged exec session:\n%s", logs)
	}
}

// TestExecSessionsCannotTakeOtherContainersSlots: a container's exec
// sessions are bounded by MaxPerContainer and do not count against the
// MaxSessions other containers need.
func TestExecSessionsCannotTakeOtherContainersSlots(t *testing.T) {
	a, logs := testAgent(t)
	a.MaxSessions, a.MaxPerContainer = 2, 4
	var gates []*gatedSource
	var dones []chan struct{}
	serve := func(st *processState) bool {
		g := gated(calls(unix.SYS_MKDIR))
		done := start(a, st, webMeta, g)
		select {
		case <-g.drained:
			gates, dones = append(gates, g), append(dones, done)
			return true
		case <-done:
			return false
		}
	}
	if !serve(ownState("c1")) {
		t.Fatalf("c1's own session was refused:\n%s", logs)
	}
	served := 0
	for i := range 40 {
		if serve(execState("c1", 200+i)) {
			served++
		}
	}
	if served != a.MaxPerContainer-1 {
		t.Errorf("%d exec sessions of c1 served at once, want %d (MaxPerContainer with its own)", served, a.MaxPerContainer-1)
	}
	if !serve(ownState("c2")) {
		t.Fatalf("c2 was refused: c1's exec sessions took its slot:\n%s", logs)
	}
	if serve(ownState("c3")) {
		t.Errorf("a third container was served beyond MaxSessions %d", a.MaxSessions)
	}
	for _, g := range gates {
		close(g.gate)
	}
	for _, d := range dones {
		<-d
	}
	recs, err := a.Store.Recordings("", "web.violations")
	if err != nil || len(recs) != 2 {
		t.Fatalf("recordings: %v, %v: want one for c1 and one for c2", recs, err)
	}
	if !strings.Contains(logs.String(), "4 sessions of it (its own and exec sessions) are already served") ||
		!strings.Contains(logs.String(), `container "c3": 2 containers are already served`) {
		t.Errorf("the log does not say why sessions were refused:\n%s", logs)
	}
}

// TestExecSessionOfUnservedContainer: an exec session of a container
// whose own session this agent does not serve is answered and logged, and
// adds no recording (a HEALTHCHECK every second would fill the store).
func TestExecSessionOfUnservedContainer(t *testing.T) {
	a, logs := testAgent(t)
	src := calls(unix.SYS_MKDIR)
	a.serveSession(execState("c1", 200), webMeta, src)
	if len(src.answers) != 1 {
		t.Fatalf("the exec session's notification was not answered: %v", src.answers)
	}
	if recs, _ := a.Store.Recordings("", "web.violations"); len(recs) != 0 {
		t.Errorf("an exec session of an unserved container added a recording: %v", recs)
	}
	if !strings.Contains(logs.String(), "mkdir: 1") || !strings.Contains(logs.String(), "recording none (the container's own session was not served") {
		t.Errorf("the log lacks the exec session's summary:\n%s", logs)
	}
}

// TestRefusedRecordingLeavesNoPartial: when the store refuses the final
// recording (too many pending for the name), the partial one is removed
// from the agent's directory and the log says the recording was refused.
func TestRefusedRecordingLeavesNoPartial(t *testing.T) {
	a, logs := testAgent(t)
	own := gated(calls(unix.SYS_MKDIR))
	done := start(a, ownState("c1"), webMeta, own)
	<-own.drained
	for i := range profiles.MaxRecordings {
		if _, err := a.Store.Record("", "web.violations", fmt.Sprintf("other%d", i), profiles.New("web.violations")); err != nil {
			t.Fatal(err)
		}
	}
	close(own.gate)
	<-done
	left, _ := os.ReadDir(filepath.Join(a.Dir, partialDir))
	for _, e := range left {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("partial recording left in %s after the store refused the final one: %s", partialDir, e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(a.Dir, sessionsDir, "c1")); !os.IsNotExist(err) {
		t.Errorf("journal note left: %v", err)
	}
	if !strings.Contains(logs.String(), "the store refused the recording") || !strings.Contains(logs.String(), "recording none: refused") ||
		!strings.Contains(logs.String(), "mkdir: 1") {
		t.Errorf("the log does not say the recording was refused, with its summary:\n%s", logs)
	}
}

// TestSummaryQuotesWhatTheContainerNames: a comm, exe or container id with
// a newline cannot write a line of its own into the agent's log.
func TestSummaryQuotesWhatTheContainerNames(t *testing.T) {
	rec := NewRecording("x", "web", "c1\nagent: container \"c2\" forged", ModeComplain, time.Unix(0, 0))
	rec.Add(Notification{Nr: unix.SYS_MKDIR, Arch: unix.AUDIT_ARCH_X86_64}, func() Who {
		return Who{Comm: "sh\nagent: forged", Exe: "/bin/x\nagent: forged", Pid: 1}
	})
	for _, line := range strings.Split(rec.Summary(), "\n") {
		if strings.HasPrefix(line, "agent:") {
			t.Errorf("the summary has a line the container wrote: %q", line)
		}
	}
	if s := rec.Summary(); !strings.Contains(s, `"/bin/x\nagent: forged"`) || !strings.Contains(s, `container "c1\nagent: container \"c2\" forged"`) {
		t.Errorf("the exe or the container id is not quoted: %s", s)
	}
}

// TestJournalKeepsIDsWhole: a container id with a newline is read back
// whole from the journal by the next agent.
func TestJournalKeepsIDsWhole(t *testing.T) {
	a, logs := testAgent(t)
	id := "c1\nc2"
	m := Metadata{Version: metadataVersion, Mode: ModeComplain, Profile: "web", File: filepath.Join(t.TempDir(), "a\nb", "y.json")}
	_, where, _ := a.output(m, id)
	a.journal(id, where, "")
	a.reportOrphans()
	if want := fmt.Sprintf("container %q was in complain mode", id); !strings.Contains(logs.String(), want) ||
		slices.ContainsFunc(strings.Split(strings.TrimSpace(logs.String()), "\n"), func(l string) bool { return !strings.HasPrefix(l, "agent: ") }) {
		t.Errorf("the orphan's id was not read back whole (want %s):\n%s", want, logs)
	}
}
