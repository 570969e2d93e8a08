package generator

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

const (
	sockStream = unix.SOCK_STREAM
	sockDgram  = unix.SOCK_DGRAM
	sockRaw    = unix.SOCK_RAW
)

// probe is one syscall run through a generated filter in the BPF VM.
type probe struct {
	abi  profiles.ABI
	name string
	args []uint64
	want string // verdict(), e.g. "allow", "errno 1"
}

type seccompCase struct {
	name    string
	profile *profiles.Profile
	opts    SeccompOptions
	// probes are checked on top of the ones derived from the profile
	// (every allowed syscall and value, a sample of refused ones).
	probes []probe
	// notes must each appear (as a substring) in one of the notes.
	notes []string
}

func seccompCases() []seccompCase {
	withArgsX8664 := abiCalls(profiles.ABIX8664, base,
		one(withArgs("clone", 0, unix.CLONE_NEWNS)),
		one(withArgs("clone3", 0)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_UNIX, sockStream), profiles.SocketValue(unix.AF_INET, sockDgram))),
		one(withArgs("ioctl", unix.TCGETS, unix.TIOCGWINSZ)),
		one(withArgs("prctl", unix.PR_SET_NAME)),
		one(withArgs("personality", 0xffffffff)),
		one(withArgs("unshare", unix.CLONE_NEWNS)),
		one(withArgs("setns", unix.CLONE_NEWNET)),
	)
	return []seccompCase{
		{
			name:    "plain",
			profile: profileOf("plain", abiCalls(profiles.ABIX8664, base)),
			probes: []probe{
				{abi: profiles.ABIX8664, name: "mkdir", want: "errno 1"},
				{abi: profiles.ABIX8664, name: "clone3", want: "errno 38"},
				// i386 and x32 are not in the filter: refused whatever the call.
				{abi: profiles.ABIX86, name: "read", want: "kill-thread"},
				{abi: profiles.ABIX32, name: "read", want: "kill-thread"},
			},
		},
		{
			name:    "enosys",
			profile: profileOf("enosys", abiCalls(profiles.ABIX8664, base)),
			opts:    SeccompOptions{DefaultAction: DefaultENOSYS},
			probes:  []probe{{abi: profiles.ABIX8664, name: "clone3", want: "errno 38"}},
		},
		{
			name:    "kill",
			profile: profileOf("kill", abiCalls(profiles.ABIX8664, base)),
			opts:    SeccompOptions{DefaultAction: DefaultKill},
			probes:  []probe{{abi: profiles.ABIX8664, name: "clone3", want: "errno 38"}},
		},
		{
			name:    "log",
			profile: profileOf("log", abiCalls(profiles.ABIX8664, base)),
			opts:    SeccompOptions{DefaultAction: DefaultLog},
		},
		{
			name:    "args",
			profile: profileOf("args", withArgsX8664),
			probes: []probe{
				// The filter's promises for a hardened container.
				{abi: profiles.ABIX8664, name: "clone", args: []uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "clone", args: []uint64{unix.CLONE_NEWNS | unix.CLONE_NEWPID}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "clone", args: []uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, want: "allow"},
				{abi: profiles.ABIX8664, name: "unshare", args: []uint64{unix.CLONE_NEWUSER}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "socket", args: []uint64{unix.AF_PACKET, sockRaw}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "socket", args: []uint64{unix.AF_INET, sockStream}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "socket", args: []uint64{unix.AF_UNIX, sockStream | unix.SOCK_CLOEXEC}, want: "allow"},
				{abi: profiles.ABIX8664, name: "ioctl", args: []uint64{1, unix.TIOCSTI}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "prctl", args: []uint64{unix.PR_SET_DUMPABLE}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "personality", args: []uint64{0x0040000}, want: "errno 1"}, // ADDR_NO_RANDOMIZE
				{abi: profiles.ABIX8664, name: "clone3", want: "errno 38"},
			},
			notes: []string{"clone3: refused with ENOSYS"},
		},
		{
			name: "clone3 fallback",
			// Only clone3 was seen (glibc's pthread_create): refusing it
			// must leave clone allowed for libc's fallback.
			profile: profileOf("clone3-fallback", abiCalls(profiles.ABIX8664, base, one(withArgs("clone3", 0)))),
			probes: []probe{
				{abi: profiles.ABIX8664, name: "clone", args: []uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, want: "allow"},
				{abi: profiles.ABIX8664, name: "clone", args: []uint64{unix.CLONE_NEWNET}, want: "errno 1"},
				{abi: profiles.ABIX8664, name: "clone3", want: "errno 38"},
			},
			notes: []string{"clone is allowed without namespace flags in its place"},
		},
		{
			name:    "clone3 namespaces",
			profile: profileOf("clone3-namespaces", abiCalls(profiles.ABIX8664, base, one(withArgs("clone3", 0, unix.CLONE_NEWUSER)))),
			probes: []probe{
				{abi: profiles.ABIX8664, name: "clone3", want: "allow"},
				{abi: profiles.ABIX8664, name: "clone", want: "errno 1"},
			},
			notes: []string{"clone3: allowed with any flags because namespaces were created through it"},
		},
		{
			name: "overflow",
			profile: profileOf("overflow", abiCalls(profiles.ABIX8664, base, one(overflowed("ioctl")),
				one(profiles.Syscall{Name: "prctl", Seen: profiles.Seen{Recordings: 1}}))),
			probes: []probe{
				{abi: profiles.ABIX8664, name: "ioctl", args: []uint64{1, unix.TIOCSTI}, want: "allow"},
				{abi: profiles.ABIX8664, name: "prctl", args: []uint64{unix.PR_SET_DUMPABLE}, want: "allow"},
			},
			notes: []string{"ioctl: more than 32 distinct values of its request were seen", "prctl: no values of its option were recorded"},
		},
		{
			name: "x86 socketcall",
			profile: profileOf("x86-socketcall",
				abiCalls(profiles.ABIX8664, base, one(withArgs("socket", profiles.SocketValue(unix.AF_INET, sockStream))), plain("connect")),
				abiCalls(profiles.ABIX86, base32, one(withArgs("socketcall", 1, 3)))),
			probes: []probe{
				// The documented hole: libseccomp turns the socket rule into
				// socketcall(SYS_SOCKET) on x86, whose arguments it cannot see.
				{abi: profiles.ABIX86, name: "socketcall", args: []uint64{1}, want: "allow"},
				{abi: profiles.ABIX86, name: "socketcall", args: []uint64{3}, want: "allow"},
				{abi: profiles.ABIX86, name: "socketcall", args: []uint64{2}, want: "errno 1"}, // bind
				{abi: profiles.ABIX86, name: "socket", args: []uint64{unix.AF_PACKET, sockRaw}, want: "errno 1"},
				{abi: profiles.ABIX86, name: "socket", args: []uint64{unix.AF_INET, sockStream}, want: "allow"},
			},
			notes: []string{"ABIs saw different syscalls", "socketcall (x86): socket syscalls can also be made through socketcall(2)",
				"socketcall is allowed only for the calls seen (1, 3)", "a 32-bit task can create a socket of any family"},
		},
		{
			name: "x86 without sockets",
			profile: profileOf("x86-nosocket",
				abiCalls(profiles.ABIX8664, base), abiCalls(profiles.ABIX86, base32)),
			probes: []probe{
				{abi: profiles.ABIX86, name: "socketcall", args: []uint64{1}, want: "errno 1"},
				{abi: profiles.ABIX86, name: "socket", args: []uint64{unix.AF_INET, sockStream}, want: "errno 1"},
			},
			notes: []string{"socketcall was never seen", "socket creation is refused on x86 both ways"},
		},
		{
			name: "x32",
			profile: profileOf("x32", abiCalls(profiles.ABIX8664, base),
				abiCalls(profiles.ABIX32, plain("read", "write", "exit_group", "execve"))),
			probes: []probe{
				{abi: profiles.ABIX32, name: "mkdir", want: "errno 1"},
				{abi: profiles.ABIX86, name: "read", want: "kill-thread"},
			},
		},
		{
			name:    "empty",
			profile: profileOf("empty"),
			probes:  []probe{{abi: profiles.ABIX8664, name: "read", want: "errno 1"}},
			notes:   []string{"the profile has no syscalls"},
		},
	}
}

