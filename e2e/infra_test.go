package e2e

import (
	"strings"
	"testing"
)

// TestBusyboxRunsPlain proves the bundle helpers and both runtimes work
// without tailor, so a learn test failure points at tailor.
func TestBusyboxRunsPlain(t *testing.T) {
	requireRoot(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			b := newBundle(t, busyboxRootfs(t), []string{"/bin/sh", "-c", "echo hello from $(hostname); exit 3"})
			res := runContainer(t, rt, b)
			if res.ExitCode != 3 || !strings.Contains(res.Stdout, "hello from tailor-e2e") {
				t.Fatalf("busybox container under %s:\n%s", rt, res)
			}
		})
	}
}
