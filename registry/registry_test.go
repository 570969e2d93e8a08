package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/tailor-dev/tailor/internal/registrytest"
	"github.com/tailor-dev/tailor/profiles"
)

var plain = Options{PlainHTTP: true}

// testProfile is a real profile's bytes with a trailing blank line and odd
// spacing kept, so that "byte-identical" is tested, not "equal as JSON".
func testProfile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../profiles/drift/testdata/baseline.json")
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Replace(data, []byte(`"name": "web"`), []byte(`"name":   "web"`), 1), '\n', '\n')
}

var testSeccomp = []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)

func TestPushPull(t *testing.T) {
	registrytest.IsolateAuth(t)
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	profile := testProfile(t)
	ref := reg.Ref("profiles/web:v1")

	pushed, err := Push(ctx, profile, testSeccomp, ref, plain)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := Pull(ctx, ref, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pulled.Profile, profile) {
		t.Fatalf("pulled profile differs from the pushed one:\n%s", pulled.Profile)
	}
	if pulled.Digest != pushed.Digest {
		t.Errorf("pulled manifest %s, pushed %s", pulled.Digest, pushed.Digest)
	}
	if _, err := profiles.Parse(pulled.Profile); err != nil {
		t.Errorf("the pulled profile does not parse: %v", err)
	}

	t.Run("by digest", func(t *testing.T) {
		byDigest := Scheme + pushed.Ref.Pinned(pushed.Digest)
		p, err := Pull(ctx, byDigest, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Profile, profile) {
			t.Error("pulled by digest, the profile differs")
		}
	})
	t.Run("same profile, same digests", func(t *testing.T) {
		again, err := Push(ctx, profile, testSeccomp, reg.Ref("profiles/web:v2"), plain)
		if err != nil {
			t.Fatal(err)
		}
		if again.Digest != pushed.Digest || again.Seccomp != pushed.Seccomp {
			t.Errorf("a second push of the same profile gave %s, %s; the first %s, %s",
				again.Digest, again.Seccomp, pushed.Digest, pushed.Seccomp)
		}
	})
	t.Run("tailor manifest", func(t *testing.T) {
		m := fetchManifest(t, reg.Host, "profiles/web", pushed.Digest)
		if m.ArtifactType != ArtifactType || m.Config.MediaType != ocispec.MediaTypeEmptyJSON || len(m.Layers) != 2 {
			t.Fatalf("manifest: artifactType %q config %q, %d layers", m.ArtifactType, m.Config.MediaType, len(m.Layers))
		}
		if m.Layers[0].MediaType != MediaTypeProfile || m.Layers[1].MediaType != MediaTypeSeccompLayer {
			t.Errorf("layer media types %q, %q", m.Layers[0].MediaType, m.Layers[1].MediaType)
		}
		if m.Layers[1].Digest != digest.FromBytes(testSeccomp) {
			t.Error("the second layer is not the seccomp JSON")
		}
	})
	// What CRI-O's annotation and KEP-6061 take: the config media type,
	// exactly one raw layer holding the seccomp JSON, a referrer of the
	// tailor manifest.
	t.Run("runtime manifest", func(t *testing.T) {
		m := fetchManifest(t, reg.Host, "profiles/web", pushed.Seccomp)
		if m.Config.MediaType != MediaTypeSeccompProfile || m.ArtifactType != MediaTypeSeccompProfile {
			t.Errorf("config media type %q, artifactType %q, want %s", m.Config.MediaType, m.ArtifactType, MediaTypeSeccompProfile)
		}
		if len(m.Layers) != 1 || m.Layers[0].Digest != digest.FromBytes(testSeccomp) {
			t.Fatalf("layers %+v, want the seccomp JSON alone", m.Layers)
		}
		if m.Subject == nil || m.Subject.Digest != pushed.Digest {
			t.Errorf("subject %+v, want the tailor manifest %s", m.Subject, pushed.Digest)
		}
		repo := testRepo(t, reg.Host, "profiles/web")
		var found bool
		err := repo.Referrers(ctx, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: pushed.Digest,
			Size: sizeOf(t, repo, pushed.Digest)}, MediaTypeSeccompProfile, func(refs []ocispec.Descriptor) error {
			for _, r := range refs {
				found = found || r.Digest == pushed.Seccomp
			}
			return nil
		})
		if err != nil || !found {
			t.Errorf("the runtime manifest is not a referrer of the tailor manifest (%v)", err)
		}
		_, err = Pull(ctx, Scheme+pushed.Ref.Pinned(pushed.Seccomp), plain)
		if !errors.Is(err, ErrNotProfile) || !strings.Contains(err.Error(), pushed.Digest.String()) {
			t.Errorf("pulling the runtime manifest: %v, want ErrNotProfile naming the tailor artifact", err)
		}
	})
	t.Run("push to a digest", func(t *testing.T) {
		_, err := Push(ctx, profile, testSeccomp, Scheme+pushed.Ref.Pinned(pushed.Digest), plain)
		if !errors.Is(err, ErrBadRef) || !strings.Contains(err.Error(), "needs a tag") {
			t.Errorf("push to a digest: %v", err)
		}
	})
	t.Run("push invalid", func(t *testing.T) {
		_, err := Push(ctx, testSeccomp, testSeccomp, reg.Ref("profiles/bad:v1"), plain)
		if !errors.Is(err, profiles.ErrInvalid) {
			t.Errorf("push of a seccomp JSON as the profile: %v", err)
		}
	})
	t.Run("push oversized", func(t *testing.T) {
		big := bytes.Repeat([]byte(" "), profiles.MaxDocumentSize+1)
		if _, err := Push(ctx, big, testSeccomp, reg.Ref("profiles/big:v1"), plain); !errors.Is(err, profiles.ErrTooLarge) {
			t.Errorf("push of %d bytes: %v", len(big), err)
		}
	})
}

