package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestHooksDJSON checks the shipped hooks.d file: the schema podman and
// CRI-O read (1.0.0), and a `when` that fires on either annotation alone
// (1.0.0 ANDs separate annotation entries, so both sit in one pattern).
func TestHooksDJSON(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "hooks.d", "tailor.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Version string `json:"version"`
		Hook    struct {
			Path string   `json:"path"`
			Args []string `json:"args"`
		} `json:"hook"`
		When struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"when"`
		Stages []string `json:"stages"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatal(err)
	}
	if h.Version != "1.0.0" || h.Hook.Path != "/usr/local/bin/tailor-hook" || len(h.Hook.Args) < 1 ||
		h.Hook.Args[0] != "tailor-hook" {
		t.Fatalf("unexpected hook: %+v", h)
	}
	if len(h.Stages) != 1 || h.Stages[0] != "createRuntime" {
		t.Errorf("stages = %v, want [createRuntime]", h.Stages)
	}
	if len(h.When.Annotations) != 1 {
		t.Fatalf("want one annotation pattern (entries are ANDed), got %v", h.When.Annotations)
	}
	tests := []struct {
		key, value string
		fires      bool
	}{
		{traceAnnotation, "of:/var/lib/tailor/seccomp/x.json", true},
		{learnAnnotation, "web", true},
		{"io.containers.trace-syscall.extra", "x", false},
		{"dev.tailor.learned", "x", false},
		{learnAnnotation, "", false},
	}
	for _, tt := range tests {
		fires := false
		for k, v := range h.When.Annotations {
			fires = fires || (regexp.MustCompile(k).MatchString(tt.key) && regexp.MustCompile(v).MatchString(tt.value))
		}
		if fires != tt.fires {
			t.Errorf("annotation %s=%q: fires %v, want %v", tt.key, tt.value, fires, tt.fires)
		}
	}
}
