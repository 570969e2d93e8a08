package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tailor-dev/tailor/internal/ocitest"
)

// benchFootprint is benchmark 6: the tracer's resident memory and the
// memory of its BPF maps with 1 and 50 containers registered.
func (e *Env) benchFootprint(r *Results) error {
	bb, err := e.busybox()
	if err != nil {
		return err
	}
	tdir := e.tracerDir("footprint")
	levels := []int{0, 1, 50}
	// Each container does a little work (first sightings for the tracer
	// to hold) and then sleeps while registered.
	script := "ls -l / >/dev/null; cat /etc/passwd | wc -l >/dev/null; id >/dev/null; exec sleep 3600"
	bundles := make([]string, levels[len(levels)-1])
	for i := range bundles {
		out := filepath.Join(e.Work, "footprint-profiles", fmt.Sprintf("%d.json", i))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		bundles[i], err = e.bundle(fmt.Sprintf("footprint-%d", i), ocitest.Config{Rootfs: bb, ReadOnly: true,
			Args: []string{"/bin/sh", "-c", script}, Rewrite: e.learningHook(tdir, out)})
		if err != nil {
			return err
		}
	}
	tr, err := e.startTracer(tdir)
	if err != nil {
		return err
	}
	defer tr.stop()
	var ids []string
	defer func() { stopContainers("runc", ids) }()
	t := table{title: "6. Footprint (the `tailor tracer` process)",
		header: []string{"containers registered", "tracer VmRSS (MB)", "BPF maps (MB, memlock)", "BPF maps"}}
	for _, n := range levels {
		for len(ids) < n {
			id, err := e.startDetached("runc", bundles[len(ids)])
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		time.Sleep(pick(e, 2*time.Second, 500*time.Millisecond)) // the containers' scripts run
		rss, err := rssBytes(tr.pid())
		if err != nil {
			return fmt.Errorf("tracer RSS: %w", err)
		}
		maps, nmaps, err := bpfMapBytes(tr.pid())
		if err != nil {
			return fmt.Errorf("tracer BPF maps: %w", err)
		}
		r.value(fmt.Sprintf("footprint/rss_%d", n), "bytes", rss)
		r.value(fmt.Sprintf("footprint/bpf_maps_%d", n), "bytes", maps)
		t.rows = append(t.rows, []string{fmt.Sprint(n), fmt.Sprintf("%.1f", rss/1e6), fmt.Sprintf("%.1f", maps/1e6), fmt.Sprint(nmaps)})
		if n == levels[len(levels)-1] {
			r.target(fmt.Sprintf("tracer RSS with %d containers", n), rss/1e6, 30, "MB")
		}
	}
	t.notes = []string{"VmRSS from /proc/PID/status; BPF map memory is the sum of memlock over the map file " +
		"descriptors the tracer holds (/proc/PID/fdinfo): the kernel side, preallocated, charged to the memory cgroup."}
	r.addTable(t)
	return nil
}
