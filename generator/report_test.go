package generator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

func TestReport(t *testing.T) {
	web := profileOf("web", abiCalls(profiles.ABIX8664, base,
		one(withArgs("clone3", 0)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_INET, sockStream), profiles.SocketValue(unix.AF_INET6, sockStream))),
		one(overflowed("ioctl")),
		plain("accept4", "bind", "listen", "setuid", "setgid", "chown", "unshare")))
	web.ABIs[0].Syscalls[slices.IndexFunc(web.ABIs[0].Syscalls, func(s profiles.Syscall) bool { return s.Name == "unshare" })].Args =
		&profiles.ArgValues{Values: []uint64{unix.CLONE_NEWNS}}
	capsOf(web, granted("CAP_CHOWN"), granted("CAP_SETUID"), granted("CAP_SETGID"), granted("CAP_SYS_ADMIN"), denied("CAP_DAC_OVERRIDE"))

	lossy := profileOf("lossy", abiCalls(profiles.ABIX8664, base), abiCalls(profiles.ABIX86, base32))
	lossy.Loss.Events = 7
	lossy.Loss.Reasons = []string{"tracer stopped before the container's tasks exited"}
	lossy.Normalize()

	touch := profileOf("touch", abiCalls(profiles.ABIX8664, base))
	touch.Recorded = profiles.Dimensions
	touch.Files = []profiles.File{
		{Path: "/etc/nginx/nginx.conf", Type: profiles.TypeRegular, Access: []profiles.Access{profiles.AccessRead}},
		{Path: "/etc/shadow", Type: profiles.TypeRegular, Access: []profiles.Access{profiles.AccessRead}},
		{Path: "/etc/nginx/conf.d/missing.conf", Access: []profiles.Access{profiles.AccessLookup}},
		{Path: "/usr/sbin/nginx", Type: profiles.TypeRegular, Access: []profiles.Access{profiles.AccessExec, profiles.AccessRead}},
		{Path: "/var/log/nginx/x\n\x1b[31m", Type: profiles.TypeRegular, Access: []profiles.Access{profiles.AccessAppend, profiles.AccessCreate}},
	}
	touch.Programs = []profiles.Program{{Path: "/usr/sbin/nginx"}, {Path: "/tmp/run.sh", Interpreter: "/bin/sh"}}
	touch.Network = []profiles.Network{{Op: profiles.NetListen, Family: "inet", Protocol: "tcp", Port: 80},
		{Op: profiles.NetConnect, Family: "inet", Protocol: "tcp", Port: 443}}
	touch.Normalize()

	tests := []struct {
		name    string
		profile *profiles.Profile
		bold    bool
		check   func(t *testing.T, r *Report)
	}{
		{name: "web", profile: web, check: func(t *testing.T, r *Report) {
			if r.Warning != "" || !r.Complete {
				t.Errorf("complete profile warned: %q", r.Warning)
			}
			for _, name := range []string{"mkdir", "ptrace", "socketpair"} {
				if !slices.Contains(r.RefusedAllowedByDocker, name) {
					t.Errorf("%s not listed as refused by tailor, allowed by docker", name)
				}
			}
			if !slices.Equal(r.AllowedRefusedByDocker, []string{"unshare"}) {
				t.Errorf("beyond docker: %v, want [unshare]", r.AllowedRefusedByDocker)
			}
			if !slices.Equal(r.CapabilitiesAdded, []string{"CAP_SYS_ADMIN"}) || !slices.Contains(r.CapabilitiesDropped, "CAP_NET_RAW") {
				t.Errorf("capabilities added %v, dropped %v", r.CapabilitiesAdded, r.CapabilitiesDropped)
			}
			if !slices.Equal(r.DeniedCapabilities, []string{"CAP_DAC_OVERRIDE"}) {
				t.Errorf("denied %v", r.DeniedCapabilities)
			}
			if !slices.Equal(r.Tailor.Conditional, []string{"clone", "socket", "unshare"}) {
				t.Errorf("conditional %v", r.Tailor.Conditional)
			}
		}},
		{name: "lossy", profile: lossy, bold: true, check: func(t *testing.T, r *Report) {
			if r.Complete || !strings.Contains(r.Warning, "7 events lost, tracer stopped") {
				t.Errorf("warning %q", r.Warning)
			}
		}},
		{name: "empty", profile: profileOf("")},
		{name: "touch", profile: touch, check: func(t *testing.T, r *Report) {
			if r.Touch.Files.Paths != 5 || r.Touch.Files.Written != 1 || r.Touch.Files.Lookups != 1 || r.Touch.Files.Executed != 1 {
				t.Errorf("file counts %+v", r.Touch.Files)
			}
			var high []string
			for _, h := range r.Touch.HighRisk {
				high = append(high, strings.SplitN(h, ":", 2)[0])
			}
			want := []string{"file /etc/shadow (read)", "program /tmp/run.sh (run by /bin/sh)", "network connect inet tcp port 443 (not loopback)"}
			if !slices.Equal(high, want) {
				t.Errorf("high risk %q, want %q", high, want)
			}
			if len(r.Touch.NotRecorded) != 0 {
				t.Errorf("not recorded %v", r.Touch.NotRecorded)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReport(tc.profile, SeccompOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if len(r.Docker.Capabilities) != 14 {
				t.Errorf("docker has %d capabilities, want its 14 defaults", len(r.Docker.Capabilities))
			}
			var text bytes.Buffer
			if err := r.WriteText(&text, tc.bold); err != nil {
				t.Fatal(err)
			}
			golden(t, "report/"+tc.name+".txt", text.Bytes())
			if r.Warning != "" {
				first, _, _ := strings.Cut(text.String(), "\n")
				if !strings.Contains(first, "WARNING") || strings.Contains(first, "\x1b[1m") != tc.bold {
					t.Errorf("first line %q: want the warning (bold: %v)", first, tc.bold)
				}
			}
			data, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "report/"+tc.name+".json", data)
			var back Report
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("report JSON does not decode: %v", err)
			}
		})
	}
}

