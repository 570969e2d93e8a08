package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/tailor-dev/tailor/profiles"
)

// The media types of a tailor profile artifact (see the package comment).
const (
	// ArtifactType is the tailor artifact's manifest artifactType.
	ArtifactType = "application/vnd.tailor.profile.v1+json"
	// MediaTypeProfile is its first layer: the tailor profile, the bytes
	// pushed.
	MediaTypeProfile = "application/vnd.tailor.profile.v1+json"
	// MediaTypeSeccompLayer is its second layer, and the only layer of the
	// runtime artifact: the generated seccomp JSON, raw (not a tar). Runtimes
	// must not require a layer media type (KEP-6061); this is the one the
	// Security Profiles Operator gives the raw JSON of its runtime artifacts.
	MediaTypeSeccompLayer = "application/json"
	// MediaTypeSeccompProfile is the runtime artifact's config media type
	// and artifactType: what CRI-O's seccomp-profile.kubernetes.cri-o.io
	// annotation (1.30+) and Kubernetes OCI seccomp profiles (KEP-6061)
	// pull, and SPO publishes.
	MediaTypeSeccompProfile = "application/vnd.cncf.seccomp-profile.config.v1+json"
)

// Layer titles (org.opencontainers.image.title), the file names `oras pull`
// writes the layers to.
const (
	titleProfile = "profile.json"
	titleSeccomp = "seccomp.json"
)

// maxManifestSize bounds the manifest read before it is decoded: a tailor
// manifest is about 1 KiB, an image's a few.
const maxManifestSize = 256 << 10

// Errors callers can branch on. Each error returned also names the
// reference and says how to fix it.
var (
	// ErrNotFound: the tag, digest or repository does not exist.
	ErrNotFound = errors.New("not found in the registry")
	// ErrUnreachable: no registry answered at the reference's host.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrDenied: the registry refused the request (no or wrong login).
	ErrDenied = errors.New("registry refused access")
	// ErrNotProfile: the reference names something that is not a tailor
	// profile artifact.
	ErrNotProfile = errors.New("not a tailor profile artifact")
	// ErrCorrupt: the registry sent bytes that do not match the digest or
	// size they were asked for by.
	ErrCorrupt = errors.New("registry content does not match its digest")
)

// Options configure Push and Pull.
type Options struct {
	// PlainHTTP reaches the registry over HTTP instead of HTTPS (a local
	// registry without TLS).
	PlainHTTP bool
	// Credential gives the login for a registry host; nil reads AuthFiles.
	Credential auth.CredentialFunc
}

// Pushed is what Push stored.
type Pushed struct {
	Ref Ref
	// Digest is the tailor artifact's manifest, which Ref's tag names.
	Digest digest.Digest
	// Seccomp is the runtime artifact's manifest: the seccomp JSON alone,
	// in the form CRI-O and Kubernetes pull, as Ref.Pinned(Seccomp).
	Seccomp digest.Digest
}

// Pulled is what Pull fetched.
type Pulled struct {
	Ref    Ref
	Digest digest.Digest
	// Profile is the tailor profile layer, byte for byte as pushed,
	// verified against its digest and within profiles.MaxDocumentSize. It
	// is not validated: that is profiles.Parse's job.
	Profile []byte
}

// Push stores profile (a tailor profile document, refused unless valid)
// and seccomp (the seccomp JSON generated from it) at ref, which must name
// a tag. Two manifests are pushed, sharing the seccomp blob: the tailor
// artifact, tagged, and the runtime artifact, a referrer of it (its
// subject), reachable by digest. The tag moves last, so a failed push
// leaves it where it was.
func Push(ctx context.Context, profile, seccomp []byte, ref string, opts Options) (*Pushed, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if r.IsDigest() {
		return nil, fmt.Errorf("push %s: %w: a push needs a tag to publish, not a digest: give oci://%s/%s:TAG",
			r, ErrBadRef, r.Host(), r.Repository())
	}
	// What the artifact type promises holds: a valid profile.
	if _, err := profiles.Parse(profile); err != nil {
		return nil, fmt.Errorf("push %s: the profile: %w", r, err)
	}
	if err := profiles.CheckJSON(seccomp); err != nil {
		return nil, fmt.Errorf("push %s: the seccomp JSON: %w", r, err)
	}
	repo := repository(r, opts)
	out, err := push(ctx, repo, r, profile, seccomp)
	if err != nil {
		return nil, explain("push", r, err, opts)
	}
	return out, nil
}

