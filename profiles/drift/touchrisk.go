package drift

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tailor-dev/tailor/profiles"
)

// This file grades new needs of what a container touches: files by where
// they are and what is done to them, programs, network endpoints and
// signals. Like the syscall tables it is curated; each grade says why and
// where it comes from, and docs/drift.md shows the tables.

// pathRule grades accesses beneath (or at) a path pattern. Patterns are
// path.Match patterns tried against the path and each of its parents, so
// "/etc" covers /etc/passwd.
type pathRule struct {
	pattern string
	grade   Grade
}

const (
	srcFHS      = "Filesystem Hierarchy Standard 3.0 (where programs, libraries and configuration live)"
	binWhy      = "writes where programs, libraries or the system's configuration live: a changed binary or config persists and runs with others' privileges"
	knobWhy     = "writes a kernel knob: the setting is the host's, not the container's"
	knobSrc     = "Docker's docker-default AppArmor profile denies writes to /proc/sys, /proc/sysrq-trigger and /sys (moby/profiles apparmor template)"
	secretWhy   = "reads credentials: password hashes, private keys or service-account tokens"
	secretSrc   = "shadow(5), sshd(8), Kubernetes service account token volume; CIS benchmarks"
	kmemWhy     = "reads kernel or other processes' memory"
	engineWhy   = "talks to a container engine's API socket: control of the engine is root on the host"
	engineSrc   = "Docker security docs (\"only trusted users should be allowed to control your Docker daemon\")"
	tmpExecWhy  = "runs a program from a world-writable directory: the usual shape of a dropped payload"
	tmpExecSrc  = "Docker's docker-default AppArmor profile has no exec from /tmp; CIS benchmark (noexec /tmp)"
	newExecWhy  = "runs an executable the baseline never ran"
	newExecSrc  = "tailor: a new program is new code in the container"
	outboundWhy = "connects to a new destination port off the host: a new dependency, or data leaving"
	netSrc      = "tailor: network needs are graded by direction (outbound first), as egress policies are"
)

// writeRules grade writes (any access that changes the file system).
var writeRules = []pathRule{
	{"/etc", grade(High, binWhy, srcFHS)},
	{"/bin", grade(High, binWhy, srcFHS)},
	{"/sbin", grade(High, binWhy, srcFHS)},
	{"/lib", grade(High, binWhy, srcFHS)},
	{"/lib32", grade(High, binWhy, srcFHS)},
	{"/lib64", grade(High, binWhy, srcFHS)},
	{"/libx32", grade(High, binWhy, srcFHS)},
	{"/usr", grade(High, binWhy, srcFHS)},
	{"/boot", grade(High, binWhy, srcFHS)},
	{"/root/.ssh", grade(High, "writes root's SSH keys or authorized_keys: a way in", "sshd(8)")},
	{"/var/spool/cron", grade(High, "writes a crontab: code that runs later", "crontab(5)")},
	{"/proc/sys", grade(High, knobWhy, knobSrc)},
	{"/proc/sysrq-trigger", grade(High, "triggers kernel SysRq actions (reboot, crash) on the host", knobSrc)},
	{"/proc/[0-9]*/attr", grade(High, "changes a process's LSM label", knobSrc)},
	{"/proc/[0-9]*/mem", grade(High, "writes another process's memory", "proc(5)")},
	{"/sys", grade(High, knobWhy, knobSrc)},
	{"/dev/mem", grade(High, "writes physical memory", knobSrc)},
	{"/dev/kmem", grade(High, "writes kernel memory", knobSrc)},
	{"/dev/port", grade(High, "writes I/O ports", knobSrc)},
}

// readRules grade reads and maps.
var readRules = []pathRule{
	{"/etc/shadow", grade(High, secretWhy, secretSrc)},
	{"/etc/shadow-", grade(High, secretWhy, secretSrc)},
	{"/etc/gshadow", grade(High, secretWhy, secretSrc)},
	{"/etc/gshadow-", grade(High, secretWhy, secretSrc)},
	{"/etc/sudoers", grade(Medium, "reads who may become root", "sudoers(5)")},
	{"/etc/ssh/ssh_host_*_key", grade(High, secretWhy, secretSrc)},
	{"/etc/ssl/private", grade(High, secretWhy, secretSrc)},
	{"/root/.ssh", grade(High, secretWhy, secretSrc)},
	{"/home/*/.ssh", grade(High, secretWhy, secretSrc)},
	{"/run/secrets", grade(High, secretWhy, secretSrc)},
	{"/var/run/secrets", grade(High, secretWhy, secretSrc)},
	{"/proc/kcore", grade(High, kmemWhy, knobSrc)},
	{"/proc/kallsyms", grade(Medium, "reads kernel symbol addresses, which defeat KASLR when shown", "proc(5)")},
	{"/proc/[0-9]*/mem", grade(High, kmemWhy, "proc(5)")},
	{"/proc/[0-9]*/environ", grade(Medium, "reads another process's environment, where secrets are often passed", "proc(5)")},
	{"/dev/mem", grade(High, kmemWhy, knobSrc)},
	{"/dev/kmem", grade(High, kmemWhy, knobSrc)},
	{"/sys/firmware", grade(Medium, "reads firmware tables of the host", knobSrc)},
	{"/sys/kernel/security", grade(Medium, "reads the host's LSM configuration", knobSrc)},
}

// engineSockets are container engine API sockets.
var engineSockets = []string{
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock", "/run/crio/crio.sock", "/run/podman/podman.sock", "/var/run/podman/podman.sock",
}

// worldWritable are the directories anyone can drop a file into.
var worldWritable = []string{"/tmp", "/var/tmp", "/dev/shm", "/run/lock"}

