package generator

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"

	"github.com/tailor-dev/tailor/internal/aamatch"
	"github.com/tailor-dev/tailor/profiles"
)

// touchProfile is a v2 recording of a small web server: syscalls with
// argument rules, capabilities, and what it touched, hostile names
// included.
func touchProfile() *profiles.Profile {
	p := profileOf("web", abiCalls(profiles.ABIX8664, base,
		one(withArgs("clone3", 0)),
		one(withArgs("socket", profiles.SocketValue(unix.AF_INET, sockStream), profiles.SocketValue(unix.AF_INET6, sockDgram),
			profiles.SocketValue(unix.AF_UNIX, sockStream), profiles.SocketValue(unix.AF_NETLINK, sockDgram))),
		one(withArgs("ioctl", unix.TCGETS)),
		plain("accept4", "bind", "listen", "setuid", "setgid", "chown", "flock", "rename")))
	capsOf(p, granted("CAP_CHOWN"), granted("CAP_NET_BIND_SERVICE"), granted("CAP_SETGID"), granted("CAP_SETUID"), denied("CAP_DAC_OVERRIDE"))
	p.Source = profiles.Source{Runtime: "runc", Kernel: "6.18.0-1-amd64", ContainerID: strings.Repeat("ab", 32),
		Start: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 1, 10, 5, 0, 0, time.UTC),
		Recordings: 3, SyscallBoundary: "seccomp"}
	p.Recorded = profiles.Dimensions
	acc := func(a ...profiles.Access) []profiles.Access { return a }
	p.Files = []profiles.File{
		{Path: "/", Type: profiles.TypeDir, Access: acc(profiles.AccessRead)},
		{Path: "/etc/nginx/nginx.conf", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		{Path: "/etc/nginx/conf.d/missing.conf", Access: acc(profiles.AccessLookup)},
		{Path: "/usr/sbin/nginx", Type: profiles.TypeRegular, Access: acc(profiles.AccessExec, profiles.AccessRead, profiles.AccessMmapExec)},
		{Path: "/usr/lib/x86_64-linux-gnu/libc.so.6", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead, profiles.AccessMmapExec)},
		{Path: "/var/log/nginx/access.log", Type: profiles.TypeRegular, Access: acc(profiles.AccessAppend, profiles.AccessCreate)},
		{Path: "/var/cache/nginx", Type: profiles.TypeDir, Access: acc(profiles.AccessMkdir)},
		{Path: "/run/nginx.pid", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead, profiles.AccessWrite, profiles.AccessTruncate)},
		{Path: "/run/nginx.lock", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead, profiles.AccessLock)},
		{Path: "/tmp/upload.part", Type: profiles.TypeRegular, Access: acc(profiles.AccessRenameFrom)},
		// Names SPO's form cannot carry as exactly one file.
		{Path: "/srv/www/a b.html", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		{Path: "/srv/www/*", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		{Path: "/srv/www/x,\n/etc/shadow r", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		{Path: "/srv/www/@{HOME}", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		{Path: "/srv/www/caf\xe9", Type: profiles.TypeRegular, Access: acc(profiles.AccessWrite)},
	}
	p.Programs = []profiles.Program{{Path: "/usr/sbin/nginx"}, {Path: "/docker-entrypoint.sh", Interpreter: "/bin/sh"},
		{Path: "/tmp/run me"}}
	p.Network = []profiles.Network{
		{Op: profiles.NetListen, Family: "inet", Protocol: "tcp", Port: 80},
		{Op: profiles.NetSend, Family: "inet6", Protocol: "udp", Port: 53},
		{Op: profiles.NetConnect, Family: "unix", Protocol: "stream", Address: "/run/php/php-fpm.sock"},
		{Op: profiles.NetConnect, Family: "unix", Protocol: "stream", Address: "@/tmp/.X11-unix/X0"},
	}
	p.Signals = []profiles.Signal{{Signal: "SIGHUP", Target: "systemd"}}
	p.Normalize()
	return p
}

// spoSpec decodes the spec of a generated object from its YAML bytes.
func spoSpec(t *testing.T, out []byte, spec any) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON(out)
	if err != nil {
		t.Fatalf("generated YAML does not parse: %v\n%s", err, out)
	}
	var obj struct {
		Spec json.RawMessage `json:"spec"`
	}
	var whole map[string]any
	if err := json.Unmarshal(j, &obj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &whole); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(obj.Spec)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		t.Fatalf("decode spec: %v\n%s", err, obj.Spec)
	}
	return whole
}

