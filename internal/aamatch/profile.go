package aamatch

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
)

// Tunables is what tunables/global defines that a container profile may
// use: the values of AppArmor 3.0's tunables (kernelvars, proc, sys,
// home, run, multiarch), written as a profile's preamble would.
const Tunables = `
@{pid}={[1-9],[1-9][0-9],[1-9][0-9][0-9],[1-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9],[1-4][0-9][0-9][0-9][0-9][0-9][0-9]}
@{tid}=@{pid}
@{pids}=@{pid}
@{uid}={[0-9],[1-9][0-9],[1-9][0-9][0-9],[1-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-4][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]}
@{uids}=@{uid}
@{PROC}=/proc/
@{sys}=/sys/
@{securityfs}=@{sys}/kernel/security/
@{apparmorfs}=@{securityfs}/apparmor/
@{HOMEDIRS}=/home/
@{HOME}=@{HOMEDIRS}/*/ /root/
@{run}=/run/ /var/run/
@{multiarch}=*-linux-gnu*
`

// Profile is the file rules of one AppArmor profile.
type Profile struct {
	Name  string
	Rules []Rule
	// Other holds the profile's other rules (capability, network,
	// signal, ptrace, mount...) as written, without the comma.
	Other []string
}

// Rule is one file rule.
type Rule struct {
	Text  string // as written, without the comma
	Deny  bool
	Owner bool // matched as if the task owned the file
	Path  *Glob
	Perm  Perm
}

// Parse reads a profile file: its preamble (abi, tunables/global,
// variables) and one profile.
func Parse(text []byte) (*Profile, error) {
	s := &scanner{src: text, vars: Vars{}}
	p, err := s.file()
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", s.line(), err)
	}
	return p, nil
}

// Allowed reports whether the profile in profileText allows perm (letters
// of rwalkmx, all of them needed) on path, a directory ending with '/'.
// It is what the end-to-end tests ask of each access a workload makes.
func Allowed(profileText, path, perm string) (bool, error) {
	p, err := Parse([]byte(profileText))
	if err != nil {
		return false, err
	}
	want, err := ParsePerm(perm)
	if err != nil {
		return false, err
	}
	return p.Allows(path, want), nil
}

// Perms returns what the rules matching path allow and deny.
func (p *Profile) Perms(path string) (allow, deny Perm) {
	for _, r := range p.Rules {
		if !r.Path.Match(path) {
			continue
		}
		if r.Deny {
			deny |= r.Perm
		} else {
			allow |= r.Perm
		}
	}
	return allow, deny
}

// Allows reports whether every permission of want is allowed on path and
// none is denied (deny rules win, wherever they are written).
func (p *Profile) Allows(path string, want Perm) bool {
	allow, deny := p.Perms(path)
	return want != 0 && want&(allow&^deny) == want
}

// Matching returns the rules whose glob matches path.
func (p *Profile) Matching(path string) []Rule {
	var out []Rule
	for _, r := range p.Rules {
		if r.Path.Match(path) {
			out = append(out, r)
		}
	}
	return out
}

type scanner struct {
	src      []byte
	pos      int
	vars     Vars
	profiles int
}

func (s *scanner) line() int { return 1 + bytes.Count(s.src[:s.pos], []byte("\n")) }

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

