package seccompjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/tailor-dev/tailor/profiles"
)

func dockerDefault(t testing.TB) []byte {
	t.Helper()
	data, err := json.MarshalIndent(mobyseccomp.DefaultProfile(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustImport(t *testing.T, data string, opts Options) *Result {
	t.Helper()
	r, err := Import([]byte(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func args(p *profiles.Profile, abi profiles.ABI, name string) (*profiles.ArgValues, bool) {
	s, ok := p.Syscall(abi, name)
	if !ok {
		return nil, false
	}
	return s.Args, true
}

func TestImportDockerDefault(t *testing.T) {
	data := string(dockerDefault(t))
	tests := []struct {
		name    string
		caps    []string
		abi     profiles.ABI
		syscall string
		allowed bool
		args    *profiles.ArgValues
	}{
		{name: "plain", abi: profiles.ABIX8664, syscall: "read", allowed: true},
		{name: "same names on x86", abi: profiles.ABIX86, syscall: "read", allowed: true},
		{name: "x86 only name", abi: profiles.ABIX86, syscall: "socketcall", allowed: true},
		{name: "x32", abi: profiles.ABIX32, syscall: "read", allowed: true},
		{name: "refused", abi: profiles.ABIX8664, syscall: "mount"},
		{name: "gated on CAP_SYS_ADMIN", abi: profiles.ABIX8664, syscall: "bpf"},
		{name: "granted with CAP_SYS_ADMIN", caps: []string{"CAP_SYS_ADMIN"}, abi: profiles.ABIX8664, syscall: "bpf", allowed: true},
		{name: "minKernel taken as met", abi: profiles.ABIX8664, syscall: "ptrace", allowed: true},
		{name: "clone without namespace flags", abi: profiles.ABIX8664, syscall: "clone", allowed: true,
			args: &profiles.ArgValues{Values: []uint64{0}}},
		{name: "clone with CAP_SYS_ADMIN", caps: []string{"CAP_SYS_ADMIN"}, abi: profiles.ABIX8664, syscall: "clone", allowed: true},
		{name: "clone3 refused with ENOSYS", abi: profiles.ABIX8664, syscall: "clone3"},
		{name: "personality values", abi: profiles.ABIX8664, syscall: "personality", allowed: true,
			args: &profiles.ArgValues{Values: []uint64{0, 8, 0x20000, 0x20008, 0xffffffff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustImport(t, data, Options{Caps: tt.caps})
			got, ok := args(r.Profile, tt.abi, tt.syscall)
			if ok != tt.allowed {
				t.Fatalf("%s/%s allowed = %v, want %v", tt.abi, tt.syscall, ok, tt.allowed)
			}
			if !reflect.DeepEqual(got, tt.args) {
				t.Errorf("args %+v, want %+v", got, tt.args)
			}
		})
	}
	r := mustImport(t, data, Options{})
	// Docker allows socket for a list of domains (one LT rule, many EQ).
	sock, _ := args(r.Profile, profiles.ABIX8664, "socket")
	for _, tt := range []struct {
		domain, typ uint64
		want        bool
	}{{domain: 1, typ: 1, want: true}, {domain: 2, typ: 3, want: true}, {domain: 10, typ: 2, want: true}, {domain: 40, typ: 1}, {domain: 3, typ: 2}} {
		if sock == nil || slices.Contains(sock.Values, profiles.SocketValue(tt.domain, tt.typ)) != tt.want {
			t.Errorf("socket domain %d type %d allowed != %v", tt.domain, tt.typ, tt.want)
		}
	}
	if got := len(r.Profile.ABIs); got != 3 {
		t.Errorf("%d ABIs, want x86_64, x86 and x32", got)
	}
	if r.Profile.Source.Recordings != 0 || len(r.Profile.Capabilities) != 0 {
		t.Errorf("imported profile claims recordings or capabilities: %+v", r.Profile.Source)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "capabilities: none") }) {
		t.Errorf("notes do not say how capability rules were evaluated: %q", r.Notes)
	}
	// Docker's default names syscalls newer than this libseccomp: skipped
	// with a note by default, refused when strict.
	if _, err := Import([]byte(data), Options{Strict: true}); err != nil && !errors.Is(err, ErrInvalid) {
		t.Errorf("strict import error %v is not ErrInvalid", err)
	}
}

func TestImportShapes(t *testing.T) {
	const head = `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [`
	tests := []struct {
		name    string
		rules   string
		syscall string
		want    *profiles.ArgValues // nil: any argument
		note    string
	}{
		{name: "tailor's socket",
			rules: `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
				{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
				{"index": 1, "value": 15, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
				{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
				{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"},
				{"index": 1, "value": 15, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			syscall: "socket", want: &profiles.ArgValues{Values: []uint64{profiles.SocketValue(2, 1), profiles.SocketValue(10, 2)}}},
		{name: "socket domain only is every type",
			rules:   `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}`,
			syscall: "socket", want: &profiles.ArgValues{Values: socketDomain(1)}},
		{name: "socket domain range",
			rules:   `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LE"}, {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}`,
			syscall: "socket", want: &profiles.ArgValues{Values: []uint64{profiles.SocketValue(0, 1), profiles.SocketValue(1, 1)}}},
		{name: "socket other shape",
			rules:   `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_NE"}]}`,
			syscall: "socket", note: "not one of tailor's shapes"},
		{name: "masked clone",
			rules:   `{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			syscall: "clone", want: &profiles.ArgValues{Values: []uint64{0}}},
		{name: "clone with another mask",
			rules:   `{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 256, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			syscall: "clone", note: "clone's argument rule"},
		{name: "ioctl requests",
			rules:   `{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 21505, "op": "SCMP_CMP_EQ"}]}, {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 4294967295, "valueTwo": 21506, "op": "SCMP_CMP_MASKED_EQ"}]}`,
			syscall: "ioctl", want: &profiles.ArgValues{Values: []uint64{21505, 21506}}},
		{name: "ioctl on the wrong argument",
			rules:   `{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}`,
			syscall: "ioctl", note: "ioctl's argument rule"},
		{name: "unconditional rule widens",
			rules:   `{"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}, {"names": ["unshare"], "action": "SCMP_ACT_ALLOW"}`,
			syscall: "unshare"},
		{name: "no argument rule in tailor",
			rules:   `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}`,
			syscall: "read", note: "read is allowed only with some arguments"},
		{name: "conditional deny widens",
			rules:   `{"names": ["setns"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}, {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]}`,
			syscall: "setns", note: "refused with some argument values only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustImport(t, head+tt.rules+"]}", Options{})
			got, ok := args(r.Profile, profiles.ABIX8664, tt.syscall)
			if !ok {
				t.Fatalf("%s not allowed", tt.syscall)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("args %+v, want %+v", got, tt.want)
			}
			if tt.note != "" && !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("notes %q lack %q", r.Notes, tt.note)
			}
		})
	}
}

func socketDomain(d uint64) []uint64 {
	var out []uint64
	for typ := range uint64(16) {
		out = append(out, profiles.SocketValue(d, typ))
	}
	return out
}

func TestImportDenylist(t *testing.T) {
	r := mustImport(t, `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["ptrace", "kexec_load"], "action": "SCMP_ACT_KILL"},
		{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]}]}`, Options{})
	p := r.Profile
	if len(p.ABIs) != 1 || p.ABIs[0].ABI != profiles.ABIX8664 {
		t.Fatalf("ABIs %+v, want the native x86_64 only", p.ABIs)
	}
	for name, want := range map[string]bool{"read": true, "mount": true, "ptrace": false, "kexec_load": false, "socket": true} {
		if _, ok := p.Syscall(profiles.ABIX8664, name); ok != want {
			t.Errorf("%s allowed = %v, want %v", name, ok, want)
		}
	}
	if a, _ := args(p, profiles.ABIX8664, "socket"); a != nil {
		t.Errorf("socket args %+v, want any", a)
	}
	if n := len(p.Syscalls(profiles.ABIX8664)); n < 300 {
		t.Errorf("only %d syscalls allowed by a denylist", n)
	}
	// Every ABI's full table is valid (Import validates what it builds).
	all := mustImport(t, `{"defaultAction": "SCMP_ACT_LOG", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]}`, Options{})
	for _, a := range all.Profile.ABIs {
		if len(a.Syscalls) < 300 {
			t.Errorf("%s: only %d syscalls", a.ABI, len(a.Syscalls))
		}
	}
}

func TestImportArchitectures(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []profiles.ABI
	}{
		{name: "listed", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]}`,
			want: []profiles.ABI{profiles.ABIX8664, profiles.ABIX86}},
		{name: "native always", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_AARCH64"]}`,
			want: []profiles.ABI{profiles.ABIX8664}},
		{name: "archMap host entry", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
			{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
			{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X32"]}]}`,
			want: []profiles.ABI{profiles.ABIX8664, profiles.ABIX32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []profiles.ABI
			for _, a := range mustImport(t, tt.doc, Options{}).Profile.ABIs {
				got = append(got, a.ABI)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ABIs %v, want %v", got, tt.want)
			}
		})
	}
}

func TestImportRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts Options
		want string
	}{
		{name: "malformed", doc: "{\n\"defaultAction\": }", want: "line 2, column 18"},
		{name: "unknown field", doc: "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscall\": []}", want: `line 2, column 2: unknown field "syscall"`},
		{name: "duplicate key", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "defaultAction": "SCMP_ACT_ALLOW"}`, want: `key "defaultAction" appears twice`},
		{name: "case variant of defaultAction", doc: "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"DefaultAction\": \"SCMP_ACT_ALLOW\"}",
			want: `line 2, column 2: in the document: key "DefaultAction" is not the field "defaultAction"`},
		{name: "case variant in a rule", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "Action": "SCMP_ACT_ERRNO"}]}`,
			want: `in syscalls[0]: key "Action" is not the field "action"`},
		{name: "missing default action", doc: `{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`, want: "defaultAction: missing"},
		{name: "unknown default action", doc: `{"defaultAction": "SCMP_ACT_MAYBE"}`, want: `line 1, column 2: defaultAction: unknown action "SCMP_ACT_MAYBE"`},
		{name: "unknown action", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "ALLOW"}]}`, want: `syscalls[0].action: unknown action "ALLOW"`},
		{name: "unknown architecture", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_65"]}`, want: `line 1, column 55: architectures[0]: unknown architecture "SCMP_ARCH_X86_65"`},
		{name: "duplicate architecture", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X86"]}`, want: "architectures[1]: architecture \"SCMP_ARCH_X86\" listed twice"},
		{name: "architectures and archMap", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, want: "both architectures and archMap"},
		{name: "name and names", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}`, want: "syscalls[0].name: both name and names"},
		{name: "no names", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}`, want: "syscalls[0]: no syscall names"},
		{name: "duplicate name", doc: "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n{\"names\": [\"read\", \"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}", want: `line 2, column 20: syscalls[0].names[1]: syscall "read" listed twice`},
		{name: "argument index", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}`, want: "syscalls[0].args[0]: argument index 6 out of range"},
		{name: "operator", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "EQ"}]}]}`, want: `unknown operator "EQ"`},
		{name: "unknown capability", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMN"]}}]}`, want: `syscalls[0].includes.caps[0]: unknown capability "CAP_SYS_ADMN"`},
		{name: "unknown syscall when strict", opts: Options{Strict: true}, doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrac"], "action": "SCMP_ACT_ALLOW"}]}`, want: `syscalls[0].names[0]: unknown syscall "ptrac"`},
		{name: "bad kernel version", doc: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}`, want: "invalid kernel version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import([]byte(tt.doc), tt.opts)
			if err == nil {
				t.Fatal("Import accepted the document")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Import([]byte(`{"defaultAction": "SCMP_ACT_ERRNO"}`), Options{Caps: []string{"sys_admin"}}); err == nil {
		t.Error("a misspelt assumed capability was accepted")
	}
}

func TestImportUnknownNameNoted(t *testing.T) {
	r := mustImport(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "ptrac"], "action": "SCMP_ACT_ALLOW"}]}`, Options{})
	want := `line 1, column 69: syscalls[0].names[1]: unknown syscall "ptrac" skipped`
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, want) }) {
		t.Errorf("notes %q lack %q", r.Notes, want)
	}
	if got := r.Profile.SyscallNames(profiles.ABIX8664); !reflect.DeepEqual(got, []string{"read"}) {
		t.Errorf("syscalls %v", got)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Format
		err  string
	}{
		{name: "tailor", doc: `{"kind": "TailorProfile", "schemaVersion": 1}`, want: FormatTailor},
		{name: "seccomp", doc: `{"defaultAction": "SCMP_ACT_ERRNO"}`, want: FormatSeccomp},
		{name: "other kind", doc: `{"kind": "Pod"}`, err: "kind is \"Pod\""},
		{name: "neither", doc: `{"syscalls": []}`, err: "neither a tailor profile"},
		{name: "not an object", doc: `[]`, err: "cannot unmarshal array"},
		{name: "malformed", doc: `{"kind": `, err: "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Detect error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseNamesFile(t *testing.T) {
	_, err := Parse("baseline.json", []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "X"}]}`), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "baseline.json: invalid seccomp profile: line 1, column ") {
		t.Fatalf("error %v does not name the file and position", err)
	}
	doc, err := Parse("p.json", []byte(`{"kind": "TailorProfile", "schemaVersion": 1, "abis": [], "capabilities": []}`), Options{})
	if err != nil || doc.Format != FormatTailor {
		t.Fatalf("Parse = %+v, %v", doc, err)
	}
}

// FuzzImport checks that Import never panics, refuses with ErrInvalid, and
// that whatever it accepts is a valid profile. Its seed corpus is
// testdata/fuzz/FuzzImport, and inputs that were slow: many notes, each
// of which walked the document, repeated value ranges, deep nesting.
func FuzzImport(f *testing.F) {
	f.Add(dockerDefault(f))
	f.Add(unknownNames(8000))
	f.Add(rules(700, `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": %d, "op": "SCMP_CMP_EQ"}]}`))
	f.Add(rules(700, `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 64, "op": "SCMP_CMP_LT"}]}`))
	f.Add([]byte(`{"defaultAction": "SCMP_ACT_ERRNO", "x": ` + strings.Repeat("[", 64<<10) + strings.Repeat("]", 64<<10) + `}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Import(data, Options{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		out, err := r.Profile.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := profiles.Parse(out); err != nil {
			t.Fatalf("imported profile does not parse: %v", err)
		}
		for _, a := range r.Profile.ABIs {
			for _, s := range a.Syscalls {
				if s.Args != nil && s.Args.Overflow {
					t.Fatalf("%s: imported profile overflows", s.Name)
				}
			}
		}
	})
}
