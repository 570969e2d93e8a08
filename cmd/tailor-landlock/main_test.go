package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/landlock"
)

// The helper on its own, on the host: built as make builds it (static,
// no cgo), given a configuration, it must enforce the ruleset and the
// filter on the program it execs, with that program's arguments and
// environment, and the program's exit code and signals must be its own.
// Landlock needs no privilege: these run as any user on a kernel with
// Landlock, and skip (fail under CI=true) without it.

func helper(t *testing.T) string {
	t.Helper()
	if landlock.KernelABI() < 1 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the kernel has no Landlock: CI must run on one that has")
		}
		t.Skip("the kernel has no Landlock (lsm= does not list it)")
	}
	bin := filepath.Join(t.TempDir(), "tailor-landlock")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the helper: %v\n%s", err, out)
	}
	return bin
}

// hostRules let a shell and cat run on the host.
func hostRules(extra ...landlock.PathRule) *landlock.Ruleset {
	read := landlock.FSReadFile | landlock.FSReadDir | landlock.FSExecute
	rs := &landlock.Ruleset{ABI: 5, HandledFS: landlock.AllFS}
	for _, p := range []string{"/usr", "/bin", "/lib", "/lib64"} { // system roots: symlinks into /usr here
		rs.Paths = append(rs.Paths, landlock.PathRule{Path: p, Type: landlock.TypeDir, Follow: true, Access: read})
	}
	rs.Paths = append(rs.Paths, landlock.PathRule{Path: "/etc", Type: landlock.TypeDir, Access: read},
		landlock.PathRule{Path: "/dev/null", Type: landlock.TypeChar, Access: landlock.FSWriteFile | landlock.FSReadFile})
	rs.Paths = append(rs.Paths, extra...)
	return rs
}

func writeConfig(t *testing.T, c landlock.HelperConfig) string {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runHelper(t *testing.T, bin, config string, env []string, args ...string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--config", config, "--"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run the helper: %v", err)
	}
	return string(out), cmd.ProcessState
}

func TestHelperExecsWithArgsEnvAndExitCode(t *testing.T) {
	bin := helper(t)
	cfg := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules()})
	env := []string{"PATH=/usr/bin:/bin", "FOO=bar baz"}
	out, st := runHelper(t, bin, cfg, env, "sh", "-c", `echo "$0|$1|$FOO"; env | sort | tr '\n' ' '; exit 7`, "sh0", "one two")
	if st.ExitCode() != 7 {
		t.Errorf("exit code %d, want the program's 7\n%s", st.ExitCode(), out)
	}
	if !strings.Contains(out, "sh0|one two|bar baz") {
		t.Errorf("args or environment not passed as given: %q", out)
	}
	if strings.Contains(out, "TAILOR") || !strings.Contains(out, "FOO=bar baz PATH=/usr/bin:/bin") {
		t.Errorf("the program's environment is not exactly the helper's: %q", out)
	}
}

func TestHelperPassesSignals(t *testing.T) {
	bin := helper(t)
	cfg := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules()})
	_, st := runHelper(t, bin, cfg, []string{"PATH=/bin"}, "/bin/sh", "-c", "kill -TERM $$")
	ws := st.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("status %v, want killed by SIGTERM (the helper is replaced by the program)", st)
	}
}

func TestHelperEnforcesRuleset(t *testing.T) {
	bin := helper(t)
	allowed, denied := t.TempDir(), t.TempDir()
	for _, d := range []string{allowed, denied} {
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("content of "+d+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules(
		landlock.PathRule{Path: allowed, Type: landlock.TypeDir, Access: landlock.FSReadFile},
		landlock.PathRule{Path: "/nonexistent/rule", Type: landlock.TypeRegular, Access: landlock.FSReadFile})})
	out, st := runHelper(t, bin, cfg, []string{"PATH=/usr/bin:/bin"}, "sh", "-c",
		"cat "+allowed+"/f; cat "+denied+"/f; echo x > "+allowed+"/new; echo done")
	if st.ExitCode() != 0 || !strings.Contains(out, "content of "+allowed) || !strings.Contains(out, "done") {
		t.Fatalf("the allowed read failed:\n%s", out)
	}
	if strings.Contains(out, "content of "+denied) || strings.Count(out, "Permission denied") != 2 {
		t.Errorf("want the read outside the rules and the write refused with EACCES:\n%s", out)
	}
}

func TestHelperLoadsSeccompLast(t *testing.T) {
	bin := helper(t)
	errno := uint(1)
	filter := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
	f, err := generator.Compile(filter)
	if err != nil {
		t.Fatal(err)
	}
	bpf, err := generator.ExportBPF(f)
	f.Release()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules(landlock.PathRule{Path: dir, Type: landlock.TypeDir, Access: landlock.AllFS}), Seccomp: bpf})
	out, st := runHelper(t, bin, cfg, []string{"PATH=/usr/bin:/bin"}, "sh", "-c", "mkdir "+dir+"/d; echo x > "+dir+"/f && echo wrote")
	if st.ExitCode() != 0 || !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "wrote") {
		t.Errorf("want mkdir refused by the filter (EPERM), the rest allowed:\n%s", out)
	}
}

