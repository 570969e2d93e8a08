package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

// depthLimit is what every refusal of a deeply nested profile says.
var depthLimit = fmt.Sprintf("arrays and objects nest more than %d deep (profiles.MaxDepth)", profiles.MaxDepth)

// deepDocuments are JSON documents nested far beyond profiles.MaxDepth:
// 100000 '[' with nothing closed, and objects nested as deep and closed.
func deepDocuments() map[string][]byte {
	const n = 100000
	return map[string][]byte{
		"arrays":  bytes.Repeat([]byte("["), n),
		"objects": []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)),
	}
}

// TestDeepNesting gives a deeply nested document as the profile (or
// seccomp JSON) to each command that loads one: each exits 2 with a
// message naming the file and the nesting limit, and writes nothing.
func TestDeepNesting(t *testing.T) {
	for shape, doc := range deepDocuments() {
		t.Run(shape, func(t *testing.T) {
			dir := flagOrderEnv(t)
			good, store, bundle := filepath.Join(dir, "web.json"), filepath.Join(dir, "store"), filepath.Join(dir, "bundle")
			deep := filepath.Join(dir, "deep.json")
			stored := filepath.Join(store, "deep.json")
			recordings := filepath.Join(store, "recordings", "host", "web")
			recording := filepath.Join(recordings, "20260101T000000.000000000Z-deep.json")
			for _, path := range []string{deep, stored, recording} {
				if err := os.WriteFile(path, doc, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, "out.json")
			tests := []struct {
				name string
				args []string
				file string // the file the message names
			}{
				{"generate", []string{"generate", "-o", out, deep}, deep},
				{"diff baseline", []string{"diff", deep, good}, deep},
				{"diff current", []string{"diff", good, deep}, deep},
				{"diff stored", []string{"diff", "--store", store, good, "deep"}, stored},
				{"merge", []string{"merge", "-o", out, good, deep}, deep},
				{"merge stored", []string{"merge", "--store", store, "-o", out, "deep", good}, stored},
				{"apply", []string{"apply", "--bundle", bundle, deep}, deep},
				{"report", []string{"report", deep}, deep},
				{"report bundle", []string{"report", "--bundle", bundle, deep}, deep},
				// push reads the file before it reaches any registry.
				{"push", []string{"push", "--plain-http", deep, "oci://127.0.0.1:1/profiles/deep:v1"}, deep},
				{"profiles show", []string{"profiles", "show", "--store", store, "deep"}, stored},
				{"profiles promote", []string{"profiles", "promote", "--store", store, "web"}, recording},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := readTree(t, dir)
					stdout, stderr, code := runCLI(t, tt.args...)
					if code != exitUsage || !strings.Contains(stderr, tt.file) || !strings.Contains(stderr, depthLimit) {
						t.Errorf("tailor %s: exit %d, stderr %q; want exit %d naming %s and %q",
							strings.Join(tt.args, " "), code, stderr, exitUsage, tt.file, depthLimit)
					}
					if stdout != "" {
						t.Errorf("stdout %q, want nothing", stdout)
					}
					after := readTree(t, dir)
					for name := range union(before, after) {
						if before[name] != after[name] {
							t.Errorf("%s changed on a refusal", name)
						}
					}
				})
			}
			// The listing says which stored profile is refused and why,
			// and goes on with the others.
			stdout, _, code := runCLI(t, "profiles", "list", "--store", store)
			if code != 0 || !strings.Contains(stdout, "invalid: "+stored) || !strings.Contains(stdout, depthLimit) ||
				!strings.Contains(stdout, "web ") {
				t.Errorf("profiles list: exit %d:\n%s", code, stdout)
			}
		})
	}
}

// TestDeepConfig gives a deeply nested config.json to the commands that
// read a bundle: each exits 2 naming the file and its nesting, and leaves
// the bundle as it was.
func TestDeepConfig(t *testing.T) {
	for shape, doc := range deepDocuments() {
		t.Run(shape, func(t *testing.T) {
			dir := flagOrderEnv(t)
			config := filepath.Join(dir, "bundle", "config.json")
			if err := os.WriteFile(config, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"apply", "--bundle", filepath.Join(dir, "bundle"), filepath.Join(dir, "web.json")},
				{"report", "--bundle", filepath.Join(dir, "bundle"), filepath.Join(dir, "web.json")},
			} {
				_, stderr, code := runCLI(t, args...)
				if code != exitUsage || !strings.Contains(stderr, config) || !strings.Contains(stderr, "depth") {
					t.Errorf("tailor %s: exit %d, stderr %q; want exit %d naming %s and its depth", strings.Join(args, " "), code, stderr, exitUsage, config)
				}
			}
			if data, _ := os.ReadFile(config); !bytes.Equal(data, doc) {
				t.Error("config.json changed on a refusal")
			}
			if _, err := os.Stat(config + ".tailor-orig"); err == nil {
				t.Error("a refused apply kept a backup")
			}
		})
	}
}
