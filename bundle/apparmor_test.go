package bundle

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/ociconfig"
)

// aaConfig has a number no float64 holds and an existing apparmorProfile,
// to show that apply replaces that field and keeps every other byte.
const aaConfig = `{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["sh"],
    "apparmorProfile": "docker-default",
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}]
  },
  "root": {"path": "rootfs"}
}
`

func TestApplyAppArmor(t *testing.T) {
	tests := []struct {
		name, profile, want, err string
	}{
		{name: "set", profile: "web", want: "web"},
		{name: "left alone", profile: "", want: "docker-default"},
		{name: "bad name", profile: "web profile", err: `--apparmor: AppArmor profile name "web profile"`},
		{name: "path", profile: "/etc/apparmor.d/web", err: "--apparmor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, notes, err := ApplyProfile([]byte(aaConfig), applyProfile(t), ApplyOptions{AppArmorProfile: tc.profile})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ociconfig.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := json.Unmarshal(cfg.Get("process", "apparmorProfile"), &got); err != nil || got != tc.want {
				t.Errorf("process.apparmorProfile = %q (%v), want %q", got, err, tc.want)
			}
			if !strings.Contains(string(out), `"hard": 18446744073709551615`) || !strings.Contains(string(out), `"args": ["sh"]`) {
				t.Errorf("other bytes changed:\n%s", out)
			}
			var text []string
			for _, n := range notes {
				text = append(text, n.String())
			}
			joined := strings.Join(text, "\n")
			if tc.profile != "" && (!strings.Contains(joined, "apparmor_parser -r web") || !strings.Contains(joined, "did not record files")) {
				t.Errorf("notes do not say how to load the profile, or that this one cannot make it:\n%s", joined)
			}
		})
	}
}
