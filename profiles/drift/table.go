package drift

import (
	"fmt"
	"sort"
	"strings"
)

// RiskTable renders the curated grades as Markdown tables (for
// docs/drift.md): syscalls, capabilities, then what a container touches.
func RiskTable() string {
	var b strings.Builder
	b.WriteString("| Syscall | Risk | Why | Grade from |\n| --- | --- | --- | --- |\n")
	for _, name := range sortedByRisk(syscallGrades) {
		g := syscallGrades[name]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, g.Risk, mdCell(g.Why), mdCell(g.Source))
	}
	b.WriteString("\n| Capability | Risk | Why | Grade from |\n| --- | --- | --- | --- |\n")
	for _, name := range sortedByRisk(capabilityGrades) {
		g := capabilityGrades[name]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, g.Risk, mdCell(g.Why), mdCell(g.Source))
	}
	b.WriteString("\n")
	b.WriteString(touchTable())
	return b.String()
}

func sortedByRisk(m map[string]Grade) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := m[names[i]], m[names[j]]
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		return names[i] < names[j]
	})
	return names
}
