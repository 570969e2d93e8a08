package landlock

import "golang.org/x/sys/unix"

// KernelABI returns the running kernel's Landlock ABI version, 0 when it
// has no Landlock (not built, or not in the lsm= list).
func KernelABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}
