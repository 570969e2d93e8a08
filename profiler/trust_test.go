package profiler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

func sleeper(t *testing.T, d string) int {
	t.Helper()
	cmd := exec.Command("sleep", d)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	return cmd.Process.Pid
}

// TestServerObeysOnlyAllowedPeers checks the SO_PEERCRED gate: a peer
// the server does not accept gets nothing done.
func TestServerObeysOnlyAllowedPeers(t *testing.T) {
	registered := false
	c, _ := startServer(t, nil, otherNamespace, func(s *Server) {
		s.Peer = func(uid uint32) error { return fmt.Errorf("%w: uid %d refused", ErrForbidden, uid) }
		s.MountNamespace = func(pid int) (uint32, error) { registered = true; return otherNamespace(pid) }
	})
	err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: sleeper(t, "1")})
	if err == nil || !strings.Contains(err.Error(), "refused") || registered {
		t.Fatalf("Register from a refused peer = %v (registered %v)", err, registered)
	}
	if err := rootOnly(1000); !errors.Is(err, ErrForbidden) {
		t.Errorf("rootOnly(1000) = %v", err)
	}
	if err := rootOnly(0); err != nil {
		t.Errorf("rootOnly(0) = %v", err)
	}
}

// TestServerPassesHandlesToSink checks that the directories a hook opened
// reach the sink as open files, and are closed after it.
func TestServerPassesHandlesToSink(t *testing.T) {
	out := t.TempDir()
	got := make(chan string, 1)
	var kept *os.File
	sink := func(reg Registration, p *profiles.Profile) error {
		if len(reg.Files) != 1 {
			got <- "no handle"
			return nil
		}
		kept = reg.Files[0]
		root, err := os.OpenRoot(filepath.Join("/proc/self/fd", strconv.Itoa(int(reg.Files[0].Fd()))))
		if err != nil {
			got <- err.Error()
			return err
		}
		defer root.Close()
		if err := root.WriteFile("written", []byte("x"), 0o600); err != nil {
			got <- err.Error()
			return err
		}
		got <- ""
		return nil
	}
	c, _ := startServer(t, sink, otherNamespace)
	d, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := c.Register(context.Background(), Registration{ContainerID: "c", Pid: sleeper(t, "0.1"), Files: []*os.File{d}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if msg := <-got; msg != "" {
		t.Fatalf("sink: %s", msg)
	}
	if _, err := os.Stat(filepath.Join(out, "written")); err != nil {
		t.Errorf("not written through the handle: %v", err)
	}
	// The tracer closed its copy when the container was done: closing it
	// again says so (an open file would close without an error).
	if kept == nil {
		t.Fatal("the sink kept no handle")
	}
	if err := kept.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the handle was still open after the container was done (Close = %v)", err)
	}
}

// TestServerRefusesBadRequests: oversized, handles the request does not
// announce, and handles on a request that takes none.
func TestServerRefusesBadRequests(t *testing.T) {
	c, _ := startServer(t, nil, otherNamespace)
	send := func(data []byte, fds ...int) string {
		conn, err := net.Dial("unix", filepath.Join(c.Dir, socketName))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var rights []byte
		if len(fds) > 0 {
			rights = unix.UnixRights(fds...)
		}
		go func() {
			n, _, err := conn.(*net.UnixConn).WriteMsgUnix(data, rights, nil)
			if err == nil && n < len(data) {
				conn.Write(data[n:])
			}
		}()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, _ := conn.Read(buf)
		return string(buf[:n])
	}
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	tests := []struct {
		name string
		data []byte
		fds  []int
		want string
	}{
		{"too large", append([]byte(`{"op":"status","containerID":"`), make([]byte, MaxRequestSize+10)...), nil, "larger than"},
		{"unannounced handle", []byte(`{"op":"register","registration":{"containerID":"c","pid":1}}` + "\n"), []int{int(null.Fd())}, "handles"},
		{"handle on status", []byte(`{"op":"status","containerID":"c"}` + "\n"), []int{int(null.Fd())}, "handles sent with status"},
		{"not JSON", []byte("{\n"), nil, "bad-request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.data, tc.fds...); !strings.Contains(got, tc.want) {
				t.Errorf("response %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServerRequestDeadline: a client that connects and says nothing is
// dropped, not served forever.
func TestServerRequestDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits RequestTimeout")
	}
	c, _ := startServer(t, nil, otherNamespace)
	conn, err := net.Dial("unix", filepath.Join(c.Dir, socketName))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(RequestTimeout + 5*time.Second))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "bad-request") {
		t.Errorf("silent client: %q, %v; want a bad-request answer after RequestTimeout", buf[:n], err)
	}
}

// TestServerNamespaceQuota: one namespace cannot take every slot.
func TestServerNamespaceQuota(t *testing.T) {
	c, _ := startServer(t, func(Registration, *profiles.Profile) error { return nil }, otherNamespace,
		func(s *Server) { s.ScopeShare = 2.0 / 64 })
	ctx := context.Background()
	for i, id := range []string{"a", "b"} {
		if err := c.Register(ctx, Registration{ContainerID: id, Pid: sleeper(t, "2"), Scope: "team-a"}); err != nil {
			t.Fatalf("container %d: %v", i, err)
		}
	}
	if err := c.Register(ctx, Registration{ContainerID: "c", Pid: sleeper(t, "2"), Scope: "team-a"}); !errors.Is(err, ErrQuota) {
		t.Errorf("third container of team-a = %v, want ErrQuota", err)
	}
	if err := c.Register(ctx, Registration{ContainerID: "d", Pid: sleeper(t, "2"), Scope: "team-b"}); err != nil {
		t.Errorf("team-b starved by team-a: %v", err)
	}
	if err := c.Register(ctx, Registration{ContainerID: "e", Pid: sleeper(t, "2")}); err != nil {
		t.Errorf("the host starved by team-a: %v", err)
	}
}

// TestServerScopeIDs: the recorder gets one scope index per namespace
// (and one for the host), the same for the containers of a namespace, so
// that its quotas of the task and object maps hold per namespace.
func TestServerScopeIDs(t *testing.T) {
	c, rec := startServer(t, func(Registration, *profiles.Profile) error { return nil }, otherNamespace)
	ctx := context.Background()
	regs := []struct{ id, scope string }{{"a1", "team-a"}, {"b", "team-b"}, {"a2", "team-a"}, {"host", ""}}
	for _, r := range regs {
		if err := c.Register(ctx, Registration{ContainerID: r.id, Pid: sleeper(t, "2"), Scope: r.scope}); err != nil {
			t.Fatalf("register %s: %v", r.id, err)
		}
	}
	rec.mu.Lock()
	got := slices.Clone(rec.scopes)
	rec.mu.Unlock()
	if len(got) != len(regs) {
		t.Fatalf("the recorder got %d registrations, want %d", len(got), len(regs))
	}
	byScope := map[string]uint32{}
	for i, r := range regs {
		if got[i] >= rec.Capacity() {
			t.Errorf("%s registered in scope %d, beyond the recorder's %d", r.id, got[i], rec.Capacity())
		}
		if id, ok := byScope[r.scope]; ok && id != got[i] {
			t.Errorf("%s registered in scope %d, another container of namespace %q in %d", r.id, got[i], r.scope, id)
		}
		byScope[r.scope] = got[i]
	}
	seen := map[uint32]string{}
	for scope, id := range byScope {
		if other, ok := seen[id]; ok {
			t.Errorf("namespaces %q and %q share scope %d: one could starve the other", scope, other, id)
		}
		seen[id] = scope
	}
}

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	if err := checkDir(filepath.Join(base, "new")); err != nil {
		t.Errorf("new dir: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if err := checkDir(open); !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), "chmod 0700") {
		t.Errorf("0755 dir: %v", err)
	}
	link := filepath.Join(base, "link")
	os.Symlink(filepath.Join(base, "new"), link)
	if err := checkDir(link); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("symlink: %v", err)
	}
	// The log is never opened through a symlink planted in the directory.
	dir := filepath.Join(base, "new")
	os.Symlink("/etc/passwd", filepath.Join(dir, logName))
	if f, err := openPrivate(filepath.Join(dir, logName), os.O_WRONLY|os.O_APPEND); err == nil {
		f.Close()
		t.Error("openPrivate followed a symlink")
	}
}

