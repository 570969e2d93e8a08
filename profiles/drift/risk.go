package drift

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

// This file is tailor's risk classification of new needs. It is curated:
// every grade says why and where it comes from. What the tables below do
// not name is graded from Docker's default seccomp profile (moby/profiles,
// read at run time): a syscall, socket family or persona it refuses is
// medium, one it allows is low. docs/drift.md shows the tables
// (regenerate with go test ./profiles/drift -update).

// Risk grades an addition.
type Risk int

// Risks, in increasing order.
const (
	RiskNone Risk = iota
	Low
	Medium
	High
)

var riskNames = []string{"none", "low", "medium", "high"}

func (r Risk) String() string {
	if r < 0 || int(r) >= len(riskNames) {
		return fmt.Sprintf("risk(%d)", int(r))
	}
	return riskNames[r]
}

// MarshalText spells the risk in JSON reports.
func (r Risk) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a risk's name.
func (r *Risk) UnmarshalText(b []byte) error {
	i := slices.Index(riskNames, string(b))
	if i < 0 {
		return fmt.Errorf("unknown risk %q (want low, medium or high)", b)
	}
	*r = Risk(i)
	return nil
}

// Grade is a risk and its justification.
type Grade struct {
	Risk Risk `json:"risk"`
	// Why says what the need lets the container do.
	Why string `json:"why"`
	// Source says where the grade comes from (Docker's default profile,
	// man pages, CVEs).
	Source string `json:"source"`
}

func grade(r Risk, why, source string) Grade { return Grade{Risk: r, Why: why, Source: source} }

func highest(gs ...Grade) Grade {
	var out Grade
	for _, g := range gs {
		if g.Risk > out.Risk {
			out = g
		}
	}
	return out
}

const (
	srcNS     = "Docker's default profile allows clone only without namespace flags and unshare only with CAP_SYS_ADMIN; user_namespaces(7)"
	nsWhy     = "creates namespaces; user namespaces expose kernel code otherwise reserved to root to any process (e.g. CVE-2022-0185)"
	mountWhy  = "changes the filesystem view: the basis of most container escapes (e.g. CVE-2022-0492 through a cgroup mount)"
	mountSrc  = "Docker's default profile (CAP_SYS_ADMIN only); mount(2)"
	fsapiWhy  = "the new mount API, as powerful as mount(2) (fsconfig was CVE-2022-0185)"
	keyWhy    = "the kernel keyring is not namespaced: other containers' and the host's keys are in reach"
	keySrc    = "Docker's default profile (refused: \"the kernel keyring is not namespaced\"); keyrings(7)"
	moduleWhy = "loads or unloads kernel modules: arbitrary code in the kernel"
	moduleSrc = "Docker's default profile (CAP_SYS_MODULE only); init_module(2)"
	kexecSrc  = "Docker's default profile (refused); kexec_load(2)"
	uringWhy  = "a large, fast-changing kernel interface whose operations seccomp cannot filter, with many privilege-escalation CVEs (e.g. CVE-2022-29582, CVE-2023-2598)"
	uringSrc  = "Docker's default profile (refused); io_uring(7)"
	vmWhy     = "reads or writes another process's memory"
	vmSrc     = "Docker's default profile (CAP_SYS_PTRACE, or kernel 4.8 and later); process_vm_readv(2)"
	timeWhy   = "time is not namespaced: sets the host's clock"
	timeSrc   = "Docker's default profile (CAP_SYS_TIME only); clock_settime(2)"
)