func TestSeccomp(t *testing.T) {
	for _, tc := range seccompCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, notes, err := Seccomp(tc.profile, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := MarshalSeccomp(s)
			if err != nil {
				t.Fatal(err)
			}
			file := strings.ReplaceAll(tc.name, " ", "-")
			golden(t, "seccomp/"+file+".json", out)
			var text strings.Builder
			for _, n := range notes {
				fmt.Fprintln(&text, n)
			}
			golden(t, "seccomp/"+file+".notes", []byte(text.String()))
			for _, want := range tc.notes {
				if !strings.Contains(text.String(), want) {
					t.Errorf("no note says %q; notes:\n%s", want, text.String())
				}
			}

			vm := newFilterVM(t, s)
			probes := append(derivedProbes(t, tc.profile, tc.opts), tc.probes...)
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
		})
	}
}

// refusedSample is syscalls a hardened container should not get unless it
// was seen using them.
var refusedSample = []string{"mkdir", "mount", "ptrace", "bpf", "kexec_load", "reboot", "unshare", "setns",
	"personality", "socket", "keyctl", "chroot", "init_module", "perf_event_open", "mknod"}

// derivedProbes checks the profile's promises in both directions: every
// syscall and argument value seen passes, on every ABI; a sample of
// syscalls and values never seen is refused with the default action.
func derivedProbes(t *testing.T, p *profiles.Profile, opts SeccompOptions) []probe {
	t.Helper()
	def := map[DefaultAction]string{"": "errno 1", DefaultErrno: "errno 1", DefaultENOSYS: "errno 38",
		DefaultKill: "kill-process", DefaultLog: "log"}[opts.DefaultAction]
	_, calls := unionSyscalls(p)
	clone3Allowed, _ := planClone3(calls)
	var probes []probe
	for _, a := range p.ABIs {
		exists := func(name string) bool { _, err := a.ABI.SyscallNr(name); return err == nil }
		for name, c := range calls {
			if !exists(name) {
				continue
			}
			rule, hasRule := profiles.ArgRuleFor(name)
			switch {
			case name == "clone3":
				want := "errno 38"
				if clone3Allowed {
					want = "allow"
				}
				probes = append(probes, probe{abi: a.ABI, name: name, want: want})
			case !hasRule || c.overflow || c.noArgs:
				probes = append(probes, probe{abi: a.ABI, name: name, want: "allow"})
			default:
				probes = append(probes, argProbes(a.ABI, rule, c.sortedValues(), def)...)
			}
		}
		for _, name := range refusedSample {
			if calls[name] == nil && exists(name) {
				probes = append(probes, probe{abi: a.ABI, name: name, want: def})
			}
		}
	}
	if len(probes) == 0 && len(p.ABIs) > 0 {
		t.Fatal("no probes derived")
	}
	return probes
}

