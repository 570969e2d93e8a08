// Package hooks is where tailor meets container runtimes: the OCI hook that
// registers a container with the shared tracer, the sink that writes what
// was learned (tailor profile, store, oci-seccomp-bpf-hook compatible
// seccomp JSON), the learning run of a bundle, applying a profile to a
// bundle for enforcement, and `tailor runtime`, the OCI runtime wrapper that
// does either for Docker.
package hooks
