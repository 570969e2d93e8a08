package profiles

import (
	"github.com/tailor-dev/tailor/internal/budget"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bound is the bound of within for the inputs below, which take well
// under a second (under the race detector too).
const bound = 10 * time.Second

func nested(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		is   error
		want string
	}{
		{name: "at the depth limit", doc: nested(MaxDepth)},
		{name: "objects and arrays", doc: []byte(`{"a": [{"b": {"c": []}}]}`)},
		{name: "brackets in strings", doc: []byte(`["` + strings.Repeat("[{", 100) + `"]`)},
		{name: "escaped quote", doc: []byte(`["\"` + strings.Repeat("[", 100) + `"]`)},
		{name: "escaped backslash", doc: []byte(`["\\", ` + string(nested(MaxDepth-1)) + `]`)},
		{name: "one level too deep", doc: nested(MaxDepth + 1), is: ErrTooDeep,
			want: "line 1, column 65: document nested too deeply: arrays and objects nest more than 64 deep (profiles.MaxDepth)"},
		{name: "deep inside a document", doc: []byte("{\n\"abis\": " + string(nested(MaxDepth))), is: ErrTooDeep, want: "line 2, column 72"},
		{name: "escaped backslash then too deep", doc: []byte(`["\\", ` + string(nested(MaxDepth)) + `]`), is: ErrTooDeep},
		{name: "too large", doc: bytes.Repeat([]byte(" "), MaxDocumentSize+1), is: ErrTooLarge,
			want: "larger than 16777216 bytes (16 MiB, profiles.MaxDocumentSize)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSON(tt.doc)
			if tt.is == nil {
				if err != nil {
					t.Fatalf("CheckJSON refused the document: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckJSON error %v, want %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

// endless is a reader that never ends, counting what was read from it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestReadDocument(t *testing.T) {
	data, err := ReadDocument("state", strings.NewReader(`{"ociVersion": "1.2.0"}`))
	if err != nil || string(data) != `{"ociVersion": "1.2.0"}` {
		t.Fatalf("ReadDocument = %q, %v", data, err)
	}
	var r endless
	budget.Within(t, bound, "an endless reader", func() { _, err = ReadDocument("stdin", &r) })
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "stdin: document too large: larger than") {
		t.Errorf("endless reader: error %v, want ErrTooLarge naming stdin", err)
	}
	if r.n > MaxDocumentSize+64<<10 {
		t.Errorf("read %d bytes of an endless reader, want about %d", r.n, MaxDocumentSize+1)
	}
	_, err = ReadDocument("config.json", strings.NewReader(string(nested(1000))))
	if !errors.Is(err, ErrTooDeep) || !strings.HasPrefix(err.Error(), "config.json: line 1, column 65: ") {
		t.Errorf("deep document: error %v, want ErrTooDeep naming config.json", err)
	}
	_, err = ReadDocument("x", io.MultiReader(strings.NewReader("{"), iotestErr{}))
	if err == nil || !strings.Contains(err.Error(), "read x: broken") {
		t.Errorf("failing reader: error %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestReadDocumentFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: refused from its size, without reading 16 MiB.
	if err := f.Truncate(MaxDocumentSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadDocumentFile(big)
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), big+": ") {
		t.Errorf("big file: error %v, want ErrTooLarge naming %s", err, big)
	}
	_, err = ReadDocumentFile(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want ErrNotExist", err)
	}
}

// Deep nesting is refused where the limit is crossed, before anything is
// decoded: a 16 MiB document of brackets costs no more than 65 bytes.
// (It took 1.6 GB and seconds when each level copied its parent's path.)
func TestLoadRefusesDeepNesting(t *testing.T) {
	for _, size := range []int{64 << 10, MaxDocumentSize / 2} {
		path := filepath.Join(t.TempDir(), "deep.json")
		if err := os.WriteFile(path, nested(size/2), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		budget.Within(t, bound, fmt.Sprintf("loading %d bytes of brackets", size), func() { _, err = Load(path) })
		if !errors.Is(err, ErrTooDeep) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v, want ErrTooDeep and ErrInvalid", err)
		}
		for _, want := range []string{path, "column 65", "64", "profiles.MaxDepth"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
}

// Positions reads the document once however many paths are asked for
// (it used to walk the document and count lines from its start per path).
func TestPositionsLinear(t *testing.T) {
	const n = 200_000
	var b strings.Builder
	b.WriteString("{\"values\": [\n")
	paths := make([]string, n)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("1")
		paths[i] = fmt.Sprintf("values[%d]", i)
	}
	b.WriteString("]}")
	var pos map[string]Position
	budget.Within(t, bound, fmt.Sprintf("positions of %d values", n), func() { pos = Positions([]byte(b.String()), paths...) })
	if got, want := pos[paths[n-1]], (Position{Line: n + 1, Column: 1}); got != want {
		t.Errorf("last value at %+v, want %+v", got, want)
	}
	if len(pos) != n {
		t.Errorf("%d positions, want %d", len(pos), n)
	}
}

// FuzzCheckJSON checks CheckJSON's depth against encoding/json's own for
// valid documents, and that it never panics on others.
func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"a": ["[", "\"{", {"b": []}]}`))
	f.Add(nested(MaxDepth))
	f.Add(nested(MaxDepth + 1))
	f.Add(nested(20_000)) // deeper than encoding/json accepts
	f.Add([]byte(`["\\\"[[[[", [[[]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckJSON(data)
		if !json.Valid(data) {
			return
		}
		depth := jsonDepth(t, data)
		if deep := errors.Is(err, ErrTooDeep); deep != (depth > MaxDepth) {
			t.Fatalf("depth %d, CheckJSON: %v", depth, err)
		}
	})
}

// jsonDepth is the nesting depth of a valid document, from its tokens.
func jsonDepth(t *testing.T, data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1E700 is valid JSON, but no float64
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			t.Fatalf("token of a valid document: %v", err)
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}
