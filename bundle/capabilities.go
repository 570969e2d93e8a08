package bundle

import (
	"encoding/json"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
)

// NarrowCapabilities narrows each capability set of config (a profile
// applied) to what original (the engine's config) granted in that set, and
// returns the capabilities it took away. A profile picked by a container's
// own environment or annotations may tighten what the engine grants, never
// widen it.
func NarrowCapabilities(config, original []byte) ([]byte, []string, error) {
	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return nil, nil, err
	}
	applied, err := capabilitiesOf(cfg)
	if err != nil {
		return nil, nil, err
	}
	orig, err := ociconfig.Parse(original)
	if err != nil {
		return nil, nil, err
	}
	granted, err := capabilitiesOf(orig)
	if err != nil {
		return nil, nil, err
	}
	var dropped []string
	narrow := func(set, engine []string) []string {
		keep := []string{}
		for _, c := range set {
			if slices.Contains(engine, c) {
				keep = append(keep, c)
			} else if !slices.Contains(dropped, c) {
				dropped = append(dropped, c)
			}
		}
		return keep
	}
	n := specs.LinuxCapabilities{
		Bounding:    narrow(applied.Bounding, granted.Bounding),
		Effective:   narrow(applied.Effective, granted.Effective),
		Inheritable: narrow(applied.Inheritable, granted.Inheritable),
		Permitted:   narrow(applied.Permitted, granted.Permitted),
		Ambient:     narrow(applied.Ambient, granted.Ambient),
	}
	if len(dropped) == 0 {
		return config, nil, nil
	}
	enc, err := generator.MarshalCapabilities(&n)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.Set(json.RawMessage(enc), "process", "capabilities"); err != nil {
		return nil, nil, err
	}
	slices.Sort(dropped)
	return cfg.Bytes(), dropped, nil
}

func capabilitiesOf(cfg *ociconfig.Config) (specs.LinuxCapabilities, error) {
	spec, err := cfg.Spec()
	if err != nil || spec.Process == nil || spec.Process.Capabilities == nil {
		return specs.LinuxCapabilities{}, err
	}
	return *spec.Process.Capabilities, nil
}
