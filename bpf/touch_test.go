package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// touchHelperEnv selects the touch helper's phase: "wait", then
// "call:SCENARIO" after the final execve; touchDirEnv is the directory it
// works in.
const (
	touchHelperEnv = "TAILOR_BPF_TOUCH_HELPER"
	touchDirEnv    = "TAILOR_BPF_TOUCH_DIR"
	touchPeerEnv   = "TAILOR_BPF_TOUCH_PEER" // what a scenario aims at outside itself
)

func init() {
	v := os.Getenv(touchHelperEnv)
	switch {
	case strings.HasPrefix(v, "wait:"):
		os.Stdin.Read(make([]byte, 1))
		os.Setenv(touchHelperEnv, "call:"+strings.TrimPrefix(v, "wait:"))
		exe, _ := os.Executable()
		fmt.Fprintln(os.Stderr, syscall.Exec(exe, os.Args, os.Environ()))
		os.Exit(2)
	case strings.HasPrefix(v, "call:"):
		if err := touchScenarios[strings.TrimPrefix(v, "call:")](os.Getenv(touchDirEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "touch helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

var touchScenarios = map[string]func(dir string) error{
	"files":   touchFiles,
	"deep":    touchDeep,
	"exec":    touchExec,
	"network": touchNetwork,
	"signals": touchSignals,
}

// touchSignals signals its parent (outside the container) and itself
// (inside), ptrace-seizes the process named by TAILOR_BPF_TOUCH_PEER, and
// makes ptrace attempts that fail: that process again (already traced),
// kthreadd (a kernel thread) and itself (inside).
func touchSignals(string) error {
	if err := unix.Kill(os.Getppid(), unix.SIGURG); err != nil { // the Go runtime's own signal: harmless
		return err
	}
	if err := unix.Kill(os.Getpid(), unix.SIGURG); err != nil {
		return err
	}
	peer, err := strconv.Atoi(os.Getenv(touchPeerEnv))
	if err != nil {
		return err
	}
	runtime.LockOSThread() // ptrace requests come from the tracer thread
	if err := unix.PtraceSeize(peer); err != nil {
		return fmt.Errorf("seize %d: %w", peer, err)
	}
	for _, pid := range []int{peer, kthreadd, os.Getpid()} {
		if err := unix.PtraceAttach(pid); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("attach %d: %v, want EPERM", pid, err)
		}
	}
	return nil // the exit detaches (PTRACE_DETACH wants a stopped tracee)
}

// kthreadd is the kernel thread pid 2 of the initial pid namespace: no
// one can ptrace it.
const kthreadd = 2

// oddNames are file names that must come out byte for byte.
var oddNames = []string{"new\nline", "\xff\xfe not utf-8", "sp ace,#[*]"}

func must(err error, what string) {
	if err != nil {
		panic(fmt.Sprintf("%s: %v", what, err))
	}
}

func open(path string, flags int) int {
	fd, err := unix.Open(path, flags, 0o644)
	must(err, "open "+path)
	return fd
}

// touchFiles opens files with each flag combination, through relative
// paths, dirfds, .. and symlinks, and makes each path operation. The test
// prepared dir: exist, trunc, app, rel, cwdrel, target, link -> target,
// sub/, tmpd/, u, r1, c, tr.
func touchFiles(dir string) error {
	p := func(name string) string { return filepath.Join(dir, name) }
	unix.Close(open(p("new"), unix.O_CREAT|unix.O_WRONLY|unix.O_EXCL))
	unix.Close(open(p("exist"), unix.O_CREAT|unix.O_RDWR)) // found, not created
	unix.Close(open(p("trunc"), unix.O_WRONLY|unix.O_TRUNC))
	unix.Close(open(p("app"), unix.O_WRONLY|unix.O_APPEND))
	sub := open(p("sub"), unix.O_RDONLY|unix.O_DIRECTORY)
	fd, err := unix.Openat(sub, "../rel", unix.O_RDONLY, 0)
	must(err, "openat ../rel")
	unix.Close(fd)
	must(unix.Chdir(p("sub")), "chdir")
	unix.Close(open("../cwdrel", unix.O_RDONLY))
	unix.Close(open(p("link"), unix.O_RDONLY))
	for _, n := range oddNames {
		unix.Close(open(p(n), unix.O_CREAT|unix.O_WRONLY))
	}
	// Failed lookups: absolute, relative to the working directory (sub)
	// and relative to a dirfd.
	if _, err := unix.Open(p("missing"), unix.O_RDONLY, 0); !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("open missing: %v, want ENOENT", err)
	}
	if _, err := unix.Openat(unix.AT_FDCWD, "gone", unix.O_RDONLY, 0); !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("openat AT_FDCWD gone: %v, want ENOENT", err)
	}
	// AT_FDCWD as C passes an int: the register's upper half zero (Go
	// sign-extends it). The kernel reads the low half only.
	gone, _ := unix.BytePtrFromString("gone32")
	if _, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(uint32(unix.AT_FDCWD&0xffffffff)), uintptr(unsafe.Pointer(gone)), unix.O_RDONLY, 0, 0, 0); e != unix.ENOENT {
		return fmt.Errorf("openat 32-bit AT_FDCWD gone32: %v, want ENOENT", e)
	}
	if _, err := unix.Openat(sub, "nope", unix.O_RDONLY, 0); !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("openat nope: %v, want ENOENT", err)
	}
	// An executable mapping of a file.
	fd = open(p("exist"), unix.O_RDONLY)
	m, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE)
	must(err, "mmap")
	unix.Munmap(m)
	must(unix.Flock(fd, unix.LOCK_EX), "flock")
	unix.Close(fd)
	// Path operations: the legacy syscalls and the *at ones.
	legacy := func(nr uintptr, args ...string) {
		var a [3]uintptr
		for i, s := range args {
			b, _ := unix.BytePtrFromString(s)
			a[i] = uintptr(unsafe.Pointer(b))
		}
		if _, _, e := unix.Syscall(nr, a[0], a[1], a[2]); e != 0 {
			panic(fmt.Sprintf("syscall %d %v: %v", nr, args, e))
		}
	}
	legacy(unix.SYS_MKDIR, p("m"))
	legacy(unix.SYS_RMDIR, p("m"))
	must(unix.Mkdirat(sub, "m2", 0o755), "mkdirat")
	legacy(unix.SYS_UNLINK, p("u"))
	legacy(unix.SYS_RENAME, p("r1"), p("r2"))
	must(unix.Symlinkat("target", sub, "sl"), "symlinkat")
	must(unix.Linkat(unix.AT_FDCWD, p("target"), sub, "hl", 0), "linkat")
	must(unix.Chmod(p("c"), 0o600), "chmod")
	must(unix.Fchownat(unix.AT_FDCWD, p("c"), -1, -1, 0), "fchownat")
	must(unix.Truncate(p("tr"), 1), "truncate")
	must(unix.Mknodat(sub, "fifo", unix.S_IFIFO|0o600, 0), "mknodat")
	// An unnamed file in a directory: the directory is what it touches.
	unix.Close(open(p("tmpd"), unix.O_TMPFILE|unix.O_WRONLY))
	unix.Close(sub)
	return nil
}

