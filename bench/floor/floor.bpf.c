//go:build ignore

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor: an empty program on raw_syscalls:sys_enter. Attaching anything
 * to the syscall tracepoints moves every task onto the kernel's slow syscall
 * path; this program does nothing else, so a syscall tracer's cost above it
 * is the tracer's own.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tracepoint/sys_enter")
int floor_sys_enter(void *ctx)
{
	return 0;
}
