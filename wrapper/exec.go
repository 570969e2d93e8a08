package wrapper

import (
	"github.com/tailor-dev/tailor/internal/bounded"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/internal/runtimeargs"
	"github.com/tailor-dev/tailor/profiles"
)

// Where an exec'd process gets its capabilities (runc 1.1 to 1.5, crun):
//
//   - exec --process FILE: from FILE, when it has "capabilities"; the
//     engine writes FILE from its own copy of the container's spec (Docker:
//     its default set, every capability with exec --privileged), which
//     never saw the profile. Without "capabilities", from the container.
//   - exec without --process: from the container, which the wrapper
//     prepared: runc reads the bundle's config.json again, crun the copy it
//     stored at create. --cap CAP adds CAP to the bounding, effective,
//     permitted and ambient sets (runc), or makes those sets exactly the
//     --cap list (crun).
//
// The seccomp filter is always the container's. So for a container that
// enforces a profile, the wrapper narrows FILE's capabilities, set by set,
// to the container's config, and refuses a --cap the container does not
// already hold in each of those sets. When the container's process runs
// through the Landlock helper, FILE's process does too (see
// bundle.LandlockExec): a docker exec session gets the container's
// ruleset. An exec without --process (typed by hand, never Docker's) keeps
// its command line and has no ruleset.

// narrowExec keeps a process exec'd into a container that enforces a
// profile within the container's capabilities.
func (o Options) narrowExec(runtime string, d runtimeargs.Dialect, inv invocation) error {
	if inv.Process == "" && len(inv.Caps) == 0 {
		return nil // the container's own capabilities
	}
	path, config, err := o.containerConfig(runtime, inv)
	if err != nil {
		return err
	}
	req, err := requestOf(config)
	if err != nil {
		return fmt.Errorf("exec %s: the container's config %s: %w", inv.ID, path, err)
	}
	if req.profile == "" {
		return nil // learning, or nothing asked: the engine's capabilities are the container's
	}
	if inv.Process != "" {
		return narrowProcess(inv, config, req)
	}
	return checkExecCaps(d, inv, config, req)
}

// narrowProcess narrows the capabilities of exec's process file to the
// container's and runs it through the Landlock helper when the container's
// process runs through it, rewriting the file (atomically) only when that
// changes something. The file is often in /tmp (go-runc's default), so it is
// read and replaced through a handle on its directory.
func narrowProcess(inv invocation, config []byte, req request) error {
	dir, name := filepath.Split(inv.Process)
	if dir == "" {
		dir = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("exec --process %s: %w", inv.Process, err)
	}
	defer root.Close()
	data, perm, err := readRegular(root, name)
	if err != nil {
		return fmt.Errorf("exec --process %s: %w", inv.Process, err)
	}
	if !json.Valid(data) {
		return fmt.Errorf("exec --process %s: not a JSON document", inv.Process)
	}
	// Wrapped as the process of a config, the file is edited by the one
	// config editor, which keeps every other byte.
	doc := slices.Concat([]byte(`{"process":`), data, []byte("}"))
	out, dropped, err := bundle.NarrowCapabilities(doc, config)
	if err != nil {
		return fmt.Errorf("exec --process %s: %w", inv.Process, err)
	}
	out, landlocked, err := bundle.LandlockExec(out, config)
	if err != nil {
		return fmt.Errorf("exec --process %s: %w", inv.Process, err)
	}
	if len(dropped) == 0 && !landlocked {
		return nil
	}
	edited, err := ociconfig.Parse(out)
	if err != nil {
		return fmt.Errorf("exec --process %s: %w", inv.Process, err)
	}
	if err := profiles.WriteFileIn(root, name, edited.Get("process"), perm); err != nil {
		return fmt.Errorf("exec --process: %w", err)
	}
	if len(dropped) > 0 {
		inv.log("warning", fmt.Sprintf("tailor: exec in container %s: the container (%s=%s) does not hold %s: not granted to the process",
			inv.ID, req.profileFrom, req.profile, strings.Join(dropped, ", ")))
	}
	return nil
}

// readRegular reads name beneath root: a regular file (a FIFO or a device
// never blocks) of at most ociconfig.MaxSize bytes.
func readRegular(root *os.Root, name string) ([]byte, os.FileMode, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := bounded.ReadRegular(f, ociconfig.MaxSize)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	return data, fi.Mode().Perm(), nil
}

