package generator

import (
	"github.com/tailor-dev/tailor/internal/enum"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// DefaultAction is what a generated filter does with a syscall the profile
// does not allow.
type DefaultAction string

// The default actions a user can choose.
const (
	// DefaultErrno fails the syscall with EPERM, like Docker's default
	// profile: the workload sees an ordinary permission error.
	DefaultErrno DefaultAction = "errno"
	// DefaultENOSYS fails the syscall with ENOSYS, like podman's default:
	// callers that probe for newer syscalls fall back cleanly.
	DefaultENOSYS DefaultAction = "enosys"
	// DefaultKill kills the whole process (SCMP_ACT_KILL_PROCESS).
	DefaultKill DefaultAction = "kill"
	// DefaultLog allows the syscall and logs it (audit): for trying a
	// profile out, not for enforcement.
	DefaultLog DefaultAction = "log"
)

// DefaultActions lists the accepted default actions, the default first.
var DefaultActions = []DefaultAction{DefaultErrno, DefaultENOSYS, DefaultKill, DefaultLog}

// ParseDefaultAction checks a user's --default-action value.
func ParseDefaultAction(s string) (DefaultAction, error) {
	return enum.Parse("default action", s, DefaultActions)
}

// oci maps the default action to the seccomp JSON's action and errno.
func (a DefaultAction) oci() (specs.LinuxSeccompAction, *uint, error) {
	switch a {
	case DefaultErrno, "":
		return specs.ActErrno, errnoPtr(unix.EPERM), nil
	case DefaultENOSYS:
		return specs.ActErrno, errnoPtr(unix.ENOSYS), nil
	case DefaultKill:
		return specs.ActKillProcess, nil, nil
	case DefaultLog:
		return specs.ActLog, nil, nil
	}
	return "", nil, fmt.Errorf("unknown default action %q (use one of %s)", string(a), enum.Join(DefaultActions))
}

func errnoPtr(e unix.Errno) *uint {
	v := uint(e)
	return &v
}

// SeccompOptions tunes the generated filter.
type SeccompOptions struct {
	// DefaultAction is applied to every syscall the profile does not
	// allow; empty means DefaultErrno.
	DefaultAction DefaultAction
}

// Note is a short sentence about a choice the generator made that a user
// should know about (e.g. an argument rule it could not make).
type Note struct {
	Syscall string       `json:"syscall,omitempty"`
	ABI     profiles.ABI `json:"abi,omitempty"`
	Text    string       `json:"text"`
}

func (n Note) String() string {
	switch {
	case n.Syscall != "" && n.ABI != "":
		return fmt.Sprintf("%s (%s): %s", n.Syscall, n.ABI, n.Text)
	case n.Syscall != "":
		return n.Syscall + ": " + n.Text
	case n.ABI != "":
		return fmt.Sprintf("%s: %s", n.ABI, n.Text)
	}
	return n.Text
}

// seenCall is one syscall name unioned across the profile's ABIs.
type seenCall struct {
	abis     []profiles.ABI
	values   map[uint64]bool
	overflow bool
	// noArgs is set when an ABI saw the syscall without recording its
	// argument values (an older recorder): no rule can be made safely.
	noArgs bool
}

func (s *seenCall) sortedValues() []uint64 {
	var v []uint64
	for x := range s.values {
		v = append(v, x)
	}
	slices.Sort(v)
	return v
}

// unionSyscalls merges the profile's ABIs into one map by name, because
// OCI seccomp has no per-architecture rules.
func unionSyscalls(p *profiles.Profile) (abis []profiles.ABI, calls map[string]*seenCall) {
	calls = map[string]*seenCall{}
	for _, a := range p.ABIs {
		abis = append(abis, a.ABI)
		for _, s := range a.Syscalls {
			c := calls[s.Name]
			if c == nil {
				c = &seenCall{values: map[uint64]bool{}}
				calls[s.Name] = c
			}
			c.abis = append(c.abis, a.ABI)
			if _, ok := profiles.ArgRuleFor(s.Name); !ok {
				continue
			}
			switch {
			case s.Args == nil:
				c.noArgs = true
			case s.Args.Overflow:
				c.overflow = true
			default:
				for _, v := range s.Args.Values {
					c.values[v] = true
				}
			}
		}
	}
	sort.Slice(abis, func(i, j int) bool { return abis[i].Index() < abis[j].Index() })
	return abis, calls
}

// Seccomp generates the tightest OCI seccomp filter that allows what the
// profile saw: one allow rule with the names of the syscalls whose
// arguments do not matter, and one rule per recorded argument value for
// those that do (see profiles.ArgRules). Notes explain where the filter is
// looser than the profile (argument overflow, socketcall, ABI union).
func Seccomp(p *profiles.Profile, opts SeccompOptions) (*specs.LinuxSeccomp, []Note, error) {
	if p == nil {
		return nil, nil, errors.New("generate seccomp: no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("generate seccomp: %w", err)
	}
	def, defErrno, err := opts.DefaultAction.oci()
	if err != nil {
		return nil, nil, fmt.Errorf("generate seccomp: %w", err)
	}
	abis, calls := unionSyscalls(p)
	out := &specs.LinuxSeccomp{DefaultAction: def, DefaultErrnoRet: defErrno}
	for _, a := range abis {
		out.Architectures = append(out.Architectures, a.OCIArch())
	}
	notes := abiUnionNotes(p, len(calls))
	if p.Source.SyscallBoundary == "exec" {
		notes = append(notes, Note{Text: "learned without any seccomp filter in the container (counting from its final execve): " +
			"what the runtime does between loading a filter and that execve was not recorded, so a runtime that loads " +
			"this filter early may be refused; learn with tailor learn, or under the engine's default filter"})
	}
	notes = append(notes, addRuntimeSyscalls(p, calls)...)
	clone3Allowed, clone3Notes := planClone3(calls)
	notes = append(notes, clone3Notes...)

	var names []string
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	var plain []string
	var withArgs []specs.LinuxSyscall
	for _, name := range names {
		c := calls[name]
		rule, hasRule := profiles.ArgRuleFor(name)
		switch {
		case name == "clone3":
			if clone3Allowed {
				plain = append(plain, name)
			}
		case !hasRule:
			plain = append(plain, name)
		case c.overflow:
			plain = append(plain, name)
			notes = append(notes, Note{Syscall: name, Text: fmt.Sprintf(
				"more than %d distinct values of its %s were seen: allowed with any argument",
				profiles.MaxArgValues, rule.Meaning)})
		case c.noArgs || len(c.values) == 0:
			plain = append(plain, name)
			notes = append(notes, Note{Syscall: name, Text: fmt.Sprintf(
				"no values of its %s were recorded: allowed with any argument", rule.Meaning)})
		default:
			withArgs = append(withArgs, argSyscalls(rule, c.sortedValues())...)
		}
	}
	if len(plain) > 0 {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: plain, Action: specs.ActAllow})
	}
	out.Syscalls = append(out.Syscalls, withArgs...)
	if !clone3Allowed && !(def == specs.ActErrno && *defErrno == uint(unix.ENOSYS)) {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{
			Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.ENOSYS)})
	}
	notes = append(notes, socketcallNotes(abis, calls)...)
	if len(calls) == 0 {
		notes = append(notes, Note{Text: "the profile has no syscalls: the filter refuses every syscall"})
	}
	return out, notes, nil
}

