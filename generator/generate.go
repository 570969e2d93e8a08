package generator

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/enum"

	"fmt"

	"github.com/tailor-dev/tailor/profiles"
)

// Format is an output of `tailor generate`.
type Format string

// The formats tailor generates.
const (
	// FormatSeccomp is an OCI/Docker/podman seccomp JSON.
	FormatSeccomp Format = "seccomp"
	// FormatCapabilities is OCI process.capabilities as JSON.
	FormatCapabilities Format = "capabilities"
	// FormatFlags is docker/podman run flags (capabilities and seccomp).
	FormatFlags Format = "flags"
	// FormatK8s is a Kubernetes container securityContext (YAML).
	FormatK8s Format = "k8s"
	// FormatSPOSeccomp is a Security Profiles Operator SeccompProfile (YAML).
	FormatSPOSeccomp Format = "spo-seccomp"
	// FormatSPOAppArmor is a Security Profiles Operator AppArmorProfile (YAML).
	FormatSPOAppArmor Format = "spo-apparmor"
	// FormatAppArmor is an AppArmor profile (apparmor_parser's text).
	FormatAppArmor Format = "apparmor"
)

// Formats lists the accepted formats, the default first.
var Formats = []Format{FormatSeccomp, FormatCapabilities, FormatFlags, FormatK8s, FormatSPOSeccomp, FormatSPOAppArmor, FormatAppArmor}

// ParseFormat checks a user's --format value.
func ParseFormat(s string) (Format, error) {
	return enum.Parse("format", s, Formats)
}

// Options selects and tunes a generated output.
type Options struct {
	Format  Format
	Seccomp SeccompOptions
	// SeccompFile is the seccomp JSON that FormatFlags names.
	SeccompFile string
	// Name is the profile's name in FormatK8s (tailor/NAME.json) and the
	// object's name in the SPO formats.
	Name string
	// K8s tunes FormatK8s.
	K8s K8sOptions
	// NoAppArmor leaves --security-opt apparmor=NAME out of FormatFlags
	// (for hosts without AppArmor, where podman refuses it).
	NoAppArmor bool
}

// marshalCompiled compiles s with libseccomp, so that nothing a runtime
// would refuse is written, and returns its JSON.
func marshalCompiled(s *specs.LinuxSeccomp) ([]byte, error) {
	f, err := Compile(s)
	if err != nil {
		return nil, fmt.Errorf("validate generated filter: %w", err)
	}
	f.Release()
	return MarshalSeccomp(s)
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
		out, err := marshalCompiled(s)
		return out, notes, err
	case FormatCapabilities:
		c, notes, err := Capabilities(p)
		if err != nil {
			return nil, nil, err
		}
		out, err := MarshalCapabilities(c)
		return out, notes, err
	case FormatFlags:
		return Flags(p, opts.SeccompFile, opts.flagsAppArmor())
	case FormatK8s:
		return K8s(p, opts.Name, opts.K8s)
	case FormatSPOSeccomp:
		return SPOSeccomp(p, opts.Name, opts.Seccomp)
	case FormatSPOAppArmor:
		return SPOAppArmor(p, opts.Name)
	case FormatAppArmor:
		return AppArmor(p, AppArmorOptions{Name: opts.Name})
	}
	return nil, nil, fmt.Errorf("unknown format %q", opts.Format)
}
