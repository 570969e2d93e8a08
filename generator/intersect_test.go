package generator

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// Filters written by hand for the intersection tests.

func filterOf(def specs.LinuxSeccompAction, rules ...specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: def, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86}, Syscalls: rules}
}

func allowRule(names ...string) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: names, Action: specs.ActAllow}
}

func allowIf(name string, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: args}
}

func errnoRule(name string, errno unix.Errno, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, ErrnoRet: errnoPtr(errno), Args: args}
}

func eq(index uint, v uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Op: specs.OpEqualTo, Value: v}
}

func masked(index uint, mask, v uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Op: specs.OpMaskedEqual, Value: mask, ValueTwo: v}
}

func cmp(index uint, op specs.LinuxSeccompOperator, v uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Op: op, Value: v}
}

func x64(name, want string, args ...uint64) probe {
	return probe{abi: profiles.ABIX8664, name: name, args: args, want: want}
}

func x86(name, want string, args ...uint64) probe {
	return probe{abi: profiles.ABIX86, name: name, args: args, want: want}
}

func runProbes(t *testing.T, vm *filterVM, probes []probe) {
	t.Helper()
	for _, pr := range probes {
		nr, err := pr.abi.SyscallNr(pr.name)
		if err != nil {
			t.Fatalf("probe %s: %v", pr.name, err)
		}
		arch := uint32(auditArchX8664)
		if pr.abi == profiles.ABIX86 {
			arch = auditArchI386
		}
		if got := verdict(vm.run(t, arch, nr, pr.args...)); got != pr.want {
			t.Errorf("%s %s(%#x): %s, want %s", pr.abi, pr.name, pr.args, got, pr.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	const nsFlags = 0x7E020000 // Docker's clone mask
	tests := []struct {
		name            string
		profile, engine *specs.LinuxSeccomp
		probes          []probe
		refused         []string
		narrowed        []string
		notes           []string // each a substring of one note
		arches          []specs.Arch
		noNotes         bool
	}{
		{
			name:    "unconditional on both sides",
			profile: filterOf(specs.ActErrno, allowRule("read", "write", "getpid")),
			engine:  filterOf(specs.ActErrno, allowRule("read", "getpid", "mkdir")),
			probes:  []probe{x64("read", "allow"), x64("write", "errno 1"), x64("mkdir", "errno 1"), x86("getpid", "allow")},
			refused: []string{"write"},
			notes:   []string{"write: the engine's filter refuses write: not allowed"},
		},
		{
			name:    "the profile's arguments within an unconditional engine",
			profile: filterOf(specs.ActErrno, allowIf("personality", eq(0, 8)), allowIf("personality", eq(0, 0))),
			engine:  filterOf(specs.ActErrno, allowRule("personality")),
			probes:  []probe{x64("personality", "allow", 8), x64("personality", "allow", 0), x64("personality", "errno 1", 9)},
			noNotes: true,
		},
		{
			name:     "the engine's arguments within an unconditional profile",
			profile:  filterOf(specs.ActErrno, allowRule("personality")),
			engine:   filterOf(specs.ActErrno, allowIf("personality", eq(0, 0)), allowIf("personality", eq(0, 8))),
			probes:   []probe{x64("personality", "allow", 0), x64("personality", "allow", 8), x64("personality", "errno 1", 0x40000)},
			narrowed: []string{"personality"},
			notes:    []string{"personality: the engine's filter allows personality only for some arguments"},
		},
		{
			name: "masks merge into one",
			// (x & 0xff) == 0x12 and (x & 0xf0f0) == 0x1010: (x & 0xf0ff) == 0x1012.
			profile: filterOf(specs.ActErrno, allowIf("ioctl", masked(1, 0xff, 0x12))),
			engine:  filterOf(specs.ActErrno, allowIf("ioctl", masked(1, 0xf0f0, 0x1010))),
			probes: []probe{x64("ioctl", "allow", 0, 0x1012), x64("ioctl", "allow", 0, 0xf1f12), x64("ioctl", "errno 1", 0, 0x12),
				x64("ioctl", "errno 1", 0, 0x1013), x86("ioctl", "allow", 0, 0x1012)},
			narrowed: []string{"ioctl"},
		},
		{
			name:    "equal values and a mask",
			profile: filterOf(specs.ActErrno, allowIf("clone", eq(0, unix.CLONE_NEWNS)), allowIf("clone", eq(0, 0x11))),
			engine:  filterOf(specs.ActErrno, allowIf("clone", masked(0, nsFlags, 0))),
			probes: []probe{x64("clone", "allow", 0x11), x64("clone", "errno 1", unix.CLONE_NEWNS),
				x64("clone", "errno 1", 0x11|unix.CLONE_VM)},
			narrowed: []string{"clone"},
		},
		{
			name:    "masks that cannot both hold",
			profile: filterOf(specs.ActErrno, allowIf("clone", masked(0, nsFlags, unix.CLONE_NEWUSER))),
			engine:  filterOf(specs.ActErrno, allowIf("clone", masked(0, nsFlags, 0))),
			probes:  []probe{x64("clone", "errno 1", unix.CLONE_NEWUSER), x64("clone", "errno 1", 0)},
			refused: []string{"clone"},
			notes:   []string{"clone: the engine's filter allows clone only for arguments the profile's never allows"},
		},
		{
			name:    "equal values within a bound",
			profile: filterOf(specs.ActErrno, allowIf("socket", eq(0, 1)), allowIf("socket", eq(0, 2)), allowIf("socket", eq(0, 10))),
			engine:  filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessThan, 3))),
			probes: []probe{x64("socket", "allow", 1), x64("socket", "allow", 2), x64("socket", "errno 1", 10),
				x64("socket", "errno 1", 0)},
			narrowed: []string{"socket"},
		},
		{
			name:     "two upper bounds",
			profile:  filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessEqual, 9))),
			engine:   filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessThan, 5))),
			probes:   []probe{x64("socket", "allow", 4), x64("socket", "errno 1", 5), x86("socket", "allow", 4)},
			narrowed: []string{"socket"},
		},
		{
			name:    "a range cannot be one rule",
			profile: filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpGreaterEqual, 2))),
			engine:  filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessThan, 5))),
			probes:  []probe{x64("socket", "errno 1", 3)},
			refused: []string{"socket"},
			notes:   []string{"socket: where both filters allow socket for some arguments, tailor could not write their intersection"},
		},
		{
			name: "bounds beyond 32 bits",
			// On x86 libseccomp compares the low 32 bits only: LT 1<<32|5
			// is LT 5 there, so keeping the tighter bound is not exact.
			profile: filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessThan, 1<<32|5))),
			engine:  filterOf(specs.ActErrno, allowIf("socket", cmp(0, specs.OpLessThan, 100))),
			probes:  []probe{x64("socket", "errno 1", 7), x86("socket", "errno 1", 7)},
			refused: []string{"socket"},
			notes:   []string{"tailor could not write their intersection"},
		},
		{
			name: "an equal value that differs above 32 bits",
			// x == 1<<32|5 holds on x86 for 5 and on x86_64 never for 5.
			profile: filterOf(specs.ActErrno, allowIf("personality", eq(0, 1<<32|5))),
			engine:  filterOf(specs.ActErrno, allowIf("personality", cmp(0, specs.OpLessThan, 1<<32))),
			probes:  []probe{x64("personality", "errno 1", 1<<32|5), x86("personality", "errno 1", 5)},
			refused: []string{"personality"},
		},
		{
			name: "shapes libseccomp compiles wider than written are left out",
			// Compiled as it is, the engine's filter lets
			// personality(0xfffffff2, 0) through (see TestIntersectNeverWider).
			profile: filterOf(specs.ActErrno, allowRule("personality")),
			engine: filterOf(specs.ActErrno, allowIf("personality", cmp(0, specs.OpGreaterThan, 1<<32|2), cmp(1, specs.OpLessEqual, 0xffffffff)),
				allowIf("personality", cmp(0, specs.OpLessEqual, 255)), allowIf("personality", eq(0, 0x1000))),
			probes: []probe{x64("personality", "errno 1", 0xfffffff2, 0), x64("personality", "allow", 0x1000),
				x64("personality", "errno 1", 8)},
			narrowed: []string{"personality"},
			notes:    []string{"personality: where both filters allow personality for some arguments, their intersection mixes a bound"},
		},
		{
			name: "the engine's rule with two comparisons of one argument is an OR",
			// runc loads each comparison as a rule of its own.
			profile:  filterOf(specs.ActErrno, allowRule("personality")),
			engine:   filterOf(specs.ActErrno, allowIf("personality", eq(0, 1), eq(0, 2))),
			probes:   []probe{x64("personality", "allow", 1), x64("personality", "allow", 2), x64("personality", "errno 1", 3)},
			narrowed: []string{"personality"},
		},
		{
			name:    "a denylist engine",
			profile: filterOf(specs.ActErrno, allowRule("ptrace", "read")),
			engine:  filterOf(specs.ActAllow, errnoRule("ptrace", unix.EPERM, eq(0, unix.PTRACE_ATTACH))),
			probes:  []probe{x64("ptrace", "errno 1", unix.PTRACE_TRACEME), x64("read", "allow"), x64("mkdir", "errno 1")},
			refused: []string{"ptrace"},
			notes:   []string{"ptrace: the engine's filter refuses ptrace for some arguments and allows the others by default"},
		},
		{
			name:    "the engine's own refusal action",
			profile: filterOf(specs.ActErrno, allowRule("clone3", "read")),
			engine:  filterOf(specs.ActErrno, allowRule("read"), errnoRule("clone3", unix.ENOSYS)),
			probes:  []probe{x64("clone3", "errno 38"), x64("read", "allow")},
			refused: []string{"clone3"},
			notes:   []string{"clone3: the engine's filter refuses clone3 (SCMP_ACT_ERRNO, errno 38): refused the same way"},
		},
		{
			name:    "the profile's refusal stays",
			profile: filterOf(specs.ActErrno, allowRule("read"), errnoRule("clone3", unix.ENOSYS)),
			engine:  filterOf(specs.ActErrno, allowRule("read", "clone3")),
			probes:  []probe{x64("clone3", "errno 38")},
			noNotes: true,
		},
		{
			name:    "the engine kills by default",
			profile: filterOf(specs.ActErrno, allowRule("read", "write")),
			engine:  filterOf(specs.ActKillProcess, allowRule("read")),
			probes:  []probe{x64("read", "allow"), x64("write", "errno 1"), x64("mkdir", "errno 1")},
			refused: []string{"write"},
		},
		{
			name: "a logging profile",
			// What the profile would refuse is logged within what the
			// engine allows; what the engine refuses stays refused.
			profile: filterOf(specs.ActLog, allowRule("read")),
			engine:  &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errnoPtr(unix.ENOSYS), Syscalls: []specs.LinuxSyscall{allowRule("read", "write")}},
			probes:  []probe{x64("read", "allow"), x64("write", "log"), x64("mkdir", "errno 38")},
			notes:   []string{"the profile's default action SCMP_ACT_LOG allows and the engine's SCMP_ACT_ERRNO refuses"},
		},
		{
			name:    "both allow by default",
			profile: filterOf(specs.ActLog, allowRule("read"), errnoRule("ptrace", unix.EPERM)),
			engine:  filterOf(specs.ActAllow, errnoRule("unshare", unix.EPERM), errnoRule("personality", unix.EINVAL, eq(0, 8))),
			probes: []probe{x64("read", "allow"), x64("write", "log"), x64("ptrace", "errno 1"), x64("unshare", "errno 1"),
				x64("personality", "errno 22", 8), x64("personality", "errno 22", 0)},
			refused: []string{"personality", "unshare"},
		},
		{
			name:    "architectures both list",
			profile: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, Syscalls: []specs.LinuxSyscall{allowRule("read")}},
			engine:  &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX32}, Syscalls: []specs.LinuxSyscall{allowRule("read")}},
			probes:  []probe{x64("read", "allow"), x86("read", "kill-thread")},
			arches:  []specs.Arch{specs.ArchX86_64, specs.ArchX32},
			notes:   []string{"the engine's filter does not cover SCMP_ARCH_X86"},
		},
		{
			name:    "an engine that lists no architecture covers the native one",
			profile: filterOf(specs.ActErrno, allowRule("read")),
			engine:  &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{allowRule("read")}},
			probes:  []probe{x64("read", "allow"), x86("read", "kill-thread")},
			arches:  []specs.Arch{specs.ArchX86_64},
			notes:   []string{"does not cover SCMP_ARCH_X86:"},
		},
		{
			name:    "lifecycle syscalls the engine allows stay",
			profile: filterOf(specs.ActErrno, allowRule("exit", "exit_group", "restart_syscall", "rt_sigreturn")),
			engine:  DockerDefaultSeccomp(),
			probes:  []probe{x64("exit", "allow"), x64("exit_group", "allow"), x64("restart_syscall", "allow"), x64("rt_sigreturn", "allow")},
			noNotes: true,
		},
		{
			name:    "lifecycle syscalls the engine refuses",
			profile: filterOf(specs.ActErrno, allowRule("exit_group", "rt_sigreturn")),
			engine:  filterOf(specs.ActErrno, allowRule("exit_group")),
			probes:  []probe{x64("exit_group", "allow"), x64("rt_sigreturn", "errno 1")},
			refused: []string{"rt_sigreturn"},
			notes:   []string{"rt_sigreturn: the engine's filter refuses rt_sigreturn: not allowed; the engine's filter wins"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := IntersectFilters(tc.profile, tc.engine)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for _, n := range in.Notes {
				text.WriteString(n.String() + "\n")
			}
			for _, want := range tc.notes {
				if !strings.Contains(text.String(), want) {
					t.Errorf("no note says %q; notes:\n%s", want, text.String())
				}
			}
			if tc.noNotes && len(in.Notes) > 0 {
				t.Errorf("notes, want none:\n%s", text.String())
			}
			if !slices.Equal(in.Refused, tc.refused) || !slices.Equal(in.Narrowed, tc.narrowed) {
				t.Errorf("refused %v, narrowed %v; want %v, %v\nnotes:\n%s", in.Refused, in.Narrowed, tc.refused, tc.narrowed, text.String())
			}
			for _, name := range append(slices.Clone(in.Refused), in.Narrowed...) {
				if !slices.ContainsFunc(in.Notes, func(n Note) bool { return n.Syscall == name }) {
					t.Errorf("no note names %s", name)
				}
			}
			if tc.arches != nil && !slices.Equal(in.Filter.Architectures, tc.arches) {
				t.Errorf("architectures %v, want %v", in.Filter.Architectures, tc.arches)
			}
			if in.Filter.DefaultAction != tc.profile.DefaultAction && tc.profile.DefaultAction != specs.ActLog {
				t.Errorf("default action %s, want the profile's %s", in.Filter.DefaultAction, tc.profile.DefaultAction)
			}
			runProbes(t, newFilterVM(t, in.Filter), tc.probes)
			neverWider(t, tc.profile, tc.engine, in.Filter, tc.probes)
		})
	}
}

