package hook

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/budget"
)

// TestInputMustBeRegular: a FIFO, a device or a symlink as if: is refused
// at once; none blocks the hook.
func TestInputMustBeRegular(t *testing.T) {
	allowed := t.TempDir()
	fifo := filepath.Join(allowed, "fifo.json")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(allowed, "zero.json"))
	os.WriteFile(filepath.Join(allowed, "big.json"), make([]byte, MaxSeccompInput+1), 0o644)
	for _, in := range []string{fifo, filepath.Join(allowed, "zero.json"), filepath.Join(allowed, "big.json")} {
		var err error
		budget.Within(t, 10*time.Second, "if:"+in, func() {
			_, err = Prepare(map[string]string{AnnotationTraceSyscall: "of:" + allowed + "/out.json;if:" + in}, Options{AllowDirs: []string{allowed}})
		})
		if err == nil {
			t.Errorf("if:%s accepted", in)
		}
	}
}

// TestNamespaceOwnDirectory: under Kubernetes a pod may name files only
// in its namespace's subdirectory of an allowed directory, and only
// .json files anywhere.
func TestNamespaceOwnDirectory(t *testing.T) {
	allowed := t.TempDir()
	for _, d := range []string{"team-a", "team-b"} {
		os.Mkdir(filepath.Join(allowed, d), 0o755)
	}
	opts := Options{AllowDirs: []string{allowed}}
	ok := map[string]string{AnnotationNamespace: "team-a", AnnotationTraceSyscall: "of:" + allowed + "/team-a/out.json"}
	if _, err := Prepare(ok, opts); err != nil {
		t.Errorf("own namespace directory refused: %v", err)
	}
	for _, of := range []string{allowed + "/team-b/out.json", allowed + "/out.json"} {
		ann := map[string]string{AnnotationNamespace: "team-a", AnnotationTraceSyscall: "of:" + of}
		if _, err := Prepare(ann, opts); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("team-a writing %s: %v", of, err)
		}
	}
	for _, of := range []string{allowed + "/.bashrc", allowed + "/authorized_keys", allowed + "/.json"} {
		if _, err := Prepare(map[string]string{AnnotationTraceSyscall: "of:" + of}, opts); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("of:%s accepted: %v", of, err)
		}
	}
}
