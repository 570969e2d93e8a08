package bpf

// The network half of the touch recorder's tests: bind, listen, connect,
// sendto/sendmsg/sendmmsg destinations and unix peers.

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// touchNetwork binds, listens and connects over TCP on loopback, connects
// to a unix socket by path and by abstract name, and sends UDP datagrams
// to the ports in TAILOR_BPF_TOUCH_PEER: to the first with sendto, to the
// others with one sendmmsg.
func touchNetwork(dir string) error {
	var ports []int
	for _, f := range strings.Fields(os.Getenv(touchPeerEnv)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			return err
		}
		ports = append(ports, p)
	}
	if len(ports) < 2 {
		return fmt.Errorf("%s=%q: want two ports or more", touchPeerEnv, os.Getenv(touchPeerEnv))
	}
	for _, a := range []struct{ network, addr string }{
		{"tcp", "127.0.0.1:0"}, {"unix", filepath.Join(dir, "sock")}, {"unix", "@" + filepath.Base(dir)},
	} {
		if err := listenDial(a.network, a.addr); err != nil {
			return err
		}
	}
	snd, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer snd.Close()
	if _, err := snd.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ports[0]}); err != nil {
		return err
	}
	raw, err := snd.(*net.UDPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = sendmmsg(int(fd), ports[1:]) }); err != nil {
		return err
	}
	return serr
}

// listenDial listens on addr and connects to the listener once.
func listenDial(network, addr string) error {
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := net.Dial(network, l.Addr().String())
	if err != nil {
		return err
	}
	return c.Close()
}

// mmsghdr is struct mmsghdr (touch.bpf.h's MMSGHDR_SIZE is its size).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// sendmmsg sends a byte to each loopback port in one sendmmsg on the UDP
// socket fd.
func sendmmsg(fd int, ports []int) error {
	buf := []byte("x")
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	to := make([]unix.RawSockaddrInet4, len(ports))
	msgs := make([]mmsghdr, len(ports))
	for i, p := range ports {
		to[i] = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&to[i].Port))[:], uint16(p)) // network order
		msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&to[i]))
		msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		msgs[i].hdr.Iov = &iov
		msgs[i].hdr.SetIovlen(1)
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	runtime.KeepAlive(to)
	runtime.KeepAlive(buf)
	if e != 0 {
		return fmt.Errorf("sendmmsg: %w", e)
	}
	if int(n) != len(msgs) {
		return fmt.Errorf("sendmmsg sent %d of %d messages", n, len(msgs))
	}
	return nil
}

// TestRecordsNetwork checks TCP bind, listen and connect on loopback,
// unix socket peers by path and abstract name, and the destinations of UDP
// sends: by sendto and each message of a sendmmsg.
func TestRecordsNetwork(t *testing.T) {
	tr := loadTracer(t)
	dir := t.TempDir()
	var ports []string
	for range 3 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ports = append(ports, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
	}
	t.Setenv(touchPeerEnv, strings.Join(ports, " "))
	_, evs := touched(t, tr, 9, "network", dir)
	got := map[string]bool{}
	var tcp int
	var sent []string
	for _, x := range touchesOf(evs, EventNet) {
		addr := string(x.Name)
		if x.Family == unix.AF_UNIX {
			if len(x.Name) > 0 && x.Name[0] == 0 {
				addr = "@" + strings.TrimRight(string(x.Name[1:]), "\x00")
			} else if i := strings.IndexByte(addr, 0); i >= 0 {
				addr = addr[:i]
			}
		}
		got[fmt.Sprintf("%d %d %d %d %d %v %s", x.NetOp, x.Family, x.SockType, x.Protocol, x.Port, x.Loopback, addr)] = true
		switch {
		case x.NetOp == NetConnect && x.Family == unix.AF_INET:
			tcp = int(x.Port)
		case x.NetOp == NetSend:
			sent = append(sent, fmt.Sprintf("%d %d %d %v", x.Family, x.Protocol, x.Port, x.Loopback))
		}
	}
	// Go listens with MPTCP (IPPROTO_MPTCP, 262) where the kernel has it.
	listenProto := unix.IPPROTO_TCP
	for k := range got {
		if strings.HasPrefix(k, fmt.Sprintf("%d 2 1 %d ", NetListen, unix.IPPROTO_MPTCP)) {
			listenProto = unix.IPPROTO_MPTCP
		}
	}
	if tcp == 0 {
		t.Fatalf("no TCP connect to loopback recorded: %v", got)
	}
	for _, w := range []string{
		fmt.Sprintf("%d 2 1 %d 0 true ", NetBind, listenProto), // asked for 127.0.0.1:0
		fmt.Sprintf("%d 2 1 %d %d false ", NetListen, listenProto, tcp),
		fmt.Sprintf("%d 2 2 17 0 true ", NetBind),
		fmt.Sprintf("%d 1 1 0 0 false %s", NetBind, filepath.Join(dir, "sock")),
		fmt.Sprintf("%d 1 1 0 0 false %s", NetConnect, filepath.Join(dir, "sock")),
		fmt.Sprintf("%d 1 1 0 0 false @%s", NetConnect, filepath.Base(dir)),
	} {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	var want []string
	for _, p := range ports {
		want = append(want, fmt.Sprintf("%d %d %s true", unix.AF_INET, unix.IPPROTO_UDP, p))
	}
	slices.Sort(sent)
	slices.Sort(want)
	if !slices.Equal(sent, want) {
		t.Errorf("sends to %q, want %q (sendto, then sendmmsg)", sent, want)
	}
}

// TestMmsghdrSize: touch.bpf.h steps through a sendmmsg vector by
// MMSGHDR_SIZE (64) bytes.
func TestMmsghdrSize(t *testing.T) {
	if n := unsafe.Sizeof(mmsghdr{}); n != 64 {
		t.Errorf("struct mmsghdr is %d bytes, MMSGHDR_SIZE in touch.bpf.h says 64", n)
	}
}
