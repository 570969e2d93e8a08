// Package hook is the OCI hook: `tailor hook` and the lean tailor-hook
// binary read the OCI state of a container being created, check what its
// annotations ask for (a profile in the store, oci-seccomp-bpf-hook's
// of:/if: seccomp files, confined to the directories the hook was started
// with), open the directories to write in, and register the container
// with the shared tracer (package profiler/wire). It links no BPF, no
// generator and not the profile model (package profiles, whose syscall
// names come from libseccomp through cgo): it checks names and room in the
// store with profiles/storedir and reads documents with internal/jsondoc,
// which are what profiles checks them with, so tailor-hook is a static
// binary. What is learned is written in the tracer, by package hook/sink,
// through the handles the hook passed.
package hook
