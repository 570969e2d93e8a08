package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Engines leave things on the host outside the directories a test gives
// them: cgroups, caches, socket directories. The helpers here record what
// is absent before an engine first runs and remove it when the test ends,
// so that the host is left as found.

// ensureEngine makes sure the engine's commands are installed, running the
// repository's prerequisites script when they are not (the engines are
// Debian packages), and skips (fails under CI) when they still are not.
func ensureEngine(t testing.TB, commands ...string) {
	t.Helper()
	requireRoot(t)
	missing := false
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			missing = true
		}
	}
	if missing {
		engineInstall.get(t, func() (struct{}, error) {
			out, err := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "install-prereqs.sh")).CombinedOutput()
			if err != nil {
				t.Logf("install-prereqs.sh: %v\n%s", err, out)
			}
			return struct{}{}, nil
		})
	}
	requireCommand(t, commands...)
}

var engineInstall once[struct{}]

// removeCreated removes, when the test ends, each path that does not exist
// now: files, and directories once they are empty (deepest first, so list
// parents before children or after, either works).
func removeCreated(t testing.TB, paths ...string) {
	t.Helper()
	var absent []string
	for _, p := range paths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			absent = append(absent, p)
		}
	}
	sort.Slice(absent, func(i, j int) bool { return len(absent[i]) > len(absent[j]) })
	t.Cleanup(func() {
		for _, p := range absent {
			os.Remove(p) // a directory someone else now uses is not empty: kept
		}
	})
}

// removeCreatedCgroups removes, when the test ends, the cgroup name (with
// everything below it) from every hierarchy where it does not exist now.
// Engines create their parent cgroups (libpod_parent, docker) on first use
// and never remove them.
func removeCreatedCgroups(t testing.TB, name string) {
	t.Helper()
	var absent []string
	for _, h := range cgroupHierarchies() {
		dir := filepath.Join(h, name)
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			absent = append(absent, dir)
		}
	}
	t.Cleanup(func() {
		for _, dir := range absent {
			if err := removeCgroup(filepath.Dir(dir), dir); err != nil {
				t.Errorf("leave the host as found: %v", err)
			}
		}
	})
}

// cgroupHierarchies lists the mounted cgroup hierarchies (v1 controllers
// and the v2 one).
func cgroupHierarchies() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		_, after, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		if fstype := strings.Fields(after)[0]; fstype == "cgroup" || fstype == "cgroup2" {
			dirs = append(dirs, f[4])
		}
	}
	return dirs
}

// removeCgroup removes a cgroup directory and its children, deepest first
// (a cgroup directory is removed with rmdir, its files go with it).
// Processes still in them move to the hierarchy's root first: the shared
// tracer a hook started lives on (until it is idle) in the cgroup of the
// engine process that ran the hook (conmon's, under libpod_parent).
func removeCgroup(root, dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("walk cgroup %s: %w", dir, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if procs, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(procs)) {
				os.WriteFile(filepath.Join(root, "cgroup.procs"), []byte(pid), 0o644)
			}
		}
		if err := unix.Rmdir(dirs[i]); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove cgroup %s: %w", dirs[i], err)
		}
	}
	return nil
}

// unmountUnder unmounts every mount at or below dir, deepest first; an
// engine killed mid-way can leave overlay or shm mounts in its root.
func unmountUnder(t testing.TB, dir string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mountinfo: %v", err)
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		if err := unix.Unmount(p, 0); err != nil {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				t.Errorf("leave the host as found: unmount %s: %v", p, err)
			}
		}
	}
}

// tracerReady bounds how long a tracer may take to load and listen.
const tracerReady = 60 * time.Second

// startTracer runs a shared tracer of the test's own, in a private
// directory the hooks are pointed at, and stops it by its pid when the
// test ends. Were the first hook to start it, the tracer would be a child
// of the engine's subreaper (conmon, containerd-shim) and keep that
// process, and its cgroup, alive after the test.
func startTracer(t testing.TB) string {
	t.Helper()
	bin := tailorBin(t)
	dir, err := os.MkdirTemp("", "tailor-tracer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	logf, err := os.Create(filepath.Join(dir, "tracer.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "tracer", "--tracer-dir", dir, "--idle", "1h")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tracer: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(tracerReady):
			t.Errorf("tracer (pid %d) did not stop on SIGTERM within %s: killed", cmd.Process.Pid, tracerReady)
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(tracerReady)
	for {
		if _, err := os.Stat(filepath.Join(dir, "tracer.sock")); err == nil {
			return dir
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "tracer.log"))
			t.Fatalf("tracer exited before listening:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracer did not listen within %s", tracerReady)
		}
	}
}
