package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ocitest"
)

// server is a real workload: a server and the storm program as its load
// client in one container; the client reports ns per round trip.
type server struct {
	name   string
	metric string // the client's result name
	script func(n int) string
}

var servers = []server{
	{"redis", "redis", func(n int) string {
		return `redis-server --save '' --appendonly no --bind 127.0.0.1 --port 6379 --daemonize no --loglevel warning &
/storm redis 6379 ` + strconv.Itoa(n) + ` || exit 11
wait || exit 12
`
	}},
	{"nginx", "http", func(n int) string {
		return `nginx -c /etc/nginx/nginx.conf &
/storm http 8080 /index.html ` + strconv.Itoa(n) + ` || exit 11
nginx -s quit || exit 12
wait || exit 13
`
	}},
}

// serverBundle returns the bundle of a server workload doing n round
// trips (Docker's default capabilities: nginx needs CHOWN, SETUID, SETGID).
func (e *Env) serverBundle(s server, n int) (string, error) {
	image, err := e.serverImage(s.name)
	if err != nil {
		return "", err
	}
	return e.bundle(fmt.Sprintf("%s-%d", s.name, n), ocitest.Config{Rootfs: image,
		Args: []string{"/bin/sh", "-c", s.script(n)}, Options: []ocitest.Option{ocitest.WithCaps(generator.DockerDefaultCapabilities()...)}})
}

// benchWorkloads is benchmark 3a: redis and nginx round trips, untraced vs
// learning (and the floor, for reference).
func (e *Env) benchWorkloads(r *Results) error {
	n := pick(e, 20000, 2000)
	tdir := e.tracerDir("workloads")
	t := table{title: "3a. Real workloads (round trips inside the container: container CPU µs per request, requests/s, medians)",
		header: []string{"workload", "untraced", "floor", "learning", "untraced req/s", "learning req/s",
			"learning/untraced", "learning/floor", "learning/untraced (wall)"}}
	for _, s := range servers {
		b, err := e.serverBundle(s, n)
		if err != nil {
			return err
		}
		out := e.profilePath(s.name)
		runIn := func() (map[string]float64, error) {
			o, _, err := e.runContainer("runc", b)
			if err != nil {
				return nil, err
			}
			return parseResults(o)
		}
		conds := []condition{
			{name: "untraced", run: runIn},
			{name: "floor", run: func() (map[string]float64, error) { return withFloor(runIn) }},
			{name: "learning", run: func() (map[string]float64, error) {
				tr, err := e.startTracer(tdir)
				if err != nil {
					return nil, err
				}
				defer tr.stop()
				o, err := e.learn("runc", b, tdir, out)
				if err != nil {
					return nil, err
				}
				return parseResults(o)
			}},
		}
		smp, err := e.interleave(s.name, pick(e, 7, 2), conds)
		if err != nil {
			return err
		}
		r.record("workload", "ns/request", smp)
		m, wall := s.metric, s.metric+"/wall"
		us := func(c, metric string) string { return fmt.Sprintf("%.1f", median(smp[c][metric])/1000) }
		rps := func(c string) string { return fmt.Sprintf("%.0f", 1e9/median(smp[c][wall])) }
		lu := r.ratios("workload", smp, "learning", "untraced")
		lf := r.ratios("workload", smp, "learning", "floor")
		t.rows = append(t.rows, []string{s.name, us("untraced", m), us("floor", m), us("learning", m),
			rps("untraced"), rps("learning"), fx(lu[m]), fx(lf[m]), fx(lu[wall])})
		r.target(s.name+" round trips under learning vs untraced", lu[m], 1.05, "x")
	}
	t.notes = []string{fmt.Sprintf("Each run starts the server and drives %d sequential round trips over one "+
		"loopback connection from a client in the same container (redis: PING; nginx: keep-alive GET of a "+
		"small file); both are traced when learning. The figure is the CPU time of the whole container (its "+
		"cpuacct cgroup: server, client and the tracer's BPF programs running in them) per request; req/s is "+
		"wall time. Container start and the hook are not in the figures.", n)}
	r.addTable(t)
	return nil
}

// profilePath is where a workload's learned profile is kept for the
// attack-surface benchmark.
func (e *Env) profilePath(name string) string {
	dir := filepath.Join(e.Work, "profiles")
	os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, name+".json")
}
