package profiles

import (
	"io"

	"github.com/tailor-dev/tailor/internal/jsondoc"
)

// Reading documents within tailor's limits is package jsondoc's (the OCI
// hook uses it without the profile model); these are its names here,
// where every reader of a profile or a seccomp JSON looks for them.

// MaxDocumentSize is the largest JSON document tailor reads (see
// jsondoc.MaxDocumentSize).
const MaxDocumentSize = jsondoc.MaxDocumentSize

// MaxDepth is how deeply arrays and objects may nest in a JSON document
// tailor reads (see jsondoc.MaxDepth).
const MaxDepth = jsondoc.MaxDepth

// ErrTooLarge marks a document larger than MaxDocumentSize.
var ErrTooLarge = jsondoc.ErrTooLarge

// ErrTooDeep marks a document nested deeper than MaxDepth.
var ErrTooDeep = jsondoc.ErrTooDeep

// PathError is a problem with the value at a JSON path of a document (see
// jsondoc.PathError).
type PathError = jsondoc.PathError

// Position is a 1-based line and column in a document.
type Position = jsondoc.Position

// ReadDocument reads one JSON document from r within tailor's limits (see
// jsondoc.ReadDocument).
func ReadDocument(name string, r io.Reader) ([]byte, error) { return jsondoc.ReadDocument(name, r) }

// ReadDocumentFile reads the JSON document at path with ReadDocument. A
// regular file larger than MaxDocumentSize is refused without reading it.
func ReadDocumentFile(path string) ([]byte, error) { return jsondoc.ReadDocumentFile(path) }

// CheckJSON checks data against tailor's limits before it is decoded (see
// jsondoc.CheckJSON).
func CheckJSON(data []byte) error { return jsondoc.CheckJSON(data) }

// CheckKeys checks data's syntax and the keys of its objects for decoding
// into v (see jsondoc.CheckKeys).
func CheckKeys(data []byte, v any) error { return jsondoc.CheckKeys(data, v) }

// DecodeStrict checks data with CheckKeys, then decodes it into v
// refusing unknown fields. Errors carry the line and column.
func DecodeStrict(data []byte, v any) error { return jsondoc.DecodeStrict(data, v) }

// Positions finds where the values at paths start in data (see
// jsondoc.Positions).
func Positions(data []byte, paths ...string) map[string]Position {
	return jsondoc.Positions(data, paths...)
}

// Locate sets the line and column of every PathError in err's chain from
// data, the document the error is about. It returns err.
func Locate(data []byte, err error) error { return jsondoc.Locate(data, err) }

// invalidError is ErrInvalid at a path. Its message is built when read, so
// that Locate can still add the position.
type invalidError struct{ *PathError }

func (e invalidError) Error() string   { return ErrInvalid.Error() + ": " + e.PathError.Error() }
func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.PathError} }
