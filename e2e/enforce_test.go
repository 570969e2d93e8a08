package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ocitest"
	"github.com/tailor-dev/tailor/internal/rootfs"
)

// Issue 3, "enforcement proven on real workloads": each workload is learned
// under runc and crun (learnRuns times, merged), its profile applied to a
// fresh copy of its bundle, and then
//   - the enforced container runs enforcedRuns times and does exactly what
//     it does unconfined, with no new permission errors;
//   - in the enforced container, what the workload never did is refused
//     with EPERM: a syscall it never made, a new namespace, a socket family
//     it never used, an operation needing a capability outside its set.
// The attack surface (allowed syscalls and capabilities beside Docker's
// default) is logged as a table; README.md shows it.

const enforcedRuns = 5

// probePath is where the probe binary sits in a probe bundle's rootfs, and
// notMine a file there owned by another user.
const (
	probePath = "/usr/local/bin/tailor-probe"
	notMine   = "/srv/not-mine"
)

var probeOnce once[string]

// probeBinary builds testdata/probe.c once per run: static, without libc,
// so that running it under a learned profile needs nothing but execve,
// write and exit_group besides the syscall it probes.
func probeBinary(t testing.TB) string {
	t.Helper()
	return gccOnce(t, &probeOnce, "tailor-probe", "probe.c", "", "-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-O2")
}

// enforceWorkloads are the workloads enforcement is proven on. All run with
// Docker's default capabilities, as they would under an engine: unconfined,
// the probes' forbidden actions then succeed, so a refusal under the
// profile is tailor's doing.
func enforceWorkloads(t testing.TB) []workload {
	bb := busyboxWorkload(t)
	bb.Caps = generator.DockerDefaultCapabilities()
	return append([]workload{bb}, serverWorkloads(t)...)
}

func TestEnforce(t *testing.T) {
	requireRoot(t)
	tailor := tailorBin(t)
	probe := probeBinary(t)
	var rows []surfaceRow
	for _, w := range enforceWorkloads(t) {
		for _, rt := range runtimes {
			t.Run(w.Name+"/"+rt, func(t *testing.T) {
				profile := learnProfile(t, tailor, probe, rt, w)
				report := tailorReport(t, tailor, profile)
				t.Logf("allowed: %d syscalls %v, capabilities %v", len(report.Tailor.Syscalls), report.Tailor.Syscalls, report.Tailor.Capabilities)
				rows = append(rows, surfaceRow{Workload: w.Name, Runtime: rt, Report: report})
				probes := probesFor(t, w, report)
				t.Run("runs", func(t *testing.T) { checkEnforcedRuns(t, tailor, rt, w, profile, applyProfile, refusalMarks) })
				t.Run("refuses", func(t *testing.T) { checkRefusals(t, tailor, probe, rt, w, profile, probes) })
				t.Run("exec", func(t *testing.T) { checkExec(t, tailor, probe, rt, w, profile, probes, applyProfile) })
			})
		}
	}
	if len(rows) > 0 {
		t.Logf("attack surface, allowed by the learned profile vs Docker's default (tailor report --format json):\n%s", surfaceTable(rows))
	}
}

// learnRuns is how many times each workload is learned; the profiles are
// merged, as a user hardening a container would do (tailor merge): what a
// workload does can depend on timing (a retry's sleep, a connect still in
// progress), and one recording may miss it. The last run also has an exec
// session, as a user who will exec into the container learns it with one:
// the runtime's own exec setup then runs under the container's filter
// (crun sets the session up after loading it), and is learned with it.
const learnRuns = 3

// learnProfile learns the workload learnRuns times, each on a fresh
// bundle, and returns the path of the merged profile.
func learnProfile(t *testing.T, tailor, probeBin, runtime string, w workload) string {
	t.Helper()
	var runs []string
	for i := 0; i < learnRuns; i++ {
		var l *learning
		if i < learnRuns-1 {
			l = startLearn(t, runtime, w.bundle(t))
		} else {
			l = learnWithExec(t, probeBin, runtime, w)
		}
		if res := l.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) {
			t.Fatalf("tailor learn of %s under %s:\n%s", w.Name, runtime, res)
		}
		l.profile(t) // fails the test when the profile is incomplete
		runs = append(runs, l.Out)
	}
	merged := filepath.Join(t.TempDir(), w.Name+".json")
	if res := run(t, nil, tailor, append([]string{"merge", "-o", merged}, runs...)...); res.ExitCode != 0 {
		t.Fatalf("tailor merge:\n%s", res)
	}
	return merged
}

