// Package landlock derives a Landlock ruleset from what a profile recorded
// a container touching: filesystem rights beneath the smallest set of
// hierarchies that covers the recorded files and programs, the TCP ports
// it bound and connected to (when they are fixed ones), and the IPC scopes
// (abstract unix sockets, signals) it never needed. The Ruleset is plain
// JSON (tailor generate --format landlock); cmd/tailor-landlock enforces
// it inside the container before the workload's execve, downgraded to the
// kernel's Landlock ABI (Downgrade). Allows evaluates a ruleset the way
// the kernel does, so that tests check both directions without a kernel.
//
// This package must not import go-landlock: its syscall package pulls in
// libcap's psx, which wraps pthread_create in a cgo binary such as tailor.
// Only the helper, built without cgo, links it.
package landlock
