package generator

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/aamatch"
	"github.com/tailor-dev/tailor/internal/aaparser"
	"github.com/tailor-dev/tailor/profiles"
)

// touching returns p recording every dimension, with the given files
// (path, type and accesses), programs and network items.
func touching(p *profiles.Profile, files []profiles.File, progs []profiles.Program, net []profiles.Network, sigs []profiles.Signal) *profiles.Profile {
	p.Recorded = profiles.Dimensions
	for i := range files {
		files[i].Seen.Recordings = 1
	}
	p.Files, p.Programs, p.Network, p.Signals = files, progs, net, sigs
	p.Normalize()
	return p
}

func file(path string, typ profiles.FileType, access ...profiles.Access) profiles.File {
	return profiles.File{Path: path, Type: typ, Access: access}
}

func reg(path string, access ...profiles.Access) profiles.File {
	return file(path, profiles.TypeRegular, access...)
}

const (
	rd  = profiles.AccessRead
	wr  = profiles.AccessWrite
	mm  = profiles.AccessMmapExec
	ex  = profiles.AccessExec
	crt = profiles.AccessCreate
)

// busyboxProfile is a busybox script: it runs a script with sh, lists a
// directory, reads its own /proc entries, writes a mkstemp file and a Go
// style temporary directory, and probes a missing config.
func busyboxProfile() *profiles.Profile {
	p := profileOf("busybox", abiCalls(profiles.ABIX8664, base, plain("getdents64", "unlink", "mkdir")))
	return touching(p, []profiles.File{
		reg("/bin/busybox", rd, mm, ex),
		reg("/entry.sh", rd, ex),
		reg("/etc/passwd", rd),
		reg("/etc/group", rd),
		file("/", profiles.TypeDir, rd),
		file("/etc", profiles.TypeDir, rd),
		reg("/proc/7/status", rd),
		reg("/proc/7/task/8/comm", rd),
		reg("/tmp/tmpab12CD", crt, wr, rd, profiles.AccessUnlink),
		file("/tmp/work-1234567890", profiles.TypeDir, profiles.AccessMkdir),
		reg("/tmp/work-1234567890/out.log", crt, profiles.AccessAppend),
		reg("/var/lock/job.lock", rd, profiles.AccessLock),
		file("/etc/job.conf", profiles.TypeUnknown, profiles.AccessLookup),
		reg("/dev/null", rd, wr),
	}, []profiles.Program{
		{Path: "/bin/busybox"},
		{Path: "/entry.sh", Interpreter: "/bin/busybox"},
	}, nil, nil)
}

