package generator

import (
	"fmt"
	"math"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// spoSeccompSpec is the Security Profiles Operator's SeccompProfileSpec
// as tailor fills it: the seccomp JSON's fields that SPO carries.
type spoSeccompSpec struct {
	DefaultAction string       `json:"defaultAction"`
	Architectures []string     `json:"architectures,omitempty"`
	Syscalls      []spoSyscall `json:"syscalls,omitempty"`
}

type spoSyscall struct {
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet int32    `json:"errnoRet,omitempty"`
	Args     []spoArg `json:"args,omitempty"`
}

// spoArg is SPO's Arg. Its value and valueTwo are int64 with minimum 0
// in the CRD schema: a 64-bit value with the top bit set does not fit.
type spoArg struct {
	Index    int32  `json:"index"`
	Value    int64  `json:"value,omitempty"`
	ValueTwo int64  `json:"valueTwo,omitempty"`
	Op       string `json:"op"`
}

// spoActions and spoOps are the values SPO's CRD schema accepts.
var (
	spoActions = []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify}
	spoOps = []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
)

// SPOSeccomp returns a Security Profiles Operator SeccompProfile object
// (YAML) that enforces the profile. Its spec is made from the seccomp
// filter Seccomp generates for the same profile and options, compiled with
// libseccomp first, so the two allow the same syscalls with the same
// argument rules; where SPO cannot express a rule the object is narrower,
// never wider, and a note says so. name is the object's name; labels and
// annotations carry the profile's provenance.
func SPOSeccomp(p *profiles.Profile, name string, opts SeccompOptions) ([]byte, []Note, error) {
	if err := checkObjectName(name); err != nil {
		return nil, nil, fmt.Errorf("generate spo-seccomp: %w", err)
	}
	s, notes, err := Seccomp(p, opts)
	if err != nil {
		return nil, nil, err
	}
	f, err := Compile(s)
	if err != nil {
		return nil, nil, fmt.Errorf("validate generated filter: %w", err)
	}
	f.Release()
	spec, more, err := spoSeccomp(s)
	if err != nil {
		return nil, nil, fmt.Errorf("generate spo-seccomp: %w", err)
	}
	notes = append(notes, more...)
	out, err := marshalSPO("SeccompProfile", spoMetadata(p, name), spec)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, Note{Text: fmt.Sprintf("the Security Profiles Operator installs the object on every node as "+
		"<kubelet root>/seccomp/%s: reference it with tailor generate --format k8s --spo --name %s",
		spoSeccompLocalhostProfile(name), name)})
	return out, notes, nil
}