// touchDeep opens a file deeper than the kernel's walk.
func touchDeep(dir string) error {
	fd := open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	for range int(tailorTouchLimitMAX_WALK) + 10 {
		must(unix.Mkdirat(fd, "d", 0o755), "mkdirat")
		next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(err, "openat d")
		unix.Close(fd)
		fd = next
	}
	f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
	must(err, "openat f")
	unix.Close(f)
	return nil
}

// touchExec runs a script: the program is the script, run by /bin/sh.
func touchExec(dir string) error {
	out, err := exec.Command(filepath.Join(dir, "script.sh")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("run script: %v: %s", err, out)
	}
	return nil
}

// touched runs a touch scenario as a container and returns its recording
// and the touch records of its container.
func touched(t *testing.T, tr *Tracer, cid uint32, scenario, dir string) (*Recording, []Event) {
	t.Helper()
	t.Setenv(touchDirEnv, dir)
	r := runHelperAs(t, tr, cid, touchHelperEnv, "wait:"+scenario)
	var evs []Event
	readEvents(t, tr, func(e Event) {
		if e.Container == cid && e.Touch != nil {
			evs = append(evs, e)
		}
	})
	return r, evs
}

// touchesOf returns the touch records of events of kind.
func touchesOf(evs []Event, kind uint8) []*Touch {
	var out []*Touch
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e.Touch)
		}
	}
	return out
}

// accessNames turns access bits into profiles.Access names.
func accessNames(bits uint32) []string {
	var out []string
	for i, a := range profiles.Accesses {
		if bits&(1<<i) != 0 {
			out = append(out, string(a))
		}
	}
	return out
}

