package aamatch

import (
	"errors"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/aaparser"
)

// sample is a profile in the shape tailor writes, with the rule forms
// apparmor.d(5) documents beside them.
const sample = `# a comment
abi <abi/3.0>,
include <tunables/global>
@{mine}=/srv/a/ /srv/b/
@{mine}+=/srv/c/

profile sample flags=(attach_disconnected,mediate_deleted) {
  capability chown,
  network inet stream,
  signal (send,receive) peer=sample,
  ptrace (read,readby) peer=sample,

  /etc/passwd r,
  /etc/ld.so.cache r,   # trailing comment
  "/srv/with space" rw,
  /usr/lib/** rm,
  /bin/busybox rix,
  r /etc/hostname,
  file /etc/hosts r,
  owner /home/*/notes w,
  /var/log/app.log a,
  /var/lock/app k,
  /proc/@{pid}/status r,
  @{mine}data r,
  /tmp/** rwl,
  /opt/tool px -> other,
  /data/ r,

  deny /tmp/secret* rw,
  deny /usr/lib/evil.so m,
  deny mount,
}
`

func TestProfileParses(t *testing.T) {
	aaparser.Require(t)
	if err := aaparser.Validate([]byte(sample)); err != nil {
		t.Fatalf("the sample is not valid AppArmor: %v", err)
	}
}

func TestAllows(t *testing.T) {
	p, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "sample" {
		t.Errorf("name %q", p.Name)
	}
	if want := []string{"capability chown", "network inet stream", "signal (send,receive) peer=sample",
		"ptrace (read,readby) peer=sample", "deny mount"}; strings.Join(p.Other, "|") != strings.Join(want, "|") {
		t.Errorf("other rules %q, want %q", p.Other, want)
	}
	tests := []struct {
		path, perm string
		want       bool
	}{
		{"/etc/passwd", "r", true},
		{"/etc/passwd", "w", false},
		{"/etc/passwd", "rw", false},
		{"/etc/shadow", "r", false},
		{"/etc/ld.so.cache", "r", true},
		{"/srv/with space", "rw", true},
		{"/srv/with", "r", false},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", "rm", true},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", "w", false},
		{"/usr/lib/evil.so", "r", true},
		{"/usr/lib/evil.so", "m", false}, // deny wins, written after or before
		{"/bin/busybox", "rx", true},
		{"/bin/busybox", "m", false},
		{"/etc/hostname", "r", true},
		{"/etc/hosts", "r", true},
		{"/home/u/notes", "w", true},
		{"/home/u/notes", "a", true}, // w grants a
		{"/var/log/app.log", "a", true},
		{"/var/log/app.log", "w", false}, // a does not grant w
		{"/var/lock/app", "k", true},
		{"/proc/42/status", "r", true},
		{"/proc/self/status", "r", false},
		{"/srv/a/data", "r", true},
		{"/srv/c/data", "r", true},
		{"/srv/d/data", "r", false},
		{"/tmp/x/y", "rwl", true},
		{"/tmp/secret.key", "r", false},
		{"/tmp/secret.key", "l", true},
		{"/tmp/", "r", false},
		{"/tmp/x", "x", false},
		{"/opt/tool", "x", true},
		{"/data/", "r", true},
		{"/data", "r", false}, // a directory rule ends with '/'
	}
	for _, tc := range tests {
		want, err := ParsePerm(tc.perm)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Allows(tc.path, want); got != tc.want {
			allow, deny := p.Perms(tc.path)
			t.Errorf("Allows(%q, %s) = %t, want %t (allowed %q, denied %q)", tc.path, tc.perm, got, tc.want, allow, deny)
		}
		got, err := Allowed(sample, tc.path, tc.perm)
		if err != nil || got != tc.want {
			t.Errorf("Allowed(sample, %q, %s) = %t, %v; want %t", tc.path, tc.perm, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := "abi <abi/3.0>,\ninclude <tunables/global>\n"
	tests := []struct {
		name, text, want string
		unsupported      bool
	}{
		{name: "no profile", text: head, want: "no profile"},
		{name: "other include", text: head + "profile p {\n include <abstractions/base>\n}\n", unsupported: true},
		{name: "preamble include", text: "include <abstractions/base>\nprofile p {\n}\n", unsupported: true},
		{name: "child profile", text: head + "profile p {\n profile q {\n }\n}\n", unsupported: true},
		{name: "hat", text: head + "profile p {\n ^hat {\n }\n}\n", unsupported: true},
		{name: "rule block", text: head + "profile p {\n owner {\n /a r,\n }\n}\n", unsupported: true},
		{name: "link rule", text: head + "profile p {\n link /a -> /b,\n}\n", unsupported: true},
		{name: "alias", text: "alias /a -> /b,\nprofile p {\n}\n", unsupported: true},
		{name: "two profiles", text: "profile p {\n}\nprofile q {\n}\n", unsupported: true},
		{name: "missing comma", text: "profile p {\n /a r\n}\n", want: "no terminating ','"},
		{name: "bad access", text: "profile p {\n /a rz,\n}\n", want: `access "rz"`},
		{name: "unknown rule", text: "profile p {\n frobnicate,\n}\n", want: "not a rule this package knows"},
		{name: "undefined variable", text: "profile p {\n /@{nope} r,\n}\n", want: "@{nope} is not defined"},
		{name: "twice defined", text: "@{a}=/x\n@{a}=/y\nprofile p {\n}\n", want: "defined twice"},
		{name: "unclosed", text: "profile p {\n /a r,\n", want: "no closing '}'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			switch {
			case err == nil:
				t.Fatal("parsed")
			case tc.unsupported && !errors.Is(err, ErrUnsupported):
				t.Fatalf("error %v, want ErrUnsupported", err)
			case !tc.unsupported && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPermString(t *testing.T) {
	p, err := ParsePerm("xmklawr")
	if err != nil || p != AllPerms || p.String() != "rwalkmx" {
		t.Errorf("ParsePerm(xmklawr) = %q, %v", p, err)
	}
	if _, err := ParsePerm("q"); err == nil {
		t.Error("ParsePerm(q) accepted")
	}
}