var (
	writeAccess = []profiles.Access{profiles.AccessWrite, profiles.AccessAppend, profiles.AccessCreate,
		profiles.AccessTruncate, profiles.AccessMkdir, profiles.AccessRmdir, profiles.AccessUnlink,
		profiles.AccessRenameFrom, profiles.AccessRenameTo, profiles.AccessLink, profiles.AccessSymlink,
		profiles.AccessChmod, profiles.AccessChown, profiles.AccessMknod}
	execAccess = []profiles.Access{profiles.AccessExec, profiles.AccessMmapExec}
)

// FileGrade grades new accesses to a file.
func FileGrade(p string, added []profiles.Access) Grade {
	var gs []Grade
	for _, a := range added {
		switch {
		case slices.Contains(writeAccess, a):
			gs = append(gs, pathGrade(writeRules, p, grade(Medium, "writes a file the baseline never wrote", "tailor: writes change what later reads see")))
		case slices.Contains(execAccess, a):
			gs = append(gs, ProgramGrade(p))
		case a == profiles.AccessBind:
			gs = append(gs, grade(Medium, "creates a unix socket others can connect to", netSrc))
		default:
			gs = append(gs, pathGrade(readRules, p, grade(Low, "reads a file the baseline never read", "tailor: reads are graded by what the file holds")))
		}
	}
	return highest(gs...)
}

// ProgramGrade grades a new executable.
func ProgramGrade(p string) Grade {
	if under(p, worldWritable) {
		return grade(High, tmpExecWhy, tmpExecSrc)
	}
	return grade(High, newExecWhy, newExecSrc)
}

// NetworkGrade grades a new endpoint.
func NetworkGrade(n profiles.Network) Grade {
	switch {
	case n.Family == "unix" && slices.Contains(engineSockets, n.Address):
		return grade(High, engineWhy, engineSrc)
	case n.Family == "unix":
		return grade(Low, "talks to a unix socket the baseline never used", netSrc)
	case (n.Op == profiles.NetConnect || n.Op == profiles.NetSend) && !n.Loopback:
		return grade(High, outboundWhy, netSrc)
	case n.Op == profiles.NetConnect || n.Op == profiles.NetSend:
		return grade(Medium, "connects to a new port on the container's own loopback", netSrc)
	}
	return grade(Medium, "accepts traffic on a new port", netSrc)
}

// SignalGrade grades a signal or ptrace aimed outside the container.
func SignalGrade(s profiles.Signal) Grade {
	if s.Signal == "ptrace" && s.Failed {
		return grade(High, "tried to trace a process outside the container (the kernel refused): a sign of intent", "ptrace(2); Docker's docker-default AppArmor profile allows ptrace within the profile only")
	}
	if s.Signal == "ptrace" {
		return grade(High, "traces a process outside the container: its memory and registers", "ptrace(2); Docker's docker-default AppArmor profile allows ptrace within the profile only")
	}
	return grade(High, "signals a process outside the container", "Docker's docker-default AppArmor profile allows signals within the profile only")
}

// pathGrade is the grade of the first rule covering p (the path or one of
// its parents), else def.
func pathGrade(rules []pathRule, p string, def Grade) Grade {
	for _, r := range rules {
		for q := p; ; q = path.Dir(q) {
			if ok, _ := path.Match(r.pattern, q); ok {
				return r.grade
			}
			if q == "/" || q == "." || q == "" {
				break
			}
		}
	}
	return def
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// touchTable renders the path rules for docs/drift.md.
func touchTable() string {
	var b strings.Builder
	b.WriteString("| File written | Risk | Why | Grade from |\n| --- | --- | --- | --- |\n")
	for _, r := range writeRules {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.pattern, r.grade.Risk, mdCell(r.grade.Why), mdCell(r.grade.Source))
	}
	b.WriteString("| anything else | medium | writes a file the baseline never wrote | |\n")
	b.WriteString("\n| File read | Risk | Why | Grade from |\n| --- | --- | --- | --- |\n")
	for _, r := range readRules {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.pattern, r.grade.Risk, mdCell(r.grade.Why), mdCell(r.grade.Source))
	}
	b.WriteString("| anything else | low | reads a file the baseline never read | |\n")
	b.WriteString("\n| Other need | Risk | Why | Grade from |\n| --- | --- | --- | --- |\n")
	for _, row := range []struct {
		what string
		g    Grade
	}{
		{"a new program (exec or mmap PROT_EXEC)", ProgramGrade("/usr/bin/x")},
		{"a new program in " + strings.Join(worldWritable, ", "), ProgramGrade("/tmp/x")},
		{"connect or send to a port off the host", NetworkGrade(profiles.Network{Op: profiles.NetConnect, Family: "inet"})},
		{"connect or send to a loopback port", NetworkGrade(profiles.Network{Op: profiles.NetConnect, Family: "inet", Loopback: true})},
		{"bind or listen on a port", NetworkGrade(profiles.Network{Op: profiles.NetBind, Family: "inet"})},
		{"a container engine socket (" + strings.Join(engineSockets[:2], ", ") + ", ...)", NetworkGrade(profiles.Network{Op: profiles.NetConnect, Family: "unix", Address: engineSockets[0]})},
		{"another unix socket", NetworkGrade(profiles.Network{Op: profiles.NetConnect, Family: "unix", Address: "/x"})},
		{"a signal to a process outside the container", SignalGrade(profiles.Signal{Signal: "SIGTERM"})},
		{"ptrace of a process outside the container", SignalGrade(profiles.Signal{Signal: "ptrace"})},
	} {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.what, row.g.Risk, mdCell(row.g.Why), mdCell(row.g.Source))
	}
	return b.String()
}