// TestResultsPruned: a long-running tracer keeps a bounded set of results.
func TestResultsPruned(t *testing.T) {
	s := &Server{}
	s.results = map[string]*Result{}
	for i := range MaxResults + 10 {
		s.keepResult(strconv.Itoa(i), &Result{})
	}
	if len(s.results) != MaxResults || len(s.order) != MaxResults {
		t.Errorf("%d results kept, want %d", len(s.results), MaxResults)
	}
	old := &Result{}
	s.results["old"] = old
	s.order = append([]kept{{"old", old, time.Now().Add(-2 * ResultTTL)}}, s.order[1:]...)
	s.keepResult("new", &Result{})
	if _, ok := s.results["old"]; ok {
		t.Error("a result older than ResultTTL was kept")
	}

	// A container id used again (docker restart): pruning its first
	// result must not drop the newer one.
	s = &Server{results: map[string]*Result{}}
	s.keepResult("a", &Result{Syscalls: 1})
	for i := range MaxResults - 1 {
		s.keepResult(strconv.Itoa(i), &Result{})
	}
	s.keepResult("a", &Result{Syscalls: 2})
	if r := s.results["a"]; r == nil || r.Syscalls != 2 {
		t.Errorf("the newest result of a re-used id was pruned: %+v", r)
	}
}
