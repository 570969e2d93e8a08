// Package sink writes what the tracer learned where a hook was asked to
// (package hook's Outputs): the tailor profile, a recording in the store,
// the OCI seccomp JSON of io.containers.trace-syscall with its if: input
// merged. It runs in the tracer, only through the directory handles the
// hook opened and checked.
package sink
