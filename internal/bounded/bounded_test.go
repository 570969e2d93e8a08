package bounded

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	os.WriteFile(filepath.Join(dir, "ok"), []byte("12345"), 0o600)
	if data, err := ReadRegular(open("ok"), 5); err != nil || string(data) != "12345" {
		t.Errorf("ReadRegular = %q, %v", data, err)
	}
	if _, err := ReadRegular(open("ok"), 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600)
	if _, err := ReadRegular(open("fifo"), 5); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FIFO: %v", err)
	}
	if _, err := ReadRegular(open("."), 5); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
}
