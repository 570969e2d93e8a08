package bench

import (
	"fmt"
	"strings"
	"time"
)

// benchmark is one numbered item of issue 5.
type benchmark struct {
	name string
	run  func(*Env, *Results) error
}

// benchmarks run in this order: the later ones reuse images the earlier
// ones built.
var benchmarks = []benchmark{
	{"container-storm", (*Env).benchContainerStorm},
	{"host-storm", (*Env).benchHostStorm},
	{"workloads", (*Env).benchWorkloads},
	{"hook", (*Env).benchHook},
	{"enforce", (*Env).benchEnforce},
	{"complete", (*Env).benchComplete},
	{"footprint", (*Env).benchFootprint},
	{"surface", (*Env).benchSurface},
	{"landlock", (*Env).benchLandlock},
}

// Names lists the benchmarks Options.Only may name.
func Names() []string {
	var names []string
	for _, b := range benchmarks {
		names = append(names, b.name)
	}
	return names
}

// Run runs the selected benchmarks; a failing benchmark is recorded in
// Results.Errors and the others still run.
func (e *Env) Run() (*Results, error) {
	for _, name := range e.Only {
		if !contains(Names(), name) {
			return nil, fmt.Errorf("no benchmark %q (have %s)", name, strings.Join(Names(), ", "))
		}
	}
	start := time.Now()
	r := &Results{Meta: e.meta()}
	for _, b := range benchmarks {
		if len(e.Only) > 0 && !contains(e.Only, b.name) {
			continue
		}
		e.logf("%s: start", b.name)
		t0 := time.Now()
		if err := b.run(e, r); err != nil {
			e.logf("%s: %v", b.name, err)
			r.fail(b.name, err)
		}
		e.logf("%s: done in %s", b.name, time.Since(t0).Round(time.Second))
	}
	e.finishMeta(&r.Meta, start)
	return r, nil
}
