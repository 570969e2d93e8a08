package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/landlock"
)

// TestHelperRulesOnChangedPaths: a rule's path that the workload replaced
// since it was learned (a file by a symlink to a directory, a file by a
// directory, a directory by a file or a symlink) must grant nothing: the
// helper skips the rule and says so on stderr, or refuses to run when
// strict. A rule on a file never grants rights beneath a directory.
func TestHelperRulesOnChangedPaths(t *testing.T) {
	bin := helper(t)
	file := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	read := landlock.FSReadFile
	for _, c := range []struct {
		name   string
		setup  func(dir string)
		rule   landlock.PathRule // Path relative to dir
		strict bool
		cat    string // relative to dir
		want   string // in the output: the content, or "Permission denied"
		warns  bool
	}{
		{"a file rule on a regular file (control)", func(d string) { file(d+"/data/state", "state\n") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "data/state", "state", false},
		{"a file rule on a regular file, beside it (control)", func(d string) { file(d+"/data/state", "state\n") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "secret", "Permission denied", false},
		{"a file replaced by a symlink to a directory above it", func(d string) { symlink(d, d+"/data/state") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "secret", "Permission denied", true},
		{"a file replaced by a symlink to it", func(d string) { file(d+"/other", "other\n"); symlink(d+"/other", d+"/data/state") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "other", "Permission denied", true},
		{"a file replaced by a directory", func(d string) { file(d+"/data/state/inner", "inner\n") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "data/state/inner", "Permission denied", true},
		{"a file of unknown type replaced by a directory", func(d string) { file(d+"/data/state/inner", "inner\n") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeNotDir, Access: read}, false, "data/state/inner", "Permission denied", true},
		{"a directory replaced by a file", func(d string) { file(d+"/data", "data\n") },
			landlock.PathRule{Path: "data", Type: landlock.TypeDir, Access: read | landlock.FSReadDir}, false, "data", "Permission denied", true},
		{"a directory replaced by a symlink to a directory", func(d string) { file(d+"/other/x", "x\n"); symlink(d+"/other", d+"/data") },
			landlock.PathRule{Path: "data", Type: landlock.TypeDir, Access: read}, false, "other/x", "Permission denied", true},
		{"a symlink on the way to a file", func(d string) { file(d+"/real/state", "state\n"); symlink(d+"/real", d+"/data") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, false, "real/state", "Permission denied", true},
		{"a loader rule follows its symlink to a file", func(d string) { file(d+"/real/ld.so", "ld\n"); symlink(d+"/real/ld.so", d+"/ld.so") },
			landlock.PathRule{Path: "ld.so", Type: landlock.TypeRegular, Follow: true, Access: read}, false, "real/ld.so", "ld", false},
		{"a loader rule that leads to a directory", func(d string) { symlink(d, d+"/ld.so") },
			landlock.PathRule{Path: "ld.so", Type: landlock.TypeRegular, Follow: true, Access: read}, false, "secret", "Permission denied", true},
		{"strict refuses a changed path", func(d string) { symlink(d, d+"/data/state") },
			landlock.PathRule{Path: "data/state", Type: landlock.TypeRegular, Access: read}, true, "secret", "strict: refusing to run", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file(dir+"/secret", "secret\n")
			c.setup(dir)
			rule := c.rule
			rule.Path = dir + "/" + rule.Path
			cfg := writeConfig(t, landlock.HelperConfig{Ruleset: hostRules(rule), Strict: c.strict})
			out, st := runHelper(t, bin, cfg, []string{"PATH=/usr/bin:/bin"}, "/bin/cat", dir+"/"+c.cat)
			if !strings.Contains(out, c.want) || strings.Contains(out, "secret\n") {
				t.Errorf("cat %s under a rule on %s (%s): exit %d, want %q in:\n%s", c.cat, c.rule.Path, c.rule.Type, st.ExitCode(), c.want, out)
			}
			if warned := strings.Contains(out, "tailor-landlock: warning: rule on"); warned != c.warns {
				t.Errorf("warned %t, want %t:\n%s", warned, c.warns, out)
			}
			if c.strict && st.ExitCode() != exitRefused {
				t.Errorf("strict: exit %d, want %d", st.ExitCode(), exitRefused)
			}
		})
	}
}
