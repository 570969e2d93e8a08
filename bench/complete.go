package bench

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/profiles"
)

// benchComplete is benchmark 5: 8 threads issuing many distinct syscalls
// for a fixed time while being learned; lost records and missing syscalls,
// against the program's own list and against strace -f.
func (e *Env) benchComplete(r *Results) error {
	bb, err := e.busybox()
	if err != nil {
		return err
	}
	secs := pick(e, "10", "2")
	b, err := e.bundle("distinct", ocitest.Config{Rootfs: bb, ReadOnly: true, Args: []string{"/storm", "distinct", "8", secs}})
	if err != nil {
		return err
	}
	tdir := e.tracerDir("complete")
	tr, err := e.startTracer(tdir)
	if err != nil {
		return err
	}
	out := e.profilePath("distinct")
	stdout, err := e.learn("runc", b, tdir, out)
	tr.stop()
	if err != nil {
		return err
	}
	known, calls, err := parseDistinct(stdout)
	if err != nil {
		return err
	}
	p, err := profiles.Load(out)
	if err != nil {
		return fmt.Errorf("learned profile: %w", err)
	}
	learned := setOf(p.SyscallNames(profiles.ABIX8664)...)
	missingKnown := minus(setOf(known...), learned)

	trace := filepath.Join(e.Work, "distinct.strace")
	sout, err := e.straceContainer(b, trace)
	if err != nil {
		return fmt.Errorf("strace -f of the same container: %w", err)
	}
	_, straceCalls, err := parseDistinct(sout)
	if err != nil {
		return err
	}
	straced, err := straceNames(readString(trace), "/storm")
	if err != nil {
		return err
	}
	missingStrace := minus(straced, learned)
	extra := minus(learned, straced)
	lost := float64(p.Loss.Events + p.Loss.Tasks + p.Loss.ArgValues + uint64(len(p.Loss.Reasons)))

	r.value("complete/calls_learning", "syscalls", calls)
	r.value("complete/calls_strace", "syscalls", straceCalls)
	r.value("complete/lost_records", "records", lost)
	r.value("complete/missing_vs_known", "syscalls", float64(len(missingKnown)))
	r.value("complete/missing_vs_strace", "syscalls", float64(len(missingStrace)))
	r.detail("complete", map[string]any{
		"known": len(known), "learned": len(learned), "straced": len(straced),
		"missingVsKnown": missingKnown, "missingVsStrace": missingStrace, "learnedNotStraced": extra,
		"loss": p.Loss, "complete": p.Complete,
	})
	r.target("lost records (8 threads, distinct syscalls)", lost, 0, "records")
	r.target("syscalls missing vs the program's own list", float64(len(missingKnown)), 0, "syscalls")
	r.target("syscalls missing vs strace -f", float64(len(missingStrace)), 0, "syscalls")
	r.addTable(table{
		title: "5. Completeness under load (8 threads, " + secs + " s of distinct syscalls)",
		header: []string{"", "syscalls issued", "distinct names", "lost records", "missing vs program's list",
			"missing vs strace -f"},
		rows: [][]string{
			{"learning", trim(calls), strconv.Itoa(len(learned)), trim(lost), strconv.Itoa(len(missingKnown)),
				strconv.Itoa(len(missingStrace))},
			{"strace -f", trim(straceCalls), strconv.Itoa(len(straced)), "", "", ""},
		},
		notes: []string{fmt.Sprintf("The program calls %d distinct syscalls in a loop from each thread and forks now "+
			"and then. strace -f runs the same container (counted from the program's execve). Learned, not in "+
			"strace: %s. Missing vs the list: %s. Missing vs strace: %s.",
			len(known), listOrNone(extra), listOrNone(missingKnown), listOrNone(missingStrace))},
	})
	return nil
}

// parseDistinct reads the storm's "known ..." and "calls N" lines.
func parseDistinct(out string) ([]string, float64, error) {
	var known []string
	calls := -1.0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "known":
			known = f[1:]
		case len(f) == 2 && f[0] == "calls":
			calls, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if len(known) == 0 || calls < 0 {
		return nil, 0, fmt.Errorf("no known/calls lines in the storm's output:\n%s", tail(out))
	}
	return known, calls, nil
}

var straceLine = regexp.MustCompile(`^\d+\s+([a-z_0-9]+)\(`)

// straceNames returns the syscalls an strace -f log shows from the first
// execve of exe on (before it, the runtime's init was running).
func straceNames(log, exe string) (map[string]bool, error) {
	names := map[string]bool{}
	started := false
	for _, line := range strings.Split(log, "\n") {
		if !started {
			started = strings.Contains(line, `execve("`+exe+`"`)
			if !started {
				continue
			}
		}
		if m := straceLine.FindStringSubmatch(line); m != nil {
			names[m[1]] = true
		} else if _, after, ok := strings.Cut(line, "<... "); ok {
			if name, _, ok := strings.Cut(after, " resumed>"); ok {
				names[name] = true
			}
		}
	}
	if !started {
		return nil, fmt.Errorf("strace log has no execve of %s", exe)
	}
	return names, nil
}

func setOf(names ...string) map[string]bool {
	s := map[string]bool{}
	for _, n := range names {
		s[n] = true
	}
	return s
}

// minus returns the sorted members of a not in b.
func minus(a, b map[string]bool) []string {
	out := []string{}
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
