package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"unsafe"

	golandlock "github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/bounded"
	"github.com/tailor-dev/tailor/landlock"
)

// openBlocking opens path read-only without following a symlink at its
// last component or blocking on a FIFO, then clears O_NONBLOCK so that
// os.NewFile leaves the netpoller alone.
func openBlocking(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func readRegular(f *os.File) ([]byte, error) { return bounded.ReadRegular(f, landlock.MaxConfig) }

// lookPath finds the program as runc does (Go's exec.LookPath in its
// init): a name with a slash as it is, else the first executable of that
// name in the PATH of the workload's environment (the first PATH= entry,
// as getenv reads it). A name found through a relative PATH entry (empty,
// ".", "bin") would be relative to the working directory: it is refused,
// as exec.LookPath does (exec.ErrDot) and runc with it.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
	search, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			search, found = v, true
			break
		}
	}
	if !found {
		return "", fmt.Errorf("exec %q: the environment has no PATH to find it in: give process.args[0] as a path", name)
	}
	var entries []string // an empty PATH has no entry, as filepath.SplitList reads it
	if search != "" {
		entries = strings.Split(search, ":")
	}
	for _, entry := range entries {
		dir := entry
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		if checkExecutable(p) != nil {
			continue
		}
		if !path.IsAbs(p) {
			return "", fmt.Errorf("exec %q: found as %q through the relative PATH entry %q, which names the working directory: "+
				"refused as runc does; give process.args[0] as an absolute path or make PATH absolute", name, p, entry)
		}
		return p, nil
	}
	return "", fmt.Errorf("exec %q: not found in PATH %q", name, search)
}

// checkExecutable is exec.LookPath's test: not a directory, and
// executable for the effective ids (faccessat2 with AT_EACCESS, which
// knows ACLs and noexec mounts). Where the kernel lacks
// faccessat2 or a filter refuses it, the mode's execute bits decide.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("exec %q: %w", p, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("exec %q: %w", p, unix.EISDIR)
	}
	err = unix.Faccessat2(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM):
		return fmt.Errorf("exec %q: %w", p, err)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("exec %q: no execute bit (%s): %w", p, fi.Mode(), fs.ErrPermission)
	}
	return nil
}

// restrict enforces the (downgraded) ruleset on the calling thread, with
// no_new_privs, which Landlock and seccomp need without CAP_SYS_ADMIN.
// Each rule's path is opened once (openRule) and the rule added from that
// handle: a rule whose path the image lacks is skipped (its rights then
// grant nothing); one whose path is no longer what it was recorded as is
// skipped with a warning, or refused when strict.
func restrict(rs *landlock.Ruleset, abi int, strict bool) error {
	cfg := golandlock.Config{HandledAccessFS: golandlock.AccessFSSet(rs.HandledFS),
		HandledAccessNet: golandlock.AccessNetSet(rs.HandledNet), Scoped: golandlock.ScopedSet(rs.Scoped)}
	if abi >= 7 {
		cfg = cfg.EnableLoggingForSubprocesses() // denials of the workload reach the audit log
	}
	var rules []golandlock.Rule
	for _, p := range rs.Ports {
		if p.Access&landlock.NetBindTCP != 0 {
			rules = append(rules, golandlock.BindTCP(p.Port))
		}
		if p.Access&landlock.NetConnectTCP != 0 {
			rules = append(rules, golandlock.ConnectTCP(p.Port))
		}
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil {
		return fmt.Errorf("build the landlock ruleset: %w", err)
	}
	if fd >= 0 {
		defer unix.Close(fd)
		for _, r := range rs.Paths {
			if err := addPathRule(fd, r, strict); err != nil {
				return err
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if fd < 0 {
		return nil // nothing the kernel can enforce (said above)
	}
	if err := llsys.LandlockRestrictSelf(fd, flags); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return nil
}

// errTypeChanged is a rule's path that is no longer what it was recorded
// as (a file replaced by a directory or a symlink, ...).
var errTypeChanged = errors.New("not what it was recorded as")

// addPathRule adds r to the ruleset fd from a handle of its path.
func addPathRule(fd int, r landlock.PathRule, strict bool) error {
	pfd, err := openRule(r)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
		return nil // not in this image, or not yet: nothing to grant
	case errors.Is(err, errTypeChanged) && !strict:
		fmt.Fprintf(os.Stderr, "tailor-landlock: warning: rule on %q skipped (its rights are not granted): %s\n", r.Path, err)
		return nil
	case errors.Is(err, errTypeChanged):
		return fmt.Errorf("landlock rule on %q (strict: refusing to run): %w; learn again if the image changed it", r.Path, err)
	case err != nil:
		return fmt.Errorf("landlock rule on %q: %w", r.Path, err)
	}
	defer unix.Close(pfd)
	attr := llsys.PathBeneathAttr{ParentFd: pfd, AllowedAccess: uint64(r.Access)}
	if err := llsys.LandlockAddPathBeneathRule(fd, &attr, 0); err != nil {
		return fmt.Errorf("landlock_add_rule on %q (%s): %w", r.Path, r.Access, err)
	}
	return nil
}

// openRule opens a rule's path O_PATH without following symlinks (nor
// magic links such as /proc/self/root) in any component: a path the
// workload replaced with a symlink to / must not carry the rule's rights
// there. Only rules marked Follow (the ELF interpreters, system roots that
// are symlinks into /usr) resolve symlinks, and their target must still
// be of the rule's type. The handle is then checked with fstat: a rule
// recorded on a file is never added on a directory, whose rights would
// reach everything beneath it.
func openRule(r landlock.PathRule) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: unix.RESOLVE_NO_SYMLINKS}
	if r.Follow {
		how = unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS}
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, r.Path, &how)
	if errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("%w: recorded a %s, found a symlink on the way", errTypeChanged, r.Type)
	}
	if err != nil {
		return -1, &fs.PathError{Op: "openat2", Path: r.Path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "fstat", Path: r.Path, Err: err}
	}
	if got := fileType(st.Mode); !r.Type.Matches(got) {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: recorded a %s, found a %s", errTypeChanged, r.Type, got)
	}
	return fd, nil
}

func fileType(mode uint32) landlock.FileType {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return landlock.TypeDir
	case unix.S_IFLNK:
		return landlock.TypeSymlink
	case unix.S_IFSOCK:
		return landlock.TypeSocket
	case unix.S_IFIFO:
		return landlock.TypeFIFO
	case unix.S_IFCHR:
		return landlock.TypeChar
	case unix.S_IFBLK:
		return landlock.TypeBlock
	}
	return landlock.TypeRegular
}

// loadSeccomp loads the precompiled filter on the calling thread.
func loadSeccomp(prog []byte) error {
	if len(prog) == 0 {
		return nil
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load the seccomp filter: %w", errno)
	}
	return nil
}

// execve is an exec prepared before the seccomp filter is loaded: after
// it, nothing may allocate or make another syscall.
type execve struct {
	path       *byte
	argv, envv []*byte
	failed     []byte
}

func prepareExec(prog string, args, env []string) (*execve, error) {
	path, err := syscall.BytePtrFromString(prog)
	if err != nil {
		return nil, fmt.Errorf("exec %q: %w", prog, err)
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return nil, fmt.Errorf("exec %q: arguments: %w", prog, err)
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("exec %q: environment: %w", prog, err)
	}
	msg := fmt.Sprintf("tailor-landlock: exec %q failed under the workload's Landlock ruleset and seccomp filter "+
		"(does the profile allow execve, and executing it?)\n", prog)
	return &execve{path: path, argv: argv, envv: envv, failed: []byte(msg)}, nil
}

// exec replaces the helper with the workload. It returns only if execve
// failed, after writing the prepared message (the filter may refuse it).
func (e *execve) exec() (int, error) {
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(e.path)),
		uintptr(unsafe.Pointer(&e.argv[0])), uintptr(unsafe.Pointer(&e.envv[0])))
	unix.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&e.failed[0])), uintptr(len(e.failed)))
	code := uintptr(exitRefused)
	if errno == unix.ENOENT {
		code = exitNotFound
	}
	unix.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
	return int(code), errno // not reached
}
