package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/tailor-dev/tailor/bundle"
)

// fakeRuntime makes the fixture's runtime an executable called name that
// answers `state` as state (shell) says, and records the arguments of each
// call in f.calls().
func (f *runtimeFixture) fakeRuntime(t *testing.T, name, state string) {
	t.Helper()
	dir := t.TempDir()
	f.runtime = filepath.Join(dir, name)
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s/calls\ncase \" $* \" in *\" state \"*) %s ;; esac\n", dir, state)
	if err := os.WriteFile(f.runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f *runtimeFixture) calls() string {
	data, _ := os.ReadFile(filepath.Join(filepath.Dir(f.runtime), "calls"))
	return string(data)
}

func (f *runtimeFixture) stateOK() string {
	return fmt.Sprintf(`printf '{"ociVersion":"1.0.2","id":"id1","pid":42,"status":"running","bundle":"%s"}'`, f.bundle)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// refused checks a refusal: ErrRuntime naming want, the runtime never
// run and the error in the runtime log.
func (f *runtimeFixture) refused(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run error = %v, want ErrRuntime naming %q", err, want)
	}
	if len(f.execs) != 0 {
		t.Errorf("the runtime ran: %q", f.execs)
	}
	var entry struct{ Level, Msg string }
	log, _ := os.ReadFile(f.log)
	if jerr := json.Unmarshal(log, &entry); jerr != nil || entry.Level != "error" || entry.Msg != err.Error() {
		t.Errorf("runtime log = %q, want one JSON error entry with the error", log)
	}
}

// TestRunRefusesUnreadable checks that a create the wrapper cannot read
// the way the runtime will is refused before anything is written: crun's
// --config, abbreviations, attached and grouped short options, options
// after the id, per runtime.
func TestRunRefusesUnreadable(t *testing.T) {
	tests := []struct {
		runtime string
		args    string // BUNDLE is the bundle
		want    string
	}{
		{"crun", "create --bundle BUNDLE --config BUNDLE/other.json id1", "create: --config: crun would read the container's config from"},
		{"crun", "create -f config.json --bundle BUNDLE id1", "-f: crun would read"},
		{"crun", "create --bund BUNDLE id1", "--bund: an abbreviation (of --bundle)"},
		{"crun", "create -bBUNDLE id1", "crun reads it as -b with the value"},
		{"crun", "run -db BUNDLE id1", "a group of one-letter options"},
		{"crun", "--ro /r create --bundle BUNDLE id1", "cannot tell the runtime command: --ro"},
		{"runc", "create --bund BUNDLE id1", "--bund: runc has no such option (--bundle?)"},
		{"runc", "create -bBUNDLE id1", "reads no value attached to -b"},
		{"runc", "create id1 --bundle BUNDLE", "comes after the container id"},
		{"runc", "create --bundle /elsewhere -b BUNDLE id1", "the bundle is given twice"},
		{"youki", "create -b=BUNDLE id1", "runc reads it as one option, crun as -b"},
		{"youki", "create --config BUNDLE/config.json --bundle BUNDLE id1", "--config: the runtime would read"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime+" "+tt.want, func(t *testing.T) {
			f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
			f.save(t, webProfile(true))
			f.fakeRuntime(t, tt.runtime, "")
			before, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--log", f.log, "--log-format", "json"}, strings.Fields(strings.ReplaceAll(tt.args, "BUNDLE", f.bundle))...)
			f.refused(t, f.run(args, bundle.ApplyOptions{}), tt.want)
			if after, _ := os.ReadFile(f.config()); !bytes.Equal(before, after) {
				t.Errorf("config.json changed:\n%s", after)
			}
		})
	}
}

// TestRunCrunForms checks that crun's usual forms are read and prepared.
func TestRunCrunForms(t *testing.T) {
	for _, args := range [][]string{
		{"--root", "/r", "create", "--bundle", "BUNDLE", "--pid-file", "/p", "id1"},
		{"--root=/r", "run", "-d", "-b", "BUNDLE", "--no-subreaper", "id1"},
		{"create", "--bundle=BUNDLE", "--", "id1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f := newRuntimeFixture(t, []string{"TAILOR_PROFILE=web"}, nil)
			f.save(t, webProfile(true))
			f.fakeRuntime(t, "crun", "")
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "BUNDLE", f.bundle)
			}
			if err := f.run(args, bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkEnforced(t, readJSON(t, f.config()))
			if len(f.execs) != 1 || !reflect.DeepEqual(f.execs[0][2:], args) {
				t.Errorf("exec'd %q, want the arguments %q", f.execs, args)
			}
		})
	}
}

