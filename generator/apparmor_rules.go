package generator

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// aaCapabilities are the capability names AppArmor 3.0 knows (its
// features file's caps mask), by their Linux names.
var aaCapabilities = map[string]bool{}

func init() {
	for _, c := range strings.Fields("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap " +
		"linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio " +
		"sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod " +
		"lease audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read " +
		"perfmon bpf checkpoint_restore") {
		aaCapabilities[c] = true
	}
}

// aaCapabilityRules returns a rule per granted capability.
func aaCapabilityRules(p *profiles.Profile) ([]string, []Note) {
	var rules []string
	var notes []Note
	for _, name := range p.GrantedCapabilities() {
		aa := strings.ToLower(strings.TrimPrefix(name, "CAP_"))
		if !aaCapabilities[aa] {
			notes = append(notes, Note{Text: fmt.Sprintf("%s is unknown to AppArmor 3.0: no rule can allow it, "+
				"so the workload is refused it under this profile", name)})
			continue
		}
		rules = append(rules, "capability "+aa+",")
	}
	return rules, notes
}

// aaFamilies names the socket families AppArmor 3.0 mediates (its
// features file's af_mask), by number.
var aaFamilies = map[uint64]string{
	unix.AF_UNSPEC: "unspec", unix.AF_UNIX: "unix", unix.AF_INET: "inet", unix.AF_AX25: "ax25", unix.AF_IPX: "ipx",
	unix.AF_APPLETALK: "appletalk", unix.AF_NETROM: "netrom", unix.AF_BRIDGE: "bridge", unix.AF_ATMPVC: "atmpvc",
	unix.AF_X25: "x25", unix.AF_INET6: "inet6", unix.AF_ROSE: "rose", unix.AF_NETBEUI: "netbeui",
	unix.AF_SECURITY: "security", unix.AF_KEY: "key", unix.AF_NETLINK: "netlink", unix.AF_PACKET: "packet",
	unix.AF_ASH: "ash", unix.AF_ECONET: "econet", unix.AF_ATMSVC: "atmsvc", unix.AF_RDS: "rds", unix.AF_SNA: "sna",
	unix.AF_IRDA: "irda", unix.AF_PPPOX: "pppox", unix.AF_WANPIPE: "wanpipe", unix.AF_LLC: "llc", unix.AF_IB: "ib",
	unix.AF_MPLS: "mpls", unix.AF_CAN: "can", unix.AF_TIPC: "tipc", unix.AF_BLUETOOTH: "bluetooth",
	unix.AF_IUCV: "iucv", unix.AF_RXRPC: "rxrpc", unix.AF_ISDN: "isdn", unix.AF_PHONET: "phonet",
	unix.AF_IEEE802154: "ieee802154", unix.AF_CAIF: "caif", unix.AF_ALG: "alg", unix.AF_NFC: "nfc",
	unix.AF_VSOCK: "vsock", unix.AF_KCM: "kcm", unix.AF_QIPCRTR: "qipcrtr", unix.AF_SMC: "smc", unix.AF_XDP: "xdp",
}

// aaSocketTypes names the socket types AppArmor network rules take.
var aaSocketTypes = map[uint64]string{
	unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram", unix.SOCK_RAW: "raw", unix.SOCK_RDM: "rdm",
	unix.SOCK_SEQPACKET: "seqpacket", unix.SOCK_PACKET: "packet",
}

// aaNetProtocols maps the Network section's protocols to socket types.
var aaNetProtocols = map[string]string{"tcp": "stream", "udp": "dgram", "stream": "stream", "dgram": "dgram", "seqpacket": "seqpacket"}

