// Package hook is the OCI hook: `tailor hook` reads the OCI state of a
// container being created, checks what its annotations ask for (a profile
// in the store, oci-seccomp-bpf-hook's of:/if: seccomp files, confined to
// the directories the hook was started with), and registers the container
// with the shared tracer. Its Sink runs in the tracer and writes what was
// learned when the container is done.
package hook
