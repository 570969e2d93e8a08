package generator

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

func complainFilter(t *testing.T, p *profiles.Profile, engine *specs.LinuxSeccomp) (*specs.LinuxSeccomp, []Note) {
	t.Helper()
	s, _, err := Seccomp(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if engine != nil {
		if s, _, err = Intersect(s, engine); err != nil {
			t.Fatal(err)
		}
	}
	out, notes, err := Complain(s, engine, ComplainOptions{ListenerPath: "/run/tailor/notify.sock", Metadata: "m"})
	if err != nil {
		t.Fatalf("complain: %v", err)
	}
	if out.ListenerPath != "/run/tailor/notify.sock" || out.ListenerMetadata != "m" {
		t.Fatalf("listener not set: %q %q", out.ListenerPath, out.ListenerMetadata)
	}
	return out, notes
}

func TestComplainFilterVerdicts(t *testing.T) {
	ioctls := []uint64{0x5401, 0x5413, 0x540f, 0x80045430}
	prctls := []uint64{1, 15, 38}
	p := profileOf("c", abiCalls(profiles.ABIX8664, base,
		one(withArgs("ioctl", ioctls...)), one(withArgs("prctl", prctls...)), one(withArgs("clone", 0)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_UNIX, unix.SOCK_STREAM), profiles.SocketValue(unix.AF_INET, unix.SOCK_DGRAM)))))
	f, _ := complainFilter(t, p, nil)
	vm := newFilterVM(t, f)
	type call struct {
		name string
		nr   int
		args []uint64
		want string
	}
	calls := []call{
		{"read", unix.SYS_READ, nil, "allow"},
		{"write", unix.SYS_WRITE, nil, "allow"},
		{"mkdir", unix.SYS_MKDIR, nil, "notify"},
		{"chmod", unix.SYS_CHMOD, nil, "notify"},
		{"clone3 keeps its ENOSYS", unix.SYS_CLONE3, nil, "errno 38"},
		{"clone without namespaces", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD) | unix.CLONE_VM}, "allow"},
		{"clone with a namespace", unix.SYS_CLONE, []uint64{unix.CLONE_NEWNS}, "notify"},
		{"socket unix stream nonblock", unix.SYS_SOCKET, []uint64{unix.AF_UNIX, unix.SOCK_STREAM | unix.SOCK_NONBLOCK}, "allow"},
		{"socket unix dgram", unix.SYS_SOCKET, []uint64{unix.AF_UNIX, unix.SOCK_DGRAM}, "notify"},
		{"socket packet", unix.SYS_SOCKET, []uint64{unix.AF_PACKET, unix.SOCK_RAW}, "notify"},
		{"socket inet dgram", unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_DGRAM}, "allow"},
	}
	for _, v := range ioctls {
		calls = append(calls, call{"ioctl seen", unix.SYS_IOCTL, []uint64{1, v}, "allow"},
			call{"ioctl seen, high bits set", unix.SYS_IOCTL, []uint64{1, v | 7<<32}, "allow"},
			call{"ioctl next", unix.SYS_IOCTL, []uint64{1, v + 1}, "notify"},
			call{"ioctl before", unix.SYS_IOCTL, []uint64{1, v - 1}, "notify"})
	}
	for _, v := range prctls {
		calls = append(calls, call{"prctl seen", unix.SYS_PRCTL, []uint64{v}, "allow"},
			call{"prctl next", unix.SYS_PRCTL, []uint64{v + 1}, "notify"},
			call{"prctl high", unix.SYS_PRCTL, []uint64{v | 1<<40}, "notify"})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		v := r.Uint64()
		if r.IntN(2) == 0 {
			v &= 0xffff
		}
		want := "notify"
		if slices.Contains(prctls, v) {
			want = "allow"
		}
		calls = append(calls, call{"prctl random", unix.SYS_PRCTL, []uint64{v}, want})
	}
	for _, c := range calls {
		if got := verdict(vm.run(t, auditArchX8664, c.nr, c.args...)); got != c.want {
			t.Errorf("%s %#x: %s, want %s", c.name, c.args, got, c.want)
		}
	}
}

