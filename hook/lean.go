package hook

import (
	"os"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LeanName is the hook's own binary (cmd/tailor-hook), installed beside
// tailor: what `tailor hook` does, with its flags and exit codes, at a
// fraction of its start-up cost.
const LeanName = "tailor-hook"

// Lean returns the tailor-hook beside the tailor binary at tailor, or ""
// when there is none that a runtime running as root should run: it must be
// a regular file (not a symlink), executable, owned by root and writable
// by no one else.
func Lean(tailor string) string { return beside(tailor, LeanName) }

// beside returns the binary name beside the tailor binary at tailor, or ""
// unless it is a regular file (not a symlink), executable, owned by root
// and writable by no one else: root runs it in tailor's place.
func beside(tailor, name string) string {
	p := filepath.Join(filepath.Dir(tailor), name)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 || fi.Mode().Perm()&0o100 == 0 {
		return ""
	}
	return p
}

// Command is the createRuntime hook entry that runs the hook with flags
// (`tailor hook`'s): lean as tailor-hook when it is set (Lean), else the
// tailor binary at tailor as `tailor hook`.
func Command(tailor, lean string, flags []string) specs.Hook {
	if lean != "" {
		return Spec(lean, append([]string{LeanName}, flags...))
	}
	return Spec(tailor, append([]string{"tailor", "hook"}, flags...))
}
