package profiles

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const touchDoc = `{
  "schemaVersion": 2,
  "kind": "TailorProfile",
  "complete": true,
  "loss": {"events": 0, "tasks": 0, "argValues": 0},
  "source": {"recordings": 1},
  "abis": [],
  "capabilities": [],
  "recorded": ["syscalls", "capabilities", "files", "programs", "network", "signals"],
  "files": [
    {"path": "/etc/passwd", "type": "file", "access": ["read"], "seen": {"comm": "cat", "recordings": 1}},
    {"pathBase64": "L3RtcC//", "type": "file", "access": ["create", "write"], "seen": {"recordings": 1}}
  ],
  "programs": [{"path": "/bin/sh", "seen": {"recordings": 1}}],
  "network": [{"op": "connect", "family": "inet", "protocol": "tcp", "port": 443, "seen": {"recordings": 1}}],
  "signals": [
    {"signal": "SIGTERM", "target": "dockerd", "seen": {"recordings": 1}},
    {"signal": "ptrace", "target": "sshd", "failed": true, "seen": {"recordings": 1}}
  ]
}
`

func TestTouchRoundTrip(t *testing.T) {
	p, err := Parse([]byte(touchDoc))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Files[1].Path; got != "/tmp/\xff" {
		t.Fatalf("pathBase64 decoded to %q, want /tmp/\\xff", got)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"pathBase64": "L3RtcC//"`)) {
		t.Errorf("a non-UTF-8 path is not kept as pathBase64:\n%s", out)
	}
	q, err := Parse(out)
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("round trip changed the profile:\n%+v\n%+v", p, q)
	}
	again, _ := q.Marshal()
	if !bytes.Equal(out, again) {
		t.Errorf("bytes not stable:\n%s\n%s", out, again)
	}
}

func TestVersion1LoadsWithoutTouch(t *testing.T) {
	p, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	if p.SchemaVersion != SchemaVersion || !p.Records(DimSyscalls) || p.Records(DimFiles) {
		t.Fatalf("v1 document read as version %d recording %v", p.SchemaVersion, p.Recorded)
	}
	if err := p.RequireRecorded(DimFiles, DimNetwork); err == nil || !strings.Contains(err.Error(), "did not record files, network") {
		t.Errorf("RequireRecorded = %v, want the missing dimensions named", err)
	}
	out, _ := p.Marshal()
	if !bytes.Contains(out, []byte(`"schemaVersion": 2`)) || !bytes.Contains(out, []byte(`"recorded": [`)) {
		t.Errorf("a loaded v1 profile is not written as v2:\n%s", out)
	}
}

func TestTouchRefuses(t *testing.T) {
	tests := []struct{ name, old, new, want string }{
		{"v1 with files", `"schemaVersion": 2`, `"schemaVersion": 1`, "schemaVersion 1 document has no recorded"},
		{"v2 without recorded", `"recorded": ["syscalls", "capabilities", "files", "programs", "network", "signals"],`, ``, "lists the dimensions it recorded"},
		{"unknown dimension", `"signals"]`, `"signals", "dreams"]`, `unknown dimension "dreams"`},
		{"relative path", `"/etc/passwd"`, `"etc/passwd"`, "is not absolute"},
		{"unclean path", `"/etc/passwd"`, `"/etc/../passwd"`, "is not clean"},
		{"NUL", `"/etc/passwd"`, `"/etc/\u0000"`, "NUL"},
		{"both path forms", `"pathBase64": "L3RtcC//"`, `"path": "/x", "pathBase64": "L3RtcC//"`, "both path and pathBase64"},
		{"base64 of UTF-8", `"L3RtcC//"`, `"L3RtcA=="`, "is valid UTF-8"},
		{"unknown access", `["read"]`, `["slurp"]`, `unknown access "slurp"`},
		{"no access", `["read"]`, `[]`, "no access listed"},
		{"duplicate path", `"pathBase64": "L3RtcC//"`, `"path": "/etc/passwd"`, "listed twice"},
		{"unknown field in file", `"type": "file", "access": ["read"]`, `"type": "file", "mode": 1, "access": ["read"]`, "unknown field"},
		{"bad port", `"port": 443`, `"port": 70000`, "out of range"},
		{"bad family", `"family": "inet"`, `"family": "ipx"`, `unknown family "ipx"`},
		{"bad protocol", `"protocol": "tcp"`, `"protocol": "stream"`, "is not one of family inet's"},
		{"bad signal", `"SIGTERM"`, `"TERM"`, "want a SIG name"},
		{"failed signal", `"target": "dockerd",`, `"target": "dockerd", "failed": true,`, "only a ptrace attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(touchDoc, tt.old, tt.new, 1)
			if doc == touchDoc {
				t.Fatalf("%q not in the document", tt.old)
			}
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMergeTouch(t *testing.T) {
	a, err := Parse([]byte(touchDoc))
	if err != nil {
		t.Fatal(err)
	}
	b := New("")
	b.Recorded = append(b.Recorded, DimFiles, DimPrograms, DimNetwork, DimSignals)
	b.Files = []File{{Path: "/etc/passwd", Type: TypeRegular, Access: []Access{AccessLock}, Seen: Seen{Comm: "a", Recordings: 1}}}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	f := m.Files[0]
	if f.Path != "/etc/passwd" || !reflect.DeepEqual(f.Access, []Access{AccessLock, AccessRead}) || f.Seen.Recordings != 2 {
		t.Errorf("merged file = %+v, want read+lock seen twice", f)
	}
	if len(m.Programs) != 1 || m.Programs[0].Seen.Recordings != 1 || !m.Records(DimSignals) {
		t.Errorf("merged = %+v", m)
	}
	// A profile that did not record files makes the merge not record them.
	m, err = Merge(a, New(""))
	if err != nil {
		t.Fatal(err)
	}
	if m.Records(DimFiles) || !m.Records(DimSyscalls) {
		t.Errorf("merge with a v1-style profile records %v", m.Recorded)
	}
	if len(m.Files) != 2 {
		t.Errorf("merge dropped the files it knows of: %+v", m.Files)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out); err != nil {
		t.Errorf("a merge with a partial files section does not load: %v", err)
	}
}

func TestFileJSONKeepsEveryByte(t *testing.T) {
	for _, name := range []string{"/a b", "/\"q\"", "/x,y#z", "/*?[]{}", "/@{HOME}", "/new\nline", "/\x01\x7f", "/\xc3\x28", "/é"} {
		b, err := json.Marshal(File{Path: name, Access: []Access{AccessRead}})
		if err != nil {
			t.Fatal(err)
		}
		var f File
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if f.Path != name {
			t.Errorf("%q came back as %q (%s)", name, f.Path, b)
		}
	}
}
