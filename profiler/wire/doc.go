// Package wire is the client side of the shared tracer: the protocol its
// socket speaks (one JSON request line with its handles, one reply line),
// the Client that hooks and tailor learn use to register containers, and
// the checks of the root-only directory the socket lives in. It imports
// no BPF and no profile generator, so that the OCI hook binary
// (cmd/tailor-hook) stays small; package profiler serves the protocol.
package wire
