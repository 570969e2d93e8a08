package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/profiles"
)

// Capabilities returns the OCI process.capabilities for the profile's
// minimal set: the capabilities with at least one granted check go into
// bounding, effective and permitted; inheritable and ambient stay empty
// (nothing is passed across execve beyond what file capabilities give).
// Capabilities that were only denied are not added: the workload asked
// for them without having them and coped; a note names each.
func Capabilities(p *profiles.Profile) (*specs.LinuxCapabilities, []Note, error) {
	if p == nil {
		return nil, nil, errors.New("generate capabilities: no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("generate capabilities: %w", err)
	}
	set := p.GrantedCapabilities()
	c := &specs.LinuxCapabilities{
		Bounding:    set,
		Effective:   append([]string{}, set...),
		Permitted:   append([]string{}, set...),
		Inheritable: []string{},
		Ambient:     []string{},
	}
	if c.Bounding == nil {
		c.Bounding = []string{}
	}
	return c, deniedNotes(p), nil
}

// DeniedCapabilities returns the capabilities that were checked and
// denied but never granted.
func DeniedCapabilities(p *profiles.Profile) []string {
	var out []string
	for _, c := range p.Capabilities {
		if c.Denied && !c.Granted {
			out = append(out, c.Name)
		}
	}
	return out
}

func deniedNotes(p *profiles.Profile) []Note {
	var notes []Note
	for _, name := range DeniedCapabilities(p) {
		notes = append(notes, Note{Text: name + " was checked and denied during learning, never granted: " +
			"not added (the workload coped without it; add it by hand if a feature needs it)"})
	}
	return notes
}

// ociCapabilities is specs.LinuxCapabilities spelled with every set
// present, so that an empty set reads as a decision, not an omission.
type ociCapabilities struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Inheritable []string `json:"inheritable"`
	Permitted   []string `json:"permitted"`
	Ambient     []string `json:"ambient"`
}

// MarshalCapabilities encodes process.capabilities as indented JSON with
// every set present (empty ones as []).
func MarshalCapabilities(c *specs.LinuxCapabilities) ([]byte, error) {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	o := ociCapabilities{Bounding: nonNil(c.Bounding), Effective: nonNil(c.Effective),
		Inheritable: nonNil(c.Inheritable), Permitted: nonNil(c.Permitted), Ambient: nonNil(c.Ambient)}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(o); err != nil {
		return nil, fmt.Errorf("encode capabilities: %w", err)
	}
	return buf.Bytes(), nil
}

// Flags returns the docker/podman run flags that enforce the profile: all
// capabilities dropped but the minimal set, and the seccomp JSON at
// seccompFile (written by the user with `tailor generate --format seccomp
// -o FILE`). When the profile recorded files and appArmor names an
// AppArmor profile (tailor generate --format apparmor, loaded on the
// host), it is added too (see appArmorFlag). One line, shell-quoted where
// needed.
func Flags(p *profiles.Profile, seccompFile, appArmor string) ([]byte, []Note, error) {
	if seccompFile == "" {
		return nil, nil, errors.New("generate flags: no seccomp file to name (the seccomp JSON written with -o)")
	}
	c, notes, err := Capabilities(p)
	if err != nil {
		return nil, nil, err
	}
	args := []string{"--cap-drop=ALL"}
	for _, name := range c.Bounding {
		args = append(args, "--cap-add="+name)
	}
	args = append(args, "--security-opt", shellQuote("seccomp="+seccompFile))
	aa, aaNotes, err := appArmorFlag(p, appArmor)
	if err != nil {
		return nil, nil, err
	}
	args = append(args, aa...)
	return []byte(strings.Join(args, " ") + "\n"), append(notes, aaNotes...), nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./=:@%+,-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
