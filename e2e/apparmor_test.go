package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/aamatch"
	"github.com/tailor-dev/tailor/internal/aaparser"
	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/profiles"
)

// TestAppArmor: for the busybox, redis and nginx workloads learned under
// runc and crun, the AppArmor profile tailor generates is accepted by
// apparmor_parser, allows every file access and exec strace sees a
// separate run of the same workload make (other pids, another mktemp
// name), and refuses what the workload never did: reading /etc/shadow,
// writing /etc/passwd, anything under /bin or /usr/lib, /proc/sysrq-trigger
// or /proc/sys/kernel/*, and executing from /tmp. This kernel has no
// AppArmor, so aamatch decides what the profile allows.
func TestAppArmor(t *testing.T) {
	requireRoot(t)
	aaparser.Require(t)
	tailor := tailorBin(t)
	for _, w := range touchWorkloads(t) {
		touches := straceTouchesOf(t, w)
		for _, rt := range runtimes {
			t.Run(w.Name+"/"+rt, func(t *testing.T) {
				path, p := learnedProfile(t, rt, w)
				aa := generateAppArmor(t, tailor, path, "tailor-e2e-"+w.Name)
				checkSeparateRun(t, aa, touches)
				checkRefused(t, aa, w.Image, p)
			})
		}
	}
}

// generateAppArmor runs `tailor generate --format apparmor` on a profile,
// validates the result with apparmor_parser and parses it.
func generateAppArmor(t *testing.T, tailor, profile, name string) *aamatch.Profile {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if res := run(t, nil, tailor, "generate", "--format", "apparmor", "--name", name, "-o", out, profile); res.ExitCode != 0 {
		t.Fatalf("tailor generate --format apparmor:\n%s", res)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := aaparser.Validate(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	aa, err := aamatch.Parse(text)
	if err != nil {
		t.Fatalf("aamatch cannot read the generated profile: %v\n%s", err, text)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("generated profile:\n%s", text)
		}
	})
	return aa
}

// aaQuery is the path AppArmor looks a touched file up by: a directory
// with a trailing slash.
func aaQuery(x straceTouch) string {
	if x.Dir && x.Path != "/" {
		return x.Path + "/"
	}
	return x.Path
}

// checkSeparateRun checks that the profile allows every file access of
// the strace run, with the permissions AppArmor checks for it.
func checkSeparateRun(t *testing.T, aa *aamatch.Profile, touches []straceTouch) {
	t.Helper()
	checked := 0
	for _, x := range touches {
		if x.What != "file" || x.Perm == "" {
			continue
		}
		perm, err := aamatch.ParsePerm(x.Perm)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		if q := aaQuery(x); !aa.Allows(q, perm) {
			allow, deny := aa.Perms(q)
			t.Errorf("the profile refuses %s on %q (allows %q, denies %q), which a separate run needed: %s",
				perm, q, allow, deny, x.Call)
		}
	}
	if checked == 0 {
		t.Fatal("strace saw no file access to check")
	}
}

// refusedAccesses are what no workload here does, each with the
// permission that must be refused.
var refusedAccesses = []struct{ path, perm string }{
	{"/etc/shadow", "r"}, {"/etc/gshadow", "r"}, {"/etc/passwd", "w"}, {"/etc/passwd", "a"},
	{"/bin/tailor-planted", "w"}, {"/usr/lib/tailor-planted", "w"}, {"/usr/lib/x86_64-linux-gnu/tailor-planted.so", "w"},
	{"/proc/sysrq-trigger", "w"}, {"/proc/sys/kernel/core_pattern", "w"}, {"/proc/sys/kernel/modprobe", "w"},
	{"/proc/sys/kernel/yama/ptrace_scope", "w"}, {"/tmp/payload", "x"}, {"/tmp/tmp.AbC123", "x"},
}

