package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiles"
)

// -update rewrites golden files; defined here unless another test file of
// the package already did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func applyGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "apply", name)
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it)\ngot:\n%s", path, got)
	}
}

func applyProfile(t *testing.T) *profiles.Profile {
	t.Helper()
	p := profiles.New("web")
	p.ABIs = []profiles.ABISyscalls{{ABI: profiles.ABIX8664, Syscalls: []profiles.Syscall{
		{Name: "read"}, {Name: "write"}, {Name: "exit_group"}, {Name: "execve"},
		{Name: "socket", Args: &profiles.ArgValues{Values: []uint64{profiles.SocketValue(2, 1)}}},
	}}}
	p.Capabilities = []profiles.Capability{{Name: "CAP_CHOWN", Granted: true}, {Name: "CAP_SYS_ADMIN", Denied: true}}
	p.Normalize()
	return p
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "apply", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestApplyProfile(t *testing.T) {
	runcSpec := readTestdata(t, "runc-spec.json")
	tests := []struct {
		name   string
		config []byte
		golden string
		notes  []string
	}{
		{name: "runc spec", config: runcSpec, golden: "runc-spec.out.json",
			notes: []string{"CAP_SYS_ADMIN was checked and denied"}},
		{name: "no linux, two spaces", golden: "spaces.out.json",
			config: []byte("{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"noNewPrivileges\": false},\n  \"root\": {\"path\": \"rootfs\"}\n}\n")},
		{name: "compact, replaces seccomp", golden: "compact.out.json",
			config: []byte(`{"process":{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_SYS_ADMIN"],"ambient":["CAP_SYS_ADMIN"]}},` +
				`"linux":{"namespaces":[{"type":"mount"}],"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}}`),
			notes: []string{"the bundle's linux.seccomp is kept as a limit", "it refuses nothing the profile allows"}},
	}
	p := applyProfile(t)
	wantSeccomp, _, err := generator.Seccomp(p, generator.SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, notes, err := ApplyProfile(tc.config, p, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			applyGolden(t, tc.golden, out)
			for _, w := range tc.notes {
				if !slices.ContainsFunc(notes, func(n generator.Note) bool { return strings.Contains(n.String(), w) }) {
					t.Errorf("no note says %q: %v", w, notes)
				}
			}

			// What apply owns is exactly the generated filter and set.
			var spec specs.Spec
			if err := json.Unmarshal(out, &spec); err != nil {
				t.Fatalf("output is not an OCI config: %v", err)
			}
			if !reflect.DeepEqual(spec.Linux.Seccomp, wantSeccomp) {
				t.Errorf("linux.seccomp is not the generated filter:\n%+v", spec.Linux.Seccomp)
			}
			c := spec.Process.Capabilities
			for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted} {
				if !slices.Equal(set, []string{"CAP_CHOWN"}) {
					t.Errorf("capability set %v, want [CAP_CHOWN]", set)
				}
			}
			if len(c.Inheritable)+len(c.Ambient) != 0 {
				t.Errorf("inheritable %v, ambient %v, want both empty", c.Inheritable, c.Ambient)
			}

			// Everything else survives: same values, same key order.
			before, after := withoutOwned(t, tc.config), withoutOwned(t, out)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("fields apply does not own changed:\nbefore %v\nafter  %v", before, after)
			}
			if got, want := keys(t, out), keys(t, tc.config); !slices.Equal(got[:len(want)], want) {
				t.Errorf("top-level key order %v, want %v first", got, want)
			}
		})
	}
}

// withoutOwned decodes a config (numbers as written) without the two
// fields apply owns.
func withoutOwned(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if proc, ok := m["process"].(map[string]any); ok {
		delete(proc, "capabilities")
	}
	if linux, ok := m["linux"].(map[string]any); ok {
		delete(linux, "seccomp")
		if len(linux) == 0 {
			delete(m, "linux")
		}
	}
	return m
}

func keys(t *testing.T, data []byte) []string {
	t.Helper()
	cfg, err := ociconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Keys()
	return k
}

