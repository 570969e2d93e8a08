package sink

import (
	"math/bits"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxComplementRules bounds how many rules one learned syscall may become
// when input rules refuse it with some arguments (see withInput).
const maxComplementRules = 256

// withInput adds the input's rules to sc, with oci-seccomp-bpf-hook's if:
// semantics: what the input allows is allowed too, and what it refuses
// (any action but allow) stays refused as the input says, even though
// the traced run made it.
//
// A syscall the input refuses unconditionally loses its learned allow.
// One it refuses only with some arguments (mkdir with mode 0777) keeps
// the learned allow for every other argument: libseccomp lets an
// unconditional rule of a syscall override its argument rules, so the
// learned allow is narrowed to the complement of the refusals' conditions
// (mode&0777 != 0777, as one rule per bit) and both sets of rules reach
// the filter. Where the complement is not expressible in a bounded number
// of rules, the learned allow is dropped, as oci-seccomp-bpf-hook drops
// every traced syscall its input names: refusing more, never less.
func withInput(sc, in *specs.LinuxSeccomp) {
	for _, a := range in.Architectures {
		if !slices.Contains(sc.Architectures, a) {
			sc.Architectures = append(sc.Architectures, a)
		}
	}
	// The conditions under which the input refuses each syscall: a nil
	// entry in the list is an unconditional refusal.
	refusals := map[string][][]specs.LinuxSeccompArg{}
	for _, r := range in.Syscalls {
		if r.Action == specs.ActAllow {
			continue
		}
		for _, n := range r.Names {
			refusals[n] = append(refusals[n], r.Args)
		}
	}
	var kept []specs.LinuxSyscall
	for _, r := range sc.Syscalls {
		plain := slices.Clone(r.Names)
		plain = slices.DeleteFunc(plain, func(n string) bool { return refusals[n] != nil })
		if len(plain) > 0 {
			rule := r
			rule.Names = plain
			kept = append(kept, rule)
		}
		for _, n := range r.Names {
			terms, ok := allowedBesides(refusals[n])
			if refusals[n] == nil || !ok {
				continue
			}
			for _, term := range terms {
				rule := r
				rule.Names = []string{n}
				rule.Args = append(slices.Clone(r.Args), term...)
				kept = append(kept, rule)
			}
		}
	}
	sc.Syscalls = append(kept, in.Syscalls...)
}

// allowedBesides is the complement of the refusals' conditions (each an
// AND of argument comparisons, the list an OR of them) as an OR of ANDs:
// the argument comparisons under which none of the refusals applies. ok
// is false when a refusal is unconditional (or uses a comparison that has
// no complement here) or the complement takes more than
// maxComplementRules rules.
func allowedBesides(refusals [][]specs.LinuxSeccompArg) (terms [][]specs.LinuxSeccompArg, ok bool) {
	terms = [][]specs.LinuxSeccompArg{{}}
	for _, cond := range refusals {
		// NOT (a1 AND a2 ...) = NOT a1 OR NOT a2 ...
		var not []specs.LinuxSeccompArg
		never := false // the refusal can never apply
		for _, a := range cond {
			c, always, ok := complement(a)
			if !ok {
				return nil, false
			}
			if always {
				never = true
				break
			}
			not = append(not, c...)
		}
		if never {
			continue
		}
		if len(not) == 0 {
			return nil, false // unconditional
		}
		if len(terms)*len(not) > maxComplementRules {
			return nil, false
		}
		var next [][]specs.LinuxSeccompArg
		for _, t := range terms {
			for _, c := range not {
				next = append(next, append(slices.Clone(t), c))
			}
		}
		terms = next
	}
	return terms, true
}

// complement is the negation of one comparison as an OR of comparisons.
// always says the comparison never holds (its negation always does); an
// empty list with always false says it always holds.
func complement(a specs.LinuxSeccompArg) (or []specs.LinuxSeccompArg, always, ok bool) {
	if a.Index >= 6 {
		return nil, false, false
	}
	with := func(op specs.LinuxSeccompOperator, v, v2 uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: a.Index, Op: op, Value: v, ValueTwo: v2}
	}
	switch a.Op {
	case specs.OpEqualTo:
		return []specs.LinuxSeccompArg{with(specs.OpNotEqual, a.Value, 0)}, false, true
	case specs.OpNotEqual:
		return []specs.LinuxSeccompArg{with(specs.OpEqualTo, a.Value, 0)}, false, true
	case specs.OpLessThan:
		return []specs.LinuxSeccompArg{with(specs.OpGreaterEqual, a.Value, 0)}, false, true
	case specs.OpLessEqual:
		return []specs.LinuxSeccompArg{with(specs.OpGreaterThan, a.Value, 0)}, false, true
	case specs.OpGreaterThan:
		return []specs.LinuxSeccompArg{with(specs.OpLessEqual, a.Value, 0)}, false, true
	case specs.OpGreaterEqual:
		return []specs.LinuxSeccompArg{with(specs.OpLessThan, a.Value, 0)}, false, true
	case specs.OpMaskedEqual:
		// arg&mask == want fails exactly when one bit of the mask differs
		// from want's: one comparison per bit.
		mask, want := a.Value, a.ValueTwo
		if want&^mask != 0 {
			return nil, true, true
		}
		for m := mask; m != 0; m &= m - 1 {
			bit := uint64(1) << bits.TrailingZeros64(m)
			or = append(or, with(specs.OpMaskedEqual, bit, bit&^want))
		}
		return or, false, true
	}
	return nil, false, false
}
