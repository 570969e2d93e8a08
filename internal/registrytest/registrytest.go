// Package registrytest starts a real OCI registry on loopback for tests:
// Debian's docker-registry (distribution 2.8) with its storage in a
// temporary directory, optionally behind htpasswd authentication.
//
// Where the binary is missing the test is skipped with the command that
// installs it; under CI=true, where scripts/install-prereqs.sh has run, a
// missing binary fails the test instead.
package registrytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
)

// Binary is the registry's executable (package docker-registry).
const Binary = "docker-registry"

// The account of a registry started with Auth. passwordHash is the bcrypt
// hash (cost 4, the minimum: the test registry checks it on every request)
// of Password, computed once so that the tests need no bcrypt package.
const (
	User         = "tailor"
	Password     = "tailor-test-secret-7f3a"
	passwordHash = "$2b$04$PBNTtP7.c0O0ABy.pJ4i6ea509U3FfU5Wtb.iXg51He2/aresVSpy"
)

// Registry is a running test registry.
type Registry struct {
	// Host is its HOST:PORT on 127.0.0.1.
	Host string
	// Dir holds its configuration and storage.
	Dir string
}

// Options configure Start.
type Options struct {
	// Auth puts the registry behind htpasswd authentication with User and
	// Password.
	Auth bool
}

// Start starts a registry for the test and stops it (by its PID) when the
// test ends. It returns once /v2/ answers.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		msg := Binary + " not found: install it with scripts/install-prereqs.sh (apt-get install docker-registry)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: a skip would hide the registry tests)")
		}
		t.Skip(msg)
	}
	r := &Registry{Dir: t.TempDir()}
	var lastErr error
	// The free port is found by binding and releasing it, so another
	// process can take it before the registry binds: try a few.
	for range 3 {
		r.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		if lastErr = r.start(t, bin, opts); lastErr == nil {
			return r
		}
	}
	t.Fatal(lastErr)
	return nil
}

func (r *Registry) start(t testing.TB, bin string, opts Options) error {
	config := filepath.Join(r.Dir, "config.yml")
	storage := filepath.Join(r.Dir, "storage")
	yml := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: tailor-test
`, storage, r.Host)
	if opts.Auth {
		htpasswd := filepath.Join(r.Dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(User+":"+passwordHash+"\n"), 0o600); err != nil {
			return err
		}
		yml += fmt.Sprintf("auth:\n  htpasswd:\n    realm: tailor-test\n    path: %s\n", htpasswd)
	}
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", config)
	// The registry reads REGISTRY_* variables as configuration
	// (REGISTRY_AUTH_FILE, podman's auth file, would configure an "auth:
	// file" it does not have): it gets none of them.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill() // the PID this test started
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			exited <- err // for stop
			return fmt.Errorf("%s serve exited before answering on %s (%v):\n%s", Binary, r.Host, err, out.String())
		default:
		}
		resp, err := client.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			// 401: up, behind authentication.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				t.Cleanup(stop)
				return nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("%s on %s did not answer /v2/ within 10 s (%v):\n%s", Binary, r.Host, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ref is the oci:// reference of repoTag ("profiles/web:v1") in r.
func (r *Registry) Ref(repoTag string) string { return "oci://" + r.Host + "/" + repoTag }

// DockerConfig writes a Docker config.json holding user and password for
// r, in a new directory for DOCKER_CONFIG, and returns the directory.
func (r *Registry) DockerConfig(t testing.TB, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	data, err := json.Marshal(map[string]any{"auths": map[string]any{r.Host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// IsolateAuth points every auth file tailor reads (Docker's and podman's)
// at empty temporary places for the test, so that the host's own logins
// take no part. A test that wants credentials sets DOCKER_CONFIG after.
func IsolateAuth(t testing.TB) {
	t.Helper()
	empty := t.TempDir()
	t.Setenv("HOME", empty)
	t.Setenv("DOCKER_CONFIG", filepath.Join(empty, "docker"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(empty, "run"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
}

// ClosedPort is a 127.0.0.1 HOST:PORT nothing listens on (bound, then
// released).
func ClosedPort(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects the registry's output: its goroutines write while
// the test may read.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PushArtifact stores, with oras-go directly (not tailor's code), an
// artifact of artifactType at repoTag ("other/thing:v1") in r: the empty
// config and one layer of mediaType holding data. edit, if not nil,
// changes the layer's descriptor in the manifest (a forged size, say). It
// returns the artifact's oci:// reference.
func (r *Registry) PushArtifact(t testing.TB, repoTag, artifactType, mediaType string, data []byte, edit func(*ocispec.Descriptor)) string {
	t.Helper()
	ctx := context.Background()
	name, tag, ok := strings.Cut(repoTag, ":")
	if !ok {
		t.Fatalf("PushArtifact: %q has no tag", repoTag)
	}
	repo, err := remote.NewRepository(r.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	layer := content.NewDescriptorFromBytes(mediaType, data)
	config := ocispec.DescriptorEmptyJSON
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{layer, data}, {config, config.Data}} {
		if err := repo.Blobs().Push(ctx, b.desc, bytes.NewReader(b.data)); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(&layer)
	}
	config.Data = nil
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType, Config: config, Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m)
	if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(m), tag); err != nil {
		t.Fatal(err)
	}
	return r.Ref(repoTag)
}
