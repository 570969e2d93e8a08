package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/profiles"
)

// Issue 6: tailor through the engines users meet it in. Podman learns
// through the hooks.d JSON and enforces with the flags tailor generates;
// Docker learns and enforces through `tailor runtime`. Both with the same
// busybox workload and the same assertions: the workload passes under its
// profile, a syscall it never made fails with EPERM, and a capability it
// never needed is absent.

// engineWorkload runs as root on files it owns: it needs no capability
// (chown to the owner it already has checks none) and makes no directory.
const engineWorkload = `set -e
echo hello > /tmp/a
cat /tmp/a > /tmp/b
chown 0:0 /tmp/b
ls -l /tmp > /dev/null
wc -c /tmp/a
sha256sum /tmp/a
sed -e s/hello/bye/ /tmp/a | tr a-z A-Z
id
grep CapEff /proc/self/status
echo engine workload ok
`

// engineProbes run after the workload under its profile: mkdir is a
// syscall it never made (refused by the filter); chown to another owner
// is a syscall it made, needing CAP_CHOWN, which it never used (refused
// by the capability set).
const engineProbes = `mkdir /tmp/never 2>&1 || echo probe: mkdir refused
chown 1000 /tmp/b 2>&1 || echo probe: chown refused
`

const engineWant = "engine workload ok"

// profileTimeout bounds the wait for the tracer to write a profile after
// the container exits (it waits out a grace period for stray tasks).
const profileTimeout = 90 * time.Second

func TestPodman(t *testing.T) {
	pm := newPodman(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			runtimeBin(t, rt)
			name := "podman-" + rt

			// Learn through the hook: the annotation names the profile, the
			// hooks.d JSON names the store.
			res := pm.run(t, rt, []string{"--annotation", learnAnnotation + "=" + name}, "/bin/sh", "-c", engineWorkload)
			if res.ExitCode != 0 || !strings.Contains(res.Stdout, engineWant) {
				t.Fatalf("learning run under podman --runtime %s:\n%s", rt, res)
			}
			path, p := promoteLearned(t, pm.Store, name, pm.Tracer)
			checkEngineProfile(t, p)

			// Enforce with the flags tailor generates.
			flags := generateFlags(t, path)
			res = pm.run(t, rt, flags, "/bin/sh", "-c", engineWorkload+engineProbes)
			checkEnforced(t, p, res, nil)

			// oci-seccomp-bpf-hook's annotation writes a seccomp JSON that
			// podman enforces as it is.
			out := filepath.Join(pm.Allowed, name+".seccomp.json")
			res = pm.run(t, rt, []string{"--annotation", traceAnnotation + "=of:" + out}, "/bin/sh", "-c", engineWorkload)
			if res.ExitCode != 0 {
				t.Fatalf("run with %s:\n%s", traceAnnotation, res)
			}
			checkSeccompFile(t, waitFile(t, out, pm.Tracer))
			res = pm.run(t, rt, []string{"--security-opt", "seccomp=" + out}, "/bin/sh", "-c", engineWorkload+engineProbes)
			if res.ExitCode != 0 || !strings.Contains(res.Stdout, engineWant) || !strings.Contains(res.Stdout, "probe: mkdir refused") {
				t.Errorf("workload under the %s output:\n%s", traceAnnotation, res)
			}
		})
	}
}

