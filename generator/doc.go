// Package generator turns a tailor profile into enforceable artefacts: an
// OCI/Docker/podman seccomp JSON with argument-aware rules, the minimal
// capability set (as OCI process.capabilities, docker/podman run flags or a
// Kubernetes securityContext), an AppArmor profile from the files, programs
// and network the container used (--format apparmor: least permission per
// path, per-run names generalised, every other byte escaped), Security
// Profiles Operator objects (--format spo-seccomp, a SeccompProfile built
// from the compiled seccomp filter; --format spo-apparmor, an
// AppArmorProfile in SPO's structured form, which carries /proc pids as
// @{pid} and lists other paths exactly), and a report that sets them
// beside Docker's defaults. Intersect narrows a generated filter to what
// an engine's own filter allows too, so that enforcing a profile never
// widens it.
//
// Everything it produces is byte-stable: the same profile gives the same
// bytes. What a generated filter really does is checked without root by
// compiling it with libseccomp (Compile) and running the BPF program in a
// BPF VM (see the tests); what an AppArmor profile allows, with the
// apparmor_parser and the internal/aamatch matcher.
package generator
