package profiler

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/profiles"
)

// itemKey names one recorded item for provenance.
type itemKey struct {
	kind uint8
	abi  uint8
	nr   uint16
}

// provenance keeps the first task seen needing each item.
type provenance map[itemKey]profiles.Seen

func (p provenance) add(e bpf.Event) {
	k := itemKey{kind: e.Kind, abi: e.ABI, nr: e.Nr}
	if e.Kind == bpf.EventArg || e.Touch != nil {
		return // the syscall's own record, or the item itself, carries the provenance
	}
	if _, ok := p[k]; !ok {
		p[k] = profiles.Seen{Comm: e.Comm, Exe: e.Exe, Recordings: 1}
	}
}

// build turns what the kernel aggregated, and what the container touched
// (nil: not recorded), into a profile.
func build(r *bpf.Recording, prov provenance, touched *touches, src profiles.Source) *profiles.Profile {
	p := profiles.New("")
	p.Source = src
	p.Source.Recordings = 1
	for i, abi := range profiles.ABIs {
		if len(r.Syscalls[i]) == 0 {
			continue
		}
		a := profiles.ABISyscalls{ABI: abi}
		for _, nr := range r.Syscalls[i] {
			name, err := abi.SyscallName(nr)
			if err != nil {
				a.Unnamed = append(a.Unnamed, nr)
				continue
			}
			seen := prov[itemKey{kind: bpf.EventSyscall, abi: uint8(i), nr: uint16(nr)}]
			seen.Recordings = 1
			s := profiles.Syscall{Name: name, Seen: seen}
			if _, ok := profiles.ArgRuleFor(name); ok {
				s.Args = argValues(r, i, nr)
			}
			a.Syscalls = append(a.Syscalls, s)
		}
		sort.Ints(a.Unnamed)
		p.ABIs = append(p.ABIs, a)
	}
	for c := range 64 {
		bit := uint64(1) << c
		if (r.CapsGranted|r.CapsDenied)&bit == 0 {
			continue
		}
		seen := prov[itemKey{kind: bpf.EventCap, nr: uint16(c)}]
		seen.Recordings = 1
		p.Capabilities = append(p.Capabilities, profiles.Capability{
			Name:    profiles.CapabilityName(capability.Cap(c)),
			Granted: r.CapsGranted&bit != 0,
			Denied:  r.CapsDenied&bit != 0,
			Seen:    seen,
		})
	}
	p.Loss.Events = r.LostEvents
	p.Loss.Tasks = r.LostTasks
	if r.OverQuota > 0 {
		p.Loss.Reasons = append(p.Loss.Reasons, fmt.Sprintf(
			"%d task(s) not tracked: the container had more tasks at once than the tracer's per-container quota (tailor tracer --task-quota)", r.OverQuota))
	}
	if r.OverScope > 0 {
		p.Loss.Reasons = append(p.Loss.Reasons, fmt.Sprintf(
			"%d task(s) not tracked: the containers of its namespace had more tasks at once than the namespace's share of the tracer's task map; learn fewer of them at once", r.OverScope))
	}
	p.Loss.ArgValues = r.LostArgs
	p.Loss.Paths = r.LostPaths
	p.Loss.Objects = r.LostObjects
	if touched != nil {
		touched.fill(p)
	}
	return p
}

