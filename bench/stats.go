package bench

import (
	"math"
	"sort"
)

// median returns the median of xs (NaN when empty).
func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile returns the q-quantile of xs by linear interpolation between
// closest ranks (NaN when empty).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// pairedRatio is the median of a[i]/b[i] over the rounds both have: rounds
// are interleaved, so each pair was taken close together in time and drift
// between rounds cancels out.
func pairedRatio(a, b []float64) float64 {
	var r []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if b[i] > 0 && !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			r = append(r, a[i]/b[i])
		}
	}
	return median(r)
}

// samples holds, per condition and metric, one value per round.
type samples map[string]map[string][]float64

func (s samples) add(cond, metric string, v float64) {
	if s[cond] == nil {
		s[cond] = map[string][]float64{}
	}
	s[cond][metric] = append(s[cond][metric], v)
}

// rotation returns the order in which round r runs n conditions: rotated
// every round, so that no condition always runs first or after the same
// neighbour.
func rotation(n, r int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (i + r) % n
	}
	if r%2 == 1 {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	return order
}