// checkRefused checks that the profile refuses what the workload never
// did: refusedAccesses, writing any file or directory of the image under
// /bin and /usr/lib, and executing any file the workload touched in /tmp.
func checkRefused(t *testing.T, aa *aamatch.Profile, image string, p *profiles.Profile) {
	t.Helper()
	refuse := func(path, perm string) {
		want, err := aamatch.ParsePerm(perm)
		if err != nil {
			t.Fatal(err)
		}
		if allow, deny := aa.Perms(path); want&(allow&^deny) != 0 {
			t.Errorf("the profile allows %s on %q, which the workload never did; rules: %s", perm, path, ruleTexts(aa.Matching(path)))
		}
	}
	for _, a := range refusedAccesses {
		refuse(a.path, a.perm)
	}
	for _, dir := range []string{"bin", "usr/lib"} {
		err := filepath.WalkDir(filepath.Join(image, dir), func(host string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(image, host)
			path := "/" + rel
			if d.IsDir() {
				path += "/"
			}
			refuse(path, "w")
			refuse(path, "a")
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for _, f := range p.Files {
		if strings.HasPrefix(f.Path, "/tmp/") {
			refuse(f.Path, "x")
		}
	}
}

func ruleTexts(rules []aamatch.Rule) string {
	var s []string
	for _, r := range rules {
		s = append(s, fmt.Sprintf("%q", r.Text))
	}
	return strings.Join(s, ", ")
}

// hostileNames are file names, under /srv/h, that a naive generator
// would turn into globs, several rules, a comment or a broken profile;
// with the neighbours that must stay refused.
var hostileNames = []struct {
	name       string
	neighbours []string
}{
	{"space name", []string{"space", "name", "space\tname"}},
	{`dq"uote`, []string{"dq", "dquote"}},
	{"sq'uote", []string{"sq", "squote"}},
	{"com,ma", []string{"com", "ma"}},
	{"#hash", []string{"", "hash"}},
	{"star*", []string{"star", "starstar", "star*x"}},
	{"q?", []string{"q", "qq", "q?x"}},
	{"[br]", []string{"b", "r", "[b]"}},
	{"{a,b}", []string{"a", "b", "{a}"}},
	{"@{pid}", []string{"1", "12345", "@{tid}"}},
	{"x**y", []string{"xy", "xzzy", "x/y"}},
	{"^caret", []string{"caret"}},
	{`back\slash`, []string{"backslash", `back\\slash`}},
	{"new\nline", []string{"new", "line", "new line"}},
	{"tab\tx", []string{"tab", "tab x"}},
	// A name that spells out another rule when pasted unescaped.
	{"x r,\n/etc/shadow r,", []string{"x r,\n", "x r"}},
	{"\xff\xfe", []string{"\xff", "\xfe", "\xef\xbf\xbd\xef\xbf\xbd"}},
	{"caf\xc3\xa9", []string{"cafe", "caf"}},
}

// hostileScript creates each of hostileNames under /srv/h (directories on
// the way for a name with a slash), spelling every byte as a printf
// octal escape so that the script itself is plain ASCII.
func hostileScript() string {
	var b strings.Builder
	b.WriteString("set -e\nmkdir -p /srv/h\n")
	name := func(p string) string {
		var e strings.Builder
		for i := 0; i < len(p); i++ {
			c := p[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				e.WriteByte(c)
			} else {
				fmt.Fprintf(&e, `\%03o`, c)
			}
		}
		// The x keeps a trailing newline from $(...).
		return fmt.Sprintf(`n="$(printf '%s'; echo x)"; n="${n%%x}"`, e.String())
	}
	for _, h := range hostileNames {
		parts := strings.Split(h.name, "/")
		for i := 1; i < len(parts); i++ {
			b.WriteString(name("/srv/h/"+strings.Join(parts[:i], "/")) + "; mkdir -p \"$n\"\n")
		}
		b.WriteString(name("/srv/h/"+h.name) + "; echo hostile > \"$n\"\n")
	}
	b.WriteString("echo " + ocitest.BusyboxWant + "\n")
	return b.String()
}

// TestAppArmorHostileNames: a workload creates files whose names hold
// spaces, quotes, commas, '#', glob characters, '@{', newlines, a name
// that spells out another rule, and bytes that are not UTF-8. The
// recording holds each name byte for byte, the generated AppArmor
// profile passes apparmor_parser, allows exactly those files and refuses
// their neighbours.
func TestAppArmorHostileNames(t *testing.T) {
	requireRoot(t)
	aaparser.Require(t)
	tailor := tailorBin(t)
	w := workload{Name: "hostile-names", Image: busyboxRootfs(t), Args: []string{"/bin/sh", "-c", hostileScript()},
		Want: ocitest.BusyboxWant}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			path, p := learnedProfile(t, rt, w)
			recorded := map[string]bool{}
			for _, f := range p.Files {
				recorded[f.Path] = true
			}
			aa := generateAppArmor(t, tailor, path, "tailor-e2e-hostile")
			created := map[string]bool{}
			for _, h := range hostileNames {
				created["/srv/h/"+h.name] = true
			}
			for _, h := range hostileNames {
				file := "/srv/h/" + h.name
				if !recorded[file] {
					t.Errorf("%q was not recorded byte for byte", file)
				}
				if !aa.Allows(file, aamatch.Write) {
					t.Errorf("the profile refuses w on %q, which the workload created; rules: %s", file, ruleTexts(aa.Matching(file)))
				}
				neighbours := []string{file + "x", file[:len(file)-1], file + "/", "/srv/h/x" + h.name}
				for _, n := range h.neighbours {
					neighbours = append(neighbours, "/srv/h/"+n)
				}
				for _, n := range neighbours {
					if created[n] || n == "/srv/h/" {
						continue
					}
					if allow, deny := aa.Perms(n); allow&^deny != 0 {
						t.Errorf("the profile allows %s on %q, a neighbour of %q; rules: %s", allow&^deny, n, file, ruleTexts(aa.Matching(n)))
					}
				}
			}
			for _, a := range refusedAccesses {
				if allow, deny := aa.Perms(a.path); allow&^deny != 0 {
					t.Errorf("the profile allows %s on %q; rules: %s", allow&^deny, a.path, ruleTexts(aa.Matching(a.path)))
				}
			}
		})
	}
}
