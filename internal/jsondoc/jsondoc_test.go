package jsondoc

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/internal/jsonfield"
)

// decodesItself reads its JSON through shapeJSON, as profiles.File reads
// its through fileJSON.
type decodesItself struct{ Path string }

type shapeJSON struct {
	Path       string `json:"path"`
	PathBase64 string `json:"pathBase64"`
}

func (d *decodesItself) UnmarshalJSON(data []byte) error {
	var j shapeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	d.Path = j.Path
	return nil
}

func (decodesItself) JSONShape() reflect.Type { return reflect.TypeFor[shapeJSON]() }

type doc struct {
	Files []decodesItself `json:"files"`
}

// TestCheckKeysShaped: the keys of a type that decodes itself are checked
// as its shape's; without JSONShape they could not be (jsonfield.Member
// knows nothing of a custom decoder's layout).
func TestCheckKeysShaped(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"exact", `{"files": [{"path": "/a"}]}`, ""},
		{"case variant", `{"files": [{"PATH": "/a"}]}`, `line 1, column 13: in files[0]: key "PATH" is not the field "path"`},
		{"twice", `{"files": [{"path": "/a", "path": "/b"}]}`, `key "path" appears twice in files[0]`},
		{"case variant outside", `{"Files": []}`, `key "Files" is not the field "files"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKeys([]byte(tt.doc), &doc{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckKeys refused %s: %v", tt.doc, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckKeys(%s) = %v, want %q", tt.doc, err, tt.want)
			}
			var me *jsonfield.MisspeltError
			if strings.Contains(tt.name, "case variant") && !errors.As(err, &me) {
				t.Errorf("error %v is not a *jsonfield.MisspeltError", err)
			}
		})
	}
}
