package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestRecordNeverReplaces checks the learning model: a recording never
// changes the stored profile of its name; promotion does, and only for
// its scope.
func TestRecordNeverReplaces(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "store"))
	if err := s.Save(testProfile("web", "read", "write")); err != nil {
		t.Fatal(err)
	}
	wide := testProfile("web", "read", "write", "ptrace")
	if _, err := s.Record("", "web", "c1", wide); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record("prod", "web", "c2", testProfile("web", "read", "mount")); err != nil {
		t.Fatal(err)
	}
	p, err := s.Load("web")
	if err != nil || len(p.ABIs[0].Syscalls) != 2 {
		t.Fatalf("the enforced profile changed after a recording: %v %+v", err, p)
	}
	recs, err := s.Recordings("", "web")
	if err != nil || len(recs) != 1 {
		t.Fatalf("host recordings = %v, %v", recs, err)
	}

	got, n, err := s.Promote("", "web", "web", false)
	if err != nil || n != 1 {
		t.Fatalf("Promote = %d, %v", n, err)
	}
	if !hasSyscall(got, "ptrace") || hasSyscall(got, "mount") {
		t.Errorf("promoted profile %+v: want the host recording merged, not the namespace's", got.ABIs)
	}
	if recs, _ := s.Recordings("", "web"); len(recs) != 0 {
		t.Errorf("recordings left after promotion: %v", recs)
	}
	if _, _, err := s.Promote("", "web", "web", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Promote = %v, want ErrNotFound", err)
	}
	ns, _, err := s.Promote("prod", "web", Scope("prod").PromotedName("web"), true)
	if err != nil || ns.Name != "prod.web" || !hasSyscall(ns, "mount") || hasSyscall(ns, "ptrace") {
		t.Errorf("namespace promotion = %+v, %v", ns, err)
	}
}

func hasSyscall(p *Profile, name string) bool {
	for _, a := range p.ABIs {
		for _, s := range a.Syscalls {
			if s.Name == name {
				return true
			}
		}
	}
	return false
}

func TestRecordQuotaAndNames(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "store"))
	for i := range MaxRecordings {
		if _, err := s.Record("", "web", fmt.Sprintf("c%d", i), testProfile("web", "read")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CanRecord("", "web"); !errors.Is(err, ErrTooManyRecordings) {
		t.Errorf("CanRecord past the quota = %v", err)
	}
	if _, err := s.Record("", "web", "more", testProfile("web", "read")); !errors.Is(err, ErrTooManyRecordings) {
		t.Errorf("Record past the quota = %v", err)
	}
	if err := s.CanRecord("", "db"); err != nil {
		t.Errorf("another name is not affected: %v", err)
	}
	for _, bad := range []Scope{"../x", "Prod", "a/b", "-x"} {
		if _, err := s.Record(bad, "web", "c", testProfile("web", "read")); !errors.Is(err, ErrBadName) {
			t.Errorf("scope %q accepted: %v", bad, err)
		}
	}
	// A hostile container id cannot leave the recordings directory.
	path, err := s.Record("ok", "db", "../../../../etc/passwd", testProfile("db", "read"))
	if err != nil || filepath.Dir(path) != filepath.Join(s.Dir, "recordings", "ns", "ok", "db") {
		t.Errorf("Record with a hostile id wrote %s (%v)", path, err)
	}
}

// TestStoreThroughHandle checks that a symlink swapped into the store
// cannot make a write land outside it.
func TestStoreThroughHandle(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	s := NewStore(filepath.Join(dir, "store"))
	if err := s.Save(testProfile("web", "read")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "recordings"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir, "recordings", "host")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record("", "web", "c1", testProfile("web", "read")); err == nil {
		t.Error("Record followed a symlink out of the store")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the store: %v", entries)
	}
}
