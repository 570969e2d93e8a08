package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/landlock"
	"github.com/tailor-dev/tailor/landlock/derive"
	"github.com/tailor-dev/tailor/profiles"
)

// LandlockFile names the helper's configuration in the bundle.
const LandlockFile = "tailor-landlock.json"

// LandlockOptions enforce a profile's Landlock ruleset through the helper
// (cmd/tailor-landlock), which becomes the container's first program.
type LandlockOptions struct {
	// Helper is the host path of the tailor-landlock executable.
	Helper string
	// Dir is the bundle directory, where LandlockFile is written.
	Dir string
	// Strict refuses a kernel (this host's, and the helper's at start)
	// whose Landlock ABI lacks something the ruleset handles.
	Strict bool
	// KernelABI probes this host's Landlock ABI (0: none); nil skips the
	// check at apply time (the helper still makes it).
	KernelABI func() int
}

// ErrLandlockABI marks a kernel whose Landlock ABI lacks what the
// ruleset needs, under Strict.
var ErrLandlockABI = errors.New("the kernel's Landlock ABI is too old for the ruleset")

// setLandlock makes the helper the process's first program: process.args
// becomes the helper's command line around the original arguments, the
// helper and its configuration (the ruleset and the learned seccomp
// filter, precompiled) are bind-mounted read-only under /dev, and
// noNewPrivileges is set (Landlock and an unprivileged seccomp filter
// need it). linux.seccomp becomes the learned filter plus the helper's
// own syscalls (see runtimeFilter): the runtime loads it before it execs
// the helper, and applies it to every exec session. The configuration is
// written to the bundle last, once every check passed.
func setLandlock(cfg *ociconfig.Config, p *profiles.Profile, seccomp *specs.LinuxSeccomp, engine *engineFilter, o *LandlockOptions) ([]generator.Note, error) {
	rs, notes, err := derive.FromProfile(p)
	if err != nil {
		return nil, err
	}
	if o.KernelABI != nil {
		if abi := o.KernelABI(); abi < rs.ABI {
			_, dropped := rs.Downgrade(abi)
			if o.Strict {
				return nil, fmt.Errorf("%w: this kernel has ABI %d, the ruleset needs %d (%s): run on a newer kernel or drop --landlock-strict",
					ErrLandlockABI, abi, rs.ABI, strings.Join(dropped, "; "))
			}
			notes = append(notes, generator.Note{Text: fmt.Sprintf("this kernel's Landlock ABI is %d: the helper will not enforce %s",
				abi, strings.Join(dropped, "; "))})
		}
	}
	spec, err := cfg.Spec()
	if err != nil {
		return nil, err
	}
	if len(spec.Process.Args) == 0 {
		return nil, fmt.Errorf("%w: process.args is empty: the Landlock helper has no program to exec", ErrBadConfig)
	}
	if err := checkDevTmpfs(spec.Mounts); err != nil {
		return nil, err
	}
	helper, err := checkHelper(o.Helper)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("landlock: bundle directory: %w", err)
	}
	bpf, err := compileBPF(seccomp)
	if err != nil {
		return nil, err
	}
	if err := checkExecve(seccomp); err != nil {
		return nil, err
	}
	outer, err := runtimeFilter(seccomp, engine)
	if err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(landlock.HelperConfig{Ruleset: rs, Strict: o.Strict, Seccomp: bpf}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("landlock: encode the helper's configuration: %w", err)
	}
	if err := cfg.Set(landlock.HelperArgs(spec.Process.Args), "process", "args"); err != nil {
		return nil, err
	}
	if !spec.Process.NoNewPrivileges {
		notes = append(notes, generator.Note{Text: "process.noNewPrivileges is now true: Landlock needs it " +
			"(a setuid program in the container no longer gains privileges)"})
		if err := cfg.Set(true, "process", "noNewPrivileges"); err != nil {
			return nil, err
		}
	}
	if err := cfg.Set(outer, "linux", "seccomp"); err != nil {
		return nil, err
	}
	for _, m := range []specs.Mount{
		{Destination: landlock.HelperPath, Type: "bind", Source: helper, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		{Destination: landlock.ConfigPath, Type: "bind", Source: filepath.Join(dir, LandlockFile),
			Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
	} {
		if err := cfg.Append(m, "mounts"); err != nil {
			return nil, err
		}
	}
	if err := profiles.WriteFileAtomic(filepath.Join(dir, LandlockFile), append(doc, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("landlock: %w", err)
	}
	notes = append(notes, generator.Note{Text: fmt.Sprintf("Landlock: %d path rules, %d port rules (tailor generate --format landlock shows them); "+
		"%s loads the learned seccomp filter before it execs the workload; linux.seccomp, which exec sessions also get, "+
		"is the learned filter plus the helper's own %d syscalls (docs/landlock.md lists them)",
		len(rs.Paths), len(rs.Ports), landlock.HelperPath, len(landlock.HelperSyscalls))})
	return notes, nil
}

// checkDevTmpfs requires the runtime's tmpfs on /dev, where the helper's
// mount points are made: they then never exist in the image, so no file
// or symlink of the image can stand in for them. The tmpfs must be the
// last mount on an ancestor of the helper's paths (/ or /dev): a later
// one (a bind of a host or image directory on /dev) would hide it and
// hold the mount points. A destination is taken as runc takes it:
// relative to the container's root ("dev" is /dev).
func checkDevTmpfs(mounts []specs.Mount) error {
	last := -1 // the last mount on / or /dev
	for i, m := range mounts {
		d := path.Join("/", m.Destination)
		switch {
		case d == landlock.HelperPath || d == landlock.ConfigPath:
			return fmt.Errorf("%w: mounts[%d] already mounts %s: remove it", ErrBadConfig, i, d)
		case landlock.Beneath(landlock.HelperPath, d):
			last = i
		}
	}
	switch {
	case last >= 0 && path.Join("/", mounts[last].Destination) == "/dev" && mounts[last].Type == "tmpfs":
		return nil
	case slices.ContainsFunc(mounts[:max(last, 0)], func(m specs.Mount) bool {
		return path.Join("/", m.Destination) == "/dev" && m.Type == "tmpfs"
	}):
		return fmt.Errorf("%w: mounts[%d] (%s on %q) comes after the tmpfs on /dev and hides it, where the Landlock helper "+
			"is mounted: remove it, or mount it before the tmpfs", ErrBadConfig, last, mounts[last].Type, mounts[last].Destination)
	}
	return fmt.Errorf("%w: no tmpfs is mounted on /dev: the Landlock helper is mounted there "+
		"(runc spec, Docker and podman all mount one); add it to mounts", ErrBadConfig)
}

// checkHelper returns the helper's absolute path once it is an executable
// regular file.
func checkHelper(p string) (string, error) {
	if p == "" {
		return "", errors.New("landlock: no helper: install tailor-landlock beside tailor (make install) or give --landlock-helper")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("landlock helper: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("landlock helper: %w (install tailor-landlock beside tailor, or give --landlock-helper)", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("landlock helper %s: not an executable regular file (%s)", abs, fi.Mode())
	}
	return abs, nil
}

// compileBPF is the classic BPF program of the filter, as the kernel
// takes it.
func compileBPF(s *specs.LinuxSeccomp) ([]byte, error) {
	f, err := generator.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("landlock: %w", err)
	}
	defer f.Release()
	bpf, err := generator.ExportBPF(f)
	if err != nil {
		return nil, fmt.Errorf("landlock: %w", err)
	}
	if len(bpf)/8 > landlock.MaxSeccompInsns {
		return nil, fmt.Errorf("landlock: the seccomp filter has %d instructions, more than the kernel loads (%d)", len(bpf)/8, landlock.MaxSeccompInsns)
	}
	return bpf, nil
}

// ErrHelperSyscalls marks a filter (the engine's, or the learned one) that
// refuses syscalls the Landlock helper makes before the workload starts.
var ErrHelperSyscalls = errors.New("seccomp refuses syscalls the Landlock helper makes")

// checkExecve refuses a learned filter that refuses execve, wholly or for
// some arguments: the helper makes it last, under that filter, and would
// only fail there, at every start.
func checkExecve(learned *specs.LinuxSeccomp) error {
	execve := &specs.LinuxSeccomp{DefaultAction: learned.DefaultAction, DefaultErrnoRet: learned.DefaultErrnoRet,
		Architectures: learned.Architectures, Syscalls: []specs.LinuxSyscall{{Names: []string{"execve"}, Action: specs.ActAllow}}}
	in, err := generator.IntersectFilters(execve, learned)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	if len(in.Refused)+len(in.Narrowed) > 0 {
		return fmt.Errorf("%w: the learned seccomp filter (within the engine's) does not allow execve for every argument, "+
			"and %s execs the workload under it: learn the profile again (a learning run records the runtime's execve of the workload), "+
			"add execve to it, or apply without --landlock", ErrHelperSyscalls, landlock.HelperPath)
	}
	return nil
}

// runtimeFilter is linux.seccomp under --landlock: the union of learned
// (the filter the helper loads, already within the engine's) and the
// helper's own syscalls within the engine's filter, so that it never
// widens the engine's filter either. The workload runs under it and
// learned together, which is learned; exec sessions, which never pass
// through the helper, run under it alone.
func runtimeFilter(learned *specs.LinuxSeccomp, engine *engineFilter) (*specs.LinuxSeccomp, error) {
	h := landlock.HelperFilter(learned)
	if engine != nil && engine.filter != nil {
		in, err := generator.IntersectFilters(h, engine.filter)
		if err != nil {
			return nil, fmt.Errorf("landlock: %s: %w", engine.from, err)
		}
		if lost := slices.Concat(in.Refused, in.Narrowed); len(lost) > 0 {
			return nil, fmt.Errorf("%w: %s refuses %s (or some of their arguments), which %s makes before it execs the workload: "+
				"allow them there (docs/landlock.md lists the helper's syscalls) or apply without --landlock",
				ErrHelperSyscalls, engine.from, strings.Join(lost, ", "), landlock.HelperPath)
		}
		h = in.Filter
	}
	helper := landlock.HelperSyscallNames()
	out := *learned
	out.Syscalls = slices.Clone(learned.Syscalls)
	for i, r := range learned.Syscalls {
		if r.Action == specs.ActAllow || r.Action == specs.ActLog {
			continue
		}
		for _, n := range r.Names {
			if slices.Contains(helper, n) {
				return nil, fmt.Errorf("%w: the learned filter's syscalls[%d] refuses %s with %s, which the helper makes: "+
					"a union with it would not be exact; apply without --landlock", ErrHelperSyscalls, i, n, r.Action)
			}
		}
	}
	for _, r := range h.Syscalls {
		if r.Action == specs.ActAllow || r.Action == specs.ActLog { // the allowing rules; LOG where the engine logs
			out.Syscalls = append(out.Syscalls, r)
		}
	}
	f, err := generator.Compile(&out)
	if err != nil {
		return nil, fmt.Errorf("landlock: the learned filter plus the helper's syscalls: %w", err)
	}
	f.Release()
	return &out, nil
}

// unsetLandlock undoes an earlier setLandlock on a config that apply
// rewrites again: the original arguments come back and the helper's
// mounts go, so that a new apply starts from the user's process.
func unsetLandlock(cfg *ociconfig.Config) error {
	var args []string
	if raw := cfg.Get("process", "args"); raw != nil {
		if err := json.Unmarshal(raw, &args); err != nil {
			return fmt.Errorf("%w: process.args: %w", ErrBadConfig, err)
		}
	}
	_, orig, ok := landlock.ParseHelperArgs(args)
	if !ok {
		return nil
	}
	if err := cfg.Set(orig, "process", "args"); err != nil {
		return err
	}
	var kept []string
	for i := 0; cfg.Get("mounts", i) != nil; i++ {
		var m struct {
			Destination string `json:"destination"`
		}
		raw := cfg.Get("mounts", i)
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%w: mounts[%d]: %w", ErrBadConfig, i, err)
		}
		if d := path.Clean(m.Destination); d != landlock.HelperPath && d != landlock.ConfigPath {
			kept = append(kept, string(raw))
		}
	}
	return cfg.Set(json.RawMessage("["+strings.Join(kept, ",")+"]"), "mounts")
}

// LandlockExec runs a process exec'd into a container through the
// Landlock helper when the container's own process runs through it:
// process is an exec's process file wrapped as a config
// ({"process": ...}), container the container's config.json. The process
// gets the helper's command line around its own arguments, which then run
// under the container's ruleset and learned filter, and noNewPrivileges
// (the helper sets it anyway; the runtime then loads linux.seccomp last
// before it execs the helper, as for the container's process). The
// helper and its configuration are the container's own mounts. wrapped
// is false, and process returned as it is, for a container without the
// helper.
func LandlockExec(process, container []byte) (out []byte, wrapped bool, err error) {
	ctr, err := ociconfig.Parse(container)
	if err != nil {
		return nil, false, fmt.Errorf("the container's config: %w", err)
	}
	var ctrArgs []string
	if raw := ctr.Get("process", "args"); raw != nil {
		if err := json.Unmarshal(raw, &ctrArgs); err != nil {
			return nil, false, fmt.Errorf("%w: the container's process.args: %w", ErrBadConfig, err)
		}
	}
	if _, _, ok := landlock.ParseHelperArgs(ctrArgs); !ok {
		return process, false, nil
	}
	cfg, err := ociconfig.Parse(process)
	if err != nil {
		return nil, false, err
	}
	var args []string
	if raw := cfg.Get("process", "args"); raw != nil {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, false, fmt.Errorf("%w: process.args: %w", ErrBadConfig, err)
		}
	}
	if len(args) == 0 {
		return nil, false, fmt.Errorf("%w: process.args is empty: the Landlock helper has no program to exec", ErrBadConfig)
	}
	if err := cfg.Set(landlock.HelperArgs(args), "process", "args"); err != nil {
		return nil, false, err
	}
	if err := cfg.Set(true, "process", "noNewPrivileges"); err != nil {
		return nil, false, err
	}
	return cfg.Bytes(), true, nil
}