func TestApplyProfileRefuses(t *testing.T) {
	good := []byte(`{"process":{"args":["sh"],"cwd":"/"}}`)
	incomplete := applyProfile(t)
	incomplete.Loss.Events = 3
	incomplete.Normalize()
	invalid := applyProfile(t)
	invalid.ABIs[0].Syscalls = append(invalid.ABIs[0].Syscalls, profiles.Syscall{Name: "frobnicate"})
	tests := []struct {
		name    string
		config  []byte
		profile *profiles.Profile
		is      error
		want    string
	}{
		{name: "empty", config: []byte{}, is: ErrBadConfig},
		{name: "truncated", config: []byte(`{"process":`), is: ErrBadConfig},
		{name: "array", config: []byte(`[]`), is: ErrBadConfig},
		{name: "process not an object", config: []byte(`{"process":1}`), is: ErrBadConfig, want: "process"},
		{name: "args not a list", config: []byte(`{"process":{"args":"sh"}}`), is: ErrBadConfig, want: "args"},
		{name: "linux not an object", config: []byte(`{"process":{},"linux":[]}`), is: ErrBadConfig, want: "linux"},
		{name: "no process", config: []byte(`{"ociVersion":"1.2.0"}`), is: ErrBadConfig, want: "no process"},
		{name: "null process", config: []byte(`{"process":null}`), is: ErrBadConfig, want: "no process"},
		{name: "duplicate key", config: []byte(`{"process":{},"process":{}}`), is: ErrBadConfig, want: `"process" appears twice`},
		{name: "duplicate nested key", config: []byte(`{"process":{"cwd":"/","cwd":"/"}}`), is: ErrBadConfig, want: `"cwd" appears twice`},
		{name: "trailing data", config: []byte(`{"process":{}} {}`), is: ErrBadConfig},
		{name: "incomplete profile", config: good, profile: incomplete, is: ErrIncomplete, want: "3 events lost): it may be too tight to run the workload; learn again, or enforce it anyway with --allow-incomplete"},
		{name: "invalid profile", config: good, profile: invalid, is: profiles.ErrInvalid, want: "frobnicate"},
		{name: "no profile", config: good, want: "no profile"},
		{name: "unreadable engine filter", config: []byte(`{"process":{},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_MAYBE"}}}`),
			is: ErrBadConfig, want: `the bundle's linux.seccomp: intersect seccomp: the engine's filter: defaultAction: unsupported action "SCMP_ACT_MAYBE" (fix or remove it)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.profile
			if p == nil && tc.name != "no profile" {
				p = applyProfile(t)
			}
			out, _, err := ApplyProfile(tc.config, p, ApplyOptions{})
			if err == nil {
				t.Fatalf("accepted, wrote:\n%s", out)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not say %q", err, tc.want)
			}
		})
	}
	if _, _, err := ApplyProfile(good, incomplete, ApplyOptions{AllowIncomplete: true}); err != nil {
		t.Errorf("incomplete profile refused with AllowIncomplete: %v", err)
	}
}

func TestApplyRefusesLandlockWithComplain(t *testing.T) {
	both := ApplyOptions{Landlock: &LandlockOptions{Dir: t.TempDir()}, Complain: &ComplainOptions{}}
	out, _, err := ApplyProfile([]byte(`{"ociVersion":"1.0.2","process":{"args":["/bin/true"]},"root":{"path":"rootfs"}}`), applyProfile(t), both)
	if err == nil {
		t.Fatalf("Landlock with complain mode accepted, wrote:\n%s", out)
	}
	if !strings.Contains(err.Error(), "cannot be combined") {
		t.Errorf("error %v does not say the two cannot be combined", err)
	}
}

func TestApplyKeepsNoNewPrivileges(t *testing.T) {
	for _, nnp := range []string{"true", "false", ""} {
		config := `{"process":{"args":["sh"]` + map[bool]string{true: `,"noNewPrivileges":` + nnp, false: ""}[nnp != ""] + `}}`
		out, _, err := ApplyProfile([]byte(config), applyProfile(t), ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var spec specs.Spec
		if err := json.Unmarshal(out, &spec); err != nil {
			t.Fatal(err)
		}
		if got := spec.Process.NoNewPrivileges; got != (nnp == "true") {
			t.Errorf("noNewPrivileges %q became %v", nnp, got)
		}
		if nnp == "" && strings.Contains(string(out), "noNewPrivileges") {
			t.Errorf("noNewPrivileges added: %s", out)
		}
	}
}

func TestApplyBundle(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")
	original := readTestdata(t, "runc-spec.json")
	if err := os.WriteFile(config, original, 0o600); err != nil {
		t.Fatal(err)
	}
	p := applyProfile(t)
	if _, err := ApplyBundle(dir, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want, _, err := ApplyProfile(original, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, config, want, 0o600)
	assertFile(t, config+BackupSuffix, original, 0o600)

	// A second apply changes config.json but keeps the user's original.
	p2 := applyProfile(t)
	p2.Capabilities = nil
	p2.Normalize()
	if _, err := ApplyBundle(dir, p2, ApplyOptions{Seccomp: generator.SeccompOptions{DefaultAction: generator.DefaultKill}}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, config+BackupSuffix, original, 0o600)
	if got, _ := os.ReadFile(config); !bytes.Contains(got, []byte("SCMP_ACT_KILL_PROCESS")) {
		t.Errorf("second apply not written:\n%s", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestApplyBundleRefusesAndLeavesFile(t *testing.T) {
	tests := []struct {
		name    string
		config  []byte // nil: no config.json
		profile func(*profiles.Profile)
		want    string
	}{
		{name: "invalid config", config: []byte(`{"process": {"args": "sh"}}`), want: "config.json: invalid OCI config"},
		{name: "incomplete profile", config: []byte(`{"process": {"args": ["sh"]}}`),
			profile: func(p *profiles.Profile) { p.Loss.Reasons = []string{"tracer stopped early"}; p.Normalize() },
			want:    "tracer stopped early"},
		{name: "missing config", want: "config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			config := filepath.Join(dir, "config.json")
			if tc.config != nil {
				if err := os.WriteFile(config, tc.config, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := applyProfile(t)
			if tc.profile != nil {
				tc.profile(p)
			}
			_, err := ApplyBundle(dir, p, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v does not name the bundle's file", err)
			}
			if tc.config != nil {
				assertFile(t, config, tc.config, 0o644)
			}
			if _, err := os.Stat(config + BackupSuffix); !os.IsNotExist(err) {
				t.Errorf("backup written for a refused apply (%v)", err)
			}
		})
	}
}

func assertFile(t *testing.T, path string, want []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != perm {
		t.Errorf("%s mode %v, want %v", path, info.Mode().Perm(), perm)
	}
}
