package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/landlock"
	"github.com/tailor-dev/tailor/profiles"
)

// llConfig mounts a tmpfs on /dev and holds a number no float64 holds.
const llConfig = `{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["sh", "-c", "echo hi\nthere"],
    "env": ["PATH=/bin"],
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}]
  },
  "root": {"path": "rootfs"},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
  "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}
}
`

func landlockProfile(t *testing.T) *profiles.Profile {
	p := applyProfile(t)
	p.Recorded = profiles.Dimensions
	p.Files = []profiles.File{{Path: "/bin/busybox", Type: profiles.TypeRegular, Access: []profiles.Access{profiles.AccessExec}}}
	p.Programs = []profiles.Program{{Path: "/bin/busybox"}}
	p.Normalize()
	return p
}

func landlockOpts(t *testing.T) *LandlockOptions {
	helper := filepath.Join(t.TempDir(), "tailor-landlock")
	if err := os.WriteFile(helper, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &LandlockOptions{Helper: helper, Dir: t.TempDir(), KernelABI: func() int { return landlock.MaxABI }}
}

func TestApplyLandlock(t *testing.T) {
	o := landlockOpts(t)
	out, notes, err := ApplyProfile([]byte(llConfig), landlockProfile(t), ApplyOptions{Landlock: o})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ociconfig.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cfg.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if want := landlock.HelperArgs([]string{"sh", "-c", "echo hi\nthere"}); !slices.Equal(spec.Process.Args, want) {
		t.Errorf("process.args = %q, want %q", spec.Process.Args, want)
	}
	if spec.Linux.Seccomp == nil || !spec.Process.NoNewPrivileges {
		t.Errorf("want linux.seccomp kept (exec sessions get it) and noNewPrivileges set: %s", out)
	}
	if !strings.Contains(string(out), `"hard": 18446744073709551615`) || !strings.Contains(string(out), `"env": ["PATH=/bin"]`) {
		t.Errorf("other bytes changed:\n%s", out)
	}
	var dests []string
	for _, m := range spec.Mounts {
		dests = append(dests, m.Destination)
		if strings.HasPrefix(m.Destination, "/dev/.tailor") && !slices.Contains(m.Options, "ro") {
			t.Errorf("%s is not mounted read-only: %v", m.Destination, m.Options)
		}
	}
	if !slices.Equal(dests, []string{"/proc", "/dev", landlock.HelperPath, landlock.ConfigPath}) {
		t.Errorf("mounts %q", dests)
	}
	data, err := os.ReadFile(filepath.Join(o.Dir, LandlockFile))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := landlock.ParseHelperConfig(data)
	if err != nil || len(hc.Seccomp) == 0 || !hc.Ruleset.Allows("/bin/busybox", landlock.FSExecute) {
		t.Errorf("helper configuration %s: %v", data, err)
	}
	if len(notes) == 0 {
		t.Error("no note says what Landlock enforces")
	}

	// Applying again starts from the user's process, not the helper's.
	again, _, err := ApplyProfile(out, landlockProfile(t), ApplyOptions{Landlock: o})
	if err != nil {
		t.Fatal(err)
	}
	var s2 struct {
		Process struct{ Args []string } `json:"process"`
		Mounts  []json.RawMessage       `json:"mounts"`
	}
	if err := json.Unmarshal(again, &s2); err != nil || !slices.Equal(s2.Process.Args, spec.Process.Args) || len(s2.Mounts) != 4 {
		t.Errorf("a second apply wrapped the helper again: %s", again)
	}
	plain, _, err := ApplyProfile(out, landlockProfile(t), ApplyOptions{})
	if err == nil {
		err = json.Unmarshal(plain, &s2)
	}
	if err != nil || strings.Contains(string(plain), ".tailor-landlock") || !slices.Equal(s2.Process.Args, []string{"sh", "-c", "echo hi\nthere"}) {
		t.Errorf("an apply without --landlock kept the helper (%v):\n%s", err, plain)
	}
}

func TestApplyLandlockRefuses(t *testing.T) {
	noDev := strings.Replace(llConfig, `"type": "tmpfs"`, `"type": "bind"`, 1)
	noArgs := strings.Replace(llConfig, `"args": ["sh", "-c", "echo hi\nthere"],`, `"args": [],`, 1)
	taken := strings.Replace(llConfig, `"destination": "/proc"`, `"destination": "/dev/.tailor-landlock/"`, 1)
	for _, c := range []struct {
		name, config, want string
		edit               func(o *LandlockOptions, p *profiles.Profile)
	}{
		{"no tmpfs on /dev", noDev, "no tmpfs is mounted on /dev", nil},
		{"empty process.args", noArgs, "process.args is empty", nil},
		{"mount point taken", taken, "already mounts", nil},
		{"no helper", llConfig, "tailor-landlock", func(o *LandlockOptions, _ *profiles.Profile) { o.Helper = "/nonexistent/tailor-landlock" }},
		{"strict on an old kernel", llConfig, "ABI 3", func(o *LandlockOptions, _ *profiles.Profile) {
			o.Strict, o.KernelABI = true, func() int { return 3 }
		}},
		{"files not recorded", llConfig, "did not record files", func(_ *LandlockOptions, p *profiles.Profile) {
			p.Recorded = []profiles.Dimension{profiles.DimSyscalls, profiles.DimCapabilities}
		}},
		{"no execve in the profile", llConfig, "does not allow execve", func(_ *LandlockOptions, p *profiles.Profile) {
			p.ABIs[0].Syscalls = slices.DeleteFunc(p.ABIs[0].Syscalls, func(s profiles.Syscall) bool { return s.Name == "execve" })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, p := landlockOpts(t), landlockProfile(t)
			if c.edit != nil {
				c.edit(o, p)
			}
			_, _, err := ApplyProfile([]byte(c.config), p, ApplyOptions{Landlock: o})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(o.Dir, LandlockFile)); err == nil {
				t.Error("the helper's configuration was written for a refused apply")
			}
		})
	}
}

