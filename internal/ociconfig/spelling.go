package ociconfig

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkSpelling walks the document beside runtime-spec's types. Where a
// key is not a field's exact name but folds to one, runtimes disagree on
// it: Go's decoder (runc) takes it for the field, case- and Unicode-
// insensitively ("Linux", "ſeccomp" for "seccomp"), while crun's parser
// matches exactly and ignores it. Either way the config would run with
// something else than tailor read or wrote, so it is refused. Keys that
// are no field's name are unknown fields, kept as they are; keys of maps
// (annotations, sysctl) are data.
func checkSpelling(n *node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.kind == '{' && t.Kind() == reflect.Struct:
		fields := jsonFields(t)
		for _, m := range n.members {
			if ft, ok := fields[m.key]; ok {
				if err := checkSpelling(m.value, ft, join(path, m.key)); err != nil {
					return err
				}
				continue
			}
			for name := range fields {
				if fold(name) == fold(m.key) {
					return fmt.Errorf("%s: key %q is not runtime-spec's %q: runc would read it as %q and crun would ignore it; spell it %q",
						describe(path), m.key, name, name, name)
				}
			}
		}
	case n.kind == '{' && t.Kind() == reflect.Map:
		for _, m := range n.members {
			if err := checkSpelling(m.value, t.Elem(), join(path, m.key)); err != nil {
				return err
			}
		}
	case n.kind == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for _, e := range n.elems {
			if err := checkSpelling(e, t.Elem(), path+"[]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "":
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// fold maps s to a canonical form under Unicode simple case folding, the
// equivalence Go's decoder uses to match keys to fields: each rune becomes
// the smallest rune of its folding orbit (so "ſ", "s" and "S" agree).
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

var specType = reflect.TypeOf(specs.Spec{})
