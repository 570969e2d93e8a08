package wrapper

import (
	"fmt"
	"strings"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/internal/ociconfig"
)

// EnvComplain, beside EnvProfile, asks for complain mode (docs/complain.md):
// "1" lets through and records what the profile lacks, "report" refuses it
// with the profile's errno and records it.
const EnvComplain = "TAILOR_COMPLAIN"

// complainFor returns the complain options a container asks for with
// EnvComplain (nil when it does not). The environment comes from the image
// too, and complain mode lets through what the profile refuses: it is
// honoured only when the operator allowed it (Options.Complain, set by
// tailor runtime --allow-complain), and refused otherwise, as is a value
// other than "1" or "report".
func (o Options) complainFor(config []byte, req request) (*bundle.ComplainOptions, error) {
	parsed, err := ociconfig.Parse(config)
	if err != nil {
		return nil, err
	}
	cfg, err := parsed.Spec()
	if err != nil || cfg.Process == nil {
		return nil, err
	}
	value, set := "", false
	for _, kv := range cfg.Process.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k != EnvComplain {
			continue
		}
		if set && v != value {
			return nil, fmt.Errorf("%s is set twice (%q, %q): set it once", EnvComplain, value, v)
		}
		value, set = v, true
	}
	switch {
	case !set:
		return nil, nil
	case value != "1" && value != "report":
		return nil, fmt.Errorf("%s=%q: use 1 (let through and record) or report (refuse and record)", EnvComplain, value)
	case req.profile == "":
		return nil, fmt.Errorf("%s=%s needs %s (or %s): the profile to roll out", EnvComplain, value, EnvProfile, AnnotationProfile)
	case o.Complain == nil:
		return nil, fmt.Errorf("%s=%s: complain mode is not allowed in this runtime (an image's environment must not "+
			"loosen enforcement): register a runtime with tailor runtime --allow-complain for rollouts", EnvComplain, value)
	}
	c, err := o.Complain(req.profile, value == "report")
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvComplain, value, err)
	}
	return c, nil
}
