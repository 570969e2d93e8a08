package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/bpf"
	"github.com/tailor-dev/tailor/internal/ocitest"
)

// ensureCrun makes crun 1.8 work on a hybrid cgroup host, once per run;
// the cgroup mount it may make is undone when the run ends.
func (e *Env) ensureCrun() error {
	_, err := cached(e, "crun", func() (bool, error) {
		if _, err := exec.LookPath("crun"); err != nil {
			return false, errors.New("crun not found on PATH: run scripts/install-prereqs.sh")
		}
		undo, err := ocitest.PrepareCrun()
		if undo != nil {
			e.atClose(func() {
				if err := undo(); err != nil {
					e.logf("%s", err)
				}
			})
		}
		return err == nil, err
	})
	return err
}

// benchHook is benchmark 3: `RUNTIME run` of /bin/true plain, with the
// tailor hook (tailor-hook, as deployed) and the tracer already running
// (warm), with the hook starting the tracer (cold), and warm with the full
// binary's `tailor hook` in the same rounds.
func (e *Env) benchHook(r *Results) error {
	if _, err := os.Stat(e.hookBinary()); err != nil {
		return fmt.Errorf("the hook binary beside %s: %w (make build puts bin/tailor-hook beside bin/tailor)", e.Tailor, err)
	}
	bb, err := e.busybox()
	if err != nil {
		return err
	}
	t := table{title: "3. Hook latency (`RUNTIME run` of /bin/true, ms)",
		header: []string{"runtime", "plain p50", "plain p95", "warm p50", "cold p50", "added: filter only",
			"added: filter + no-op hook", "added: filter + `tailor version` hook", "added: filter + `tailor-hook -h` hook", "tracer start to ready",
			"added warm p50", "added warm p95", "added warm p50, `tailor hook`",
			"added cold p50", "added cold p95", "added: `tailor learn`, warm p50", "`tailor learn` over the warm hook p50",
			"`tailor learn` after the container's exit p50"}}
	if err := e.bpfLoadTime(r, &t); err != nil {
		r.fail("hook/bpf-load", err)
	}
	for _, rt := range []string{"runc", "crun"} {
		if rt == "crun" {
			if err := e.ensureCrun(); err != nil {
				r.fail("hook/crun", err)
				continue
			}
		}
		if err := e.hookLatency(r, &t, rt, bb); err != nil {
			r.fail("hook/"+rt, err)
		}
	}
	t.notes = append([]string{"Added latency is taken per round (hooked minus plain, same round), then its p50 and p95. " +
		"The hooked config is what `tailor learn` runs: the createRuntime hook plus the allow-all learning " +
		"filter. Cold: no tracer runs; the hook starts one and waits for it to load its BPF programs. " +
		"\"filter only\", \"filter + no-op hook\" (/bin/true as the createRuntime hook), \"filter + `tailor " +
		"version` hook\" (the tailor binary's start-up) and \"filter + `tailor-hook -h`\" (the hook binary's) split the " +
		"added time; warm and cold run tailor-hook, as hooks.d does; \"`tailor hook`\" is the warm case with the full " +
		"binary's hook command instead, in the same rounds; \"tracer start to ready\" is " +
		"the tracer a hook starts (tailor-tracer) from exec to accepting connections (p50). A cold start slower than 10 s is measured in 3 " +
		"rounds only. \"`tailor learn`\" is `tailor learn --runtime RUNTIME` of the plain bundle with its tracer " +
		"started beforehand, minus the plain run; \"over the warm hook\" is learn minus the warm hooked run, same " +
		"round: tailor learn's own start, its working bundle, and the wait for the profile after the container exits. " +
		"\"After the container's exit\" is, in the same rounds and against the same tracer, a `tailor learn` of `/storm stamp` " +
		"(prints the wall clock and exits): from that stamp to the end of the learn process (the runtime's own " +
		"clean-up, the tracer's drain and write, the reply, learn's exit)."}, t.notes...)
	r.addTable(t)
	return nil
}

// warmRun starts a tracer in dir, then runs the hooked bundle b, and
// waits for the profile at out; "tracer-ready-ms" is the tracer's start.
func (e *Env) warmRun(rt, b, dir, out string) (map[string]float64, error) {
	t0 := time.Now()
	tr, err := e.startTracer(dir)
	if err != nil {
		return nil, err
	}
	ready := float64(time.Since(t0).Microseconds()) / 1000
	defer tr.stop()
	os.Remove(out)
	_, d, err := e.runContainer(rt, b)
	v := map[string]float64{"ms": float64(d.Microseconds()) / 1000, "tracer-ready-ms": ready}
	if err == nil {
		_, err = ocitest.WaitFile(out, profileTimeout)
	}
	return v, err
}

// profileTimeout bounds the wait for the tracer to write a round's
// profile, so that one round's learning is over before the next starts.
const profileTimeout = 30 * time.Second

