package hook

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// Sink writes a learned profile where the hook was asked to: the tailor
// profile (learn's --output, the store for dev.tailor.learn) and the OCI
// seccomp JSON for io.containers.trace-syscall. It runs in the tracer.
func Sink(reg profiler.Registration, p *profiles.Profile) error {
	var out outputs
	if err := json.Unmarshal(reg.Outputs, &out); err != nil {
		return fmt.Errorf("decode outputs of %s: %w", reg.ContainerID, err)
	}
	var errs []error
	if out.Profile != "" {
		p.Name = strings.TrimSuffix(filepath.Base(out.Profile), ".json")
		if err := p.WriteFile(out.Profile); err != nil {
			errs = append(errs, err)
		}
	}
	if out.Name != "" {
		p.Name = out.Name
		if err := profiles.NewStore(out.Store).Save(p); err != nil {
			errs = append(errs, fmt.Errorf("save profile %q: %w", out.Name, err))
		}
	}
	if out.SeccompOut != "" {
		errs = append(errs, writeSeccomp(p, out))
	}
	return errors.Join(errs...)
}

func writeSeccomp(p *profiles.Profile, out outputs) error {
	// Checked again: the directories may have changed since the hook ran.
	if err := confine(out.SeccompOut, out.AllowDirs); err != nil {
		return err
	}
	sc, _, err := generator.Seccomp(p, generator.SeccompOptions{})
	if err != nil {
		return fmt.Errorf("generate seccomp for %s: %w", out.SeccompOut, err)
	}
	if out.SeccompIn != "" {
		if err := confine(out.SeccompIn, out.AllowDirs); err != nil {
			return err
		}
		in, err := readSeccomp(out.SeccompIn)
		if err != nil {
			return err
		}
		unionSeccomp(sc, in)
	}
	data, err := generator.MarshalSeccomp(sc)
	if err != nil {
		return err
	}
	return profiles.WriteFileAtomic(out.SeccompOut, data, 0o644)
}

// readSeccomp reads an OCI (or Docker) seccomp JSON.
func readSeccomp(path string) (*specs.LinuxSeccomp, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read seccomp profile: %w", err)
	}
	var sc specs.LinuxSeccomp
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("parse seccomp profile %s: %w", path, err)
	}
	return &sc, nil
}

// unionSeccomp adds what in allows to sc: oci-seccomp-bpf-hook's "if:"
// semantics (the learned syscalls unioned with the input profile).
func unionSeccomp(sc, in *specs.LinuxSeccomp) {
	for _, a := range in.Architectures {
		if !slices.Contains(sc.Architectures, a) {
			sc.Architectures = append(sc.Architectures, a)
		}
	}
	for _, r := range in.Syscalls {
		if r.Action == specs.ActAllow {
			sc.Syscalls = append(sc.Syscalls, r)
		}
	}
}