// nginxProfile is an nginx with its capabilities, sockets, logs, cache
// and a cgroup knob it writes (which lifts docker-default's /sys deny).
func nginxProfile() *profiles.Profile {
	p := profileOf("nginx", abiCalls(profiles.ABIX8664, base,
		one(withArgs("socket", profiles.SocketValue(unix.AF_INET, unix.SOCK_STREAM), profiles.SocketValue(unix.AF_INET6, unix.SOCK_STREAM),
			profiles.SocketValue(unix.AF_UNIX, unix.SOCK_STREAM), profiles.SocketValue(unix.AF_NETLINK, unix.SOCK_RAW))),
		plain("bind", "listen", "accept4", "setuid", "setgid", "chown", "kill")))
	capsOf(p, granted("CAP_CHOWN"), granted("CAP_SETUID"), granted("CAP_SETGID"), granted("CAP_NET_BIND_SERVICE"), denied("CAP_DAC_OVERRIDE"))
	return touching(p, []profiles.File{
		reg("/usr/sbin/nginx", rd, mm, ex),
		reg("/usr/lib/x86_64-linux-gnu/libc.so.6", rd, mm),
		reg("/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2", rd, mm),
		reg("/etc/ld.so.cache", rd),
		reg("/etc/nginx/nginx.conf", rd),
		reg("/etc/nginx/mime.types", rd),
		reg("/var/log/nginx/access.log", crt, profiles.AccessAppend),
		reg("/var/log/nginx/error.log", profiles.AccessAppend),
		file("/var/cache/nginx/client_temp", profiles.TypeDir, profiles.AccessMkdir, profiles.AccessChown),
		reg("/run/nginx.pid", crt, wr, profiles.AccessTruncate, profiles.AccessUnlink),
		reg("/run/nginx.pid.oldbin", profiles.AccessRenameTo),
		reg("/run/nginx.pid.tmp", profiles.AccessRenameFrom),
		file("/run/nginx.sock", profiles.TypeSocket, profiles.AccessBind),
		reg("/var/lib/nginx/"+strings.Repeat("c0ffee", 10)+"d00d.cache", rd),
		reg("/proc/sys/net/core/somaxconn", rd),
		reg("/sys/fs/cgroup/nginx/cgroup.procs", wr),
		reg("/usr/share/nginx/html/index.html", rd),
	}, []profiles.Program{{Path: "/usr/sbin/nginx"}},
		[]profiles.Network{
			{Op: profiles.NetListen, Family: "inet", Protocol: "tcp", Port: 80},
			{Op: profiles.NetListen, Family: "inet6", Protocol: "tcp", Port: 80},
			{Op: profiles.NetConnect, Family: "unix", Protocol: "stream", Address: "/run/app/upstream.sock"},
		},
		[]profiles.Signal{{Signal: "SIGHUP", Target: "logrotate"}, {Signal: "SIGRTMIN+3", Target: "init"}})
}

