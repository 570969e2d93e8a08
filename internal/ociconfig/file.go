package ociconfig

import (
	"errors"

	"github.com/tailor-dev/tailor/internal/bounded"

	"fmt"
	"os"
	"syscall"
)

// ReadFile reads a config.json of at most MaxSize bytes. It
// must be a regular file: opening a FIFO or a device never blocks.
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := bounded.ReadRegular(f, MaxSize)
	if errors.Is(err, bounded.ErrNotRegular) || errors.Is(err, bounded.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}