// argSyscalls makes one allow rule per recorded value. Conditions of one
// rule are ANDed by libseccomp; separate rules are ORed.
func argSyscalls(rule profiles.ArgRule, values []uint64) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, v := range values {
		var args []specs.LinuxSeccompArg
		switch {
		case rule.Syscall == "socket":
			domain, typ := profiles.SocketDomainType(v)
			args = []specs.LinuxSeccompArg{
				{Index: 0, Value: domain, Op: specs.OpEqualTo},
				{Index: 1, Value: profiles.SocketTypeMask, ValueTwo: typ, Op: specs.OpMaskedEqual},
			}
		case rule.Mask == ^uint64(0):
			args = []specs.LinuxSeccompArg{{Index: uint(rule.Arg), Value: v, Op: specs.OpEqualTo}}
		default:
			// Docker's spelling: value is the mask, valueTwo the expected bits.
			args = []specs.LinuxSeccompArg{{Index: uint(rule.Arg), Value: rule.Mask, ValueTwo: v & rule.Mask, Op: specs.OpMaskedEqual}}
		}
		out = append(out, specs.LinuxSyscall{Names: []string{rule.Syscall}, Action: specs.ActAllow, Args: args})
	}
	return out
}

// planClone3 decides clone3's fate. clone3 takes its flags in a struct in
// user memory, which seccomp cannot read, so it can only be allowed whole
// or refused. Refused with ENOSYS, libc falls back to clone, whose flags
// the filter can check: clone then needs the flags clone3 was used with.
func planClone3(calls map[string]*seenCall) (allowed bool, notes []Note) {
	c3 := calls["clone3"]
	if c3 == nil {
		return false, nil
	}
	switch {
	case c3.overflow || c3.noArgs:
		return true, []Note{{Syscall: "clone3", Text: "its namespace flags were not fully recorded and are in user memory, " +
			"where seccomp cannot check them: allowed with any flags"}}
	case slices.ContainsFunc(c3.sortedValues(), func(v uint64) bool { return v&profiles.NamespaceMask != 0 }):
		return true, []Note{{Syscall: "clone3", Text: "allowed with any flags because namespaces were created through it " +
			"(its flags are in user memory, where seccomp cannot check them)"}}
	}
	clone := calls["clone"]
	if clone == nil {
		clone = &seenCall{abis: c3.abis, values: map[uint64]bool{}}
		calls["clone"] = clone
	}
	clone.values[0] = true
	return false, []Note{{Syscall: "clone3", Text: "refused with ENOSYS so that libc falls back to clone, " +
		"whose namespace flags the filter checks; clone is allowed without namespace flags in its place"}}
}

