package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// enforceOps are the syscalls the enforcement benchmark times: one without
// an argument rule (getppid) and ones with (socket, clone), plus a real
// fork for scale.
var enforceOps = []string{"getppid", "socket", "clone", "fork"}

// dockerDefault returns Docker's default seccomp profile for a container
// with caps, as the OCI linux.seccomp document Docker hands the runtime.
func dockerDefault(caps []string) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	sc, err := mobyseccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("docker default seccomp profile: %w", err)
	}
	return sc, nil
}

// generated learns a bundle and returns `tailor generate --format seccomp`
// of its profile (kept at profilePath(name)).
func (e *Env) generated(name, bundle string) (*specs.LinuxSeccomp, error) {
	tdir := e.tracerDir("learn-" + name)
	t, err := e.startTracer(tdir)
	if err != nil {
		return nil, err
	}
	out := e.profilePath(name)
	_, err = e.learn("runc", bundle, tdir, out)
	t.stop()
	if err != nil {
		return nil, err
	}
	sc := filepath.Join(e.Work, "profiles", name+".seccomp.json")
	if _, err := run(nil, e.Tailor, "generate", "--format", "seccomp", "-o", sc, out); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(sc)
	if err != nil {
		return nil, err
	}
	var filter specs.LinuxSeccomp
	if err := json.Unmarshal(data, &filter); err != nil {
		return nil, fmt.Errorf("tailor generate --format seccomp: %s: %w", sc, err)
	}
	return &filter, nil
}

// enforceArgs runs the enforcement ops: n getppid, n/2 socket and clone,
// forks fork.
func enforceArgs(n, forks, rounds int) []string {
	return append(append([]string{"/storm"}, pinArgs()...), "ops", fmt.Sprint(rounds), fmt.Sprintf("getppid:%d", n),
		fmt.Sprintf("socket:%d", n/2), fmt.Sprintf("clone:%d", n/2), fmt.Sprintf("fork:%d", forks))
}

// stormLearnBundle is the storm doing every enforcement op briefly: what
// its profile is learned from.
func (e *Env) stormLearnBundle() (string, error) {
	bb, err := e.busybox()
	if err != nil {
		return "", err
	}
	return e.bundle("enforce-learn", ocitest.Config{Rootfs: bb, ReadOnly: true, Args: enforceArgs(2000, 20, 1)})
}

// benchEnforce is benchmark 4: per-syscall cost under the generated
// profile, Docker's default and no seccomp.
func (e *Env) benchEnforce(r *Results) error {
	bb, err := e.busybox()
	if err != nil {
		return err
	}
	n := pick(e, 400000, 100000)
	learnB, err := e.stormLearnBundle()
	if err != nil {
		return err
	}
	gen, err := e.generated("storm", learnB)
	if err != nil {
		return fmt.Errorf("learn and generate the storm's profile: %w", err)
	}
	// Docker's profile for the capabilities the bundles have: runc spec's.
	base, err := ocitest.RuncSpec()
	if err != nil {
		return err
	}
	docker, err := dockerDefault(base.Process.Capabilities.Bounding)
	if err != nil {
		return err
	}
	rounds := pick(e, 5, 1)
	bundles := map[string]string{}
	for _, c := range []struct {
		name   string
		filter *specs.LinuxSeccomp
	}{{"none", nil}, {"docker", docker}, {"generated", gen}} {
		config := ocitest.Config{Rootfs: bb, ReadOnly: true, Args: enforceArgs(n, pick(e, 300, 100), rounds)}
		if c.filter != nil {
			config.Options = []ocitest.Option{ocitest.WithSeccomp(c.filter)}
		}
		if bundles[c.name], err = e.bundle("enforce-"+c.name, config); err != nil {
			return err
		}
	}
	// A profile that breaks the workload now and then is a finding, not
	// noise: failed starts are counted and the run retried.
	failed := map[string][]string{}
	var conds []condition
	for _, c := range []string{"none", "docker", "generated"} {
		b := bundles[c]
		conds = append(conds, condition{name: c, run: func() (map[string]float64, error) {
			for attempt := 1; ; attempt++ {
				o, _, err := e.runContainer("runc", b)
				if err == nil {
					return parseResults(o)
				}
				failed[c] = append(failed[c], firstLineOf(err.Error()))
				if attempt == 3 {
					return nil, err
				}
			}
		}})
	}
	s, err := e.interleave("enforce", pick(e, 9, 2), conds)
	for _, c := range []string{"none", "docker", "generated"} {
		r.value("enforce/failed_starts/"+c, "starts", float64(len(failed[c])))
	}
	r.detail("enforce/failed_starts", failed)
	if err != nil {
		return err
	}
	r.record("enforce", "ns/op", s)
	gd := r.ratios("enforce", s, "generated", "docker")
	gn := r.ratios("enforce", s, "generated", "none")
	dn := r.ratios("enforce", s, "docker", "none")
	t := table{title: "4. Enforcement cost (storm in runc under each filter, CPU ns/op, medians)",
		header: []string{"syscall", "no seccomp", "Docker default", "generated", "generated/Docker", "generated/none",
			"Docker/none", "generated/Docker (wall)"}}
	for _, op := range enforceOps {
		row := []string{op}
		for _, c := range []string{"none", "docker", "generated"} {
			row = append(row, trim(median(s[c][op])))
		}
		row = append(row, fx(gd[op]), fx(gn[op]), fx(dn[op]), fx(gd[op+"/wall"]))
		t.rows = append(t.rows, row)
		r.target("generated profile vs Docker default ("+op+")", gd[op], 1.0, "x")
	}
	t.notes = []string{fmt.Sprintf("Docker default: github.com/moby/profiles/seccomp GetDefaultProfile for amd64 and the "+
		"bundle's capabilities (%d rules). generated: `tailor generate --format seccomp` of a learning run of the "+
		"same program. socket and clone use invalid flags the kernel rejects with EINVAL right after the filter "+
		"allowed the call (the storm checks it), so their figure is syscall entry plus the filter; fork is a real "+
		"fork, exit and wait (CPU time of parent and child).", len(docker.Syscalls)),
		fmt.Sprintf("Container starts that failed and were retried: none %d, Docker %d, generated %d%s.",
			len(failed["none"]), len(failed["docker"]), len(failed["generated"]), failedNote(failed["generated"]))}
	r.addTable(t)
	return nil
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func failedNote(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return " (" + errs[0] + ")"
}
