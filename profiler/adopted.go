package profiler

import "os"

// adoptedBySubreaper returns a check that reports whether the tracer has
// been adopted by a subreaper other than init: its parent is neither the
// process that started it nor pid 1. A tracer a hook starts under
// `crun run` ends up there once the hook exits; crun reaps its orphans and
// does not return until they are gone. Under runc the orphan goes to init,
// and a tracer that `tailor learn`, a service manager or a shell started
// still has its first parent (or init, once that one exits).
func adoptedBySubreaper() func() bool {
	first := os.Getppid()
	return func() bool {
		p := os.Getppid()
		return p != 1 && p != first
	}
}