// learnWithExec starts learning the workload held at the exec gate, runs
// one benign exec session in it (the probe printing its usage) and opens
// the gate.
func learnWithExec(t *testing.T, probeBin, runtime string, w workload) *learning {
	t.Helper()
	b := probeBundle(t, w, probeBin, gated(w.Args))
	if err := unix.Mkfifo(filepath.Join(b.Rootfs, execGate), 0o600); err != nil {
		t.Fatal(err)
	}
	l := startLearn(t, runtime, b)
	bin := runtimeBin(t, runtime)
	if !pollRunning(bin, l.ID, nil) {
		t.Fatalf("learning container %s never reported running by %s state:\n%s", l.ID, runtime, l.wait(t))
	}
	if res := run(t, nil, bin, "exec", l.ID, probePath); res.ExitCode != 2 || !strings.Contains(res.Stdout, "usage: probe") {
		t.Fatalf("%s exec %s %s while learning:\n%s", runtime, l.ID, probePath, res)
	}
	openGate(t, nil, filepath.Join(b.Rootfs, execGate))
	return l
}

// gated appends the exec gate to a workload's script.
func gated(args []string) []string {
	args = slices.Clone(args)
	args[len(args)-1] += "\n: < " + execGate + "\necho exec gate passed\n"
	return args
}

// applyProfile runs `tailor apply` on the bundle.
func applyProfile(t testing.TB, tailor string, b *bundle, profile string) {
	t.Helper()
	if res := run(t, nil, tailor, "apply", "--bundle", b.Dir, profile); res.ExitCode != 0 {
		t.Fatalf("tailor apply --bundle %s %s:\n%s", b.Dir, profile, res)
	}
}

// refusalMarks are how a refused syscall shows in a workload's messages:
// EPERM, ENOSYS, SIGSYS.
var refusalMarks = []string{"Operation not permitted", "Function not implemented", "Bad system call"}

// checkEnforcedRuns runs the workload unconfined once, then applied with
// apply enforcedRuns times: every enforced run must end and print like the
// unconfined one, with no refusal (marks) the unconfined run did not have.
func checkEnforcedRuns(t *testing.T, tailor, runtime string, w workload, profile string,
	apply func(testing.TB, string, *bundle, string), marks []string) {
	ref := runContainer(t, runtime, w.bundle(t))
	if ref.ExitCode != 0 || !strings.Contains(ref.Stdout, w.Want) {
		t.Fatalf("%s unconfined under %s:\n%s", w.Name, runtime, ref)
	}
	b := w.bundle(t)
	apply(t, tailor, b, profile)
	for i := 1; i <= enforcedRuns; i++ {
		res := runContainer(t, runtime, b)
		if res.ExitCode != ref.ExitCode || stable(res.Stdout) != stable(ref.Stdout) {
			t.Fatalf("enforced run %d of %s under %s differs from the unconfined run\nenforced: %s\nunconfined: %s", i, w.Name, runtime, res, ref)
		}
		for _, mark := range marks {
			if strings.Count(res.Stdout+res.Stderr, mark) > strings.Count(ref.Stdout+ref.Stderr, mark) {
				t.Fatalf("enforced run %d of %s under %s: %q printed, not there unconfined\nenforced: %s\nunconfined: %s", i, w.Name, runtime, mark, res, ref)
			}
		}
	}
}

var digits = regexp.MustCompile(`[0-9]+`)

// stable is output without what changes from run to run (redis logs
// timestamps and pids): every number becomes N.
func stable(out string) string { return digits.ReplaceAllString(out, "N") }

// probe is one forbidden action: a probe binary mode and, when the action
// needs a capability, which.
type probe struct {
	Mode    string
	Args    []string
	Syscall string
	// Cap is the capability the action needs in the container (the
	// workloads run with Docker's default set, which holds it).
	Cap string
	// Unconfined says whether the action succeeds without tailor; false
	// where it depends on the host or fails anyway (unshare without
	// CAP_SYS_ADMIN).
	Unconfined bool
	// Want is the result expected under the profile (see probesFor).
	Want string
}

func (p probe) command() []string { return append([]string{probePath, p.Mode}, p.Args...) }

