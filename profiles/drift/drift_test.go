package drift

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func read(t *testing.T, path string) *seccompjson.Document {
	t.Helper()
	d, err := seccompjson.ReadFile(path, seccompjson.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dockerDoc(t *testing.T) *seccompjson.Document {
	t.Helper()
	data, err := json.MarshalIndent(mobyseccomp.DefaultProfile(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	d, err := seccompjson.Parse("docker-default.json", data, seccompjson.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func find(cs []Change, subject string) (Change, bool) {
	for _, c := range cs {
		if c.Subject() == subject {
			return c, true
		}
	}
	return Change{}, false
}

func TestDiff(t *testing.T) {
	r := Diff(read(t, "testdata/baseline.json"), read(t, "testdata/current.json"))
	added := []struct {
		subject string
		risk    Risk
		line    int
	}{
		{subject: "ABI x86", risk: Medium, line: 121},
		{subject: "x86 syscall read", risk: Low},
		{subject: "x86_64 syscall ptrace", risk: High},
		{subject: "x86_64 syscall io_uring_setup", risk: High},
		{subject: "x86_64 syscall chroot", risk: Low, line: 25},
		{subject: "x86_64 clone CLONE_NEWUSER|CLONE_NEWNET", risk: High, line: 37},
		{subject: "x86_64 socket AF_PACKET/SOCK_RAW", risk: High},
		{subject: "x86_64 ioctl any value (more than 32 distinct values seen)", risk: High},
		{subject: "capability CAP_NET_ADMIN", risk: High},
		{subject: "capability CAP_NET_RAW", risk: Medium},
	}
	for _, tt := range added {
		c, ok := find(r.Added, tt.subject)
		if !ok {
			t.Errorf("addition %q missing", tt.subject)
			continue
		}
		if c.Risk != tt.risk || c.Why == "" || c.Source == "" {
			t.Errorf("%s: graded %s (%q, %q), want %s with reasons", tt.subject, c.Risk, c.Why, c.Source, tt.risk)
		}
		if tt.line != 0 && c.Line != tt.line {
			t.Errorf("%s: line %d, want %d", tt.subject, c.Line, tt.line)
		}
	}
	if len(r.Added) != len(added) {
		for _, c := range r.Added {
			t.Logf("added: %s", c.Subject())
		}
		t.Errorf("%d additions, want %d", len(r.Added), len(added))
	}
	if _, ok := find(r.Added, "capability CAP_SYS_ADMIN"); ok {
		t.Error("a capability only denied counts as a need")
	}
	removed := []string{"x86_64 syscall brk", "x86_64 socket AF_INET6/SOCK_DGRAM", "capability CAP_NET_BIND_SERVICE"}
	for _, s := range removed {
		if _, ok := find(r.Removed, s); !ok {
			t.Errorf("removal %q missing", s)
		}
	}
	if len(r.Removed) != len(removed) {
		t.Errorf("%d removals, want %d: %+v", len(r.Removed), len(removed), r.Removed)
	}
	if r.Added[0].Risk != High || r.Added[len(r.Added)-1].Risk != Low {
		t.Error("additions are not sorted by risk")
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "CURRENT (testdata/current.json) is incomplete (2 events lost;") {
		t.Errorf("notes do not say CURRENT is incomplete: %q", r.Notes)
	}
}

func TestDiffSeccompBaseline(t *testing.T) {
	r := Diff(read(t, "testdata/seccomp-baseline.json"), read(t, "testdata/current.json"))
	if r.CapabilitiesCompared {
		t.Error("capabilities compared with a seccomp JSON")
	}
	for _, c := range append(r.Added, r.Removed...) {
		if c.Kind == KindCapability {
			t.Errorf("capability change %s against a seccomp JSON", c.Subject())
		}
	}
	// The baseline allows socket AF_INET/SOCK_STREAM and ioctl TCGETS
	// only; clone without namespace flags.
	for _, s := range []string{"x86_64 socket AF_PACKET/SOCK_RAW", "x86_64 clone CLONE_NEWUSER|CLONE_NEWNET", "x86_64 syscall ptrace"} {
		if _, ok := find(r.Added, s); !ok {
			t.Errorf("addition %q missing", s)
		}
	}
	if _, ok := find(r.Added, "ABI x86"); ok {
		t.Error("the seccomp baseline lists x86, yet ABI x86 is an addition")
	}
	if _, ok := find(r.Removed, "x86 syscall write"); !ok {
		t.Error("the seccomp baseline's x86 write is not a removal")
	}
}

func TestDiffIdentical(t *testing.T) {
	r := Diff(read(t, "testdata/current.json"), read(t, "testdata/current.json"))
	if len(r.Added) != 0 || len(r.Removed) != 0 {
		t.Fatalf("a profile differs from itself: %+v %+v", r.Added, r.Removed)
	}
	for _, f := range Policies {
		if v := r.Judge(f); v.Drift {
			t.Errorf("--fail-on %s: drift without changes", f)
		}
	}
}

func TestJudge(t *testing.T) {
	r := &Report{
		Added:   []Change{{Kind: KindSyscall, Name: "read", Risk: Low}, {Kind: KindSyscall, Name: "bpf", Risk: High}},
		Removed: []Change{{Kind: KindSyscall, Name: "brk"}},
	}
	onlyLow := &Report{Added: []Change{{Kind: KindSyscall, Name: "read", Risk: Medium}}}
	onlyRemoved := &Report{Removed: []Change{{Kind: KindSyscall, Name: "brk"}}}
	tests := []struct {
		name       string
		report     *Report
		policy     FailOn
		drift      bool
		violations int
	}{
		{name: "added", report: r, policy: FailOnAdded, drift: true, violations: 2},
		{name: "high", report: r, policy: FailOnHigh, drift: true, violations: 1},
		{name: "any", report: r, policy: FailOnAny, drift: true, violations: 3},
		{name: "none", report: r, policy: FailOnNone},
		{name: "high without high risk", report: onlyLow, policy: FailOnHigh},
		{name: "added with medium risk", report: onlyLow, policy: FailOnAdded, drift: true, violations: 1},
		{name: "added ignores removals", report: onlyRemoved, policy: FailOnAdded},
		{name: "any counts removals", report: onlyRemoved, policy: FailOnAny, drift: true, violations: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.report.Judge(tt.policy)
			if v.Drift != tt.drift || v.Violations != tt.violations {
				t.Errorf("Judge = %+v, want drift %v with %d violations", v, tt.drift, tt.violations)
			}
		})
	}
	if _, err := ParseFailOn("high-risk"); err == nil {
		t.Error("ParseFailOn accepted an unknown policy")
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		base     func(t *testing.T) *seccompjson.Document
		cur      string
		policy   FailOn
		formats  []Format
		colorize bool
	}{
		{name: "tailor", base: func(t *testing.T) *seccompjson.Document { return read(t, "testdata/baseline.json") },
			cur: "testdata/current.json", policy: FailOnHigh, formats: Formats},
		{name: "tailor-color", base: func(t *testing.T) *seccompjson.Document { return read(t, "testdata/baseline.json") },
			cur: "testdata/current.json", policy: FailOnHigh, formats: []Format{FormatText}, colorize: true},
		{name: "seccomp", base: func(t *testing.T) *seccompjson.Document { return read(t, "testdata/seccomp-baseline.json") },
			cur: "testdata/current.json", policy: FailOnAdded, formats: []Format{FormatText, FormatMarkdown, FormatGitHub}},
		{name: "docker", base: dockerDoc, cur: "testdata/current.json", policy: FailOnHigh, formats: []Format{FormatText}},
		{name: "touch", base: func(t *testing.T) *seccompjson.Document { return read(t, "testdata/touch-baseline.json") },
			cur: "testdata/touch-current.json", policy: FailOnHigh, formats: Formats},
		{name: "same", base: func(t *testing.T) *seccompjson.Document { return read(t, "testdata/baseline.json") },
			cur: "testdata/baseline.json", policy: FailOnAny, formats: Formats},
	}
	ext := map[Format]string{FormatText: "txt", FormatJSON: "json", FormatMarkdown: "md", FormatGitHub: "github"}
	for _, tt := range tests {
		r := Diff(tt.base(t), read(t, tt.cur))
		v := r.Judge(tt.policy)
		for _, f := range tt.formats {
			t.Run(tt.name+"/"+string(f), func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, r, v, f, RenderOptions{Color: tt.colorize}); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", tt.name+"."+ext[f])
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("output differs from %s (run go test -update after checking):\n%s", golden, buf.String())
				}
			})
		}
	}
}

func TestGitHubAnnotateFile(t *testing.T) {
	r := Diff(read(t, "testdata/baseline.json"), read(t, "testdata/current.json"))
	var buf bytes.Buffer
	if err := Render(&buf, r, r.Judge(FailOnHigh), FormatGitHub, RenderOptions{AnnotateFile: "profiles/web.json"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "::error file=profiles/web.json,title=") || strings.Contains(out, "line=") {
		t.Errorf("annotations do not name profiles/web.json without lines:\n%s", out)
	}
}

func TestGitHubEscaping(t *testing.T) {
	if got := ghData("50% done\nnext"); got != "50%25 done%0Anext" {
		t.Errorf("ghData = %q", got)
	}
	if got := ghProp("a:b,c"); got != "a%3Ab%2Cc" {
		t.Errorf("ghProp = %q", got)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := Diff(read(t, "testdata/baseline.json"), read(t, "testdata/current.json"))
	var buf bytes.Buffer
	if err := Render(&buf, r, r.Judge(FailOnHigh), FormatJSON, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Drift bool     `json:"drift"`
		Added []Change `json:"added"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Drift || len(got.Added) != len(r.Added) || got.Added[0].Risk != High {
		t.Errorf("JSON report lost information: %+v", got)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		syscall string
		v       uint64
		want    string
	}{
		{"clone", 0, "no namespace flags"},
		{"clone", 0x50000000, "CLONE_NEWUSER|CLONE_NEWNET"},
		{"unshare", 0x20000 | 0x400, "CLONE_NEWNS|CLONE_FILES"},
		{"unshare", 0x80, "CLONE_NEWTIME"},
		{"setns", 0, "any namespace type (0)"},
		{"socket", profiles.SocketValue(17, 3), "AF_PACKET/SOCK_RAW"},
		{"socket", profiles.SocketValue(99, 12), "domain 99/type 12"},
		{"ioctl", 0x5412, "TIOCSTI (0x5412)"},
		{"ioctl", 0xc0106b01, "0xc0106b01 (type 'k', nr 1)"},
		{"prctl", 38, "PR_SET_NO_NEW_PRIVS"},
		{"personality", 0xffffffff, "query (0xffffffff)"},
		{"personality", 0x0040000, "PER_LINUX|ADDR_NO_RANDOMIZE"},
		{"socketcall", 1, "SYS_SOCKET"},
	}
	for _, tt := range tests {
		if got := Describe(tt.syscall, tt.v); got != tt.want {
			t.Errorf("Describe(%s, %#x) = %q, want %q", tt.syscall, tt.v, got, tt.want)
		}
	}
	var all []uint64
	for typ := range uint64(16) {
		all = append(all, profiles.SocketValue(2, typ))
	}
	all = append(all, profiles.SocketValue(10, 1))
	if got := DescribeValues("socket", all); got != "AF_INET/any type, AF_INET6/SOCK_STREAM" {
		t.Errorf("DescribeValues = %q", got)
	}
}
