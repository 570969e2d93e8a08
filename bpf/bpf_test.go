package bpf

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/profiles"
)

// TestGeneratedHeaderCurrent checks that the committed profiles.h is what
// gennr makes from package profiles and this libseccomp: the BPF program
// and the profiles agree on ABIs, limits, argument rules and every syscall
// number.
func TestGeneratedHeaderCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "profiles.h")
	if msg, err := exec.Command("go", "run", "./internal/gennr", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("gennr: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("profiles.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("profiles.h is stale: run `make generate`\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestObjectMatchesProfiles checks that the committed object and its Go
// (bpf2go's output) were built from the current profiles.h: a header
// regenerated without `make generate` rebuilding the object fails here.
func TestObjectMatchesProfiles(t *testing.T) {
	abis := map[tailorAbi]profiles.ABI{
		tailorAbiABI_X8664: profiles.ABIX8664,
		tailorAbiABI_X86:   profiles.ABIX86,
		tailorAbiABI_X32:   profiles.ABIX32,
	}
	if numABIs != len(profiles.ABIs) || len(abis) != len(profiles.ABIs) {
		t.Errorf("the object has %d ABIs, profiles.ABIs %d", numABIs, len(profiles.ABIs))
	}
	for i, a := range abis {
		if a.Index() != int(i) {
			t.Errorf("ABI %s: index %d in the object, %d in profiles.ABIs", a, i, a.Index())
		}
	}
	if tailorLimitMAX_NR != profiles.MaxSyscallNr {
		t.Errorf("MAX_NR = %d, profiles.MaxSyscallNr = %d", tailorLimitMAX_NR, profiles.MaxSyscallNr)
	}
	if bits := len(tailorBitmap{}.W) * 64; bits != profiles.MaxSyscallNr {
		t.Errorf("the syscall bitmap holds %d numbers, profiles.MaxSyscallNr = %d", bits, profiles.MaxSyscallNr)
	}
	if maxArgValues != profiles.MaxArgValues {
		t.Errorf("MAX_ARG_VALUES = %d, profiles.MaxArgValues = %d", maxArgValues, profiles.MaxArgValues)
	}
}

// TestMapSizes checks the map sizes the loader relies on, read from the
// object itself.
func TestMapSizes(t *testing.T) {
	spec, err := loadTailor()
	if err != nil {
		t.Fatal(err)
	}
	containers := spec.Maps[tailorMapContainers].MaxEntries
	if containers == 0 {
		t.Fatal("the containers map has no entries")
	}
	if got, want := spec.Maps[tailorMapSyscalls].MaxEntries, containers*uint32(numABIs); got != want {
		t.Errorf("syscalls map: %d entries, want one bitmap per container and ABI (%d)", got, want)
	}
	if got := spec.Maps[tailorMapMntns].MaxEntries; got != containers {
		t.Errorf("mntns map: %d entries, want one per container (%d)", got, containers)
	}
}

// TestLoadCapFallback checks that Load falls back to the next capability
// hook when the best one does not load, and names every failure when none
// does.
func TestLoadCapFallback(t *testing.T) {
	needRoot(t)
	orig := capHooks
	t.Cleanup(func() { capHooks = orig })
	missing := struct{ prog, name string }{"no_such_program", "tp_btf/no_such_hook"}
	capHooks = append([]struct{ prog, name string }{missing}, orig...)
	tr := loadTracer(t)
	if tr.CapHook != orig[0].name {
		t.Errorf("CapHook = %q, want the fallback %q", tr.CapHook, orig[0].name)
	}
	capHooks = []struct{ prog, name string }{missing}
	if tr, err := Load(); err == nil {
		tr.Close()
		t.Fatal("Load without a capability hook that loads succeeded")
	} else if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), missing.name) {
		t.Errorf("Load = %v, want ErrUnsupported naming %s", err, missing.name)
	}
}

// TestLoad loads and attaches the recorder on this kernel.
func TestLoad(t *testing.T) {
	tr := loadTracer(t)
	if tr.CapHook == "" {
		t.Fatal("no capability hook attached")
	}
	t.Logf("capability checks recorded from %s", tr.CapHook)
	if err := tr.Register(tr.Capacity(), 4026531998, 0, false); !errors.Is(err, ErrCapacity) {
		t.Errorf("Register(Capacity()) = %v, want ErrCapacity", err)
	}
	if err := tr.Register(3, 4026531999, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(4, 4026531999, 0, false); err == nil {
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
	if err := tr.Register(5, 4026531999, 0, true); err != nil {
		t.Fatalf("the namespace was not freed: %v", err)
	}
}

// TestFlushWakesReader: Flush makes a ReadEvent blocked on an empty ring
// return ErrFlushed (the tracer's handshake with its event reader when a
// container's last task is gone).
func TestFlushWakesReader(t *testing.T) {
	tr := loadTracer(t)
	got := make(chan error, 1)
	go func() {
		for {
			_, err := tr.ReadEvent()
			if err != nil {
				got <- err
				return
			}
		}
	}()
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, ErrFlushed) {
			t.Fatalf("ReadEvent after Flush = %v, want ErrFlushed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadEvent still blocked 10 s after Flush")
	}
	if n := tr.Pending(); n != 0 {
		t.Errorf("Pending = %d after the reader returned ErrFlushed", n)
	}
}
