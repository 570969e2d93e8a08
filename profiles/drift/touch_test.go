package drift

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

func TestDiffTouch(t *testing.T) {
	r := Diff(read(t, "testdata/touch-baseline.json"), read(t, "testdata/touch-current.json"))
	added := []struct {
		subject string
		risk    Risk
	}{
		{`file /etc/nginx/nginx.conf (write)`, High},
		{`file /etc/shadow (read)`, High},
		{`file "/var/lib/app/data\n::error::spoofed" (create, write)`, Medium},
		{`file /usr/share/zoneinfo/UTC (read)`, Low},
		{`program /tmp/x.sh (run by /bin/busybox)`, High},
		{`network connect inet tcp port 5432 (not loopback)`, High},
		{`network connect inet tcp port 6379 (loopback)`, Medium},
		{`network connect unix stream /var/run/docker.sock`, High},
		{`signal SIGKILL to containerd-shim outside the container`, High},
		{`signal ptrace of sshd outside the container`, High},
		{`signal failed ptrace attempt on sshd outside the container`, High},
	}
	for _, tt := range added {
		c, ok := find(r.Added, tt.subject)
		if !ok {
			t.Errorf("addition %q missing", tt.subject)
			continue
		}
		if c.Risk != tt.risk || c.Why == "" || c.Source == "" {
			t.Errorf("%s: graded %s (%q, %q), want %s with reasons", tt.subject, c.Risk, c.Why, c.Source, tt.risk)
		}
	}
	if len(r.Added) != len(added) {
		for _, c := range r.Added {
			t.Logf("added: %s", c.Subject())
		}
		t.Errorf("%d additions, want %d", len(r.Added), len(added))
	}
	removed := map[string]bool{}
	for _, c := range r.Removed {
		removed[c.Subject()] = true
	}
	for _, want := range []string{"file /var/log/nginx/access.log (write)", "file /var/cache/nginx/old (read)"} {
		if !removed[want] {
			t.Errorf("removal %q missing (have %v)", want, removed)
		}
	}
	if len(r.TouchCompared) != 4 {
		t.Errorf("compared %v, want all four touch dimensions", r.TouchCompared)
	}
	if c, _ := find(r.Added, `file /etc/shadow (read)`); c.Line != 13 {
		t.Errorf("/etc/shadow at line %d, want 13", c.Line)
	}
}

// A hostile file name must not break out of its line in any format: no
// raw newline, no terminal escape, no workflow command of its own.
func TestDiffTouchNamesStayInTheirLine(t *testing.T) {
	r := Diff(read(t, "testdata/touch-baseline.json"), read(t, "testdata/touch-current.json"))
	v := r.Judge(FailOnHigh)
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, r, v, f, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "::error::spoofed") {
				t.Errorf("%s: the file name started a line of its own: %q", f, line)
			}
		}
	}
}

func TestDiffTouchNeedsBothRecorded(t *testing.T) {
	base := read(t, "testdata/baseline.json") // schema version 1: no files recorded
	r := Diff(base, read(t, "testdata/touch-current.json"))
	for _, c := range r.Added {
		if c.Kind == KindFile || c.Kind == KindProgram || c.Kind == KindNetwork || c.Kind == KindSignal {
			t.Errorf("compared against a baseline that did not record it: %s", c.Subject())
		}
	}
	found := false
	for _, n := range r.Notes {
		found = found || strings.Contains(n, "BASELINE did not record files")
	}
	if !found {
		t.Errorf("no note that files were not compared: %v", r.Notes)
	}
}

func TestFileGrades(t *testing.T) {
	tests := []struct {
		path   string
		access profiles.Access
		want   Risk
	}{
		{"/etc/passwd", profiles.AccessWrite, High},
		{"/etc/passwd", profiles.AccessRead, Low},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", profiles.AccessWrite, High},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", profiles.AccessMmapExec, High},
		{"/proc/sys/kernel/core_pattern", profiles.AccessWrite, High},
		{"/proc/sysrq-trigger", profiles.AccessWrite, High},
		{"/proc/1/mem", profiles.AccessRead, High},
		{"/proc/self/status", profiles.AccessRead, Low},
		{"/root/.ssh/authorized_keys", profiles.AccessAppend, High},
		{"/home/u/.ssh/id_ed25519", profiles.AccessRead, High},
		{"/var/run/secrets/kubernetes.io/serviceaccount/token", profiles.AccessRead, High},
		{"/tmp/x", profiles.AccessWrite, Medium},
		{"/tmp/x", profiles.AccessExec, High},
		{"/etcetera/x", profiles.AccessWrite, Medium},
	}
	for _, tt := range tests {
		if g := FileGrade(tt.path, []profiles.Access{tt.access}); g.Risk != tt.want || g.Why == "" {
			t.Errorf("FileGrade(%s, %s) = %s (%q), want %s", tt.path, tt.access, g.Risk, g.Why, tt.want)
		}
	}
}