// seccompFromSPO reads a SeccompProfile's spec the way the operator
// writes it for the runtime: the seccomp JSON's own fields, so it decodes
// straight into the runtime-spec type (SCMP_ACT_ERRNO without an errno
// returns EPERM).
func seccompFromSPO(t *testing.T, out []byte) *specs.LinuxSeccomp {
	t.Helper()
	var s specs.LinuxSeccomp
	spoSpec(t, out, &s)
	if s.DefaultAction == specs.ActErrno && s.DefaultErrnoRet == nil {
		s.DefaultErrnoRet = errnoPtr(unix.EPERM)
	}
	return &s
}

// TestSPOSeccompEqualsSeccomp checks that every seccomp test profile gives
// a SeccompProfile whose syscalls, actions, arguments and architectures
// are those of the seccomp JSON, and that the filter it makes gives the
// same verdicts.
func TestSPOSeccompEqualsSeccomp(t *testing.T) {
	cases := append(seccompCases(), seccompCase{name: "touch", profile: touchProfile()})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, notes, err := SPOSeccomp(tc.profile, "web", tc.opts)
			if tc.opts.DefaultAction == DefaultENOSYS {
				if err == nil || !strings.Contains(err.Error(), "no defaultErrnoRet") {
					t.Fatalf("enosys default: error %v, want one saying SPO has no defaultErrnoRet", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := Seccomp(tc.profile, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := seccompFromSPO(t, out)
			gj, _ := MarshalSeccomp(got)
			wj, _ := MarshalSeccomp(want)
			if string(gj) != string(wj) {
				t.Errorf("the SeccompProfile's spec differs from the seccomp JSON\nSPO:\n%s\nseccomp:\n%s", gj, wj)
			}
			checkNotes(t, notes, []string{"installs the object on every node as <kubelet root>/seccomp/operator/web.json"})
			vm := newFilterVM(t, got)
			runProbes(t, vm, append(derivedProbes(t, tc.profile, tc.opts), tc.probes...))
		})
	}
}

// TestSPOSeccompTopBit checks a value SPO cannot hold: its rule is left
// out with a note, and nothing else is allowed in its place.
func TestSPOSeccompTopBit(t *testing.T) {
	const top = 1<<63 | unix.PR_SET_DUMPABLE
	p := profileOf("topbit", abiCalls(profiles.ABIX8664, base,
		one(withArgs("prctl", unix.PR_SET_NAME, top)),
		one(withArgs("unshare", 1<<63))))
	out, notes, err := SPOSeccomp(p, "topbit", SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "9223372036854775808") || strings.Contains(string(out), "e+") {
		t.Errorf("a value above 2^63-1 reached the object:\n%s", out)
	}
	checkNotes(t, notes, []string{
		"prctl: the rule allowing it when arg0 == 0x8000000000000004 is left out",
		"0x7fffffffffffffff",
		"unshare: the rule allowing it when arg0 == 0x8000000000000000 is left out",
		"no rule for it is left: the object does not allow it at all",
	})
	for _, n := range notes {
		if n.Syscall == "prctl" && strings.Contains(n.Text, "not allow it at all") {
			t.Errorf("prctl keeps its PR_SET_NAME rule, but the note says it is not allowed: %s", n)
		}
	}
	spo := newFilterVM(t, seccompFromSPO(t, out))
	want, _, err := Seccomp(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full := newFilterVM(t, want)
	runProbes(t, spo, []probe{
		x64("prctl", "allow", unix.PR_SET_NAME),
		x64("prctl", "errno 1", top), // refused: narrower than the seccomp JSON, never wider
		x64("prctl", "errno 1", top&math.MaxInt64),
		x64("unshare", "errno 1", 1<<63),
		x64("unshare", "errno 1", 0),
	})
	runProbes(t, full, []probe{x64("prctl", "allow", top), x64("unshare", "allow", 1<<63)})
}

func TestSPOSeccompRefusesInexpressible(t *testing.T) {
	tests := []struct {
		name string
		s    specs.LinuxSeccomp
		want string
	}{
		{name: "errno default other than EPERM", s: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errnoPtr(unix.ENOSYS)},
			want: "no defaultErrnoRet"},
		{name: "top bit in a refusal", s: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			errnoRule("prctl", unix.EPERM, eq(0, 1<<63))}}, want: "dropping a SCMP_ACT_ERRNO rule would change"},
		{name: "errno 0", s: specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: new(uint)}}}, want: "errnoRet 0"},
		{name: "unknown action", s: specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FLY"}, want: "default action SCMP_ACT_FLY"},
		{name: "argument index", s: specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			allowIf("prctl", eq(6, 1))}}, want: "argument index 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := spoSeccomp(&tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