// neverWider checks the result against both filters in the BPF VM: each
// probe the result allows, both allow.
func neverWider(t *testing.T, profile, engine, result *specs.LinuxSeccomp, probes []probe) {
	t.Helper()
	vms := []*filterVM{newFilterVM(t, profile), newFilterVM(t, knownNames(engine)), newFilterVM(t, result)}
	for _, pr := range probes {
		nr, err := pr.abi.SyscallNr(pr.name)
		if err != nil {
			t.Fatal(err)
		}
		arch := uint32(auditArchX8664)
		if pr.abi == profiles.ABIX86 {
			arch = auditArchI386
		}
		var allowed []bool
		for _, vm := range vms {
			v := verdict(vm.run(t, arch, nr, pr.args...))
			allowed = append(allowed, v == "allow" || v == "log")
		}
		if allowed[2] && !(allowed[0] && allowed[1]) {
			t.Errorf("%s %s(%#x): the intersection allows it, the profile %v, the engine %v", pr.abi, pr.name, pr.args, allowed[0], allowed[1])
		}
	}
}

// knownNames is s without the syscall names this libseccomp does not
// know, as runc loads it (Docker's default names newer syscalls).
func knownNames(s *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	out := *s
	out.Syscalls = nil
	for _, rule := range s.Syscalls {
		rule.Names = slices.DeleteFunc(slices.Clone(rule.Names), func(n string) bool {
			_, err := libseccomp.GetSyscallFromName(n)
			return err != nil
		})
		if len(rule.Names) > 0 {
			out.Syscalls = append(out.Syscalls, rule)
		}
	}
	return &out
}

