package hook

import (
	"os"
	"path/filepath"
	"time"

	"github.com/tailor-dev/tailor/profiler/wire"
)

// TracerClient reaches the shared tracer in dir, starting one when none
// runs: tailor-tracer installed beside the tailor binary at tailor, which
// starts sooner, else `tailor tracer`.
func TracerClient(dir string, timeout time.Duration, tailor string) *wire.Client {
	exe, args := TracerCommand(tailor)
	return &wire.Client{
		Dir:     dir,
		Timeout: timeout,
		Start:   wire.StartCommand(dir, exe, append(args, "--tracer-dir", dir)...),
	}
}

// TracerName is the tracer's own binary, installed beside tailor.
const TracerName = "tailor-tracer"

// TracerCommand is the command that runs the tracer for the tailor binary
// at tailor: TracerName beside it when it is one root may run in tailor's
// place (as Lean's tailor-hook), else tailor's own tracer command.
func TracerCommand(tailor string) (string, []string) {
	if lean := beside(tailor, TracerName); lean != "" {
		return lean, nil
	}
	return tailor, []string{"tracer"}
}

// Executable is the running binary's resolved path, for hooks and
// tracers that run it, or the tailor installed beside it, again.
func Executable() string {
	exe, err := os.Executable()
	if err != nil {
		return "/proc/self/exe"
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		return p
	}
	return exe
}
