package profiler

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// bits is the kernel's access bits of accesses (bit i: profiles.Accesses[i]).
func bits(as ...profiles.Access) uint32 {
	var b uint32
	for _, a := range as {
		b |= 1 << slices.Index(profiles.Accesses, a)
	}
	return b
}

func touchEvent(kind uint8, x bpf.Touch) bpf.Event {
	return bpf.Event{Kind: kind, Comm: "sh", Exe: "busybox", Touch: &x}
}

func TestBuildTouches(t *testing.T) {
	reg := uint16(unix.S_IFREG >> 12)
	long := "/" + strings.Repeat("a/", profiles.MaxPath/2)
	events := []bpf.Event{
		// A resolved file, seen twice with more accesses the second time.
		touchEvent(bpf.EventFile, bpf.Touch{File: []byte("/etc/passwd"), FileType: reg, Access: bits(profiles.AccessRead)}),
		touchEvent(bpf.EventFile, bpf.Touch{File: []byte("/etc/passwd"), FileType: reg, Access: bits(profiles.AccessMmapExec)}),
		// A name relative to a resolved directory, with .., and an absolute one.
		touchEvent(bpf.EventFile, bpf.Touch{Dir: []byte("/tmp/d"), Name: []byte("../x//y"), Access: bits(profiles.AccessUnlink)}),
		touchEvent(bpf.EventFile, bpf.Touch{Name: []byte("/missing/conf"), Access: bits(profiles.AccessLookup)}),
		// mkdir names the type.
		touchEvent(bpf.EventFile, bpf.Touch{Dir: []byte("/"), Name: []byte("run/app"), FileType: unix.S_IFDIR >> 12, Access: bits(profiles.AccessMkdir)}),
		// Bytes that are not UTF-8, and a newline, kept as they are.
		touchEvent(bpf.EventFile, bpf.Touch{File: []byte("/tmp/\xff\nz"), FileType: reg, Access: bits(profiles.AccessCreate, profiles.AccessWrite)}),
		// Not absolute: no directory came with a relative name. Dropped.
		touchEvent(bpf.EventFile, bpf.Touch{Name: []byte("rel"), Access: bits(profiles.AccessRead)}),
		// Longer than a profile holds once joined: a lost path.
		touchEvent(bpf.EventFile, bpf.Touch{Dir: []byte(long), Name: []byte(strings.Repeat("b", 300)), Access: bits(profiles.AccessRead)}),
		// A binary, and a script run by its interpreter.
		touchEvent(bpf.EventExec, bpf.Touch{File: []byte("/bin/busybox")}),
		touchEvent(bpf.EventExec, bpf.Touch{File: []byte("/bin/busybox"), Script: true, Dir: []byte("/app"), Name: []byte("./run.sh")}),
		// Network: a TCP listener (MPTCP is TCP to the profile), a UDP
		// send to loopback, unix peers by path (bound: a file too) and by
		// abstract name, and a family the profile does not keep.
		touchEvent(bpf.EventNet, bpf.Touch{NetOp: bpf.NetListen, Family: unix.AF_INET6, SockType: unix.SOCK_STREAM, Protocol: unix.IPPROTO_MPTCP, Port: 6379}),
		touchEvent(bpf.EventNet, bpf.Touch{NetOp: bpf.NetSend, Family: unix.AF_INET, SockType: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, Port: 53, Loopback: true}),
		touchEvent(bpf.EventNet, bpf.Touch{NetOp: bpf.NetBind, Family: unix.AF_UNIX, SockType: unix.SOCK_STREAM, Dir: []byte("/run"), Name: []byte("app.sock\x00junk")}),
		touchEvent(bpf.EventNet, bpf.Touch{NetOp: bpf.NetConnect, Family: unix.AF_UNIX, SockType: unix.SOCK_DGRAM, Name: []byte("\x00log\x00x")}),
		touchEvent(bpf.EventNet, bpf.Touch{NetOp: bpf.NetConnect, Family: unix.AF_NETLINK}),
		// A signal, a ptrace and a failed ptrace attempt aimed outside.
		touchEvent(bpf.EventSignal, bpf.Touch{Signal: uint8(unix.SIGTERM), Target: "runc"}),
		touchEvent(bpf.EventSignal, bpf.Touch{Signal: 0, Target: "sshd"}),
		touchEvent(bpf.EventSignal, bpf.Touch{Signal: 0, Target: "sshd", Failed: true}),
	}
	tc := newTouches()
	for _, e := range events {
		tc.add(e)
	}
	r := &bpf.Recording{LostPaths: 2, LostObjects: 1}
	for i := range r.Args {
		r.Args[i] = map[int][]uint64{}
		r.ArgOverflow[i] = map[int]bool{}
	}
	p := build(r, provenance{}, tc, profiles.Source{})
	p.Normalize()
	if err := p.Validate(); err != nil {
		t.Fatalf("built profile does not validate: %v", err)
	}
	if !slices.Equal(p.Recorded, profiles.Dimensions) {
		t.Errorf("recorded %v, want every dimension %v", p.Recorded, profiles.Dimensions)
	}
	if p.Loss.Paths != 3 || p.Loss.Objects != 1 || p.Complete {
		t.Errorf("loss paths %d (want 2 from the kernel + 1 joined), objects %d (want 1), complete %v", p.Loss.Paths, p.Loss.Objects, p.Complete)
	}
	files := map[string]string{}
	for _, f := range p.Files {
		var as []string
		for _, a := range f.Access {
			as = append(as, string(a))
		}
		files[f.Path] = string(f.Type) + " " + strings.Join(as, ",")
		if f.Seen.Comm != "sh" || f.Seen.Recordings != 1 {
			t.Errorf("%q: seen %+v", f.Path, f.Seen)
		}
	}
	wantFiles := map[string]string{
		"/etc/passwd":   "file mmap,read",
		"/tmp/x/y":      " unlink",
		"/missing/conf": " lookup",
		"/run/app":      "dir mkdir",
		"/tmp/\xff\nz":  "file create,write",
		"/bin/busybox":  "file exec",
		"/app/run.sh":   "file exec",
		"/run/app.sock": "socket bind",
	}
	if !maps.Equal(files, wantFiles) {
		t.Errorf("files:\n got %q\nwant %q", files, wantFiles)
	}
	var progs []string
	for _, x := range p.Programs {
		progs = append(progs, x.Path+" <- "+x.Interpreter)
	}
	if want := []string{"/app/run.sh <- /bin/busybox", "/bin/busybox <- "}; !slices.Equal(progs, want) {
		t.Errorf("programs %q, want %q", progs, want)
	}
	var nets []string
	for _, n := range p.Network {
		nets = append(nets, strings.Join([]string{string(n.Op), n.Family, n.Protocol, strconv.Itoa(n.Port), strconv.FormatBool(n.Loopback), n.Address}, " "))
	}
	wantNets := []string{
		"bind unix stream 0 false /run/app.sock",
		"connect unix dgram 0 false @log\x00x",
		"listen inet6 tcp 6379 false ",
		"send inet udp 53 true ",
	}
	if !slices.Equal(nets, wantNets) {
		t.Errorf("network:\n got %q\nwant %q", nets, wantNets)
	}
	var sigs []string
	for _, s := range p.Signals {
		sigs = append(sigs, fmt.Sprintf("%s %s failed=%v", s.Signal, s.Target, s.Failed))
	}
	if want := []string{"SIGTERM runc failed=false", "ptrace sshd failed=false", "ptrace sshd failed=true"}; !slices.Equal(sigs, want) {
		t.Errorf("signals %q, want %q", sigs, want)
	}
	// The document keeps the bytes: non-UTF-8 as pathBase64, and back.
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := profiles.Parse(data)
	if err != nil {
		t.Fatalf("parse the built profile: %v", err)
	}
	found := false
	for _, f := range back.Files {
		found = found || bytes.Equal([]byte(f.Path), []byte("/tmp/\xff\nz"))
	}
	if !found {
		t.Error("the non-UTF-8 path did not survive a save and load")
	}
}

// TestBuildWithoutTouches: a recording without touch records (nil) does
// not claim the touch dimensions.
func TestBuildWithoutTouches(t *testing.T) {
	r := &bpf.Recording{}
	for i := range r.Args {
		r.Args[i] = map[int][]uint64{}
		r.ArgOverflow[i] = map[int]bool{}
	}
	p := build(r, provenance{}, nil, profiles.Source{})
	if p.Records(profiles.DimFiles) || !p.Records(profiles.DimSyscalls) {
		t.Errorf("recorded %v: want syscalls and capabilities only", p.Recorded)
	}
}
