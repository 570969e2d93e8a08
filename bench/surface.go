package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// report is the part of `tailor report --format json` the attack-surface
// benchmark reads.
type report struct {
	Complete bool `json:"complete"`
	Tailor   side `json:"tailor"`
	Docker   side `json:"docker"`
}

type side struct {
	Syscalls     []string `json:"syscalls"`
	Conditional  []string `json:"conditional"`
	Capabilities []string `json:"capabilities"`
}

// workloadProfile returns a workload's learned profile, learning it when
// no earlier benchmark did.
func (e *Env) workloadProfile(name string) (string, error) {
	out := e.profilePath(name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	var b string
	var err error
	switch name {
	case "busybox":
		var bb string
		if bb, err = e.busybox(); err == nil {
			b, err = e.bundle("busybox-script", ocitest.Config{Rootfs: bb, ReadOnly: true, Args: []string{"/bin/sh", "-c", ocitest.BusyboxScript},
				Options: []ocitest.Option{ocitest.WithTmpfs("/tmp")}})
		}
	case "redis", "nginx":
		for _, s := range servers {
			if s.name == name {
				b, err = e.serverBundle(s, 100)
			}
		}
	case "storm":
		b, err = e.stormLearnBundle()
	default:
		return "", fmt.Errorf("no workload %q to learn", name)
	}
	if err != nil {
		return "", err
	}
	tdir := e.tracerDir("surface-" + name)
	tr, err := e.startTracer(tdir)
	if err != nil {
		return "", err
	}
	defer tr.stop()
	if _, err := e.learn("runc", b, tdir, out); err != nil {
		return "", err
	}
	return out, nil
}

// benchSurface is benchmark 7: per workload, what the generated filter and
// capability set allow against Docker's default.
func (e *Env) benchSurface(r *Results) error {
	t := table{title: "7. Attack surface (generated profile vs Docker's default, amd64)",
		header: []string{"workload", "syscalls allowed", "Docker allows", "tailor/Docker", "of them argument-restricted",
			"capabilities", "Docker capabilities"}}
	for _, name := range []string{"busybox", "redis", "nginx", "storm"} {
		path, err := e.workloadProfile(name)
		if err != nil {
			r.fail("surface/"+name, err)
			continue
		}
		out, err := run(nil, e.Tailor, "report", "--format", "json", path)
		if err != nil {
			r.fail("surface/"+name, err)
			continue
		}
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			r.fail("surface/"+name, fmt.Errorf("tailor report --format json: %w", err))
			continue
		}
		ts, ds := float64(len(rep.Tailor.Syscalls)), float64(len(rep.Docker.Syscalls))
		r.value("surface/"+name+"/syscalls", "syscalls", ts)
		r.value("surface/"+name+"/docker_syscalls", "syscalls", ds)
		r.value("surface/"+name+"/capabilities", "capabilities", float64(len(rep.Tailor.Capabilities)))
		r.value("surface/"+name+"/docker_capabilities", "capabilities", float64(len(rep.Docker.Capabilities)))
		ratio := r.ratio("surface/"+name+"/syscalls_vs_docker", "tailor", "docker", ts/ds)
		r.detail("surface/"+name, rep)
		t.rows = append(t.rows, []string{name, trim(ts), trim(ds), fx(ratio), strconv.Itoa(len(rep.Tailor.Conditional)),
			strconv.Itoa(len(rep.Tailor.Capabilities)), strconv.Itoa(len(rep.Docker.Capabilities))})
	}
	t.notes = []string{"From `tailor report --format json` of each workload's learned profile: busybox is a shell " +
		"script (files, processes, pipes), redis and nginx the servers of benchmark 3a, storm the program of benchmark 4."}
	r.addTable(t)
	return nil
}
