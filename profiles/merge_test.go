package profiles

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func sc(name string, recordings int, args *ArgValues) Syscall {
	return Syscall{Name: name, Args: args, Seen: Seen{Recordings: recordings}}
}

func vals(v ...uint64) *ArgValues { return &ArgValues{Values: v} }

func TestMergeRules(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a := New("web")
	a.Source = Source{Recordings: 1, Kernel: "6.18", Runtime: "runc", Start: t0, End: t0.Add(time.Minute)}
	a.ABIs = []ABISyscalls{{ABI: ABIX8664, Syscalls: []Syscall{
		{Name: "read", Seen: Seen{Comm: "nginx", Exe: "/usr/sbin/nginx", Recordings: 1}},
		sc("clone", 1, vals(0)),
		sc("socket", 1, vals(SocketValue(2, 1))),
		sc("ioctl", 1, vals(0x5401)),
		sc("unshare", 1, vals(0x20000)),
	}}}
	a.Capabilities = []Capability{{Name: "CAP_CHOWN", Granted: true, Seen: Seen{Comm: "nginx", Recordings: 1}}}

	b := New("web")
	b.Source = Source{Recordings: 2, Kernel: "6.1", Runtime: "runc", Start: t0.Add(-time.Hour), End: t0}
	b.Loss = Loss{Events: 3, Reasons: []string{"tracer stopped early"}}
	b.ABIs = []ABISyscalls{
		{ABI: ABIX8664, Syscalls: []Syscall{
			{Name: "read", Seen: Seen{Comm: "sh", Exe: "/bin/sh", Recordings: 2}},
			sc("clone", 2, vals(0x20000000)),
			sc("socket", 1, nil), // imported: no argument rule
			sc("ioctl", 1, &ArgValues{Overflow: true}),
			sc("unshare", 1, vals(0x20000, 0x40000000)),
		}},
		{ABI: ABIX86, Syscalls: []Syscall{sc("socketcall", 1, vals(1))}},
	}
	b.Capabilities = []Capability{
		{Name: "CAP_CHOWN", Denied: true, Seen: Seen{Recordings: 2}},
		{Name: "CAP_NET_RAW", Denied: true, Seen: Seen{Recordings: 1}},
	}

	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "name kept", got: m.Name, want: "web"},
		{name: "recordings summed", got: m.Source.Recordings, want: 3},
		{name: "kernels as a set", got: m.Source.Kernel, want: "6.1, 6.18"},
		{name: "runtime once", got: m.Source.Runtime, want: "runc"},
		{name: "earliest start", got: m.Source.Start, want: t0.Add(-time.Hour)},
		{name: "latest end", got: m.Source.End, want: t0.Add(time.Minute)},
		{name: "loss summed", got: m.Loss.Events, want: uint64(3)},
		{name: "incomplete", got: m.Complete, want: false},
		{name: "ABIs unioned", got: len(m.ABIs), want: 2},
		{name: "coverage summed", got: mustSyscall(t, m, ABIX8664, "read").Seen.Recordings, want: 3},
		{name: "smallest provenance", got: mustSyscall(t, m, ABIX8664, "read").Seen.Exe, want: "/bin/sh"},
		{name: "values unioned", got: mustSyscall(t, m, ABIX8664, "clone").Args, want: vals(0, 0x20000000)},
		{name: "values unioned without duplicates", got: mustSyscall(t, m, ABIX8664, "unshare").Args, want: vals(0x20000, 0x40000000)},
		{name: "nil args widen", got: mustSyscall(t, m, ABIX8664, "socket").Args, want: (*ArgValues)(nil)},
		{name: "overflow wins over values", got: mustSyscall(t, m, ABIX8664, "ioctl").Args, want: &ArgValues{Overflow: true}},
		{name: "granted or denied", got: m.Capabilities[0], want: Capability{Name: "CAP_CHOWN", Granted: true, Denied: true, Seen: Seen{Comm: "nginx", Recordings: 3}}},
		{name: "capabilities unioned", got: m.GrantedCapabilities(), want: []string{"CAP_CHOWN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
	if got := a.Syscalls(ABIX8664)[1].Args.Values; !reflect.DeepEqual(got, []uint64{0}) {
		t.Errorf("Merge modified its input: clone values %v", got)
	}
}

func mustSyscall(t *testing.T, p *Profile, abi ABI, name string) *Syscall {
	t.Helper()
	s, ok := p.Syscall(abi, name)
	if !ok {
		t.Fatalf("%s/%s missing from %v", abi, name, p.SyscallNames(abi))
	}
	return s
}

func TestMergeNameAndCompleteness(t *testing.T) {
	a, b := New("a"), New("b")
	b.Complete = false // incomplete without a recorded loss
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "" {
		t.Errorf("different names merged to %q, want empty", m.Name)
	}
	if m.Complete {
		t.Error("merging an incomplete profile gave a complete one")
	}
	if _, err := Merge(); !errors.Is(err, ErrNothingToMerge) {
		t.Errorf("Merge() = %v, want ErrNothingToMerge", err)
	}
}

// randomProfile draws from small pools so that inputs overlap.
func randomProfile(r *rand.Rand) *Profile {
	names := []string{"web", "web", "db"}
	p := New(names[r.IntN(len(names))])
	p.Source.Recordings = 1 + r.IntN(3)
	pick := func(pool []string) string {
		if r.IntN(3) == 0 {
			return ""
		}
		return pool[r.IntN(len(pool))]
	}
	p.Source.Kernel = pick([]string{"6.1", "6.18"})
	p.Source.Runtime = pick([]string{"runc", "crun"})
	p.Source.ContainerID = pick([]string{"abc", "def", "123"})
	if r.IntN(2) == 0 {
		base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		p.Source.Start = base.Add(time.Duration(r.IntN(100)) * time.Second).In(time.FixedZone("x", 3600*r.IntN(3)))
		p.Source.End = p.Source.Start.Add(time.Duration(r.IntN(100)) * time.Second)
	}
	if r.IntN(4) == 0 {
		p.Loss.Events = uint64(r.IntN(5))
		p.Loss.Reasons = []string{pick([]string{"a", "b"})}
	}
	seen := func() Seen {
		comms := []string{"", "sh", "nginx"}
		exes := []string{"", "/bin/sh", "/usr/sbin/nginx"}
		return Seen{Comm: comms[r.IntN(3)], Exe: exes[r.IntN(3)], Recordings: r.IntN(3)}
	}
	for _, abi := range []ABI{ABIX8664, ABIX86} {
		if r.IntN(3) == 0 {
			continue
		}
		a := ABISyscalls{ABI: abi}
		for _, name := range []string{"read", "write", "clone", "socket", "ioctl", "prctl"} {
			if r.IntN(2) == 0 {
				continue
			}
			s := Syscall{Name: name, Seen: seen()}
			if _, ok := ArgRuleFor(name); ok {
				switch r.IntN(4) {
				case 0: // nil: no restriction
				case 1:
					s.Args = &ArgValues{Overflow: true}
				default:
					// At least one value, within the bits the recorder keeps
					// (clone's are namespace flags): Validate refuses others.
					s.Args = &ArgValues{}
					for range 1 + r.IntN(3) {
						v := uint64(r.IntN(6))
						if name == "clone" {
							v <<= 28
						}
						s.Args.Values = append(s.Args.Values, v)
					}
				}
			}
			a.Syscalls = append(a.Syscalls, s)
		}
		p.ABIs = append(p.ABIs, a)
	}
	for _, name := range []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SETUID"} {
		if r.IntN(2) == 0 {
			p.Capabilities = append(p.Capabilities, Capability{Name: name, Granted: r.IntN(2) == 0, Denied: r.IntN(2) == 0, Seen: seen()})
		}
	}
	p.Normalize()
	return p
}