func push(ctx context.Context, repo *remote.Repository, r Ref, profile, seccomp []byte) (*Pushed, error) {
	profileDesc := content.NewDescriptorFromBytes(MediaTypeProfile, profile)
	profileDesc.Annotations = map[string]string{ocispec.AnnotationTitle: titleProfile}
	seccompDesc := content.NewDescriptorFromBytes(MediaTypeSeccompLayer, seccomp)
	seccompDesc.Annotations = map[string]string{ocispec.AnnotationTitle: titleSeccomp}
	emptyConfig := ocispec.DescriptorEmptyJSON
	// The same "{}" blob as the empty config, under the runtime media type.
	runtimeConfig := content.NewDescriptorFromBytes(MediaTypeSeccompProfile, ocispec.DescriptorEmptyJSON.Data)
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{profileDesc, profile}, {seccompDesc, seccomp}, {emptyConfig, emptyConfig.Data}} {
		if err := pushBlob(ctx, repo, b.desc, b.data); err != nil {
			return nil, err
		}
	}
	emptyConfig.Data = nil // not inlined in the manifest
	// No creation time: the same profile gives the same digests.
	tailorDesc, err := pushManifest(ctx, repo, ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       emptyConfig,
		Layers:       []ocispec.Descriptor{profileDesc, seccompDesc},
	})
	if err != nil {
		return nil, err
	}
	// The runtime artifact: KEP-6061's exactly one raw layer, its kind in
	// both the config media type and artifactType (which must agree).
	runtimeLayer := seccompDesc
	runtimeLayer.Annotations = nil
	runtimeDesc, err := pushManifest(ctx, repo, ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: MediaTypeSeccompProfile,
		Config:       runtimeConfig,
		Layers:       []ocispec.Descriptor{runtimeLayer},
		Subject:      &ocispec.Descriptor{MediaType: tailorDesc.MediaType, Digest: tailorDesc.Digest, Size: tailorDesc.Size},
	})
	if err != nil {
		return nil, err
	}
	if err := repo.Tag(ctx, tailorDesc, r.Tag()); err != nil {
		return nil, err
	}
	return &Pushed{Ref: r, Digest: tailorDesc.Digest, Seccomp: runtimeDesc.Digest}, nil
}

func pushBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, data []byte) error {
	if ok, err := repo.Blobs().Exists(ctx, desc); err != nil || ok {
		return err
	}
	return repo.Blobs().Push(ctx, desc, bytes.NewReader(data))
}

func pushManifest(ctx context.Context, repo *remote.Repository, m ocispec.Manifest) (ocispec.Descriptor, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, data)
	desc.ArtifactType = m.ArtifactType
	return desc, repo.Manifests().Push(ctx, desc, bytes.NewReader(data))
}

// Pull fetches the tailor profile that ref (a tag or a digest) names. It
// refuses anything but a tailor artifact: another media type, another
// artifact type, no or several profile layers, a layer over
// profiles.MaxDocumentSize or stored elsewhere (URLs). Every byte read is
// bounded and checked against its digest; a digest reference pins the
// manifest too.
func Pull(ctx context.Context, ref string, opts Options) (*Pulled, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	out, err := pull(ctx, repository(r, opts), r)
	if err != nil {
		return nil, explain("pull", r, err, opts)
	}
	return out, nil
}

func pull(ctx context.Context, repo *remote.Repository, r Ref) (*Pulled, error) {
	desc, rc, err := repo.Manifests().FetchReference(ctx, r.ref.Reference)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, notProfile("its manifest is a %s, not an OCI image manifest", describeMediaType(desc.MediaType))
	}
	if desc.Size > maxManifestSize {
		return nil, notProfile("its manifest is %d bytes, more than the %d a tailor artifact's can be", desc.Size, maxManifestSize)
	}
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("read the manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, notProfile("its manifest is not valid JSON (%w)", err)
	}
	layer, err := profileLayer(&m)
	if err != nil {
		return nil, err
	}
	blob, err := repo.Blobs().Fetch(ctx, layer)
	if err != nil {
		return nil, fmt.Errorf("fetch the profile layer %s: %w", layer.Digest, err)
	}
	defer blob.Close()
	profile, err := content.ReadAll(blob, layer)
	if err != nil {
		return nil, fmt.Errorf("read the profile layer %s: %w", layer.Digest, err)
	}
	return &Pulled{Ref: r, Digest: desc.Digest, Profile: profile}, nil
}

