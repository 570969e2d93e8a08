package generator

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// Names for reports only: the values come from x/sys/unix, the spelling is
// the C constant's. Anything not listed is shown as a number.

var namespaceFlags = []struct {
	bit  uint64
	name string
}{
	{unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
}

var socketFamilies = map[uint64]string{
	unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6",
	unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET",
}

var socketTypes = map[uint64]string{
	unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM", unix.SOCK_RAW: "SOCK_RAW",
	unix.SOCK_SEQPACKET: "SOCK_SEQPACKET",
}

// describeValue spells one recorded argument value of a syscall.
func describeValue(syscall string, v uint64) string {
	switch syscall {
	case "clone", "clone3", "unshare", "setns":
		return describeFlags(v)
	case "socket":
		domain, typ := profiles.SocketDomainType(v)
		d, ok := socketFamilies[domain]
		if !ok {
			d = fmt.Sprintf("family %d", domain)
		}
		t, ok := socketTypes[typ]
		if !ok {
			t = fmt.Sprintf("type %d", typ)
		}
		return d + "/" + t
	case "ioctl", "personality":
		return fmt.Sprintf("%#x", v)
	}
	return fmt.Sprint(v)
}

func describeFlags(v uint64) string {
	if v == 0 {
		return "no namespace flags"
	}
	var parts []string
	for _, f := range namespaceFlags {
		if v&f.bit != 0 {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}
