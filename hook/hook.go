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
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/jsondoc"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles/storedir"
)

// Annotations that ask for a learning run.
const (
	// AnnotationTraceSyscall is oci-seccomp-bpf-hook's annotation:
	// "of:/abs/out.json[;if:/abs/in.json]".
	AnnotationTraceSyscall = "io.containers.trace-syscall"
	// AnnotationLearn names the profile to write into the store.
	AnnotationLearn = "dev.tailor.learn"
)

// AnnotationNamespace is the pod's namespace, which CRI-O sets on every
// container of a pod: learning requests are scoped by it.
const AnnotationNamespace = "io.kubernetes.pod.namespace"

// Options configure `tailor hook`. They are the operator's (the hooks.d
// JSON, the runtime wrapper's flags); annotations only choose among what
// they allow.
type Options struct {
	// Store is the profile store for dev.tailor.learn.
	Store string
	// LearnReplaces lets a learning run replace the stored profile of its
	// name, which other containers may enforce; by default it adds a
	// recording that an operator promotes (tailor profiles promote).
	LearnReplaces bool
	// AllowDirs are the directories io.containers.trace-syscall may name.
	AllowDirs []string
	// Output, when set, is where to write the tailor profile (tailor learn
	// sets it; it is trusted configuration, not an annotation).
	Output string
	// Tracer is how to reach (and start) the shared tracer.
	Tracer *wire.Client
}

// Outputs is what the tracer writes when the container is done; it travels
// through the tracer as wire.Registration.Outputs, to package sink. Every
// place is a directory handle the hook opened (an index into
// Registration.Files) and a base name: the tracer never resolves a path.
type Outputs struct {
	Profile    *Target         `json:"profile,omitempty"`
	Store      *StoreTarget    `json:"store,omitempty"`
	SeccompOut *Target         `json:"seccompOut,omitempty"`
	SeccompIn  json.RawMessage `json:"seccompIn,omitempty"`
}

// Target is a file to write: Name in the directory handle Dir.
type Target struct {
	Dir  int    `json:"dir"`
	Name string `json:"name"`
	Path string `json:"path"` // for messages only
}

// StoreTarget is a profile store (its directory handle Dir) and what to
// save in it: a recording of Name in Scope, or Name itself with Replace.
type StoreTarget struct {
	Dir     int    `json:"dir"`
	Label   string `json:"label"` // the store's path, for messages only
	Name    string `json:"name"`
	Scope   string `json:"scope,omitempty"`
	Replace bool   `json:"replace,omitempty"`
}

// ErrNothingToLearn is returned when the hook runs for a container that
// asked for no learning.
var ErrNothingToLearn = errors.New("no learning requested: the container has neither the " +
	AnnotationTraceSyscall + " nor the " + AnnotationLearn + " annotation")

// Run handles one OCI hook invocation: the state JSON on stdin. Nothing is
// written here: the tracer writes when the container is done, through the
// directory handles opened and checked now.
func Run(ctx context.Context, stdin io.Reader, opts Options) error {
	if err := CheckAllowDirs(opts.AllowDirs); err != nil {
		return err
	}
	data, err := jsondoc.ReadDocument("OCI state on stdin", stdin)
	if err != nil {
		return fmt.Errorf("read OCI state: %w", err)
	}
	var state specs.State
	if err := json.Unmarshal(data, &state); err != nil {
		return fmt.Errorf("read OCI state from stdin: %w", err)
	}
	if state.Pid <= 0 {
		return fmt.Errorf("OCI state has no pid (status %q): run tailor hook at the createRuntime or prestart stage", state.Status)
	}
	req, err := Prepare(state.Annotations, opts)
	defer req.Close()
	if err != nil {
		return err
	}
	seccomp, err := bundleHasSeccomp(state.Bundle)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(req.Out)
	if err != nil {
		return fmt.Errorf("encode outputs: %w", err)
	}
	reg := wire.Registration{
		ContainerID:  state.ID,
		Pid:          state.Pid,
		ExecBoundary: !seccomp,
		Runtime:      runtimeName(),
		Scope:        req.Scope,
		Outputs:      raw,
		Files:        req.Files,
	}
	if err := opts.Tracer.Register(ctx, reg); err != nil {
		return fmt.Errorf("register container %s with the tracer: %w", state.ID, err)
	}
	return nil
}

// Request is a checked learning request: what to write, and the handles
// of the directories to write it in (the caller closes them, also after
// an error).
type Request struct {
	Out   Outputs
	Files []*os.File
	Scope string
}

func (r *Request) add(f *os.File) int {
	r.Files = append(r.Files, f)
	return len(r.Files) - 1
}

