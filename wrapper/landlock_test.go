package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/landlock"
)

// TestRequestLandlock: an image's TAILOR_LANDLOCK only turns Landlock on;
// a value other than 1 or 0 refuses the container rather than guessing.
func TestRequestLandlock(t *testing.T) {
	for _, c := range []struct {
		env  string
		want bool
		err  string
	}{
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=1"`, true, ""},
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=0"`, false, ""},
		{`"TAILOR_PROFILE=web"`, false, ""},
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=yes"`, false, "want 1"},
	} {
		r, err := requestOf([]byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "env": [` + c.env + `]}}`))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("env %s: error %v, want %q", c.env, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("env %s: %v", c.env, err)
		case r.landlock != c.want:
			t.Errorf("env %s: landlock %t, want %t", c.env, r.landlock, c.want)
		}
	}
}

// TestRunExecThroughTheHelper: `exec --process FILE` (docker exec) into a
// container whose process runs through the Landlock helper runs through
// it too, with noNewPrivileges, every other byte of FILE kept; into a
// container without the helper, FILE's arguments stay its own.
func TestRunExecThroughTheHelper(t *testing.T) {
	for _, c := range []struct {
		name     string
		helper   bool
		wantArgs []string
	}{
		{"container through the helper", true, landlock.HelperArgs([]string{"sh"})},
		{"container without the helper", false, []string{"sh"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, process := execFixture(t, "runc", []string{"TAILOR_PROFILE=web"}, false)
			if c.helper {
				config, err := os.ReadFile(f.config())
				if err != nil {
					t.Fatal(err)
				}
				wrapped, _ := json.Marshal(landlock.HelperArgs([]string{"/bin/sh"}))
				writeFile(t, f.config(), strings.Replace(string(config), `"args": ["/bin/sh"]`, `"args": `+string(wrapped), 1))
			}
			args := []string{"--log", f.log, "--log-format", "json", "exec", "--process", process, "--detach", "id1"}
			if err := f.run(args, bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var p struct {
				Args            []string `json:"args"`
				NoNewPrivileges bool     `json:"noNewPrivileges"`
			}
			data, err := os.ReadFile(process)
			if err == nil {
				err = json.Unmarshal(data, &p)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Args, c.wantArgs) || p.NoNewPrivileges != c.helper {
				t.Errorf("process args %q, noNewPrivileges %t; want %q, %t", p.Args, p.NoNewPrivileges, c.wantArgs, c.helper)
			}
			if !bytes.Contains(data, []byte("18446744073709551615")) || !bytes.Contains(data, []byte(`"x-unknown":"kept"`)) {
				t.Errorf("other fields of the process file changed: %s", data)
			}
		})
	}
}

func TestLandlockExecRefusesAnEmptyProcess(t *testing.T) {
	container, _ := json.Marshal(map[string]any{"process": map[string]any{"args": landlock.HelperArgs([]string{"/bin/sh"})}})
	_, _, err := bundle.LandlockExec([]byte(`{"process": {"args": [], "cwd": "/"}}`), container)
	if !errors.Is(err, bundle.ErrBadConfig) || !strings.Contains(err.Error(), "process.args is empty") {
		t.Errorf("error %v, want %v for an exec without a program", err, bundle.ErrBadConfig)
	}
}
