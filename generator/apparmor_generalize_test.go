package generator

import (
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/aamatch"
)

// aaRuleGlob compiles a rule path as a generated profile would hold it
// (tunables/global and tailor's variable defined).
func aaRuleGlob(t *testing.T, path string) *aamatch.Glob {
	t.Helper()
	text := "abi <abi/3.0>,\ninclude <tunables/global>\n" + aaNumVar + "\nprofile t {\n  " + path + " r,\n}\n"
	p, err := aamatch.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse rule %s: %v", path, err)
	}
	return p.Rules[0].Path
}

// TestGeneralizeBothWays checks each generalisation rule: the recorded
// name becomes the documented pattern, names a fresh run would make match
// it, and neighbouring names (a fixed file next to it, another shape) do
// not.
func TestGeneralizeBothWays(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		want  string // the rule's path as written
		rules []string
		fresh []string
		not   []string
	}{
		{name: "fixed name stays exact", path: "/etc/passwd", want: "/etc/passwd",
			fresh: []string{"/etc/passwd"}, not: []string{"/etc/shadow", "/etc/passwd-", "/etc/passwd/x", "/etc/passw"}},
		{name: "backup name stays exact", path: "/etc/passwd-", want: "/etc/passwd-",
			not: []string{"/etc/passwd", "/etc/shadow-"}},
		{name: "pid", path: "/proc/7/status", want: "/proc/@{pid}/status", rules: []string{aaRuleProcPID},
			fresh: []string{"/proc/1/status", "/proc/31337/status", "/proc/4194304/status"},
			not:   []string{"/proc/self/status", "/proc/7/stat", "/proc/7/task/7/status", "/proc/sys/status", "/proc/07/status"}},
		{name: "self", path: "/proc/self/maps", want: "/proc/@{pid}/maps", rules: []string{aaRuleProcSelf},
			fresh: []string{"/proc/12/maps"}, not: []string{"/proc/12/smaps"}},
		{name: "thread", path: "/proc/12/task/13/comm", want: "/proc/@{pid}/task/@{tid}/comm",
			rules: []string{aaRuleProcPID, aaRuleProcTID},
			fresh: []string{"/proc/40/task/41/comm"}, not: []string{"/proc/40/task/comm", "/proc/40/task/41/stat"}},
		{name: "thread-self", path: "/proc/thread-self/attr/current", want: "/proc/@{pid}/task/@{tid}/attr/current",
			rules: []string{aaRuleThreadSelf}, fresh: []string{"/proc/5/task/9/attr/current"}},
		{name: "proc knob stays exact", path: "/proc/sys/kernel/hostname", want: "/proc/sys/kernel/hostname",
			not: []string{"/proc/sys/kernel/domainname"}},
		{name: "pid-like outside proc stays", path: "/var/run/7/x", want: "/var/run/7/x", not: []string{"/var/run/8/x"}},
		{name: "mkstemp after tmp", path: "/tmp/tmpab12CD", want: "/tmp/tmp" + strings.Repeat(aaGlobAlnum, 6),
			rules: []string{aaRuleMkstemp}, fresh: []string{"/tmp/tmpZZ99zz", "/tmp/tmpaaaaaa"},
			not: []string{"/tmp/tmpfile.conf", "/tmp/tmpab12C", "/tmp/tmpab12CDE", "/tmp/tmpab.2CD", "/tmp/tmpab12CD/x", "/tmp/xtmpab12CD"}},
		{name: "mkstemp after a name", path: "/tmp/nginx.Xa9bQz", want: "/tmp/nginx." + strings.Repeat(aaGlobAlnum, 6),
			rules: []string{aaRuleMkstemp}, fresh: []string{"/tmp/nginx.000000", "/tmp/nginx.zzzzzz"},
			not: []string{"/tmp/nginx.conf", "/tmp/nginx-Xa9bQz"}},
		{name: "plain word in tmp stays", path: "/tmp/config", want: "/tmp/config", not: []string{"/tmp/confih"}},
		{name: "lower-case word in tmp stays", path: "/tmp/backups", want: "/tmp/backups"},
		{name: "mktemp", path: "/tmp/tmp.Ab3dE6gH9j", want: "/tmp/tmp." + strings.Repeat(aaGlobAlnum, 10),
			rules: []string{aaRuleMktemp}, fresh: []string{"/tmp/tmp.0000000000"}, not: []string{"/tmp/tmp.000000000", "/tmp/tmp.Ab3dE6gH9j.x"}},
		{name: "python tempfile", path: "/tmp/tmpk2_x9aqz", want: "/tmp/tmp" + strings.Repeat(aaGlobPyChar, 8),
			rules: []string{aaRulePyTemp}, fresh: []string{"/tmp/tmp_abc1234"}, not: []string{"/tmp/tmpABC12345", "/tmp/tmpk2_x9aq"}},
		{name: "temp dir then file", path: "/var/tmp/tmp.Ab3dE6gH9j/out.txt", want: "/var/tmp/tmp." + strings.Repeat(aaGlobAlnum, 10) + "/out.txt",
			rules: []string{aaRuleMktemp}, fresh: []string{"/var/tmp/tmp.zzzzzzzzzz/out.txt"}, not: []string{"/var/tmp/tmp.zzzzzzzzzz/in.txt"}},
		{name: "go CreateTemp", path: "/tmp/go-build3141592653", want: "/tmp/go-build" + aaGlobNum, rules: []string{aaRuleNumber},
			fresh: []string{"/tmp/go-build1", "/tmp/go-build4294967295", "/tmp/go-build271828"},
			not:   []string{"/tmp/go-build", "/tmp/go-build01", "/tmp/go-build12345678901", "/tmp/go-buildx"}},
		{name: "pid suffix", path: "/dev/shm/sem.42", want: "/dev/shm/sem." + aaGlobNum, rules: []string{aaRuleNumber},
			fresh: []string{"/dev/shm/sem.7"}, not: []string{"/dev/shm/sem.", "/dev/shm/sem.x", "/dev/shm/sem-7"}},
		{name: "number outside tmp stays", path: "/var/log/app.1", want: "/var/log/app.1", not: []string{"/var/log/app.2"}},
		{name: "short number glued stays", path: "/tmp/log2024", want: "/tmp/log2024"},
		{name: "sha256", path: "/var/lib/app/" + strings.Repeat("ab12", 16) + ".json",
			want: "/var/lib/app/" + strings.Repeat(aaGlobHexLo, 64) + ".json", rules: []string{aaRuleHex},
			fresh: []string{"/var/lib/app/" + strings.Repeat("0f", 32) + ".json"},
			not: []string{"/var/lib/app/" + strings.Repeat("0F", 32) + ".json", "/var/lib/app/" + strings.Repeat("0f", 31) + ".json",
				"/var/lib/app/" + strings.Repeat("0f", 32) + ".yaml"}},
		{name: "container id in cgroup path", path: "/sys/fs/cgroup/docker-" + strings.Repeat("9e", 32) + ".scope/cpu.max",
			want: "/sys/fs/cgroup/docker-" + strings.Repeat(aaGlobHexLo, 64) + ".scope/cpu.max", rules: []string{aaRuleHex},
			fresh: []string{"/sys/fs/cgroup/docker-" + strings.Repeat("1a", 32) + ".scope/cpu.max"}},
		{name: "hex word stays", path: "/usr/share/deadbeefcafebabe", want: "/usr/share/deadbeefcafebabe"},
		{name: "hex of odd length stays", path: "/x/" + strings.Repeat("a1", 9), want: "/x/" + strings.Repeat("a1", 9)},
		{name: "hex glued to a word stays", path: "/x/v" + strings.Repeat("a1", 8), want: "/x/v" + strings.Repeat("a1", 8)},
		{name: "uuid", path: "/run/app/3f2c8a4e-1b7d-4c9e-a0f1-5d6e7f8a9b0c.lock",
			want:  "/run/app/" + strings.Repeat(aaGlobHexLo, 8) + "-" + strings.Repeat(aaGlobHexLo, 4) + "-" + strings.Repeat(aaGlobHexLo, 4) + "-" + strings.Repeat(aaGlobHexLo, 4) + "-" + strings.Repeat(aaGlobHexLo, 12) + ".lock",
			rules: []string{aaRuleUUID}, fresh: []string{"/run/app/00000000-0000-4000-8000-000000000000.lock"},
			not: []string{"/run/app/00000000-0000-4000-8000-00000000000.lock", "/run/app/00000000x0000-4000-8000-000000000000.lock"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pat, rules := aaGeneralize(tc.path)
			if got := pat.String(); got != tc.want {
				t.Fatalf("aaGeneralize(%q) = %s, want %s", tc.path, got, tc.want)
			}
			if strings.Join(rules, ",") != strings.Join(tc.rules, ",") {
				t.Errorf("rules %q, want %q", rules, tc.rules)
			}
			g := aaRuleGlob(t, pat.String())
			// AppArmor sees /proc/self and /proc/thread-self resolved to
			// the process's pid (the fresh names), never as written.
			selfLink := strings.HasPrefix(tc.path, "/proc/self/") || strings.HasPrefix(tc.path, "/proc/thread-self/")
			if !selfLink && !g.Match(tc.path) {
				t.Errorf("%s does not match the recorded %q", pat, tc.path)
			}
			if lit, ok := g.Literal(); (len(tc.rules) == 0) != (ok && lit == tc.path) {
				t.Errorf("%s: exact %t, want exact only when no rule applied", pat, ok)
			}
			for _, p := range tc.fresh {
				if !g.Match(p) {
					t.Errorf("%s does not match a fresh run's %q", pat, p)
				}
			}
			for _, p := range tc.not {
				if g.Match(p) {
					t.Errorf("%s matches the neighbour %q", pat, p)
				}
			}
		})
	}
}
