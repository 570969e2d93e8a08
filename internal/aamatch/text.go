package aamatch

import (
	"errors"
	"fmt"
	"strings"
)

// item is one byte of a rule's text after quoting and escapes. Plain is
// set when the byte was written as itself (not escaped), so that it may be
// a glob operator.
type item struct {
	b     byte
	plain bool
}

// unquote turns a token as written in a profile (quoted or not) into
// items, applying backslash escapes the way apparmor_parser does.
func unquote(tok string) ([]item, error) {
	if strings.HasPrefix(tok, `"`) {
		if len(tok) < 2 || tok[len(tok)-1] != '"' || !evenBackslashesBefore(tok, len(tok)-1) {
			return nil, fmt.Errorf("unterminated quoted string %q", tok)
		}
		tok = tok[1 : len(tok)-1]
	}
	var out []item
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '\\' {
			out = append(out, item{b: c, plain: true})
			continue
		}
		if i+1 == len(tok) {
			return nil, fmt.Errorf("%q ends with a lone backslash", tok)
		}
		b, n, err := escape(tok[i+1:])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", tok, err)
		}
		// The parser decodes a numeric escape to the byte itself and
		// escapes it again only when it is a glob operator: a '/' written
		// \057 is an ordinary slash (it collapses with its neighbours),
		// while \/ stays escaped.
		numeric := tok[i+1] != '/' && !isPrintEscape(tok[i+1])
		out = append(out, item{b: b, plain: numeric && b == '/'})
		i += n
	}
	return out, nil
}

// evenBackslashesBefore reports whether the byte at s[end] is preceded by
// an even number of backslashes (so that it is not itself escaped).
func evenBackslashesBefore(s string, end int) bool {
	n := 0
	for i := end - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// escape decodes the escape sequence at the start of s (just after the
// backslash) and returns the byte and how many bytes of s it took.
func escape(s string) (byte, int, error) {
	switch c := s[0]; {
	case c >= '0' && c <= '7':
		return number(s, 0, 8, 3)
	case c == 'x':
		return number(s, 1, 16, 2)
	case c == 'd':
		return number(s, 1, 10, 3)
	default:
		if b, ok := controlEscapes[c]; ok {
			return b, 1, nil
		}
		return c, 1, nil
	}
}

// number decodes up to max digits of base at s[skip:] (an escape's
// number), which must be a byte other than NUL.
func number(s string, skip, base, max int) (byte, int, error) {
	v, n := 0, 0
	for n < max && skip+n < len(s) {
		d := digitValue(s[skip+n])
		if d < 0 || d >= base {
			break
		}
		v = v*base + d
		n++
	}
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("escape \\%s has no digits", s[:skip])
	case v == 0 || v > 255:
		return 0, 0, fmt.Errorf("escape \\%s is not a byte from 1 to 255", s[:skip+n])
	}
	return byte(v), skip + n, nil
}

// isPrintEscape reports whether \c is an escape of c itself or of a
// control character (not a numeric one).
func isPrintEscape(c byte) bool {
	return !(c >= '0' && c <= '7' || c == 'x' || c == 'd')
}

var controlEscapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'e': 0x1b, 'f': '\f', 'v': '\v'}

// digitValue is the value of a hexadecimal digit, or -1.
func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Vars holds variable values: each value is a token as written in a
// profile (quoted or not), itself an AppArmor glob.
type Vars map[string][]string

// maxExpansion bounds nested variable references.
const maxExpansion = 16

// expand replaces every @{NAME} written plainly by its values: one value
// in place, several as an alternation, as apparmor_parser does.
func expand(in []item, vars Vars, depth int) ([]item, error) {
	if depth > maxExpansion {
		return nil, errors.New("variables nested too deeply (a variable refers to itself?)")
	}
	var out []item
	for i := 0; i < len(in); i++ {
		if !(in[i].plain && in[i].b == '@' && i+1 < len(in) && in[i+1].plain && in[i+1].b == '{') {
			out = append(out, in[i])
			continue
		}
		end := i + 2
		for end < len(in) && !(in[end].plain && in[end].b == '}') {
			end++
		}
		if end == len(in) {
			return nil, errors.New("unterminated variable reference @{")
		}
		name := make([]byte, 0, end-i-2)
		for _, it := range in[i+2 : end] {
			name = append(name, it.b)
		}
		values, ok := vars[string(name)]
		if !ok {
			return nil, fmt.Errorf("variable @{%s} is not defined", name)
		}
		slashBefore := len(out) > 0 && out[len(out)-1] == item{b: '/', plain: true}
		slashAfter := end+1 < len(in) && in[end+1] == item{b: '/', plain: true}
		if len(values) > 1 {
			out = append(out, item{b: '{', plain: true})
		}
		for j, v := range values {
			if j > 0 {
				out = append(out, item{b: ',', plain: true})
			}
			its, err := unquote(v)
			if err != nil {
				return nil, fmt.Errorf("@{%s}: %w", name, err)
			}
			if its, err = expand(its, vars, depth+1); err != nil {
				return nil, err
			}
			// The parser drops a value's slash where the text around the
			// reference has one already: with @{run}=/run/, "@{run}/x" is
			// /run/x, and "/x/@{run}" is /x/run/.
			for slashBefore && len(its) > 0 && its[0] == (item{b: '/', plain: true}) {
				its = its[1:]
			}
			for slashAfter && len(its) > 0 && its[len(its)-1] == (item{b: '/', plain: true}) {
				its = its[:len(its)-1]
			}
			out = append(out, its...)
		}
		if len(values) > 1 {
			out = append(out, item{b: '}', plain: true})
		}
		i = end
	}
	return out, nil
}

// collapseSlashes folds runs of / into one, as the parser does with
// rule paths after variable expansion.
func collapseSlashes(in []item) []item {
	out := in[:0:0]
	for _, it := range in {
		if it == (item{b: '/', plain: true}) && len(out) > 0 && out[len(out)-1] == it {
			continue
		}
		out = append(out, it)
	}
	return out
}
