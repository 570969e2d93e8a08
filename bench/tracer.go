package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tailor-dev/tailor/hook"
)

// tracerDir returns a tracer directory private to this run; it is removed
// when the run ends.
func (e *Env) tracerDir(name string) string {
	dir := filepath.Join("/run", e.ID+"-"+name)
	e.atClose(func() {
		if pid, ok := findTracer(dir); ok {
			stopPID(pid)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// tracer is a `tailor tracer` this harness started.
type tracer struct {
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// startTracer starts the shared tracer in dir (warm, as a host that has
// learned before would have it) and returns once it accepts connections.
func (e *Env) startTracer(dir string) (*tracer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "bench-tracer.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	exe, args := hook.TracerCommand(e.Tailor) // what a hook would start
	cmd := exec.Command(exe, append(args, "--tracer-dir", dir, "--idle", "24h")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start tailor tracer: %w", err)
	}
	done := make(chan error, 1)
	t := &tracer{dir: dir, cmd: cmd, done: done}
	go func() { done <- cmd.Wait(); close(done) }()
	sock := filepath.Join(dir, "tracer.sock")
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-done:
			return nil, fmt.Errorf("tailor tracer exited: %v: %s", err, tail(readString(logf.Name())))
		default:
		}
		if _, err := os.Stat(sock); err == nil {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return nil, fmt.Errorf("tailor tracer did not listen on %s within 30s", sock)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return t, nil
}

// pid is the tracer's process id.
func (t *tracer) pid() int { return t.cmd.Process.Pid }

// stop ends the tracer (it writes the profiles of containers still being
// learned first) and waits for it to exit.
func (t *tracer) stop() {
	stopPID(t.cmd.Process.Pid)
	<-t.done
}

// stopPID sends SIGTERM to a process this run started and waits until it
// is gone, killing it after 30 s.
func stopPID(pid int) {
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(30 * time.Second); alive(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state follows the parenthesised command name
	s := string(st)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// findTracer finds the tracer a hook started for dir: the process running
// `tailor-tracer --tracer-dir dir` or `tailor tracer --tracer-dir dir`.
func findTracer(dir string) (int, bool) {
	for _, p := range processes() {
		if d, ok := tracerDir(p.args); ok && d == dir {
			return p.pid, true
		}
	}
	return 0, false
}

// tracerDir returns the --tracer-dir of a tracer's command line, args
// being tailor-tracer's or `tailor tracer`'s (ok is false for anything
// else).
func tracerDir(args []string) (dir string, ok bool) {
	switch {
	case len(args) >= 1 && filepath.Base(args[0]) == hook.TracerName:
		args = args[1:]
	case len(args) >= 2 && strings.Contains(filepath.Base(args[0]), "tailor") && args[1] == "tracer":
		args = args[2:]
	default:
		return "", false
	}
	if len(args) >= 2 && args[0] == "--tracer-dir" {
		return args[1], true
	}
	return "", true
}

// rssBytes returns a process's resident set size (VmRSS).
func rssBytes(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// bpfMapBytes sums the memlock of the BPF maps a process holds open, as
// its fdinfo reports them.
func bpfMapBytes(pid int) (float64, int, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var total float64
	maps := 0
	for _, ent := range ents {
		info := readString(filepath.Join(dir, ent.Name()))
		if !strings.Contains(info, "map_type:") {
			continue
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(line, "memlock:"); ok {
				n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err == nil {
					total += n
					maps++
				}
			}
		}
	}
	return total, maps, nil
}
