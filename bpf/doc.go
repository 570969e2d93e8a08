// Package bpf holds tailor's kernel programs (tailor.bpf.c, touch.bpf.h)
// and their loader: it attaches the recorder to sys_enter and sys_exit, the
// scheduler's fork, exec and exit tracepoints, signal_generate and the best
// available capability hook, and exposes the maps the profiler registers
// containers in and drains them from.
package bpf
