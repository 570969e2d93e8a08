// Package e2e runs tailor end to end against real runtimes (runc, crun),
// real workloads (busybox, redis, nginx) and the real kernel tracer.
//
// Everything lives in _test.go files: `go test ./e2e/` builds bin/tailor,
// the busybox and server root filesystems and the test binaries once per
// run, in a temporary directory removed at the end. The tests need root;
// without it they skip, and under CI=true a skip is a failure.
package e2e