// spoSeccomp converts a generated seccomp filter to SPO's spec. A rule
// with an argument value SPO cannot hold is dropped when it allows (the
// call then meets the default action: narrower), and refused otherwise.
func spoSeccomp(s *specs.LinuxSeccomp) (spoSeccompSpec, []Note, error) {
	if !slices.Contains(spoActions, s.DefaultAction) {
		return spoSeccompSpec{}, nil, fmt.Errorf("default action %s is not one SPO accepts", s.DefaultAction)
	}
	if s.DefaultErrnoRet != nil && *s.DefaultErrnoRet != uint(unix.EPERM) {
		return spoSeccompSpec{}, nil, fmt.Errorf("SPO's SeccompProfile has no defaultErrnoRet (its %s default returns EPERM), "+
			"so a default errno of %d cannot be carried: use --default-action errno, kill or log, or the seccomp JSON "+
			"(--format seccomp) through localhostProfile %s/NAME.json", s.DefaultAction, *s.DefaultErrnoRet, K8sProfileDir)
	}
	spec := spoSeccompSpec{DefaultAction: string(s.DefaultAction)}
	for _, a := range s.Architectures {
		spec.Architectures = append(spec.Architectures, string(a))
	}
	type dropped struct {
		rule  specs.LinuxSyscall
		value uint64
	}
	var drops []dropped
	for i, rule := range s.Syscalls {
		out, tooBig, err := spoSyscallOf(rule)
		if err != nil {
			return spoSeccompSpec{}, nil, fmt.Errorf("syscalls[%d] (%s): %w", i, strings.Join(rule.Names, ", "), err)
		}
		if tooBig != nil {
			if rule.Action != specs.ActAllow {
				return spoSeccompSpec{}, nil, fmt.Errorf("syscalls[%d] (%s): argument value %#x is above SPO's maximum %#x, "+
					"and dropping a %s rule would change what the filter does", i, strings.Join(rule.Names, ", "),
					*tooBig, uint64(math.MaxInt64), rule.Action)
			}
			drops = append(drops, dropped{rule, *tooBig})
			continue
		}
		spec.Syscalls = append(spec.Syscalls, out)
	}
	allowed := map[string]bool{}
	for _, r := range spec.Syscalls {
		if r.Action == string(specs.ActAllow) {
			for _, n := range r.Names {
				allowed[n] = true
			}
		}
	}
	var notes []Note
	for _, d := range drops {
		for _, name := range d.rule.Names {
			text := fmt.Sprintf("the rule allowing it when %s is left out: SPO's argument values are int64 (at most %#x), "+
				"so %#x cannot be written; such calls meet the default action (%s) under this object, while the seccomp "+
				"JSON (--format seccomp) allows them", describeArgs(d.rule.Args), uint64(math.MaxInt64), d.value, s.DefaultAction)
			if !allowed[name] {
				text += "; no rule for it is left: the object does not allow it at all"
			}
			notes = append(notes, Note{Syscall: name, Text: text})
		}
	}
	return spec, notes, nil
}

// spoSyscallOf converts one rule; tooBig is the first argument value
// above math.MaxInt64, when there is one.
func spoSyscallOf(rule specs.LinuxSyscall) (out spoSyscall, tooBig *uint64, err error) {
	if !slices.Contains(spoActions, rule.Action) {
		return out, nil, fmt.Errorf("action %s is not one SPO accepts", rule.Action)
	}
	out = spoSyscall{Names: slices.Clone(rule.Names), Action: string(rule.Action)}
	if rule.ErrnoRet != nil {
		if *rule.ErrnoRet == 0 || *rule.ErrnoRet > math.MaxInt32 {
			return out, nil, fmt.Errorf("errnoRet %d cannot be written in SPO's errnoRet (1 to %d)", *rule.ErrnoRet, math.MaxInt32)
		}
		out.ErrnoRet = int32(*rule.ErrnoRet)
	}
	if len(rule.Args) > 6 {
		return out, nil, fmt.Errorf("%d argument conditions: SPO takes at most 6", len(rule.Args))
	}
	for _, a := range rule.Args {
		if !slices.Contains(spoOps, a.Op) {
			return out, nil, fmt.Errorf("operator %s is not one SPO accepts", a.Op)
		}
		if a.Index > 5 {
			return out, nil, fmt.Errorf("argument index %d: a syscall has 6 arguments", a.Index)
		}
		for _, v := range []uint64{a.Value, a.ValueTwo} {
			if v > math.MaxInt64 {
				return out, &v, nil
			}
		}
		out.Args = append(out.Args, spoArg{Index: int32(a.Index), Value: int64(a.Value), ValueTwo: int64(a.ValueTwo), Op: string(a.Op)})
	}
	return out, nil, nil
}

// describeArgs spells a rule's conditions for a note, e.g. "arg0 == 0x5".
func describeArgs(args []specs.LinuxSeccompArg) string {
	var parts []string
	for _, a := range args {
		switch a.Op {
		case specs.OpMaskedEqual:
			parts = append(parts, fmt.Sprintf("arg%d & %#x == %#x", a.Index, a.Value, a.ValueTwo))
		case specs.OpEqualTo:
			parts = append(parts, fmt.Sprintf("arg%d == %#x", a.Index, a.Value))
		default:
			parts = append(parts, fmt.Sprintf("arg%d %s %#x", a.Index, a.Op, a.Value))
		}
	}
	return strings.Join(parts, " and ")
}