// execFixture is a running container that enforces the profile web with
// CAP_CHOWN (as the wrapper prepared it at create), and a process file as
// Docker writes it for `docker exec`, with Docker's capabilities.
func execFixture(t *testing.T, runtime string, env []string, ambient bool) (*runtimeFixture, string) {
	t.Helper()
	f := newRuntimeFixture(t, nil, nil)
	f.fakeRuntime(t, runtime, f.stateOK())
	caps := `{"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"], "inheritable": [], "ambient": []}`
	if ambient {
		caps = `{"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"], "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}`
	}
	envJSON, _ := json.Marshal(append([]string{"PATH=/bin"}, env...))
	writeFile(t, f.config(), `{"ociVersion": "1.0.2", "process": {"args": ["/bin/sh"], "cwd": "/", "env": `+string(envJSON)+
		`, "capabilities": `+caps+`}, "root": {"path": "rootfs"}}`)
	process := filepath.Join(f.bundle, "runc-process1234")
	writeFile(t, process, `{"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/bin"],"cwd":"/",`+
		`"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_NET_RAW"],"effective":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_NET_RAW"],`+
		`"permitted":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_NET_RAW"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1024}],"x-unknown":"kept"}`)
	return f, process
}

// TestRunExecNarrowsProcess checks that `exec --process FILE` into a
// container that enforces a profile gets the container's capabilities,
// not the engine's, and that other containers' exec files are left as
// the engine wrote them.
func TestRunExecNarrowsProcess(t *testing.T) {
	for _, runtime := range []string{"runc", "crun", "youki"} {
		t.Run(runtime, func(t *testing.T) {
			f, process := execFixture(t, runtime, []string{"TAILOR_PROFILE=web"}, false)
			args := []string{"--root", "/run/x", "--log", f.log, "--log-format", "json", "exec", "--process", process, "--detach", "--pid-file", "/p", "id1"}
			if err := f.run(args, bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if want := append([]string{f.runtime, runtime}, args...); len(f.execs) != 1 || !reflect.DeepEqual(f.execs[0], want) {
				t.Errorf("exec'd %q, want %q", f.execs, want)
			}
			if calls, want := f.calls(), fmt.Sprintf("--root /run/x --log %s --log-format json state id1\n", f.log); calls != want {
				t.Errorf("runtime called with %q, want %q", calls, want)
			}
			p := readJSON(t, process)
			caps, _ := json.Marshal(p["capabilities"])
			if want := `{"ambient":[],"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"inheritable":[],"permitted":["CAP_CHOWN"]}`; string(caps) != want {
				t.Errorf("process capabilities = %s, want the container's %s", caps, want)
			}
			data, _ := os.ReadFile(process)
			if p["x-unknown"] != "kept" || !bytes.Contains(data, []byte("18446744073709551615")) {
				t.Errorf("other fields of the process file changed: %s", data)
			}
			if fi, err := os.Stat(process); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("process file mode: %v %v, want 0600", fi, err)
			}
			if log, _ := os.ReadFile(f.log); !strings.Contains(string(log), `"level":"warning"`) || !strings.Contains(string(log), "CAP_NET_RAW, CAP_SYS_ADMIN") {
				t.Errorf("runtime log does not warn about the capabilities taken away: %s", log)
			}
		})
	}
}

// TestRunExecLeavesAlone checks the exec lines the wrapper passes on
// without changing anything: containers that enforce no profile, a
// process file without capabilities (the runtime takes the container's),
// and exec without --process (the container's config, which the wrapper
// prepared at create).
func TestRunExecLeavesAlone(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		args      func(process string) []string
		noProcess bool // the process file has no capabilities
		state     bool // the runtime is asked for the container's state
	}{
		{"nothing asked", nil, func(p string) []string { return []string{"exec", "-p", p, "id1"} }, false, true},
		{"learning", []string{"TAILOR_LEARN=web"}, func(p string) []string { return []string{"exec", "-p", p, "id1"} }, false, true},
		{"no capabilities in the file", []string{"TAILOR_PROFILE=web"}, func(p string) []string { return []string{"exec", "-p", p, "id1"} }, true, true},
		{"no process file", []string{"TAILOR_PROFILE=web"}, func(string) []string { return []string{"exec", "-t", "id1", "sh", "-p", "x"} }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, process := execFixture(t, "runc", tt.env, false)
			if tt.noProcess {
				writeFile(t, process, `{"args":["sh"],"cwd":"/"}`)
			}
			before, _ := os.ReadFile(process)
			if err := f.run(tt.args(process), bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if after, _ := os.ReadFile(process); !bytes.Equal(before, after) {
				t.Errorf("process file changed:\n%s", after)
			}
			if len(f.execs) != 1 {
				t.Errorf("exec'd %q, want the runtime once", f.execs)
			}
			if got := f.calls() != ""; got != tt.state {
				t.Errorf("runtime asked for the state: %v, want %v (%q)", got, tt.state, f.calls())
			}
		})
	}
}

