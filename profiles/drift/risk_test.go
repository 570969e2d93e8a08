package drift

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

func TestHighRisk(t *testing.T) {
	for _, name := range []string{"bpf", "ptrace", "mount", "umount2", "pivot_root", "unshare", "setns", "clone", "clone3",
		"keyctl", "add_key", "request_key", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
		"perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
		"process_vm_readv", "process_vm_writev", "socket", "fsopen"} {
		if g := SyscallGrade(profiles.ABIX8664, name); g.Risk != High {
			t.Errorf("syscall %s graded %s", name, g.Risk)
		}
	}
	for _, name := range []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_DAC_READ_SEARCH",
		"CAP_BPF", "CAP_SYS_RAWIO", "CAP_PERFMON"} {
		if g := CapabilityGrade(name); g.Risk != High {
			t.Errorf("%s graded %s", name, g.Risk)
		}
	}
}

func TestValueGrade(t *testing.T) {
	tests := []struct {
		name    string
		syscall string
		v       uint64
		want    Risk
	}{
		{name: "clone for threads", syscall: "clone", v: 0, want: Low},
		{name: "clone with a user namespace", syscall: "clone", v: 0x10000000, want: High},
		{name: "clone3 with a pid namespace", syscall: "clone3", v: 0x20000000, want: High},
		{name: "unshare of files", syscall: "unshare", v: 0x400, want: Low},
		{name: "unshare of the mount namespace", syscall: "unshare", v: 0x20000, want: High},
		{name: "unshare of a time namespace", syscall: "unshare", v: 0x80, want: High},
		{name: "setns", syscall: "setns", v: 0x40000000, want: High},
		{name: "tcp", syscall: "socket", v: profiles.SocketValue(2, 1), want: Low},
		{name: "unix", syscall: "socket", v: profiles.SocketValue(1, 5), want: Low},
		{name: "packet", syscall: "socket", v: profiles.SocketValue(17, 3), want: High},
		{name: "netlink raw", syscall: "socket", v: profiles.SocketValue(16, 3), want: High},
		{name: "raw ip", syscall: "socket", v: profiles.SocketValue(10, 3), want: High},
		{name: "vsock", syscall: "socket", v: profiles.SocketValue(40, 1), want: Medium},
		{name: "family Docker refuses", syscall: "socket", v: profiles.SocketValue(3, 2), want: Medium},
		{name: "TIOCSTI", syscall: "ioctl", v: 0x5412, want: High},
		{name: "TCGETS", syscall: "ioctl", v: 0x5401, want: Low},
		{name: "PR_SET_NAME", syscall: "prctl", v: 15, want: Low},
		{name: "PR_CAP_AMBIENT", syscall: "prctl", v: 47, want: Medium},
		{name: "persona Docker allows", syscall: "personality", v: 8, want: Low},
		{name: "no ASLR", syscall: "personality", v: 0x40000, want: Medium},
		{name: "socketcall socket", syscall: "socketcall", v: 1, want: Medium},
		{name: "socketcall connect", syscall: "socketcall", v: 3, want: Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			abi := profiles.ABIX8664
			if tt.syscall == "socketcall" {
				abi = profiles.ABIX86
			}
			g := ValueGrade(abi, tt.syscall, tt.v)
			if g.Risk != tt.want || g.Why == "" || g.Source == "" {
				t.Errorf("graded %s (%q, %q), want %s with reasons", g.Risk, g.Why, g.Source, tt.want)
			}
		})
	}
}

func TestFallbackGrades(t *testing.T) {
	if g := SyscallGrade(profiles.ABIX8664, "read"); g.Risk != Low {
		t.Errorf("read graded %s", g.Risk)
	}
	if g := SyscallGrade(profiles.ABIX8664, "acct"); g.Risk != Medium || !strings.Contains(g.Source, "CAP_SYS_PACCT") {
		t.Errorf("acct graded %+v, want medium from Docker's CAP_SYS_PACCT rule", g)
	}
	if g := CapabilityGrade("CAP_WAKE_ALARM"); g.Risk != Medium {
		t.Errorf("CAP_WAKE_ALARM graded %s", g.Risk)
	}
}

// The curated table's claims about Docker's default profile must hold for
// the version tailor is built with.
func TestGradesMatchDocker(t *testing.T) {
	data, err := json.Marshal(mobyseccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(caps []string, name string) bool {
		r, err := seccompjson.Import(data, seccompjson.Options{Caps: caps})
		if err != nil {
			t.Fatal(err)
		}
		s, ok := r.Profile.Syscall(profiles.ABIX8664, name)
		return ok && s.Args == nil
	}
	only := regexp.MustCompile(`Docker's default profile \(([A-Z_, or]+)only\)`)
	for name, g := range syscallGrades {
		if _, err := profiles.ABIX8664.SyscallNr(name); err != nil {
			continue // e.g. umount, stime: not x86_64 syscalls
		}
		switch {
		case strings.HasPrefix(g.Source, "Docker's default profile (refused"):
			if allowed(nil, name) {
				t.Errorf("%s: Docker's default profile allows it", name)
			}
		case only.MatchString(g.Source):
			caps := strings.Split(strings.TrimSpace(only.FindStringSubmatch(g.Source)[1]), " or ")
			if allowed(nil, name) {
				t.Errorf("%s: Docker's default profile allows it without %v", name, caps)
			}
			if !allowed(caps[:1], name) {
				t.Errorf("%s: Docker's default profile refuses it with %s", name, caps[0])
			}
		case strings.Contains(g.Source, "kernel 4.8 and later"):
			if !allowed(nil, name) {
				t.Errorf("%s: Docker's default profile refuses it on a current kernel", name)
			}
		}
	}
}

// docs/drift.md shows the curated tables; go test -update rewrites them.
func TestDocsRiskTable(t *testing.T) {
	const path = "../../docs/drift.md"
	const begin, end = "<!-- risk-table:begin (generated by go test ./profiles/drift -update) -->\n", "<!-- risk-table:end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the risk-table markers", path)
	}
	want := doc[:i+len(begin)] + RiskTable() + doc[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Errorf("%s is out of date: run go test ./profiles/drift -update", path)
	}
}
