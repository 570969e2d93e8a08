package hook

import (
	"os"
	"path/filepath"
	"time"

	"github.com/tailor-dev/tailor/profiler/wire"
)

// TracerClient reaches the shared tracer in dir, starting `tailor tracer`
// (the full binary at tailor, which loads the BPF programs) when none runs.
func TracerClient(dir string, timeout time.Duration, tailor string) *wire.Client {
	return &wire.Client{
		Dir:     dir,
		Timeout: timeout,
		Start:   wire.StartCommand(dir, tailor, "tracer", "--tracer-dir", dir),
	}
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
