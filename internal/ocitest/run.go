package ocitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Result is what a command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	// ExitCode is the command's exit status (-1 when a signal ended it).
	ExitCode int
	// Wall is how long the command ran.
	Wall time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
}

// waitDelay bounds the wait for the command's output after it exited: a
// container's process may keep a copy of its stdout open.
const waitDelay = 10 * time.Second

// Run runs a command to completion and returns its output and exit code.
// The error says the command could not run or did not exit within timeout
// (then it is killed); a non-zero exit is not an error, it is in ExitCode.
func Run(timeout time.Duration, stdin []byte, name string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = waitDelay
	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s %s: no exit within %s", name, strings.Join(args, " "), timeout)
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		return res, fmt.Errorf("run %s: %w", name, err)
	}
	return res, nil
}

// RunContainer runs the bundle in dir to completion as container id under
// runtime (a name on PATH or a path), then deletes the container. Wall is
// the time of `RUNTIME run` alone.
func RunContainer(timeout time.Duration, runtime, dir, id string) (Result, error) {
	defer Delete(runtime, id)
	res, err := Run(timeout, nil, runtime, "run", "--bundle", dir, id)
	if err != nil && strings.Contains(err.Error(), "no exit within") {
		// A container that hangs says where: the syscall each of its
		// threads is in (a refused call a program retries forever shows).
		err = fmt.Errorf("%w\n%s", err, Snapshot(runtime, id))
	}
	return res, err
}

// Snapshot describes the container's processes: each thread's name, state
// and current syscall (/proc/PID/task/TID/syscall, its number first).
func Snapshot(runtime, id string) string {
	out, err := exec.Command(runtime, "ps", "--format", "json", id).Output()
	var pids []int
	if err == nil {
		err = json.Unmarshal(out, &pids)
	}
	if err != nil {
		return fmt.Sprintf("(%s ps --format json %s: %v)", runtime, id, err)
	}
	var b strings.Builder
	for _, pid := range pids {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			base := fmt.Sprintf("/proc/%d/task/%s/", pid, t.Name())
			comm, _ := os.ReadFile(base + "comm")
			stat, _ := os.ReadFile(base + "stat")
			sc, _ := os.ReadFile(base + "syscall")
			state := "?"
			if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
				state = string(stat[i+2])
			}
			fmt.Fprintf(&b, "pid %d tid %s %s state %s syscall %s\n", pid, t.Name(), strings.TrimSpace(string(comm)), state,
				strings.Fields(string(sc) + " ?")[0])
		}
	}
	return b.String()
}

// Delete removes a container whatever its state. Errors are ignored: the
// container is usually gone already.
func Delete(runtime, id string) {
	_ = exec.Command(runtime, "delete", "--force", id).Run()
}

// pollInterval is how often WaitFile looks: short, so that a benchmark
// round waits for a profile no longer than it must.
const pollInterval = 10 * time.Millisecond

// WaitFile waits up to timeout for path to exist (a file written at once,
// e.g. a profile the tracer renames into place when a container is done)
// and returns its content.
func WaitFile(path string, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			return data, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		case time.Now().After(deadline):
			return nil, fmt.Errorf("%s was not written within %s", path, timeout)
		}
		time.Sleep(pollInterval)
	}
}