// syscallGrades grades syscalls by name. For the syscalls whose arguments
// tailor records (profiles.ArgRules) it is the grade of allowing any value:
// recorded values are graded by valueGrade.
var syscallGrades = map[string]Grade{
	"bpf": grade(High, "loads programs and maps into the kernel; eBPF verifier bugs are a recurring privilege-escalation class (e.g. CVE-2021-3490, CVE-2022-23222)",
		"Docker's default profile (CAP_SYS_ADMIN or CAP_BPF only); bpf(2)"),
	"ptrace": grade(High, "reads and writes the memory and registers of other processes; before Linux 4.8 it could bypass seccomp",
		"Docker's default profile (CAP_SYS_PTRACE, or kernel 4.8 and later); ptrace(2)"),
	"process_vm_readv":  grade(High, vmWhy, vmSrc),
	"process_vm_writev": grade(High, vmWhy, vmSrc),
	"mount":             grade(High, mountWhy, mountSrc),
	"umount":            grade(High, "unmounts, possibly uncovering what a mount hid", mountSrc),
	"umount2":           grade(High, "unmounts, possibly uncovering what a mount hid", mountSrc),
	"pivot_root":        grade(High, "replaces the root filesystem", "Docker's default profile (refused); pivot_root(2)"),
	"fsopen":            grade(High, fsapiWhy, mountSrc),
	"fsconfig":          grade(High, fsapiWhy, mountSrc),
	"fsmount":           grade(High, fsapiWhy, mountSrc),
	"fspick":            grade(High, fsapiWhy, mountSrc),
	"move_mount":        grade(High, fsapiWhy, mountSrc),
	"open_tree":         grade(High, fsapiWhy, mountSrc),
	"mount_setattr":     grade(High, fsapiWhy, mountSrc),
	"clone":             grade(High, "any flags: "+nsWhy, srcNS),
	"clone3":            grade(High, "any flags, which seccomp cannot check (they are in user memory): "+nsWhy, srcNS),
	"unshare":           grade(High, "any flags: "+nsWhy, srcNS),
	"setns": grade(High, "enters another process's namespaces (the host's, if it can open them)",
		"Docker's default profile (CAP_SYS_ADMIN only); setns(2)"),
	"keyctl":          grade(High, keyWhy, keySrc),
	"add_key":         grade(High, keyWhy, keySrc),
	"request_key":     grade(High, keyWhy, keySrc),
	"init_module":     grade(High, moduleWhy, moduleSrc),
	"finit_module":    grade(High, moduleWhy, moduleSrc),
	"delete_module":   grade(High, moduleWhy, moduleSrc),
	"kexec_load":      grade(High, "replaces the running kernel", kexecSrc),
	"kexec_file_load": grade(High, "replaces the running kernel", kexecSrc),
	"perf_event_open": grade(High, "kernel performance events leak kernel addresses and timing, and are a recurring CVE source (e.g. CVE-2013-2094)",
		"Docker's default profile (CAP_PERFMON or CAP_SYS_ADMIN only); perf_event_open(2)"),
	"userfaultfd": grade(High, "stalls the kernel's page faults on chosen memory: the standard way to win kernel race conditions in exploits",
		"Docker's default profile (refused); userfaultfd(2)"),
	"io_uring_setup":    grade(High, uringWhy, uringSrc),
	"io_uring_enter":    grade(High, uringWhy, uringSrc),
	"io_uring_register": grade(High, uringWhy, uringSrc),
	"open_by_handle_at": grade(High, "opens files by handle, past the mount namespace: the 2014 \"shocker\" container escape",
		"Docker's default profile (CAP_DAC_READ_SEARCH only); open_by_handle_at(2)"),
	"iopl":   grade(High, "direct access to hardware I/O ports", "Docker's default profile (CAP_SYS_RAWIO only); iopl(2)"),
	"ioperm": grade(High, "direct access to hardware I/O ports", "Docker's default profile (CAP_SYS_RAWIO only); ioperm(2)"),
	"socket": grade(High, "any socket family and type, packet and netlink sockets included",
		"Docker's default profile (a list of socket families); socket(2)"),
	"ioctl": grade(High, "any ioctl request, TIOCSTI (typing into the controlling terminal) included",
		"ioctl_tty(2); CVE-2017-5226"),
	"prctl":       grade(Medium, "any prctl option, PR_SET_MM and PR_CAP_AMBIENT included", "prctl(2)"),
	"personality": grade(Medium, "any persona, ADDR_NO_RANDOMIZE (no ASLR) included", "Docker's default profile (a list of personas); personality(2)"),
	"socketcall": grade(Medium, "i386's multiplexer for socket calls, whose arguments seccomp cannot see: socket families cannot be checked",
		"socketcall(2); seccomp_rule_add(3)"),
	"syslog": grade(Medium, "reads the kernel log, which leaks kernel addresses", "Docker's default profile (CAP_SYSLOG only); syslog(2)"),
	"reboot": grade(Medium, "restarts the host with CAP_SYS_BOOT in the host's user namespace, else ends the container",
		"Docker's default profile (CAP_SYS_BOOT only); reboot(2)"),
	"settimeofday":  grade(Medium, timeWhy, timeSrc),
	"clock_settime": grade(Medium, timeWhy, timeSrc),
	"stime":         grade(Medium, timeWhy, timeSrc),
	"chroot": grade(Low, "changes the root directory; harmless without other privileges",
		"Docker's default profile (CAP_SYS_CHROOT, in Docker's default capability set); chroot(2)"),
}

