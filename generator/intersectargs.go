package generator

import (
	"fmt"
	"math"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file is the argument algebra of Intersect: a rule's conditions as
// runc loads them, and the AND of two of them written as one rule.
//
// Two facts of libseccomp (2.5.4, checked by the tests) shape it. A rule
// cannot hold two comparisons of one argument ("two checks on same
// syscall argument"), and runc, like Compile, then loads each comparison
// of such a rule as a rule of its own: the comparisons are ORed. And on a
// 32-bit architecture (x86) libseccomp compares only the low 32 bits of
// the argument with the low 32 bits of the value and mask. So the AND of
// two comparisons of one argument is kept only where one comparison says
// exactly the same at both widths; otherwise the pair is dropped, which
// refuses more, never less. A third, that libseccomp compiles some sets of
// rules wider than written, is sturdy's.

// maxArg is the highest argument index a seccomp rule can test.
const maxArg = 5

// cond is one comparison in normal form: EQ is held as MASKED_EQ with
// every mask bit set, and a MASKED_EQ value has no bit outside its mask.
type cond struct {
	index uint
	op    specs.LinuxSeccompOperator // never OpEqualTo
	mask  uint64                     // OpMaskedEqual only
	value uint64
}

// term is the AND of comparisons, at most one per argument, sorted by
// argument index. An empty term holds for every argument value.
type term []cond

// normalize reads one comparison of an allowing rule. always and never
// report comparisons that hold for every or no value; never is also
// reported, conservatively, for a MASKED_EQ value with bits outside its
// mask (libseccomp masks such a value on some architectures, not others).
func normalize(a specs.LinuxSeccompArg) (c cond, always, never bool, err error) {
	if a.Index > maxArg {
		return cond{}, false, false, fmt.Errorf("argument index %d (a syscall has arguments 0 to %d)", a.Index, maxArg)
	}
	c = cond{index: a.Index, op: a.Op, value: a.Value}
	switch a.Op {
	case specs.OpEqualTo:
		c.op, c.mask = specs.OpMaskedEqual, math.MaxUint64
	case specs.OpMaskedEqual:
		c.mask, c.value = a.Value, a.ValueTwo
		switch {
		case c.value&^c.mask != 0:
			return c, false, true, nil
		case c.mask == 0:
			return c, true, false, nil
		}
	case specs.OpLessEqual:
		always = a.Value == math.MaxUint64
	case specs.OpGreaterEqual:
		always = a.Value == 0
	case specs.OpLessThan:
		never = a.Value == 0
	case specs.OpGreaterThan:
		never = a.Value == math.MaxUint64
	case specs.OpNotEqual:
	default:
		return cond{}, false, false, fmt.Errorf("argument %d: unsupported operator %q", a.Index, a.Op)
	}
	return c, always, never, nil
}

// ruleTerms returns the terms one rule allows, ORed, as runc loads it:
// all its comparisons ANDed, or each alone when two test one argument.
func ruleTerms(args []specs.LinuxSeccompArg) ([]term, error) {
	seen := map[uint]bool{}
	split := false
	for _, a := range args {
		split = split || seen[a.Index]
		seen[a.Index] = true
	}
	var out []term
	var t term
	never := false
	for _, a := range args {
		c, always, nv, err := normalize(a)
		if err != nil {
			return nil, err
		}
		switch {
		case split && always:
			return []term{{}}, nil
		case split && !nv:
			out = append(out, term{c})
		case !split && !always:
			never = never || nv
			t = append(t, c)
		}
	}
	if split {
		return out, nil
	}
	if never {
		return nil, nil
	}
	slices.SortFunc(t, func(a, b cond) int { return int(a.index) - int(b.index) })
	return []term{t}, nil
}

// andResult says what the AND of two comparisons of one argument is.
type andResult int

const (
	andOne           andResult = iota // one comparison says it exactly
	andUnsatisfiable                  // no value satisfies both
	andInexpressible                  // no one comparison says it at both widths
)

// and is the AND of two comparisons of one argument.
func and(a, b cond) (cond, andResult) {
	if a == b {
		return a, andOne
	}
	if a.op == specs.OpMaskedEqual && b.op == specs.OpMaskedEqual {
		// (x&m1)==v1 && (x&m2)==v2 needs the bits both masks test to
		// agree; then it is one test of the bits either mask tests. Masks
		// and values truncate bit by bit, so this holds at 32 bits too.
		if (a.value^b.value)&a.mask&b.mask != 0 {
			return cond{}, andUnsatisfiable
		}
		return cond{index: a.index, op: specs.OpMaskedEqual, mask: a.mask | b.mask, value: a.value | b.value}, andOne
	}
	if isEq(b) {
		a, b = b, a
	}
	if isEq(a) {
		// x == v and another test of x: x == v when v passes the test.
		return decide(a, holds(b, a.value), holds32(b, uint32(a.value)))
	}
	if b.op == specs.OpNotEqual {
		a, b = b, a
	}
	if a.op == specs.OpNotEqual {
		if b.op == specs.OpNotEqual {
			return cond{}, andInexpressible
		}
		// x != n and a test that n fails: the test alone.
		if !holds(b, a.value) && !holds32(b, uint32(a.value)) {
			return b, andOne
		}
		return cond{}, andInexpressible
	}
	if a.op == specs.OpMaskedEqual || b.op == specs.OpMaskedEqual ||
		a.value > math.MaxUint32 || b.value > math.MaxUint32 {
		return cond{}, andInexpressible
	}
	// Two bounds, on values the same at both widths.
	aUp, bUp := isUpper(a.op), isUpper(b.op)
	switch {
	case aUp && bUp:
		if upperExclusive(b) < upperExclusive(a) {
			return b, andOne
		}
		return a, andOne
	case !aUp && !bUp:
		if lowerInclusive(b) > lowerInclusive(a) {
			return b, andOne
		}
		return a, andOne
	}
	up, low := a, b
	if !aUp {
		up, low = b, a
	}
	if lowerInclusive(low) >= upperExclusive(up) {
		return cond{}, andUnsatisfiable
	}
	return cond{}, andInexpressible // a range: two comparisons of one argument
}

// decide keeps c when the test held at both widths, drops the pair when
// it held at neither, and calls it inexpressible otherwise.
func decide(c cond, at64, at32 bool) (cond, andResult) {
	switch {
	case at64 && at32:
		return c, andOne
	case !at64 && !at32:
		return cond{}, andUnsatisfiable
	}
	return cond{}, andInexpressible
}

func isEq(c cond) bool { return c.op == specs.OpMaskedEqual && c.mask == math.MaxUint64 }

func isUpper(op specs.LinuxSeccompOperator) bool {
	return op == specs.OpLessThan || op == specs.OpLessEqual
}

// upperExclusive is the least value an upper bound refuses (values fit in
// 32 bits, so value+1 cannot overflow).
func upperExclusive(c cond) uint64 {
	if c.op == specs.OpLessEqual {
		return c.value + 1
	}
	return c.value
}

// lowerInclusive is the least value a lower bound allows.
func lowerInclusive(c cond) uint64 {
	if c.op == specs.OpGreaterThan {
		return c.value + 1
	}
	return c.value
}

// holds is c on a 64-bit architecture.
func holds(c cond, x uint64) bool {
	switch c.op {
	case specs.OpNotEqual:
		return x != c.value
	case specs.OpLessThan:
		return x < c.value
	case specs.OpLessEqual:
		return x <= c.value
	case specs.OpGreaterEqual:
		return x >= c.value
	case specs.OpGreaterThan:
		return x > c.value
	}
	return x&c.mask == c.value
}

// holds32 is c on a 32-bit architecture, where libseccomp compares only
// the low 32 bits of its value and mask.
func holds32(c cond, x uint32) bool {
	lo := cond{index: c.index, op: c.op, mask: uint64(uint32(c.mask)), value: uint64(uint32(c.value))}
	return holds(lo, uint64(x))
}

// andTerms is the AND of two terms as one term. unsat reports that no
// argument values satisfy both; lossy that a comparison pair could not be
// written as one (the pair is then dropped).
func andTerms(a, b term) (t term, unsat, lossy bool) {
	t = make(term, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].index < b[j].index:
			t = append(t, a[i])
			i++
		case i == len(a) || b[j].index < a[i].index:
			t = append(t, b[j])
			j++
		default:
			c, r := and(a[i], b[j])
			switch r {
			case andUnsatisfiable:
				return nil, true, false
			case andInexpressible:
				return nil, false, true
			}
			t = append(t, c)
			i++
			j++
		}
	}
	return t, false, false
}

