// Package generator turns a tailor profile into enforceable artefacts: an
// OCI/Docker/podman seccomp JSON with argument-aware rules, the minimal
// capability set (as OCI process.capabilities, docker/podman run flags or a
// Kubernetes securityContext), and a report that sets both beside Docker's
// defaults. Intersect narrows a generated filter to what an engine's own
// filter allows too, so that enforcing a profile never widens it.
//
// Everything it produces is byte-stable: the same profile gives the same
// bytes. What a generated filter really does is checked without root by
// compiling it with libseccomp (Compile) and running the BPF program in a
// BPF VM (see the tests).
package generator