func TestHelperRefuses(t *testing.T) {
	bin := helper(t)
	good := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules()})
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"ruleset": {"abi": 1, "paths": [{"path": "../etc", "access": ["read_file"]}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(t.TempDir(), "linked.json")
	if err := os.Symlink(good, linked); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		env    []string
		code   int
		output string
	}{
		{"no program", []string{"--config", good, "--"}, nil, exitRefused, "usage"},
		{"configuration behind a symlink", []string{"--config", linked, "--", "/bin/true"}, nil, exitRefused, "too many levels of symbolic links"},
		{"invalid configuration", []string{"--config", bad, "--", "/bin/true"}, nil, exitRefused, "absolute"},
		{"missing configuration", []string{"--config", "/nonexistent", "--", "/bin/true"}, nil, exitRefused, "no such file"},
		{"not found in PATH", []string{"--config", good, "--", "no-such-program"}, []string{"PATH=/bin"}, exitNotFound, "not found"},
		{"no PATH", []string{"--config", good, "--", "true"}, []string{}, exitNotFound, "no PATH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = c.env
			out, _ := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() != c.code || !strings.Contains(string(out), c.output) {
				t.Errorf("exit %d %q, want %d with %q", cmd.ProcessState.ExitCode(), out, c.code, c.output)
			}
		})
	}
}

// envOuterFilter makes the test binary a launcher, as runc's init is one:
// it loads the classic BPF filter in the named file and execs its
// arguments, so that the helper starts under that filter.
const envOuterFilter = "TAILOR_LANDLOCK_TEST_OUTER_FILTER"

func TestMain(m *testing.M) {
	if path := os.Getenv(envOuterFilter); path != "" {
		os.Exit(launch(path, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// launch loads the filter at path and execs args (an absolute path first)
// with the environment minus envOuterFilter; it returns only on failure.
func launch(path string, args []string) int {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envOuterFilter+"=") {
			env = append(env, kv)
		}
	}
	bpf, err := os.ReadFile(path)
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	var ex *execve
	if err == nil {
		ex, err = prepareExec(args[0], args, env)
	}
	if err == nil {
		err = loadSeccomp(bpf)
	}
	if err == nil {
		_, err = ex.exec()
	}
	os.Stderr.WriteString("launcher: " + err.Error() + "\n")
	return 125
}

// TestHelperMakesOnlyItsSyscalls runs the helper under a filter of exactly
// landlock.HelperSyscalls (which includes execve) that kills the process
// on any other syscall, as the learned profile of a workload that makes
// none of its own. The helper gets the same filter to load and execs
// itself with no arguments: that second helper starts the Go runtime
// under both filters, prints its usage and exits 126. A syscall outside
// the set, in either, is SIGSYS. Once with blocking standard streams,
// once with a non-blocking stdout (the os package then starts the
// netpoller).
func TestHelperMakesOnlyItsSyscalls(t *testing.T) {
	bin := helper(t)
	kill := landlock.HelperFilter(&specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess,
		Architectures: []specs.Arch{specs.ArchX86_64}})
	f, err := generator.Compile(kill)
	if err != nil {
		t.Fatal(err)
	}
	bpf, err := generator.ExportBPF(f)
	f.Release()
	if err != nil {
		t.Fatal(err)
	}
	filterFile := filepath.Join(t.TempDir(), "filter.bpf")
	if err := os.WriteFile(filterFile, bpf, 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, landlock.HelperConfig{Seccomp: bpf,
		Ruleset: hostRules(landlock.PathRule{Path: bin, Type: landlock.TypeRegular, Access: landlock.FSExecute | landlock.FSReadFile})})
	for _, nonblock := range []bool{false, true} {
		t.Run(map[bool]string{false: "blocking", true: "non-blocking stdout"}[nonblock], func(t *testing.T) {
			// A pipe made here, not with os.Pipe: exec makes an
			// os.Pipe's descriptor blocking (File.Fd), but not a
			// descriptor that was non-blocking when os.NewFile got it.
			var p [2]int
			flags := unix.O_CLOEXEC
			if nonblock {
				flags |= unix.O_NONBLOCK
			}
			if err := unix.Pipe2(p[:], flags); err != nil {
				t.Fatal(err)
			}
			r, w := os.NewFile(uintptr(p[0]), "stdout-r"), os.NewFile(uintptr(p[1]), "stdout-w")
			defer r.Close()
			cmd := exec.Command(self, bin, "--config", cfg, "--", bin)
			cmd.Env = []string{envOuterFilter + "=" + filterFile, "PATH=/usr/bin:/bin"}
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = w, &stderr
			err = cmd.Run()
			w.Close()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				t.Fatalf("killed by %v: the helper made a syscall outside landlock.HelperSyscalls "+
					"(strace -f it to see which; add it there and to docs/landlock.md only if it cannot be avoided)\n%s", ws.Signal(), stderr.String())
			}
			if ws.ExitStatus() != exitRefused || !strings.Contains(stderr.String(), "tailor-landlock: usage") {
				t.Errorf("exit %d, want the second helper's usage (126):\n%s", ws.ExitStatus(), stderr.String())
			}
		})
	}
}