// skip passes whitespace and comments ('#' up to the end of the line,
// but not #include).
func (s *scanner) skip() {
	for !s.eof() {
		switch c := s.src[s.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			s.pos++
		case c == '#' && !bytes.HasPrefix(s.src[s.pos:], []byte("#include")):
			for !s.eof() && s.src[s.pos] != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

// word returns the next run of bytes up to whitespace, ',' or '{'.
func (s *scanner) word() string {
	end := s.pos
	for end < len(s.src) && !strings.ContainsRune(" \t\r\n,{", rune(s.src[end])) {
		end++
	}
	return string(s.src[s.pos:end])
}

// restOfLine returns the rest of the current line, without a trailing
// comment, and moves past it.
func (s *scanner) restOfLine() string {
	start := s.pos
	for !s.eof() && s.src[s.pos] != '\n' {
		s.pos++
	}
	return stripComment(string(s.src[start:s.pos]))
}

// stripComment drops a '#' comment that starts after whitespace, outside
// quotes.
func stripComment(line string) string {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '#' && !quoted && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

func (s *scanner) file() (*Profile, error) {
	var prof *Profile
	for {
		s.skip()
		if s.eof() {
			break
		}
		w := s.word()
		switch {
		case bytes.HasPrefix(s.src[s.pos:], []byte("@{")):
			if err := s.assignment(); err != nil {
				return nil, err
			}
		case w == "abi":
			if _, err := s.statement(); err != nil {
				return nil, err
			}
		case w == "include" || w == "#include":
			if err := s.include(); err != nil {
				return nil, err
			}
		case w == "alias":
			return nil, fmt.Errorf("alias rules: %w", ErrUnsupported)
		case w == "profile" || strings.HasPrefix(w, "/") || strings.HasPrefix(w, `"`):
			if prof != nil {
				return nil, fmt.Errorf("a second profile: %w (one profile per text)", ErrUnsupported)
			}
			p, err := s.profile()
			if err != nil {
				return nil, err
			}
			prof = p
		default:
			return nil, fmt.Errorf("unexpected %q in the preamble", w)
		}
	}
	if prof == nil {
		return nil, fmt.Errorf("no profile in the text")
	}
	return prof, nil
}

func (s *scanner) include() error {
	s.pos += len(s.word())
	rest := strings.TrimSpace(s.restOfLine())
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "if exists"))
	if rest != "<tunables/global>" {
		return fmt.Errorf("include %s: %w (only <tunables/global>)", rest, ErrUnsupported)
	}
	return s.define(Tunables)
}

// define reads variable assignments, one per line.
func (s *scanner) define(text string) error {
	sub := &scanner{src: []byte(text), vars: s.vars}
	for {
		sub.skip()
		if sub.eof() {
			return nil
		}
		if err := sub.assignment(); err != nil {
			return err
		}
	}
}

// assignment reads "@{NAME}=values" or "@{NAME}+=values" (values
// separated by whitespace, up to the end of the line).
func (s *scanner) assignment() error {
	line := s.restOfLine()
	end := strings.IndexByte(line, '}')
	if end < 0 {
		return fmt.Errorf("variable assignment %q: no closing '}'", line)
	}
	name := line[2:end]
	if !validVarName(name) {
		return fmt.Errorf("variable name %q: use a letter, then letters, digits or '_'", name)
	}
	rest := strings.TrimSpace(line[end+1:])
	add := strings.HasPrefix(rest, "+=")
	switch {
	case add:
		rest = rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return fmt.Errorf("variable @{%s}: want = or += after it", name)
	}
	values := fields(rest)
	if len(values) == 0 {
		return fmt.Errorf("variable @{%s} has no value (write \"\" for an empty one)", name)
	}
	_, defined := s.vars[name]
	switch {
	case add && !defined:
		return fmt.Errorf("variable @{%s}: += before any =", name)
	case !add && defined:
		return fmt.Errorf("variable @{%s} is defined twice", name)
	}
	s.vars[name] = append(s.vars[name], values...)
	return nil
}

func validVarName(n string) bool {
	if n == "" || !isLetter(n[0]) {
		return false
	}
	for i := 1; i < len(n); i++ {
		if !isLetter(n[i]) && !(n[i] >= '0' && n[i] <= '9') && n[i] != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// profile reads "profile NAME [ATTACHMENT] [flags=(...)] { RULES }" or
// "PATH [flags=(...)] { RULES }".
func (s *scanner) profile() (*Profile, error) {
	head, err := s.head()
	if err != nil {
		return nil, err
	}
	f := fields(head)
	if len(f) > 0 && f[0] == "profile" {
		f = f[1:]
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("a profile without a name")
	}
	name, err := unquote(f[0])
	if err != nil {
		return nil, err
	}
	p := &Profile{Name: itemString(name)}
	vars := maps.Clone(s.vars)
	vars["profile_name"] = []string{quote(p.Name)}
	for {
		s.skip()
		if s.eof() {
			return nil, fmt.Errorf("profile %s: no closing '}'", p.Name)
		}
		if s.src[s.pos] == '}' {
			s.pos++
			return p, nil
		}
		if w := s.word(); w == "include" || w == "#include" {
			return nil, fmt.Errorf("%s inside a profile: %w", strings.TrimSpace(s.restOfLine()), ErrUnsupported)
		}
		text, err := s.statement()
		if err != nil {
			return nil, err
		}
		if err := p.add(text, vars); err != nil {
			return nil, err
		}
	}
}

// head reads up to the '{' that opens a profile's block: one at
// parenthesis depth 0 after whitespace or ')' (a '{' right after other
// bytes is a glob's alternation).
func (s *scanner) head() (string, error) {
	start, depth := s.pos, 0
	for ; !s.eof(); s.pos++ {
		switch c := s.src[s.pos]; c {
		case '(':
			depth++
		case ')':
			depth--
		case '"':
			if err := s.skipQuoted(); err != nil {
				return "", err
			}
		case '{':
			if depth == 0 && s.pos > start && strings.ContainsRune(" \t\r\n)", rune(s.src[s.pos-1])) {
				head := string(s.src[start:s.pos])
				s.pos++
				return head, nil
			}
		}
	}
	return "", fmt.Errorf("a profile head without '{'")
}

// skipQuoted moves s.pos to the closing quote of the string at s.pos.
func (s *scanner) skipQuoted() error {
	for s.pos++; !s.eof(); s.pos++ {
		switch s.src[s.pos] {
		case '\\':
			s.pos++
		case '"':
			return nil
		}
	}
	return fmt.Errorf("unterminated quoted string")
}

// statement reads a rule up to its terminating ',' (outside quotes,
// parentheses and braces) and returns it without the comma. A block
// ('{' after whitespace) inside a profile is a child profile, hat or
// qualifier block, which this package does not model.
func (s *scanner) statement() (string, error) {
	start, depth := s.pos, 0
	for ; !s.eof(); s.pos++ {
		switch c := s.src[s.pos]; c {
		case '\\':
			s.pos++
		case '"':
			if err := s.skipQuoted(); err != nil {
				return "", err
			}
		case '(':
			depth++
		case ')':
			depth--
		case '{':
			if s.pos == start || strings.ContainsRune(" \t\r\n", rune(s.src[s.pos-1])) {
				return "", fmt.Errorf("%q: child profiles, hats and rule blocks: %w",
					strings.TrimSpace(string(s.src[start:s.pos])), ErrUnsupported)
			}
			depth++
		case '}':
			if depth == 0 {
				return "", fmt.Errorf("rule %q has no terminating ','", strings.TrimSpace(string(s.src[start:s.pos])))
			}
			depth--
		case ',':
			if depth == 0 {
				text := strings.TrimSpace(string(s.src[start:s.pos]))
				s.pos++
				return text, nil
			}
		}
	}
	return "", fmt.Errorf("rule %q has no terminating ','", strings.TrimSpace(string(s.src[start:])))
}

// qualifiers are the words a rule may start with; audit changes logging
// only, and allow is the default.
var qualifiers = map[string]bool{"audit": true, "allow": true, "deny": true, "owner": true}

// otherRules are the rule keywords that do not grant file access.
var otherRules = map[string]bool{
	"capability": true, "network": true, "signal": true, "ptrace": true, "mount": true, "remount": true,
	"umount": true, "pivot_root": true, "unix": true, "dbus": true, "change_profile": true, "set": true,
	"rlimit": true, "userns": true, "io_uring": true, "mqueue": true,
}

// add parses one rule of the profile.
func (p *Profile) add(text string, vars Vars) error {
	f := fields(text)
	r := Rule{Text: text}
	for ; len(f) > 0 && qualifiers[f[0]]; f = f[1:] {
		r.Deny = r.Deny || f[0] == "deny"
		r.Owner = r.Owner || f[0] == "owner"
	}
	if len(f) == 0 {
		return fmt.Errorf("rule %q: qualifiers without a rule", text)
	}
	file := f[0] == "file"
	if file {
		f = f[1:]
		if len(f) == 0 {
			r.Path, r.Perm = MustCompile("/{**,}", nil), AllPerms
			p.Rules = append(p.Rules, r)
			return nil
		}
	}
	var path, perm string
	switch {
	case f[0] == "link" || strings.HasPrefix(f[0], "priority="):
		return fmt.Errorf("rule %q: %w", text, ErrUnsupported)
	case isPathToken(f[0]) && len(f) >= 2:
		path, perm = f[0], f[1]
	case len(f) >= 2 && isPathToken(f[1]):
		perm, path = f[0], f[1]
	case !file && otherRules[f[0]]:
		p.Other = append(p.Other, text)
		return nil
	default:
		return fmt.Errorf("rule %q: not a rule this package knows", text)
	}
	if rest := f[2:]; len(rest) > 0 && (rest[0] != "->" || len(rest) != 2) {
		return fmt.Errorf("rule %q: unexpected %q after the access", text, strings.Join(rest, " "))
	}
	var ok bool
	if r.Perm, ok = parseRulePerm(perm); !ok {
		return fmt.Errorf("rule %q: access %q is not one AppArmor file rules take", text, perm)
	}
	g, err := Compile(path, vars)
	if err != nil {
		return fmt.Errorf("rule %q: %w", text, err)
	}
	r.Path = g
	p.Rules = append(p.Rules, r)
	return nil
}

func isPathToken(t string) bool {
	return strings.HasPrefix(t, "/") || strings.HasPrefix(t, `"`) || strings.HasPrefix(t, "@{")
}

// fields splits text at whitespace outside quotes; a backslash keeps the
// byte after it in the field.
func fields(text string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text):
			cur.WriteByte(c)
			cur.WriteByte(text[i+1])
			i++
			in = true
			continue
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
			continue
		}
		cur.WriteByte(c)
		in = true
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func itemString(its []item) string {
	b := make([]byte, len(its))
	for i, it := range its {
		b[i] = it.b
	}
	return string(b)
}

// quote writes s as a quoted token that stands for exactly its bytes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "\\%03o", s[i])
	}
	b.WriteByte('"')
	return b.String()
}
