package floor

// Regenerate with `make generate` (needs clang and libbpf-dev), which runs
// this package's go:generate with bpf's. The generated Go and .o files are
// committed so that the harness builds without clang.

//go:generate go tool bpf2go -tags linux -target amd64 floor floor.bpf.c -- -O2 -g -Wall -Werror
