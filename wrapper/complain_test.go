package wrapper

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/complain"
	"github.com/tailor-dev/tailor/generator"
)

const testListener = "/run/tailor-test/notify.sock"

// allowComplain is Options.Complain as tailor runtime --allow-complain
// builds it, without starting an agent; it records what it was asked.
func allowComplain(t *testing.T, asked *[]string) func(string, bool) (*bundle.ComplainOptions, error) {
	return func(profile string, report bool) (*bundle.ComplainOptions, error) {
		m := complain.Metadata{Mode: complain.ModeComplain, Profile: profile, Recording: profile + ".violations"}
		if report {
			m.Mode, m.Errno = complain.ModeReport, 1
		}
		meta, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		*asked = append(*asked, profile+"/"+string(m.Mode))
		return &bundle.ComplainOptions{
			ComplainOptions: generator.ComplainOptions{ListenerPath: testListener, Metadata: meta},
			Hook:            specs.Hook{Path: "/usr/local/bin/tailor", Args: []string{"tailor", "complain", "hook"}},
		}, nil
	}
}

// TestRunComplain: TAILOR_COMPLAIN beside TAILOR_PROFILE writes a
// complain-mode filter only when the operator allowed it; otherwise, or
// when it is malformed, the container is refused and config.json is left
// as it was.
func TestRunComplain(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		allowed bool
		want    string // the error, or the mode asked for
	}{
		{"allowed", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN=1"}, true, "web/complain"},
		{"allowed, report", []string{"TAILOR_COMPLAIN=report", "TAILOR_PROFILE=web"}, true, "web/report"},
		{"not allowed", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN=1"}, false, "--allow-complain"},
		{"not allowed, report", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN=report"}, false, "--allow-complain"},
		{"bad value", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN=yes"}, true, "use 1"},
		{"empty value", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN="}, true, "use 1"},
		{"twice", []string{"TAILOR_PROFILE=web", "TAILOR_COMPLAIN=1", "TAILOR_COMPLAIN=report"}, true, "set twice"},
		{"no profile", []string{"TAILOR_COMPLAIN=1"}, true, "needs TAILOR_PROFILE"},
		{"learning", []string{"TAILOR_LEARN=web", "TAILOR_COMPLAIN=1"}, true, "needs TAILOR_PROFILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, tt.env, nil)
			f.save(t, webProfile(true))
			before, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			o := Options{}
			if tt.allowed {
				o.Complain = allowComplain(t, &asked)
			}
			err = f.runWith(f.createArgs(), o)
			if !strings.Contains(tt.want, "/") {
				if !errors.Is(err, ErrRuntime) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Run error = %v, want ErrRuntime naming %q", err, tt.want)
				}
				if len(f.execs) != 0 || len(asked) != 0 {
					t.Errorf("refused, yet the runtime ran (%q) or complain options were built (%q)", f.execs, asked)
				}
				if after, _ := os.ReadFile(f.config()); !bytes.Equal(before, after) {
					t.Errorf("config.json changed:\n%s", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(asked) != 1 || asked[0] != tt.want {
				t.Fatalf("complain options built for %q, want %q", asked, tt.want)
			}
			cfg := readJSON(t, f.config())
			seccomp := cfg["linux"].(map[string]any)["seccomp"].(map[string]any)
			notified := false
			for _, r := range seccomp["syscalls"].([]any) {
				r := r.(map[string]any)
				notified = notified || r["action"] == string(specs.ActNotify) && slices.Contains(r["names"].([]any), any("mkdir"))
			}
			if seccomp["listenerPath"] != testListener || !notified {
				t.Errorf("linux.seccomp: listenerPath %v, mkdir notified: %v: want %s and true", seccomp["listenerPath"], notified, testListener)
			}
			hooks, _ := cfg["hooks"].(map[string]any)["createRuntime"].([]any)
			if len(hooks) != 1 || hooks[0].(map[string]any)["path"] != "/usr/local/bin/tailor" {
				t.Errorf("createRuntime hooks = %v, want the agent's hook", hooks)
			}
			if len(f.execs) != 1 {
				t.Errorf("the runtime ran %d times", len(f.execs))
			}
		})
	}
}
