// Package registry stores tailor profiles in OCI registries and fetches
// them back byte for byte, with oras-go.
//
// # The artifacts
//
// Push stores two manifests that share the seccomp blob:
//
//   - The tailor artifact, at the tag given: an OCI image manifest (v1.1)
//     with artifactType application/vnd.tailor.profile.v1+json, the empty
//     config, and two layers: the profile as pushed (media type
//     application/vnd.tailor.profile.v1+json, title profile.json) and the
//     seccomp JSON generated from it (application/json, title
//     seccomp.json). This is what Pull reads.
//   - The runtime artifact, a referrer of the first (its subject), by
//     digest: the seccomp JSON as the only layer, with config media type
//     and artifactType application/vnd.cncf.seccomp-profile.config.v1+json.
//     That is the form CRI-O's seccomp-profile.kubernetes.cri-o.io
//     annotation pulls (it requires that config media type and reads the
//     first layer, so the tailor artifact, whose first layer is the
//     profile, cannot serve it), the form Kubernetes OCI seccomp profiles
//     (KEP-6061: exactly one raw layer, a digest reference) take, and what
//     the Security Profiles Operator publishes.
//
// No creation time is written: the same profile gives the same digests.
//
// # Registry content is untrusted
//
// Pull checks the manifest's media type, size (256 KiB) and artifact type
// before it reads a blob, takes exactly one profile layer of at most
// profiles.MaxDocumentSize stored in the registry (no URLs), and verifies
// every byte it reads against its digest; a digest reference pins the
// manifest as well. Parsing the profile is left to profiles.Parse.
//
// # Credentials
//
// Logins come from the files `podman login` and `docker login` write (see
// AuthFiles), read only when a registry asks. No error or message carries
// a secret: errors from the auth files are replaced by ones that name the
// files, and references with credentials in them are refused unrepeated.
package registry