// argProbes passes every recorded value (with the bits the rule ignores
// set too) and refuses values next to them that were never seen.
func argProbes(abi profiles.ABI, rule profiles.ArgRule, values []uint64, def string) []probe {
	var out []probe
	call := func(v uint64, want string) probe {
		args := make([]uint64, rule.Arg+1)
		args[rule.Arg] = v
		return probe{abi: abi, name: rule.Syscall, args: args, want: want}
	}
	seen := func(v uint64) bool { return slices.Contains(values, v&rule.Mask) }
	for _, v := range values {
		switch {
		case rule.Syscall == "socket":
			domain, typ := profiles.SocketDomainType(v)
			out = append(out,
				probe{abi: abi, name: "socket", args: []uint64{domain, typ}, want: "allow"},
				probe{abi: abi, name: "socket", args: []uint64{domain, typ | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}, want: "allow"})
			if !slices.Contains(values, profiles.SocketValue(unix.AF_PACKET, typ)) {
				out = append(out, probe{abi: abi, name: "socket", args: []uint64{unix.AF_PACKET, typ}, want: def})
			}
			if !slices.Contains(values, profiles.SocketValue(domain, sockRaw)) {
				out = append(out, probe{abi: abi, name: "socket", args: []uint64{domain, sockRaw}, want: def})
			}
		case rule.Mask == ^uint64(0):
			out = append(out, call(v, "allow"))
			if !seen(v + 1) {
				out = append(out, call(v+1, def))
			}
		default:
			// Bits outside the mask do not matter (clone's CLONE_VM,
			// ioctl's sign-extended upper half).
			out = append(out, call(v, "allow"), call(v|^rule.Mask&0xffffffff, "allow"))
			if abi != profiles.ABIX86 {
				out = append(out, call(v|^rule.Mask, "allow"))
			}
			for bit := uint64(1); bit != 0 && bit <= rule.Mask; bit <<= 1 {
				if rule.Mask&bit != 0 && !seen(v|bit) {
					out = append(out, call(v|bit, def))
				}
			}
		}
	}
	return out
}