func TestComplainFilterNeverWiderThanEngine(t *testing.T) {
	eperm := uint(unix.EPERM)
	engine := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "write", "exit_group", "mkdir", "ioctl", "openat"}, Action: specs.ActAllow},
		{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
	}}
	p := profileOf("c", abiCalls(profiles.ABIX8664, plain("read", "write", "exit_group"), one(withArgs("ioctl", 0x5401))))
	f, notes := complainFilter(t, p, engine)
	vm := newFilterVM(t, f)
	for _, c := range []struct {
		nr   int
		args []uint64
		want string
	}{
		{unix.SYS_READ, nil, "allow"},
		{unix.SYS_MKDIR, nil, "notify"},
		{unix.SYS_OPENAT, nil, "notify"},
		{unix.SYS_IOCTL, []uint64{1, 0x5401}, "allow"},
		{unix.SYS_IOCTL, []uint64{1, 0x5402}, "notify"},
		{unix.SYS_CHMOD, nil, "errno 1"},
		{unix.SYS_PERSONALITY, []uint64{0}, "errno 1"},
		{unix.SYS_UNSHARE, nil, "errno 1"},
	} {
		if got := verdict(vm.run(t, auditArchX8664, c.nr, c.args...)); got != c.want {
			t.Errorf("syscall %d %#x: %s, want %s", c.nr, c.args, got, c.want)
		}
	}
	if !slices.ContainsFunc(notes, func(n Note) bool { return n.Text != "" && contains(n.Text, "personality") }) {
		t.Errorf("no note about personality, which the engine allows for some arguments: %v", notes)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestComplainRefusesAllowingDefault(t *testing.T) {
	p := profileOf("c", abiCalls(profiles.ABIX8664, base))
	s, _, err := Seccomp(p, SeccompOptions{DefaultAction: DefaultLog})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Complain(s, nil, ComplainOptions{ListenerPath: "/x"}); err == nil {
		t.Fatal("a filter whose default logs was turned into a complain filter")
	}
}

func TestMaskedComplement(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []uint64
		mask   uint64
	}{
		{"one zero value", []uint64{0}, 0x7E020000},
		{"namespace values", []uint64{0, 0x20000, 0x40000000}, 0x7E020000},
		{"small values full mask", []uint64{1, 2, 3, 40}, ^uint64(0)},
		{"32-bit", []uint64{0x5401, 0x80045430}, 0xffffffff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pairs := maskedComplement(tc.values, tc.mask)
			r := rand.New(rand.NewPCG(3, 4))
			probe := append(slices.Clone(tc.values), 0, ^uint64(0))
			for range 5000 {
				probe = append(probe, r.Uint64()&tc.mask, r.Uint64())
			}
			for _, v := range tc.values {
				probe = append(probe, v^1, v^(1<<17), v+1, v-1)
			}
			for _, x := range probe {
				in := slices.Contains(tc.values, x&tc.mask)
				matched := slices.ContainsFunc(pairs, func(p [2]uint64) bool { return x&p[0] == p[1] })
				if in == matched {
					t.Fatalf("x=%#x: in values %v, matched by a complement pair %v (%#x)", x, in, matched, pairs)
				}
			}
		})
	}
}

// TestComplainSeccompWithinDockerDefault: the JSON for podman notifies
// what the profile lacks and Docker's default allows; what Docker's
// default refuses stays refused, even when the profile allows it.
func TestComplainSeccompWithinDockerDefault(t *testing.T) {
	p := profileOf("c", abiCalls(profiles.ABIX8664, base, plain("init_module")))
	out, notes, err := ComplainSeccomp(p, SeccompOptions{}, ComplainOptions{ListenerPath: "/run/tailor/notify.sock", Metadata: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var f *specs.LinuxSeccomp
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("the generated JSON does not parse: %v\n%s", err, out)
	}
	if f.ListenerPath != "/run/tailor/notify.sock" || f.ListenerMetadata != "m" {
		t.Fatalf("listener not set: %q %q", f.ListenerPath, f.ListenerMetadata)
	}
	vm := newFilterVM(t, f)
	for _, c := range []struct {
		name string
		nr   int
		want string
	}{
		{"read", unix.SYS_READ, "allow"},
		{"mkdir", unix.SYS_MKDIR, "notify"},
		{"init_module, allowed by the profile, refused by Docker's default", unix.SYS_INIT_MODULE, "errno 1"},
		{"kexec_load, refused by both", unix.SYS_KEXEC_LOAD, "errno 1"},
	} {
		if got := verdict(vm.run(t, auditArchX8664, c.nr)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if !slices.ContainsFunc(notes, func(n Note) bool { return strings.Contains(n.Text, "init_module") }) {
		t.Errorf("no note says Docker's default refuses init_module: %v", notes)
	}
}