// aaNetworkRules returns the network rules: a family and type per socket
// the workload created (socket(2)'s recorded domain and type), per
// socketpair (unix) and per endpoint of the network section (a socket
// the workload may have been handed). Where the recording cannot say
// which families a socket had, every family is allowed, with a note.
func aaNetworkRules(p *profiles.Profile) ([]string, []Note) {
	var notes []Note
	families := map[string]map[string]bool{} // family -> types; an empty type is any type
	add := func(family, typ string) {
		if families[family] == nil {
			families[family] = map[string]bool{}
		}
		families[family][typ] = true
	}
	all := ""
	_, calls := unionSyscalls(p)
	if c := calls["socket"]; c != nil {
		switch {
		case c.overflow:
			all = fmt.Sprintf("more than %d distinct socket families and types were seen", profiles.MaxArgValues)
		case c.noArgs:
			all = "socket(2) was recorded without its arguments"
		}
		for _, v := range c.sortedValues() {
			domain, typ := profiles.SocketDomainType(v)
			family, ok := aaFamilies[domain]
			if !ok {
				all = fmt.Sprintf("socket family %d is unknown to AppArmor 3.0", domain)
				continue
			}
			t, ok := aaSocketTypes[typ]
			if !ok {
				notes = append(notes, Note{Syscall: "socket", Text: fmt.Sprintf(
					"socket type %d has no AppArmor name: family %s is allowed with any type", typ, family)})
			}
			add(family, t)
		}
	}
	if calls["socketcall"] != nil {
		all = "socketcall(2) (x86) hides socket's arguments from the recorder"
	}
	if calls["socketpair"] != nil {
		add("unix", "")
	}
	endpoints := 0
	for _, n := range p.Network {
		add(n.Family, aaNetProtocols[n.Protocol])
		if n.Port != 0 || n.Address != "" {
			endpoints++
		}
	}
	if all != "" {
		notes = append(notes, Note{Text: all + ": every network family is allowed (network,)"})
		return []string{"network,"}, notes
	}
	if endpoints > 0 {
		notes = append(notes, Note{Text: fmt.Sprintf("AppArmor network rules name families and types, not ports or "+
			"addresses: the %d endpoints the profile records are not narrowed further", endpoints)})
	}
	var rules []string
	for _, family := range slices.Sorted(maps.Keys(families)) {
		if families[family][""] {
			rules = append(rules, "network "+family+",")
			continue
		}
		for _, t := range slices.Sorted(maps.Keys(families[family])) {
			rules = append(rules, "network "+family+" "+t+",")
		}
	}
	return rules, notes
}

// aaSignalNames maps signal names to AppArmor's set= names.
var aaSignalNames = map[string]string{
	"SIGHUP": "hup", "SIGINT": "int", "SIGQUIT": "quit", "SIGILL": "ill", "SIGTRAP": "trap", "SIGABRT": "abrt",
	"SIGIOT": "abrt", "SIGBUS": "bus", "SIGFPE": "fpe", "SIGKILL": "kill", "SIGUSR1": "usr1", "SIGSEGV": "segv",
	"SIGUSR2": "usr2", "SIGPIPE": "pipe", "SIGALRM": "alrm", "SIGTERM": "term", "SIGSTKFLT": "stkflt",
	"SIGCHLD": "chld", "SIGCLD": "chld", "SIGCONT": "cont", "SIGSTOP": "stop", "SIGTSTP": "stp", "SIGTTIN": "ttin",
	"SIGTTOU": "ttou", "SIGURG": "urg", "SIGXCPU": "xcpu", "SIGXFSZ": "xfsz", "SIGVTALRM": "vtalrm",
	"SIGPROF": "prof", "SIGWINCH": "winch", "SIGIO": "io", "SIGPOLL": "io", "SIGPWR": "pwr", "SIGSYS": "sys",
}

// aaSignalName returns AppArmor's name of a signal, real-time ones
// (SIGRTMIN+N) included.
func aaSignalName(sig string) (string, bool) {
	if n, ok := aaSignalNames[sig]; ok {
		return n, true
	}
	rest, ok := strings.CutPrefix(sig, "SIGRTMIN+")
	if v, err := strconv.Atoi(rest); ok && err == nil && v >= 0 && v <= 32 && strconv.Itoa(v) == rest {
		return "rtmin+" + rest, true
	}
	return "", false
}

// aaIPCRules returns the signal and ptrace rules: within the profile
// itself (the container's processes), signals from the runtime and the
// host (docker stop, kill), ptrace only when the workload made the
// ptrace syscall, and the signals it sent outside the container, to
// peers assumed unconfined.
func aaIPCRules(p *profiles.Profile, name string) ([]string, []Note) {
	rules := []string{
		"signal (send,receive) peer=" + name + ",",
		"signal (receive) peer=unconfined,",
		"signal (receive) peer=runc,",
		"signal (receive) peer=crun,",
	}
	var notes []Note
	_, calls := unionSyscalls(p)
	if calls["ptrace"] != nil {
		rules = append(rules, "ptrace (read,readby,trace,tracedby) peer="+name+",")
	} else {
		rules = append(rules, "ptrace (read,readby) peer="+name+",")
	}
	sets := map[string]bool{}
	for _, s := range p.Signals {
		if s.Signal == "ptrace" {
			notes = append(notes, Note{Text: fmt.Sprintf("the workload tried to ptrace %q outside the container: "+
				"not allowed (add a ptrace rule by hand if it must)", s.Target)})
			continue
		}
		n, ok := aaSignalName(s.Signal)
		if !ok {
			notes = append(notes, Note{Text: fmt.Sprintf("signal %s has no AppArmor name: not allowed to peers outside the container", s.Signal)})
			continue
		}
		sets[n] = true
	}
	if len(sets) > 0 {
		names := slices.Sorted(maps.Keys(sets))
		rules = append(rules, "signal (send) set=("+strings.Join(names, ", ")+") peer=unconfined,")
		notes = append(notes, Note{Text: fmt.Sprintf("the workload signalled processes outside the container (%s): "+
			"allowed to unconfined peers only", strings.Join(names, ", "))})
	}
	return rules, notes
}
