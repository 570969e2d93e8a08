package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/internal/runtimeargs"
	"github.com/tailor-dev/tailor/profiles"
)

// Environment variables a container sets to be learned or enforced by the
// runtime wrapper: engines that pass no annotations (Docker 20.10) still
// pass the container's environment into config.json.
const (
	// EnvLearn names the profile to learn the container into.
	EnvLearn = "TAILOR_LEARN"
	// EnvProfile names the stored profile to enforce on the container.
	EnvProfile = "TAILOR_PROFILE"
	// EnvLandlock=1 beside EnvProfile also enforces the profile's
	// Landlock ruleset. It can only turn Landlock on: the image's
	// environment never turns off what the operator's --landlock set.
	EnvLandlock = "TAILOR_LANDLOCK"
	// AnnotationProfile is EnvProfile for engines that pass annotations.
	AnnotationProfile = "dev.tailor.profile"
)

// ErrRuntime marks the wrapper refusing a container (as opposed to the
// real runtime's own failures, which it reports itself).
var ErrRuntime = errors.New("tailor runtime")

// Options configure `tailor runtime`, the OCI runtime wrapper.
type Options struct {
	// Runtime is the real runtime: runc, crun or a path.
	Runtime string
	// Args are the runtime arguments exactly as the engine passed them.
	Args []string
	// Store is the profile store for learning and enforcing.
	Store string
	// Exe is the tailor binary the learning hook runs (`tailor hook`),
	// unless LeanHook is set.
	Exe string
	// LeanHook, when set, is the tailor-hook the learning hook runs
	// instead (hook.Lean: the one installed beside Exe).
	LeanHook string
	// TracerDir is passed to the learning hook.
	TracerDir string
	// Apply tunes how a profile is enforced (see bundle.ApplyProfile).
	Apply bundle.ApplyOptions
	// Landlock enforces every enforced container's Landlock ruleset
	// (the operator's --landlock); without it, a container asks with
	// EnvLandlock=1. LandlockHelper and LandlockStrict are as in
	// bundle.LandlockOptions.
	Landlock       bool
	LandlockHelper string
	LandlockStrict bool
	// NoLearn refuses learning requests: a container's environment comes
	// from its image too. Daemons that only enforce set it and register a
	// second runtime for learning.
	NoLearn bool
	// LearnReplaces makes a learning run replace the stored profile of
	// its name, which other containers may enforce (the hook's
	// --learn-replaces). Without it, a learning run adds a recording that
	// an operator promotes (tailor profiles promote NAME).
	LearnReplaces bool
	// Exec replaces this process with the runtime (syscall.Exec); it
	// returns only on failure.
	Exec func(path string, argv []string, env []string) error
	// Output runs the runtime and returns what it printed (RuntimeOutput):
	// exec asks it for the container's state.
	Output func(path string, argv []string, env []string) ([]byte, error)
	Env    []string
	// Complain, when set, honours EnvComplain beside EnvProfile: it
	// returns the complain options for the profile (report: refuse and
	// record), with the seccomp agent answering. Without it a container
	// asking for complain mode is refused (see complainFor).
	Complain func(profile string, report bool) (*bundle.ComplainOptions, error)
}

