package generator

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// Compile builds the libseccomp filter a runtime would load for s, the way
// runc does: the native architecture plus the listed ones, rules whose
// action equals the default skipped, and conditions on the same argument
// split into separate (ORed) rules. Unlike runc it refuses syscall names
// libseccomp does not know, so that a typo cannot silently widen nothing.
// The caller releases the filter.
func Compile(s *specs.LinuxSeccomp) (*libseccomp.ScmpFilter, error) {
	if s == nil {
		return nil, errors.New("compile seccomp: no filter")
	}
	def, err := scmpAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp: defaultAction: %w", err)
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp: %w", err)
	}
	if err := addRules(f, s, def); err != nil {
		f.Release()
		return nil, fmt.Errorf("compile seccomp: %w", err)
	}
	return f, nil
}

func addRules(f *libseccomp.ScmpFilter, s *specs.LinuxSeccomp, def libseccomp.ScmpAction) error {
	for _, a := range s.Architectures {
		arch, err := scmpArch(a)
		if err != nil {
			return fmt.Errorf("architecture %q: %w", a, err)
		}
		if err := f.AddArch(arch); err != nil {
			return fmt.Errorf("add architecture %q: %w", a, err)
		}
	}
	for i, rule := range s.Syscalls {
		act, err := scmpAction(rule.Action, rule.ErrnoRet)
		if err != nil {
			return fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if act == def {
			continue // libseccomp refuses a rule that repeats the default
		}
		conds, err := conditions(rule.Args)
		if err != nil {
			return fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		for _, name := range rule.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				return fmt.Errorf("syscalls[%d]: unknown syscall %q: %w", i, name, err)
			}
			if err := addRule(f, nr, act, conds); err != nil {
				return fmt.Errorf("syscalls[%d]: %s: %w", i, name, err)
			}
		}
	}
	return nil
}

func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, conds [][]libseccomp.ScmpCondition) error {
	if len(conds) == 0 {
		return f.AddRule(nr, act)
	}
	for _, c := range conds {
		if err := f.AddRuleConditional(nr, act, c); err != nil {
			return err
		}
	}
	return nil
}

// conditions returns the condition sets of one rule: one set when every
// condition is on a different argument (ANDed), else one set per
// condition, as runc does (libseccomp cannot AND two conditions on one
// argument).
func conditions(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var all []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	split := false
	for _, a := range args {
		op, err := scmpOp(a.Op)
		if err != nil {
			return nil, err
		}
		vals := []uint64{a.Value}
		if a.ValueTwo != 0 || a.Op == specs.OpMaskedEqual {
			vals = append(vals, a.ValueTwo)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, vals...)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", a.Index, err)
		}
		split = split || seen[a.Index]
		seen[a.Index] = true
		all = append(all, c)
	}
	if !split {
		return [][]libseccomp.ScmpCondition{all}, nil
	}
	var out [][]libseccomp.ScmpCondition
	for _, c := range all {
		out = append(out, []libseccomp.ScmpCondition{c})
	}
	return out, nil
}

// scmpArch maps a runtime-spec architecture (SCMP_ARCH_X86_64) to
// libseccomp's (amd64): the ABIs tailor records first, then libseccomp's
// own names for the others.
func scmpArch(a specs.Arch) (libseccomp.ScmpArch, error) {
	if abi, ok := profiles.ABIFromOCIArch(a); ok {
		return abi.ScmpArch(), nil
	}
	name := strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_"))
	if name == "aarch64" {
		name = "arm64"
	}
	return libseccomp.GetArchFromString(name)
}

func scmpAction(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
	case specs.ActErrno, specs.ActTrace:
		ret := uint(unix.EPERM)
		if errnoRet != nil {
			ret = *errnoRet
		}
		base := libseccomp.ActErrno
		if a == specs.ActTrace {
			base = libseccomp.ActTrace
		}
		return base.SetReturnCode(int16(ret)), nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported action %q", a)
}

func scmpOp(op specs.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, error) {
	switch op {
	case specs.OpNotEqual:
		return libseccomp.CompareNotEqual, nil
	case specs.OpLessThan:
		return libseccomp.CompareLess, nil
	case specs.OpLessEqual:
		return libseccomp.CompareLessOrEqual, nil
	case specs.OpEqualTo:
		return libseccomp.CompareEqual, nil
	case specs.OpGreaterEqual:
		return libseccomp.CompareGreaterEqual, nil
	case specs.OpGreaterThan:
		return libseccomp.CompareGreater, nil
	case specs.OpMaskedEqual:
		return libseccomp.CompareMaskedEqual, nil
	}
	return libseccomp.CompareInvalid, fmt.Errorf("unsupported operator %q", op)
}

// ExportBPF returns the filter's classic BPF program as the kernel would
// receive it: struct sock_filter entries in native byte order.
func ExportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("tailor-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	file := os.NewFile(uintptr(fd), "tailor-seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	return data, nil
}