func mustMerge(t *testing.T, ps ...*Profile) *Profile {
	t.Helper()
	m, err := Merge(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t *testing.T, p *Profile) []byte {
	t.Helper()
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// Merging must give the same bytes whatever the order and grouping of its
// inputs.
func TestMergeOrderIndependent(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 1))
		ps := []*Profile{randomProfile(r), randomProfile(r), randomProfile(r), randomProfile(r)}
		want := marshal(t, mustMerge(t, ps...))
		for _, perm := range permutations(len(ps)) {
			in := make([]*Profile, len(ps))
			for i, j := range perm {
				in[i] = ps[j]
			}
			if got := marshal(t, mustMerge(t, in...)); !bytes.Equal(got, want) {
				t.Fatalf("seed %d order %v:\n%s\nwant\n%s", seed, perm, got, want)
			}
			// Associativity: ((a b) c) d and a (b (c d)).
			left := mustMerge(t, mustMerge(t, mustMerge(t, in[0], in[1]), in[2]), in[3])
			right := mustMerge(t, in[0], mustMerge(t, in[1], mustMerge(t, in[2], in[3])))
			for _, g := range []*Profile{left, right} {
				if got := marshal(t, g); !bytes.Equal(got, want) {
					t.Fatalf("seed %d order %v grouped:\n%s\nwant\n%s", seed, perm, got, want)
				}
			}
		}
		// The result is a valid profile.
		if _, err := Parse(want); err != nil {
			t.Fatalf("seed %d: merged profile does not parse: %v", seed, err)
		}
	}
}
