package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

// TestReportComplainBundle: tailor report --bundle of a complain-mode
// bundle says it is not a security boundary and where the violations go;
// of a bundle enforcing the profile normally, it does not.
func TestReportComplainBundle(t *testing.T) {
	dir := t.TempDir()
	prof := writeProfile(t, dir, true)
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		complain *complainSpec
		want     []string
	}{
		{"enforced", nil, nil},
		{"complain", &complainSpec{profile: "web"}, []string{"mode         complain", "a recording of web.violations per container", "tailor profiles promote --as web web.violations"}},
		{"report to a file", &complainSpec{profile: "web", report: true, file: "/root/rollout/web.violations.json"},
			[]string{"mode         report", "/root/rollout/web.violations.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := filepath.Join(t.TempDir(), "bundle")
			os.Mkdir(b, 0o755)
			if err := os.WriteFile(filepath.Join(b, "config.json"), []byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			var opts bundle.ApplyOptions
			if tt.complain != nil {
				tt.complain.tracerDir, tt.complain.store = "/run/tailor-test", dir
				if opts.Complain, err = complainSetup(*tt.complain); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := bundle.ApplyBundle(b, p, opts); err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{"text", "json"} {
				stdout, stderr, code := runTailor(t, "report", "--format", format, "--bundle", b, prof)
				if code != 0 {
					t.Fatalf("tailor report --format %s: exit %d: %s", format, code, stderr)
				}
				if got := strings.Contains(stdout, generator.NotBoundary); got != (tt.complain != nil) {
					t.Errorf("--format %s: says complain mode is not a security boundary: %v, want %v:\n%s", format, got, tt.complain != nil, stdout)
				}
				if format == "json" {
					continue
				}
				want := tt.want
				if tt.complain != nil {
					want = append(want, "agent        /run/tailor-test/notify.sock")
				}
				for _, w := range want {
					if !strings.Contains(stdout, w) {
						t.Errorf("the report does not say %q:\n%s", w, stdout)
					}
				}
			}
		})
	}
}
