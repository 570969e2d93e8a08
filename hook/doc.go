// Package hook is the OCI hook: `tailor hook` and the lean tailor-hook
// binary read the OCI state of a container being created, check what its
// annotations ask for (a profile in the store, oci-seccomp-bpf-hook's
// of:/if: seccomp files, confined to the directories the hook was started
// with), open the directories to write in, and register the container
// with the shared tracer (package profiler/wire). It links no BPF and no
// generator: what is learned is written in the tracer, by package
// hook/sink, through the handles the hook passed.
package hook