// abiGrade grades an ABI CURRENT uses and BASELINE does not.
var abiGrade = grade(Medium, "32-bit entry points into the kernel are a separate, less exercised path (e.g. CVE-2010-3081 in the compat layer)",
	"kernel compat-syscall CVE history")

const (
	capsSrc      = "capabilities(7)"
	dockerCapSrc = "Docker's default capability set (moby oci/caps/defaults.go); capabilities(7)"
)

// capabilityGrades grades capabilities. Those not named are medium: not in
// Docker's default capability set.
var capabilityGrades = map[string]Grade{
	"CAP_SYS_ADMIN":       grade(High, "the catch-all: mount, namespaces, BPF, and most known container escapes", capsSrc),
	"CAP_NET_ADMIN":       grade(High, "configures interfaces, routes and netfilter, a recurring CVE source (e.g. CVE-2023-32233 in nf_tables)", capsSrc),
	"CAP_SYS_PTRACE":      grade(High, "traces any process it can see and reads its memory", capsSrc),
	"CAP_SYS_MODULE":      grade(High, "loads kernel modules: arbitrary code in the kernel", capsSrc),
	"CAP_DAC_READ_SEARCH": grade(High, "bypasses read permission checks and allows open_by_handle_at (the \"shocker\" escape)", capsSrc),
	"CAP_BPF":             grade(High, "loads BPF programs and maps", capsSrc),
	"CAP_SYS_RAWIO":       grade(High, "raw I/O: I/O ports, /dev/mem, device-specific commands", capsSrc),
	"CAP_PERFMON":         grade(High, "performance monitoring with perf_event_open, which leaks kernel addresses", capsSrc),
	"CAP_SYS_BOOT":        grade(High, "reboots and loads a new kernel (kexec_load)", capsSrc),
	"CAP_MAC_ADMIN":       grade(High, "changes LSM (AppArmor, SELinux, Smack) policy", capsSrc),
	"CAP_MAC_OVERRIDE":    grade(High, "bypasses LSM policy", capsSrc),
	"CAP_NET_RAW": grade(Medium, "in Docker's default set, but opens raw and packet sockets: spoofing and sniffing in the network namespace",
		dockerCapSrc),
	"CAP_CHOWN":            grade(Low, "changes file owners", dockerCapSrc),
	"CAP_DAC_OVERRIDE":     grade(Low, "bypasses file permission checks", dockerCapSrc),
	"CAP_FSETID":           grade(Low, "keeps set-user-ID bits on modified files", dockerCapSrc),
	"CAP_FOWNER":           grade(Low, "bypasses file-owner checks", dockerCapSrc),
	"CAP_MKNOD":            grade(Low, "creates device nodes (opening them is up to the device cgroup)", dockerCapSrc),
	"CAP_SETGID":           grade(Low, "changes group IDs", dockerCapSrc),
	"CAP_SETUID":           grade(Low, "changes user IDs", dockerCapSrc),
	"CAP_SETFCAP":          grade(Low, "sets file capabilities", dockerCapSrc),
	"CAP_SETPCAP":          grade(Low, "changes its own capability sets within its bounding set", dockerCapSrc),
	"CAP_NET_BIND_SERVICE": grade(Low, "binds ports below 1024", dockerCapSrc),
	"CAP_SYS_CHROOT":       grade(Low, "uses chroot", dockerCapSrc),
	"CAP_KILL":             grade(Low, "signals processes of other users", dockerCapSrc),
	"CAP_AUDIT_WRITE":      grade(Low, "writes to the kernel audit log", dockerCapSrc),
}

