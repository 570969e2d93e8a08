package bundle

import (
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/ociconfig"
)

// LearningFilter is the permissive filter a learning run loads when the
// bundle has none: it allows everything, and its loading marks the runtime
// boundary (the container's syscalls count once it is in place).
func LearningFilter() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
	}
}

// AddLearning returns config (an OCI config.json) with hook appended to
// its createRuntime hooks and, where it loads no seccomp filter, the
// permissive learning filter. When bundle is not empty, paths relative to
// it (root.path, bind mount sources) are made absolute so that the config
// can be run from another directory. Every other byte is kept (see
// Config).
func AddLearning(config []byte, bundle string, hook specs.Hook) ([]byte, error) {
	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return nil, err
	}
	spec, err := cfg.Spec()
	if err != nil {
		return nil, err
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, fmt.Errorf("%w: no root.path", ErrBadConfig)
	}
	if bundle != "" {
		if !filepath.IsAbs(spec.Root.Path) {
			if err := cfg.Set(filepath.Join(bundle, spec.Root.Path), "root", "path"); err != nil {
				return nil, err
			}
		}
		for i, m := range spec.Mounts {
			bind := slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
			if bind && m.Source != "" && !filepath.IsAbs(m.Source) {
				if err := cfg.Set(filepath.Join(bundle, m.Source), "mounts", i, "source"); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := cfg.Append(hook, "hooks", "createRuntime"); err != nil {
		return nil, err
	}
	if !cfg.IsSet("linux", "seccomp") {
		if err := cfg.Set(LearningFilter(), "linux", "seccomp"); err != nil {
			return nil, err
		}
	}
	return cfg.Bytes(), nil
}
