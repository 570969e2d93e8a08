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
//   - socket: EQ domain (or LT/LE a small bound) on argument 0, optionally
//     with MASKED_EQ 0xf type (or EQ type) on argument 1; without it every
//     type of the domain.
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

// maxDomain bounds the socket domains a range condition (LT, LE) may
// stand for; AF_MAX is 46 in Linux 6.x.
const maxDomain = 64

func socketValues(args []specs.LinuxSeccompArg) ([]uint64, bool) {
	var domains []uint64
	var typ *uint64
	for _, a := range args {
		switch {
		case a.Index == 0 && domains == nil:
			domains = domainRange(a)
			if domains == nil {
				return nil, false
			}
		case a.Index == 1 && typ == nil && a.Op == specs.OpMaskedEqual && a.Value == profiles.SocketTypeMask:
			t := a.ValueTwo & profiles.SocketTypeMask
			typ = &t
		case a.Index == 1 && typ == nil && a.Op == specs.OpEqualTo && a.Value <= profiles.SocketTypeMask:
			// An exact type (no SOCK_NONBLOCK or SOCK_CLOEXEC): a subset
			// of what the recorded value stands for.
			t := a.Value
			typ = &t
		default:
			return nil, false
		}
	}
	if domains == nil {
		return nil, false
	}
	var out []uint64
	for _, d := range domains {
		if typ != nil {
			out = append(out, profiles.SocketValue(d, *typ))
			continue
		}
		for t := range uint64(profiles.SocketTypeMask + 1) {
			out = append(out, profiles.SocketValue(d, t))
		}
	}
	return out, true
}

// domainRange is the socket domains a condition on argument 0 allows:
// EQ d, or LT/LE a small bound (Docker's default allows domains below 3
// with one LT rule).
func domainRange(a specs.LinuxSeccompArg) []uint64 {
	var end uint64 // exclusive
	switch a.Op {
	case specs.OpEqualTo:
		if a.Value > 0xffffffff {
			return nil
		}
		return []uint64{a.Value}
	case specs.OpLessThan:
		end = a.Value
	case specs.OpLessEqual:
		end = a.Value + 1
	default:
		return nil
	}
	if end == 0 || end > maxDomain {
		return nil
	}
	var out []uint64
	for d := range end {
		out = append(out, d)
	}
	return out
}