func TestReportArgumentRules(t *testing.T) {
	p := profileOf("args", abiCalls(profiles.ABIX8664, base,
		one(withArgs("clone", 0, unix.CLONE_NEWNS|unix.CLONE_NEWPID)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_UNIX, sockDgram), profiles.SocketValue(40, 9))),
		one(withArgs("ioctl", unix.TCGETS)),
		one(overflowed("prctl")),
		one(profiles.Syscall{Name: "personality"})))
	r, err := NewReport(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []ArgSummary{
		{Syscall: "clone", Meaning: "namespace flags", Allowed: []string{"no namespace flags", "CLONE_NEWNS|CLONE_NEWPID"}},
		{Syscall: "clone3", Meaning: "namespace flags (read from struct clone_args)", Refused: true, Why: "ENOSYS, so that libc falls back to clone"},
		{Syscall: "socket", Meaning: "domain and type", Allowed: []string{"AF_UNIX/SOCK_DGRAM", "family 40/type 9"}},
		{Syscall: "personality", Meaning: "persona", Any: true, Why: "no values recorded"},
		{Syscall: "prctl", Meaning: "option", Any: true, Why: "more than 32 distinct values seen"},
		{Syscall: "ioctl", Meaning: "request", Allowed: []string{"0x5401"}},
	}
	if !reflect.DeepEqual(r.ArgumentRules, want) {
		got, _ := json.MarshalIndent(r.ArgumentRules, "", "  ")
		t.Errorf("argument rules:\n%s", got)
	}
}

// Our evaluation of moby's default profile must be what moby itself
// produces for this host (amd64, a kernel newer than every minKernel).
func TestDockerDefaultSeccompMatchesMoby(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("moby evaluates its profile for the host's architecture; this compares on amd64")
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DockerDefaultCapabilities()}}}
	want, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := DockerDefaultSeccomp()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("evaluated default differs from moby's:\ngot  %d rules, %v\nwant %d rules, %v",
			len(got.Syscalls), got.Architectures, len(want.Syscalls), want.Architectures)
	}
	caps := DockerDefaultCapabilities()
	for _, c := range []string{"CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID", "CAP_AUDIT_WRITE"} {
		if !slices.Contains(caps, c) {
			t.Errorf("docker default capabilities %v lack %s", caps, c)
		}
	}
}

func TestParseReportFormat(t *testing.T) {
	for _, f := range ReportFormats {
		if got, err := ParseReportFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseReportFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseReportFormat("html"); err == nil {
		t.Error("html accepted")
	}
}

// TestReportWithin checks what the report says of a profile enforced
// within Docker's default filter: the user namespace it learned is gone.
func TestReportWithin(t *testing.T) {
	p := profileOf("userns", abiCalls(profiles.ABIX8664, base,
		one(withArgs("unshare", unix.CLONE_NEWUSER)),
		one(withArgs("clone", 0, unix.CLONE_NEWUSER))))
	r, err := NewReport(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Within("bundle/config.json", DockerDefaultSeccomp()); err != nil {
		t.Fatal(err)
	}
	e := r.Engine
	if !e.Filter || !slices.Equal(e.Refused, []string{"unshare"}) || !slices.Equal(e.Narrowed, []string{"clone"}) {
		t.Errorf("engine side: filter %v, refused %v, narrowed %v; want unshare refused, clone narrowed", e.Filter, e.Refused, e.Narrowed)
	}
	if slices.Contains(e.Syscalls, "unshare") || !slices.Contains(e.Conditional, "clone") || !slices.Contains(r.Tailor.Syscalls, "unshare") {
		t.Errorf("engine syscalls %v (conditional %v), tailor %v", e.Syscalls, e.Conditional, r.Tailor.Syscalls)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "report/within.txt", text.Bytes())
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report/within.json", data)

	// A bundle without a filter of its own enforces the profile's whole.
	if err := r.Within("bare/config.json", nil); err != nil {
		t.Fatal(err)
	}
	if r.Engine.Filter || len(r.Engine.Refused) != 0 || !slices.Equal(r.Engine.Syscalls, r.Tailor.Syscalls) {
		t.Errorf("no engine filter: %+v", r.Engine)
	}
	text.Reset()
	if err := r.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "it has none: the profile's filter is enforced as it is") {
		t.Errorf("text does not say the bundle has no filter:\n%s", text.String())
	}
}
