package complain

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Notification is one syscall the kernel handed to the agent
// (struct seccomp_notif).
type Notification struct {
	ID   uint64
	Pid  int // in the agent's pid namespace
	Nr   int
	Arch uint32 // AUDIT_ARCH_*
	Args [6]uint64
}

// Source is where notifications come from: the kernel's notify fd, or a
// test's fake.
type Source interface {
	// Recv waits for the next notification; io.EOF once no task uses the
	// filter any more.
	Recv() (Notification, error)
	// Continue lets the syscall run; Fail refuses it with errno.
	Continue(id uint64) error
	Fail(id uint64, errno int) error
	// Valid reports whether id is still pending: what was read about its
	// task since Recv is about that task.
	Valid(id uint64) bool
}

// seccompNotif and seccompNotifResp are the kernel's structs
// (linux/seccomp.h); golang.org/x/sys/unix has the ioctl numbers only.
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type seccompNotifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// The sizes the ioctl numbers encode.
var (
	_ [80]byte = [unsafe.Sizeof(seccompNotif{})]byte{}
	_ [24]byte = [unsafe.Sizeof(seccompNotifResp{})]byte{}
)

// fdSource reads a notify fd.
type fdSource struct{ f *os.File }

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}

func (s *fdSource) Recv() (Notification, error) {
	fd := int(s.f.Fd())
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return Notification{}, fmt.Errorf("poll notify fd: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				return Notification{}, io.EOF
			}
			continue
		}
		var n seccompNotif
		err := ioctl(uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n))
		switch {
		case errors.Is(err, unix.ENOENT):
			continue // the task was gone before we read it
		case err != nil:
			return Notification{}, fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", err)
		}
		return Notification{ID: n.id, Pid: int(n.pid), Nr: int(n.nr), Arch: n.arch, Args: n.args}, nil
	}
}

func (s *fdSource) send(r seccompNotifResp) error {
	err := ioctl(s.f.Fd(), unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
	if errors.Is(err, unix.ENOENT) {
		return nil // the task was killed while we looked: nothing to answer
	}
	if err != nil {
		return fmt.Errorf("SECCOMP_IOCTL_NOTIF_SEND: %w", err)
	}
	return nil
}

func (s *fdSource) Continue(id uint64) error {
	return s.send(seccompNotifResp{id: id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE})
}

func (s *fdSource) Fail(id uint64, errno int) error {
	return s.send(seccompNotifResp{id: id, error: -int32(errno)})
}

func (s *fdSource) Valid(id uint64) bool {
	return ioctl(s.f.Fd(), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}
