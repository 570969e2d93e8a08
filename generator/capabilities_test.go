package generator

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

func TestCapabilityFormats(t *testing.T) {
	nginx := profileOf("nginx", abiCalls(profiles.ABIX8664, base))
	both := granted("CAP_NET_BIND_SERVICE")
	both.Denied = true
	capsOf(nginx, granted("CAP_SETUID"), granted("CAP_CHOWN"), granted("CAP_SETGID"), denied("CAP_DAC_OVERRIDE"), both)
	tests := []struct {
		name        string
		profile     *profiles.Profile
		seccompFile string
		set         []string // the minimal set, sorted
		notes       []string
	}{
		{name: "none", profile: profileOf("none", abiCalls(profiles.ABIX8664, base)), seccompFile: "none.seccomp.json"},
		{name: "nginx", profile: nginx, seccompFile: "/etc/tailor/nginx.seccomp.json",
			set:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"},
			notes: []string{"CAP_DAC_OVERRIDE was checked and denied during learning, never granted: not added"}},
		{name: "quoted", profile: capsOf(profileOf("quoted"), granted("CAP_KILL")), seccompFile: "my profiles/it's.json",
			set: []string{"CAP_KILL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, notes, err := Capabilities(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted} {
				if !slices.Equal(set, tc.set) && !(len(set) == 0 && len(tc.set) == 0) {
					t.Errorf("set %v, want %v", set, tc.set)
				}
			}
			if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
				t.Errorf("inheritable %v, ambient %v: want both empty", c.Inheritable, c.Ambient)
			}
			checkNotes(t, notes, tc.notes)

			out, err := MarshalCapabilities(c)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "capabilities/"+tc.name+".json", out)

			flags, _, err := Flags(tc.profile, tc.seccompFile, tc.profile.Name)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "capabilities/"+tc.name+".flags", flags)
			for _, name := range tc.set {
				if !strings.Contains(string(flags), "--cap-add="+name+" ") {
					t.Errorf("flags %q do not add %s", flags, name)
				}
			}
			if !strings.HasPrefix(string(flags), "--cap-drop=ALL ") {
				t.Errorf("flags %q do not start by dropping every capability", flags)
			}

			yaml, knotes, err := K8s(tc.profile, tc.profile.Name, K8sOptions{})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "capabilities/"+tc.name+".yaml", yaml)
			checkNotes(t, knotes, []string{"seccomp/tailor/" + tc.profile.Name + ".json"})
		})
	}
}

func checkNotes(t *testing.T, notes []Note, want []string) {
	t.Helper()
	var text strings.Builder
	for _, n := range notes {
		fmt.Fprintln(&text, n)
	}
	for _, w := range want {
		if !strings.Contains(text.String(), w) {
			t.Errorf("no note says %q; notes:\n%s", w, text.String())
		}
	}
}

func TestCapabilityErrors(t *testing.T) {
	p := profileOf("p")
	bad := profileOf("bad")
	bad.Capabilities = []profiles.Capability{{Name: "CAP_FLY", Granted: true}}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{name: "nil profile", run: func() error { _, _, err := Capabilities(nil); return err }, want: "no profile"},
		{name: "unknown capability", run: func() error { _, _, err := Capabilities(bad); return err }, want: `unknown capability "CAP_FLY"`},
		{name: "flags without seccomp file", run: func() error { _, _, err := Flags(p, "", ""); return err }, want: "no seccomp file"},
		{name: "k8s name with slash", run: func() error { _, _, err := K8s(p, "../etc", K8sOptions{}); return err }, want: `profile name "../etc"`},
		{name: "k8s empty name", run: func() error { _, _, err := K8s(p, "", K8sOptions{}); return err }, want: "profile name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	p := capsOf(profileOf("web", abiCalls(profiles.ABIX8664, base)), granted("CAP_CHOWN"))
	tests := []struct {
		name   string
		opts   Options
		prefix string
	}{
		{name: "default is seccomp", opts: Options{}, prefix: "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\""},
		{name: "seccomp kill", opts: Options{Format: FormatSeccomp, Seccomp: SeccompOptions{DefaultAction: DefaultKill}},
			prefix: "{\n  \"defaultAction\": \"SCMP_ACT_KILL_PROCESS\""},
		{name: "capabilities", opts: Options{Format: FormatCapabilities}, prefix: "{\n  \"bounding\": [\n    \"CAP_CHOWN\""},
		{name: "flags", opts: Options{Format: FormatFlags, SeccompFile: "web.seccomp.json"},
			prefix: "--cap-drop=ALL --cap-add=CAP_CHOWN --security-opt seccomp=web.seccomp.json\n"},
		{name: "k8s", opts: Options{Format: FormatK8s, Name: "web"}, prefix: "securityContext:\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := Generate(p, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(out), tc.prefix) {
				t.Errorf("output starts\n%s\nwant\n%s", out, tc.prefix)
			}
		})
	}
	if _, _, err := Generate(p, Options{Format: "apparmor"}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "seccomp, capabilities, flags, k8s") {
		t.Errorf("ParseFormat(yaml) error %v does not list the formats", err)
	}
}
