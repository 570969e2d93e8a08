package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	orasregistry "oras.land/oras-go/v2/registry"
)

// Scheme starts a profile argument that names a registry artifact.
const Scheme = "oci://"

// refForm is the shape of a reference, for error messages.
const refForm = "oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@sha256:DIGEST"

// ErrBadRef marks a reference that is not of the form refForm.
var ErrBadRef = errors.New("malformed registry reference")

// Ref is a parsed oci:// reference: a tag or a digest in a repository of a
// registry.
type Ref struct {
	ref orasregistry.Reference
}

// IsRef reports whether arg names a registry artifact (starts with oci://)
// rather than a file.
func IsRef(arg string) bool { return strings.HasPrefix(arg, Scheme) }

// ParseRef parses oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@DIGEST
// (the oci:// is optional). HOST must look like one (a dot, a port or
// localhost): there is no default registry, so that "profiles/web:v1" is
// refused rather than sent to Docker Hub. A tag is required: there is no
// implied "latest". Credentials in the reference are refused without
// being repeated in the error.
func ParseRef(s string) (Ref, error) {
	rest := strings.TrimPrefix(s, Scheme)
	host, path, ok := strings.Cut(rest, "/")
	switch {
	case ok && strings.Contains(host, "@"):
		return Ref{}, fmt.Errorf("%w: the reference holds credentials (not shown): remove them, and log in with "+
			"docker login or podman login instead (tailor reads their auth files)", ErrBadRef)
	case !ok || host == "" || path == "":
		if strings.Contains(host, "@") {
			s = "the reference" // it may hold credentials: not repeated
		}
		return Ref{}, fmt.Errorf("%w: %s names no repository: give %s", ErrBadRef, s, refForm)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return Ref{}, fmt.Errorf("%w: %q contains spaces or control characters: give %s", ErrBadRef, s, refForm)
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return Ref{}, fmt.Errorf("%w: %s: %q is not a registry host (no dot, port or localhost): give %s, "+
			"e.g. oci://registry.example/profiles/web:v1", ErrBadRef, s, host, refForm)
	}
	ref, err := orasregistry.ParseReference(rest)
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %s: %w: give %s (repository names are lowercase; a tag is at most 128 of "+
			"[A-Za-z0-9_.-])", ErrBadRef, s, err, refForm)
	}
	if ref.Reference == "" {
		return Ref{}, fmt.Errorf("%w: %s names no tag or digest: add :TAG or @sha256:DIGEST", ErrBadRef, s)
	}
	return Ref{ref: ref}, nil
}

// String is the reference with its oci:// scheme.
func (r Ref) String() string { return Scheme + r.ref.String() }

// Host is the registry's HOST[:PORT].
func (r Ref) Host() string { return r.ref.Registry }

// Repository is the repository's path in the registry.
func (r Ref) Repository() string { return r.ref.Repository }

// Tag is the reference's tag, empty for a digest reference.
func (r Ref) Tag() string {
	if r.IsDigest() {
		return ""
	}
	return r.ref.Reference
}

// IsDigest reports whether the reference pins a digest.
func (r Ref) IsDigest() bool {
	_, err := r.ref.Digest()
	return err == nil
}

// Name is the last component of the repository ("web" in
// oci://registry.example/profiles/web:v1), a name for files made from it.
func (r Ref) Name() string {
	return r.ref.Repository[strings.LastIndex(r.ref.Repository, "/")+1:]
}

// Pinned is HOST/REPO@d without a scheme, as container runtimes take it
// (CRI-O's seccomp-profile annotation, a Kubernetes OCI profile).
func (r Ref) Pinned(d digest.Digest) string {
	return r.ref.Registry + "/" + r.ref.Repository + "@" + d.String()
}