// CapabilityGrade grades a capability CURRENT is granted and BASELINE was
// not.
func CapabilityGrade(name string) Grade {
	if g, ok := capabilityGrades[name]; ok {
		return g
	}
	return grade(Medium, "not in Docker's default capability set", dockerCapSrc)
}

// SyscallGrade grades a syscall CURRENT makes on abi and BASELINE does not,
// regardless of its arguments (for the syscalls whose arguments tailor
// records: with any argument).
func SyscallGrade(abi profiles.ABI, name string) Grade {
	if g, ok := syscallGrades[name]; ok {
		return g
	}
	d := dockerDefault()
	if d.err != nil {
		return grade(Medium, "not in tailor's table, and Docker's default profile could not be read: "+d.err.Error(), "none")
	}
	if _, ok := d.profile.Syscall(abi, name); ok {
		return grade(Low, "allowed by Docker's default profile", "Docker's default profile")
	}
	src := "Docker's default profile (refused)"
	if caps := d.gates[name]; len(caps) > 0 {
		src = fmt.Sprintf("Docker's default profile (%s only)", strings.Join(caps, " or "))
	}
	return grade(Medium, "refused to containers by Docker's default profile", src)
}

// ValueGrade grades an argument value of a syscall from profiles.ArgRules
// that CURRENT uses and BASELINE does not.
func ValueGrade(abi profiles.ABI, syscall string, v uint64) Grade {
	switch syscall {
	case "clone", "clone3", "unshare":
		if v&profiles.NamespaceMask == 0 {
			return grade(Low, "no namespace flags", srcNS)
		}
		why := "creates namespaces (" + flagNames(cloneFlags, v&profiles.NamespaceMask) + ")"
		if v&uint64(0x10000000) != 0 { // CLONE_NEWUSER
			why += "; user namespaces expose kernel code otherwise reserved to root to any process (e.g. CVE-2022-0185)"
		}
		return grade(High, why, srcNS)
	case "setns":
		return syscallGrades["setns"]
	case "socket":
		return socketGrade(abi, v)
	case "ioctl":
		if n, _ := lookup(ioctlRequests, v); n == "TIOCSTI" {
			return grade(High, "types into the controlling terminal: commands run in the shell outside the container (CVE-2017-5226 class)",
				"ioctl_tty(2); Linux 6.2's dev.tty.legacy_tiocsti")
		}
		return grade(Low, "a device-specific request, reachable only through device files the container can open", "ioctl(2)")
	case "prctl":
		switch n, _ := lookup(prctlOptions, v); n {
		case "PR_SET_MM":
			return grade(Medium, "rewrites the process's memory-map descriptors (with CAP_SYS_RESOURCE)", "prctl(2)")
		case "PR_CAP_AMBIENT":
			return grade(Medium, "raises ambient capabilities, which survive execve", "prctl(2); capabilities(7)")
		case "PR_SET_SECUREBITS":
			return grade(Medium, "changes how capabilities follow user-ID changes", "prctl(2); capabilities(7)")
		}
		return grade(Low, "a process attribute", "prctl(2)")
	case "personality":
		if dockerAllowsValue(abi, syscall, v) {
			return grade(Low, "a persona Docker's default profile allows", "Docker's default profile")
		}
		why := "a persona Docker's default profile refuses"
		if v&perAddrNoRandom != 0 {
			why += "; ADDR_NO_RANDOMIZE turns off address-space randomisation"
		}
		if v&perReadImpliesExe != 0 {
			why += "; READ_IMPLIES_EXEC makes readable memory executable"
		}
		return grade(Medium, why, "Docker's default profile (a list of personas); personality(2)")
	case "socketcall":
		if v == 1 {
			return grade(Medium, "SYS_SOCKET through socketcall: seccomp cannot check the socket family", "socketcall(2)")
		}
		return grade(Low, "a socket call; its arguments are checked by nothing, but it needs a socket", "socketcall(2)")
	}
	return SyscallGrade(abi, syscall)
}

