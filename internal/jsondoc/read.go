package jsondoc

import (
	"github.com/tailor-dev/tailor/internal/bounded"

	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxDocumentSize is the largest JSON document tailor reads: a profile, a
// seccomp JSON, an OCI state or config.json. Real ones are far smaller
// (Docker's default seccomp JSON is about 20 KB, a profile of every syscall
// of three ABIs with provenance about 200 KB); the limit keeps a hostile
// input from making a root process read without end.
const MaxDocumentSize = 16 << 20 // 16 MiB

// MaxDepth is how deeply arrays and objects may nest in a JSON document
// tailor reads. A profile or an OCI config.json nests at most 7 levels
// deep, a seccomp JSON 5; the cost of decoding and locating each value
// grows with its depth, so deeper input is refused before it is decoded.
const MaxDepth = 64

// ErrTooLarge marks a document larger than MaxDocumentSize.
var ErrTooLarge = errors.New("document too large")

// ErrTooDeep marks a document nested deeper than MaxDepth.
var ErrTooDeep = errors.New("document nested too deeply")

// ReadDocument reads one JSON document from r within tailor's limits: it
// reads at most one byte more than MaxDocumentSize, and checks the result
// with CheckJSON. name says what r is ("config.json", "stdin") and starts
// every error. The document's syntax is left to its decoder.
func ReadDocument(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := CheckJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// ReadDocumentFile reads the JSON document at path with ReadDocument. A
// regular file larger than MaxDocumentSize is refused without reading it.
func ReadDocumentFile(path string) ([]byte, error) {
	data, err := ReadFile(path)
	if IsLimit(err) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, err
}

// ReadFile is ReadDocumentFile with limit errors that do not name the
// file, for callers that wrap them with their own (IsLimit tells them).
func ReadFile(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not block; it is refused below.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err // names the path
	}
	defer f.Close()
	return ReadOpen(f)
}

// ReadOpen reads a regular file opened by the caller within the limits.
func ReadOpen(f *os.File) ([]byte, error) {
	data, err := bounded.ReadRegular(f, MaxDocumentSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, tooLarge()
	}
	if err != nil {
		return nil, err // names the path
	}
	if err := CheckJSON(data); err != nil {
		return nil, err
	}
	return data, nil
}

// IsLimit reports whether err is ErrTooLarge or ErrTooDeep.
func IsLimit(err error) bool { return errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooDeep) }

func tooLarge() error {
	return fmt.Errorf("%w: larger than %d bytes (16 MiB, profiles.MaxDocumentSize): no profile, seccomp JSON or OCI "+
		"document is that large; check that this is the file you meant", ErrTooLarge, MaxDocumentSize)
}

// CheckJSON checks data against tailor's limits before it is decoded: at
// most MaxDocumentSize bytes, and arrays and objects nested at most
// MaxDepth deep (one pass, no allocation). It does not check the syntax.
// Its errors wrap ErrTooLarge or ErrTooDeep; a depth error gives the line
// and column where the limit is crossed.
func CheckJSON(data []byte) error {
	if len(data) > MaxDocumentSize {
		return tooLarge()
	}
	depth, inString, escaped := 0, false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > MaxDepth {
				line, col := lineCol(data, int64(i))
				return fmt.Errorf("line %d, column %d: %w: arrays and objects nest more than %d deep (profiles.MaxDepth): "+
					"no profile, seccomp JSON or OCI document nests that deep; check that this is the file you meant",
					line, col, ErrTooDeep, MaxDepth)
			}
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
