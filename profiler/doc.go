// Package profiler is the shared tracer: one process per host holds one set
// of BPF programs for every container being learned. Hooks register
// containers over a unix socket (the protocol and its client are in
// package wire, which links no BPF); when a container's init exits the
// tracer waits for its other tasks, drains its maps into a profile, hands
// it to a Sink and frees the entries.
package profiler