var (
	labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	labelNameRE  = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

// checkMetadata checks what the CRD schema leaves to the API server: the
// object's name and its labels' and annotations' syntax.
func checkMetadata(t *testing.T, obj map[string]any) {
	t.Helper()
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if len(name) > 253 || !dnsSubdomain.MatchString(name) {
		t.Errorf("metadata.name %q is not a DNS subdomain", name)
	}
	if _, ok := meta["namespace"]; ok {
		t.Errorf("metadata.namespace set on a cluster-scoped object")
	}
	labels, _ := meta["labels"].(map[string]any)
	for k, v := range labels {
		prefix, key, ok := strings.Cut(k, "/")
		if !ok || !dnsSubdomain.MatchString(prefix) || len(key) > 63 || !labelNameRE.MatchString(key) {
			t.Errorf("label key %q is not a prefixed label name", k)
		}
		s, _ := v.(string)
		if len(s) > 63 || !labelValueRE.MatchString(s) {
			t.Errorf("label %s=%q is not a valid label value", k, s)
		}
	}
	total := 0
	annotations, _ := meta["annotations"].(map[string]any)
	for k, v := range annotations {
		s, _ := v.(string)
		total += len(k) + len(s)
	}
	if total > 256<<10 {
		t.Errorf("annotations hold %d bytes, more than the API server's 256 KiB", total)
	}
}

func TestSPOMetadata(t *testing.T) {
	p := touchProfile()
	out, _, err := SPOSeccomp(p, "web", SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var s spoSeccompSpec
	obj := spoSpec(t, out, &s)
	checkMetadata(t, obj)
	meta := obj["metadata"].(map[string]any)
	labels := meta["labels"].(map[string]any)
	want := map[string]any{"tailor.dev/profile": "web", "tailor.dev/runtime": "runc", "tailor.dev/syscall-boundary": "seccomp",
		"tailor.dev/recordings": "3", "tailor.dev/complete": "true"}
	if !mapsEqual(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	annotations := meta["annotations"].(map[string]any)
	if annotations["tailor.dev/container-id"] != strings.Repeat("ab", 32) ||
		annotations["tailor.dev/learned"] != "2026-05-01T10:00:00Z/2026-05-01T10:05:00Z" ||
		annotations["tailor.dev/kernel"] != "6.18.0-1-amd64" ||
		annotations["tailor.dev/recorded"] != "syscalls,capabilities,files,programs,network,signals" {
		t.Errorf("annotations %v lack the provenance", annotations)
	}

	// Hostile provenance: labels are sanitised, annotations bounded.
	h := profileOf("Web App/../\n$(id)", abiCalls(profiles.ABIX8664, base))
	h.Source.Runtime = "-runc\x00\xff" + strings.Repeat("x", 100)
	h.Source.SyscallBoundary = "..."
	h.Source.Kernel = strings.Repeat("k\xff", 1<<20)
	h.Loss.Reasons = []string{"lost\nlines"}
	h.Normalize()
	out, _, err = SPOSeccomp(h, "hostile", SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj = spoSpec(t, out, &s)
	checkMetadata(t, obj)
	meta = obj["metadata"].(map[string]any)
	labels = meta["labels"].(map[string]any)
	if labels["tailor.dev/profile"] != "Web-App-..----id" || labels["tailor.dev/complete"] != "false" {
		t.Errorf("hostile labels %v", labels)
	}
	if v := labels["tailor.dev/runtime"].(string); len(v) != 63 || !strings.HasPrefix(v, "runc--") {
		t.Errorf("runtime label %q: want the sanitised value cut to 63 characters", v)
	}
	if _, ok := labels["tailor.dev/syscall-boundary"]; ok {
		t.Errorf("a label with nothing valid left was kept: %v", labels)
	}
	annotations = meta["annotations"].(map[string]any)
	if k := annotations["tailor.dev/kernel"].(string); len(k) > maxAnnotation || !strings.HasSuffix(k, "...") {
		t.Errorf("kernel annotation of %d bytes not bounded", len(k))
	}
	if !strings.Contains(annotations["tailor.dev/incomplete"].(string), "lost\nlines") {
		t.Errorf("incomplete annotation %q", annotations["tailor.dev/incomplete"])
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSPONames(t *testing.T) {
	p := touchProfile()
	long := strings.Repeat("a", 254)
	for _, name := range []string{"", "Web", "web_1", "../etc", "web/x", "-web", "web-", "web\n", "a..b", long, "unconfined", "wéb"} {
		for _, f := range []Format{FormatSPOSeccomp, FormatSPOAppArmor} {
			_, _, err := Generate(p, Options{Format: f, Name: name})
			if err == nil || !strings.Contains(err.Error(), "profile name") || !strings.Contains(err.Error(), "--name") {
				t.Errorf("%s with name %q: error %v, want one naming the profile name and --name", f, name, err)
			}
		}
	}
	for _, name := range []string{"web", "shop.web", "a", "web-1.v2", strings.Repeat("a", 63) + "." + strings.Repeat("b", 63)} {
		if _, _, err := Generate(p, Options{Format: FormatSPOSeccomp, Name: name}); err != nil {
			t.Errorf("name %q refused: %v", name, err)
		}
	}
}

func TestSPOAppArmor(t *testing.T) {
	p := touchProfile()
	out, notes, err := SPOAppArmor(p, "web")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "spo/golden/web-apparmor.yaml", out)
	var s spoAppArmorSpec
	obj := spoSpec(t, out, &s)
	checkMetadata(t, obj)
	a := s.Abstract
	eqList := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	eqList("allowedExecutables", a.Executable.AllowedExecutables, []string{"/bin/sh", "/docker-entrypoint.sh", "/usr/sbin/nginx"})
	eqList("allowedLibraries", a.Executable.AllowedLibraries, []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/sbin/nginx"})
	eqList("readOnlyPaths", a.Filesystem.ReadOnlyPaths, []string{"/", "/etc/nginx/nginx.conf", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/sbin/nginx"})
	eqList("writeOnlyPaths", a.Filesystem.WriteOnlyPaths, []string{"/var/cache/nginx/", "/var/log/nginx/access.log"})
	eqList("readWritePaths", a.Filesystem.ReadWritePaths, []string{"/run/nginx.lock", "/run/nginx.pid", "/run/php/php-fpm.sock", "/tmp/upload.part"})
	eqList("allowedCapabilities", a.Capability.AllowedCapabilities, []string{"chown", "net_bind_service", "setgid", "setuid"})
	if !a.Network.Protocols.AllowTCP || !a.Network.Protocols.AllowUDP || a.Network.AllowRaw {
		t.Errorf("network %+v, want TCP and UDP, no raw", a.Network)
	}
	if s.Mode != "Enforce" {
		t.Errorf("mode %q", s.Mode)
	}
	checkNotes(t, notes, []string{
		`6 path(s) are left out`, `"/srv/www/a b.html"`, `"/srv/www/*"`, `"/srv/www/@{HOME}"`,
		`1 path(s) were locked but never written`, `"/run/nginx.lock"`,
		`1 failed lookup(s) are not listed`, `"/etc/nginx/conf.d/missing.conf"`,
		`1 abstract unix socket peer(s)`, `sockets of AF_NETLINK/SOCK_DGRAM are not carried`,
		`ports and addresses are not carried (2 endpoint(s) recorded)`, `1 signal or ptrace target(s)`,
		`CAP_DAC_OVERRIDE was checked and denied`, `loads the object on every node as AppArmor profile web`,
	})
	checkSPOPaths(t, a)
}

// spoValid is SPO's own validation of a path (crd2armor's strictPathRegex).
var spoValid = regexp.MustCompile(`^(?:/[a-zA-Z0-9_./*?+@{} -]*)$`)

// checkSPOPaths checks that every path written is one SPO's validation
// accepts and that its only globs are tunables/global's @{pid} and @{tid}.
func checkSPOPaths(t *testing.T, a spoAppArmorAbstract) {
	t.Helper()
	for _, list := range [][]string{a.Executable.AllowedExecutables, a.Executable.AllowedLibraries,
		a.Filesystem.ReadOnlyPaths, a.Filesystem.WriteOnlyPaths, a.Filesystem.ReadWritePaths} {
		for _, path := range list {
			bare := strings.NewReplacer("@{pid}", "", "@{tid}", "").Replace(path)
			if !spoValid.MatchString(path) || strings.ContainsAny(bare, "*?{}@ ") {
				t.Errorf("path %q is not one exact file (or @{pid}, @{tid}) in SPO's form", path)
			}
		}
	}
}

// TestSPOAppArmorGeneralizes: pids under /proc become @{pid} and @{tid},
// which SPO's form carries, so that a fresh run's pids match (checked with
// aamatch on the rules SPO writes); names whose globs SPO cannot write
// stay exact, with a note, and never become broader.
func TestSPOAppArmorGeneralizes(t *testing.T) {
	p := touchProfile()
	acc := func(a ...profiles.Access) []profiles.Access { return a }
	p.Files = append(p.Files,
		profiles.File{Path: "/proc/7/status", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		profiles.File{Path: "/proc/31/status", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		profiles.File{Path: "/proc/self/maps", Type: profiles.TypeRegular, Access: acc(profiles.AccessRead)},
		profiles.File{Path: "/proc/12/task/13/comm", Type: profiles.TypeRegular, Access: acc(profiles.AccessWrite)},
		profiles.File{Path: "/proc/12/fd", Type: profiles.TypeDir, Access: acc(profiles.AccessRead)},
		profiles.File{Path: "/tmp/tmp.Ab3dE6gH9j", Type: profiles.TypeRegular, Access: acc(profiles.AccessWrite)},
		profiles.File{Path: "/tmp/go-build3141592653", Type: profiles.TypeDir, Access: acc(profiles.AccessMkdir)},
	)
	p.Normalize()
	out, notes, err := SPOAppArmor(p, "web")
	if err != nil {
		t.Fatal(err)
	}
	var s spoAppArmorSpec
	spoSpec(t, out, &s)
	a := s.Abstract
	checkSPOPaths(t, a)
	for _, want := range []struct {
		list []string
		path string
	}{
		{a.Filesystem.ReadOnlyPaths, "/proc/@{pid}/status"},
		{a.Filesystem.ReadOnlyPaths, "/proc/@{pid}/maps"},
		{a.Filesystem.ReadOnlyPaths, "/proc/@{pid}/fd/"},
		{a.Filesystem.WriteOnlyPaths, "/proc/@{pid}/task/@{tid}/comm"},
		{a.Filesystem.WriteOnlyPaths, "/tmp/tmp.Ab3dE6gH9j"},
		{a.Filesystem.WriteOnlyPaths, "/tmp/go-build3141592653/"},
	} {
		if !slices.Contains(want.list, want.path) {
			t.Errorf("%q missing from %q", want.path, want.list)
		}
	}
	// The rules as SPO writes them (crd2armor: "PATH r," and "deny PATH
	// wlk," for read-only paths, "PATH wlk," and "deny PATH r," for
	// write-only ones), read by the matcher.
	var rules strings.Builder
	rules.WriteString("include <tunables/global>\nprofile web {\n")
	for _, path := range a.Filesystem.ReadOnlyPaths {
		fmt.Fprintf(&rules, "  %s r,\n  deny %[1]s wlk,\n", path)
	}
	for _, path := range a.Filesystem.WriteOnlyPaths {
		fmt.Fprintf(&rules, "  %s wlk,\n  deny %[1]s r,\n", path)
	}
	rules.WriteString("}\n")
	aa, err := aamatch.Parse([]byte(rules.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, rules.String())
	}
	for _, tc := range []struct {
		path string
		perm aamatch.Perm
		want bool
	}{
		{"/proc/4242/status", aamatch.Read, true}, // a fresh run's pid
		{"/proc/self/status", aamatch.Read, false},
		{"/proc/4242/stat", aamatch.Read, false},
		{"/proc/sys/status", aamatch.Read, false},
		{"/proc/4242/status", aamatch.Write, false},
		{"/proc/40/task/41/comm", aamatch.Write, true},
		{"/proc/40/task/comm", aamatch.Write, false},
		{"/proc/9/fd/", aamatch.Read, true},
		{"/proc/9/fd/3", aamatch.Read, false},
		{"/tmp/tmp.Ab3dE6gH9j", aamatch.Write, true},
		{"/tmp/tmp.Zz9yX8wV7u", aamatch.Write, false}, // exact: SPO cannot carry the classes
	} {
		if got := aa.Allows(tc.path, tc.perm); got != tc.want {
			t.Errorf("%s on %q: allowed %v, want %v", tc.perm, tc.path, got, tc.want)
		}
	}
	checkNotes(t, notes, []string{
		"5 path(s) under /proc name a process or thread: listed with @{pid} and @{tid}",
		"2 path(s) have names that change per run", `"/tmp/go-build3141592653"`, `"/tmp/tmp.Ab3dE6gH9j"`,
	})
}

func TestSPOAppArmorRaw(t *testing.T) {
	p := touchProfile()
	p.ABIs[0].Syscalls = append(p.ABIs[0].Syscalls, withArgs("socket", profiles.SocketValue(unix.AF_NETLINK, sockRaw)))
	p.Normalize()
	out, notes, err := SPOAppArmor(p, "web")
	if err != nil {
		t.Fatal(err)
	}
	var s spoAppArmorSpec
	spoSpec(t, out, &s)
	if !s.Abstract.Network.AllowRaw {
		t.Error("a raw netlink socket was created, allowRaw is false")
	}
	checkNotes(t, notes, []string{"allowRaw lets the profile create raw sockets of any family"})
}

func TestSPOAppArmorRefusesUnrecorded(t *testing.T) {
	v1 := capsOf(profileOf("v1", abiCalls(profiles.ABIX8664, base)), granted("CAP_CHOWN"))
	if _, _, err := SPOAppArmor(v1, "v1"); err == nil || !strings.Contains(err.Error(), "did not record files, programs, network") {
		t.Fatalf("a profile without files, programs and network: error %v", err)
	}
	filesOnly := touchProfile()
	filesOnly.Recorded = []profiles.Dimension{profiles.DimSyscalls, profiles.DimCapabilities, profiles.DimFiles}
	if _, _, err := SPOAppArmor(filesOnly, "web"); err == nil || !strings.Contains(err.Error(), "did not record programs, network") {
		t.Fatalf("a profile without programs and network: error %v", err)
	}
}

func TestSPOGolden(t *testing.T) {
	out, _, err := SPOSeccomp(touchProfile(), "web", SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "spo/golden/web-seccomp.yaml", out)
	empty := profileOf("empty")
	empty.Recorded = profiles.Dimensions
	empty.Normalize()
	out, _, err = SPOAppArmor(empty, "empty")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "spo/golden/empty-apparmor.yaml", out)
}
