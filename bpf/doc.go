// Package bpf holds tailor's kernel programs (tailor.bpf.c) and their
// loader: it attaches the recorder to sys_enter, the scheduler's fork, exec
// and exit tracepoints and the best available capability hook, and exposes
// the maps the profiler registers containers in and drains them from.
package bpf