// checkExecCaps refuses a --cap that would give the exec'd process a
// capability the container lacks in a set the runtime puts it in (for a
// runtime other than runc and crun, the inheritable set too).
func checkExecCaps(d runtimeargs.Dialect, inv invocation, config []byte, req request) error {
	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return fmt.Errorf("exec %s: the container's config: %w", inv.ID, err)
	}
	spec, err := cfg.Spec()
	if err != nil {
		return fmt.Errorf("exec %s: the container's config: %w", inv.ID, err)
	}
	var held specs.LinuxCapabilities
	if spec.Process != nil && spec.Process.Capabilities != nil {
		held = *spec.Process.Capabilities
	}
	sets := []struct {
		name string
		caps []string
	}{{"bounding", held.Bounding}, {"effective", held.Effective}, {"permitted", held.Permitted}, {"ambient", held.Ambient}}
	if d == runtimeargs.Other {
		sets = append(sets, struct {
			name string
			caps []string
		}{"inheritable", held.Inheritable})
	}
	for _, c := range inv.Caps {
		var lacks []string
		for _, s := range sets {
			if !slices.Contains(s.caps, c) {
				lacks = append(lacks, s.name)
			}
		}
		if len(lacks) > 0 {
			return fmt.Errorf("exec --cap %s: container %s enforces %s=%s, and %s would grant %s in the %s set, where the container lacks it: drop --cap %s (without --cap the process gets the container's capabilities)",
				c, inv.ID, req.profileFrom, req.profile, d, c, strings.Join(lacks, ", "), c)
		}
	}
	return nil
}

// containerConfig finds the config the container was made from: the
// runtime's state of the container names its bundle (`runc state ID`),
// with the same global options (--root) as the exec.
func (o Options) containerConfig(runtime string, inv invocation) (string, []byte, error) {
	argv := slices.Concat([]string{filepath.Base(runtime)}, inv.Globals, []string{"state"})
	if strings.HasPrefix(inv.ID, "-") {
		argv = append(argv, "--")
	}
	argv = append(argv, inv.ID)
	output := o.Output
	if output == nil {
		output = RuntimeOutput
	}
	out, err := output(runtime, argv, o.Env)
	if err != nil {
		return "", nil, fmt.Errorf("exec %s: ask the runtime for the container's bundle (%s): %w", inv.ID, strings.Join(argv, " "), err)
	}
	var state struct {
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal(out, &state); err != nil {
		return "", nil, fmt.Errorf("exec %s: the container's state (%s): %w", inv.ID, strings.Join(argv, " "), err)
	}
	if !filepath.IsAbs(state.Bundle) {
		return "", nil, fmt.Errorf("exec %s: the container's state (%s) gives no absolute bundle path: %q", inv.ID, strings.Join(argv, " "), state.Bundle)
	}
	path := filepath.Join(state.Bundle, "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("exec %s: the container's config: %w", inv.ID, err)
	}
	return path, data, nil
}

// checkRestore refuses to restore a container that asks tailor for
// anything. CRIU brings its processes back as they were, but every process
// exec'd into it afterwards takes the config of the restore's bundle, which
// the engine wrote anew, without the profile. A container that asks nothing
// is restored as it is.
func checkRestore(inv invocation) error {
	path := filepath.Join(inv.bundleDir(), "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return fmt.Errorf("restore: the bundle's config: %w", err)
	}
	req, err := requestOf(data)
	if err != nil {
		return fmt.Errorf("restore: %s: %w", path, err)
	}
	from, name := req.profileFrom, req.profile
	if req.learn != "" {
		from, name = req.learnFrom, req.learn
	}
	if from == "" {
		return nil
	}
	return fmt.Errorf("restore %s: %s asks for %s=%s, and tailor runtime does not prepare a restored container (processes exec'd into it would run with the engine's config): start the container anew instead of restoring it",
		inv.ID, path, from, name)
}

// Bounds of RuntimeOutput: a runtime's state of one container is well
// under a kilobyte.
const (
	stateTimeout = 10 * time.Second
	maxOutput    = 1 << 20
)

// RuntimeOutput runs the runtime at path with argv and env and returns
// what it printed on stdout: at most 1 MiB, within 10 seconds.
func RuntimeOutput(path string, argv, env []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Args, cmd.Env = argv, env
	cmd.WaitDelay = time.Second
	stdout, stderr := &cappedBuffer{max: maxOutput}, &cappedBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("no answer within %s", stateTimeout)
	case err != nil:
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	case stdout.over:
		return nil, fmt.Errorf("more than %d bytes of output", maxOutput)
	}
	return stdout.Bytes(), nil
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
