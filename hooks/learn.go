package hooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tailor-dev/tailor/profiler"
)

// LearnOptions configure one learning run of an OCI bundle.
type LearnOptions struct {
	Bundle  string
	Runtime string // runc, crun or a path
	Name    string // container id; generated when empty
	Output  string // the profile to write
	Timeout time.Duration
	// Exe is the tailor binary the runtime runs as the hook.
	Exe    string
	Tracer *profiler.Client
	// TracerDir is passed to the hook so that it reaches the same tracer.
	TracerDir string
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	// Progress, when set, gets a live count while the container runs.
	Progress io.Writer
}

// ErrLearn marks tailor's own failures in a learning run (as opposed to the
// container's exit code).
var ErrLearn = errors.New("learning run")

// Learn runs the bundle once under the runtime with the tailor hook and a
// permissive learning filter, on a copy of its config.json. It returns the
// container's exit code; err is tailor's own failure.
func Learn(ctx context.Context, o LearnOptions) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("%w: %w", ErrLearn, err) }
	out, err := filepath.Abs(o.Output)
	if err != nil {
		return fail(fmt.Errorf("output path: %w", err))
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("-o %s: directory %s does not exist", o.Output, filepath.Dir(out)))
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return fail(err)
	}
	if o.Name == "" {
		o.Name = "tailor-learn-" + randomHex(6)
	}
	work, err := os.MkdirTemp("", "tailor-bundle-")
	if err != nil {
		return fail(fmt.Errorf("create working bundle: %w", err))
	}
	defer os.RemoveAll(work)
	hookArgs := []string{"tailor", "hook", "--output", out, "--tracer-dir", o.TracerDir}
	if err := writeLearningConfig(bundle, work, o.Exe, hookArgs); err != nil {
		return fail(err)
	}
	runtime, err := runtimePath(o.Runtime)
	if err != nil {
		return fail(err)
	}
	if err := o.Tracer.Ensure(); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Progress != nil {
		go showProgress(ctx, o.Tracer, o.Name, o.Progress)
	}
	cmd := exec.Command(runtime, "run", "--bundle", work, o.Name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", runtime, err))
	}
	timedOut := false
	if o.Timeout > 0 {
		t := time.AfterFunc(o.Timeout, func() {
			timedOut = true
			exec.Command(runtime, "kill", o.Name, "KILL").Run()
		})
		defer t.Stop()
	}
	runErr := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		code = ee.ExitCode()
	} else if runErr != nil {
		return fail(fmt.Errorf("run %s: %w", runtime, runErr))
	}
	exec.Command(runtime, "delete", "--force", o.Name).Run()
	cancel()
	if o.Progress != nil {
		fmt.Fprint(o.Progress, "\r\033[K")
	}
	wctx, wcancel := context.WithTimeout(context.Background(), profiler.DefaultGrace+30*time.Second)
	defer wcancel()
	res, err := o.Tracer.Wait(wctx, o.Name)
	if err != nil {
		return fail(fmt.Errorf("container %s was not learned (%s exited with %d; see its message above): %w", o.Name, o.Runtime, code, err))
	}
	if res.Error != "" {
		return fail(fmt.Errorf("write profile: %s", res.Error))
	}
	if timedOut {
		fmt.Fprintf(o.Stderr, "tailor: the container ran longer than --timeout %s and was killed; the profile holds what it did until then\n", o.Timeout)
	}
	if !res.Complete {
		fmt.Fprintf(o.Stderr, "tailor: warning: the profile is INCOMPLETE: %v\n", res.Loss)
	}
	fmt.Fprintf(o.Stderr, "tailor: learned %d syscalls and %d capabilities into %s\n", res.Syscalls, res.Capabilities, out)
	return code, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func runtimePath(name string) (string, error) {
	if name == "" {
		name = "runc"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("--runtime %s: %w (install it, or give its path)", name, err)
	}
	return p, nil
}

func showProgress(ctx context.Context, c *profiler.Client, id string, w io.Writer) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := c.Status(ctx, id)
		if err != nil || st == nil {
			continue
		}
		fmt.Fprintf(w, "\r\033[Ktailor: learning %s: %d syscalls, %d capabilities", id, st.Syscalls, st.Capabilities)
	}
}

// learningFilter is the permissive filter a learning run loads when the
// bundle has none: it allows everything, and its presence marks the
// runtime boundary (the container's syscalls count once it is loaded).
func learningFilter() map[string]any {
	return map[string]any{
		"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
	}
}

// writeLearningConfig writes work/config.json: the bundle's config with
// root.path and relative bind sources made absolute and the learning setup
// added (see AddLearning).
func writeLearningConfig(bundle, work, exe string, hookArgs []string) error {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read bundle config: %w", err)
	}
	out, err := AddLearning(data, bundle, exe, hookArgs)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(filepath.Join(work, "config.json"), out, 0o600)
}

// AddLearning returns config (an OCI config.json) with the tailor hook
// (exe with hookArgs, createRuntime stage) and, where it loads no seccomp
// filter, the permissive learning filter. When bundle is not empty, paths
// relative to it (root.path, bind mount sources) are made absolute so that
// the config can be run from another directory. Unknown fields survive.
func AddLearning(config []byte, bundle, exe string, hookArgs []string) ([]byte, error) {
	var cfg map[string]any
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	root, _ := cfg["root"].(map[string]any)
	if root == nil {
		return nil, errors.New("config has no root.path")
	}
	if bundle != "" {
		if rp, _ := root["path"].(string); rp != "" && !filepath.IsAbs(rp) {
			root["path"] = filepath.Join(bundle, rp)
		}
		mounts, _ := cfg["mounts"].([]any)
		for _, m := range mounts {
			mm, _ := m.(map[string]any)
			if src, _ := mm["source"].(string); src != "" && !filepath.IsAbs(src) && hasOption(mm, "bind", "rbind") {
				mm["source"] = filepath.Join(bundle, src)
			}
		}
	}
	hooks, _ := cfg["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
		cfg["hooks"] = hooks
	}
	list, _ := hooks["createRuntime"].([]any)
	hooks["createRuntime"] = append(list, map[string]any{
		"path": exe, "args": hookArgs, "timeout": int(DefaultTracerTimeout.Seconds()) + 5,
	})
	linux, _ := cfg["linux"].(map[string]any)
	if linux == nil {
		linux = map[string]any{}
		cfg["linux"] = linux
	}
	if linux["seccomp"] == nil {
		linux["seccomp"] = learningFilter()
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode learning config: %w", err)
	}
	return out, nil
}

func hasOption(m map[string]any, opts ...string) bool {
	list, _ := m["options"].([]any)
	for _, o := range list {
		for _, want := range opts {
			if o == want {
				return true
			}
		}
	}
	return false
}
