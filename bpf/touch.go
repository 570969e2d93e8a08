package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// Event kinds of what a container touches (Event.Kind; Event.Touch holds
// the record).
const (
	EventFile   = uint8(tailorEventKindEV_FILE)
	EventExec   = uint8(tailorEventKindEV_EXEC)
	EventNet    = uint8(tailorEventKindEV_NET)
	EventSignal = uint8(tailorEventKindEV_SIGNAL)
)

// Network operations (Touch.NetOp).
const (
	NetBind    = uint8(tailorNetOpNET_BIND)
	NetListen  = uint8(tailorNetOpNET_LISTEN)
	NetConnect = uint8(tailorNetOpNET_CONNECT)
	NetSend    = uint8(tailorNetOpNET_SEND)
)

// Touch is one record of what a container touched. Paths are bytes as the
// kernel has them (any byte but NUL), as the container sees its root.
type Touch struct {
	// Access holds, for EventFile, the accesses new to the path: bit i is
	// profiles.Accesses[i] (profiles.h's enum access, made by gennr).
	Access uint32
	// FileType is the file's S_IFMT bits shifted right by 12 (0: unknown).
	FileType uint16
	// File is a path the kernel resolved from a struct file: the file
	// opened, mapped or changed; for EventExec the executable it loaded
	// (for a script, the interpreter).
	File []byte
	// Name is a path string as the task passed it, relative to Dir, a
	// directory the kernel resolved (empty when Name is absolute): the
	// operand of mkdir, unlink, rename..., a failed lookup, a script run
	// (EventExec with Script), a unix socket address (EventNet: sun_path's
	// bytes as passed, up to the NUL of a path or all of an abstract name,
	// which starts with NUL).
	Name, Dir []byte
	Script    bool

	// EventNet: the operation, the socket's family (AF_*), type (SOCK_*)
	// and protocol (IPPROTO_*), the port in host order and whether the
	// destination was a loopback address.
	NetOp    uint8
	Family   uint8
	SockType uint16
	Protocol uint16
	Port     uint16
	Loopback bool
	Signal   uint8  // EventSignal: the signal; 0 for ptrace
	Target   string // EventSignal: the target task's comm
	// Failed is set on an EventSignal for a ptrace attach that failed: an
	// attempt on a task outside the container.
	Failed bool
}

// ProbeLSM reports whether BPF-LSM programs load and attach here: they
// would see opens and connects at the security hooks, with less work than
// the syscall exits. Nil means they do; the recorder does not use them yet
// (the syscall tracepoints are the path every kernel tailor runs on has).
func ProbeLSM() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.LSM,
		AttachType:   ebpf.AttachLSMMac,
		AttachTo:     "file_open",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	})
	if err != nil {
		return fmt.Errorf("load lsm/file_open: %w", err)
	}
	defer prog.Close()
	l, err := link.AttachLSM(link.LSMOptions{Program: prog})
	if err != nil {
		return fmt.Errorf("attach lsm/file_open: %w", err)
	}
	return l.Close()
}

var touchSize = int(unsafe.Sizeof(tailorTouch{}))

// decodeTouch reads a touch record. Its lengths come from the kernel, but
// a record is checked against its own size before any byte is taken.
func decodeTouch(raw []byte) (Event, error) {
	var h tailorTouch
	if len(raw) < touchSize {
		return Event{}, fmt.Errorf("decode touch record: %d bytes, want at least %d", len(raw), touchSize)
	}
	if err := binary.Read(bytes.NewReader(raw[:touchSize]), binary.NativeEndian, &h); err != nil {
		return Event{}, fmt.Errorf("decode touch record: %w", err)
	}
	data := raw[touchSize:]
	fl, nl, dl := int(h.FileLen), int(h.NameLen), int(h.DirLen)
	if fl+nl+dl > len(data) {
		return Event{}, fmt.Errorf("decode touch record: lengths %d+%d+%d exceed its %d bytes", fl, nl, dl, len(data))
	}
	t := &Touch{
		Access: h.Access, FileType: h.Ftype,
		File: bytes.Clone(data[:fl]), Name: bytes.Clone(data[fl : fl+nl]), Dir: bytes.Clone(data[fl+nl : fl+nl+dl]),
		Script: h.Flags&uint8(tailorTouchFlagTF_SCRIPT) != 0,
		NetOp:  h.NetOp, Family: h.Family, SockType: h.SockType, Protocol: h.Protocol, Port: h.Port,
		Loopback: h.Loopback != 0, Signal: h.Signal, Target: cString(h.Target[:]),
		Failed: h.Flags&uint8(tailorTouchFlagTF_FAILED) != 0,
	}
	return Event{Container: h.Cid, Kind: h.Kind, Pid: h.Pid, Tgid: h.Tgid,
		Comm: cString(h.Comm[:]), Exe: cString(h.Exe[:]), Touch: t}, nil
}

// objectKey is touch.bpf.h's struct object_key.
type objectKey struct {
	Cid, Gen uint32
	Hash     uint64
}
