package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tailor-dev/tailor/internal/jsonfield"
)

// PathError is a problem with the value at a JSON path of a document, e.g.
// abis[0].syscalls[3]. Line and Column (1-based) are set when the path was
// found in the document's bytes (see Locate).
type PathError struct {
	Path         string
	Line, Column int
	Err          error
}

func (e *PathError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s: %s", e.Line, e.Column, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// Locate sets the line and column of every PathError in err's chain from
// data, the document the error is about. It returns err.
func Locate(data []byte, err error) error {
	var pe *PathError
	if errors.As(err, &pe) && pe.Line == 0 {
		if pos, ok := Positions(data, pe.Path)[pe.Path]; ok {
			pe.Line, pe.Column = pos.Line, pos.Column
		}
	}
	return err
}

// Position is a 1-based line and column in a document.
type Position struct{ Line, Column int }

// Positions finds where the values at paths (abis[0].syscalls[3].name; ""
// is the document) start in data: for an object member, its key. It reads
// data once however many paths are asked for, so callers gather their
// paths and ask once. A path that is not in data, or data that is not
// valid JSON, has no entry.
func Positions(data []byte, paths ...string) map[string]Position {
	want := make(map[string]int64, len(paths))
	for _, p := range paths {
		want[p] = -1
	}
	var found []int64
	err := walkJSON(data, nil, func(path string, off int64) bool {
		if o, ok := want[path]; ok && o < 0 {
			want[path] = off
			found = append(found, off)
		}
		return true
	})
	if err != nil {
		return map[string]Position{}
	}
	at := lineCols(data, found)
	out := make(map[string]Position, len(found))
	for p, off := range want {
		if off >= 0 {
			out[p] = at[off]
		}
	}
	return out
}

// lineCol converts a byte offset to a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = int(off - int64(bytes.LastIndexByte(data[:off], '\n')))
	return line, col
}

// lineCols converts many offsets in one pass over data.
func lineCols(data []byte, offs []int64) map[int64]Position {
	sorted := slices.Clone(offs)
	slices.Sort(sorted)
	out := make(map[int64]Position, len(sorted))
	line, lineStart, pos := 1, int64(0), int64(0)
	for _, off := range slices.Compact(sorted) {
		end := min(off, int64(len(data)))
		for {
			i := bytes.IndexByte(data[pos:end], '\n')
			if i < 0 {
				break
			}
			pos += int64(i) + 1
			line, lineStart = line+1, pos
		}
		pos = end
		out[off] = Position{Line: line, Column: int(end-lineStart) + 1}
	}
	return out
}

// DecodeStrict checks data with CheckKeys, then decodes it into v
// refusing unknown fields. Errors carry the line and column.
func DecodeStrict(data []byte, v any) error {
	if err := CheckKeys(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(data, dec.InputOffset())
		return fmt.Errorf("line %d, column %d: trailing data after the document", line, col)
	}
	return nil
}

// jsonError adds the line and column to a decoding error.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json gives no position for an unknown field: find the
		// first member with that name.
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr == nil {
			off = findKey(data, name)
			err = fmt.Errorf("unknown field %q (check its spelling and the schema)", name)
		}
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line, col := lineCol(data, off)
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// findKey returns the offset of the first object member called name.
func findKey(data []byte, name string) int64 {
	var found int64 = -1
	_ = walkJSON(data, nil, func(p string, off int64) bool {
		if p == name || strings.HasSuffix(p, "."+name) {
			found = off
			return false
		}
		return true
	})
	return found
}

// CheckKeys checks data's syntax and the keys of its objects for
// decoding into v: no key twice in an object (encoding/json would
// silently take the last), and no key that folds to a field of v's types
// without being its exact name ("ABIs" after "abis", "DefaultAction"):
// Go's decoder would read it as the field, last one winning, while exact
// decoders (crun, libseccomp's tools) ignore it. Unknown fields are left
// to the decoder. Errors carry the line and column and name the key.
func CheckKeys(data []byte, v any) error {
	return walkJSON(data, reflect.TypeOf(v), nil)
}

// Shaped is a type that decodes itself (UnmarshalJSON) through the JSON
// of another, its shape: CheckKeys checks its keys as the shape's. The
// method is called on the type's zero value.
type Shaped interface {
	JSONShape() reflect.Type
}

var shapedType = reflect.TypeFor[Shaped]()

func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && t.Implements(shapedType) {
		return reflect.Zero(t).Interface().(Shaped).JSONShape()
	}
	return t
}

type jsonFrame struct {
	object    bool
	path      string
	index     int
	expectKey bool
	key       string
	keys      map[string]bool
	// typ is the Go type the value decodes into (nil: not checked), and
	// member the type of the current key's value.
	typ, member reflect.Type
}

// childType is the Go type of the frame's next value.
func (f *jsonFrame) childType() reflect.Type {
	if f.typ == nil {
		return nil
	}
	if f.object {
		return shape(f.member)
	}
	return shape(jsonfield.Elem(f.typ))
}

func (f *jsonFrame) child() string {
	if !f.object {
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	if f.path == "" {
		return f.key
	}
	return f.path + "." + f.key
}

// walkJSON visits every value of a JSON document with its path
// (abis[0].syscalls[3].name; "" is the document) and the offset of its
// start (for object members, of the key), until visit returns false; a
// nil visit only checks. It refuses what CheckJSON refuses, checks the
// syntax and refuses duplicate object keys and, when t is not nil, keys
// that fold to a field of the type decoded there (see CheckKeys). Its
// cost is linear in the size of data: paths are at most MaxDepth steps
// long.
func walkJSON(data []byte, t reflect.Type, visit func(path string, off int64) bool) error {
	if err := CheckJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	done := func() {
		if n := len(stack); n > 0 {
			if top := stack[n-1]; top.object {
				top.expectKey = true
			} else {
				top.index++
			}
		}
	}
	for {
		off := skipSeparators(data, dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) > 0 {
				return jsonError(data, &json.SyntaxError{Offset: int64(len(data))})
			}
			return nil
		}
		if err != nil {
			return jsonError(data, err)
		}
		var top *jsonFrame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		delim, isDelim := tok.(json.Delim)
		if isDelim && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		path := ""
		switch {
		case top != nil && top.object && top.expectKey:
			key, _ := tok.(string)
			if top.keys[key] {
				line, col := lineCol(data, off)
				where := top.path
				if where == "" {
					where = "the document"
				}
				return fmt.Errorf("line %d, column %d: key %q appears twice in %s", line, col, key, where)
			}
			if top.keys == nil {
				top.keys = map[string]bool{}
			}
			top.keys[key] = true
			top.key, top.expectKey = key, false
			if top.typ != nil {
				member, err := jsonfield.Member(top.typ, key)
				if err != nil {
					line, col := lineCol(data, off)
					where := top.path
					if where == "" {
						where = "the document"
					}
					return fmt.Errorf("line %d, column %d: in %s: %w", line, col, where, err)
				}
				top.member = member
			}
			if visit != nil && !visit(top.child(), off) {
				return nil
			}
			continue
		case top != nil:
			if isDelim || visit != nil {
				path = top.child()
			}
			if visit != nil && !top.object && !visit(path, off) {
				return nil
			}
		case visit != nil:
			if !visit("", off) {
				return nil
			}
		}
		if isDelim {
			typ := shape(t)
			if top != nil {
				typ = top.childType()
			}
			stack = append(stack, &jsonFrame{object: delim == '{', path: path, expectKey: true, typ: typ})
			continue
		}
		done()
	}
}

// skipSeparators moves off past whitespace, ',' and ':' to the next token.
func skipSeparators(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}
