package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/registrytest"
	"github.com/tailor-dev/tailor/registry"
)

// startRegistry starts a test registry with the host's logins kept out.
func startRegistry(t *testing.T) *registrytest.Registry {
	t.Helper()
	registrytest.IsolateAuth(t)
	return registrytest.Start(t, registrytest.Options{})
}

func TestRegistryPushPull(t *testing.T) {
	reg := startRegistry(t)
	ref := reg.Ref("profiles/web:v1")
	want, err := os.ReadFile(baselineFile)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "push", "--plain-http", baselineFile, ref)
	if code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "pushed "+baselineFile+" to "+ref+" (sha256:") ||
		!strings.Contains(stdout, "seccomp JSON for CRI-O and Kubernetes: "+reg.Host+"/profiles/web@sha256:") {
		t.Errorf("push printed:\n%s", stdout)
	}

	out := filepath.Join(t.TempDir(), "web.json")
	// Flags after the reference work as anywhere else.
	stdout, stderr, code = runCLI(t, "pull", ref, "--plain-http", "-o", out)
	if code != 0 {
		t.Fatalf("pull exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Errorf("pull -o wrote %d bytes, not the %d pushed", len(got), len(want))
	}
	if !strings.Contains(stdout, "pulled "+ref+" (sha256:") {
		t.Errorf("pull printed %q", stdout)
	}
	if stdout, _, code := runCLI(t, "pull", "--plain-http", ref); code != 0 || stdout != string(want) {
		t.Errorf("pull to stdout: exit %d, %d bytes, want the %d pushed", code, len(stdout), len(want))
	}
}

// Every command that reads a profile takes oci://, with the same result
// as the file it was pushed from.
func TestRegistryProfileArguments(t *testing.T) {
	reg := startRegistry(t)
	baseline := reg.Ref("profiles/baseline:v1")
	current := reg.Ref("profiles/current:v1")
	for file, ref := range map[string]string{baselineFile: baseline, currentFile: current} {
		if _, stderr, code := runCLI(t, "push", "--plain-http", file, ref); code != 0 {
			t.Fatalf("push %s exit %d: %s", file, code, stderr)
		}
	}
	tests := []struct {
		name      string
		file, oci []string
		code      int
	}{
		{name: "diff", file: []string{"diff", "--fail-on", "high", baselineFile, currentFile},
			oci: []string{"diff", "--plain-http", "--fail-on", "high", baseline, currentFile}, code: exitDrift},
		{name: "diff both", file: []string{"diff", "--format", "json", "--fail-on", "none", baselineFile, currentFile},
			oci: []string{"diff", "--plain-http", "--format", "json", "--fail-on", "none", baseline, current}},
		{name: "generate", file: []string{"generate", "--format", "seccomp", currentFile},
			oci: []string{"generate", "--plain-http", "--format", "seccomp", current}},
		{name: "generate flags", file: []string{"generate", "--format", "flags", currentFile},
			oci: []string{"generate", "--plain-http", "--format", "flags", current}},
		{name: "merge", file: []string{"merge", "-o", "-", baselineFile, currentFile},
			oci: []string{"merge", "--plain-http", "-o", "-", baseline, current}},
		{name: "report", file: []string{"report", "--format", "json", currentFile},
			oci: []string{"report", "--plain-http", "--format", "json", current}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOut, _, wantCode := runCLI(t, tt.file...)
			gotOut, stderr, code := runCLI(t, tt.oci...)
			if code != tt.code || wantCode != tt.code {
				t.Fatalf("exit %d from oci://, %d from files, want %d\nstderr: %s", code, wantCode, tt.code, stderr)
			}
			// Outputs that name their inputs name the reference.
			gotOut = strings.NewReplacer(baseline, baselineFile, current, currentFile).Replace(gotOut)
			if tt.name == "generate flags" {
				// The default --seccomp-file is named after the repository.
				wantOut = strings.Replace(wantOut, strings.TrimSuffix(currentFile, ".json"), "current", 1)
			}
			if gotOut != wantOut {
				t.Errorf("from oci://:\n%s\nfrom files:\n%s", gotOut, wantOut)
			}
		})
	}
	t.Run("apply", func(t *testing.T) {
		configs := map[string][]byte{}
		for _, arg := range []string{baselineFile, baseline} {
			bundle := t.TempDir()
			config := filepath.Join(bundle, "config.json")
			if err := os.WriteFile(config, []byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			if stdout, stderr, code := runCLI(t, "apply", "--plain-http", "--bundle", bundle, arg); code != 0 ||
				!strings.Contains(stdout, "applied "+arg) {
				t.Fatalf("apply %s: exit %d\nstdout: %s\nstderr: %s", arg, code, stdout, stderr)
			}
			configs[arg], _ = os.ReadFile(config)
		}
		if !bytes.Equal(configs[baselineFile], configs[baseline]) {
			t.Errorf("apply from oci:// wrote\n%s\nfrom the file\n%s", configs[baseline], configs[baselineFile])
		}
	})
}

