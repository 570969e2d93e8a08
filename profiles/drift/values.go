package drift

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// named is a constant and its name, for turning recorded values into words.
type named struct {
	v    uint64
	name string
}

// cloneFlags names clone(2)/unshare(2) flags. CLONE_NEWTIME shares its bit
// with the exit signal in clone, whose recorded values are masked to the
// namespace flags (profiles.CloneNamespaceMask), so it never shows there.
var cloneFlags = []named{
	{unix.CLONE_NEWNS, "CLONE_NEWNS"}, {unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"}, {unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"}, {unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"}, {unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
	{unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"}, {unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_PTRACE, "CLONE_PTRACE"}, {unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_PARENT, "CLONE_PARENT"}, {unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"}, {unix.CLONE_SETTLS, "CLONE_SETTLS"},
	{unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"}, {unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"}, {unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_IO, "CLONE_IO"},
}

var socketDomains = []named{
	{unix.AF_UNSPEC, "AF_UNSPEC"}, {unix.AF_UNIX, "AF_UNIX"}, {unix.AF_INET, "AF_INET"},
	{unix.AF_AX25, "AF_AX25"}, {unix.AF_IPX, "AF_IPX"}, {unix.AF_APPLETALK, "AF_APPLETALK"},
	{unix.AF_NETROM, "AF_NETROM"}, {unix.AF_BRIDGE, "AF_BRIDGE"}, {unix.AF_ATMPVC, "AF_ATMPVC"},
	{unix.AF_X25, "AF_X25"}, {unix.AF_INET6, "AF_INET6"}, {unix.AF_ROSE, "AF_ROSE"},
	{unix.AF_DECnet, "AF_DECnet"}, {unix.AF_NETBEUI, "AF_NETBEUI"}, {unix.AF_SECURITY, "AF_SECURITY"},
	{unix.AF_KEY, "AF_KEY"}, {unix.AF_NETLINK, "AF_NETLINK"}, {unix.AF_PACKET, "AF_PACKET"},
	{unix.AF_ASH, "AF_ASH"}, {unix.AF_ECONET, "AF_ECONET"}, {unix.AF_ATMSVC, "AF_ATMSVC"},
	{unix.AF_RDS, "AF_RDS"}, {unix.AF_SNA, "AF_SNA"}, {unix.AF_IRDA, "AF_IRDA"},
	{unix.AF_PPPOX, "AF_PPPOX"}, {unix.AF_WANPIPE, "AF_WANPIPE"}, {unix.AF_LLC, "AF_LLC"},
	{unix.AF_IB, "AF_IB"}, {unix.AF_MPLS, "AF_MPLS"}, {unix.AF_CAN, "AF_CAN"},
	{unix.AF_TIPC, "AF_TIPC"}, {unix.AF_BLUETOOTH, "AF_BLUETOOTH"}, {unix.AF_IUCV, "AF_IUCV"},
	{unix.AF_RXRPC, "AF_RXRPC"}, {unix.AF_ISDN, "AF_ISDN"}, {unix.AF_PHONET, "AF_PHONET"},
	{unix.AF_IEEE802154, "AF_IEEE802154"}, {unix.AF_CAIF, "AF_CAIF"}, {unix.AF_ALG, "AF_ALG"},
	{unix.AF_NFC, "AF_NFC"}, {unix.AF_VSOCK, "AF_VSOCK"}, {unix.AF_KCM, "AF_KCM"},
	{unix.AF_QIPCRTR, "AF_QIPCRTR"}, {unix.AF_SMC, "AF_SMC"}, {unix.AF_XDP, "AF_XDP"},
	{unix.AF_MCTP, "AF_MCTP"},
}

var socketTypes = []named{
	{unix.SOCK_STREAM, "SOCK_STREAM"}, {unix.SOCK_DGRAM, "SOCK_DGRAM"}, {unix.SOCK_RAW, "SOCK_RAW"},
	{unix.SOCK_RDM, "SOCK_RDM"}, {unix.SOCK_SEQPACKET, "SOCK_SEQPACKET"}, {unix.SOCK_DCCP, "SOCK_DCCP"},
	{unix.SOCK_PACKET, "SOCK_PACKET"},
}

var prctlOptions = []named{
	{unix.PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG"}, {unix.PR_GET_PDEATHSIG, "PR_GET_PDEATHSIG"},
	{unix.PR_GET_DUMPABLE, "PR_GET_DUMPABLE"}, {unix.PR_SET_DUMPABLE, "PR_SET_DUMPABLE"},
	{unix.PR_GET_KEEPCAPS, "PR_GET_KEEPCAPS"}, {unix.PR_SET_KEEPCAPS, "PR_SET_KEEPCAPS"},
	{unix.PR_SET_NAME, "PR_SET_NAME"}, {unix.PR_GET_NAME, "PR_GET_NAME"},
	{unix.PR_GET_SECCOMP, "PR_GET_SECCOMP"}, {unix.PR_SET_SECCOMP, "PR_SET_SECCOMP"},
	{unix.PR_CAPBSET_READ, "PR_CAPBSET_READ"}, {unix.PR_CAPBSET_DROP, "PR_CAPBSET_DROP"},
	{unix.PR_GET_SECUREBITS, "PR_GET_SECUREBITS"}, {unix.PR_SET_SECUREBITS, "PR_SET_SECUREBITS"},
	{unix.PR_SET_TIMERSLACK, "PR_SET_TIMERSLACK"}, {unix.PR_MCE_KILL, "PR_MCE_KILL"},
	{unix.PR_SET_MM, "PR_SET_MM"}, {unix.PR_SET_PTRACER, "PR_SET_PTRACER"},
	{unix.PR_SET_CHILD_SUBREAPER, "PR_SET_CHILD_SUBREAPER"}, {unix.PR_GET_CHILD_SUBREAPER, "PR_GET_CHILD_SUBREAPER"},
	{unix.PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS"}, {unix.PR_GET_NO_NEW_PRIVS, "PR_GET_NO_NEW_PRIVS"},
	{unix.PR_GET_TID_ADDRESS, "PR_GET_TID_ADDRESS"}, {unix.PR_SET_THP_DISABLE, "PR_SET_THP_DISABLE"},
	{unix.PR_GET_THP_DISABLE, "PR_GET_THP_DISABLE"}, {unix.PR_CAP_AMBIENT, "PR_CAP_AMBIENT"},
	{unix.PR_SVE_SET_VL, "PR_SVE_SET_VL"}, {unix.PR_GET_SPECULATION_CTRL, "PR_GET_SPECULATION_CTRL"},
	{unix.PR_SET_SPECULATION_CTRL, "PR_SET_SPECULATION_CTRL"}, {unix.PR_SET_VMA, "PR_SET_VMA"},
}

var ioctlRequests = []named{
	{unix.TCGETS, "TCGETS"}, {unix.TCSETS, "TCSETS"}, {unix.TCSETSW, "TCSETSW"}, {unix.TCSETSF, "TCSETSF"},
	{unix.TIOCGWINSZ, "TIOCGWINSZ"}, {unix.TIOCSWINSZ, "TIOCSWINSZ"}, {unix.TIOCSTI, "TIOCSTI"},
	{unix.TIOCLINUX, "TIOCLINUX"}, {unix.TIOCGPGRP, "TIOCGPGRP"}, {unix.TIOCSPGRP, "TIOCSPGRP"},
	{unix.TIOCSCTTY, "TIOCSCTTY"}, {unix.TIOCNOTTY, "TIOCNOTTY"}, {unix.TIOCGPTN, "TIOCGPTN"},
	{unix.TIOCSPTLCK, "TIOCSPTLCK"},
	// asm-generic/ioctls.h values x/sys/unix does not export.
	{0x541B, "FIONREAD"}, {0x5421, "FIONBIO"}, {0x5450, "FIONCLEX"}, {0x5451, "FIOCLEX"}, {0x5452, "FIOASYNC"},
	{unix.SIOCGIFCONF, "SIOCGIFCONF"}, {unix.SIOCGIFFLAGS, "SIOCGIFFLAGS"}, {unix.SIOCSIFFLAGS, "SIOCSIFFLAGS"},
	{unix.SIOCGIFINDEX, "SIOCGIFINDEX"}, {unix.SIOCGIFHWADDR, "SIOCGIFHWADDR"},
	{unix.FS_IOC_GETFLAGS, "FS_IOC_GETFLAGS"}, {unix.FS_IOC_SETFLAGS, "FS_IOC_SETFLAGS"},
	{unix.FICLONE, "FICLONE"}, {unix.BLKGETSIZE64, "BLKGETSIZE64"},
}

// socketcall's calls, from linux/net.h (x/sys/unix has no names for them).
var socketcallCalls = []string{1: "SYS_SOCKET", "SYS_BIND", "SYS_CONNECT", "SYS_LISTEN", "SYS_ACCEPT",
	"SYS_GETSOCKNAME", "SYS_GETPEERNAME", "SYS_SOCKETPAIR", "SYS_SEND", "SYS_RECV", "SYS_SENDTO",
	"SYS_RECVFROM", "SYS_SHUTDOWN", "SYS_SETSOCKOPT", "SYS_GETSOCKOPT", "SYS_SENDMSG", "SYS_RECVMSG",
	"SYS_ACCEPT4", "SYS_RECVMMSG", "SYS_SENDMMSG"}

// personality(2) personas and flags, from linux/personality.h (x/sys/unix
// has no names for them).
const (
	perLinux32        = 0x0008
	perUname26        = 0x0020000
	perAddrNoRandom   = 0x0040000
	perReadImpliesExe = 0x0400000
	perQuery          = 0xffffffff
)

var personalityFlags = []named{
	{perUname26, "UNAME26"}, {perAddrNoRandom, "ADDR_NO_RANDOMIZE"}, {0x0100000, "FDPIC_FUNCPTRS"},
	{0x0200000, "MMAP_PAGE_ZERO"}, {0x0800000, "ADDR_COMPAT_LAYOUT"}, {perReadImpliesExe, "READ_IMPLIES_EXEC"},
	{0x1000000, "ADDR_LIMIT_32BIT"}, {0x2000000, "SHORT_INODE"}, {0x4000000, "WHOLE_SECONDS"},
	{0x8000000, "STICKY_TIMEOUTS"}, {0x0010000, "ADDR_LIMIT_3GB"},
}

func lookup(list []named, v uint64) (string, bool) {
	for _, n := range list {
		if n.v == v {
			return n.name, true
		}
	}
	return "", false
}

// flagNames spells v as FLAG|FLAG|0x..., with the bits it cannot name in hex.
func flagNames(list []named, v uint64) string {
	var parts []string
	rest := v
	for _, n := range list {
		if n.v != 0 && rest&n.v == n.v {
			parts = append(parts, n.name)
			rest &^= n.v
		}
	}
	if rest != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#x", rest))
	}
	return strings.Join(parts, "|")
}

// Describe spells a recorded argument value of syscall for people, e.g.
// "AF_PACKET/SOCK_RAW" or "CLONE_NEWUSER|CLONE_NEWNET".
func Describe(syscall string, v uint64) string {
	switch syscall {
	case "clone", "clone3":
		if v == 0 {
			return "no namespace flags"
		}
		return flagNames(cloneFlags, v)
	case "unshare":
		if v == 0 {
			return "0"
		}
		return flagNames(cloneFlags, v)
	case "setns":
		if v == 0 {
			return "any namespace type (0)"
		}
		return flagNames(cloneFlags, v)
	case "socket":
		domain, typ := profiles.SocketDomainType(v)
		d, ok := lookup(socketDomains, domain)
		if !ok {
			d = fmt.Sprintf("domain %d", domain)
		}
		t, ok := lookup(socketTypes, typ)
		if !ok {
			t = fmt.Sprintf("type %d", typ)
		}
		return d + "/" + t
	case "prctl":
		if n, ok := lookup(prctlOptions, v); ok {
			return n
		}
		return fmt.Sprintf("option %d", v)
	case "ioctl":
		if n, ok := lookup(ioctlRequests, v); ok {
			return fmt.Sprintf("%s (%#x)", n, v)
		}
		return describeIoctl(v)
	case "personality":
		switch v {
		case perQuery:
			return "query (0xffffffff)"
		case 0:
			return "PER_LINUX"
		case perLinux32:
			return "PER_LINUX32"
		}
		persona := "PER_LINUX"
		if v&0xff == perLinux32 {
			persona = "PER_LINUX32"
		} else if v&0xff != 0 {
			persona = fmt.Sprintf("persona %#x", v&0xff)
		}
		return persona + "|" + flagNames(personalityFlags, v&^0xff)
	case "socketcall":
		if v < uint64(len(socketcallCalls)) && socketcallCalls[v] != "" {
			return socketcallCalls[v]
		}
		return fmt.Sprintf("call %d", v)
	}
	return fmt.Sprintf("%#x", v)
}

// describeIoctl decodes an ioctl request number's _IOC fields.
func describeIoctl(v uint64) string {
	typ, nr := (v>>8)&0xff, v&0xff
	if typ >= 0x20 && typ < 0x7f {
		return fmt.Sprintf("%#x (type '%c', nr %d)", v, rune(typ), nr)
	}
	return fmt.Sprintf("%#x", v)
}

// DescribeValues spells a set of values of syscall, sorted as given. Socket
// values covering every type of a family collapse to "AF_X/any type".
func DescribeValues(syscall string, values []uint64) string {
	var words []string
	if syscall != "socket" {
		for _, v := range values {
			words = append(words, Describe(syscall, v))
		}
		return strings.Join(words, ", ")
	}
	types := map[uint64]int{}
	for _, v := range values {
		d, _ := profiles.SocketDomainType(v)
		types[d]++
	}
	done := map[uint64]bool{}
	for _, v := range values {
		d, _ := profiles.SocketDomainType(v)
		if types[d] <= profiles.SocketTypeMask {
			words = append(words, Describe(syscall, v))
			continue
		}
		if !done[d] {
			done[d] = true
			name, _, _ := strings.Cut(Describe(syscall, v), "/")
			words = append(words, name+"/any type")
		}
	}
	return strings.Join(words, ", ")
}
