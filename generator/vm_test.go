package generator

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/seccompvm"
)

// filterVM runs a compiled seccomp filter against seccomp_data in a BPF VM
// (internal/seccompvm).
type filterVM struct{ *seccompvm.VM }

func newFilterVM(t *testing.T, s *specs.LinuxSeccomp) *filterVM {
	t.Helper()
	f, err := Compile(s)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer f.Release()
	raw, err := ExportBPF(f)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return &filterVM{seccompvm.New(t, raw)}
}

// run returns the filter's verdict (SECCOMP_RET_*) for one syscall.
func (v *filterVM) run(t *testing.T, arch uint32, nr int, args ...uint64) uint32 {
	t.Helper()
	return v.Run(t, arch, nr, args...)
}

var (
	seccompData = seccompvm.Data
	verdict     = seccompvm.Verdict
)

const (
	auditArchX8664 = seccompvm.ArchX8664
	auditArchI386  = seccompvm.ArchI386
)
