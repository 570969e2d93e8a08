package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/internal/ocitest"
)

// runTimeout bounds every container, so that a broken build ends the run
// instead of hanging it.
const runTimeout = 5 * time.Minute

var seq atomic.Int64

// containerID returns a new id carrying the run's id.
func (e *Env) containerID(what string) string {
	return fmt.Sprintf("%s-%s-%d", e.ID, what, seq.Add(1))
}

// bundle writes a bundle directory (config.json only: c.Rootfs is an
// image's absolute path) and returns it.
func (e *Env) bundle(name string, c ocitest.Config) (string, error) {
	if c.Hostname == "" {
		c.Hostname = "bench"
	}
	dir := filepath.Join(e.Work, "bundles", name)
	return dir, c.Write(dir)
}

// learningHook is a Config.Rewrite adding what `tailor learn` adds: the
// hook as deployed (tailor-hook, beside tailor; writing the profile to out,
// talking to the tracer in tracerDir) and, when the config has no filter,
// the permissive learning filter.
func (e *Env) learningHook(tracerDir, out string) func([]byte) ([]byte, error) {
	return hookRewrite(e.hookBinary(), []string{"tailor-hook"}, tracerDir, out)
}

// hookRewrite is learningHook with the hook's command given: exe run as
// args followed by the output and tracer flags.
func hookRewrite(exe string, args []string, tracerDir, out string) func([]byte) ([]byte, error) {
	args = append(slices.Clip(args), "--output", out, "--tracer-dir", tracerDir)
	return func(config []byte) ([]byte, error) {
		return bundle.AddLearning(config, "", hook.Spec(exe, args))
	}
}

// hookBinary is the lean hook built beside the tailor under test.
func (e *Env) hookBinary() string {
	return filepath.Join(filepath.Dir(e.Tailor), "tailor-hook")
}

// run runs a command to completion with the run timeout and returns its
// stdout; a non-zero exit is an error.
func run(stdin []byte, name string, args ...string) (string, error) {
	res, err := ocitest.Run(runTimeout, stdin, name, args...)
	return res.Stdout, failure(res, err, name, args)
}

// failure is err, or else the command's non-zero exit, as an error with the
// command's output in it.
func failure(res ocitest.Result, err error, name string, args []string) error {
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("exit status %d", res.ExitCode)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err,
		tail(res.Stdout), tail(res.Stderr))
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// runContainer runs a bundle to completion under runtime and returns what
// it printed and how long `RUNTIME run` took.
func (e *Env) runContainer(runtime, bundle string) (string, time.Duration, error) {
	id := e.containerID("run")
	res, err := ocitest.RunContainer(runTimeout, runtime, bundle, id)
	return res.Stdout, res.Wall, failure(res, err, runtime, []string{"run", "--bundle", bundle, id})
}

// learn runs `tailor learn` on a bundle with the tracer in tracerDir and
// returns the container's stdout; the profile is written to out.
func (e *Env) learn(runtime, bundle, tracerDir, out string) (string, error) {
	stdout, _, _, err := e.learnTimed(runtime, bundle, tracerDir, out)
	return stdout, err
}

// learnTimed is learn, with when the `tailor learn` process started and
// ended (the harness's own clean-up of the container comes after).
func (e *Env) learnTimed(runtime, bundle, tracerDir, out string) (stdout string, start, end time.Time, err error) {
	id := e.containerID("learn")
	defer ocitest.Delete(runtime, id)
	args := []string{"learn", "--bundle", bundle, "--runtime", runtime, "--name", id,
		"--tracer-dir", tracerDir, "-o", out, "--timeout", "4m"}
	start = time.Now()
	res, err := ocitest.Run(runTimeout, nil, e.Tailor, args...)
	end = time.Now()
	return res.Stdout, start, end, failure(res, err, e.Tailor, args)
}

// straceContainer runs the bundle with strace -f attached to the
// container's init before it starts the workload, and returns the
// container's stdout. strace writes its trace to traceOut.
func (e *Env) straceContainer(bundle, traceOut string) (string, error) {
	id := e.containerID("strace")
	defer ocitest.Delete("runc", id)
	outFile := filepath.Join(e.Work, id+".out")
	defer os.Remove(outFile)
	f, err := os.Create(outFile)
	if err != nil {
		return "", err
	}
	create := exec.Command("runc", "create", "--bundle", bundle, id)
	create.Stdout, create.Stderr = f, f
	err = create.Run()
	f.Close()
	if err != nil {
		return "", fmt.Errorf("runc create: %w: %s", err, readString(outFile))
	}
	state, err := run(nil, "runc", "state", id)
	if err != nil {
		return "", err
	}
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(state), &st); err != nil || st.Pid <= 0 {
		return "", fmt.Errorf("runc state %s: no pid: %s", id, state)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	strace := exec.CommandContext(ctx, "strace", "-f", "-o", traceOut, "-p", strconv.Itoa(st.Pid))
	stderr, err := strace.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := strace.Start(); err != nil {
		return "", fmt.Errorf("start strace: %w", err)
	}
	// strace says "Process N attached" once it traces the init.
	sc := bufio.NewScanner(stderr)
	attached := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "attached") {
			attached = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if !attached {
		strace.Wait()
		return "", errors.New("strace did not attach to the container's init")
	}
	if out, err := exec.Command("runc", "start", id).CombinedOutput(); err != nil {
		strace.Process.Kill()
		strace.Wait()
		return "", fmt.Errorf("runc start: %w: %s", err, out)
	}
	// strace exits when the last traced task does: the container is done.
	if err := strace.Wait(); err != nil {
		return readString(outFile), fmt.Errorf("strace: %w", err)
	}
	return readString(outFile), nil
}

// startDetached starts a long-running container in the background.
func (e *Env) startDetached(runtime, bundle string) (string, error) {
	id := e.containerID("bg")
	e.atClose(func() { ocitest.Delete(runtime, id) })
	// The container keeps the stdio it is given: no pipes, or the runtime's
	// exit would not end our read.
	errFile := filepath.Join(e.Work, id+".err")
	defer os.Remove(errFile)
	f, err := os.Create(errFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.Command(runtime, "run", "--detach", "--bundle", bundle, id)
	cmd.Stderr = f
	if err := cmd.Run(); err != nil {
		ocitest.Delete(runtime, id)
		return "", fmt.Errorf("%s run --detach %s: %w: %s", runtime, bundle, err, readString(errFile))
	}
	return id, nil
}

// stopContainers kills and deletes background containers.
func stopContainers(runtime string, ids []string) {
	for _, id := range ids {
		exec.Command(runtime, "kill", id, "KILL").Run()
	}
	for _, id := range ids {
		ocitest.Delete(runtime, id)
	}
}

// parseResults reads the storm's "result OP CPU_NS WALL_NS" lines (the
// clients': "result NAME WALL_NS") and returns the median per metric of
// the rounds it ran: OP is the CPU time per op, OP/wall the wall time.
func parseResults(out string) (map[string]float64, error) {
	all := map[string][]float64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || len(f) > 4 || f[0] != "result" {
			continue
		}
		for i, metric := range []string{f[1], f[1] + "/wall"}[:len(f)-2] {
			v, err := strconv.ParseFloat(f[2+i], 64)
			if err != nil {
				return nil, fmt.Errorf("storm output %q: %w", line, err)
			}
			all[metric] = append(all[metric], v)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no results in the storm's output:\n%s", tail(out))
	}
	res := map[string]float64{}
	for op, vs := range all {
		res[op] = median(vs)
	}
	return res, nil
}
