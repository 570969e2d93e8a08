package generator

import (
	"fmt"
	"strings"
)

// ComplainBundle is what tailor report --bundle says of a bundle whose
// filter hands syscalls to a seccomp agent (complain mode, docs/complain.md).
type ComplainBundle struct {
	// Mode is complain (let through) or report (refused), as the
	// listener's metadata says; Agent is its listenerPath.
	Mode  string `json:"mode"`
	Agent string `json:"agent"`
	// Violations is where the agent records what the profile lacked.
	Violations string `json:"violations"`
	Warning    string `json:"warning"`
}

// NotBoundary is the warning a complain-mode bundle's report carries.
const NotBoundary = "complain mode is NOT a security boundary: every syscall the profile lacks (and the bundle's own " +
	"filter allows) is handed to the seccomp agent"

// InComplainMode marks the report as that of a complain-mode bundle.
func (r *Report) InComplainMode(c ComplainBundle) {
	c.Warning = NotBoundary
	switch c.Mode {
	case "complain":
		c.Warning += " and let through"
	case "report":
		c.Warning += ", refused with the profile's errno by the agent and recorded"
	}
	r.Complain = &c
}

func (c *ComplainBundle) writeText(b *strings.Builder, bold bool) {
	if c == nil {
		return
	}
	line := "WARNING: " + c.Warning
	if bold {
		line = "\x1b[1m" + line + "\x1b[0m"
	}
	b.WriteString(line + "\n")
	fmt.Fprintf(b, "  %-12s %s\n  %-12s %s\n  %-12s %s\n\n", "mode", c.Mode, "agent", c.Agent, "violations", c.Violations)
}
