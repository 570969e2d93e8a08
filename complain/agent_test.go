package complain

import (
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

func testAgent(t *testing.T) (*Agent, *strings.Builder) {
	t.Helper()
	var logs strings.Builder
	a := &Agent{Dir: filepath.Join(t.TempDir(), "run"), Store: profiles.NewStore(filepath.Join(t.TempDir(), "store")),
		Log: log.New(&logs, "", 0)}
	if err := os.Mkdir(a.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	a.defaults()
	return a, &logs
}

func mkdirs(n int) *fakeSource {
	src := &fakeSource{answers: map[uint64]int{}}
	for i := range n {
		src.queue = append(src.queue, Notification{ID: uint64(i + 1), Pid: 1, Nr: unix.SYS_MKDIR, Arch: unix.AUDIT_ARCH_X86_64})
	}
	return src
}

// TestSessionsRecordApart: two containers of one profile each add a
// recording of their own to the store; neither replaces the other's.
func TestSessionsRecordApart(t *testing.T) {
	a, logs := testAgent(t)
	m := Metadata{Version: metadataVersion, Mode: ModeComplain, Profile: "web", Recording: "web.violations"}
	for i, id := range []string{"c1", "c2"} {
		a.serveSession(ownState(id), m, mkdirs(i+1))
	}
	recs, err := a.Store.Recordings("", "web.violations")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d recordings of web.violations, want one per container:\n%s", len(recs), logs)
	}
	var counts []uint64
	for _, r := range recs {
		p, err := profiles.Load(filepath.Join(a.Store.Dir, "recordings", "host", "web.violations", r.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !p.Complete || p.Name != "web.violations" {
			t.Errorf("%s: name %q, complete %v: want web.violations, complete", r.Name, p.Name, p.Complete)
		}
		counts = append(counts, p.Syscalls(profiles.ABIX8664)[0].Seen.Count)
	}
	slices.Sort(counts)
	if !slices.Equal(counts, []uint64{1, 2}) {
		t.Errorf("mkdir counts %v, want 1 and 2 (one recording per container)", counts)
	}
	left, _ := os.ReadDir(filepath.Join(a.Dir, partialDir))
	for _, e := range left {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("partial recording left behind: %s", e.Name())
		}
	}
	if !strings.Contains(logs.String(), "capability checks not recorded") {
		t.Errorf("the summary does not say capability checks were not recorded (no tracer):\n%s", logs)
	}
}

// TestOrphanRecorded: the partial recording of a container whose agent
// died is added to the store by the next agent, marked incomplete.
func TestOrphanRecorded(t *testing.T) {
	a, logs := testAgent(t)
	m := Metadata{Version: metadataVersion, Mode: ModeComplain, Profile: "web", Recording: "web.violations"}
	out, where, err := a.output(m, "c1")
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecording("web.violations", "web", "c1", ModeComplain, a.Now())
	if _, err := rec.Add(Notification{ID: 1, Pid: 1, Nr: unix.SYS_CHMOD, Arch: unix.AUDIT_ARCH_X86_64}, func() Who { return Who{} }); err != nil {
		t.Fatal(err)
	}
	if _, err := out.save(rec.Profile(a.Now(), false), false); err != nil {
		t.Fatal(err)
	}
	out.close()
	a.journal("c1", where, m.Recording) // the agent dies here: the note stays
	if recs, _ := a.Store.Recordings("", "web.violations"); len(recs) != 0 {
		t.Fatalf("a partial recording is in the store before the container ended: %v", recs)
	}
	a.reportOrphans()
	recs, err := a.Store.Recordings("", "web.violations")
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings after the restart: %v, %v; log:\n%s", recs, err, logs)
	}
	path := filepath.Join(a.Store.Dir, "recordings", "host", "web.violations", recs[0].Name+".json")
	p, err := profiles.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Complete || !slices.Contains(p.Loss.Reasons, PartialReason) || len(p.Syscalls(profiles.ABIX8664)) != 1 {
		t.Errorf("the orphan's recording: complete %v, loss %v, syscalls %v", p.Complete, p.Loss.Reasons, p.Syscalls(profiles.ABIX8664))
	}
	if !strings.Contains(logs.String(), `container "c1" was in complain mode`) || !strings.Contains(logs.String(), path) {
		t.Errorf("the log does not report c1 and where its recording went:\n%s", logs)
	}
}

// TestEnsureNamesAWrongAnswer: a socket that answers something else than
// the agent's pong is named as such, not as an error of nil.
func TestEnsureNamesAWrongAnswer(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.ReadFull(c, make([]byte, len(ping)))
		c.Write([]byte("something else"))
	}()
	err = Ensure(dir, nil, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), `answered "something el"`) || strings.Contains(err.Error(), "nil") {
		t.Fatalf("Ensure = %v, want an error naming the wrong answer", err)
	}
}
