package aamatch

import (
	"strings"
	"testing"
)

// TestGlobManPage checks the examples of apparmor.d(5)'s "Globbing"
// section, and what apparmor_parser 3.0 makes of the corner cases
// (its -D rule-exprs output, noted beside each).
func TestGlobManPage(t *testing.T) {
	tests := []struct {
		name  string
		glob  string
		match []string
		not   []string
	}{
		// "* can substitute for any number of characters, excepting '/'".
		{name: "star", glob: "/tmp/a*", match: []string{"/tmp/a", "/tmp/abc", "/tmp/a.b"}, not: []string{"/tmp/a/b", "/tmp/", "/tmp/b"}},
		// "** can substitute for any number of characters, including '/'".
		{name: "double star", glob: "/tmp/a**", match: []string{"/tmp/a", "/tmp/a/b/c", "/tmp/ab/"}, not: []string{"/tmp/b"}},
		// "? can substitute for any single character excepting '/'".
		{name: "question", glob: "/tmp/?", match: []string{"/tmp/a", "/tmp/."}, not: []string{"/tmp/", "/tmp/ab", "/tmp//"}},
		{name: "set", glob: "/home[01]/*/.plan", match: []string{"/home0/u/.plan", "/home1/v/.plan"}, not: []string{"/home2/u/.plan", "/home0/u/v/.plan"}},
		{name: "range", glob: "/x/[a-c]", match: []string{"/x/a", "/x/b", "/x/c"}, not: []string{"/x/d", "/x/-"}},
		// [^a-c] is everything else, '/' included (parser: [^abc]).
		{name: "negated", glob: "/x/[^a-c]", match: []string{"/x/d", "/x/Z", "/x//"}, not: []string{"/x/a", "/x/c", "/x/dd"}},
		{name: "alternation", glob: "/{usr,www}/pages/**", match: []string{"/usr/pages/a", "/www/pages/a/b"}, not: []string{"/srv/pages/a", "/usr/pages/"}},
		// "Some examples, none matching the /tmp/ directory itself".
		{name: "files in tmp", glob: "/tmp/*", match: []string{"/tmp/f", "/tmp/.x"}, not: []string{"/tmp/", "/tmp/d/", "/tmp/d/f"}},
		{name: "dirs in tmp", glob: "/tmp/*/", match: []string{"/tmp/d/"}, not: []string{"/tmp/", "/tmp/f", "/tmp/d/e/"}},
		{name: "anything under tmp", glob: "/tmp/**", match: []string{"/tmp/f", "/tmp/d/", "/tmp/d/e/f"}, not: []string{"/tmp/", "/tmp"}},
		{name: "dirs under tmp", glob: "/tmp/**/", match: []string{"/tmp/d/", "/tmp/d/e/"}, not: []string{"/tmp/", "/tmp/f"}},
		// A star as an alternative right after '{' may be empty (parser:
		// /x/alt/(([^\x0/])*|a)).
		{name: "star in braces", glob: "/x/{*,a}", match: []string{"/x/", "/x/b", "/x/a"}, not: []string{"/x/b/c"}},
		{name: "empty alternative", glob: "/x/{,y}z", match: []string{"/x/z", "/x/yz"}, not: []string{"/x/yyz"}},
		{name: "nested braces", glob: "/{a,b{c,d}}/f", match: []string{"/a/f", "/bc/f", "/bd/f"}, not: []string{"/b/f", "/c/f"}},
		// Escaped operators are themselves.
		{name: "escaped", glob: `/x/\*\?\[a\]\{b,c\}`, match: []string{"/x/*?[a]{b,c}"}, not: []string{"/x/a?[a]{b,c}", "/x/*a[a]{b,c}"}},
		{name: "octal", glob: `"/x/a\052\040b"`, match: []string{"/x/a* b"}, not: []string{"/x/aZ b"}},
		{name: "quoted space", glob: `"/x/a b"`, match: []string{"/x/a b"}, not: []string{"/x/a", "/x/ab"}},
		{name: "comma outside braces", glob: "/x/a,b", match: []string{"/x/a,b"}, not: []string{"/x/a"}},
		// The parser collapses "//" (and an octal slash with its
		// neighbours), but not an escaped \/ (parser: /x//z).
		{name: "slashes collapse", glob: "/x//y", match: []string{"/x/y"}, not: []string{"/x//y"}},
		{name: "octal slash collapses", glob: `"/x/\057y"`, match: []string{"/x/y"}, not: []string{"/x//y"}},
		{name: "escaped slash stays", glob: `/x/\/y`, match: []string{"/x//y"}, not: []string{"/x/y"}},
		// A variable's slashes merge with the text's (parser:
		// /x/(a|b)/y for @{v}=/a/ b, /x(/a/|b)y without the slashes).
		{name: "variable slashes", glob: "/x/@{v}/y", match: []string{"/x/a/y", "/x/b/y"}, not: []string{"/x//a//y"}},
		{name: "variable slashes kept", glob: "/x@{v}y", match: []string{"/x/a/y", "/xby"}, not: []string{"/xay"}},
		{name: "pid", glob: "/proc/@{pid}/status", match: []string{"/proc/1/status", "/proc/4194304/status"},
			not: []string{"/proc/0/status", "/proc/01/status", "/proc/self/status", "/proc/1/2/status", "/proc/50000000/status"}},
		{name: "variable list", glob: "@{run}/x", match: []string{"/run/x", "/var/run/x"}, not: []string{"/run/y"}},
		{name: "variable in quotes", glob: `"@{HOME}/a b"`, match: []string{"/root/a b", "/home/u/a b"}, not: []string{"/home/a b"}},
	}
	vars := tunableVars(t)
	vars["v"] = []string{"/a/", "b"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Compile(tc.glob, vars)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.match {
				if !g.Match(p) {
					t.Errorf("%s does not match %q", tc.glob, p)
				}
			}
			for _, p := range tc.not {
				if g.Match(p) {
					t.Errorf("%s matches %q", tc.glob, p)
				}
			}
		})
	}
}