func TestSeccompDeterministic(t *testing.T) {
	for _, tc := range seccompCases() {
		a, _, err := Seccomp(tc.profile, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			b, _, _ := Seccomp(tc.profile, tc.opts)
			ja, _ := MarshalSeccomp(a)
			jb, _ := MarshalSeccomp(b)
			if string(ja) != string(jb) {
				t.Fatalf("%s: output differs between runs", tc.name)
			}
		}
	}
}

func TestSeccompErrors(t *testing.T) {
	bad := profileOf("bad", abiCalls(profiles.ABIX8664, base))
	bad.ABIs[0].Syscalls = append(bad.ABIs[0].Syscalls, profiles.Syscall{Name: "no_such_syscall"})
	tests := []struct {
		name    string
		profile *profiles.Profile
		opts    SeccompOptions
		want    string
	}{
		{name: "nil profile", want: "no profile"},
		{name: "invalid profile", profile: bad, want: `unknown syscall "no_such_syscall"`},
		{name: "bad default action", profile: profileOf("x"), opts: SeccompOptions{DefaultAction: "allow"}, want: `unknown default action "allow"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Seccomp(tc.profile, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseDefaultAction(t *testing.T) {
	for _, a := range DefaultActions {
		if got, err := ParseDefaultAction(string(a)); err != nil || got != a {
			t.Errorf("ParseDefaultAction(%q) = %q, %v", a, got, err)
		}
	}
	if _, err := ParseDefaultAction("trap"); err == nil {
		t.Error("trap accepted")
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    *specs.LinuxSeccomp
		want string
	}{
		{name: "nil", want: "no filter"},
		{name: "unknown action", s: &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, want: "unsupported action"},
		{name: "unknown arch", s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}}, want: "SCMP_ARCH_VAX"},
		{name: "unknown syscall", s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"no_such_syscall"}, Action: specs.ActAllow}}}, want: `unknown syscall "no_such_syscall"`},
		{name: "unknown operator", s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_LIKE"}}}}}, want: "unsupported operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(tc.s)
			if err == nil {
				f.Release()
				t.Fatal("compiled")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Conditions on one argument are ORed (separate rules), as runc does.
func TestCompileSameArgumentIsOr(t *testing.T) {
	one := uint(1)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &one, Syscalls: []specs.LinuxSyscall{{
		Names: []string{"personality"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 0, Value: 8, Op: specs.OpEqualTo}}}}}
	vm := newFilterVM(t, s)
	nr, _ := profiles.ABIX8664.SyscallNr("personality")
	for _, tc := range []struct {
		arg  uint64
		want string
	}{{0, "allow"}, {8, "allow"}, {1, "errno 1"}} {
		if got := verdict(vm.run(t, auditArchX8664, nr, tc.arg)); got != tc.want {
			t.Errorf("personality(%d): %s, want %s", tc.arg, got, tc.want)
		}
	}
}