// llConfigWith is llConfig with filter as its linux.seccomp (none: nil).
func llConfigWith(t *testing.T, filter *specs.LinuxSeccomp) []byte {
	t.Helper()
	const allowAll = `"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}`
	if filter == nil {
		return []byte(strings.Replace(llConfig, allowAll, `"linux": {}`, 1))
	}
	data, err := json.Marshal(filter)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(llConfig, allowAll, `"linux": {"seccomp": `+string(data)+`}`, 1))
}

// refusedBy lists what of want the filter got refuses, wholly or for some
// arguments, read with the intersection's own algebra.
func refusedBy(t *testing.T, want, got *specs.LinuxSeccomp) []string {
	t.Helper()
	in, err := generator.IntersectFilters(want, got)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Concat(in.Refused, in.Narrowed)
}

// TestApplyLandlockRuntimeFilter checks linux.seccomp under --landlock,
// which the runtime loads before the helper and applies to exec sessions:
// the learned filter (which the helper loads) plus the helper's own set,
// nothing else, and never wider than the engine's filter.
func TestApplyLandlockRuntimeFilter(t *testing.T) {
	p := landlockProfile(t)
	generated, _, err := generator.Seccomp(p, generator.SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	docker := generator.DockerDefaultSeccomp()
	for _, c := range []struct {
		name   string
		engine *specs.LinuxSeccomp
	}{
		{"no engine filter", nil},
		{"Docker's default", docker},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := landlockOpts(t)
			out, _, err := ApplyProfile(llConfigWith(t, c.engine), p, ApplyOptions{Landlock: o})
			if err != nil {
				t.Fatal(err)
			}
			outer := seccompIn(t, out)
			data, err := os.ReadFile(filepath.Join(o.Dir, LandlockFile))
			if err != nil {
				t.Fatal(err)
			}
			hc, err := landlock.ParseHelperConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			learned := generated
			if c.engine != nil {
				if learned, _, err = generator.Intersect(generated, c.engine); err != nil {
					t.Fatal(err)
				}
			}
			if bpf, err := compileBPF(learned); err != nil || !slices.Equal(bpf, hc.Seccomp) {
				t.Errorf("the helper's filter is not the learned one (%v)", err)
			}
			if lost := refusedBy(t, learned, outer); len(lost) > 0 {
				t.Errorf("linux.seccomp refuses %q of the learned filter", lost)
			}
			if lost := refusedBy(t, landlock.HelperFilter(learned), outer); len(lost) > 0 {
				t.Errorf("linux.seccomp refuses %q of the helper's set", lost)
			}
			if c.engine != nil {
				if wider := refusedBy(t, outer, c.engine); len(wider) > 0 {
					t.Errorf("linux.seccomp allows %q beyond the engine's filter", wider)
				}
			}
			allowed := allowedNames(outer)
			for _, n := range []string{"mkdir", "mkdirat", "unshare", "setns", "mount", "ptrace", "socket"} {
				if slices.Contains(allowed, n) {
					t.Errorf("linux.seccomp allows %s, which neither the profile nor the helper makes", n)
				}
			}
			for _, r := range outer.Syscalls {
				if slices.Contains(r.Names, "clone") && r.Action == specs.ActAllow &&
					(len(r.Args) == 0 || r.Args[0].Op == specs.OpEqualTo && r.Args[0].Value&unix.CLONE_NEWUSER != 0) {
					t.Errorf("clone allowed for more than threads: %+v", r)
				}
			}
		})
	}
}

