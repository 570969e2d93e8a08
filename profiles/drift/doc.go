// Package drift compares two profiles: what CURRENT needs beyond BASELINE
// and what it no longer needs, each addition graded by risk.
package drift