// neverMade are syscalls the probe can make that a workload may not have
// made: the first one the profile does not allow is probed.
var neverMade = []probe{
	{Mode: "mkdir", Args: []string{"/tmp/tailor-probe-dir"}, Syscall: "mkdir", Unconfined: true},
	{Mode: "symlink", Args: []string{"/tmp/tailor-probe-link"}, Syscall: "symlink", Unconfined: true},
}

var refusals = []probe{
	// CLONE_NEWNS needs CAP_SYS_ADMIN, which no workload here has: this
	// fails unconfined too.
	{Mode: "unshare-newns", Syscall: "unshare"},
	// A user namespace needs no capability: only the clone rule refuses
	// it (unconfined it depends on the host's user.max_user_namespaces).
	{Mode: "clone-newuser", Syscall: "clone"},
	{Mode: "socket-packet", Syscall: "socket", Cap: "CAP_NET_RAW", Unconfined: true},
	// open with O_NOATIME before chown: once chowned, the file is ours.
	{Mode: "open-noatime", Args: []string{notMine}, Syscall: "openat", Cap: "CAP_FOWNER", Unconfined: true},
	{Mode: "chown", Args: []string{notMine}, Syscall: "chown", Cap: "CAP_CHOWN", Unconfined: true},
}

// probesFor picks the probes for a learned profile and what each must
// give under it: EPERM (errno 1), except an action the workload does
// itself (nginx chowns its temporary directories, so chown is allowed and
// CAP_CHOWN granted). At least one probe must be refused by the
// capability set alone: its syscall allowed without conditions, its
// capability not granted.
func probesFor(t *testing.T, w workload, report *generator.Report) []probe {
	t.Helper()
	allowed := setOf(report.Tailor.Syscalls...)
	conditional := setOf(report.Tailor.Conditional...)
	caps := setOf(report.Tailor.Capabilities...)
	var probes []probe
	for _, p := range neverMade {
		if !allowed[p.Syscall] {
			probes = append(probes, p)
			break
		}
	}
	if len(probes) == 0 {
		t.Errorf("%s made every syscall in neverMade: add one it never makes", w.Name)
	}
	probes = append(probes, refusals...)
	byCaps := false
	for i, p := range probes {
		plain := allowed[p.Syscall] && !conditional[p.Syscall]
		probes[i].Want = "errno 1"
		switch {
		case p.Cap != "" && plain && caps[p.Cap]:
			probes[i].Want = "ok"
		case p.Cap != "" && plain:
			byCaps = true
			t.Logf("%s: %s is allowed, %s is not granted: the capability set refuses it", p.Mode, p.Syscall, p.Cap)
		}
	}
	if !byCaps {
		t.Errorf("no probe is refused by the capability set alone (allowed %v, capabilities %v)", report.Tailor.Syscalls, report.Tailor.Capabilities)
	}
	return probes
}

// probeLine matches the probe's report: "MODE: ok" or "MODE: errno N".
var probeLine = regexp.MustCompile(`(?m)^([a-z-]+): (ok|errno \d+)$`)

// checkRefusals appends the probes to the workload (after it did its work)
// and runs that unconfined and under the learned profile: under the
// profile every probe gives what probesFor expects, and busybox
// `unshare -m` fails with "Operation not permitted".
func checkRefusals(t *testing.T, tailor, probeBin, runtime string, w workload, profile string, probes []probe) {
	var steps strings.Builder
	for _, p := range probes {
		steps.WriteString(strings.Join(p.command(), " ") + "\n")
	}
	// The same refusal through a tool a user would reach for.
	steps.WriteString("unshare -m true 2>&1 || echo \"busybox unshare: exit $?\"\n")
	steps.WriteString("echo probes done\n")
	args := slices.Clone(w.Args)
	args[len(args)-1] += "\n" + steps.String()

	plain := probeBundle(t, w, probeBin, args)
	unconfined := parseProbes(checkRun(t, runtime, w, plain, "probes done"))
	b := probeBundle(t, w, probeBin, args)
	applyProfile(t, tailor, b, profile)
	res := checkRun(t, runtime, w, b, "probes done")
	enforced := parseProbes(res)
	for _, p := range probes {
		got, base := enforced[p.Mode], unconfined[p.Mode]
		t.Logf("%-14s unconfined: %-8s enforced: %s", p.Mode, base, got)
		if got != p.Want {
			t.Errorf("%s (%s) under the profile: %q, want %s (EPERM is errno 1)", p.Mode, p.Syscall, got, p.Want)
		}
		if p.Unconfined && base != "ok" {
			t.Errorf("%s (%s) unconfined: %q, want ok: the refusal would not be tailor's doing", p.Mode, p.Syscall, base)
		}
	}
	unshare := regexp.MustCompile(`(?m)^unshare: .*$`).FindString(res.Stdout)
	t.Logf("busybox unshare -m true under the profile: %s", unshare)
	if !strings.Contains(unshare, "Operation not permitted") {
		t.Errorf("busybox unshare -m under the profile: %q, want Operation not permitted\n%s", unshare, res)
	}
}