func tunableVars(t *testing.T) Vars {
	t.Helper()
	s := &scanner{vars: Vars{}}
	if err := s.define(Tunables); err != nil {
		t.Fatal(err)
	}
	return s.vars
}

func TestGlobLiteral(t *testing.T) {
	tests := []struct {
		glob string
		lit  string
		ok   bool
	}{
		{glob: "/etc/passwd", lit: "/etc/passwd", ok: true},
		{glob: `"/a\052\042\134"`, lit: `/a*"\`, ok: true},
		{glob: `/a\{b\}`, lit: "/a{b}", ok: true},
		{glob: "/a*"},
		{glob: "/a?"},
		{glob: "/a[b]", lit: "/ab", ok: true},
		{glob: "/a[bc]"},
		{glob: "/{a,b}"},
	}
	for _, tc := range tests {
		g := MustCompile(tc.glob, nil)
		lit, ok := g.Literal()
		if ok != tc.ok || lit != tc.lit {
			t.Errorf("Literal(%s) = %q, %t; want %q, %t", tc.glob, lit, ok, tc.lit, tc.ok)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	tests := []struct{ glob, want string }{
		{glob: "/a{b", want: "unterminated '{'"},
		{glob: "/a}b", want: "unbalanced '}'"},
		{glob: "/a[b", want: "unterminated '['"},
		{glob: "/a[]", want: "empty '[]'"},
		{glob: "/a[z-a]", want: "reversed"},
		{glob: "/@{nope}", want: "@{nope} is not defined"},
		{glob: `"/a`, want: "unterminated quoted string"},
		{glob: `"/a\"`, want: "unterminated quoted string"},
		{glob: `/a\`, want: "lone backslash"},
		{glob: `/a\400`, want: "not a byte"},
		{glob: `/a\000`, want: "not a byte"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.glob, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%s) error %v, want %q", tc.glob, err, tc.want)
		}
	}
	loop := Vars{"a": {"@{b}"}, "b": {"@{a}"}}
	if _, err := Compile("/@{a}", loop); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("self-referring variables: error %v", err)
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct{ tok, want string }{
		{tok: `"\101\x41\d65"`, want: "AAA"},
		{tok: `"\n\t\r\a\e\f\v"`, want: "\n\t\r\a\x1b\f\v"},
		{tok: `"\q\\\""`, want: `q\"`},
		{tok: `"\1010"`, want: "A0"},
		{tok: `"\x4g"`, want: "\x04g"},
	}
	for _, tc := range tests {
		its, err := unquote(tc.tok)
		if err != nil {
			t.Fatalf("%s: %v", tc.tok, err)
		}
		if got := itemString(its); got != tc.want {
			t.Errorf("unquote(%s) = %q, want %q", tc.tok, got, tc.want)
		}
		if its[0].plain {
			t.Errorf("unquote(%s): the escaped byte %q reads as plain (a glob operator)", tc.tok, its[0].b)
		}
	}
}
