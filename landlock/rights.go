package landlock

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// FSAccess is a set of Landlock filesystem access rights
// (LANDLOCK_ACCESS_FS_*), written in JSON as a list of names.
type FSAccess uint64

// NetAccess is a set of Landlock network access rights
// (LANDLOCK_ACCESS_NET_*), written in JSON as a list of names.
type NetAccess uint64

// Scope is a set of Landlock IPC scopes (LANDLOCK_SCOPE_*), written in
// JSON as a list of names.
type Scope uint64

// The filesystem rights, by the kernel's names.
const (
	FSExecute    = FSAccess(unix.LANDLOCK_ACCESS_FS_EXECUTE)
	FSWriteFile  = FSAccess(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)
	FSReadFile   = FSAccess(unix.LANDLOCK_ACCESS_FS_READ_FILE)
	FSReadDir    = FSAccess(unix.LANDLOCK_ACCESS_FS_READ_DIR)
	FSRemoveDir  = FSAccess(unix.LANDLOCK_ACCESS_FS_REMOVE_DIR)
	FSRemoveFile = FSAccess(unix.LANDLOCK_ACCESS_FS_REMOVE_FILE)
	FSMakeChar   = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_CHAR)
	FSMakeDir    = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_DIR)
	FSMakeReg    = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_REG)
	FSMakeSock   = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_SOCK)
	FSMakeFifo   = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_FIFO)
	FSMakeBlock  = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK)
	FSMakeSym    = FSAccess(unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
	FSRefer      = FSAccess(unix.LANDLOCK_ACCESS_FS_REFER)
	FSTruncate   = FSAccess(unix.LANDLOCK_ACCESS_FS_TRUNCATE)
	FSIoctlDev   = FSAccess(unix.LANDLOCK_ACCESS_FS_IOCTL_DEV)
)

// The network rights and scopes.
const (
	NetBindTCP    = NetAccess(unix.LANDLOCK_ACCESS_NET_BIND_TCP)
	NetConnectTCP = NetAccess(unix.LANDLOCK_ACCESS_NET_CONNECT_TCP)

	ScopeAbstractUnix = Scope(unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET)
	ScopeSignal       = Scope(unix.LANDLOCK_SCOPE_SIGNAL)
)

// FileRights are the only rights a rule on a file (not a directory) may
// grant: the others are about a directory's entries.
const FileRights = FSExecute | FSWriteFile | FSReadFile | FSTruncate | FSIoctlDev

// right is one right's name and the first ABI that knows it.
type right struct {
	bit  uint64
	name string
	abi  int
}

var fsRights = []right{
	{uint64(FSExecute), "execute", 1}, {uint64(FSWriteFile), "write_file", 1}, {uint64(FSReadFile), "read_file", 1},
	{uint64(FSReadDir), "read_dir", 1}, {uint64(FSRemoveDir), "remove_dir", 1}, {uint64(FSRemoveFile), "remove_file", 1},
	{uint64(FSMakeChar), "make_char", 1}, {uint64(FSMakeDir), "make_dir", 1}, {uint64(FSMakeReg), "make_reg", 1},
	{uint64(FSMakeSock), "make_sock", 1}, {uint64(FSMakeFifo), "make_fifo", 1}, {uint64(FSMakeBlock), "make_block", 1},
	{uint64(FSMakeSym), "make_sym", 1}, {uint64(FSRefer), "refer", 2}, {uint64(FSTruncate), "truncate", 3},
	{uint64(FSIoctlDev), "ioctl_dev", 5},
}

var netRights = []right{{uint64(NetBindTCP), "bind_tcp", 4}, {uint64(NetConnectTCP), "connect_tcp", 4}}

var scopes = []right{{uint64(ScopeAbstractUnix), "abstract_unix_socket", 6}, {uint64(ScopeSignal), "signal", 6}}

// MaxABI is the newest Landlock ABI whose rights a ruleset may use.
const MaxABI = 6

// AllFS is every filesystem right tailor handles.
var AllFS = FSAccess(all(fsRights))

func all(rs []right) uint64 {
	var m uint64
	for _, r := range rs {
		m |= r.bit
	}
	return m
}

// upTo returns the rights of rs an ABI knows.
func upTo(rs []right, abi int) uint64 {
	var m uint64
	for _, r := range rs {
		if r.abi <= abi {
			m |= r.bit
		}
	}
	return m
}

// minABI returns the first ABI that knows every right in m (0: m is empty).
func minABI(rs []right, m uint64) int {
	abi := 0
	for _, r := range rs {
		if m&r.bit != 0 {
			abi = max(abi, r.abi)
		}
	}
	return abi
}

func names(rs []right, m uint64) []string {
	out := []string{}
	for _, r := range rs {
		if m&r.bit != 0 {
			out = append(out, r.name)
		}
	}
	return out
}

func parseNames(rs []right, what string, data []byte) (uint64, error) {
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return 0, fmt.Errorf("%s: want a list of names: %w", what, err)
	}
	var m uint64
	for _, n := range list {
		i := slices.IndexFunc(rs, func(r right) bool { return r.name == n })
		if i < 0 {
			return 0, fmt.Errorf("%s: unknown right %q (known: %s)", what, n, strings.Join(names(rs, all(rs)), ", "))
		}
		if m&rs[i].bit != 0 {
			return 0, fmt.Errorf("%s: %q listed twice", what, n)
		}
		m |= rs[i].bit
	}
	return m, nil
}

// Names lists the rights in the set, in the kernel's order.
func (a FSAccess) Names() []string { return names(fsRights, uint64(a)) }

// String writes the set as its names joined by commas.
func (a FSAccess) String() string { return strings.Join(a.Names(), ",") }

// Count is the number of rights in the set.
func (a FSAccess) Count() int { return bits.OnesCount64(uint64(a)) }

// MarshalJSON writes the set as a list of names.
func (a FSAccess) MarshalJSON() ([]byte, error) { return json.Marshal(a.Names()) }

// UnmarshalJSON reads a list of names.
func (a *FSAccess) UnmarshalJSON(data []byte) error {
	m, err := parseNames(fsRights, "filesystem access", data)
	*a = FSAccess(m)
	return err
}

// Names lists the rights in the set.
func (a NetAccess) Names() []string { return names(netRights, uint64(a)) }

// MarshalJSON writes the set as a list of names.
func (a NetAccess) MarshalJSON() ([]byte, error) { return json.Marshal(a.Names()) }

// UnmarshalJSON reads a list of names.
func (a *NetAccess) UnmarshalJSON(data []byte) error {
	m, err := parseNames(netRights, "network access", data)
	*a = NetAccess(m)
	return err
}

// Names lists the scopes in the set.
func (s Scope) Names() []string { return names(scopes, uint64(s)) }

// MarshalJSON writes the set as a list of names.
func (s Scope) MarshalJSON() ([]byte, error) { return json.Marshal(s.Names()) }

// UnmarshalJSON reads a list of names.
func (s *Scope) UnmarshalJSON(data []byte) error {
	m, err := parseNames(scopes, "scope", data)
	*s = Scope(m)
	return err
}