// Close closes the request's handles.
func (r *Request) Close() {
	for _, f := range r.Files {
		f.Close()
	}
}

// Prepare checks what the annotations ask for against opts and opens the
// directories to write in; nothing is written.
func Prepare(ann map[string]string, opts Options) (Request, error) {
	var r Request
	if ns, ok := ann[AnnotationNamespace]; ok {
		if err := storedir.ValidScope(storedir.Scope(ns)); err != nil {
			return r, fmt.Errorf("annotation %s: %w", AnnotationNamespace, err)
		}
		r.Scope = ns
	}
	if opts.Output != "" {
		if !filepath.IsAbs(opts.Output) {
			return r, fmt.Errorf("--output %q must be an absolute path", opts.Output)
		}
		dir, err := os.OpenFile(filepath.Dir(opts.Output), os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return r, fmt.Errorf("--output %s: %w", opts.Output, err)
		}
		r.Out.Profile = &Target{Dir: r.add(dir), Name: filepath.Base(opts.Output), Path: opts.Output}
	}
	if name, ok := ann[AnnotationLearn]; ok {
		if err := storedir.ValidName(name); err != nil {
			return r, fmt.Errorf("annotation %s: %w", AnnotationLearn, err)
		}
		if !opts.LearnReplaces {
			if err := storedir.CanRecord(storeDir(opts), storedir.Scope(r.Scope), name); err != nil {
				return r, fmt.Errorf("annotation %s=%s: %w", AnnotationLearn, name, err)
			}
		}
		// The store is opened (and created) below, once every other
		// annotation is checked: nothing is written on a refusal.
		r.Out.Store = &StoreTarget{Dir: -1, Label: storeDir(opts), Name: name, Scope: r.Scope, Replace: opts.LearnReplaces}
	}
	if v, ok := ann[AnnotationTraceSyscall]; ok {
		of, inf, err := ParseTraceSyscall(v)
		if err != nil {
			return r, fmt.Errorf("annotation %s: %w", AnnotationTraceSyscall, err)
		}
		allowed := scoped(opts.AllowDirs, r.Scope)
		dir, base, err := openParent(of, allowed)
		if err != nil {
			return r, fmt.Errorf("annotation %s: output: %w", AnnotationTraceSyscall, err)
		}
		r.Out.SeccompOut = &Target{Dir: r.add(dir), Name: base, Path: of}
		if inf != "" {
			in, err := readInput(inf, allowed)
			if err != nil {
				return r, fmt.Errorf("annotation %s: input: %w", AnnotationTraceSyscall, err)
			}
			r.Out.SeccompIn = in
		}
	}
	if r.Out.Profile == nil && r.Out.Store == nil && r.Out.SeccompOut == nil {
		return r, ErrNothingToLearn
	}
	if st := r.Out.Store; st != nil {
		dir, err := storedir.OpenDir(storeDir(opts))
		if err != nil {
			return r, fmt.Errorf("annotation %s: %w", AnnotationLearn, err)
		}
		st.Dir = r.add(dir)
	}
	return r, nil
}

// storeDir is the profile store for dev.tailor.learn: opts.Store, or the
// default store (as profiles.NewStore has it).
func storeDir(opts Options) string {
	if opts.Store == "" {
		return storedir.DefaultDir
	}
	return opts.Store
}

// scoped narrows the allowed directories to a Kubernetes namespace's own
// subdirectory of each (DIR/NAMESPACE), so that a pod author cannot write
// or read another namespace's files.
func scoped(allowed []string, scope string) []string {
	if scope == "" {
		return allowed
	}
	out := make([]string, len(allowed))
	for i, d := range allowed {
		out[i] = filepath.Join(d, scope)
	}
	return out
}

// readInput reads and checks the if: seccomp JSON now, while the
// container is created: the tracer gets its content, never its path.
func readInput(path string, allowed []string) (json.RawMessage, error) {
	dir, base, err := openParent(path, allowed)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	data, err := readBeneath(dir, base, MaxSeccompInput)
	if err != nil {
		return nil, err
	}
	if _, err := ParseSeccomp(path, data); err != nil {
		return nil, err
	}
	return data, nil
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
// filter, which decides where its syscalls start to count. The config is
// read as runc reads it (see ociconfig: case-variant keys are refused).
func bundleHasSeccomp(bundle string) (bool, error) {
	if bundle == "" {
		return false, errors.New("OCI state has no bundle")
	}
	path := filepath.Join(bundle, "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("the container's config: %w", err)
	}
	cfg, err := ociconfig.Parse(data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return cfg.IsSet("linux", "seccomp"), nil
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
