// Package bounded reads files that others control within a size limit:
// one regular file, never a FIFO or a device, never more than asked for.
package bounded

import (
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	// ErrNotRegular refuses a FIFO, a device, a socket or a directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge refuses a file over the limit (or grown past it).
	ErrTooLarge = errors.New("too large")
)

// ReadRegular reads the open file f, which must be a regular file of at
// most limit bytes. Open it with O_NONBLOCK so that opening a FIFO does not
// block before this refuses it.
func ReadRegular(f *os.File, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", f.Name(), ErrNotRegular, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, more than %d", f.Name(), ErrTooLarge, fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w: grew past %d bytes while it was read", f.Name(), ErrTooLarge, limit)
	}
	return data, nil
}