// filesOf joins each EventFile record's path and unions the accesses.
func filesOf(evs []Event) map[string]uint32 {
	files := map[string]uint32{}
	for _, x := range touchesOf(evs, EventFile) {
		if len(x.File) == 0 && len(x.Name) == 0 {
			continue
		}
		path := string(x.File)
		if len(x.Name) > 0 || len(x.Dir) > 0 {
			path = filepath.Join(string(x.Dir), string(x.Name))
			if !filepath.IsAbs(string(x.Name)) && len(x.Dir) == 0 {
				path = "?" + path
			}
		}
		files[path] |= x.Access
	}
	return files
}

func TestAccessBitsMatchProfiles(t *testing.T) {
	for _, c := range []struct {
		bit tailorAccess
		a   profiles.Access
	}{
		{tailorAccessACC_READ, profiles.AccessRead}, {tailorAccessACC_WRITE, profiles.AccessWrite},
		{tailorAccessACC_CREATE, profiles.AccessCreate}, {tailorAccessACC_RENAME_FROM, profiles.AccessRenameFrom},
		{tailorAccessACC_LOOKUP, profiles.AccessLookup}, {tailorAccessACC_MMAP, profiles.AccessMmapExec},
	} {
		if got := accessNames(uint32(c.bit)); !slices.Equal(got, []string{string(c.a)}) {
			t.Errorf("bit %#x is %v in profiles.Accesses, want %s", c.bit, got, c.a)
		}
	}
	if n := len(profiles.Accesses); n > 32 {
		t.Errorf("%d accesses do not fit struct touch.access", n)
	}
}

