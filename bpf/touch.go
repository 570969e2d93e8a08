package bpf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
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

// touchSyscalls are the syscalls whose sys_exit tracepoint sys_exit_touch
// is attached to (keep in sync with the switch in touch.bpf.h and names
// in bpf/internal/gennr). A tracepoint this kernel lacks is skipped.
var touchSyscalls = []string{
	"open", "openat", "openat2", "creat", "mmap",
	"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
	"link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2",
	"chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "mknod", "mknodat", "flock",
	"connect", "bind", "listen", "sendto", "sendmsg", "sendmmsg", "ptrace",
}

// syscallExitIDs returns the tracepoint ids of the syscalls' sys_exit
// events. tracefs may not be mounted (no systemd): then it is mounted on a
// private directory just long enough to read them, so that the tracer
// leaves no mount behind.
func syscallExitIDs(names []string) (map[string]uint64, error) {
	dir, err := tracefsMount()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tailor-tracefs-")
		if err != nil {
			return nil, fmt.Errorf("make a directory for tracefs: %w", err)
		}
		defer os.Remove(tmp)
		if err := unix.Mount("tracefs", tmp, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return nil, fmt.Errorf("mount tracefs on %s (needs root and CONFIG_FTRACE_SYSCALLS): %w", tmp, err)
		}
		defer unix.Unmount(tmp, unix.MNT_DETACH)
		dir = tmp
	}
	ids := map[string]uint64{}
	for _, name := range names {
		data, err := os.ReadFile(fmt.Sprintf("%s/events/syscalls/sys_exit_%s/id", dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // not on this kernel (or its architecture)
		}
		if err != nil {
			return nil, fmt.Errorf("read tracepoint id of sys_exit_%s: %w", name, err)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse tracepoint id of sys_exit_%s: %w", name, err)
		}
		ids[name] = id
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no syscalls:sys_exit_* tracepoints under %s (needs CONFIG_FTRACE_SYSCALLS)", ErrUnsupported, dir)
	}
	return ids, nil
}

// tracefsMount returns where tracefs is mounted in this mount namespace
// ("" when nowhere).
func tracefsMount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("look for tracefs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source super
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) && fields[i+1] == "tracefs" && len(fields) > 4 {
				return unescapeMount(fields[4]), nil
			}
		}
	}
	return "", sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// attachSyscallExits attaches prog to the sys_exit tracepoint of every
// syscall in touchSyscalls this kernel has: one program, one perf event
// each, so that the verifier checks it once.
func (t *Tracer) attachSyscallExits(prog *ebpf.Program, ids map[string]uint64) error {
	for _, name := range touchSyscalls {
		id, ok := ids[name]
		if !ok {
			continue
		}
		attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Config: id, Sample_type: unix.PERF_SAMPLE_RAW, Sample: 1, Wakeup: 1}
		// pid -1, cpu 0: the tracepoint on every CPU, for every task.
		fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("open perf event of sys_exit_%s: %w", name, err)
		}
		l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
		// The link holds the perf event from here on.
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("attach sys_exit_touch to sys_exit_%s: %w", name, err)
		}
		t.links = append(t.links, l)
	}
	return nil
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
