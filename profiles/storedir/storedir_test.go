package storedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// namespaceRE is how ValidScope was first written: dnsLabel must agree
// with it on every input.
var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func TestDNSLabel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"one letter", "a", true},
		{"one digit", "7", true},
		{"dash alone", "-", false},
		{"leading dash", "-a", false},
		{"trailing dash", "a-", false},
		{"inner dash", "team-a", true},
		{"upper case", "Prod", false},
		{"slash", "a/b", false},
		{"dot dot", "..", false},
		{"dot", "a.b", false},
		{"63", strings.Repeat("a", 63), true},
		{"64", strings.Repeat("a", 64), false},
		{"newline after", "a\n", false},
		{"NUL", "a\x00", false},
		{"non-ASCII", "é", false},
		{"invalid UTF-8", "a\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dnsLabel(tt.in); got != tt.want {
				t.Errorf("dnsLabel(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if re := namespaceRE.MatchString(tt.in); re != tt.want {
				t.Errorf("the regexp says %v for %q: the table is wrong", re, tt.in)
			}
		})
	}
	// Every string of up to 3 bytes from an alphabet around the edges.
	alphabet := []string{"a", "z", "0", "9", "-", "A", ".", "_", "\n", "\xff", "é"}
	var all func(prefix string, n int)
	all = func(prefix string, n int) {
		if dnsLabel(prefix) != namespaceRE.MatchString(prefix) {
			t.Errorf("dnsLabel(%q) = %v, the regexp %v", prefix, dnsLabel(prefix), !dnsLabel(prefix))
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			all(prefix+c, n-1)
		}
	}
	all("", 3)
}

func FuzzDNSLabel(f *testing.F) {
	for _, s := range []string{"", "a", "a-b", "-a", strings.Repeat("x", 63), strings.Repeat("x", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dnsLabel(s) != namespaceRE.MatchString(s) {
			t.Fatalf("dnsLabel(%q) = %v, the regexp %v", s, dnsLabel(s), !dnsLabel(s))
		}
	})
}

// recordings makes n empty recording files of name in scope beneath dir.
func recordings(t *testing.T, dir string, scope Scope, name string, n int) {
	t.Helper()
	d := filepath.Join(dir, filepath.FromSlash(scope.Dir(name)))
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("r%d%s", i, Ext)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCanRecord(t *testing.T) {
	dir := t.TempDir()
	recordings(t, dir, "", "web", MaxRecordings)
	if err := CanRecord(dir, "", "web"); !errors.Is(err, ErrTooManyRecordings) {
		t.Errorf("CanRecord past the quota = %v", err)
	}
	if err := CanRecord(dir, "", "db"); err != nil {
		t.Errorf("another name is not affected: %v", err)
	}
	if err := CanRecord(dir, "prod", "web"); err != nil {
		t.Errorf("another scope is not affected: %v", err)
	}
	for _, bad := range []Scope{"../x", "Prod", "a/b", "-x"} {
		if err := CanRecord(dir, bad, "web"); !errors.Is(err, ErrBadName) {
			t.Errorf("scope %q accepted: %v", bad, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", strings.Repeat("n", MaxNameLen+1)} {
		if err := CanRecord(dir, "", bad); !errors.Is(err, ErrBadName) {
			t.Errorf("name %q accepted: %v", bad, err)
		}
	}
	missing := filepath.Join(dir, "missing")
	if err := CanRecord(missing, "", "web"); err != nil {
		t.Errorf("a store not created yet has room: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CanRecord created the store: %v", err)
	}
}

func TestScopeQuota(t *testing.T) {
	old := scopeLimit
	scopeLimit = 3
	t.Cleanup(func() { scopeLimit = old })
	dir := t.TempDir()
	for i := range 3 {
		recordings(t, dir, "team-a", fmt.Sprintf("n%d", i), 1)
	}
	if err := CanRecord(dir, "team-a", "n9"); !errors.Is(err, ErrTooManyRecordings) {
		t.Errorf("a fourth name in a full scope = %v", err)
	}
	if err := CanRecord(dir, "team-b", "n9"); err != nil {
		t.Errorf("another scope is not affected: %v", err)
	}
}