// probeBundle is a fresh bundle of the workload running args, with the
// probe binary and a file owned by another user in its rootfs.
func probeBundle(t *testing.T, w workload, probeBin string, args []string) *bundle {
	t.Helper()
	b := newBundle(t, w.Image, args, ocitest.WithCaps(w.Caps...))
	if err := rootfs.CopyFile(probeBin, filepath.Join(b.Rootfs, probePath), 0o755); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(b.Rootfs, notMine)
	if err := os.WriteFile(theirs, []byte("owned by user 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRun runs the bundle to completion and requires the workload to have
// succeeded and printed done.
func checkRun(t *testing.T, runtime string, w workload, b *bundle, done string) ocitest.Result {
	t.Helper()
	res := runContainer(t, runtime, b)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) || !strings.Contains(res.Stdout, done) {
		t.Fatalf("%s under %s (%s):\n%s", w.Name, runtime, b.Dir, res)
	}
	return res
}

// parseProbes maps each probe mode to its result.
func parseProbes(res ocitest.Result) map[string]string {
	out := map[string]string{}
	for _, m := range probeLine.FindAllStringSubmatch(res.Stdout, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// execGate is a fifo in the exec test's rootfs: the workload, done,
// blocks opening it (`: < FIFO`) until the test, done with its exec
// sessions, opens it too. That takes only openat and the shell's fd
// juggling, which every profile here allows; a sleep loop would need
// clock_nanosleep, and the shell's read builtin poll.
const execGate = "/tmp/tailor-exec-gate"

// checkExec runs the workload under its profile, applied by apply, and,
// while its container runs (the workload done, waiting at the gate), runs
// each probe in it
// with `RUNTIME exec`, as someone who got into the container would: the
// session gets the container's filter and capabilities, so the probes
// give what they give in the workload.
func checkExec(t *testing.T, tailor, probeBin, runtime string, w workload, profile string, probes []probe,
	apply func(testing.TB, string, *bundle, string)) {
	b := probeBundle(t, w, probeBin, gated(w.Args))
	if err := unix.Mkfifo(filepath.Join(b.Rootfs, execGate), 0o600); err != nil {
		t.Fatal(err)
	}
	apply(t, tailor, b, profile)
	c := startContainer(t, runtime, b)
	c.waitRunning(t)
	for _, p := range probes {
		res := run(t, nil, c.bin, append([]string{"exec", c.ID}, p.command()...)...)
		got := parseProbes(res)[p.Mode]
		t.Logf("%s exec %-14s %s", runtime, p.Mode, got)
		if res.ExitCode != 0 || got != p.Want {
			t.Errorf("%s exec %s: got %q, want %s (EPERM is errno 1)\n%s", runtime, strings.Join(p.command(), " "), got, p.Want, res)
		}
	}
	openGate(t, c, filepath.Join(b.Rootfs, execGate))
	if res := c.wait(t); res.ExitCode != 0 || !strings.Contains(res.Stdout, w.Want) || !strings.Contains(res.Stdout, "exec gate passed") {
		t.Fatalf("%s under %s after the exec sessions:\n%s", w.Name, runtime, res)
	}
}

// openGate lets the workload past the fifo: the workload's open for
// reading and this open for writing wait for each other. When c is not
// nil, a container that exits or hangs first fails the test with its
// output.
func openGate(t *testing.T, c *container, path string) {
	t.Helper()
	opened := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			err = f.Close()
		}
		opened <- err
	}()
	unblock := func() {
		if f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
	var exited <-chan struct{}
	if c != nil {
		exited = c.exited
	}
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-exited:
		unblock()
		t.Fatalf("the workload exited before it reached %s:\n%s", path, c.result(t))
	case <-time.After(commandTimeout):
		unblock()
		if c == nil {
			t.Fatalf("the workload never reached %s within %s", path, commandTimeout)
		}
		snap := ocitest.Snapshot(c.bin, c.ID)
		ocitest.Delete(c.runtime, c.ID)
		<-c.exited
		t.Fatalf("the workload never reached %s within %s:\n%s\n%s", path, commandTimeout, snap, c.result(t))
	}
}

// container is a container running in the foreground of a runtime
// started in the background.
type container struct {
	ID      string
	runtime string
	bin     string
	stdout  strings.Builder
	stderr  strings.Builder
	exited  chan struct{} // closed when the runtime exited
	err     error         // the runtime's exit, once exited is closed
}

// startContainer starts `RUNTIME run` on the bundle; the container is
// killed and deleted when the test ends, whatever happened.
func startContainer(t *testing.T, runtime string, b *bundle) *container {
	t.Helper()
	c := &container{ID: containerID(t), runtime: runtime, bin: runtimeBin(t, runtime), exited: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	cmd := exec.CommandContext(ctx, c.bin, "run", "--bundle", b.Dir, c.ID)
	cmd.Stdout, cmd.Stderr = &c.stdout, &c.stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s run: %v", runtime, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		ocitest.Delete(runtime, c.ID)
		cancel()
		<-c.exited
	})
	return c
}

// waitRunning waits until the runtime reports the container running; it
// fails at once when the container exits first.
func (c *container) waitRunning(t *testing.T) {
	t.Helper()
	if !pollRunning(c.bin, c.ID, c.exited) {
		t.Fatalf("container %s never reported running by %s state:\n%s", c.ID, c.runtime, c.result(t))
	}
}

// pollRunning polls `RUNTIME state ID` for up to a minute, until it says
// running (true) or exited is closed (false).
func pollRunning(bin, id string, exited <-chan struct{}) bool {
	for i := 0; i < 600; i++ {
		select {
		case <-exited:
			return false
		default:
		}
		out, err := exec.Command(bin, "state", id).Output()
		if err == nil && strings.Contains(string(out), `"running"`) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// wait waits for the container to exit and returns its output and status.
func (c *container) wait(t *testing.T) ocitest.Result {
	t.Helper()
	<-c.exited
	return c.result(t)
}

func (c *container) result(t *testing.T) ocitest.Result {
	t.Helper()
	res := ocitest.Result{Stdout: c.stdout.String(), Stderr: c.stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(c.err, &ee) && ee.ProcessState.Exited():
		res.ExitCode = ee.ExitCode()
	case c.err != nil:
		t.Fatalf("%s run %s did not exit normally: %v\n%s", c.runtime, c.ID, c.err, res)
	}
	return res
}

// tailorReport runs `tailor report --format json` on the profile.
func tailorReport(t testing.TB, tailor, profile string) *generator.Report {
	t.Helper()
	res := run(t, nil, tailor, "report", "--format", "json", profile)
	if res.ExitCode != 0 {
		t.Fatalf("tailor report --format json %s:\n%s", profile, res)
	}
	var r generator.Report
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
		t.Fatalf("tailor report --format json: %v\n%s", err, res.Stdout)
	}
	return &r
}

// surfaceRow is one line of the attack-surface table.
type surfaceRow struct {
	Workload, Runtime string
	Report            *generator.Report
}

// surfaceTable lays the rows out as the Markdown table README.md shows.
func surfaceTable(rows []surfaceRow) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| workload\t runtime\t syscalls (with argument rules)\t Docker default\t capabilities\t Docker default\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t")
	for _, r := range rows {
		caps := strings.Join(r.Report.Tailor.Capabilities, " ")
		if caps == "" {
			caps = "none"
		}
		fmt.Fprintf(tw, "| %s\t %s\t %d (%d)\t %d\t %d: %s\t %d\t\n", r.Workload, r.Runtime,
			len(r.Report.Tailor.Syscalls), len(r.Report.Tailor.Conditional), len(r.Report.Docker.Syscalls),
			len(r.Report.Tailor.Capabilities), caps, len(r.Report.Docker.Capabilities))
	}
	tw.Flush()
	return b.String()
}
