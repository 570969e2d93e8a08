package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const validDoc = `{
  "schemaVersion": 1,
  "kind": "TailorProfile",
  "name": "web",
  "complete": true,
  "loss": {"events": 0, "tasks": 0, "argValues": 0},
  "source": {"recordings": 1},
  "abis": [
    {"abi": "x86_64", "syscalls": [
      {"name": "read", "seen": {"comm": "sh", "recordings": 1}},
      {"name": "socket", "args": {"values": [8589934593]}, "seen": {"recordings": 1}}
    ]}
  ],
  "capabilities": [{"name": "CAP_CHOWN", "granted": true, "denied": false, "seen": {"recordings": 1}}]
}
`

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		old  string // replaced in validDoc by new
		new  string
		want string // substring of the error
	}{
		{name: "malformed", old: `"kind": "TailorProfile",`, new: `"kind": "TailorProfile"`, want: "line 4, column 3"},
		{name: "truncated", old: "}]\n}\n", new: "", want: "line"},
		{name: "wrong type", old: `"recordings": 1}`, new: `"recordings": "one"}`, want: "line 7, column"},
		{name: "unknown field", old: `"complete": true,`, new: `"complete": true, "compleet": true,`, want: `line 5, column 21: unknown field "compleet"`},
		{name: "duplicate key", old: `"name": "web",`, new: `"name": "web", "name": "db",`, want: `line 4, column 18: key "name" appears twice`},
		{name: "schema version", old: `"schemaVersion": 1`, new: `"schemaVersion": 7`, want: "line 2, column 3: schemaVersion: schemaVersion 7 is not supported"},
		{name: "kind", old: `"TailorProfile"`, new: `"Other"`, want: "line 3, column 3: kind"},
		{name: "unknown syscall", old: `"name": "read"`, new: `"name": "raed"`, want: `line 10, column 8: abis[0].syscalls[0].name: unknown syscall "raed" for ABI x86_64`},
		{name: "syscall of another ABI", old: `"name": "read"`, new: `"name": "socketcall"`, want: `unknown syscall "socketcall"`},
		{name: "duplicate syscall", old: `"name": "socket"`, new: `"name": "read"`, want: `line 11, column 8: abis[0].syscalls[1].name: syscall "read" listed twice`},
		{name: "args on a plain syscall", old: `"name": "socket"`, new: `"name": "write"`, want: `abis[0].syscalls[1].args: "write" has no recorded arguments`},
		{name: "duplicate value", old: `[8589934593]`, new: `[1, 1]`, want: `line 11, column 49: abis[0].syscalls[1].args.values[1]: value 0x1 of socket listed twice`},
		{name: "unknown ABI", old: `"abi": "x86_64"`, new: `"abi": "arm64"`, want: `line 9, column 6: abis[0].abi: unknown ABI "arm64"`},
		{name: "unknown capability", old: `CAP_CHOWN`, new: `CAP_CHOWNS`, want: `line 14, column 21: capabilities[0].name: unknown capability "CAP_CHOWNS"`},
		{name: "capability spelling", old: `CAP_CHOWN`, new: `chown`, want: `must be spelled "CAP_CHOWN"`},
		{name: "negative count", old: `"comm": "sh", "recordings": 1`, new: `"recordings": -1`, want: "abis[0].syscalls[0].seen.recordings: negative count"},
		{name: "trailing data", old: "}]\n}\n", new: "}]\n}\n}", want: "line 16, column 1"},
		{name: "second document", old: "}]\n}\n", new: "}]\n}\n{}", want: "trailing data"},
		{name: "deep nesting", old: `"source": {"recordings": 1},`, new: `"source": {"recordings": 1}, "x": ` + string(nested(MaxDepth)) + `,`,
			want: "line 7, column 100: document nested too deeply"},
		{name: "empty value list", old: `[8589934593]`, new: `[]`,
			want: "line 11, column 26: abis[0].syscalls[1].args: socket has an empty value list in a complete profile, which would allow any domain and type: list the values"},
		{name: "null value list", old: `[8589934593]`, new: `null`, want: "socket has an empty value list in a complete profile"},
		{name: "no value list", old: `{"values": [8589934593]}`, new: `{}`, want: "socket has an empty value list in a complete profile"},
		{name: "values and overflow", old: `[8589934593]}`, new: `[8589934593], "overflow": true}`,
			want: "abis[0].syscalls[1].args.overflow: socket lists values and is marked overflow (allowed with any domain and type): remove the values"},
		{name: "case variant after the key", old: `"capabilities": [{`, new: `"ABIs": [], "capabilities": [{`,
			want: `line 14, column 3: in the document: key "ABIs" is not the field "abis": Go's decoder would read it as "abis"`},
		{name: "case variant alone", old: `"abis": [`, new: `"ABIS": [`, want: `key "ABIS" is not the field "abis"`},
		{name: "Unicode case variant", old: `"comm": "sh", "recordings": 1`, new: `"comm": "sh", "recordingſ": 1`, want: `line 10, column 47: in abis[0].syscalls[0].seen: key "recordingſ" is not the field "recordings"`},
		{name: "case variant in a file", old: `"source": {"recordings": 1},`,
			new:  `"source": {"recordings": 1}, "schemaVersion2": 0, "files": [{"path": "/a", "PATH": "/etc/shadow", "access": ["read"], "seen": {}}],`,
			want: `in files[0]: key "PATH" is not the field "path"`},
		{name: "value outside the mask", old: `[8589934593]`, new: `[8589934609]`,
			want: "abis[0].syscalls[1].args.values[0]: value 0x200000011 of socket has bits outside 0xffffffff0000000f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(validDoc, tt.old, tt.new, 1)
			if doc == validDoc {
				t.Fatalf("test does not change the document")
			}
			_, err := Parse([]byte(doc))
			if err == nil {
				t.Fatal("Parse accepted the document")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	p, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	if d, typ := SocketDomainType(p.Syscalls(ABIX8664)[1].Args.Values[0]); d != 2 || typ != 1 {
		t.Errorf("socket value decoded to %d/%d", d, typ)
	}
}

// Completeness is derived from the loss, and never widened: a document
// cannot make itself enforceable by saying "complete": true.
func TestParseCompleteness(t *testing.T) {
	tests := []struct {
		name    string
		old     string // replaced in validDoc by new
		new     string
		reasons []string
	}{
		{name: "complete with a loss", old: `"events": 0`, new: `"events": 3`},
		{name: "complete with a reason", old: `"argValues": 0}`, new: `"argValues": 0, "reasons": ["tracer stopped"]}`, reasons: []string{"tracer stopped"}},
		{name: "incomplete without a loss", old: `"complete": true`, new: `"complete": false`, reasons: []string{unexplainedIncomplete}},
		{name: "incomplete with an empty value list", old: `"events": 0, "tasks": 0, "argValues": 0`, new: `"events": 0, "tasks": 0, "argValues": 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(validDoc, tt.old, tt.new, 1)
			if tt.name == "incomplete with an empty value list" {
				doc = strings.Replace(doc, `[8589934593]`, `[]`, 1)
			}
			if doc == validDoc {
				t.Fatal("test does not change the document")
			}
			p, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if p.Complete {
				t.Fatalf("loaded as complete; loss %+v", p.Loss)
			}
			if !reflect.DeepEqual(p.Loss.Reasons, tt.reasons) {
				t.Errorf("reasons %q, want %q", p.Loss.Reasons, tt.reasons)
			}
			// Written out and read back, it stays incomplete.
			out, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if q, err := Parse(out); err != nil || q.Complete {
				t.Fatalf("written out: complete %v, error %v\n%s", q != nil && q.Complete, err, out)
			}
		})
	}
}

func TestValidateCompleteness(t *testing.T) {
	p, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	p.Loss.Tasks = 2 // a caller's profile that claims complete
	err = p.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "complete: the profile is marked complete but counts a loss (2 tasks lost)") {
		t.Errorf("Validate error %v", err)
	}
	p.Normalize()
	if p.Complete || p.Validate() != nil {
		t.Errorf("normalized: complete %v, Validate %v", p.Complete, p.Validate())
	}
	q := New("x")
	q.Complete = false
	q.Normalize()
	if q.Complete {
		t.Error("Normalize made an incomplete profile complete")
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Fatalf("Load error %q does not start with the file name", err)
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// writes out canonically: Marshal's bytes parse again to the same bytes.
// Its seed corpus is testdata/fuzz/FuzzParse.
//
// Among the seeds are inputs that were slow or large to parse: deep
// nesting, many unknown keys, long value lists, a complete document that
// counts a loss.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validDoc))
	f.Add(nested(32 << 10))
	f.Add([]byte(strings.Replace(validDoc, `"events": 0`, `"events": 3`, 1)))
	f.Add([]byte(strings.Replace(validDoc, `[8589934593]`, `[]`, 1)))
	var keys strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&keys, `"k%d": %d, `, i, i)
	}
	f.Add([]byte(strings.Replace(validDoc, `"name": "web",`, `"name": "web", `+keys.String(), 1)))
	var values strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&values, "%d, ", 0x5400+i)
	}
	f.Add([]byte(strings.Replace(validDoc, `{"name": "read", "seen"`, `{"name": "ioctl", "args": {"values": [`+values.String()+`1]}, "seen"`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		if p.Complete == p.Loss.Any() {
			t.Fatalf("complete %v with loss %+v", p.Complete, p.Loss)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed profile does not validate: %v", err)
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, out)
		}
		again, err := q.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", out, again)
		}
	})
}

func TestPositions(t *testing.T) {
	pos := Positions([]byte(validDoc), "", "kind", "abis[0].syscalls[1].name", "abis[0].syscalls[1].args.values[0]", "nowhere")
	if len(pos) != 4 {
		t.Errorf("positions %v, want the 4 paths in the document", pos)
	}
	tests := []struct {
		path string
		want Position
	}{
		{path: "", want: Position{Line: 1, Column: 1}},
		{path: "kind", want: Position{Line: 3, Column: 3}},
		{path: "abis[0].syscalls[1].name", want: Position{Line: 11, Column: 8}},
		{path: "abis[0].syscalls[1].args.values[0]", want: Position{Line: 11, Column: 46}},
	}
	for _, tt := range tests {
		if got := pos[tt.path]; got != tt.want {
			t.Errorf("%s at %+v, want %+v", tt.path, got, tt.want)
		}
	}
	if len(Positions([]byte("{"), "")) != 0 {
		t.Error("positions of a malformed document")
	}
}
