package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "simple", in: "nginx", ok: true},
		{name: "all allowed characters", in: "a-Z_0.9", ok: true},
		{name: "max length", in: strings.Repeat("a", MaxNameLen), ok: true},
		{name: "too long", in: strings.Repeat("a", MaxNameLen+1)},
		{name: "empty", in: ""},
		{name: "dot", in: "."},
		{name: "dot dot", in: ".."},
		{name: "slash", in: "a/b"},
		{name: "traversal", in: "../etc"},
		{name: "space", in: "a b"},
		{name: "nul", in: "a\x00"},
		{name: "non ascii", in: "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadName) {
				t.Fatalf("error %v is not ErrBadName", err)
			}
		})
	}
}

func testProfile(name string, syscalls ...string) *Profile {
	p := New(name)
	var sc []Syscall
	for _, s := range syscalls {
		sc = append(sc, Syscall{Name: s, Seen: Seen{Recordings: 1}})
	}
	p.ABIs = []ABISyscalls{{ABI: ABIX8664, Syscalls: sc}}
	return p
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := NewStore(dir)
	if got, err := s.List(); err != nil || len(got) != 0 {
		t.Fatalf("List of a missing store = %v, %v; want empty", got, err)
	}
	if err := s.Save(testProfile("web", "read", "write")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("store dir mode %v, want 0700", fi.Mode().Perm())
	}
	p, err := s.Load("web")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.SyscallNames(ABIX8664), ","); got != "read,write" {
		t.Errorf("loaded syscalls %s", got)
	}
	if err := s.Save(testProfile("db", "read")); err != nil {
		t.Fatal(err)
	}
	// A stray file that is not a profile is listed with its error; other
	// files are ignored.
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		if (e.Err != nil) != (e.Name == "broken") {
			t.Errorf("entry %s: err %v", e.Name, e.Err)
		}
		if e.Name != "broken" && (!e.Complete || e.Size == 0 || e.ModTime.IsZero()) {
			t.Errorf("entry %+v lacks details", e)
		}
	}
	if got := strings.Join(names, ","); got != "broken,db,web" {
		t.Errorf("List names %s", got)
	}
	if err := s.Remove("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Remove: %v, want ErrNotFound", err)
	}
	if err := s.Remove("web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
}

func TestStoreRefuses(t *testing.T) {
	s := NewStore(t.TempDir())
	tests := []struct {
		name string
		p    *Profile
		want error
	}{
		{name: "bad name", p: testProfile("../x", "read"), want: ErrBadName},
		{name: "invalid profile", p: testProfile("x", "no_such_syscall"), want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Save(tt.p); !errors.Is(err, tt.want) {
				t.Fatalf("Save = %v, want %v", err, tt.want)
			}
		})
	}
	if entries, _ := s.List(); len(entries) != 0 {
		t.Errorf("refused saves left %v", entries)
	}
}

// Concurrent writers updating the same profile must not lose each other's
// additions.
func TestStoreConcurrentUpdate(t *testing.T) {
	s := NewStore(t.TempDir())
	syscalls := []string{"read", "write", "openat", "close", "mmap", "brk", "futex", "exit_group"}
	var wg sync.WaitGroup
	errs := make(chan error, len(syscalls))
	for _, sc := range syscalls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update("shared", func(old *Profile) (*Profile, error) {
				if old == nil {
					old = New("shared")
				}
				old.ABIs = append(old.ABIs, ABISyscalls{ABI: ABIX8664, Syscalls: []Syscall{{Name: sc}}})
				return old, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Load("shared")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.SyscallNames(ABIX8664)); got != len(syscalls) {
		t.Fatalf("got %d syscalls %v, want %d", got, p.SyscallNames(ABIX8664), len(syscalls))
	}
}

func TestStorePathStaysInside(t *testing.T) {
	s := NewStore("/store")
	for _, name := range []string{"a", "a.b", "-x", "..."} {
		p, err := s.Path(name)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(p) != "/store" {
			t.Errorf("Path(%q) = %s escapes the store", name, p)
		}
	}
	if _, err := s.Path("a/../../b"); err == nil {
		t.Error("Path accepted a traversal")
	}
}
