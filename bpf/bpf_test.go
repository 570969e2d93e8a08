package bpf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSyscallNumbersCurrent checks that the committed syscall_nr.h is what
// gennr makes from this libseccomp: the BPF program and the profiles agree
// on every number.
func TestSyscallNumbersCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "syscall_nr.h")
	if msg, err := exec.Command("go", "run", "./internal/gennr", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("gennr: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("syscall_nr.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("syscall_nr.h is stale: run `make generate`\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestLoad loads and attaches the recorder on this kernel.
func TestLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("loading BPF needs root, and CI runs as root")
		}
		t.Skip("loading BPF needs root")
	}
	tr, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.CapHook == "" {
		t.Fatal("no capability hook attached")
	}
	t.Logf("capability checks recorded from %s", tr.CapHook)
	if err := tr.Register(3, 4026531999, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(4, 4026531999, false); err == nil {
		t.Error("a mount namespace was registered twice")
	}
	r, err := tr.Drain(3)
	if err != nil {
		t.Fatal(err)
	}
	for abi, s := range r.Syscalls {
		if len(s) != 0 {
			t.Errorf("ABI %d: a fresh container has syscalls %v", abi, s)
		}
	}
	if err := tr.Free(3); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(5, 4026531999, true); err != nil {
		t.Fatalf("the namespace was not freed: %v", err)
	}
}
