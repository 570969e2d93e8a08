package seccompjson

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
)

// ruleValues converts an allow rule's argument conditions back into the
// values tailor records for the syscall (profiles.ArgRules), when they have
// one of the shapes a value can stand for:
//   - a condition on the rule's argument: EQ value, or MASKED_EQ whose mask
//     is the rule's mask (Docker's and tailor's spelling: value is the mask,
//     valueTwo the expected bits);
//   - socket: EQ domain on argument 0, optionally with MASKED_EQ 0xf type (or
//     EQ type) on argument 1; without it every type of the domain.
//
// ok is false for anything else: the caller then allows any argument.
func ruleValues(rule profiles.ArgRule, args []specs.LinuxSeccompArg) (values []uint64, ok bool) {
	if rule.Syscall == "socket" {
		return socketValues(args)
	}
	if len(args) != 1 || int(args[0].Index) != rule.Arg {
		return nil, false
	}
	a := args[0]
	switch a.Op {
	case specs.OpEqualTo:
		if a.Value&^rule.Mask != 0 {
			return nil, false
		}
		return []uint64{a.Value}, true
	case specs.OpMaskedEqual:
		if a.Value != rule.Mask {
			return nil, false
		}
		return []uint64{a.ValueTwo & rule.Mask}, true
	}
	return nil, false
}

func socketValues(args []specs.LinuxSeccompArg) ([]uint64, bool) {
	var domain, typ *specs.LinuxSeccompArg
	for i := range args {
		a := &args[i]
		switch {
		case a.Index == 0 && domain == nil && a.Op == specs.OpEqualTo:
			domain = a
		case a.Index == 1 && typ == nil && a.Op == specs.OpMaskedEqual && a.Value == profiles.SocketTypeMask:
			typ = &specs.LinuxSeccompArg{Index: 1, Value: a.ValueTwo & profiles.SocketTypeMask}
		case a.Index == 1 && typ == nil && a.Op == specs.OpEqualTo && a.Value <= profiles.SocketTypeMask:
			// An exact type (no SOCK_NONBLOCK or SOCK_CLOEXEC): a subset
			// of what the recorded value stands for.
			typ = a
		default:
			return nil, false
		}
	}
	if domain == nil || domain.Value > 0xffffffff {
		return nil, false
	}
	if typ != nil {
		return []uint64{profiles.SocketValue(domain.Value, typ.Value)}, true
	}
	var out []uint64
	for t := range uint64(profiles.SocketTypeMask + 1) {
		out = append(out, profiles.SocketValue(domain.Value, t))
	}
	return out, true
}
