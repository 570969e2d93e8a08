package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
)

// Results is everything one run measured; it is written as
// bench/results.json.
type Results struct {
	Meta    Meta     `json:"meta"`
	Figures []Figure `json:"figures"`
	Ratios  []Ratio  `json:"ratios"`
	Targets []Target `json:"targets"`
	// Details holds lists that do not fit a number (e.g. which syscalls
	// a learning run missed), by benchmark.
	Details map[string]any `json:"details,omitempty"`
	Errors  []string       `json:"errors,omitempty"`

	mu     sync.Mutex
	tables []table
}

// Figure is one measured quantity over its repetitions.
type Figure struct {
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Median  float64   `json:"median"`
	P95     float64   `json:"p95"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	N       int       `json:"n"`
	Samples []float64 `json:"samples,omitempty"`
}

// Ratio compares two figures of the same run: the median over rounds of
// Of/Over taken in the same round.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Of    string  `json:"of"`
	Over  string  `json:"over"`
}

// Target is one of the targets with what this run measured.
type Target struct {
	What  string  `json:"what"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
	// Missed says by how much, when not met.
	Missed string `json:"missedBy,omitempty"`
}

type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (r *Results) figure(name, unit string, xs []float64) Figure {
	f := Figure{Name: name, Unit: unit, Median: median(xs), P95: quantile(xs, 0.95), N: len(xs), Samples: xs}
	f.Min, f.Max = quantile(xs, 0), quantile(xs, 1)
	r.mu.Lock()
	r.Figures = append(r.Figures, f)
	r.mu.Unlock()
	return f
}

// value records a single-shot figure (a count, a size).
func (r *Results) value(name, unit string, v float64) {
	r.figure(name, unit, []float64{v})
}

func (r *Results) ratio(name, of, over string, v float64) float64 {
	r.mu.Lock()
	r.Ratios = append(r.Ratios, Ratio{Name: name, Value: v, Of: of, Over: over})
	r.mu.Unlock()
	return v
}

// target records whether value stays at or under limit.
func (r *Results) target(what string, value, limit float64, unit string) Target {
	t := Target{What: what, Value: value, Limit: limit, Unit: unit, Met: value <= limit && !math.IsNaN(value)}
	if !t.Met {
		switch {
		case math.IsNaN(value):
			t.Missed = "not measured"
		case unit == "x":
			t.Missed = fmt.Sprintf("%.3fx over %.2fx (%+.1f%%)", value, limit, (value/limit-1)*100)
		default:
			t.Missed = fmt.Sprintf("%s over %s (%+.4g %s)", trim(value), trim(limit), value-limit, unit)
		}
	}
	r.mu.Lock()
	r.Targets = append(r.Targets, t)
	r.mu.Unlock()
	return t
}

func (r *Results) detail(key string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Details == nil {
		r.Details = map[string]any{}
	}
	r.Details[key] = v
}

func (r *Results) fail(bench string, err error) {
	r.mu.Lock()
	r.Errors = append(r.Errors, fmt.Sprintf("%s: %s", bench, err))
	r.mu.Unlock()
}

func (r *Results) addTable(t table) {
	r.mu.Lock()
	r.tables = append(r.tables, t)
	r.mu.Unlock()
}

// JSON returns the results document.
func (r *Results) JSON() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.MarshalIndent(r, "", "  ")
}

// Print writes every table, the targets and the errors as Markdown, which
// reads in a terminal and pastes into BENCHMARKS.md.
func (r *Results) Print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tables {
		fmt.Fprintf(w, "\n### %s\n\n", t.title)
		writeMarkdown(w, t.header, t.rows)
		for _, n := range t.notes {
			fmt.Fprintf(w, "\n%s\n", n)
		}
	}
	fmt.Fprintf(w, "\n### Targets\n\n")
	var rows [][]string
	for _, t := range r.Targets {
		status := "met"
		if !t.Met {
			status = "MISSED: " + t.Missed
		}
		rows = append(rows, []string{t.What, trim(t.Value) + " " + t.Unit, "≤ " + trim(t.Limit) + " " + t.Unit, status})
	}
	writeMarkdown(w, []string{"target", "measured", "limit", "status"}, rows)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n### Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
}

func writeMarkdown(w io.Writer, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len([]rune(h))
	}
	for _, row := range rows {
		for i, c := range row {
			if i < len(width) && len([]rune(c)) > width[i] {
				width[i] = len([]rune(c))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range rows {
		line(row)
	}
}

// trim formats a number with no more digits than it needs.
func trim(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// fx formats a ratio.
func fx(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3fx", v)
}

// record adds a figure per condition and metric of s, named
// prefix/metric/condition ("/wall" metrics keep their suffix last).
func (r *Results) record(prefix, unit string, s samples) {
	for _, c := range sortedKeys(s) {
		for _, m := range sortedKeys(s[c]) {
			base, wall := strings.CutSuffix(m, "/wall")
			name := prefix + "/" + base + "/" + c
			if wall {
				name += "/wall"
			}
			r.figure(name, unit, s[c][m])
		}
	}
}

// ratios records of/over for every metric both conditions have, named
// prefix/metric/of_vs_over, and returns them by metric.
func (r *Results) ratios(prefix string, s samples, of, over string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range sortedKeys(s[of]) {
		if _, ok := s[over][m]; !ok {
			continue
		}
		base, wall := strings.CutSuffix(m, "/wall")
		name := prefix + "/" + base + "/" + of + "_vs_" + over
		if wall {
			name += "/wall"
		}
		out[m] = r.ratio(name, of, over, pairedRatio(s[of][m], s[over][m]))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