func (e *Env) hookLatency(r *Results, t *table, rt, rootfs string) error {
	warmDir, coldDir := e.tracerDir("hook-warm-"+rt), e.tracerDir("hook-cold-"+rt)
	learnDir, fullDir := e.tracerDir("hook-learn-"+rt), e.tracerDir("hook-full-"+rt)
	warmOut := filepath.Join(e.Work, "hook-"+rt+"-warm.json")
	fullOut := filepath.Join(e.Work, "hook-"+rt+"-full.json")
	learnOut := filepath.Join(e.Work, "hook-"+rt+"-learn.json")
	coldOut := filepath.Join(e.Work, "hook-"+rt+"-cold.json")
	args := []string{"/bin/true"}
	plain, err := e.bundle("true-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args})
	if err != nil {
		return err
	}
	stamp, err := e.bundle("stamp-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: []string{"/storm", "stamp"}})
	if err != nil {
		return err
	}
	warm, err := e.bundle("true-warm-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Rewrite: e.learningHook(warmDir, warmOut)})
	if err != nil {
		return err
	}
	full, err := e.bundle("true-full-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Rewrite: hookRewrite(e.Tailor, []string{"tailor", "hook"}, fullDir, fullOut)})
	if err != nil {
		return err
	}
	cold, err := e.bundle("true-cold-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Rewrite: e.learningHook(coldDir, coldOut)})
	if err != nil {
		return err
	}
	// Where the added time goes: the learning filter alone, and the filter
	// with a hook that does nothing (/bin/true).
	filter, err := e.bundle("true-filter-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Options: []ocitest.Option{ocitest.WithSeccomp(allowAll)}})
	if err != nil {
		return err
	}
	noop, err := e.bundle("true-noop-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Options: []ocitest.Option{ocitest.WithSeccomp(allowAll), ocitest.WithCreateRuntimeHook(specs.Hook{Path: "/bin/true", Args: []string{"true"}})}})
	if err != nil {
		return err
	}
	// The tailor binary's own start-up, in the hook's place.
	startup, err := e.bundle("true-startup-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Options: []ocitest.Option{ocitest.WithSeccomp(allowAll), ocitest.WithCreateRuntimeHook(specs.Hook{Path: e.Tailor, Args: []string{"tailor", "version"}})}})
	if err != nil {
		return err
	}
	leanStartup, err := e.bundle("true-startup-lean-"+rt, ocitest.Config{Rootfs: rootfs, ReadOnly: true, Args: args,
		Options: []ocitest.Option{ocitest.WithSeccomp(allowAll), ocitest.WithCreateRuntimeHook(specs.Hook{Path: e.hookBinary(), Args: []string{"tailor-hook", "-h"}})}})
	if err != nil {
		return err
	}
	start := func(b string) (map[string]float64, error) {
		_, d, err := e.runContainer(rt, b)
		return map[string]float64{"ms": float64(d.Microseconds()) / 1000}, err
	}
	// A cold start that takes more than 10 s (the runtime waiting for the
	// tracer it adopted to exit) is measured three times, not every round.
	slowCold := 0
	conds := []condition{
		{name: "plain", run: func() (map[string]float64, error) { return start(plain) }},
		{name: "filter", run: func() (map[string]float64, error) { return start(filter) }},
		{name: "noop-hook", run: func() (map[string]float64, error) { return start(noop) }},
		{name: "startup-hook", run: func() (map[string]float64, error) { return start(startup) }},
		{name: "startup-lean", run: func() (map[string]float64, error) { return start(leanStartup) }},
		{name: "warm", run: func() (map[string]float64, error) { return e.warmRun(rt, warm, warmDir, warmOut) }},
		{name: "warm-full", run: func() (map[string]float64, error) { return e.warmRun(rt, full, fullDir, fullOut) }},
		{name: "learn", run: func() (map[string]float64, error) {
			tr, err := e.startTracer(learnDir)
			if err != nil {
				return nil, err
			}
			defer tr.stop()
			os.Remove(learnOut)
			_, start, end, err := e.learnTimed(rt, plain, learnDir, learnOut)
			if err != nil {
				return nil, err
			}
			v := map[string]float64{"ms": float64(end.Sub(start).Microseconds()) / 1000}
			os.Remove(learnOut)
			v["after-exit-ms"], err = e.learnAfterExit(rt, stamp, learnDir, learnOut)
			return v, err
		}},
		{name: "cold", done: func() bool { return slowCold >= 3 }, run: func() (map[string]float64, error) {
			if pid, ok := findTracer(coldDir); ok {
				stopPID(pid)
			}
			os.Remove(coldOut)
			v, err := start(cold)
			if v != nil && v["ms"] > 10000 {
				slowCold++
			}
			if err == nil {
				_, err = ocitest.WaitFile(coldOut, profileTimeout)
			}
			// The tracer the hook started; found by its private directory.
			if pid, ok := findTracer(coldDir); ok {
				stopPID(pid)
			}
			return v, err
		}},
	}
	s, err := e.interleave("hook "+rt, pick(e, 20, 3), conds)
	if err != nil {
		return err
	}
	row := []string{rt}
	for _, c := range []string{"plain", "filter", "noop-hook", "startup-hook", "startup-lean", "warm", "warm-full", "cold", "learn"} {
		r.figure("hook/"+rt+"/"+c, "ms", s[c]["ms"])
	}
	ready := r.figure("hook/"+rt+"/tracer_ready", "ms", s["warm"]["tracer-ready-ms"])
	row = append(row, fmt.Sprintf("%.1f", median(s["plain"]["ms"])), fmt.Sprintf("%.1f", quantile(s["plain"]["ms"], 0.95)),
		fmt.Sprintf("%.1f", median(s["warm"]["ms"])), fmt.Sprintf("%.1f", median(s["cold"]["ms"])))
	for _, c := range []string{"filter", "noop-hook", "startup-hook", "startup-lean"} {
		added := make([]float64, 0, len(s[c]["ms"]))
		for i := range s[c]["ms"] {
			added = append(added, s[c]["ms"][i]-s["plain"]["ms"][i])
		}
		row = append(row, fmt.Sprintf("%.1f", r.figure("hook/"+rt+"/added_"+c, "ms", added).Median))
	}
	row = append(row, fmt.Sprintf("%.0f", ready.Median))
	for _, c := range []string{"warm", "cold"} {
		added := make([]float64, 0, len(s[c]["ms"]))
		for i := range s[c]["ms"] {
			added = append(added, s[c]["ms"][i]-s["plain"]["ms"][i])
		}
		f := r.figure("hook/"+rt+"/added_"+c, "ms", added)
		row = append(row, fmt.Sprintf("%.1f", f.Median), fmt.Sprintf("%.1f", f.P95))
		limit := map[string]float64{"warm": 10, "cold": 100}[c]
		r.target(fmt.Sprintf("hook added latency, %s, %s, p50", rt, c), f.Median, limit, "ms")
		if c == "warm" {
			full := make([]float64, 0, len(s["warm-full"]["ms"]))
			for i := range s["warm-full"]["ms"] {
				full = append(full, s["warm-full"]["ms"][i]-s["plain"]["ms"][i])
			}
			row = append(row, fmt.Sprintf("%.1f", r.figure("hook/"+rt+"/added_warm_full", "ms", full).Median))
		}
	}
	var added, over []float64
	for i := range s["learn"]["ms"] {
		added = append(added, s["learn"]["ms"][i]-s["plain"]["ms"][i])
		over = append(over, s["learn"]["ms"][i]-s["warm"]["ms"][i])
	}
	f := r.figure("hook/"+rt+"/added_learn", "ms", added)
	row = append(row, fmt.Sprintf("%.1f", f.Median),
		fmt.Sprintf("%.1f", r.figure("hook/"+rt+"/learn_over_warm", "ms", over).Median),
		fmt.Sprintf("%.1f", r.figure("hook/"+rt+"/learn_after_exit", "ms", s["learn"]["after-exit-ms"]).Median))
	r.target(fmt.Sprintf("tailor learn added wall time vs %s run, warm, p50", rt), f.Median, 30, "ms")
	t.rows = append(t.rows, row)
	return nil
}

// bpfLoadTime times loading and attaching tailor's recorder in this process
// (bpf.Load, then Close): the part of a cold start that is the kernel's
// verifier and attach.
func (e *Env) bpfLoadTime(r *Results, t *table) error {
	var ms []float64
	for range pick(e, 5, 2) {
		t0 := time.Now()
		tr, err := bpf.Load()
		if err != nil {
			return err
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		tr.Close()
	}
	f := r.figure("hook/bpf_load", "ms", ms)
	t.notes = append(t.notes, fmt.Sprintf("Loading and attaching tailor's BPF programs (bpf.Load in the harness): "+
		"p50 %.0f ms of the tracer's start.", f.Median))
	return nil
}

// learnAfterExit runs `tailor learn` of bundle, whose workload prints the
// wall clock as it exits (`storm stamp`), with the tracer in tracerDir
// running, and returns how long after that stamp the learn process ended
// (ms).
func (e *Env) learnAfterExit(rt, bundle, tracerDir, out string) (float64, error) {
	stdout, _, end, err := e.learnTimed(rt, bundle, tracerDir, out)
	if err != nil {
		return 0, err
	}
	var ns int64
	if _, err := fmt.Sscanf(stdout, "stamp %d", &ns); err != nil {
		return 0, fmt.Errorf("storm stamp printed %q: %w", stdout, err)
	}
	return float64(end.Sub(time.Unix(0, ns)).Microseconds()) / 1000, nil
}