// A missing tag, an unreachable registry, a non-tailor artifact and a
// malformed reference each exit 2 with an error that names the reference
// and the fix, for push, pull and the commands that read profiles.
func TestRegistryErrors(t *testing.T) {
	reg := startRegistry(t)
	if _, stderr, code := runCLI(t, "push", "--plain-http", baselineFile, reg.Ref("profiles/web:v1")); code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	other := reg.PushArtifact(t, "other/thing:v1", "application/vnd.example.thing.v1+json", "application/vnd.example.layer",
		[]byte(`{"kind":"TailorProfile"}`), nil)
	// A tailor artifact whose profile layer is no valid profile.
	invalid := reg.PushArtifact(t, "other/invalid:v1", registry.ArtifactType, registry.MediaTypeProfile,
		[]byte(`{"kind": "TailorProfile", "schemaVersion": 9}`), nil)
	deep := reg.PushArtifact(t, "other/deep:v1", registry.ArtifactType, registry.MediaTypeProfile, deepDocuments()["arrays"], nil)
	missing := reg.Ref("profiles/web:v9")
	closed := "oci://" + registrytest.ClosedPort(t) + "/profiles/web:v1"
	out := filepath.Join(t.TempDir(), "out.json")
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{name: "pull missing tag", args: []string{"pull", "--plain-http", "-o", out, missing},
			stderr: []string{"tailor: pull " + missing + ": not found in the registry", "has no tag v9"}},
		{name: "diff missing tag", args: []string{"diff", "--plain-http", missing, currentFile},
			stderr: []string{"pull " + missing + ": not found in the registry"}},
		{name: "pull unreachable", args: []string{"pull", "--plain-http", closed},
			stderr: []string{"pull " + closed + ": registry unreachable", "connection refused", "check the host and port"}},
		{name: "push unreachable", args: []string{"push", "--plain-http", baselineFile, closed},
			stderr: []string{"push " + closed + ": registry unreachable"}},
		{name: "generate unreachable", args: []string{"generate", "--plain-http", closed},
			stderr: []string{"pull " + closed + ": registry unreachable"}},
		{name: "pull non-tailor", args: []string{"pull", "--plain-http", "-o", out, other},
			stderr: []string{"pull " + other + ": not a tailor profile artifact", "application/vnd.example.thing.v1+json"}},
		{name: "merge non-tailor", args: []string{"merge", "--plain-http", "-o", out, other, baselineFile},
			stderr: []string{"pull " + other + ": not a tailor profile artifact"}},
		{name: "pull invalid profile", args: []string{"pull", "--plain-http", "-o", out, invalid},
			stderr: []string{invalid + ": invalid profile", "schemaVersion"}},
		{name: "pull deep profile", args: []string{"pull", "--plain-http", "-o", out, deep},
			stderr: []string{deep + ": invalid profile", depthLimit}},
		{name: "diff deep profile", args: []string{"diff", "--plain-http", deep, currentFile},
			stderr: []string{deep + ": invalid profile", depthLimit}},
		{name: "without --plain-http", args: []string{"pull", reg.Ref("profiles/web:v1")},
			stderr: []string{"answers in plain HTTP: add --plain-http"}},
		{name: "malformed", args: []string{"pull", "oci://web:v1"}, stderr: []string{"malformed registry reference", "oci://HOST[:PORT]/REPO:TAG"}},
		{name: "report malformed", args: []string{"report", "oci://registry.example/web"}, stderr: []string{"names no tag or digest"}},
		{name: "push malformed", args: []string{"push", baselineFile, "oci://registry.example/Web:v1"}, stderr: []string{"invalid repository"}},
		{name: "push a reference", args: []string{"push", missing, missing}, stderr: []string{"push reads a local file"}},
		{name: "push bad profile", args: []string{"push", "--plain-http", seccompFile, reg.Ref("profiles/bad:v1")},
			stderr: []string{seccompFile + ": invalid profile"}},
		{name: "pull arguments", args: []string{"pull"}, stderr: []string{"pull takes one REF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, stdout, stderr)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			t.Log(strings.TrimSpace(stderr))
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused pull wrote its output")
	}
}

// TestRegistryFlagsAfterArguments: push and pull end the same with their
// flags before, after or among their arguments.
func TestRegistryFlagsAfterArguments(t *testing.T) {
	reg := startRegistry(t)
	refs := map[string]string{"{ref}": reg.Ref("profiles/order:v1"), "{pulled}": reg.Ref("profiles/web:v1")}
	if _, stderr, code := runCLI(t, "push", "--plain-http", baselineFile, refs["{pulled}"]); code != 0 {
		t.Fatalf("push exit %d: %s", code, stderr)
	}
	tests := []flagOrderCase{
		{name: "push",
			before: []string{"push", "--plain-http", "--default-action", "enosys", "{dir}/web.json", "{ref}"},
			after:  []string{"push", "{dir}/web.json", "{ref}", "--plain-http", "--default-action", "enosys"}, stdout: "pushed "},
		{name: "push among",
			before: []string{"push", "--plain-http", "{dir}/web.json", "{ref}"},
			after:  []string{"push", "{dir}/web.json", "--plain-http", "{ref}"}, stdout: "seccomp JSON for CRI-O and Kubernetes"},
		{name: "pull",
			before: []string{"pull", "--plain-http", "-o", "{dir}/pulled.json", "{pulled}"},
			after:  []string{"pull", "{pulled}", "-o", "{dir}/pulled.json", "--plain-http"}, stdout: "pulled "},
		{name: "pull to stdout",
			before: []string{"pull", "--plain-http", "{pulled}"},
			after:  []string{"pull", "{pulled}", "--plain-http"}, stdout: `"kind": "TailorProfile"`},
		{name: "push without --plain-http",
			before: []string{"push", "--default-action", "kill", "{dir}/web.json", "{ref}"},
			after:  []string{"push", "{dir}/web.json", "{ref}", "--default-action", "kill"}, code: exitUsage, stderr: "add --plain-http"},
	}
	checkFlagOrder(t, tests, flagOrderEnv, refs)
}
