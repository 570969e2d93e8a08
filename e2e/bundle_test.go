package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
)

// commandTimeout bounds every runtime or tailor invocation so that a broken
// build fails the test instead of hanging the run.
const commandTimeout = 3 * time.Minute

// bundle is an OCI bundle with its own copy of a rootfs image.
type bundle struct {
	Dir    string
	Rootfs string
}

func (b *bundle) Config() string { return ocitest.ConfigPath(b.Dir) }

// newBundle copies the rootfs image into a new bundle directory and writes a
// config.json running args (writable root), then applies opts.
func newBundle(t testing.TB, image string, args []string, opts ...ocitest.Option) *bundle {
	t.Helper()
	requireCommand(t, "runc")
	b := &bundle{Dir: t.TempDir()}
	b.Rootfs = filepath.Join(b.Dir, "rootfs")
	if err := rootfs.Copy(image, b.Rootfs); err != nil {
		t.Fatal(err)
	}
	c := ocitest.Config{Hostname: "tailor-e2e", Args: args, Options: opts}
	if err := c.Write(b.Dir); err != nil {
		t.Fatal(err)
	}
	return b
}

var idUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// containerID returns a unique, recognisable container id for the test.
func containerID(t testing.TB) string {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "tailor-e2e-" + name + "-" + hex.EncodeToString(r[:])
}

// run runs a command with the command timeout and returns its output and
// exit code; it fails the test only when the command could not run at all
// or timed out.
func run(t testing.TB, stdin []byte, name string, args ...string) ocitest.Result {
	t.Helper()
	res, err := ocitest.Run(commandTimeout, stdin, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, res)
	}
	return res
}

// runtimeBin returns the runtime's binary, preparing the host for it.
func runtimeBin(t testing.TB, runtime string) string {
	t.Helper()
	requireRoot(t)
	requireCommand(t, runtime)
	if runtime == "crun" {
		ensureCrunCgroups(t)
	}
	path, _ := exec.LookPath(runtime)
	return path
}

// runContainer runs the bundle to completion under runtime (no tailor) and
// deletes the container afterwards.
func runContainer(t testing.TB, runtime string, b *bundle) ocitest.Result {
	t.Helper()
	res, err := ocitest.RunContainer(commandTimeout, runtimeBin(t, runtime), b.Dir, containerID(t))
	if err != nil {
		t.Fatalf("%v\n%s", err, res)
	}
	return res
}

// runtimes is the list the runtime-parametrised tests iterate over.
var runtimes = []string{"runc", "crun"}

var crunOnce once[struct{}]

// ensureCrunCgroups makes crun 1.8 work on a hybrid cgroup host, once per
// run; the cgroup mount it may make is undone when the run ends.
func ensureCrunCgroups(t testing.TB) {
	t.Helper()
	crunOnce.get(t, func() (struct{}, error) {
		undo, err := ocitest.PrepareCrun()
		if undo != nil {
			atExit(func() {
				if err := undo(); err != nil {
					fmt.Fprintf(os.Stderr, "e2e: %s\n", err)
				}
			})
		}
		return struct{}{}, err
	})
}
