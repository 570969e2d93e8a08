package runtimeargs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParse checks runc lines as engines write them, and commands Parse
// finds but reads no further.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Request
	}{
		{"containerd create", []string{"--root", "/run/docker/runtime-runc/moby", "--log", "/b/log.json",
			"--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "abc"},
			Request{Command: "create", ID: "abc", Bundle: "/b", Log: "/b/log.json", LogFormat: "json"}},
		{"equals and short bundle", []string{"--log=/l", "create", "-b", "/b", "id"},
			Request{Command: "create", ID: "id", Bundle: "/b", Log: "/l"}},
		{"bundle with equals", []string{"run", "--bundle=/b", "--no-pivot", "id"},
			Request{Command: "run", ID: "id", Bundle: "/b"}},
		{"single dash long flag", []string{"-log", "/l", "-log-format", "text", "create", "id"},
			Request{Command: "create", ID: "id", Log: "/l", LogFormat: "text"}},
		{"no bundle: working directory", []string{"create", "--console-socket", "/s", "id"},
			Request{Command: "create", ID: "id"}},
		{"a --bundle after the command only", []string{"--root", "--bundle", "delete", "--force", "id"},
			Request{Command: "delete"}},
		{"other command", []string{"--root", "/r", "state", "id"}, Request{Command: "state"}},
		{"double dash", []string{"--", "create", "--bundle", "/b", "id"}, Request{Command: "create", ID: "id", Bundle: "/b"}},
		{"nothing", nil, Request{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(Runc, tt.args)
			got.Globals = nil // TestParseForms checks them
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

// TestParseForms checks each form of option, per runtime: what Parse
// reads (as the runtime would) and what it refuses, naming the argument at
// fault and the fix.
func TestParseForms(t *testing.T) {
	create := func(bundle string) Request { return Request{Command: "create", ID: "id", Bundle: bundle} }
	tests := []struct {
		name string
		d    Dialect
		args []string
		want Request // compared when wantErr is ""
		// wantErr is in the error; the runtime would fail on the line, or
		// read it other than Parse could.
		wantErr string
	}{
		{"runc: -b=VALUE", Runc, []string{"create", "-b=/b", "id"}, create("/b"), ""},
		{"runc: --b VALUE", Runc, []string{"create", "--b", "/b", "id"}, create("/b"), ""},
		{"runc: -bundle VALUE", Runc, []string{"create", "-bundle", "/b", "id"}, create("/b"), ""},
		{"runc: --bundle=VALUE", Runc, []string{"create", "--bundle=/b", "id"}, create("/b"), ""},
		{"runc: boolean with a value", Runc, []string{"create", "--no-pivot=false", "--bundle", "/b", "id"}, create("/b"), ""},
		{"runc: a value that starts with -", Runc, []string{"create", "--bundle", "-b", "id"}, create("-b"), ""},
		{"runc: abbreviation", Runc, []string{"create", "--bund", "/b", "id"}, Request{}, "--bund: runc has no such option (--bundle?)"},
		{"runc: attached value", Runc, []string{"create", "-b/b", "id"}, Request{}, "-b/b: runc has no such option, and reads no value attached to -b: write -b /b"},
		{"runc: crun's --config", Runc, []string{"create", "--config", "/c", "id"}, Request{}, "--config: runc has no such option (options: --bundle/-b"},
		{"runc: option after the id", Runc, []string{"create", "id", "--bundle", "/b"}, Request{}, `--bundle comes after the container id "id": put every option before the id`},
		{"runc: bundle twice", Runc, []string{"create", "--bundle", "/a", "-b", "/b", "id"}, Request{}, `-b: the bundle is given twice ("/a", then "/b")`},
		{"runc: empty bundle", Runc, []string{"create", "--bundle=", "id"}, Request{}, "--bundle=: the bundle is empty"},
		{"runc: missing value", Runc, []string{"create", "id", "--bundle"}, Request{}, "--bundle comes after the container id"},
		{"runc: value missing at the end", Runc, []string{"create", "--bundle"}, Request{}, "--bundle needs a value"},
		{"runc: no id", Runc, []string{"create", "--bundle", "/b"}, Request{}, "create: no container id"},
		{"runc: two ids", Runc, []string{"create", "a", "b"}, Request{}, `more than one container id (["a" "b"])`},
		{"runc: malformed", Runc, []string{"create", "---bundle", "/b", "id"}, Request{}, "---bundle: not an option runc reads"},
		{"runc: unknown global before create", Runc, []string{"--log", "/l", "--bogus", "x", "create", "--bundle", "/b", "id"},
			Request{}, `cannot tell the runtime command: --bogus: runc has no such option (options: --debug`},
		{"runc: unknown global, no create", Runc, []string{"--bogus", "x", "state", "id"}, Request{}, ""},
		{"runc: exec --process", Runc, []string{"--root", "/r", "exec", "--process", "/p.json", "--detach", "id"},
			Request{Command: "exec", Globals: []string{"--root", "/r"}, ID: "id", Process: "/p.json"}, ""},
		{"runc: exec --cap", Runc, []string{"exec", "--cap", "CAP_A", "-c", "CAP_B", "id", "sh", "-p", "x"},
			Request{Command: "exec", ID: "id", Caps: []string{"CAP_A", "CAP_B"}}, ""},
		{"runc: exec -- id", Runc, []string{"exec", "-t", "--", "id", "sh"}, Request{Command: "exec", ID: "id"}, ""},
		{"runc: exec process twice", Runc, []string{"exec", "-p", "/a", "--process", "/b", "id"}, Request{}, "given twice"},
		{"runc: exec without an id", Runc, []string{"exec", "-p", "/a"}, Request{}, "exec: no container id"},

		{"crun: --config", Crun, []string{"create", "--bundle", "/b", "--config", "/c.json", "id"}, Request{},
			`--config: crun would read the container's config from "/c.json" instead of the bundle's config.json, which is the file tailor prepares: write the config to BUNDLE/config.json and drop --config`},
		{"crun: -f", Crun, []string{"run", "-f", "config.json", "id"}, Request{}, `-f: crun would read the container's config from "config.json"`},
		{"crun: --config=", Crun, []string{"create", "--config=/c", "id"}, Request{}, "--config=/c: crun would read"},
		{"crun: abbreviation of --config", Crun, []string{"create", "--conf", "/c", "id"}, Request{}, "--conf: an abbreviation (of --config), which crun expands"},
		{"crun: abbreviation", Crun, []string{"create", "--bund", "/b", "id"}, Request{},
			"--bund: an abbreviation (of --bundle), which crun expands: tailor runtime reads options only written in full: write --bundle"},
		{"crun: --b", Crun, []string{"create", "--b", "/b", "id"}, Request{}, "--b: an abbreviation (of --bundle)"},
		{"crun: ambiguous prefix", Crun, []string{"create", "--p", "/b", "id"}, Request{}, "--p: an abbreviation (of --pid-file or --preserve-fds or --program-name), which crun finds ambiguous"},
		{"crun: attached value", Crun, []string{"create", "-b/b", "id"}, Request{}, `-b/b: crun reads it as -b with the value "/b": write -b VALUE or --bundle=VALUE`},
		{"crun: -b=VALUE", Crun, []string{"create", "-b=/b", "id"}, Request{}, `crun reads it as -b with the value "=/b"`},
		{"crun: single-dash long", Crun, []string{"create", "-bundle", "/b", "id"}, Request{}, `crun reads it as -b with the value "undle"`},
		{"crun: grouped switches", Crun, []string{"run", "-db", "/b", "id"}, Request{}, "-db: crun reads it as a group of one-letter options: write them apart (-d -b)"},
		{"crun: switches apart", Crun, []string{"run", "-d", "-b", "/b", "id"}, Request{Command: "run", ID: "id", Bundle: "/b"}, ""},
		{"crun: switch with a value", Crun, []string{"create", "--no-pivot=1", "id"}, Request{}, `--no-pivot=1: --no-pivot takes no value after "=" in crun`},
		{"crun: global abbreviation", Crun, []string{"--ro", "/r", "create", "id"}, Request{}, `cannot tell the runtime command: --ro: an abbreviation (of --root or --rootless)`},
		{"crun: single-dash global", Crun, []string{"-log", "/l", "create", "id"}, Request{}, `cannot tell the runtime command: -log: crun has no option -l`},
		{"crun: containerd's line", Crun, []string{"--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/p", "id"},
			Request{Command: "create", Globals: []string{"--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup"}, Log: "/l", LogFormat: "json", ID: "id", Bundle: "/b"}, ""},
		{"crun: exec --tty=VALUE", Crun, []string{"exec", "--tty=x", "-p", "/p", "id"}, Request{Command: "exec", ID: "id", Process: "/p"}, ""},
		{"crun: exec -tp", Crun, []string{"exec", "-tp", "/p", "id"}, Request{}, "-tp: crun reads it as -t with the value \"p\""},
		{"crun: restore --network-lock", Crun, []string{"restore", "--network-lock", "x", "-b", "/b", "id"}, Request{Command: "restore", ID: "id", Bundle: "/b"}, ""},
		{"crun: restore --network-lock=", Crun, []string{"restore", "--network-lock=x", "id"}, Request{}, "--network-lock takes its value as the next argument"},

		{"other: -b VALUE", Other, []string{"create", "-b", "/b", "id"}, create("/b"), ""},
		{"other: --bundle=VALUE", Other, []string{"create", "--bundle=/b", "id"}, create("/b"), ""},
		{"other: -b=VALUE", Other, []string{"create", "-b=/b", "id"}, Request{}, `-b=/b: runc reads it as one option, crun as -b followed by "=/b": write -b VALUE or --bundle=VALUE`},
		{"other: single-dash long", Other, []string{"create", "-bundle", "/b", "id"}, Request{}, "-bundle: runc reads it as one option"},
		{"other: abbreviation", Other, []string{"create", "--bund", "/b", "id"}, Request{}, "--bund: an abbreviation (of --bundle)"},
		{"other: --config", Other, []string{"create", "--config", "/c", "id"}, Request{}, "--config: the runtime would read the container's config"},
		{"other: a value that starts with -", Other, []string{"create", "--bundle", "-x", "id"}, Request{}, `--bundle -x: a value that starts with "-" may be read as an option: write --bundle=-x`},
		{"other: switch with a value", Other, []string{"--debug=1", "create", "id"}, Request{}, `--debug takes no value after "="`},
		{"other: unknown option", Other, []string{"create", "--new", "id"}, Request{}, "--new: an option neither runc nor crun has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.d, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%s, %q) = %+v, %v; want an error with %q", tt.d, tt.args, got, err, tt.wantErr)
				}
				return
			}
			if len(got.Globals) == 0 {
				got.Globals = nil
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s, %q) = %+v, %v; want %+v", tt.d, tt.args, got, err, tt.want)
			}
			checkAgainstRuntimes(t, tt.d, tt.args)
		})
	}
}

// TestParseKeepsTheLog checks that a refused line still names
// the log the refusal goes to.
func TestParseKeepsTheLog(t *testing.T) {
	got, err := Parse(Crun, []string{"--log", "/l", "--log-format=json", "create", "--bund", "/b", "id"})
	if err == nil || got.Log != "/l" || got.LogFormat != "json" {
		t.Errorf("got %+v, %v; want an error and the log /l in json", got, err)
	}
}

func TestDialectOf(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"runc", "crun", "youki"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("crun", filepath.Join(dir, "krun")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("crun", filepath.Join(dir, "runc-link")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Dialect{"runc": Runc, "crun": Crun, "youki": Other, "krun": Crun,
		"runc-link": Crun, "missing-runc": Other} {
		if got := DialectOf(filepath.Join(dir, name)); got != want {
			t.Errorf("DialectOf(%s) = %s, want %s", name, got, want)
		}
	}
}
