// Package budget bounds gross slowness in tests: a quadratic pass over a
// hostile input, not the speed of the happy path (benchmarks live in make
// bench).
package budget

import (
	"runtime/debug"
	"slices"
	"testing"
	"time"
)

// Within fails the test when f takes longer than d (five times that under
// the race detector).
func Within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	if bi, ok := debug.ReadBuildInfo(); ok && slices.Contains(bi.Settings, debug.BuildSetting{Key: "-race", Value: "true"}) {
		d *= 5
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: not done after %s", what, d)
	}
}
