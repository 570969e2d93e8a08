// Package floor attaches the benchmarks' floor: an empty raw tracepoint
// program on sys_enter, the platform cost every syscall tracer pays before
// its own code runs.
package floor

import (
	"fmt"

	"github.com/cilium/ebpf/link"
)

// Floor is the attached empty program.
type Floor struct {
	objs floorObjects
	link link.Link
}

// Attach loads the empty program and attaches it to sys_enter. The caller
// must Close it.
func Attach() (*Floor, error) {
	f := &Floor{}
	if err := loadFloorObjects(&f.objs, nil); err != nil {
		return nil, fmt.Errorf("load floor program: %w", err)
	}
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_enter", Program: f.objs.FloorSysEnter})
	if err != nil {
		f.objs.Close()
		return nil, fmt.Errorf("attach floor program to sys_enter: %w", err)
	}
	f.link = l
	return f, nil
}

// Close detaches and unloads the program.
func (f *Floor) Close() error {
	err := f.link.Close()
	if cerr := f.objs.Close(); err == nil {
		err = cerr
	}
	return err
}
