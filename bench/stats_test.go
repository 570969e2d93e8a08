package bench

import (
	"math"
	"reflect"
	"testing"
)

// These test the harness's arithmetic and parsing; they time nothing.

func TestQuantile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"median odd", []float64{3, 1, 2}, 0.5, 2},
		{"median even", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"p95 interpolates", []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.95, 95},
		{"single", []float64{7}, 0.95, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.xs, tt.q); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("quantile(%v, %v) = %v, want %v", tt.xs, tt.q, got, tt.want)
			}
		})
	}
	if !math.IsNaN(median(nil)) {
		t.Fatal("median of nothing is not NaN")
	}
}

func TestPairedRatio(t *testing.T) {
	// Drift between rounds cancels: each round's pair has ratio 1.1.
	a := []float64{110, 220, 330}
	b := []float64{100, 200, 300}
	if got := pairedRatio(a, b); math.Abs(got-1.1) > 1e-9 {
		t.Fatalf("pairedRatio = %v, want 1.1", got)
	}
}

func TestRotation(t *testing.T) {
	first := map[int]bool{}
	for r := 0; r < 3; r++ {
		o := rotation(3, r)
		seen := map[int]bool{}
		for _, i := range o {
			seen[i] = true
		}
		if len(seen) != 3 {
			t.Fatalf("round %d: %v is not a permutation", r, o)
		}
		first[o[0]] = true
	}
	if len(first) < 2 {
		t.Fatal("the same condition always runs first")
	}
}

func TestParseResults(t *testing.T) {
	got, err := parseResults("result getppid 300 400\nresult pipe 900 950\nresult getppid 310 410\n" +
		"result getppid 290 390\nnoise\nresult redis 25000\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"getppid": 300, "getppid/wall": 400, "pipe": 900, "pipe/wall": 950, "redis": 25000}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := parseResults("storm: bad op\n"); err == nil {
		t.Fatal("no error without results")
	}
}

func TestStraceNames(t *testing.T) {
	log := `12 read(3, "", 1) = 0
12 execve("/storm", ["/storm"], 0x7ff /* 2 vars */) = 0
12 brk(NULL) = 0x1000
13 getppid( <unfinished ...>
12 --- SIGCHLD {si_signo=SIGCHLD} ---
13 <... getppid resumed>) = 1
14 <... wait4 resumed>, NULL) = 13
12 +++ exited with 0 +++
`
	got, err := straceNames(log, "/storm")
	if err != nil {
		t.Fatal(err)
	}
	want := setOf("execve", "brk", "getppid", "wait4")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v (read ran before the execve)", got, want)
	}
}

// TestTracerDir: the bench finds a tracer by either binary's command line.
func TestTracerDir(t *testing.T) {
	for _, tc := range []struct {
		args []string
		dir  string
		ok   bool
	}{
		{[]string{"/usr/local/bin/tailor-tracer", "--tracer-dir", "/run/x"}, "/run/x", true},
		{[]string{"bin/tailor", "tracer", "--tracer-dir", "/run/y", "--idle", "1s"}, "/run/y", true},
		{[]string{"bin/tailor", "tracer"}, "", true},
		{[]string{"bin/tailor", "learn", "--tracer-dir", "/run/z"}, "", false},
		{[]string{"/usr/bin/strace", "tracer"}, "", false},
		{nil, "", false},
	} {
		if dir, ok := tracerDir(tc.args); dir != tc.dir || ok != tc.ok {
			t.Errorf("tracerDir(%q) = %q, %v; want %q, %v", tc.args, dir, ok, tc.dir, tc.ok)
		}
	}
}
