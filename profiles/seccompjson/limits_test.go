package seccompjson

import (
	"github.com/tailor-dev/tailor/internal/budget"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/profiles"
)

// bound bounds the inputs below, which take well under a second (a few
// under the race detector). Before positions were computed once, 8000
// unknown names took 20 s and 2 MB of them 11 minutes.
const bound = 10 * time.Second

// rules is a seccomp JSON of n copies of rule, one a line, %d in rule
// replaced by the copy's number.
func rules(n int, rule string) []byte {
	var b strings.Builder
	b.WriteString(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(strings.ReplaceAll(rule, "%d", strconv.Itoa(i)))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// unknownNames is a seccomp JSON of one rule with n unknown syscall names.
func unknownNames(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"s%d"`, i)
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

// Slow inputs: each note used to walk the document from its start.
var slowInputs = []struct {
	name  string
	doc   []byte
	notes int // at least
}{
	{name: "8000 unknown names (71 KB)", doc: unknownNames(8000), notes: maxUnknownNotes + 1},
	{name: "2 MB of unknown names", doc: unknownNames(200_000), notes: maxUnknownNotes + 1},
	{name: "2 MB of noted rules", doc: rules(20_000, `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": %d, "op": "SCMP_CMP_EQ"}]}`), notes: 20_000},
	{name: "2 MB of socket ranges", doc: rules(25_000, `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 64, "op": "SCMP_CMP_LT"}]}`)},
	{name: "2 MB of capability conditions", doc: rules(25_000, `{"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON"]}}`)},
}

func TestImportBudget(t *testing.T) {
	for _, in := range slowInputs {
		t.Run(in.name, func(t *testing.T) {
			var r *Result
			var err error
			budget.Within(t, bound, in.name, func() { r, err = Import(in.doc, Options{}) })
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Notes) < in.notes {
				t.Errorf("%d notes, want at least %d", len(r.Notes), in.notes)
			}
		})
	}
}

func TestImportNotesLocated(t *testing.T) {
	r := mustImport(t, string(unknownNames(maxUnknownNotes+5)), Options{})
	if len(r.Notes) != maxUnknownNotes+2 { // + no architectures
		t.Fatalf("%d notes, want %d: %q", len(r.Notes), maxUnknownNotes+2, r.Notes)
	}
	last := fmt.Sprintf(`syscalls[0].names[%d]: unknown syscall "s%d" skipped`, maxUnknownNotes-1, maxUnknownNotes-1)
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "line 1, column ") && strings.Contains(n, last) }) {
		t.Errorf("notes %q lack a located %q", r.Notes, last)
	}
	if want := "5 more unknown syscall names skipped"; !strings.HasPrefix(r.Notes[len(r.Notes)-1], want) {
		t.Errorf("last note %q, want %q", r.Notes[len(r.Notes)-1], want)
	}
	// Many notes, each at its own line.
	r = mustImport(t, string(rules(300, `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": %d, "op": "SCMP_CMP_EQ"}]}`)), Options{})
	want := "line 300, column 49: syscalls[299].args: read is allowed only with some arguments"
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, want) }) {
		t.Errorf("notes lack %q", want)
	}
}

func TestSocketRangesDeduplicated(t *testing.T) {
	r := mustImport(t, string(rules(100, `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 64, "op": "SCMP_CMP_LT"}]}`)), Options{})
	got, _ := args(r.Profile, profiles.ABIX8664, "socket")
	if got == nil || len(got.Values) != 64*16 {
		t.Fatalf("socket values %v, want the 1024 of 64 domains", got)
	}
}

func TestReadFileLimits(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "deep.json")
	if err := os.WriteFile(deep, []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "x": `+strings.Repeat("[", 1<<16)), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	budget.Within(t, bound, "deep nesting", func() { _, err = ReadFile(deep, Options{}) })
	if !errors.Is(err, profiles.ErrTooDeep) || !strings.HasPrefix(err.Error(), deep+": line 1, column 105: ") {
		t.Errorf("deep: error %v, want ErrTooDeep naming %s and where", err, deep)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "x": "`+strings.Repeat("a", profiles.MaxDocumentSize)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(big, Options{})
	if !errors.Is(err, profiles.ErrTooLarge) || !strings.HasPrefix(err.Error(), big+": document too large: larger than 16777216 bytes") {
		t.Errorf("big: error %v, want ErrTooLarge naming %s", err, big)
	}
	// Import and Detect refuse what ReadFile refuses, given bytes.
	for _, f := range []func([]byte) error{
		func(d []byte) error { _, err := Import(d, Options{}); return err },
		func(d []byte) error { _, err := Detect(d); return err },
	} {
		if err := f([]byte(strings.Repeat("[", 100))); !errors.Is(err, profiles.ErrTooDeep) {
			t.Errorf("error %v, want ErrTooDeep", err)
		}
	}
}

// Locating notes costs the same per note however many there are: with
// twice the noted rules, Import allocates about twice as much (it was
// quadratic when each note walked the document). Unlike time, allocations
// do not depend on the machine's load.
func TestImportNotesLinear(t *testing.T) {
	allocs := func(n int) float64 {
		doc := rules(n, `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": %d, "op": "SCMP_CMP_EQ"}]}`)
		return testing.AllocsPerRun(1, func() {
			if _, err := Import(doc, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1000), allocs(4000)
	if large > 6*small {
		t.Errorf("4000 noted rules allocate %.0f times, 1000 allocate %.0f: growth %.1f, want about 4", large, small, large/small)
	}
}

// FuzzParseDocument checks Parse, which tailor diff and merge use on their
// inputs: it never panics, every error names the input, and what it
// accepts validates.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(`{"kind": "TailorProfile", "schemaVersion": 1, "complete": true, "loss": {"events": 1}, "abis": [], "capabilities": []}`))
	f.Add([]byte(`{"kind": "TailorProfile", "schemaVersion": 1, "abis": [{"abi": "x86_64", "syscalls": [{"name": "socket", "args": {"values": []}}]}]}`))
	f.Add(unknownNames(8000))
	f.Add([]byte(`{"kind": ` + strings.Repeat("[", 64<<10)))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("in.json", data, Options{})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "in.json: ") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		if err := d.Profile.Validate(); err != nil {
			t.Fatalf("accepted document does not validate: %v", err)
		}
		if d.Profile.Complete == d.Profile.Loss.Any() {
			t.Fatalf("complete %v with loss %+v", d.Profile.Complete, d.Profile.Loss)
		}
	})
}
