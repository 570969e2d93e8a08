package generator

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it)\ngot:\n%s", path, got)
	}
}

// Hand-made profiles, built with the profiles types.

func plain(names ...string) []profiles.Syscall {
	var out []profiles.Syscall
	for _, n := range names {
		out = append(out, profiles.Syscall{Name: n, Seen: profiles.Seen{Recordings: 1}})
	}
	return out
}

func withArgs(name string, values ...uint64) profiles.Syscall {
	return profiles.Syscall{Name: name, Args: &profiles.ArgValues{Values: values}, Seen: profiles.Seen{Recordings: 1}}
}

func overflowed(name string) profiles.Syscall {
	return profiles.Syscall{Name: name, Args: &profiles.ArgValues{Values: []uint64{}, Overflow: true}, Seen: profiles.Seen{Recordings: 1}}
}

func abiCalls(abi profiles.ABI, calls ...[]profiles.Syscall) profiles.ABISyscalls {
	a := profiles.ABISyscalls{ABI: abi}
	for _, c := range calls {
		a.Syscalls = append(a.Syscalls, c...)
	}
	return a
}

func one(s profiles.Syscall) []profiles.Syscall { return []profiles.Syscall{s} }

func profileOf(name string, abis ...profiles.ABISyscalls) *profiles.Profile {
	p := profiles.New(name)
	p.ABIs = abis
	p.Normalize()
	return p
}

func capsOf(p *profiles.Profile, caps ...profiles.Capability) *profiles.Profile {
	p.Capabilities = caps
	p.Normalize()
	return p
}

func granted(name string) profiles.Capability {
	return profiles.Capability{Name: name, Granted: true, Seen: profiles.Seen{Recordings: 1}}
}

func denied(name string) profiles.Capability {
	return profiles.Capability{Name: name, Denied: true, Seen: profiles.Seen{Recordings: 1}}
}

// base is what a small dynamically linked program does on x86_64.
var base = plain("arch_prctl", "brk", "close", "execve", "exit_group", "fstat", "futex", "getpid",
	"mmap", "mprotect", "munmap", "newfstatat", "openat", "read", "rt_sigaction", "rt_sigprocmask",
	"set_tid_address", "write")

// base32 is the same for a static i386 program.
var base32 = plain("brk", "execve", "exit_group", "getpid", "read", "set_thread_area", "write", "_llseek")
