// Package enum parses the string-typed choices of tailor's flags (formats,
// default actions, policies) with one error message for all of them.
package enum

import (
	"fmt"
	"strings"
)

// Parse returns the value of values spelled s. Unknown spellings get an
// error naming what was asked for and every accepted value.
func Parse[T ~string](what, s string, values []T) (T, error) {
	for _, v := range values {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown %s %q (use one of %s)", what, s, Join(values))
}

// Join lists values for help texts: "a, b, c".
func Join[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