// abiUnionNotes says when the ABIs saw different syscalls: OCI seccomp
// has no per-architecture rules, so each ABI gets the union.
func abiUnionNotes(p *profiles.Profile, union int) []Note {
	if len(p.ABIs) < 2 {
		return nil
	}
	var counts []string
	differ := false
	for _, a := range sortedABIs(p) {
		n := len(a.Syscalls)
		counts = append(counts, fmt.Sprintf("%s %d", a.ABI, n))
		differ = differ || n != union
	}
	if !differ {
		return nil
	}
	return []Note{{Text: fmt.Sprintf("the ABIs saw different syscalls (%s); OCI seccomp has no per-architecture rules, "+
		"so the union (%d names) is allowed on every architecture listed", strings.Join(counts, ", "), union)}}
}

func sortedABIs(p *profiles.Profile) []profiles.ABISyscalls {
	a := slices.Clone(p.ABIs)
	sort.SliceStable(a, func(i, j int) bool { return a[i].ABI.Index() < a[j].ABI.Index() })
	return a
}

// MarshalSeccomp encodes a seccomp filter as indented JSON with a trailing
// newline: the bytes tailor writes.
func MarshalSeccomp(s *specs.LinuxSeccomp) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode seccomp: %w", err)
	}
	return buf.Bytes(), nil
}

// sysSocket is socketcall's call number for socket(2) (SYS_SOCKET in
// linux/net.h).
const sysSocket = 1

// socketcallNotes says what happens to socketcall on x86, where every
// socket syscall can also be reached through socketcall(2) with its
// arguments in user memory. libseccomp (used by runc and crun) adds the
// socketcall form of every allowed socket syscall on its own, so a socket
// family rule cannot hold for 32-bit tasks; tailor adds only the calls the
// profile saw, and says so. The generator tests check every claim here.
func socketcallNotes(abis []profiles.ABI, calls map[string]*seenCall) []Note {
	if !slices.Contains(abis, profiles.ABIX86) {
		return nil
	}
	text := "socket syscalls can also be made through socketcall(2), whose arguments are in user memory where seccomp cannot check them. "
	sc := calls["socketcall"]
	switch {
	case sc == nil:
		text += "socketcall was never seen: only the calls whose direct syscall is allowed pass (libseccomp adds them)"
	case sc.overflow || sc.noArgs || len(sc.values) == 0:
		text += "socketcall's calls were not recorded: socketcall is allowed with any call"
	default:
		var nums []string
		for _, v := range sc.sortedValues() {
			nums = append(nums, fmt.Sprint(v))
		}
		text += fmt.Sprintf("socketcall is allowed only for the calls seen (%s) and those whose direct syscall is allowed (libseccomp adds them)",
			strings.Join(nums, ", "))
	}
	socketAllowed := calls["socket"] != nil ||
		(sc != nil && (sc.overflow || sc.noArgs || sc.values[sysSocket]))
	if socketAllowed {
		text += "; so the socket family rules do not hold on x86: a 32-bit task can create a socket of any family through socketcall(SYS_SOCKET)"
	} else {
		text += "; socket creation is refused on x86 both ways"
	}
	return []Note{{Syscall: "socketcall", ABI: profiles.ABIX86, Text: text}}
}
