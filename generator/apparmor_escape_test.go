package generator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/aamatch"
	"github.com/tailor-dev/tailor/internal/aaparser"
	"github.com/tailor-dev/tailor/profiles"
)

// aaFragments are byte sequences that mean something to a profile; random
// names are built from them and from random bytes.
var aaFragments = []string{"*", "**", "?", "[", "]", "[^a]", "{", "}", "{a,b}", ",", "@{", "@{pid}", "^", "#", `"`, `\`,
	`\052`, " ", "\n", "\t", "\r", " r,\n", "deny ", "/etc/shadow", "->", "(", ")", "=", "\xff", "\x80", "\x01", "\x7f", "}{"}

// aaRandomName returns an absolute, clean path of random components.
func aaRandomName(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("/srv/x")
	for range 1 + r.IntN(3) {
		var c strings.Builder
		for c.Len() == 0 || r.IntN(3) > 0 && c.Len() < 60 {
			if r.IntN(2) == 0 {
				c.WriteString(aaFragments[r.IntN(len(aaFragments))])
			} else {
				c.WriteByte(byte(1 + r.IntN(255)))
			}
		}
		comp := strings.ReplaceAll(c.String(), "/", "%")
		if comp == "." || comp == ".." {
			comp += "_"
		}
		b.WriteString("/" + comp)
	}
	return b.String()
}

// aaTreeLiteral writes a literal path the way apparmor_parser's
// -D rule-exprs prints an expression tree: operator characters escaped,
// other control and non-ASCII bytes as \xH(H).
func aaTreeLiteral(s string) string {
	const special, letters = "\a\x1b\f\n\r\t|*+[](). ", "aefnrt|*+[](). "
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch j := strings.IndexByte(special, c); {
		case j >= 0:
			b.WriteByte('\\')
			b.WriteByte(letters[j])
		case c < 32 || c >= 127:
			fmt.Fprintf(&b, `\x%x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestEscapingProperty writes random byte names as rules and checks, for
// each: the matcher reads the rule as exactly that name (a literal that
// matches it and no neighbour), apparmor_parser accepts the profile, and
// the parser's own expression tree for the rule is that literal, with no
// operator in it.
func TestEscapingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 2026))
	const batches, perBatch = 4, 100
	for batch := range batches {
		var names []string
		seen := map[string]bool{}
		var text strings.Builder
		text.WriteString("abi <abi/3.0>,\ninclude <tunables/global>\nprofile escapes {\n")
		for len(names) < perBatch {
			name := aaRandomName(r)
			if seen[name] {
				continue
			}
			seen[name] = true
			names = append(names, name)
			fmt.Fprintf(&text, "  %s r,\n", aaLiteral(name))
		}
		text.WriteString("}\n")
		m, err := aamatch.Parse([]byte(text.String()))
		if err != nil {
			t.Fatalf("batch %d: the matcher cannot read the rules: %v", batch, err)
		}
		for i, name := range names {
			g := m.Rules[i].Path
			if lit, ok := g.Literal(); !ok || lit != name {
				t.Errorf("rule %s for %q: read as %q (literal %t)", m.Rules[i].Text, name, lit, ok)
			}
			for _, n := range []string{name + "x", name[:len(name)-1], name + "/", strings.Replace(name, "/srv/x", "/srv/y", 1)} {
				if g.Match(n) {
					t.Errorf("rule %s for %q also matches %q", m.Rules[i].Text, name, n)
				}
			}
		}
		t.Run(fmt.Sprintf("parser batch %d", batch), func(t *testing.T) {
			aaparser.Require(t)
			dump, err := aaparser.RuleExprs([]byte(text.String()))
			if err != nil {
				t.Fatalf("%v\n%s", err, text.String())
			}
			for _, name := range names {
				if want := "  ->  " + aaTreeLiteral(name) + " ("; !strings.Contains(dump, want) {
					t.Errorf("the parser's tree for %q is not the literal %q", name, want)
				}
			}
		})
	}
}

// TestEscapingGenerated feeds random names through the whole generator:
// the profile validates, and each name that no generalisation rule
// changes gets exactly one rule, which is exactly it.
func TestEscapingGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for round := range 3 {
		p := profileOf(fmt.Sprintf("random%d", round), abiCalls(profiles.ABIX8664, base))
		var files []profiles.File
		seen := map[string]bool{}
		for len(files) < 60 {
			name := aaRandomName(r)
			if !seen[name] {
				seen[name] = true
				files = append(files, reg(name, rd, wr))
			}
		}
		p = touching(p, files, nil, nil, nil)
		_, _, m := aaGenerate(t, p)
		for _, f := range p.Files {
			if pat, _ := aaGeneralize(f.Path); pat.generalized() {
				continue
			}
			rules := m.Matching(f.Path)
			if len(rules) != 1 {
				t.Errorf("%q: %d rules match it, want 1", f.Path, len(rules))
				continue
			}
			if lit, ok := rules[0].Path.Literal(); !ok || lit != f.Path || !m.Allows(f.Path, aamatch.Read|aamatch.Write) {
				t.Errorf("%q: its rule %q is not exactly it with rw", f.Path, rules[0].Text)
			}
		}
	}
}
