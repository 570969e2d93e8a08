package bench

import (
	"fmt"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// landlockStorm opens /etc/passwd n times from busybox sh (a redirect of
// the builtin ':' forks nothing): the file_open hook Landlock adds is
// on every iteration.
func landlockStorm(n int) []string {
	return []string{"/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do : < /etc/passwd; i=$((i+1)); done; echo storm done", n)}
}

// benchLandlock is the Landlock benchmark: the open storm and a container
// start (/bin/true), each learned once and applied with and without
// --landlock, run interleaved. The start difference is what the helper
// adds (a Go program's start, the ruleset, the filter loaded by it).
func (e *Env) benchLandlock(r *Results) error {
	bb, err := e.busybox()
	if err != nil {
		return err
	}
	n := pick(e, 200000, 20000)
	bundles := map[string]string{}
	for _, w := range []struct {
		name        string
		args, learn []string
	}{{"storm", landlockStorm(n), landlockStorm(10)}, {"start", []string{"/bin/true"}, []string{"/bin/true"}}} {
		learnB, err := e.bundle("landlock-learn-"+w.name, ocitest.Config{Rootfs: bb, Args: w.learn})
		if err != nil {
			return err
		}
		profile, err := e.learnedProfile("landlock-"+w.name, learnB)
		if err != nil {
			return err
		}
		for _, mode := range []string{"seccomp", "landlock"} {
			b, err := e.bundle("landlock-"+w.name+"-"+mode, ocitest.Config{Rootfs: bb, Args: w.args})
			if err != nil {
				return err
			}
			args := []string{"apply", "--bundle", b, profile}
			if mode == "landlock" {
				args = append(args, "--landlock")
			}
			if _, err := run(nil, e.Tailor, args...); err != nil {
				return err
			}
			bundles[w.name+"/"+mode] = b
		}
	}
	var conds []condition
	for _, mode := range []string{"seccomp", "landlock"} {
		conds = append(conds, condition{name: mode, run: func() (map[string]float64, error) {
			out := map[string]float64{}
			for _, w := range []string{"storm", "start"} {
				t0 := time.Now()
				if _, _, err := e.runContainer("runc", bundles[w+"/"+mode]); err != nil {
					return nil, err
				}
				out[w+"/wall"] = float64(time.Since(t0).Nanoseconds())
			}
			out["open/wall"] = out["storm/wall"] / float64(n)
			return out, nil
		}})
	}
	s, err := e.interleave("landlock", pick(e, 9, 2), conds)
	if err != nil {
		return err
	}
	r.record("landlock", "ns", s)
	ratio := r.ratios("landlock", s, "landlock", "seccomp")
	start := median(s["landlock"]["start/wall"]) - median(s["seccomp"]["start/wall"])
	r.value("landlock/start_added", "ms", start/1e6)
	r.addTable(table{title: "Landlock (runc; seccomp alone vs seccomp and Landlock through tailor-landlock; wall, medians)",
		header: []string{"measure", "seccomp", "seccomp + Landlock", "ratio"},
		rows: [][]string{
			{fmt.Sprintf("open storm, ns per open (%d opens)", n), trim(median(s["seccomp"]["open/wall"])), trim(median(s["landlock"]["open/wall"])), fx(ratio["open/wall"])},
			{"container start (/bin/true), ms", trim(median(s["seccomp"]["start/wall"]) / 1e6), trim(median(s["landlock"]["start/wall"]) / 1e6), fx(ratio["start/wall"])},
		},
		notes: []string{fmt.Sprintf("the helper adds %.1f ms to a start", start/1e6)}})
	return nil
}

// learnedProfile learns a bundle under runc and returns the profile's
// path.
func (e *Env) learnedProfile(name, bundle string) (string, error) {
	tdir := e.tracerDir("learn-" + name)
	t, err := e.startTracer(tdir)
	if err != nil {
		return "", err
	}
	defer t.stop()
	out := e.profilePath(name)
	_, err = e.learn("runc", bundle, tdir, out)
	return out, err
}
