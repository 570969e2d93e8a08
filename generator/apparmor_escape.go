package generator

import (
	"strconv"
	"strings"
)

// aaPattern is the path of a file rule: literal bytes, which match only
// themselves, and glob pieces written by the generaliser (variables and
// character classes), kept apart so that no byte of a file name is ever
// read as a glob operator.
type aaPattern []aaPiece

type aaPiece struct {
	text string
	glob bool
}

func aaLiteral(s string) aaPattern { return aaPattern{{text: s}} }

func (p aaPattern) lit(s string) aaPattern  { return append(p, aaPiece{text: s}) }
func (p aaPattern) glob(s string) aaPattern { return append(p, aaPiece{text: s, glob: true}) }

// generalized reports whether the pattern has a glob piece.
func (p aaPattern) generalized() bool {
	for _, piece := range p {
		if piece.glob {
			return true
		}
	}
	return false
}

// aaPlain reports whether c stands for itself in an unquoted AppArmor
// path (checked with apparmor_parser -D rule-exprs): letters, digits and
// a few punctuation marks that are neither glob operators nor special to
// the profile syntax.
func aaPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/._-+~:=%", c) >= 0
}

// String writes the pattern as a rule's path. Literal bytes other than
// the plain ones are written as octal escapes (\NNN), which the parser
// decodes to the byte and never reads as an operator, a quote, a comma, a
// comment or a variable; the path is then quoted. A space is kept as
// itself inside the quotes, for readability.
func (p aaPattern) String() string {
	var b strings.Builder
	quoted := false
	for _, piece := range p {
		if piece.glob {
			b.WriteString(piece.text)
			continue
		}
		for i := 0; i < len(piece.text); i++ {
			c := piece.text[i]
			switch {
			case aaPlain(c):
				b.WriteByte(c)
			case c == ' ':
				b.WriteByte(c)
				quoted = true
			default:
				b.WriteByte('\\')
				o := strconv.FormatUint(uint64(c), 8)
				b.WriteString(strings.Repeat("0", 3-len(o)) + o)
				quoted = true
			}
		}
	}
	if quoted {
		return `"` + b.String() + `"`
	}
	return b.String()
}
