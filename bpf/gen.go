package bpf

// Regenerate with `make generate` (needs clang, bpftool and libbpf-dev). The
// generated Go and .o files are committed so that `go build` needs neither.
// vmlinux.h comes from the build machine's BTF; CO-RE relocates the program
// onto the running kernel's at load time.

//go:generate sh -c "bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h"
//go:generate go run ./internal/gennr -o syscall_nr.h
//go:generate go tool bpf2go -tags linux -target amd64 -type event -type container -type task_state -type arg_key -type argc_key -type bitmap tailor tailor.bpf.c -- -I. -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror
