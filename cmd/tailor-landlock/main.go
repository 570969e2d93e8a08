// Command tailor-landlock is the helper tailor apply --landlock makes a
// container's first program: it enforces the Landlock ruleset of its
// configuration, loads the workload's seccomp filter, and execs the
// workload's own arguments with the environment it was given. runc and
// crun have no Landlock support, so the enforcement happens here, inside
// the container, before the workload's execve.
//
// Order matters. Everything the helper does (reading its configuration,
// opening the rules' paths, the Go runtime's own syscalls) happens before
// it loads the learned filter; after the filter only execve follows,
// which the learned profile must allow (tailor apply checks it). The
// calling thread is locked: Landlock, no_new_privs and the filter are
// set on it alone, and the execve from it takes them into the workload
// while the helper's other threads end.
//
// The helper starts under the runtime's filter (linux.seccomp, which runc
// and crun also apply to exec sessions): the learned profile plus the
// helper's own, documented set (landlock.HelperSyscalls). The workload
// then runs under both filters, which the kernel evaluates together:
// exactly the learned profile. Hence the set is kept small: GOMAXPROCS 1
// (fewer threads to start) and the configuration read without the
// netpoller. A test runs the helper under a filter of exactly that set
// that kills it on anything else.
//
// It is static and built without cgo (make build), so that it runs in any
// image. Exit codes before the execve: 126 for a refusal (invalid
// configuration, strict mode on an older kernel, a failed enforcement),
// 127 when the program is not found. After it, the workload's own exit
// code and signals are the container's.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/tailor-dev/tailor/landlock"
)

func init() {
	runtime.LockOSThread() // main runs on the initial thread, never unlocked
	runtime.GOMAXPROCS(1)  // no idle Ps to start threads for
}

// Exit codes of the helper itself, as a shell reports them.
const (
	exitRefused  = 126
	exitNotFound = 127
)

func main() {
	code, err := run(os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "tailor-landlock: %s\n", err)
	os.Exit(code)
}

// run enforces and execs; it returns only on failure.
func run(argv, env []string) (int, error) {
	if len(argv) > 0 {
		argv = append([]string{landlock.HelperPath}, argv[1:]...)
	}
	configPath, args, ok := landlock.ParseHelperArgs(argv)
	if !ok {
		return exitRefused, fmt.Errorf("usage: tailor-landlock --config FILE -- PROGRAM [ARGS...] (tailor apply --landlock writes this command line)")
	}
	cfg, err := readConfig(configPath)
	if err != nil {
		return exitRefused, err
	}
	prog, err := lookPath(args[0], env)
	if err != nil {
		return exitNotFound, err
	}
	abi := landlock.KernelABI()
	rs, dropped := cfg.Ruleset.Downgrade(abi)
	if len(dropped) > 0 {
		if cfg.Strict {
			return exitRefused, fmt.Errorf("the kernel's Landlock ABI is %d and the ruleset needs %d (strict: refusing to run): "+
				"it cannot enforce %s; run on a newer kernel or apply without --landlock-strict", abi, cfg.Ruleset.ABI, join(dropped))
		}
		fmt.Fprintf(os.Stderr, "tailor-landlock: warning: the kernel's Landlock ABI is %d: not enforced: %s\n", abi, join(dropped))
	}
	ex, err := prepareExec(prog, args, env)
	if err != nil {
		return exitRefused, err
	}
	if err := restrict(rs, abi, cfg.Strict); err != nil {
		return exitRefused, err
	}
	if err := loadSeccomp(cfg.Seccomp); err != nil {
		return exitRefused, err
	}
	return ex.exec()
}

// readConfig opens the configuration non-blocking (a FIFO in its place
// must not block) and reads it blocking: os.OpenFile, or an os.File of a
// non-blocking descriptor, would start the netpoller (epoll_create1,
// eventfd2, epoll_ctl, epoll_pwait), syscalls the helper's set leaves out.
func readConfig(path string) (*landlock.HelperConfig, error) {
	f, err := openBlocking(path)
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	defer f.Close()
	data, err := readRegular(f)
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	cfg, err := landlock.ParseHelperConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}
