package generator

import (
	"slices"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerDefaultCapabilities is Docker's default capability set, sorted:
// moby's oci/caps.DefaultCapabilities. It is kept here rather than linked
// because importing moby's package pulls containerd, logrus and net/http
// into the binary every learned container start runs; the test module in
// generator/dockertest compares this list with Docker's own.
var dockerDefaultCapabilities = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
	"CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}

// DockerDefaultCapabilities returns Docker's default capability set (the
// 14 of moby's oci/caps), sorted.
func DockerDefaultCapabilities() []string {
	return slices.Clone(dockerDefaultCapabilities)
}

// DockerDefaultSeccomp evaluates moby's default seccomp profile the way
// Docker does for a container on an amd64 host with the default
// capabilities: x86_64 with its x86 and x32 sub-architectures, the rules
// whose includes match and whose excludes do not. Rules conditioned on a
// minimum kernel are taken as satisfied (every supported kernel is newer
// than they ask), so the result does not depend on the machine.
func DockerDefaultSeccomp() *specs.LinuxSeccomp {
	const arch = "amd64" // libseccomp's (and moby's) name for x86_64
	prof := mobyseccomp.DefaultProfile()
	out := prof.LinuxSeccomp
	out.Syscalls = nil
	for _, a := range prof.ArchMap {
		if a.Arch == specs.ArchX86_64 {
			out.Architectures = append([]specs.Arch{a.Arch}, a.SubArches...)
		}
	}
	caps := dockerDefaultCapabilities
	for _, call := range prof.Syscalls {
		if ex := call.Excludes; ex != nil {
			if slices.Contains(ex.Arches, arch) || ex.MinKernel != nil ||
				slices.ContainsFunc(ex.Caps, func(c string) bool { return slices.Contains(caps, c) }) {
				continue
			}
		}
		if in := call.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, arch) {
				continue
			}
			if slices.ContainsFunc(in.Caps, func(c string) bool { return !slices.Contains(caps, c) }) {
				continue
			}
		}
		rule := call.LinuxSyscall
		if call.Name != "" && len(rule.Names) == 0 {
			rule.Names = []string{call.Name}
		}
		out.Syscalls = append(out.Syscalls, rule)
	}
	return &out
}