func TestPullErrors(t *testing.T) {
	registrytest.IsolateAuth(t)
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	if _, err := Push(ctx, testProfile(t), testSeccomp, reg.Ref("profiles/web:v1"), plain); err != nil {
		t.Fatal(err)
	}
	other := reg.PushArtifact(t, "other/thing:v1", "application/vnd.example.thing.v1+json", "application/vnd.example.layer",
		[]byte(`{"not":"a profile"}`), nil)
	noLayer := reg.PushArtifact(t, "other/empty:v1", ArtifactType, "application/vnd.example.layer",
		[]byte(`{"kind":"TailorProfile"}`), nil)
	// A manifest that claims a profile layer beyond profiles.MaxDocumentSize
	// is refused before the blob is fetched.
	huge := reg.PushArtifact(t, "other/huge:v1", ArtifactType, MediaTypeProfile, []byte(`{}`), func(d *ocispec.Descriptor) {
		d.Size = profiles.MaxDocumentSize + 1
	})
	// A layer whose bytes do not match its digest's size claim: the
	// registry serves the real blob, the check is the reader's.
	short := reg.PushArtifact(t, "other/short:v1", ArtifactType, MediaTypeProfile, []byte(`{"kind":"TailorProfile"}`),
		func(d *ocispec.Descriptor) { d.Size-- })

	tests := []struct {
		name string
		ref  string
		opts Options
		is   error
		want []string
	}{
		{name: "missing tag", ref: reg.Ref("profiles/web:v9"), opts: plain, is: ErrNotFound,
			want: []string{"pull " + reg.Ref("profiles/web:v9"), "has no tag v9", "tailor push"}},
		{name: "missing repository", ref: reg.Ref("profiles/none:v1"), opts: plain, is: ErrNotFound},
		{name: "missing digest", ref: reg.Ref("profiles/web@sha256:" + strings.Repeat("0", 64)), opts: plain, is: ErrNotFound,
			want: []string{"has no manifest sha256:000", "check the digest"}},
		{name: "unreachable", ref: "oci://" + registrytest.ClosedPort(t) + "/profiles/web:v1", opts: plain, is: ErrUnreachable,
			want: []string{"nothing answers at 127.0.0.1:", "connection refused", "check the host and port"}},
		{name: "needs --plain-http", ref: reg.Ref("profiles/web:v1"), is: ErrUnreachable, want: []string{"--plain-http"}},
		{name: "other artifact", ref: other, opts: plain, is: ErrNotProfile,
			want: []string{"artifact type is application/vnd.example.thing.v1+json", ArtifactType}},
		{name: "no profile layer", ref: noLayer, opts: plain, is: ErrNotProfile, want: []string{"0 layers of media type"}},
		{name: "huge layer", ref: huge, opts: plain, is: ErrNotProfile, want: []string{"more than profiles.MaxDocumentSize"}},
		{name: "size mismatch", ref: short, opts: plain, is: ErrCorrupt, want: []string{"profile layer", "push it again"}},
		{name: "malformed", ref: "oci://profiles/web:v1", opts: plain, is: ErrBadRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Pull(ctx, tt.ref, tt.opts)
			if err == nil {
				t.Fatal("pulled")
			}
			t.Log(err) // what a user reads
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// Logins come from the auth files, and no error shows a secret.
func TestCredentials(t *testing.T) {
	registrytest.IsolateAuth(t)
	reg := registrytest.Start(t, registrytest.Options{Auth: true})
	ctx := context.Background()
	profile := testProfile(t)
	ref := reg.Ref("profiles/web:v1")
	secrets := []string{registrytest.Password, "wrong-password-91c2",
		base64.StdEncoding.EncodeToString([]byte(registrytest.User + ":" + registrytest.Password)), "leaked-secret-55d1"}
	noSecret := func(t *testing.T, err error) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error shows a secret (%q):\n%v", s, err)
			}
		}
	}

	t.Run("no login", func(t *testing.T) {
		_, err := Push(ctx, profile, testSeccomp, ref, plain)
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "docker login "+reg.Host) {
			t.Fatalf("push without a login: %v", err)
		}
	})
	t.Run("DOCKER_CONFIG", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, registrytest.User, registrytest.Password))
		if _, err := Push(ctx, profile, testSeccomp, ref, plain); err != nil {
			t.Fatal(err)
		}
		p, err := Pull(ctx, ref, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Profile, profile) {
			t.Error("pulled profile differs")
		}
	})
	t.Run("REGISTRY_AUTH_FILE", func(t *testing.T) {
		dir := reg.DockerConfig(t, registrytest.User, registrytest.Password)
		t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "config.json"))
		if _, err := Pull(ctx, ref, plain); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, registrytest.User, "wrong-password-91c2"))
		_, err := Pull(ctx, ref, plain)
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "refused the one it was given") {
			t.Fatalf("pull with a wrong password: %v", err)
		}
		noSecret(t, err)
	})
	t.Run("malformed auth file", func(t *testing.T) {
		// An "auth" without a colon: oras-go's own error quotes it decoded.
		dir := t.TempDir()
		bad := `{"auths":{"` + reg.Host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("leaked-secret-55d1")) + `"}}}`
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		_, err := Pull(ctx, ref, plain)
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), filepath.Join(dir, "config.json")) {
			t.Fatalf("pull with a malformed auth file: %v", err)
		}
		noSecret(t, err)
	})
}

