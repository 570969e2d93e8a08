package bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a run of the harness.
type Options struct {
	// Tailor is the tailor binary under test.
	Tailor string
	// Quick shortens every benchmark (fewer rounds, shorter loops) to check
	// that the harness works; its figures are not worth recording.
	Quick bool
	// Only, when not empty, names the benchmarks to run.
	Only []string
	// Keep leaves the work directory behind.
	Keep bool
	Log  io.Writer
}

// Env is what the benchmarks share: the binaries and images built for this
// run, and the host changes to undo when it ends.
type Env struct {
	Options
	// Work is the run's scratch directory.
	Work string
	// ID prefixes every container and tracer directory of this run, so
	// that nothing of another run or engineer is ever touched.
	ID string

	mu   sync.Mutex
	undo []func()
	once map[string]*onceVal
}

type onceVal struct {
	o   sync.Once
	v   any
	err error
}

// cached builds a value once per run (an image, a binary).
func cached[T any](e *Env, key string, build func() (T, error)) (T, error) {
	e.mu.Lock()
	ov := e.once[key]
	if ov == nil {
		ov = &onceVal{}
		e.once[key] = ov
	}
	e.mu.Unlock()
	ov.o.Do(func() { ov.v, ov.err = build() })
	v, _ := ov.v.(T)
	return v, ov.err
}

// NewEnv checks the host and creates the work directory.
func NewEnv(o Options) (*Env, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the benchmarks run containers and load BPF programs: run as root")
	}
	for _, tool := range []string{"runc", "gcc", "strace", "busybox", "apt-get", "dpkg", "ldd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found on PATH: run scripts/install-prereqs.sh", tool)
		}
	}
	tailor, err := filepath.Abs(o.Tailor)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(tailor); err != nil {
		return nil, fmt.Errorf("tailor binary: %w (build it with make build)", err)
	}
	o.Tailor = tailor
	if o.Log == nil {
		o.Log = io.Discard
	}
	work, err := os.MkdirTemp("/var/tmp", "tailor-bench-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	// Container users other than root (nginx workers) must reach the rootfs.
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	var r [3]byte
	rand.Read(r[:])
	return &Env{Options: o, Work: work, ID: "tailor-bench-" + hex.EncodeToString(r[:]), once: map[string]*onceVal{}}, nil
}

// atClose registers an undo step; Close runs them in reverse order.
func (e *Env) atClose(f func()) {
	e.mu.Lock()
	e.undo = append(e.undo, f)
	e.mu.Unlock()
}

// Close undoes what the run changed on the host and removes the work
// directory (unless Keep).
func (e *Env) Close() {
	e.mu.Lock()
	undo := e.undo
	e.undo = nil
	e.mu.Unlock()
	for i := len(undo) - 1; i >= 0; i-- {
		undo[i]()
	}
	if e.Keep {
		e.logf("kept %s", e.Work)
		return
	}
	os.RemoveAll(e.Work)
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "bench: "+format+"\n", args...)
}

// pick returns quick when the run is quick, else full.
func pick[T any](e *Env, full, quick T) T {
	if e.Quick {
		return quick
	}
	return full
}

// Meta says where and under what conditions the figures were taken.
type Meta struct {
	Date       string   `json:"date"`
	Commit     string   `json:"commit,omitempty"`
	Kernel     string   `json:"kernel"`
	CPU        string   `json:"cpu"`
	CPUs       int      `json:"cpus"`
	MemoryGiB  float64  `json:"memoryGiB"`
	Runc       string   `json:"runc"`
	Crun       string   `json:"crun,omitempty"`
	Quick      bool     `json:"quick"`
	Duration   string   `json:"duration"`
	LoadBefore string   `json:"loadAverageBefore"`
	LoadAfter  string   `json:"loadAverageAfter"`
	Foreign    []string `json:"foreignTracersSeen,omitempty"`
}

// meta describes the machine; finishMeta adds what the end of the run saw.
func (e *Env) meta() Meta {
	m := Meta{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Quick: e.Quick}
	m.Kernel = strings.TrimSpace(readString("/proc/sys/kernel/osrelease"))
	for _, line := range strings.Split(readString("/proc/cpuinfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			break
		}
	}
	for _, line := range strings.Split(readString("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			m.MemoryGiB = float64(int(kb/1024/1024*10)) / 10
		}
	}
	m.Runc = firstLine(exec.Command("runc", "--version"))
	if _, err := exec.LookPath("crun"); err == nil {
		m.Crun = firstLine(exec.Command("crun", "--version"))
	}
	m.Commit = firstLine(exec.Command("git", "-C", filepath.Dir(e.Tailor), "describe", "--always", "--dirty"))
	m.LoadBefore = loadAverage()
	m.Foreign = e.foreignTracers()
	return m
}

func (e *Env) finishMeta(m *Meta, start time.Time) {
	m.Duration = time.Since(start).Round(time.Second).String()
	m.LoadAfter = loadAverage()
	for _, f := range e.foreignTracers() {
		if !contains(m.Foreign, f) {
			m.Foreign = append(m.Foreign, f)
		}
	}
}

func loadAverage() string {
	f := strings.Fields(readString("/proc/loadavg"))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func firstLine(cmd *exec.Cmd) string {
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// foreignTracers lists syscall tracers on the host that are not this
// run's (another tailor tracer, strace, bpftrace): they put every task on
// the slow syscall path and skew "untraced" figures.
func (e *Env) foreignTracers() []string {
	var out []string
	for _, p := range processes() {
		if len(p.args) == 0 || strings.Contains(strings.Join(p.args, " "), e.ID) {
			continue
		}
		base := filepath.Base(p.args[0])
		_, isTailorTracer := tracerDir(p.args)
		if isTailorTracer || base == "strace" || base == "bpftrace" || base == "perf" {
			out = append(out, fmt.Sprintf("pid %d: %s", p.pid, strings.Join(p.args, " ")))
		}
	}
	return out
}

type process struct {
	pid  int
	args []string
}

func processes() []process {
	ents, _ := os.ReadDir("/proc")
	var out []process
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		out = append(out, process{pid: pid, args: strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")})
	}
	return out
}