func TestIntersectRefuses(t *testing.T) {
	good := filterOf(specs.ActErrno, allowRule("read"))
	tests := []struct {
		name            string
		profile, engine *specs.LinuxSeccomp
		want            string
	}{
		{"no profile", nil, good, "no profile filter"},
		{"unknown action", good, filterOf("SCMP_ACT_MAYBE"), `the engine's filter: defaultAction: unsupported action "SCMP_ACT_MAYBE"`},
		{"unknown rule action", good, filterOf(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: "SCMP_ACT_MAYBE"}),
			"the engine's filter: syscalls[0]: unsupported action"},
		{"unknown operator", good, filterOf(specs.ActErrno, allowIf("read", cmp(0, "SCMP_CMP_ABOUT", 1))), `syscalls[0]: argument 0: unsupported operator "SCMP_CMP_ABOUT"`},
		{"argument index", good, filterOf(specs.ActErrno, allowIf("read", eq(6, 1))), "syscalls[0]: argument index 6"},
		{"empty name", filterOf(specs.ActErrno, allowRule("")), good, "the profile's filter: syscalls[0]: an empty syscall name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Intersect(tc.profile, tc.engine)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestIntersectDockerDefault is the case of the issue: a profile learned
// under the allow-all learning filter that made user namespaces grants
// them, and Docker's default refuses them.
func TestIntersectDockerDefault(t *testing.T) {
	p := profileOf("userns", abiCalls(profiles.ABIX8664, base,
		one(withArgs("unshare", unix.CLONE_NEWUSER)),
		one(withArgs("clone", 0, unix.CLONE_NEWUSER)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_INET, sockStream), profiles.SocketValue(unix.AF_PACKET, sockRaw))),
		plain("mount")))
	s, _, err := Seccomp(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := IntersectFilters(s, DockerDefaultSeccomp())
	if err != nil {
		t.Fatal(err)
	}
	runProbes(t, newFilterVM(t, s), []probe{
		x64("unshare", "allow", unix.CLONE_NEWUSER),
		x64("clone", "allow", unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)),
	})
	probes := []probe{
		x64("unshare", "errno 1", unix.CLONE_NEWUSER),
		x64("clone", "errno 1", unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)),
		x64("clone", "allow", uint64(unix.SIGCHLD)),
		x64("clone", "allow", unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND),
		x64("mount", "errno 1"),
		x64("socket", "allow", unix.AF_INET, sockStream|unix.SOCK_CLOEXEC),
		// Docker's default allows AF_PACKET (CAP_NET_RAW is one of its
		// default capabilities): kept, as both allow it.
		x64("socket", "allow", unix.AF_PACKET, sockRaw),
		x64("socket", "errno 1", unix.AF_NETLINK, sockRaw),
		x64("clone3", "errno 38"),
		x64("read", "allow"),
		x64("exit_group", "allow"),
		x64("rt_sigreturn", "allow"),
		x64("mkdir", "errno 1"),
	}
	runProbes(t, newFilterVM(t, in.Filter), probes)
	neverWider(t, s, DockerDefaultSeccomp(), in.Filter, probes)
	if !slices.Equal(in.Refused, []string{"mount", "unshare"}) || !slices.Equal(in.Narrowed, []string{"clone"}) {
		t.Errorf("refused %v, narrowed %v; want [mount unshare], [clone]", in.Refused, in.Narrowed)
	}
	for _, want := range []string{"unshare: the engine's filter refuses unshare: not allowed", "clone: the engine's filter allows clone only for some arguments"} {
		if !slices.ContainsFunc(in.Notes, func(n Note) bool { return strings.HasPrefix(n.String(), want) }) {
			t.Errorf("no note says %q: %v", want, in.Notes)
		}
	}
	if _, err := Compile(in.Filter); err != nil {
		t.Errorf("the intersection does not compile: %v", err)
	}
}

