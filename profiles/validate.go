package profiles

import (
	"fmt"
	"strings"
)

// Validate checks names, versions, duplicates and consistency: a profile
// that counts a loss is not complete, and argument values are ones the
// recorder can give (see checkArgs). Its errors wrap ErrInvalid and a
// *PathError naming the field at fault.
//
// Generators and apply call it on the profile they are given, so what a
// document or a caller claims is checked where it is used.
func (p *Profile) Validate() error {
	bad := func(path, format string, a ...any) error {
		return invalidError{&PathError{Path: path, Err: fmt.Errorf(format, a...)}}
	}
	if p.Kind != Kind {
		return bad("kind", "kind is %q, want %q", p.Kind, Kind)
	}
	if p.SchemaVersion != SchemaVersion {
		return bad("schemaVersion", "schemaVersion %d is not supported (this tailor reads versions 1 to %d)", p.SchemaVersion, SchemaVersion)
	}
	if p.Complete && p.Loss.Any() {
		return bad("complete", "the profile is marked complete but counts a loss (%s): a profile that lost observations "+
			"is incomplete; set complete to false (Parse and Normalize derive it from the loss)", describeLoss(p.Loss))
	}
	if p.Source.Recordings < 0 {
		return bad("source.recordings", "negative count %d", p.Source.Recordings)
	}
	seenABI := map[ABI]bool{}
	for i, a := range p.ABIs {
		at := fmt.Sprintf("abis[%d]", i)
		if !a.ABI.Valid() {
			return bad(at+".abi", "unknown ABI %q (known: x86_64, x86, x32)", a.ABI)
		}
		if seenABI[a.ABI] {
			return bad(at+".abi", "ABI %q listed twice", a.ABI)
		}
		seenABI[a.ABI] = true
		seen := map[string]bool{}
		for j, s := range a.Syscalls {
			at := fmt.Sprintf("abis[%d].syscalls[%d]", i, j)
			if _, err := a.ABI.SyscallNr(s.Name); err != nil {
				return bad(at+".name", "unknown syscall %q for ABI %s", s.Name, a.ABI)
			}
			if seen[s.Name] {
				return bad(at+".name", "syscall %q listed twice", s.Name)
			}
			seen[s.Name] = true
			if s.Seen.Recordings < 0 {
				return bad(at+".seen.recordings", "negative count %d", s.Seen.Recordings)
			}
			if s.Args == nil {
				continue
			}
			rule, ok := ArgRuleFor(s.Name)
			if !ok {
				return bad(at+".args", "%q has no recorded arguments, but args are given", s.Name)
			}
			if path, err := checkArgs(rule, s.Args, p.Complete); err != nil {
				return bad(at+".args"+path, "%w", err)
			}
		}
	}
	seenCap := map[string]bool{}
	for i, c := range p.Capabilities {
		at := fmt.Sprintf("capabilities[%d].name", i)
		cp, ok := CapabilityByName(c.Name)
		if !ok {
			return bad(at, "unknown capability %q", c.Name)
		}
		if want := CapabilityName(cp); c.Name != want {
			return bad(at, "capability %q must be spelled %q", c.Name, want)
		}
		if seenCap[c.Name] {
			return bad(at, "capability %q listed twice", c.Name)
		}
		seenCap[c.Name] = true
		if c.Seen.Recordings < 0 {
			return bad(fmt.Sprintf("capabilities[%d].seen.recordings", i), "negative count %d", c.Seen.Recordings)
		}
	}
	return p.validateTouch(bad)
}

// checkArgs checks one syscall's argument values against its rule. path
// is where the fault is, below the syscall's args.
//
// The generator allows any argument for a syscall with an empty value list
// (there is nothing to restrict it to), which is right when the values
// were lost (the profile is incomplete) but not in a complete profile: a
// recording that saw the syscall saw at least one value, so an empty list
// there is tampering or a bug, and is refused rather than widened.
func checkArgs(rule ArgRule, a *ArgValues, complete bool) (path string, err error) {
	if a.Overflow && len(a.Values) > 0 {
		return ".overflow", fmt.Errorf("%s lists values and is marked overflow (allowed with any %s): "+
			"remove the values, or the overflow to allow only them", rule.Syscall, rule.Meaning)
	}
	if !a.Overflow && len(a.Values) == 0 && complete {
		return "", fmt.Errorf("%s has an empty value list in a complete profile, which would allow any %s: "+
			"list the values it was seen with, set overflow to true to allow any, or learn again", rule.Syscall, rule.Meaning)
	}
	bits := recordedBits(rule)
	seen := make(map[uint64]bool, len(a.Values))
	for k, v := range a.Values {
		at := fmt.Sprintf(".values[%d]", k)
		if v&^bits != 0 {
			return at, fmt.Errorf("value %#x of %s has bits outside %#x, the bits of its %s that are recorded: "+
				"no recording gives it; correct or remove the value", v, rule.Syscall, bits, rule.Meaning)
		}
		if seen[v] {
			return at, fmt.Errorf("value %#x of %s listed twice", v, rule.Syscall)
		}
		seen[v] = true
	}
	return "", nil
}

// recordedBits is the bits a recorded value of rule can have: its mask,
// and for socket the 32-bit domain above the masked type (SocketValue).
func recordedBits(rule ArgRule) uint64 {
	if rule.Syscall == "socket" {
		return 0xffffffff<<32 | SocketTypeMask
	}
	return rule.Mask
}

// describeLoss says what a loss counts, for errors.
func describeLoss(l Loss) string {
	var parts []string
	for _, c := range []struct {
		n    uint64
		what string
	}{{l.Events, "events"}, {l.Tasks, "tasks"}, {l.ArgValues, "argument values"},
		{l.Paths, "paths"}, {l.Objects, "objects"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s lost", c.n, c.what))
		}
	}
	return strings.Join(append(parts, l.Reasons...), "; ")
}
