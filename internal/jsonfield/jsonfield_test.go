package jsonfield

import (
	"errors"
	"reflect"
	"testing"
	"unicode"
)

// TestFoldMatchesSimpleFolding: the ASCII fast path agrees with the
// orbit rule on every ASCII byte, and non-ASCII spellings fold together.
func TestFoldMatchesSimpleFolding(t *testing.T) {
	slow := func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}
	for c := rune(0); c < 0x80; c++ {
		if got, want := Fold(string(c)), string(slow(c)); got != want {
			t.Errorf("Fold(%q) = %q, want %q", c, got, want)
		}
	}
	for _, tc := range [][2]string{{"seccomp", "ſeccomp"}, {"Kind", "\u212aind"}, {"abis", "ABIs"}, {"defaultAction", "DefaultAction"}} {
		if Fold(tc[0]) != Fold(tc[1]) {
			t.Errorf("Fold(%q) = %q and Fold(%q) = %q differ", tc[0], Fold(tc[0]), tc[1], Fold(tc[1]))
		}
	}
	if Fold("seccomp") == Fold("seccomq") {
		t.Error("different names fold together")
	}
}

type inner struct {
	Syscalls []string `json:"syscalls"`
	Shared   int      `json:"shared"`
}

type outer struct {
	inner
	Syscalls []int            `json:"syscalls"` // shadows inner's
	Labels   map[string]inner `json:"labels"`
	Skipped  int              `json:"-"`
	Plain    string
}

type selfDecoding struct{ A int }

func (s *selfDecoding) UnmarshalJSON([]byte) error { return nil }

func TestMember(t *testing.T) {
	ot := reflect.TypeFor[*outer]()
	for _, tc := range []struct {
		name, key string
		want      reflect.Type
		misspelt  string
	}{
		{"own field shadows the embedded one", "syscalls", reflect.TypeFor[[]int](), ""},
		{"embedded field", "shared", reflect.TypeFor[int](), ""},
		{"untagged field by its Go name", "Plain", reflect.TypeFor[string](), ""},
		{"case variant", "Syscalls", nil, "syscalls"},
		{"Unicode variant", "ſhared", nil, "shared"},
		{"case variant of an untagged field", "plain", nil, "Plain"},
		{"unknown field", "other", nil, ""},
		{"json:\"-\" is no field", "Skipped", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Member(ot, tc.key)
			var me *MisspeltError
			switch {
			case tc.misspelt != "":
				if !errors.As(err, &me) || me.Field != tc.misspelt || me.Key != tc.key {
					t.Fatalf("Member(%q) = %v, %v; want a misspelling of %q", tc.key, got, err, tc.misspelt)
				}
			case err != nil || got != tc.want:
				t.Fatalf("Member(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
			}
		})
	}
	if got, err := Member(reflect.TypeFor[map[string]inner](), "Anything"); err != nil || got != reflect.TypeFor[inner]() {
		t.Errorf("map member = %v, %v; want its element type", got, err)
	}
	if got, err := Member(reflect.TypeFor[selfDecoding](), "a"); err != nil || got != nil {
		t.Errorf("member of a self-decoding type = %v, %v; want nothing checked", got, err)
	}
	if got := Elem(reflect.TypeFor[[]*inner]()); got != reflect.TypeFor[*inner]() {
		t.Errorf("Elem = %v", got)
	}
}

// TestMemberAllocations: a key is folded once and field names never
// again (they are cached per type), so checking a document costs no
// allocation per key for exact names and unknown lowercase-free keys.
func TestMemberAllocations(t *testing.T) {
	ot := reflect.TypeFor[outer]()
	Member(ot, "syscalls")
	if n := testing.AllocsPerRun(100, func() { Member(ot, "syscalls"); Member(ot, "UNKNOWN_KEY") }); n != 0 {
		t.Errorf("%v allocations per lookup, want 0", n)
	}
}
