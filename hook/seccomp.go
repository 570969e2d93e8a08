package hook

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/jsondoc"
)

// ParseSeccomp decodes an OCI (or Docker) seccomp JSON input and checks
// its architectures against the host's: rules for an ABI this host cannot
// run would be dead, and a typo would silently drop a whole ABI.
func ParseSeccomp(name string, data []byte) (*specs.LinuxSeccomp, error) {
	var sc specs.LinuxSeccomp
	// Limits, duplicate keys and case variants ("Syscalls" after
	// "syscalls" would be read by Go as the last one, by others not).
	if err := jsondoc.CheckKeys(data, &sc); err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("parse seccomp profile %s: %w", name, err)
	}
	host := hostArches()
	for _, a := range sc.Architectures {
		if !slices.Contains(host, a) {
			return nil, fmt.Errorf("seccomp profile %s: architecture %s is not one this host runs (%v): remove it", name, a, host)
		}
	}
	return &sc, nil
}

// hostArches are the seccomp architectures of this host's native ABI and
// the compat ABIs its kernel may run.
func hostArches() []specs.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	}
	return nil
}
