package wrapper

import (
	"reflect"
	"testing"
)

// TestRunLearningHookArgs checks the hook a learning create adds: by
// default the hook adds a recording to the store, which an operator
// promotes; with LearnReplaces it replaces the stored profile. With
// LeanHook, tailor-hook runs with the same flags.
func TestRunLearningHookArgs(t *testing.T) {
	const lean = "/usr/local/bin/tailor-hook"
	tests := []struct {
		name string
		o    Options
		want []string // after "tailor hook --store STORE"
	}{
		{"adds a recording", Options{}, nil},
		{"replaces the profile", Options{LearnReplaces: true}, []string{"--learn-replaces"}},
		{"with a tracer directory", Options{TracerDir: "/run/tailor"}, []string{"--tracer-dir", "/run/tailor"}},
		{"both", Options{LearnReplaces: true, TracerDir: "/run/tailor"}, []string{"--learn-replaces", "--tracer-dir", "/run/tailor"}},
		{"tailor-hook", Options{LeanHook: lean, LearnReplaces: true, TracerDir: "/run/tailor"}, []string{"--learn-replaces", "--tracer-dir", "/run/tailor"}},
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
			path, argv := "/usr/local/bin/tailor", []string{"tailor", "hook"}
			if tt.o.LeanHook != "" {
				path, argv = lean, []string{"tailor-hook"}
			}
			if want := append(append(argv, "--store", f.store), tt.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("hook args = %q, want %q", got, want)
			}
			if h["path"] != path {
				t.Errorf("hook path = %v, want %s", h["path"], path)
			}
		})
	}
}