func TestAuthFilesOrder(t *testing.T) {
	dir := t.TempDir()
	file := func(rel string) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("{}"), 0o600)
		return p
	}
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("REGISTRY_AUTH_FILE", file("podman.json"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	want := []string{
		file("podman.json"),
		file("run/containers/auth.json"),
		file("home/.config/containers/auth.json"),
		file("docker/config.json"),
	}
	file("home/.docker/config.json") // DOCKER_CONFIG wins over it
	if got := AuthFiles(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("AuthFiles() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func testRepo(t *testing.T, host, repo string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

func fetchManifest(t *testing.T, host, repo string, d digest.Digest) ocispec.Manifest {
	t.Helper()
	_, rc, err := testRepo(t, host, repo).Manifests().FetchReference(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var m ocispec.Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sizeOf(t *testing.T, repo *remote.Repository, d digest.Digest) int64 {
	t.Helper()
	desc, err := repo.Manifests().Resolve(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	return desc.Size
}

// A TLS registry reached with --plain-http, and one whose certificate is
// not trusted, each say what to do.
func TestTLSMismatch(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
	srv.StartTLS()
	defer srv.Close()
	ref := "oci://" + srv.Listener.Addr().String() + "/profiles/web:v1"
	_, err := Pull(context.Background(), ref, plain)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "leave out --plain-http") {
		t.Errorf("--plain-http to a TLS registry: %v", err)
	}
	_, err = Pull(context.Background(), ref, Options{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate is not trusted") {
		t.Errorf("untrusted certificate: %v", err)
	}
}