// aaHostileNames are file names that spell out glob operators, quotes,
// comments, variables, other rules and bytes that are not UTF-8: each
// must become a rule for exactly that file.
var aaHostileNames = []string{
	"/srv/a b", "/srv/tab\there", `/srv/quo"te`, `/srv/back\slash`, `/srv/back\`, "/srv/comma,name", "/srv/#hash",
	"/srv/star*", "/srv/**", "/srv/q?", "/srv/[br]", "/srv/[^x]", "/srv/{a,b}", "/srv/@{pid}", "/srv/@{HOME}x",
	"/srv/^caret", "/srv/new\nline r,\n/etc/shadow r", "/srv/x r,", "/srv/deny /etc/** rw,", "/srv/-> other",
	"/srv/\xff\xfe\x80", "/srv/caf\xc3\xa9", "/srv/\x01\x1b[31m", "/srv/}{", "/srv/${HOME}", "/srv/'single'",
	"/srv/profile x {", "/srv/trailing\\", "/srv/=,+~:%", "/srv/a\r\nb",
}

func hostileProfile() *profiles.Profile {
	p := profileOf("hostile", abiCalls(profiles.ABIX8664, base))
	var files []profiles.File
	for _, n := range aaHostileNames {
		files = append(files, reg(n, rd, wr))
	}
	files = append(files, file("/srv/dir with {braces}", profiles.TypeDir, rd, profiles.AccessMkdir))
	return touching(p, files, []profiles.Program{{Path: "/srv/run me*"}}, nil, nil)
}

var aaCases = []struct {
	name    string
	profile func() *profiles.Profile
}{
	{"busybox", busyboxProfile},
	{"nginx", nginxProfile},
	{"hostile", hostileProfile},
}

// aaGenerate generates the AppArmor profile of p and checks what every
// generated profile must be: stable bytes, accepted by apparmor_parser,
// readable by the matcher.
func aaGenerate(t *testing.T, p *profiles.Profile) ([]byte, []Note, *aamatch.Profile) {
	t.Helper()
	out, notes, err := AppArmor(p, AppArmorOptions{Name: p.Name})
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := AppArmor(p, AppArmorOptions{Name: p.Name})
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("a second generation differs (err %v)", err)
	}
	aaValidate(t, out)
	m, err := aamatch.Parse(out)
	if err != nil {
		t.Fatalf("the matcher cannot read the profile: %v\n%s", err, out)
	}
	return out, notes, m
}

// aaValidate runs apparmor_parser on text (skipped where it is missing,
// a failure under CI=true).
func aaValidate(t *testing.T, text []byte) {
	t.Helper()
	if err := aaparser.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Logf("generated profile not validated: %v", err)
		return
	}
	if err := aaparser.Validate(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
}

func TestAppArmorGolden(t *testing.T) {
	for _, tc := range aaCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.profile()
			out, _, m := aaGenerate(t, p)
			golden(t, "apparmor/"+tc.name+".apparmor", out)
			t.Run("validate", func(t *testing.T) {
				aaparser.Require(t)
				if err := aaparser.Validate(out); err != nil {
					t.Fatal(err)
				}
			})
			// Every access the profile recorded is allowed.
			for _, f := range p.Files {
				var want aamatch.Perm
				for _, a := range f.Access {
					want |= aaAccessPerms[a]
				}
				path := f.Path
				if f.Type == profiles.TypeDir && path != "/" {
					path += "/"
				}
				if want != 0 && !m.Allows(aaResolved(path), want) {
					t.Errorf("%q needs %s: not allowed", path, want)
				}
			}
			for _, prog := range p.Programs {
				if !m.Allows(prog.Path, aamatch.Exec) {
					t.Errorf("program %q: exec not allowed", prog.Path)
				}
			}
		})
	}
}

// aaResolved is the path AppArmor sees for a recorded one (self links
// resolved; these profiles use pid 7).
func aaResolved(path string) string { return strings.Replace(path, "/proc/self/", "/proc/7/", 1) }

// TestAppArmorSensitive checks that what the workloads never did stays
// refused: reading secrets, writing system files and binaries, kernel
// knobs, executing from /tmp.
func TestAppArmorSensitive(t *testing.T) {
	sensitive := []struct{ path, perm string }{
		{"/etc/shadow", "r"}, {"/etc/gshadow", "r"}, {"/root/.ssh/id_ed25519", "r"},
		{"/etc/passwd", "w"}, {"/etc/passwd", "a"}, {"/etc/passwd", "l"}, {"/etc/group", "w"},
		{"/bin/sh", "w"}, {"/bin/busybox", "w"}, {"/usr/bin/env", "w"}, {"/usr/sbin/nginx", "w"},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", "w"}, {"/usr/lib/x86_64-linux-gnu/libevil.so", "m"},
		{"/proc/sysrq-trigger", "w"}, {"/proc/sys/kernel/core_pattern", "w"}, {"/proc/sys/kernel/modprobe", "w"},
		{"/proc/sys/vm/overcommit_memory", "w"}, {"/proc/kcore", "r"}, {"/dev/mem", "r"},
		{"/sys/kernel/security/apparmor/policy/.replace", "w"}, {"/sys/firmware/efi/efivars/x", "w"},
		{"/tmp/evil", "x"}, {"/tmp/tmpab12CD", "x"}, {"/dev/shm/x", "x"}, {"/var/tmp/x", "x"},
		{"/etc/job.conf", "r"}, // only looked up: still refused when it appears
		{"/", "w"}, {"/etc/", "w"},
	}
	for _, tc := range aaCases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, m := aaGenerate(t, tc.profile())
			for _, s := range sensitive {
				perm, err := aamatch.ParsePerm(s.perm)
				if err != nil {
					t.Fatal(err)
				}
				if m.Allows(s.path, perm) {
					t.Errorf("%s allows %s on %q, which the workload never did", tc.name, s.perm, s.path)
				}
			}
		})
	}
}

// TestAppArmorExact checks that each rule without a generalised part
// matches exactly its file: the matcher reads it as a literal equal to a
// recorded path.
func TestAppArmorExact(t *testing.T) {
	for _, tc := range aaCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.profile()
			_, _, m := aaGenerate(t, p)
			recorded := map[string]bool{"/dev/null": true}
			for _, f := range p.Files {
				if f.Type == profiles.TypeDir && f.Path != "/" {
					recorded[f.Path+"/"] = true
				} else {
					recorded[f.Path] = true
				}
			}
			for _, prog := range p.Programs {
				recorded[prog.Path], recorded[prog.Interpreter] = true, true
			}
			for _, n := range p.Network {
				recorded[n.Address] = true
			}
			for _, r := range m.Rules {
				if r.Deny {
					continue
				}
				lit, ok := r.Path.Literal()
				if ok && !recorded[lit] {
					t.Errorf("rule %q is exact for %q, which was never recorded", r.Text, lit)
				}
			}
			for _, name := range aaHostileNames {
				if tc.name != "hostile" {
					break
				}
				rules := m.Matching(name)
				if len(rules) != 1 {
					t.Errorf("%q: %d rules match it, want 1", name, len(rules))
					continue
				}
				if lit, ok := rules[0].Path.Literal(); !ok || lit != name {
					t.Errorf("%q: its rule %q is not exactly it", name, rules[0].Text)
				}
			}
		})
	}
}

func TestAppArmorRules(t *testing.T) {
	out, notes, m := aaGenerate(t, nginxProfile())
	text := string(out)
	for _, want := range []string{
		"abi <abi/3.0>,", "include <tunables/global>", "profile nginx flags=(attach_disconnected,mediate_deleted) {",
		"capability chown,", "capability net_bind_service,", "capability setgid,", "capability setuid,",
		"network inet stream,", "network inet6 stream,", "network netlink raw,", "network unix stream,",
		"signal (send,receive) peer=nginx,", "signal (receive) peer=unconfined,", "ptrace (read,readby) peer=nginx,",
		"signal (send) set=(hup, rtmin+3) peer=unconfined,",
		"/var/log/nginx/error.log a,", "/var/cache/nginx/client_temp/ w,", "/run/nginx.pid.tmp rw,",
		"/usr/lib/x86_64-linux-gnu/libc.so.6 rm,", "/usr/sbin/nginx rmix,", "/run/app/upstream.sock rw,",
		"deny /proc/sys/** wl,", "deny /proc/sysrq-trigger rwlkx,", "deny mount,", "deny umount,", "deny pivot_root,",
	} {
		if !strings.Contains(text, "\n"+want+"\n") && !strings.Contains(text, "  "+want+"\n") {
			t.Errorf("no line %q in:\n%s", want, text)
		}
	}
	for _, absent := range []string{"capability dac_override", "deny /sys/** wl,", "ptrace (read,readby,trace"} {
		if strings.Contains(text, absent) {
			t.Errorf("%q is in the profile", absent)
		}
	}
	checkNotes(t, notes, []string{
		"CAP_DAC_OVERRIDE was checked and denied",
		`the workload needs w on "/sys/fs/cgroup/nginx/cgroup.procs": left out "deny /sys/** wl,"`,
		"not ports or addresses: the 3 endpoints",
		"signalled processes outside the container (hup, rtmin+3)",
		"1 path with names that change from run to run became globs (hex hash 1)",
	})
	if !m.Allows("/sys/fs/cgroup/nginx/cgroup.procs", aamatch.Write) || m.Allows("/sys/fs/cgroup/other/cgroup.procs", aamatch.Write) {
		t.Error("the cgroup knob: want exactly the one written")
	}
	_, bnotes, bm := aaGenerate(t, busyboxProfile())
	checkNotes(t, bnotes, []string{"1 path only looked up and not found", `"/var/lock/job.lock" was locked but never written`})
	if !bm.Allows("/var/lock/job.lock", aamatch.Lock|aamatch.Write) {
		t.Error("a lock file: want k and w")
	}
}

func TestAppArmorPtraceAndNetworkFallbacks(t *testing.T) {
	p := touching(profileOf("tracer", abiCalls(profiles.ABIX8664, base, plain("ptrace", "socketpair"), one(overflowed("socket")))),
		nil, nil, nil, []profiles.Signal{{Signal: "ptrace", Target: "sshd"}})
	out, notes, _ := aaGenerate(t, p)
	for _, want := range []string{"ptrace (read,readby,trace,tracedby) peer=tracer,", "network,"} {
		if !strings.Contains(string(out), "  "+want+"\n") {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}
	checkNotes(t, notes, []string{"every network family is allowed", `tried to ptrace "sshd" outside the container`})
}

func TestAppArmorRefuses(t *testing.T) {
	v1 := profileOf("v1", abiCalls(profiles.ABIX8664, base))
	bad := busyboxProfile()
	tests := []struct {
		name string
		p    *profiles.Profile
		opts AppArmorOptions
		want string
	}{
		{name: "not recorded", p: v1, opts: AppArmorOptions{Name: "v1"}, want: "did not record files, programs, network"},
		{name: "nil", opts: AppArmorOptions{Name: "x"}, want: "no profile"},
		{name: "empty name", p: bad, want: `AppArmor profile name ""`},
		{name: "name with space", p: bad, opts: AppArmorOptions{Name: "a b"}, want: `"a b"`},
		{name: "name with slash", p: bad, opts: AppArmorOptions{Name: "../x"}, want: `"../x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := AppArmor(tc.p, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestAppArmorAccessTable keeps the permission table complete: a new
// access in the profile model must say what AppArmor needs for it.
func TestAppArmorAccessTable(t *testing.T) {
	for _, a := range profiles.Accesses {
		if _, ok := aaAccessPerms[a]; !ok {
			t.Errorf("access %q has no AppArmor permissions in aaAccessPerms (and docs/apparmor.md)", a)
		}
	}
}

// TestAppArmorSecondRun generates from one run and checks a second run of
// the same workload, with other pids and temporary names, is covered.
func TestAppArmorSecondRun(t *testing.T) {
	_, _, m := aaGenerate(t, busyboxProfile())
	second := []struct {
		path string
		perm aamatch.Perm
	}{
		{"/proc/23/status", aamatch.Read},
		{"/proc/23/task/25/comm", aamatch.Read},
		{"/tmp/tmpQ9x7Lm", aamatch.Read | aamatch.Write},
		{"/tmp/work-98765/", aamatch.Write},
		{"/tmp/work-98765/out.log", aamatch.Write | aamatch.Append},
		{"/dev/pts/0", aamatch.Read | aamatch.Write},
	}
	for _, s := range second {
		if !m.Allows(s.path, s.perm) {
			t.Errorf("a second run's %q (%s) is not allowed", s.path, s.perm)
		}
	}
}

func TestAppArmorFlags(t *testing.T) {
	nginx := nginxProfile()
	tests := []struct {
		name string
		p    *profiles.Profile
		opts Options
		want string // "" for no apparmor flag
	}{
		{name: "recorded files", p: nginx, opts: Options{Name: "nginx"}, want: "--security-opt apparmor=nginx\n"},
		{name: "left out", p: nginx, opts: Options{Name: "nginx", NoAppArmor: true}},
		{name: "no files recorded", p: profileOf("v1", abiCalls(profiles.ABIX8664, base)), opts: Options{Name: "v1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format, tc.opts.SeccompFile = FormatFlags, "web.seccomp.json"
			out, notes, err := Generate(tc.p, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(out), "apparmor="); has != (tc.want != "") || !strings.HasSuffix(string(out), tc.want) {
				t.Errorf("flags %q, want the AppArmor flag %q", out, tc.want)
			}
			if tc.want != "" {
				checkNotes(t, notes, []string{"apparmor_parser -r nginx", "--no-apparmor"})
			}
		})
	}
	if _, _, err := Flags(nginx, "web.seccomp.json", "bad name"); err == nil || !strings.Contains(err.Error(), "--no-apparmor") {
		t.Errorf("a bad name: error %v", err)
	}
	out, _, err := Generate(nginx, Options{Format: FormatAppArmor, Name: "web"})
	if err != nil || !strings.Contains(string(out), "profile web flags=") {
		t.Errorf("Generate(apparmor): %v\n%s", err, out)
	}
}
