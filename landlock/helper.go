package landlock

import (
	"errors"
	"fmt"
	"slices"
)

// Where tailor apply puts the helper and its configuration in the
// container: /dev is the runtime's own tmpfs in every runtime, so the
// bind mounts need no change to the image, and nothing in the image can
// sit there before the runtime creates the mount points.
const (
	HelperPath = "/dev/.tailor-landlock"
	ConfigPath = "/dev/.tailor-landlock.json"
)

// MaxConfig bounds the helper's configuration file.
const MaxConfig = 16 << 20

// MaxSeccompInsns is the kernel's BPF_MAXINSNS: the longest classic BPF
// program seccomp loads.
const MaxSeccompInsns = 4096

// HelperConfig is what the helper reads before it execs the workload.
type HelperConfig struct {
	Ruleset *Ruleset `json:"ruleset"`
	// Strict refuses to run the workload when the kernel's Landlock ABI
	// lacks something the ruleset handles; otherwise the helper enforces
	// what the kernel supports and says what it dropped.
	Strict bool `json:"strict"`
	// Seccomp is the workload's seccomp filter as classic BPF (struct
	// sock_filter entries, native byte order), which the helper loads
	// after Landlock, last before execve, so that its own syscalls need
	// not be in the workload's profile. Empty: no filter.
	Seccomp []byte `json:"seccomp,omitempty"`
}

// ParseHelperConfig reads and checks a helper configuration.
func ParseHelperConfig(data []byte) (*HelperConfig, error) {
	if len(data) > MaxConfig {
		return nil, fmt.Errorf("helper configuration of %d bytes: at most %d", len(data), MaxConfig)
	}
	var c HelperConfig
	if err := strictDecode(data, &c); err != nil {
		return nil, fmt.Errorf("helper configuration: %w", err)
	}
	if c.Ruleset == nil {
		return nil, errors.New("helper configuration: no ruleset")
	}
	if err := c.Ruleset.Validate(); err != nil {
		return nil, fmt.Errorf("helper configuration: ruleset: %w", err)
	}
	if n := len(c.Seccomp); n%8 != 0 || n/8 > MaxSeccompInsns {
		return nil, fmt.Errorf("helper configuration: seccomp program of %d bytes: want whole 8-byte instructions, at most %d", n, MaxSeccompInsns)
	}
	return &c, nil
}

// HelperArgs is the process.args that runs args through the helper.
func HelperArgs(args []string) []string {
	return slices.Concat([]string{HelperPath, "--config", ConfigPath, "--"}, args)
}

// ParseHelperArgs undoes HelperArgs: the configuration path and the
// workload's own arguments. ok is false when argv is not a helper's.
func ParseHelperArgs(argv []string) (config string, args []string, ok bool) {
	if len(argv) < 5 || argv[0] != HelperPath || argv[1] != "--config" || argv[3] != "--" {
		return "", nil, false
	}
	return argv[2], argv[4:], true
}
