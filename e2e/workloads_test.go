package e2e

import (
	"testing"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// busyboxWorkload runs ocitest.BusyboxScript in the plain busybox rootfs.
func busyboxWorkload(t testing.TB) workload {
	t.Helper()
	return workload{Name: "busybox", Image: busyboxRootfs(t), Args: []string{"/bin/sh", "-c", ocitest.BusyboxScript},
		Want: ocitest.BusyboxWant}
}