func TestDocker(t *testing.T) {
	d := startDockerd(t)
	runtime := []string{"--runtime", "tailor"}

	// Learn through the runtime wrapper: Docker 20.10 passes no
	// annotations, the environment says what to do.
	res := d.run(t, append(runtime, "-e", "TAILOR_LEARN=docker"), "/bin/sh", "-c", engineWorkload)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, engineWant) {
		t.Fatalf("learning run under docker --runtime tailor:\n%s", res)
	}
	// An image asking to be learned adds a recording; what containers
	// enforce changes only when the operator promotes it.
	waitRecording(t, d.Store, "docker", d.Tracer)
	if res := d.run(t, append(runtime, "-e", "TAILOR_PROFILE=docker"), "/bin/sh", "-c", "echo started"); res.ExitCode == 0 {
		t.Fatalf("a learning run became an enforced profile without promotion:\n%s", res)
	}
	path, p := promoteLearned(t, d.Store, "docker", d.Tracer)
	checkEngineProfile(t, p)

	t.Run("TAILOR_PROFILE", func(t *testing.T) {
		res := d.run(t, append(runtime, "-e", "TAILOR_PROFILE=docker"), "/bin/sh", "-c", engineWorkload+engineProbes)
		// The wrapper grants no capability Docker did not.
		checkEnforced(t, p, res, generator.DockerDefaultCapabilities())
	})
	t.Run("generated flags", func(t *testing.T) {
		res := d.run(t, generateFlags(t, path), "/bin/sh", "-c", engineWorkload+engineProbes)
		checkEnforced(t, p, res, nil)
	})
	t.Run("missing profile refuses to start", func(t *testing.T) {
		res := d.run(t, append(runtime, "-e", "TAILOR_PROFILE=nosuch"), "/bin/sh", "-c", "echo started")
		if res.ExitCode == 0 || strings.Contains(res.Stdout, "started") {
			t.Fatalf("a container naming a missing profile ran:\n%s", res)
		}
		for _, want := range []string{`profile "nosuch" is not in the store`, "refusing to run the container unconfined"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("docker's error does not say %q:\n%s", want, res.Stderr)
			}
		}
		if ids := strings.Fields(d.docker(t, "ps", "-q").Stdout); len(ids) > 0 {
			t.Errorf("containers running after the refusal: %v", ids)
		}
	})
}

// waitRecording waits (bounded) for the tracer to add a recording of name
// to the store.
func waitRecording(t testing.TB, store, name, tracerDir string) {
	t.Helper()
	for deadline := time.Now().Add(profileTimeout); ; time.Sleep(50 * time.Millisecond) {
		recs, err := profiles.NewStore(store).Recordings("", name)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(tracerDir, "tracer.log"))
			t.Fatalf("no recording of %s in %s after %s\ntracer log (tail):\n%s", name, store, profileTimeout, tail(string(log), 20))
		}
	}
}

// promoteLearned waits for the recording of a learning run, promotes it
// into the profile name as an operator would (tailor profiles promote),
// and loads the result.
func promoteLearned(t testing.TB, store, name, tracerDir string) (string, *profiles.Profile) {
	t.Helper()
	waitRecording(t, store, name, tracerDir)
	if res := run(t, nil, tailorBin(t), "profiles", "promote", "--store", store, name); res.ExitCode != 0 {
		t.Fatalf("tailor profiles promote:\n%s", res)
	}
	path := filepath.Join(store, name+".json")
	return path, waitProfile(t, path, tracerDir)
}

// waitProfile waits (bounded) for the tracer to write the profile and
// loads it.
func waitProfile(t testing.TB, path, tracerDir string) *profiles.Profile {
	t.Helper()
	waitFile(t, path, tracerDir)
	p, err := profiles.Load(path)
	if err != nil {
		t.Fatalf("learned profile: %v", err)
	}
	if !p.Complete {
		t.Errorf("profile %s is marked incomplete: loss %+v", path, p.Loss)
	}
	return p
}

// waitFile waits (bounded) for a file the tracer (in tracerDir) writes
// atomically once the container is done, and returns its content.
func waitFile(t testing.TB, path, tracerDir string) []byte {
	t.Helper()
	data, err := ocitest.WaitFile(path, profileTimeout)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(tracerDir, "tracer.log"))
		t.Fatalf("%v\ntracer log (tail):\n%s", err, tail(string(log), 20))
	}
	return data
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkEngineProfile checks the premises of the enforcement probes, and
// that the engine's own work (overlay mounts, runtime setup) did not leak
// into the profile as capabilities: the workload needs none.
func checkEngineProfile(t testing.TB, p *profiles.Profile) {
	t.Helper()
	calls := syscallSet(p, profiles.ABIX8664)
	if calls["mkdir"] || calls["mkdirat"] {
		t.Fatalf("the workload made no directory, yet the profile allows mkdir: %v", p.SyscallNames(profiles.ABIX8664))
	}
	if !calls["fchownat"] && !calls["chown"] && !calls["lchown"] {
		t.Fatalf("the workload's chown is not in the profile: %v", p.SyscallNames(profiles.ABIX8664))
	}
	if granted := p.GrantedCapabilities(); len(granted) > 0 {
		t.Errorf("the workload needs no capability, the profile grants %v "+
			"(checks made with another task's or a mounter's credentials, e.g. overlayfs, must not count)", granted)
	}
	for _, c := range p.GrantedCapabilities() {
		if c == "CAP_CHOWN" {
			t.Fatalf("the profile grants CAP_CHOWN, which the chown probe needs refused")
		}
	}
}

