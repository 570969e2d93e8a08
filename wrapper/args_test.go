package wrapper

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseRuntimeArgsForms checks each form of option, per runtime: what
// the wrapper reads (as the runtime would) and what it refuses, naming the
// argument at fault and the fix.
func TestParseRuntimeArgsForms(t *testing.T) {
	create := func(bundle string) runtimeRequest { return runtimeRequest{Command: "create", ID: "id", Bundle: bundle} }
	tests := []struct {
		name string
		d    dialect
		args []string
		want runtimeRequest // compared when wantErr is ""
		// wantErr is in the error; the runtime would fail on the line, or
		// read it other than the wrapper could.
		wantErr string
	}{
		{"runc: -b=VALUE", dialectRunc, []string{"create", "-b=/b", "id"}, create("/b"), ""},
		{"runc: --b VALUE", dialectRunc, []string{"create", "--b", "/b", "id"}, create("/b"), ""},
		{"runc: -bundle VALUE", dialectRunc, []string{"create", "-bundle", "/b", "id"}, create("/b"), ""},
		{"runc: --bundle=VALUE", dialectRunc, []string{"create", "--bundle=/b", "id"}, create("/b"), ""},
		{"runc: boolean with a value", dialectRunc, []string{"create", "--no-pivot=false", "--bundle", "/b", "id"}, create("/b"), ""},
		{"runc: a value that starts with -", dialectRunc, []string{"create", "--bundle", "-b", "id"}, create("-b"), ""},
		{"runc: abbreviation", dialectRunc, []string{"create", "--bund", "/b", "id"}, runtimeRequest{}, "--bund: runc has no such option (--bundle?)"},
		{"runc: attached value", dialectRunc, []string{"create", "-b/b", "id"}, runtimeRequest{}, "-b/b: runc has no such option, and reads no value attached to -b: write -b /b"},
		{"runc: crun's --config", dialectRunc, []string{"create", "--config", "/c", "id"}, runtimeRequest{}, "--config: runc has no such option (options: --bundle/-b"},
		{"runc: option after the id", dialectRunc, []string{"create", "id", "--bundle", "/b"}, runtimeRequest{}, `--bundle comes after the container id "id": put every option before the id`},
		{"runc: bundle twice", dialectRunc, []string{"create", "--bundle", "/a", "-b", "/b", "id"}, runtimeRequest{}, `-b: the bundle is given twice ("/a", then "/b")`},
		{"runc: empty bundle", dialectRunc, []string{"create", "--bundle=", "id"}, runtimeRequest{}, "--bundle=: the bundle is empty"},
		{"runc: missing value", dialectRunc, []string{"create", "id", "--bundle"}, runtimeRequest{}, "--bundle comes after the container id"},
		{"runc: value missing at the end", dialectRunc, []string{"create", "--bundle"}, runtimeRequest{}, "--bundle needs a value"},
		{"runc: no id", dialectRunc, []string{"create", "--bundle", "/b"}, runtimeRequest{}, "create: no container id"},
		{"runc: two ids", dialectRunc, []string{"create", "a", "b"}, runtimeRequest{}, `more than one container id (["a" "b"])`},
		{"runc: malformed", dialectRunc, []string{"create", "---bundle", "/b", "id"}, runtimeRequest{}, "---bundle: not an option runc reads"},
		{"runc: unknown global before create", dialectRunc, []string{"--log", "/l", "--bogus", "x", "create", "--bundle", "/b", "id"},
			runtimeRequest{}, `cannot tell the runtime command: --bogus: runc has no such option (options: --debug`},
		{"runc: unknown global, no create", dialectRunc, []string{"--bogus", "x", "state", "id"}, runtimeRequest{}, ""},
		{"runc: exec --process", dialectRunc, []string{"--root", "/r", "exec", "--process", "/p.json", "--detach", "id"},
			runtimeRequest{Command: "exec", Globals: []string{"--root", "/r"}, ID: "id", Process: "/p.json"}, ""},
		{"runc: exec --cap", dialectRunc, []string{"exec", "--cap", "CAP_A", "-c", "CAP_B", "id", "sh", "-p", "x"},
			runtimeRequest{Command: "exec", ID: "id", Caps: []string{"CAP_A", "CAP_B"}}, ""},
		{"runc: exec -- id", dialectRunc, []string{"exec", "-t", "--", "id", "sh"}, runtimeRequest{Command: "exec", ID: "id"}, ""},
		{"runc: exec process twice", dialectRunc, []string{"exec", "-p", "/a", "--process", "/b", "id"}, runtimeRequest{}, "given twice"},
		{"runc: exec without an id", dialectRunc, []string{"exec", "-p", "/a"}, runtimeRequest{}, "exec: no container id"},

		{"crun: --config", dialectCrun, []string{"create", "--bundle", "/b", "--config", "/c.json", "id"}, runtimeRequest{},
			`--config: crun would read the container's config from "/c.json" instead of the bundle's config.json, which is the file tailor prepares: write the config to BUNDLE/config.json and drop --config`},
		{"crun: -f", dialectCrun, []string{"run", "-f", "config.json", "id"}, runtimeRequest{}, `-f: crun would read the container's config from "config.json"`},
		{"crun: --config=", dialectCrun, []string{"create", "--config=/c", "id"}, runtimeRequest{}, "--config=/c: crun would read"},
		{"crun: abbreviation of --config", dialectCrun, []string{"create", "--conf", "/c", "id"}, runtimeRequest{}, "--conf: an abbreviation (of --config), which crun expands"},
		{"crun: abbreviation", dialectCrun, []string{"create", "--bund", "/b", "id"}, runtimeRequest{},
			"--bund: an abbreviation (of --bundle), which crun expands: tailor runtime reads options only written in full: write --bundle"},
		{"crun: --b", dialectCrun, []string{"create", "--b", "/b", "id"}, runtimeRequest{}, "--b: an abbreviation (of --bundle)"},
		{"crun: ambiguous prefix", dialectCrun, []string{"create", "--p", "/b", "id"}, runtimeRequest{}, "--p: an abbreviation (of --pid-file or --preserve-fds or --program-name), which crun finds ambiguous"},
		{"crun: attached value", dialectCrun, []string{"create", "-b/b", "id"}, runtimeRequest{}, `-b/b: crun reads it as -b with the value "/b": write -b VALUE or --bundle=VALUE`},
		{"crun: -b=VALUE", dialectCrun, []string{"create", "-b=/b", "id"}, runtimeRequest{}, `crun reads it as -b with the value "=/b"`},
		{"crun: single-dash long", dialectCrun, []string{"create", "-bundle", "/b", "id"}, runtimeRequest{}, `crun reads it as -b with the value "undle"`},
		{"crun: grouped switches", dialectCrun, []string{"run", "-db", "/b", "id"}, runtimeRequest{}, "-db: crun reads it as a group of one-letter options: write them apart (-d -b)"},
		{"crun: switches apart", dialectCrun, []string{"run", "-d", "-b", "/b", "id"}, runtimeRequest{Command: "run", ID: "id", Bundle: "/b"}, ""},
		{"crun: switch with a value", dialectCrun, []string{"create", "--no-pivot=1", "id"}, runtimeRequest{}, `--no-pivot=1: --no-pivot takes no value after "=" in crun`},
		{"crun: global abbreviation", dialectCrun, []string{"--ro", "/r", "create", "id"}, runtimeRequest{}, `cannot tell the runtime command: --ro: an abbreviation (of --root or --rootless)`},
		{"crun: single-dash global", dialectCrun, []string{"-log", "/l", "create", "id"}, runtimeRequest{}, `cannot tell the runtime command: -log: crun has no option -l`},
		{"crun: containerd's line", dialectCrun, []string{"--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/p", "id"},
			runtimeRequest{Command: "create", Globals: []string{"--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup"}, Log: "/l", LogFormat: "json", ID: "id", Bundle: "/b"}, ""},
		{"crun: exec --tty=VALUE", dialectCrun, []string{"exec", "--tty=x", "-p", "/p", "id"}, runtimeRequest{Command: "exec", ID: "id", Process: "/p"}, ""},
		{"crun: exec -tp", dialectCrun, []string{"exec", "-tp", "/p", "id"}, runtimeRequest{}, "-tp: crun reads it as -t with the value \"p\""},
		{"crun: restore --network-lock", dialectCrun, []string{"restore", "--network-lock", "x", "-b", "/b", "id"}, runtimeRequest{Command: "restore", ID: "id", Bundle: "/b"}, ""},
		{"crun: restore --network-lock=", dialectCrun, []string{"restore", "--network-lock=x", "id"}, runtimeRequest{}, "--network-lock takes its value as the next argument"},

		{"other: -b VALUE", dialectOther, []string{"create", "-b", "/b", "id"}, create("/b"), ""},
		{"other: --bundle=VALUE", dialectOther, []string{"create", "--bundle=/b", "id"}, create("/b"), ""},
		{"other: -b=VALUE", dialectOther, []string{"create", "-b=/b", "id"}, runtimeRequest{}, `-b=/b: runc reads it as one option, crun as -b followed by "=/b": write -b VALUE or --bundle=VALUE`},
		{"other: single-dash long", dialectOther, []string{"create", "-bundle", "/b", "id"}, runtimeRequest{}, "-bundle: runc reads it as one option"},
		{"other: abbreviation", dialectOther, []string{"create", "--bund", "/b", "id"}, runtimeRequest{}, "--bund: an abbreviation (of --bundle)"},
		{"other: --config", dialectOther, []string{"create", "--config", "/c", "id"}, runtimeRequest{}, "--config: the runtime would read the container's config"},
		{"other: a value that starts with -", dialectOther, []string{"create", "--bundle", "-x", "id"}, runtimeRequest{}, `--bundle -x: a value that starts with "-" may be read as an option: write --bundle=-x`},
		{"other: switch with a value", dialectOther, []string{"--debug=1", "create", "id"}, runtimeRequest{}, `--debug takes no value after "="`},
		{"other: unknown option", dialectOther, []string{"create", "--new", "id"}, runtimeRequest{}, "--new: an option neither runc nor crun has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRuntimeArgs(tt.d, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRuntimeArgs(%s, %q) = %+v, %v; want an error with %q", tt.d, tt.args, got, err, tt.wantErr)
				}
				return
			}
			if len(got.Globals) == 0 {
				got.Globals = nil
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseRuntimeArgs(%s, %q) = %+v, %v; want %+v", tt.d, tt.args, got, err, tt.want)
			}
			checkAgainstRuntimes(t, tt.d, tt.args)
		})
	}
}

// TestParseRuntimeArgsKeepsTheLog checks that a refused line still names
// the log the refusal goes to.
func TestParseRuntimeArgsKeepsTheLog(t *testing.T) {
	got, err := parseRuntimeArgs(dialectCrun, []string{"--log", "/l", "--log-format=json", "create", "--bund", "/b", "id"})
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
	for name, want := range map[string]dialect{"runc": dialectRunc, "crun": dialectCrun, "youki": dialectOther, "krun": dialectCrun,
		"runc-link": dialectCrun, "missing-runc": dialectOther} {
		if got := dialectOf(filepath.Join(dir, name)); got != want {
			t.Errorf("dialectOf(%s) = %s, want %s", name, got, want)
		}
	}
}
