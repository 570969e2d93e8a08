package bundle

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAddLearning(t *testing.T) {
	tests := []struct {
		name        string
		config      string
		wantFilter  bool
		wantRoot    string
		wantHooks   int
		wantUnknown bool
	}{
		{
			name:       "adds hook and learning filter, makes root absolute",
			config:     `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"x-vendor":{"keep":true}}`,
			wantFilter: true, wantRoot: "/b/rootfs", wantHooks: 1, wantUnknown: true,
		},
		{
			name:       "keeps the bundle's own filter and hooks",
			config:     `{"root":{"path":"/abs"},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}},"hooks":{"createRuntime":[{"path":"/x"}]}}`,
			wantFilter: false, wantRoot: "/abs", wantHooks: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := AddLearning([]byte(tt.config), "/b", specs.Hook{Path: "/usr/bin/tailor", Args: []string{"tailor", "hook"}})
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Root  struct{ Path string }
				Hooks struct {
					CreateRuntime []struct{ Path string }
				}
				Linux struct {
					Seccomp struct{ DefaultAction string }
				}
				Vendor map[string]bool `json:"x-vendor"`
			}
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Root.Path != tt.wantRoot {
				t.Errorf("root.path = %q, want %q", cfg.Root.Path, tt.wantRoot)
			}
			if n := len(cfg.Hooks.CreateRuntime); n != tt.wantHooks || cfg.Hooks.CreateRuntime[n-1].Path != "/usr/bin/tailor" {
				t.Errorf("createRuntime hooks = %+v, want %d ending with tailor", cfg.Hooks.CreateRuntime, tt.wantHooks)
			}
			if got := cfg.Linux.Seccomp.DefaultAction == "SCMP_ACT_ALLOW"; got != tt.wantFilter {
				t.Errorf("learning filter added = %v, want %v", got, tt.wantFilter)
			}
			if tt.wantUnknown && !cfg.Vendor["keep"] {
				t.Error("unknown field x-vendor was dropped")
			}
		})
	}
	if _, err := AddLearning([]byte(`{"root":`), "", specs.Hook{Path: "/t"}); err == nil {
		t.Error("AddLearning accepted malformed JSON")
	}
	if _, err := AddLearning([]byte(`{}`), "", specs.Hook{Path: "/t"}); err == nil {
		t.Error("AddLearning accepted a config without root")
	}
}
