package bpf

// Regenerate with `make generate` (needs clang, bpftool and libbpf-dev). The
// generated Go and .o files are committed so that `go build` needs neither.
// vmlinux.h comes from the build machine's BTF; CO-RE relocates the program
// onto the running kernel's at load time. profiles.h comes from package
// profiles (TestGeneratedHeaderCurrent fails when it is stale); bpf2go turns
// the C types and enums named by -type into the Go that tracer.go uses.

//go:generate sh -c "bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h"
//go:generate go run ./internal/gennr -o profiles.h
//go:generate go tool bpf2go -tags linux -target amd64 -type event -type event_kind -type container -type scope -type container_flag -type task_state -type arg_key -type argc_key -type bitmap -type abi -type limit -type touch -type touch_flag -type touch_limit -type net_op -type access tailor tailor.bpf.c -- -I. -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror
