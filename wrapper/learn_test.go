package wrapper

import (
	"reflect"
	"testing"
)

// TestRunLearningHookArgs checks the hook a learning create adds: by
// default the hook adds a recording to the store, which an operator
// promotes; with LearnReplaces it replaces the stored profile.
func TestRunLearningHookArgs(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string // after "tailor hook --store STORE"
	}{
		{"adds a recording", Options{}, nil},
		{"replaces the profile", Options{LearnReplaces: true}, []string{"--learn-replaces"}},
		{"with a tracer directory", Options{TracerDir: "/run/tailor"}, []string{"--tracer-dir", "/run/tailor"}},
		{"both", Options{LearnReplaces: true, TracerDir: "/run/tailor"}, []string{"--learn-replaces", "--tracer-dir", "/run/tailor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, []string{"TAILOR_LEARN=web"}, nil)
			o := tt.o
			o.Runtime, o.Args, o.Store, o.Exe = f.runtime, f.createArgs(), f.store, "/usr/local/bin/tailor"
			o.Exec = func(string, []string, []string) error { return nil }
			if err := Run(o); err != nil {
				t.Fatalf("Run: %v", err)
			}
			cfg := readJSON(t, f.config())
			checkLearning(t, cfg)
			h := cfg["hooks"].(map[string]any)["createRuntime"].([]any)[0].(map[string]any)
			var got []string
			for _, a := range h["args"].([]any) {
				got = append(got, a.(string))
			}
			if want := append([]string{"tailor", "hook", "--store", f.store}, tt.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("hook args = %q, want %q", got, want)
			}
		})
	}
}
