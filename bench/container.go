package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tailor-dev/tailor/hooks"
)

// runTimeout bounds every container, so that a broken build ends the run
// instead of hanging it.
const runTimeout = 5 * time.Minute

type specOption func(map[string]any) error

// bundleSpec describes a bundle: a rootfs, what to run, and patches to the
// config `runc spec` writes.
type bundleSpec struct {
	Rootfs   string
	ReadOnly bool
	Args     []string
	Options  []specOption
}

var seq atomic.Int64

// containerID returns a new id carrying the run's id.
func (e *Env) containerID(what string) string {
	return fmt.Sprintf("%s-%s-%d", e.ID, what, seq.Add(1))
}

// bundle writes a bundle directory (config.json only: the rootfs is
// referenced by absolute path) and returns it.
func (e *Env) bundle(name string, b bundleSpec) (string, error) {
	tmpl, err := cached(e, "spec", func() ([]byte, error) {
		dir, err := os.MkdirTemp(e.Work, "spec-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("runc spec: %w: %s", err, out)
		}
		return os.ReadFile(filepath.Join(dir, "config.json"))
	})
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(tmpl, &cfg); err != nil {
		return "", err
	}
	obj(cfg, "root")["path"] = b.Rootfs
	obj(cfg, "root")["readonly"] = b.ReadOnly
	proc := obj(cfg, "process")
	proc["args"] = b.Args
	proc["terminal"] = false
	cfg["hostname"] = "bench"
	for _, o := range b.Options {
		if err := o(cfg); err != nil {
			return "", fmt.Errorf("bundle %s: %w", name, err)
		}
	}
	dir := filepath.Join(e.Work, "bundles", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

func obj(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

// dockerDefaultCaps is the capability set Docker gives a container.
var dockerDefaultCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// withCaps sets every capability set the config has to caps.
func withCaps(caps []string) specOption {
	return func(cfg map[string]any) error {
		c := obj(obj(cfg, "process"), "capabilities")
		for _, set := range []string{"bounding", "effective", "permitted", "ambient"} {
			c[set] = caps
		}
		return nil
	}
}

// withSeccomp sets linux.seccomp (a JSON document or a Go value).
func withSeccomp(doc any) specOption {
	return func(cfg map[string]any) error {
		if raw, ok := doc.([]byte); ok {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("seccomp document: %w", err)
			}
			doc = v
		}
		obj(cfg, "linux")["seccomp"] = doc
		return nil
	}
}

// withLearningHook adds what `tailor learn` adds: the tailor hook (writing
// the profile to out, talking to the tracer in tracerDir) and, when the
// config has no filter, the permissive learning filter.
func (e *Env) withLearningHook(tracerDir, out string) specOption {
	return func(cfg map[string]any) error {
		data, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		data, err = hooks.AddLearning(data, "", e.Tailor,
			[]string{"tailor", "hook", "--output", out, "--tracer-dir", tracerDir})
		if err != nil {
			return err
		}
		clear(cfg)
		return json.Unmarshal(data, &cfg)
	}
}

// withHook adds an OCI hook running path with args (argv) at stage.
func withHook(stage, path string, args ...string) specOption {
	return func(cfg map[string]any) error {
		hooks := obj(cfg, "hooks")
		list, _ := hooks[stage].([]any)
		hooks[stage] = append(list, map[string]any{"path": path, "args": args})
		return nil
	}
}

// run runs a command to completion with the run timeout and returns its
// stdout; stderr is in the error.
func run(stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err,
			tail(stdout.String()), tail(stderr.String()))
	}
	return stdout.String(), nil
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
	defer deleteContainer(runtime, id)
	start := time.Now()
	out, err := run(nil, runtime, "run", "--bundle", bundle, id)
	return out, time.Since(start), err
}

func deleteContainer(runtime, id string) {
	exec.Command(runtime, "delete", "--force", id).Run()
}

// learn runs `tailor learn` on a bundle with the tracer in tracerDir and
// returns the container's stdout; the profile is written to out.
func (e *Env) learn(runtime, bundle, tracerDir, out string) (string, error) {
	id := e.containerID("learn")
	defer deleteContainer(runtime, id)
	return run(nil, e.Tailor, "learn", "--bundle", bundle, "--runtime", runtime, "--name", id,
		"--tracer-dir", tracerDir, "-o", out, "--timeout", "4m")
}

// straceContainer runs the bundle with strace -f attached to the
// container's init before it starts the workload, and returns the
// container's stdout. strace writes its trace to traceOut.
func (e *Env) straceContainer(bundle, traceOut string) (string, error) {
	id := e.containerID("strace")
	defer deleteContainer("runc", id)
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
	e.atClose(func() { deleteContainer(runtime, id) })
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
		deleteContainer(runtime, id)
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
		deleteContainer(runtime, id)
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