// argValues returns the recorded values of one syscall. A syscall seen
// without any value (its values were lost, which the loss counters show)
// gets no argument rule rather than one that refuses every call.
func argValues(r *bpf.Recording, abi, nr int) *profiles.ArgValues {
	if r.ArgOverflow[abi][nr] {
		return &profiles.ArgValues{Overflow: true}
	}
	vals := r.Args[abi][nr]
	if len(vals) == 0 {
		return nil
	}
	out := append([]uint64(nil), vals...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return &profiles.ArgValues{Values: out}
}

// touches collects what one container touched, from the tracer's touch
// records (bpf.Touch), as profile items keyed as the profile keys them.
// Records come from the kernel but are checked as input: a path that does
// not come out absolute and clean, or is longer than profiles.MaxPath
// after joining, is not an item (the longer ones count as lost paths).
type touches struct {
	files     map[string]*profiles.File
	programs  map[string]*profiles.Program
	network   map[string]*profiles.Network
	signals   map[string]*profiles.Signal
	lostPaths uint64
}

func newTouches() *touches {
	return &touches{files: map[string]*profiles.File{}, programs: map[string]*profiles.Program{},
		network: map[string]*profiles.Network{}, signals: map[string]*profiles.Signal{}}
}

// fileTypes maps an inode's S_IFMT bits >> 12 (bpf.Touch.FileType).
var fileTypes = map[uint16]profiles.FileType{
	unix.S_IFREG >> 12: profiles.TypeRegular, unix.S_IFDIR >> 12: profiles.TypeDir,
	unix.S_IFLNK >> 12: profiles.TypeSymlink, unix.S_IFSOCK >> 12: profiles.TypeSocket,
	unix.S_IFIFO >> 12: profiles.TypeFIFO, unix.S_IFCHR >> 12: profiles.TypeChar,
	unix.S_IFBLK >> 12: profiles.TypeBlock,
}

var netOps = map[uint8]profiles.NetOp{
	bpf.NetBind: profiles.NetBind, bpf.NetListen: profiles.NetListen,
	bpf.NetConnect: profiles.NetConnect, bpf.NetSend: profiles.NetSend,
}

// accesses turns the kernel's access bits (bit i: profiles.Accesses[i],
// as bpf/internal/gennr generates them) into accesses.
func accesses(bits uint32) []profiles.Access {
	var out []profiles.Access
	for i, a := range profiles.Accesses {
		if bits&(1<<i) != 0 {
			out = append(out, a)
		}
	}
	return out
}

// joinPath is the path a record names: name as the task passed it,
// relative to dir (resolved by the kernel) unless absolute, cleaned
// lexically. The kernel resolved every directory component of dir, so
// ".." in name climbs real directories; a symlink inside name itself is
// taken as named. ok is false for a path that is not absolute.
func (t *touches) joinPath(dir, name []byte) (string, bool) {
	p := string(name)
	if !strings.HasPrefix(p, "/") {
		if len(dir) == 0 || dir[0] != '/' {
			return "", false
		}
		p = string(dir) + "/" + p
	}
	p = path.Clean(p)
	if len(p) > profiles.MaxPath {
		t.lostPaths++
		return "", false
	}
	return p, true
}

func seenOf(e bpf.Event) profiles.Seen {
	return profiles.Seen{Comm: e.Comm, Exe: e.Exe, Recordings: 1}
}

func (t *touches) file(p string, typ profiles.FileType, acc []profiles.Access, seen profiles.Seen) {
	if len(acc) == 0 {
		return
	}
	f := t.files[p]
	if f == nil {
		f = &profiles.File{Path: p, Seen: seen}
		t.files[p] = f
	}
	if f.Type == profiles.TypeUnknown {
		f.Type = typ
	}
	for _, a := range acc {
		if !slices.Contains(f.Access, a) {
			f.Access = append(f.Access, a)
		}
	}
}

// add takes one touch record.
func (t *touches) add(e bpf.Event) {
	x := e.Touch
	if x == nil {
		return
	}
	seen := seenOf(e)
	switch e.Kind {
	case bpf.EventFile:
		p, ok := t.joinPath(nil, x.File)
		if len(x.File) == 0 {
			p, ok = t.joinPath(x.Dir, x.Name)
		}
		if ok {
			t.file(p, fileTypes[x.FileType], accesses(x.Access), seen)
		}
	case bpf.EventExec:
		bin, ok := t.joinPath(nil, x.File)
		if !ok {
			return
		}
		t.file(bin, profiles.TypeRegular, []profiles.Access{profiles.AccessExec}, seen)
		prog := profiles.Program{Path: bin, Seen: seen}
		if x.Script {
			script, ok := t.joinPath(x.Dir, x.Name)
			if !ok {
				return
			}
			t.file(script, profiles.TypeRegular, []profiles.Access{profiles.AccessExec}, seen)
			prog = profiles.Program{Path: script, Interpreter: bin, Seen: seen}
		}
		if k := prog.Path + "\x00" + prog.Interpreter; t.programs[k] == nil {
			t.programs[k] = &prog
		}
	case bpf.EventNet:
		t.net(x, seen)
	case bpf.EventSignal:
		s := profiles.Signal{Signal: "ptrace", Target: x.Target, Failed: x.Failed, Seen: seen}
		if x.Signal != 0 {
			s.Signal = unix.SignalName(syscall.Signal(x.Signal))
			if s.Signal == "" {
				s.Signal = fmt.Sprintf("SIG%d", x.Signal) // a real-time signal
			}
		}
		if k := s.Key(); t.signals[k] == nil {
			t.signals[k] = &s
		}
	}
}

func (t *touches) net(x *bpf.Touch, seen profiles.Seen) {
	n := profiles.Network{Op: netOps[x.NetOp], Seen: seen}
	if n.Op == "" {
		return
	}
	switch x.Family {
	case unix.AF_INET, unix.AF_INET6:
		n.Family = "inet"
		if x.Family == unix.AF_INET6 {
			n.Family = "inet6"
		}
		switch x.Protocol {
		case unix.IPPROTO_TCP, unix.IPPROTO_MPTCP: // MPTCP falls back to TCP; Landlock's TCP rules cover it
			n.Protocol = "tcp"
		case unix.IPPROTO_UDP:
			n.Protocol = "udp"
		}
		n.Port = int(x.Port)
		n.Loopback = x.Loopback
	case unix.AF_UNIX:
		n.Family = "unix"
		n.Protocol = map[uint16]string{unix.SOCK_STREAM: "stream", unix.SOCK_DGRAM: "dgram", unix.SOCK_SEQPACKET: "seqpacket"}[x.SockType]
		switch {
		case len(x.Name) > 0 && x.Name[0] == 0:
			// Abstract: every byte of the address is the name.
			n.Address = "@" + string(x.Name[1:])
		case len(x.Name) > 0:
			name := x.Name
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			p, ok := t.joinPath(x.Dir, name)
			if !ok {
				return
			}
			n.Address = p
			if n.Op == profiles.NetBind {
				t.file(p, profiles.TypeSocket, []profiles.Access{profiles.AccessBind}, seen)
			}
		}
	default:
		return
	}
	k := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%t\x00%s", n.Op, n.Family, n.Protocol, n.Port, n.Loopback, n.Address)
	if t.network[k] == nil {
		t.network[k] = &n
	}
}

// fill puts the items into p and marks the touch dimensions recorded.
func (t *touches) fill(p *profiles.Profile) {
	for _, f := range t.files {
		p.Files = append(p.Files, *f)
	}
	for _, x := range t.programs {
		p.Programs = append(p.Programs, *x)
	}
	for _, n := range t.network {
		p.Network = append(p.Network, *n)
	}
	for _, s := range t.signals {
		p.Signals = append(p.Signals, *s)
	}
	p.Recorded = append(p.Recorded, profiles.DimFiles, profiles.DimPrograms, profiles.DimNetwork, profiles.DimSignals)
	p.Loss.Paths += t.lostPaths
}