func TestApplyLandlockRefusesAnEngineThatRefusesTheHelper(t *testing.T) {
	engine := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"execve", "exit", "exit_group", "read", "write", "restart_syscall",
			"rt_sigreturn", "socket"}, Action: specs.ActAllow}}}
	o := landlockOpts(t)
	_, _, err := ApplyProfile(llConfigWith(t, engine), landlockProfile(t), ApplyOptions{Landlock: o})
	if !errors.Is(err, ErrHelperSyscalls) || !strings.Contains(err.Error(), "futex") || !strings.Contains(err.Error(), "without --landlock") {
		t.Fatalf("error %v, want %v naming futex and the way out", err, ErrHelperSyscalls)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, LandlockFile)); err == nil {
		t.Error("the helper's configuration was written for a refused apply")
	}
}

// TestCheckDevTmpfs: the helper's mount points must be on the runtime's
// /dev tmpfs, and no later mount on /dev or / may hide it; destinations
// are read as runc reads them, relative to the container's root.
func TestCheckDevTmpfs(t *testing.T) {
	tmpfs := specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"}
	bind := func(dest string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: "/srv/x", Options: []string{"rbind"}}
	}
	for _, c := range []struct {
		name   string
		mounts []specs.Mount
		want   string // "" when accepted
	}{
		{"a tmpfs on /dev", []specs.Mount{{Destination: "/proc", Type: "proc"}, tmpfs}, ""},
		{"mounts beneath /dev after it", []specs.Mount{tmpfs, {Destination: "/dev/pts", Type: "devpts"}, bind("/dev/shm")}, ""},
		{"a bind on / before it", []specs.Mount{bind("/"), tmpfs}, ""},
		{"a relative tmpfs on dev", []specs.Mount{{Destination: "dev", Type: "tmpfs"}}, ""},
		{"no mount on /dev", []specs.Mount{{Destination: "/proc", Type: "proc"}}, "no tmpfs"},
		{"a bind on /dev only", []specs.Mount{bind("/dev")}, "no tmpfs"},
		{"a bind on /dev after the tmpfs", []specs.Mount{tmpfs, bind("/dev")}, "mounts[1] (bind on \"/dev\") comes after the tmpfs"},
		{"a relative bind on dev after the tmpfs", []specs.Mount{tmpfs, bind("dev")}, "mounts[1] (bind on \"dev\")"},
		{"an unclean bind on /dev/ after the tmpfs", []specs.Mount{tmpfs, bind("//dev/./")}, "comes after the tmpfs"},
		{"a bind climbing to /dev after the tmpfs", []specs.Mount{tmpfs, bind("../dev")}, "comes after the tmpfs"},
		{"a bind on / after the tmpfs", []specs.Mount{tmpfs, bind("/")}, "comes after the tmpfs"},
		{"a second tmpfs on /dev", []specs.Mount{tmpfs, tmpfs}, ""},
		{"the helper's path taken", []specs.Mount{tmpfs, bind(landlock.HelperPath)}, "already mounts"},
		{"the configuration's path taken, relative", []specs.Mount{tmpfs, bind("dev/.tailor-landlock.json")}, "already mounts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkDevTmpfs(c.mounts)
			if c.want == "" && err != nil {
				t.Errorf("refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrBadConfig)) {
				t.Errorf("error %v, want ErrBadConfig with %q", err, c.want)
			}
		})
	}
}