// TestRunExecCaps checks exec --cap into a container that enforces a
// profile: the runtime would add the capability to the bounding,
// effective, permitted and ambient sets (runc) or make those sets the
// --cap list (crun), so it is taken only when the container holds it in
// each of them.
func TestRunExecCaps(t *testing.T) {
	tests := []struct {
		name    string
		runtime string
		cap     string
		ambient bool
		want    string // "" when taken
	}{
		{"runc: a capability the profile lacks", "runc", "CAP_SYS_ADMIN", false,
			"exec --cap CAP_SYS_ADMIN: container id1 enforces TAILOR_PROFILE=web, and runc would grant CAP_SYS_ADMIN in the bounding, effective, permitted, ambient set"},
		{"crun: a capability the profile lacks", "crun", "CAP_SYS_ADMIN", false, "crun would grant CAP_SYS_ADMIN"},
		{"runc: held but not ambient", "runc", "CAP_CHOWN", false, "in the ambient set, where the container lacks it: drop --cap CAP_CHOWN"},
		{"runc: held in every set", "runc", "CAP_CHOWN", true, ""},
		{"other runtime: not inheritable either", "youki", "CAP_SYS_ADMIN", true, "inheritable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := execFixture(t, tt.runtime, []string{"TAILOR_PROFILE=web"}, tt.ambient)
			before, _ := os.ReadFile(f.config())
			err := f.run([]string{"--log", f.log, "--log-format", "json", "exec", "--cap", tt.cap, "id1", "sh"}, bundle.ApplyOptions{})
			if tt.want == "" {
				if err != nil || len(f.execs) != 1 {
					t.Fatalf("Run = %v, exec'd %q; want the runtime run", err, f.execs)
				}
				return
			}
			f.refused(t, err, tt.want)
			if after, _ := os.ReadFile(f.config()); !bytes.Equal(before, after) {
				t.Errorf("config.json changed:\n%s", after)
			}
		})
	}
}

// TestRunExecRefuses checks that an exec the wrapper cannot narrow is
// refused with nothing written: the runtime cannot say where the
// container is, or the process file is not one.
func TestRunExecRefuses(t *testing.T) {
	tests := []struct {
		name    string
		state   string
		process string // replaces the process file when set
		want    string
	}{
		{"no such container", `echo 'container "id1" does not exist' >&2; exit 1`, "",
			`exec id1: ask the runtime for the container's bundle (runc --log LOG --log-format json state id1): exit status 1: container "id1" does not exist`},
		{"no bundle in the state", `echo '{"id":"id1"}'`, "", `gives no absolute bundle path: ""`},
		{"not JSON", "", "{", "not a JSON document"},
		{"trailing document", "", `{"capabilities":{}}, "x": 1`, "not a JSON document"},
		{"case-variant keys", "", `{"capabilities":{"bounding":[]},"Capabilities":{"bounding":["CAP_SYS_ADMIN"]}}`, "capabilities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, process := execFixture(t, "runc", []string{"TAILOR_PROFILE=web"}, false)
			if tt.state != "" {
				f.fakeRuntime(t, "runc", tt.state)
			}
			if tt.process != "" {
				writeFile(t, process, tt.process)
			}
			before, _ := os.ReadFile(process)
			err := f.run([]string{"--log", f.log, "--log-format", "json", "exec", "-p", process, "id1"}, bundle.ApplyOptions{})
			f.refused(t, err, strings.ReplaceAll(tt.want, "LOG", f.log))
			if after, _ := os.ReadFile(process); !bytes.Equal(before, after) {
				t.Errorf("process file changed:\n%s", after)
			}
		})
	}
}

// TestRunRestore checks that a container that asks tailor for anything is
// not restored (the wrapper does not prepare restored containers), and
// that others are.
func TestRunRestore(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"TAILOR_PROFILE=web"}, "restore id1: BUNDLE/config.json asks for TAILOR_PROFILE=web, and tailor runtime does not prepare a restored container"},
		{[]string{"TAILOR_LEARN=web"}, "asks for TAILOR_LEARN=web"},
		{nil, ""},
	} {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			f := newRuntimeFixture(t, tt.env, nil)
			f.save(t, webProfile(true))
			f.fakeRuntime(t, "runc", "")
			before, _ := os.ReadFile(f.config())
			err := f.run([]string{"--log", f.log, "--log-format", "json", "restore", "--image-path", "/i", "--bundle", f.bundle, "id1"}, bundle.ApplyOptions{})
			if tt.want == "" {
				if err != nil || len(f.execs) != 1 {
					t.Fatalf("Run = %v, exec'd %q; want the runtime run", err, f.execs)
				}
			} else {
				f.refused(t, err, strings.ReplaceAll(tt.want, "BUNDLE", f.bundle))
			}
			if after, _ := os.ReadFile(f.config()); !bytes.Equal(before, after) {
				t.Errorf("config.json changed:\n%s", after)
			}
		})
	}
}

// TestRunExecProcessFIFO checks that a process file that is not a regular
// file is refused at once rather than blocking the exec.
func TestRunExecProcessFIFO(t *testing.T) {
	f, process := execFixture(t, "runc", []string{"TAILOR_PROFILE=web"}, false)
	if err := os.Remove(process); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(process, 0o600); err != nil {
		t.Fatal(err)
	}
	err := f.run([]string{"--log", f.log, "--log-format", "json", "exec", "-p", process, "id1"}, bundle.ApplyOptions{})
	f.refused(t, err, "not a regular file")
}