func socketGrade(abi profiles.ABI, v uint64) Grade {
	domain, typ := profiles.SocketDomainType(v)
	d, _ := lookup(socketDomains, domain)
	switch d {
	case "AF_PACKET":
		return grade(High, "raw link-layer access: sniffs and injects frames; packet sockets had privilege-escalation bugs (CVE-2016-8655, CVE-2017-7308, CVE-2020-14386)",
			"packet(7); CVEs")
	case "AF_NETLINK":
		return grade(High, "talks to kernel subsystems (routing, netfilter, xfrm, audit); nf_tables is a recurring privilege-escalation path (e.g. CVE-2023-32233). "+
			"The netlink protocol is not recorded: routing queries (getifaddrs) look the same",
			"netlink(7); CVEs")
	case "AF_RDS":
		return grade(High, "RDS sockets had privilege-escalation bugs (CVE-2010-3904)", "rds(7); CVEs")
	case "AF_INET", "AF_INET6":
		if typ == 3 { // SOCK_RAW
			return grade(High, "raw IP sockets craft any packet (spoofing) in the network namespace", "raw(7)")
		}
	case "AF_VSOCK":
		return grade(Medium, "talks to the hypervisor or host over virtio-vsock", "Docker's default profile (refused); vsock(7)")
	}
	if dockerAllowsValue(abi, "socket", v) {
		return grade(Low, "a socket family Docker's default profile allows", "Docker's default profile")
	}
	return grade(Medium, "a socket family Docker's default profile refuses: rarely used protocol code", "Docker's default profile (a list of socket families)")
}

func dockerAllowsValue(abi profiles.ABI, syscall string, v uint64) bool {
	d := dockerDefault()
	if d.err != nil {
		return false
	}
	s, ok := d.profile.Syscall(abi, syscall)
	if !ok || s.Args == nil || s.Args.Overflow {
		return ok
	}
	// An imported profile's values are sorted (Normalize).
	_, found := slices.BinarySearch(s.Args.Values, v)
	return found
}

type docker struct {
	profile *profiles.Profile
	gates   map[string][]string // syscall -> capabilities that allow it
	err     error
}

// dockerDefault is Docker's default profile as applied to a container
// without extra capabilities, and the capabilities its conditional rules
// name per syscall.
var dockerDefault = sync.OnceValue(func() *docker {
	def := mobyseccomp.DefaultProfile()
	data, err := json.Marshal(def)
	if err != nil {
		return &docker{err: err}
	}
	r, err := seccompjson.Import(data, seccompjson.Options{})
	if err != nil {
		return &docker{err: err}
	}
	d := &docker{profile: r.Profile, gates: map[string][]string{}}
	for _, s := range def.Syscalls {
		if s.Action != specs.ActAllow || s.Includes == nil {
			continue
		}
		for _, n := range append(s.Names, s.Name) {
			for _, c := range s.Includes.Caps {
				if !slices.Contains(d.gates[n], c) {
					d.gates[n] = append(d.gates[n], c)
				}
			}
			sort.Strings(d.gates[n])
		}
	}
	return d
})