// TestLibseccompOneComparisonPerArgument pins the libseccomp behaviour
// the intersection is built on: a rule cannot hold two comparisons of one
// argument, so Compile (like runc) ORs them, and Intersect merges them
// into one or drops the pair.
func TestLibseccompOneComparisonPerArgument(t *testing.T) {
	f, err := libseccomp.NewFilter(libseccomp.ActErrno.SetReturnCode(1))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	nr, err := libseccomp.GetSyscallFromName("personality")
	if err != nil {
		t.Fatal(err)
	}
	ge, _ := libseccomp.MakeCondition(0, libseccomp.CompareGreaterEqual, 5)
	le, _ := libseccomp.MakeCondition(0, libseccomp.CompareLessOrEqual, 9)
	if err := f.AddRuleConditional(nr, libseccomp.ActAllow, []libseccomp.ScmpCondition{ge, le}); err == nil {
		t.Error("libseccomp took two comparisons of one argument in one rule: Intersect could write ranges")
	}
	// ORed as Compile loads it: 3 passes (<= 9) although it is below 5.
	vm := newFilterVM(t, filterOf(specs.ActErrno, allowIf("personality", cmp(0, specs.OpGreaterEqual, 5), cmp(0, specs.OpLessEqual, 9))))
	runProbes(t, vm, []probe{x64("personality", "allow", 3), x64("personality", "allow", 20)})
}