// TestRecordsFiles runs the files scenario and checks each path's
// accesses: the real file behind relative paths, dirfds, .. and symlinks,
// create only where the open made the file, odd names byte for byte.
func TestRecordsFiles(t *testing.T) {
	tr := loadTracer(t)
	dir := t.TempDir()
	for _, f := range []string{"exist", "trunc", "app", "rel", "cwdrel", "target", "u", "r1", "c", "tr"} {
		if err := os.WriteFile(filepath.Join(dir, f), make([]byte, 4096), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sub", "tmpd"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("target", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	r, evs := touched(t, tr, 6, "files", dir)
	if r.LostPaths != 0 || r.LostObjects != 0 || r.LostEvents != 0 {
		t.Errorf("loss: paths %d, objects %d, events %d", r.LostPaths, r.LostObjects, r.LostEvents)
	}
	files := filesOf(evs)
	p := func(name string) string { return filepath.Join(dir, name) }
	want := map[string][]string{
		p("new"):            {"create", "write"},
		p("exist"):          {"lock", "mmap", "read", "write"},
		p("trunc"):          {"truncate", "write"},
		p("app"):            {"append"},
		p("sub"):            {"read"},
		p("rel"):            {"read"},
		p("cwdrel"):         {"read"},
		p("target"):         {"read"},
		p("missing"):        {"lookup"},
		p("sub/nope"):       {"lookup"},
		p("sub/gone"):       {"lookup"}, // relative to the working directory
		p("sub/gone32"):     {"lookup"}, // the same, AT_FDCWD as a C int
		p("m"):              {"mkdir", "rmdir"},
		p("sub/m2"):         {"mkdir"},
		p("u"):              {"unlink"},
		p("r1"):             {"rename-from"},
		p("r2"):             {"rename-to"},
		p("sub/sl"):         {"symlink"},
		p("sub/hl"):         {"link"},
		p("c"):              {"chmod", "chown"},
		p("tr"):             {"truncate"},
		p("sub/fifo"):       {"mknod"},
		p("tmpd"):           {"create", "write"}, // O_TMPFILE
		p(oddNames[0]):      {"create", "write"},
		p(oddNames[1]):      {"create", "write"},
		p(oddNames[2]):      {"create", "write"},
		p("link"):           nil, // the open followed it
		dir + "/sub/../rel": nil, // recorded as the real file, rel
	}
	for path, acc := range want {
		if got := accessNames(files[path]); !slices.Equal(got, acc) {
			t.Errorf("%q: accesses %v, want %v", path, got, acc)
		}
	}
	for path := range files {
		if strings.HasPrefix(path, p("tmpd")+"/") {
			t.Errorf("the O_TMPFILE file was recorded by its per-run name %q", path)
		}
	}
	if t.Failed() {
		for path, bits := range files {
			if strings.HasPrefix(path, dir) {
				t.Logf("recorded %q: %v", path, accessNames(bits))
			}
		}
	}
}

// TestRecordsDeepPathAsLoss: a file deeper than the walk is not recorded
// by a partial path; the loss is counted.
func TestRecordsDeepPathAsLoss(t *testing.T) {
	tr := loadTracer(t)
	dir := t.TempDir()
	r, evs := touched(t, tr, 7, "deep", dir)
	if r.LostPaths == 0 {
		t.Error("a path deeper than the walk was not counted as lost")
	}
	for path := range filesOf(evs) {
		if strings.HasSuffix(path, "/f") && strings.Contains(path, "/d/d/d") {
			t.Errorf("a partial path was recorded: %q", path)
		}
	}
}

// TestRecordsExecOfScript: a script run is the script, with its
// interpreter (the file the kernel loaded), and each run program once.
func TestRecordsExecOfScript(t *testing.T) {
	tr := loadTracer(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	self, err := filepath.EvalSymlinks(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	_, evs := touched(t, tr, 8, "exec", dir)
	var progs []string
	for _, x := range touchesOf(evs, EventExec) {
		s := string(x.File)
		if x.Script {
			s = filepath.Join(string(x.Dir), string(x.Name)) + " by " + s
		}
		progs = append(progs, s)
	}
	slices.Sort(progs)
	want := []string{script + " by " + sh, self}
	slices.Sort(want)
	if !slices.Equal(progs, want) {
		t.Errorf("programs %q, want %q", progs, want)
	}
}

// TestProbeLSM reports whether BPF-LSM works here (it does not on the
// CI kernel: lsm programs fail with EPERM).
func TestProbeLSM(t *testing.T) {
	needRoot(t)
	t.Logf("BPF-LSM: %v", ProbeLSM())
}

// TestRecordsSignals: a signal to a process outside the container and a
// ptrace of one are recorded with the target's comm, and so are ptrace
// attempts that failed, as failed; a signal to itself and a ptrace attempt
// on itself are not.
func TestRecordsSignals(t *testing.T) {
	tr := loadTracer(t)
	peer := exec.Command("sleep", "30")
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		peer.Process.Kill()
		peer.Wait()
	}()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", kthreadd))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(touchPeerEnv, strconv.Itoa(peer.Process.Pid))
	_, evs := touched(t, tr, 10, "signals", t.TempDir())
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15]
	}
	got := map[string]bool{}
	for _, x := range touchesOf(evs, EventSignal) {
		got[fmt.Sprintf("%d %s failed=%v", x.Signal, x.Target, x.Failed)] = true
	}
	want := map[string]bool{
		fmt.Sprintf("%d %s failed=false", unix.SIGURG, self):             true,
		"0 sleep failed=false":                                           true,
		"0 sleep failed=true":                                            true,
		fmt.Sprintf("0 %s failed=true", strings.TrimSpace(string(comm))): true,
	}
	if !maps.Equal(got, want) {
		t.Errorf("signals %v, want %v", got, want)
	}
}

// TestTouchSyscallsHandled: touch_nr, the first test of sys_exit_touch,
// passes exactly the syscalls touch_exit has a case for, and each has its
// number in profiles.h (bpf/internal/gennr's names).
func TestTouchSyscallsHandled(t *testing.T) {
	header, err := os.ReadFile("profiles.h")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("touch.bpf.h")
	if err != nil {
		t.Fatal(err)
	}
	cases := func(fn string) []string {
		start := bytes.Index(prog, []byte(fn))
		if start < 0 {
			t.Fatalf("no %q in touch.bpf.h", fn)
		}
		body := prog[start:]
		body = body[:bytes.Index(body, []byte("\n}\n"))]
		var names []string
		for _, m := range regexp.MustCompile(`case NR_X86_64_(\w+):`).FindAllSubmatch(body, -1) {
			names = append(names, string(m[1]))
		}
		slices.Sort(names)
		return names
	}
	filter, recorded := cases("int touch_nr(long nr)"), cases("int touch_exit(struct task_struct")
	if len(recorded) < 30 || !slices.Equal(filter, recorded) {
		t.Errorf("touch_nr passes %q, touch_exit records %q: keep them the same", filter, recorded)
	}
	for _, name := range recorded {
		if !bytes.Contains(header, []byte("#define NR_X86_64_"+name+" ")) {
			t.Errorf("%s: no NR_X86_64_%s in profiles.h: add it to bpf/internal/gennr's names and run make generate", name, name)
		}
	}
}
