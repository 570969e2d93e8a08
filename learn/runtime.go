package learn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Stdio is the container's standard input and output.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Runtime is the OCI runtime a learning run drives: the seam that lets its
// timeout, exit-code and clean-up paths be tested without one.
type Runtime interface {
	// Run creates and starts the container of bundle and waits for it; it
	// returns the container's exit code, or an error when the runtime
	// could not be run at all.
	Run(ctx context.Context, bundle, id string, stdio Stdio) (int, error)
	// Kill sends signal to the container's init.
	Kill(id, signal string) error
	// Delete removes the container, running or not.
	Delete(id string) error
	// Gone reports whether the runtime holds no state for the container
	// any more (`run` removes a container when it exits, also when it
	// failed to start it); false when it cannot tell.
	Gone(id string) bool
	String() string
}

// OCIRuntime is a runc-compatible runtime binary (runc, crun).
type OCIRuntime struct {
	Path string
}

// LookupRuntime finds the runtime name (runc, crun or a path).
func LookupRuntime(name string) (OCIRuntime, error) {
	if name == "" {
		name = "runc"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return OCIRuntime{}, fmt.Errorf("--runtime %s: %w (install it, or give its path)", name, err)
	}
	return OCIRuntime{Path: p}, nil
}

func (r OCIRuntime) String() string { return filepath.Base(r.Path) }

func (r OCIRuntime) Run(ctx context.Context, bundle, id string, stdio Stdio) (int, error) {
	cmd := exec.Command(r.Path, "run", "--bundle", bundle, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

func (r OCIRuntime) Kill(id, signal string) error {
	return exec.Command(r.Path, "kill", id, signal).Run()
}

func (r OCIRuntime) Delete(id string) error {
	return exec.Command(r.Path, "delete", "--force", id).Run()
}

// stateRoots are where runc and crun keep a container's state when root
// runs them without --root: a directory named by the container's id.
var stateRoots = map[string]string{"runc": "/run/runc", "crun": "/run/crun"}

// Gone looks for the container's state directory, where it knows the
// runtime's (runc, crun run by root): asking the runtime (`state`) would
// cost as much as the delete it saves.
func (r OCIRuntime) Gone(id string) bool {
	root, ok := stateRoots[filepath.Base(r.Path)]
	if !ok || os.Geteuid() != 0 || id == "" || id == "." || id == ".." || strings.ContainsRune(id, '/') {
		return false
	}
	_, err := os.Lstat(filepath.Join(root, id))
	return errors.Is(err, fs.ErrNotExist)
}