// sturdy returns the terms of one syscall that libseccomp (2.5.4)
// compiles as written, and reports whether it left any out. libseccomp
// builds one decision tree per syscall, and where rules test different
// arguments with a bound (LT, LE, GE, GT) or NE, or with a value above 32
// bits, a failed comparison can jump to a test of the wrong argument or
// word: the filter then allows what no rule allows, or libseccomp never
// returns (the tests show cases, one checked in the kernel). Two shapes
// compile as written: EQ and MASKED_EQ of 32-bit values, on any
// arguments (what tailor generates), and rules of one comparison of one
// argument with 32-bit values (Docker's socket rules). Otherwise only the
// terms of the first shape stay.
func sturdy(terms []term) ([]term, bool) {
	plain := func(c cond) bool { return c.op == specs.OpMaskedEqual && c.value <= math.MaxUint32 }
	allPlain, oneArg := true, true
	arg := -1
	for _, t := range terms {
		for _, c := range t {
			allPlain = allPlain && plain(c)
			oneArg = oneArg && len(t) == 1 && (arg < 0 || c.index == uint(arg)) && c.value <= math.MaxUint32
			arg = int(c.index)
		}
	}
	if allPlain || oneArg {
		return terms, false
	}
	return slices.DeleteFunc(slices.Clone(terms), func(t term) bool {
		return slices.ContainsFunc(t, func(c cond) bool { return !plain(c) })
	}), true
}

// key identifies a term for deduplication.
func (t term) key() string {
	var b strings.Builder
	for _, c := range t {
		fmt.Fprintf(&b, "%d %s %x %x;", c.index, c.op, c.mask, c.value)
	}
	return b.String()
}

// covers reports whether t holds wherever u does: every comparison of t
// is one of u's.
func (t term) covers(u term) bool {
	for _, c := range t {
		if !slices.Contains(u, c) {
			return false
		}
	}
	return true
}

// simplify drops terms another term covers (an empty term covers all).
// terms has no duplicates.
func simplify(terms []term) []term {
	var out []term
	for i, t := range terms {
		covered := false
		for j, u := range terms {
			if i != j && u.covers(t) && (len(u) < len(t) || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, t)
		}
	}
	return out
}

// args writes a term as OCI seccomp arguments.
func (t term) args() []specs.LinuxSeccompArg {
	var out []specs.LinuxSeccompArg
	for _, c := range t {
		a := specs.LinuxSeccompArg{Index: c.index, Op: c.op, Value: c.value}
		switch {
		case isEq(c):
			a.Op = specs.OpEqualTo
		case c.op == specs.OpMaskedEqual:
			a.Value, a.ValueTwo = c.mask, c.value // Docker's spelling: the mask first
		}
		out = append(out, a)
	}
	return out
}
