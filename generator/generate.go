package generator

import (
	"fmt"
	"strings"

	"github.com/tailor-dev/tailor/profiles"
)

// Format is an output of `tailor generate`.
type Format string

// The formats tailor generates.
const (
	// FormatSeccomp is an OCI/Docker/podman seccomp JSON.
	FormatSeccomp Format = "seccomp"
)

// Formats lists the accepted formats, the default first.
var Formats = []Format{FormatSeccomp}

// ParseFormat checks a user's --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	var names []string
	for _, f := range Formats {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown format %q (use one of %s)", s, strings.Join(names, ", "))
}

// Options selects and tunes a generated output.
type Options struct {
	Format  Format
	Seccomp SeccompOptions
}

// Generate renders p in opts.Format. The bytes are stable for a given
// profile and options; notes explain choices the user should know about.
// A seccomp filter is compiled with libseccomp before it is returned, so
// that nothing a runtime would refuse is ever written.
func Generate(p *profiles.Profile, opts Options) ([]byte, []Note, error) {
	switch opts.Format {
	case FormatSeccomp, "":
		s, notes, err := Seccomp(p, opts.Seccomp)
		if err != nil {
			return nil, nil, err
		}
		f, err := Compile(s)
		if err != nil {
			return nil, nil, fmt.Errorf("validate generated filter: %w", err)
		}
		f.Release()
		out, err := MarshalSeccomp(s)
		return out, notes, err
	}
	return nil, nil, fmt.Errorf("unknown format %q", opts.Format)
}
