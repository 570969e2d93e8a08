package generator

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
)

// TestIntersectNeverWider intersects random filters and checks the result
// against a plain reading of both (refAllows), on both widths: as written
// it allows nothing one of them refuses and, where no note says a pair
// was dropped, everything both allow; as libseccomp compiles it (the BPF
// VM) it allows nothing one of them refuses.
//
// The compiled check runs on filters whose rules test one argument, with
// values of 32 bits. libseccomp 2.5.4 miscompiles some others, wider than
// written: ORed rules that test two arguments with different comparisons
// of the first (it then tests the wrong argument; (a0 > 1<<32|2 && a1 <=
// 0xffffffff) || a0 <= 255 lets personality(0xfffffff2, 0) through, in
// the kernel too), and bounds above 32 bits next to other bounds (a0 < 3
// || a0 < 16 || a0 >= 1<<32|2 lets 16 through). That is a filter's own
// problem, the engine's as much as tailor's: generated filters test
// arguments with EQ and MASKED_EQ only, and Docker's default tests one
// argument per rule with 32-bit values.
func TestIntersectNeverWider(t *testing.T) {
	values := []uint64{0, 1, 2, 3, 5, 8, 0x10, 0x12, 0xff, 0xffffffff, 1 << 32, 1<<32 | 2, math.MaxUint64}
	masks := []uint64{1, 3, 0xf, 0xf0, 0xff, 0xffffffff, 1<<32 | 0xf, math.MaxUint64}
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpEqualTo, specs.OpMaskedEqual, specs.OpMaskedEqual,
		specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpGreaterEqual, specs.OpGreaterThan}
	r := rand.New(rand.NewPCG(9, 4))
	pick := func(s []uint64) uint64 { return s[r.IntN(len(s))] }
	randomFilter := func(args int) *specs.LinuxSeccomp {
		def, act := specs.ActErrno, specs.ActAllow
		if r.IntN(4) == 0 {
			def, act = specs.ActAllow, specs.ActErrno // a denylist
		}
		f := filterOf(def)
		for range r.IntN(5) {
			rule := specs.LinuxSyscall{Names: []string{"personality"}, Action: act}
			for range r.IntN(3) {
				a := specs.LinuxSeccompArg{Index: uint(r.IntN(args)), Op: ops[r.IntN(len(ops))], Value: pick(values)}
				if a.Op == specs.OpMaskedEqual {
					a.Value = pick(masks)
					a.ValueTwo = pick(values) & a.Value
				}
				rule.Args = append(rule.Args, a)
			}
			f.Syscalls = append(f.Syscalls, rule)
		}
		return f
	}
	fits32 := func(fs ...*specs.LinuxSeccomp) bool {
		for _, f := range fs {
			for _, rule := range f.Syscalls {
				for _, a := range rule.Args {
					if a.Value > math.MaxUint32 && !(a.Op == specs.OpMaskedEqual && a.Value == math.MaxUint64) || a.ValueTwo > math.MaxUint32 {
						return false
					}
				}
			}
		}
		return true
	}
	for i := range 4000 {
		args := 1 + i%2
		p, e := randomFilter(args), randomFilter(args)
		in, err := IntersectFilters(p, e)
		if err != nil {
			t.Fatal(err)
		}
		vm := newFilterVM(t, in.Filter)
		exact := !slices.ContainsFunc(in.Notes, func(n Note) bool {
			return strings.Contains(n.Text, "could not write") || strings.Contains(n.Text, "cannot say") ||
				strings.Contains(n.Text, "libseccomp can compile")
		})
		exact32 := exact && fits32(p, e)
		for _, pr := range boundaryProbes(p, e, in.Filter) {
			nr, _ := pr.abi.SyscallNr(pr.name)
			arch, wide := uint32(auditArchX8664), true
			if pr.abi == profiles.ABIX86 {
				arch, wide = auditArchI386, false
			}
			v := verdict(vm.run(t, arch, nr, pr.args...))
			loaded := v == "allow" || v == "log"
			both := refAllows(p, wide, pr.args) && refAllows(e, wide, pr.args)
			written := refAllows(in.Filter, wide, pr.args)
			if loaded && !both || written && !both || (exact && wide || exact32) && both && !written {
				t.Fatalf("case %d: %s personality(%#x): profile %v, engine %v, intersection %v (loaded %v)\n"+
					"profile %+v\nengine %+v\nresult %+v\nnotes %v", i, pr.abi, pr.args, refAllows(p, wide, pr.args),
					refAllows(e, wide, pr.args), written, loaded, p, e, in.Filter, in.Notes)
			}
		}
	}
}

// refAllows reads a filter of allow rules under a refusing default, or of
// refusing rules under an allowing one, for personality(args) on a 64-bit
// (wide) or 32-bit architecture, the way runc loads it: a rule with two
// comparisons of one argument is one rule per comparison, and on 32 bits
// only the low halves of the argument, value and mask are compared.
func refAllows(f *specs.LinuxSeccomp, wide bool, args []uint64) bool {
	low := func(x uint64) uint64 {
		if wide {
			return x
		}
		return x & math.MaxUint32
	}
	test := func(a specs.LinuxSeccompArg) bool {
		x, v := low(args[a.Index]), low(a.Value)
		switch a.Op {
		case specs.OpEqualTo:
			return x == v
		case specs.OpNotEqual:
			return x != v
		case specs.OpLessThan:
			return x < v
		case specs.OpLessEqual:
			return x <= v
		case specs.OpGreaterEqual:
			return x >= v
		case specs.OpGreaterThan:
			return x > v
		case specs.OpMaskedEqual:
			return x&v == low(a.ValueTwo)
		}
		panic(a.Op)
	}
	matches := func(rule specs.LinuxSyscall) bool {
		seen := map[uint]bool{}
		split := false
		for _, a := range rule.Args {
			split = split || seen[a.Index]
			seen[a.Index] = true
		}
		if split {
			return slices.ContainsFunc(rule.Args, test)
		}
		for _, a := range rule.Args {
			if !test(a) {
				return false
			}
		}
		return true
	}
	allowing := func(a specs.LinuxSeccompAction) bool { return a == specs.ActAllow || a == specs.ActLog }
	for _, rule := range f.Syscalls {
		if slices.Contains(rule.Names, "personality") && matches(rule) && allowing(rule.Action) != allowing(f.DefaultAction) {
			return allowing(rule.Action)
		}
	}
	return allowing(f.DefaultAction)
}

// boundaryProbes calls personality with, for each of its first two
// arguments, every value the filters compare it with, its neighbours, and
// the value with every bit its mask ignores set, on both architectures.
func boundaryProbes(filters ...*specs.LinuxSeccomp) []probe {
	var vals [2][]uint64
	add := func(i uint, v ...uint64) {
		for _, x := range v {
			if !slices.Contains(vals[i], x) {
				vals[i] = append(vals[i], x)
			}
		}
	}
	for i := range vals {
		add(uint(i), 0, math.MaxUint64, 1<<32)
	}
	for _, f := range filters {
		for _, r := range f.Syscalls {
			for _, a := range r.Args {
				v := a.Value
				if a.Op == specs.OpMaskedEqual {
					v = a.ValueTwo
					add(a.Index, v|^a.Value, v|^a.Value&0xffffffff)
				}
				add(a.Index, v, v+1, v-1, v|1<<32, v&0xffffffff)
			}
		}
	}
	var out []probe
	for _, a := range vals[0] {
		for _, b := range vals[1] {
			out = append(out, x64("personality", "", a, b), x86("personality", "", a, b))
		}
	}
	return out
}
