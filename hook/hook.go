package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// Annotations that ask for a learning run.
const (
	// AnnotationTraceSyscall is oci-seccomp-bpf-hook's annotation:
	// "of:/abs/out.json[;if:/abs/in.json]".
	AnnotationTraceSyscall = "io.containers.trace-syscall"
	// AnnotationLearn names the profile to write into the store.
	AnnotationLearn = "dev.tailor.learn"
)

// Options configure `tailor hook`.
type Options struct {
	// Store is the profile store for dev.tailor.learn.
	Store string
	// AllowDirs are the directories io.containers.trace-syscall may name.
	AllowDirs []string
	// Output, when set, is where to write the tailor profile (tailor learn
	// sets it; it is trusted configuration, not an annotation).
	Output string
	// Tracer is how to reach (and start) the shared tracer.
	Tracer *profiler.Client
}

// outputs is what the tracer writes when the container is done; it travels
// through the tracer as profiler.Registration.Outputs.
type outputs struct {
	Profile    string   `json:"profile,omitempty"`
	Store      string   `json:"store,omitempty"`
	Name       string   `json:"name,omitempty"`
	SeccompOut string   `json:"seccompOut,omitempty"`
	SeccompIn  string   `json:"seccompIn,omitempty"`
	AllowDirs  []string `json:"allowDirs,omitempty"`
}

// ErrNothingToLearn is returned when the hook runs for a container that
// asked for no learning.
var ErrNothingToLearn = errors.New("no learning requested: the container has neither the " +
	AnnotationTraceSyscall + " nor the " + AnnotationLearn + " annotation")

// Run handles one OCI hook invocation: the state JSON on stdin.
func Run(ctx context.Context, stdin io.Reader, opts Options) error {
	var state specs.State
	if err := json.NewDecoder(stdin).Decode(&state); err != nil {
		return fmt.Errorf("read OCI state from stdin: %w", err)
	}
	if state.Pid <= 0 {
		return fmt.Errorf("OCI state has no pid (status %q): run tailor hook at the createRuntime or prestart stage", state.Status)
	}
	out, err := parseOutputs(state.Annotations, opts)
	if err != nil {
		return err
	}
	seccomp, err := bundleHasSeccomp(state.Bundle)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode outputs: %w", err)
	}
	reg := profiler.Registration{
		ContainerID:  state.ID,
		Pid:          state.Pid,
		ExecBoundary: !seccomp,
		Runtime:      runtimeName(),
		Outputs:      raw,
	}
	if err := opts.Tracer.Register(ctx, reg); err != nil {
		return fmt.Errorf("register container %s with the tracer: %w", state.ID, err)
	}
	return nil
}

func parseOutputs(ann map[string]string, opts Options) (outputs, error) {
	out := outputs{AllowDirs: opts.AllowDirs}
	if opts.Output != "" {
		if !filepath.IsAbs(opts.Output) {
			return out, fmt.Errorf("--output %q must be an absolute path", opts.Output)
		}
		out.Profile = opts.Output
	}
	if name, ok := ann[AnnotationLearn]; ok {
		if err := profiles.ValidName(name); err != nil {
			return out, fmt.Errorf("annotation %s: %w", AnnotationLearn, err)
		}
		out.Store, out.Name = opts.Store, name
	}
	if v, ok := ann[AnnotationTraceSyscall]; ok {
		of, inf, err := ParseTraceSyscall(v)
		if err != nil {
			return out, fmt.Errorf("annotation %s: %w", AnnotationTraceSyscall, err)
		}
		if err := confine(of, opts.AllowDirs); err != nil {
			return out, fmt.Errorf("annotation %s: output: %w", AnnotationTraceSyscall, err)
		}
		if inf != "" {
			if err := confine(inf, opts.AllowDirs); err != nil {
				return out, fmt.Errorf("annotation %s: input: %w", AnnotationTraceSyscall, err)
			}
			if _, err := readSeccomp(inf); err != nil {
				return out, fmt.Errorf("annotation %s: input: %w", AnnotationTraceSyscall, err)
			}
		}
		out.SeccompOut, out.SeccompIn = of, inf
	}
	if out.Profile == "" && out.Name == "" && out.SeccompOut == "" {
		return out, ErrNothingToLearn
	}
	return out, nil
}

// ParseTraceSyscall parses oci-seccomp-bpf-hook's annotation value
// "of:/abs/out.json[;if:/abs/in.json]".
func ParseTraceSyscall(v string) (of, inf string, err error) {
	for _, part := range strings.Split(v, ";") {
		key, val, ok := strings.Cut(part, ":")
		switch {
		case !ok || val == "":
			return "", "", fmt.Errorf("%q: want of:/abs/out.json[;if:/abs/in.json]", v)
		case key == "of" && of == "":
			of = val
		case key == "if" && inf == "":
			inf = val
		default:
			return "", "", fmt.Errorf("%q: unexpected or repeated %q (want of:/abs/out.json[;if:/abs/in.json])", v, key)
		}
	}
	if of == "" {
		return "", "", fmt.Errorf("%q: the output file (of:) is required", v)
	}
	return of, inf, nil
}

// bundleHasSeccomp reports whether the container's config loads a seccomp
// filter, which decides where its syscalls start to count.
func bundleHasSeccomp(bundle string) (bool, error) {
	if bundle == "" {
		return false, errors.New("OCI state has no bundle")
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return false, fmt.Errorf("read the container's config: %w", err)
	}
	var cfg struct {
		Linux *struct {
			Seccomp *json.RawMessage `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return false, fmt.Errorf("parse %s: %w", filepath.Join(bundle, "config.json"), err)
	}
	return cfg.Linux != nil && cfg.Linux.Seccomp != nil && string(*cfg.Linux.Seccomp) != "null", nil
}

// runtimeName guesses the runtime from the hook's parent process.
func runtimeName() string {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", os.Getppid()))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(comm))
}

// DefaultTracerTimeout bounds how long a hook waits for the tracer, so
// that it never hangs a container start.
const DefaultTracerTimeout = 10 * time.Second

// Spec is the createRuntime hook entry that runs exe (tailor) with args;
// its timeout leaves the hook DefaultTracerTimeout to reach the tracer.
func Spec(exe string, args []string) specs.Hook {
	timeout := int(DefaultTracerTimeout.Seconds()) + 5
	return specs.Hook{Path: exe, Args: args, Timeout: &timeout}
}