// profileLayer checks what the manifest says before any blob is read, and
// returns the descriptor of its profile layer.
func profileLayer(m *ocispec.Manifest) (ocispec.Descriptor, error) {
	kind := m.ArtifactType
	if m.Config.MediaType != ocispec.MediaTypeEmptyJSON && m.Config.MediaType != "" {
		kind = m.Config.MediaType
	}
	switch {
	case m.SchemaVersion != 2 || (m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest):
		return ocispec.Descriptor{}, notProfile("its manifest has schemaVersion %d, mediaType %q", m.SchemaVersion, m.MediaType)
	case kind == MediaTypeSeccompProfile && m.Subject != nil:
		return ocispec.Descriptor{}, notProfile("it is the seccomp JSON alone, in the form container runtimes pull; "+
			"the tailor artifact it was pushed with is @%s", m.Subject.Digest)
	case kind != ArtifactType:
		return ocispec.Descriptor{}, notProfile("its artifact type is %s, want %s", describeMediaType(kind), ArtifactType)
	}
	var found []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == MediaTypeProfile {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return ocispec.Descriptor{}, notProfile("it has %d layers of media type %s, want exactly one", len(found), MediaTypeProfile)
	}
	l := found[0]
	switch {
	case len(l.URLs) > 0:
		return ocispec.Descriptor{}, notProfile("its profile layer is stored outside the registry (urls), which tailor does not fetch")
	case l.Size < 0 || l.Size > profiles.MaxDocumentSize:
		return ocispec.Descriptor{}, notProfile("its profile layer is %d bytes, more than profiles.MaxDocumentSize (%d)", l.Size, profiles.MaxDocumentSize)
	}
	if err := l.Digest.Validate(); err != nil {
		return ocispec.Descriptor{}, notProfile("its profile layer's digest %q is invalid (%w)", l.Digest, err)
	}
	return l, nil
}

// notProfileError is a manifest that is not a tailor artifact: explain
// adds the reference and the fix.
type notProfileError struct{ err error }

func (e *notProfileError) Error() string { return e.err.Error() }
func (e *notProfileError) Unwrap() error { return e.err }

func notProfile(format string, a ...any) error {
	return &notProfileError{fmt.Errorf(format, a...)}
}

func describeMediaType(t string) string {
	switch t {
	case "":
		return "(none)"
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
		return t + " (an image index)"
	case ocispec.MediaTypeImageConfig, "application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.container.image.v1+json":
		return t + " (a container image)"
	}
	return t
}

// repository is the oras-go client for r: the auth client with opts'
// credentials, over a transport that gives up on a dead host in seconds.
func repository(r Ref, opts Options) *remote.Repository {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = 10 * time.Second
	base.ResponseHeaderTimeout = 30 * time.Second
	// Retries: on 5xx, 429 and timeouts, twice (a refused connection is
	// not retried).
	transport := retry.NewTransport(base)
	transport.Policy = func() retry.Policy {
		return &retry.GenericPolicy{Retryable: retry.DefaultPredicate, Backoff: retry.DefaultBackoff,
			MinWait: 200 * time.Millisecond, MaxWait: 2 * time.Second, MaxRetry: 2}
	}
	cred := opts.Credential
	if cred == nil {
		cred = fileCredentials
	}
	client := &auth.Client{
		// The whole of one request, retries included: a registry that
		// stalls mid-transfer does not hang tailor.
		Client:     &http.Client{Transport: transport, Timeout: 5 * time.Minute},
		Cache:      auth.NewCache(),
		Credential: cred,
	}
	client.SetUserAgent("tailor")
	return &remote.Repository{
		Client:    client,
		Reference: r.ref,
		PlainHTTP: opts.PlainHTTP,
		// A registry without the referrers API gets oras-go's referrers
		// tag index; the old index is kept rather than deleted, as a
		// registry may not allow deletes.
		SkipReferrersGC: true,
	}
}
