package bundle

import (
	"fmt"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiles"
)

// setAppArmor writes name to the config's process.apparmorProfile: the
// runtime then executes the container's process into that AppArmor
// profile, which must be loaded on the host (tailor generate --format
// apparmor, then apparmor_parser -r). An empty name leaves the field as
// the user set it. The name is checked as the generator checks it, so
// that apply and generate agree on which names exist.
func setAppArmor(cfg *ociconfig.Config, p *profiles.Profile, name string) ([]generator.Note, error) {
	if name == "" {
		return nil, nil
	}
	if err := generator.CheckAppArmorName(name); err != nil {
		return nil, fmt.Errorf("--apparmor: %w", err)
	}
	if err := cfg.Set(name, "process", "apparmorProfile"); err != nil {
		return nil, err
	}
	notes := []generator.Note{{Text: fmt.Sprintf("process.apparmorProfile is %s: load it on the host before the container "+
		"starts (tailor generate --format apparmor --name %[1]s -o %[1]s PROFILE && apparmor_parser -r %[1]s)", name)}}
	if !p.Records(profiles.DimFiles) {
		notes = append(notes, generator.Note{Text: fmt.Sprintf("the profile did not record files, so tailor cannot "+
			"write AppArmor profile %s: it must come from elsewhere", name)})
	}
	return notes, nil
}