// Run prepares the bundle when the runtime is asked to make a container
// (learning or enforcement, as the container's environment or annotations
// ask), keeps a process exec'd into an enforced container within its
// capabilities, then execs the real runtime with the original arguments.
// Every other command passes straight through. A command line the wrapper
// cannot read the way the runtime will is refused (see runtimeargs). When the
// wrapper refuses, nothing is written and the runtime never runs; the
// reason also goes to the runtime's --log file, which is where containerd
// (and so Docker) looks for it.
func Run(o Options) error {
	runtime, lookErr := lookPath(o.Runtime)
	d := runtimeargs.DialectOf(o.Runtime)
	if lookErr == nil {
		d = runtimeargs.DialectOf(runtime)
	}
	req, err := runtimeargs.Parse(d, o.Args)
	inv := invocation{req}
	if lookErr != nil {
		return inv.logError(fmt.Errorf("%w: %w", ErrRuntime, lookErr))
	}
	if err != nil {
		return inv.logError(fmt.Errorf("%w: %w", ErrRuntime, err))
	}
	switch inv.Command {
	case "create", "run":
		err = prepareBundle(inv, o)
	case "restore":
		err = checkRestore(inv)
	case "exec":
		err = o.narrowExec(runtime, d, inv)
	}
	if err != nil {
		return inv.logError(fmt.Errorf("%w: %w", ErrRuntime, err))
	}
	argv := append([]string{filepath.Base(runtime)}, o.Args...)
	if err := o.Exec(runtime, argv, o.Env); err != nil {
		return inv.logError(fmt.Errorf("%w: exec %s: %w", ErrRuntime, runtime, err))
	}
	return nil
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("--runtime %s: %w (install it, or give its path)", name, err)
	}
	return p, nil
}

// invocation is the engine's command line as the wrapper read it.
type invocation struct{ runtimeargs.Request }

// bundleDir is the bundle of create, run and restore: --bundle, or the
// working directory.
func (r invocation) bundleDir() string {
	if r.Bundle != "" {
		return r.Bundle
	}
	return "."
}

// logError appends err to the runtime's --log file and returns it.
// containerd reports the last error of that file when the runtime fails,
// so this is the message Docker shows.
func (r invocation) logError(err error) error {
	r.log("error", err.Error())
	return err
}

// log appends one entry to the runtime's --log file, in its format, the
// way runc logs. Nothing goes to stdout or stderr: for create, those are
// the container's own.
func (r invocation) log(level, msg string) {
	if r.Log == "" {
		return
	}
	var line []byte
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if r.LogFormat == "json" {
		line, _ = json.Marshal(map[string]string{"level": level, "msg": msg, "time": now})
	} else {
		line = fmt.Appendf(nil, "time=%q level=%s msg=%q", now, level, msg)
	}
	f, err := os.OpenFile(r.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(line, '\n'))
}

// prepareBundle rewrites the bundle's config.json (atomically) for
// learning or enforcement, or leaves it alone when neither is asked for.
func prepareBundle(inv invocation, o Options) error {
	path := filepath.Join(inv.bundleDir(), "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the bundle's config: %w", err)
	}
	req, err := requestOf(data)
	if err == nil {
		o.Apply.Complain, err = o.complainFor(data, req)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var out []byte
	switch {
	case req.learn != "" && o.NoLearn:
		return fmt.Errorf("%s=%s: learning is disabled in this runtime (--no-learn): run the container with the runtime registered for learning", req.learnFrom, req.learn)
	case req.learn != "":
		out, err = o.learning(data, req.learn)
	case req.profile != "":
		if o.Landlock || req.landlock {
			o.Apply.Landlock = &bundle.LandlockOptions{Helper: o.LandlockHelper, Dir: inv.bundleDir(), Strict: o.LandlockStrict}
		}
		var notes []generator.Note
		out, notes, err = o.enforcing(data, req.profile, req.profileFrom)
		for _, n := range notes {
			inv.log("warning", fmt.Sprintf("tailor: profile %q: %s", req.profile, n))
		}
	default:
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat the bundle's config: %w", err)
	}
	return profiles.WriteFileAtomic(path, out, fi.Mode().Perm())
}

// request is what a container asks of tailor: a profile to learn into or
// one to enforce (at most one of them), and where it asked (for messages).
type request struct {
	learn, profile         string
	learnFrom, profileFrom string
	landlock               bool // EnvLandlock=1
}

