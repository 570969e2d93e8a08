// Package bench measures tailor against its targets (issue 5): tracer
// overhead against the floor every syscall tracer pays, host cost while
// containers learn, hook latency, enforcement cost against Docker's default
// profile, completeness under load, footprint and attack surface.
//
// It is a harness, not a test suite: cmd/tailor-bench runs it (make bench)
// as root. Every comparison is a ratio taken in one run from interleaved
// repetitions, because absolute times drift on shared machines.
package bench
