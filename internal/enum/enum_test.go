package enum

import (
	"strings"
	"testing"
)

type color string

func TestParse(t *testing.T) {
	values := []color{"red", "green"}
	if got, err := Parse("color", "green", values); err != nil || got != "green" {
		t.Errorf("Parse(green) = %q, %v", got, err)
	}
	_, err := Parse("color", "Green", values)
	if err == nil || !strings.Contains(err.Error(), `unknown color "Green" (use one of red, green)`) {
		t.Errorf("Parse(Green) error = %v", err)
	}
}