// generateFlags writes the profile's seccomp JSON next to it and returns
// `tailor generate --format flags` split into arguments.
func generateFlags(t testing.TB, profile string) []string {
	t.Helper()
	bin := tailorBin(t)
	seccomp := strings.TrimSuffix(profile, ".json") + ".seccomp.json"
	if res := run(t, nil, bin, "generate", "--format", "seccomp", "-o", seccomp, profile); res.ExitCode != 0 {
		t.Fatalf("tailor generate --format seccomp:\n%s", res)
	}
	// This host has no AppArmor: podman refuses --security-opt apparmor=NAME.
	res := run(t, nil, bin, "generate", "--format", "flags", "--no-apparmor", "--seccomp-file", seccomp, profile)
	if res.ExitCode != 0 {
		t.Fatalf("tailor generate --format flags:\n%s", res)
	}
	flags := strings.Fields(res.Stdout)
	if !containsString(flags, "--cap-drop=ALL") || !containsString(flags, "seccomp="+seccomp) {
		t.Fatalf("flags %q lack --cap-drop=ALL or the seccomp file", flags)
	}
	return flags
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var capEffLine = regexp.MustCompile(`CapEff:\s+([0-9a-f]+)`)

// checkEnforced checks a run of the workload and the probes under the
// profile: the workload passes, the syscall it never made fails with EPERM
// (not podman's default ENOSYS), and the capability set is exactly the
// profile's (within the engine's set, when given), so the chown that needs
// CAP_CHOWN fails.
func checkEnforced(t testing.TB, p *profiles.Profile, res ocitest.Result, engine []string) {
	t.Helper()
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, engineWant) {
		t.Fatalf("the workload failed under its profile:\n%s", res)
	}
	for _, want := range []string{
		"mkdir: can't create directory '/tmp/never': Operation not permitted",
		"chown: /tmp/b: Operation not permitted",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("want %q under the profile:\n%s", want, res)
		}
	}
	m := capEffLine.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no CapEff line in the output:\n%s", res)
	}
	got, err := strconv.ParseUint(m[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	var want uint64
	var names []string
	for _, name := range p.GrantedCapabilities() {
		if engine != nil && !containsString(engine, name) {
			continue
		}
		names = append(names, name)
		c, ok := profiles.CapabilityByName(name)
		if !ok {
			t.Fatalf("unknown capability %s in the profile", name)
		}
		want |= 1 << uint(c)
	}
	if got != want {
		t.Errorf("effective capabilities %#x, want exactly %v (%#x)", got, names, want)
	}
}

// checkSeccompFile checks that io.containers.trace-syscall wrote an OCI
// seccomp JSON that libseccomp compiles and that allows the workload.
func checkSeccompFile(t testing.TB, data []byte) {
	t.Helper()
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatalf("trace-syscall output is not seccomp JSON: %v\n%s", err, data)
	}
	allowed := map[string]bool{}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow {
			for _, n := range r.Names {
				allowed[n] = true
			}
		}
	}
	for _, n := range []string{"execve", "write", "wait4"} {
		if !allowed[n] {
			t.Errorf("trace-syscall output does not allow %s", n)
		}
	}
	if allowed["mkdir"] || allowed["mkdirat"] {
		t.Errorf("trace-syscall output allows mkdir, which the workload never made")
	}
	f, err := generator.Compile(&sc)
	if err != nil {
		t.Fatalf("libseccomp refuses the trace-syscall output: %v", err)
	}
	f.Release()
	if sc.DefaultAction == specs.ActAllow {
		t.Errorf("trace-syscall output allows everything by default: %s", fmt.Sprint(sc.DefaultAction))
	}
}
