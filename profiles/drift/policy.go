package drift

import (
	"github.com/tailor-dev/tailor/internal/enum"

	"fmt"
)

// FailOn is the policy that decides when a diff is drift (exit code 1).
type FailOn string

// The policies.
const (
	// FailOnAdded fails on any addition: a new syscall, argument value,
	// ABI or capability, whatever its risk.
	FailOnAdded FailOn = "added"
	// FailOnHigh fails on a high-risk addition only.
	FailOnHigh FailOn = "high"
	// FailOnAny fails on any addition or removal: the profiles must match.
	FailOnAny FailOn = "any"
	// FailOnNone never fails: report only.
	FailOnNone FailOn = "none"
)

// Policies lists the policies, for flag help.
var Policies = []FailOn{FailOnAdded, FailOnHigh, FailOnAny, FailOnNone}

// ParseFailOn reads a policy name.
func ParseFailOn(s string) (FailOn, error) {
	return enum.Parse("policy", s, Policies)
}

// Violates reports whether one change, by itself, is drift under f.
func (f FailOn) Violates(c Change, added bool) bool {
	switch f {
	case FailOnAdded:
		return added
	case FailOnHigh:
		return added && c.Risk >= High
	case FailOnAny:
		return true
	}
	return false
}

// Verdict is a report judged by a policy.
type Verdict struct {
	FailOn FailOn `json:"failOn"`
	// Drift is set when a change violates the policy: exit code 1.
	Drift bool `json:"drift"`
	// Violations counts the changes that violate the policy.
	Violations int `json:"violations"`
	// Summary counts violations and changes, for people.
	Summary string `json:"summary"`
}

// Judge applies the policy f to the report.
func (r *Report) Judge(f FailOn) Verdict {
	v := Verdict{FailOn: f}
	high := 0
	for _, c := range r.Added {
		if c.Risk >= High {
			high++
		}
		if f.Violates(c, true) {
			v.Violations++
		}
	}
	for _, c := range r.Removed {
		if f.Violates(c, false) {
			v.Violations++
		}
	}
	v.Drift = v.Violations > 0
	v.Summary = fmt.Sprintf("%s of --fail-on %s; %s (%d high risk), %s", plural(v.Violations, "violation"), f,
		plural(len(r.Added), "addition"), high, plural(len(r.Removed), "removal"))
	return v
}

// Headline is the verdict in one word or two: "drift" or "no drift".
func (v Verdict) Headline() string {
	if v.Drift {
		return "drift"
	}
	return "no drift"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