// requestOf reads the request from the container's environment
// (TAILOR_LEARN, TAILOR_PROFILE) and annotations (dev.tailor.learn,
// dev.tailor.profile). Empty values and contradictions are errors, so that
// a typo never runs a container unconfined.
func requestOf(config []byte) (request, error) {
	parsed, err := ociconfig.Parse(config)
	if err != nil {
		return request{}, err
	}
	cfg, err := parsed.Spec()
	if err != nil {
		return request{}, err
	}
	var r request
	set := func(name, from *string, source, value string) error {
		switch {
		case value == "":
			return fmt.Errorf("%s is set but empty: give it a profile name", source)
		case *name != "" && *name != value:
			return fmt.Errorf("%s=%s contradicts %s=%s", *from, *name, source, value)
		case *name == "":
			*name, *from = value, source
		}
		return nil
	}
	var asks []struct{ source, value string }
	if cfg.Process != nil {
		for _, kv := range cfg.Process.Env {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case k == EnvLearn || k == EnvProfile:
				asks = append(asks, struct{ source, value string }{k, v})
			case k == EnvLandlock && v == "1":
				r.landlock = true
			case k == EnvLandlock && v != "0":
				return r, fmt.Errorf("%s=%s: want 1 (enforce the profile's Landlock ruleset too) or 0", k, v)
			}
		}
	}
	for _, k := range []string{hook.AnnotationLearn, AnnotationProfile} {
		if v, ok := cfg.Annotations[k]; ok {
			asks = append(asks, struct{ source, value string }{"annotation " + k, v})
		}
	}
	for _, a := range asks {
		var err error
		if a.source == EnvLearn || a.source == "annotation "+hook.AnnotationLearn {
			err = set(&r.learn, &r.learnFrom, a.source, a.value)
		} else {
			err = set(&r.profile, &r.profileFrom, a.source, a.value)
		}
		if err != nil {
			return r, err
		}
	}
	if r.learn != "" && r.profile != "" {
		return r, fmt.Errorf("the container asks both to learn (%s) and to enforce (%s) a profile: set only one of them",
			r.learnFrom, r.profileFrom)
	}
	for _, x := range []struct{ name, from string }{{r.learn, r.learnFrom}, {r.profile, r.profileFrom}} {
		if x.name != "" {
			if err := profiles.ValidName(x.name); err != nil {
				return r, fmt.Errorf("%s: %w", x.from, err)
			}
		}
	}
	return r, nil
}

// learning adds the learn annotation (the hook reads it from the OCI
// state), the tailor hook and the learning filter.
func (o Options) learning(config []byte, name string) ([]byte, error) {
	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return nil, err
	}
	if err := cfg.Set(name, "annotations", hook.AnnotationLearn); err != nil {
		return nil, err
	}
	return bundle.AddLearning(cfg.Bytes(), "", hook.Command(o.Exe, o.LeanHook, o.hookFlags()))
}

// hookFlags are the flags of the learning hook.
func (o Options) hookFlags() []string {
	args := []string{"--store", profiles.NewStore(o.Store).Dir}
	if o.LearnReplaces {
		args = append(args, "--learn-replaces")
	}
	if o.TracerDir != "" {
		args = append(args, "--tracer-dir", o.TracerDir)
	}
	return args
}

// enforcing applies the stored profile name; a missing, invalid or
// incomplete profile refuses the container rather than running it
// unconfined.
func (o Options) enforcing(config []byte, name, from string) ([]byte, []generator.Note, error) {
	store := profiles.NewStore(o.Store)
	p, err := store.Load(name)
	if errors.Is(err, profiles.ErrNotFound) {
		return nil, nil, fmt.Errorf("%s=%s: profile %q is not in the store %s: learn it first (%s=%s) or fix the name; refusing to run the container unconfined",
			from, name, name, store.Dir, EnvLearn, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%s: %w; refusing to run the container unconfined", from, name, err)
	}
	out, notes, err := bundle.ApplyProfile(config, p, o.Apply)
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%s: %w; refusing to run the container unconfined", from, name, err)
	}
	// The environment that picks a profile also comes from the image, so
	// a profile may tighten what the engine grants, never widen it.
	out, dropped, err := bundle.NarrowCapabilities(out, config)
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%s: %w", from, name, err)
	}
	if len(dropped) > 0 {
		notes = append(notes, generator.Note{Text: fmt.Sprintf(
			"the profile grants %s, which the engine did not give this container: not granted", strings.Join(dropped, ", "))})
	}
	return out, notes, nil
}
