// Package jsonfield matches JSON object keys to Go struct fields as
// encoding/json does (exact name first, then Unicode simple case folding),
// so that readers of a document can refuse a key that one decoder takes
// for a field and another ignores or reads as a different one: runc and Go
// tools read "ABIs" or "DefaultAction" as the field, crun and libseccomp
// tools match exactly, and with both spellings present Go takes the last.
package jsonfield

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MisspeltError is a key that folds to a struct field's JSON name without
// being it.
type MisspeltError struct {
	Key   string // as written in the document
	Field string // the field's JSON name
}

func (e *MisspeltError) Error() string {
	return fmt.Sprintf("key %q is not the field %q: Go's decoder would read it as %q, an exact decoder would ignore it; spell it %q",
		e.Key, e.Field, e.Field, e.Field)
}

// Member is the type of the value of key in a JSON object decoded into t:
// the type of the struct field named key, or the element type of a map.
// It is nil where the layout below is not known (an unknown field, a value
// t decodes itself with UnmarshalJSON, an interface): the caller checks
// nothing there. A key that is not a field's exact name but folds to one
// is a *MisspeltError.
func Member(t reflect.Type, key string) (reflect.Type, error) {
	t = deref(t)
	if t == nil || custom(t) {
		return nil, nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), nil
	case reflect.Struct:
		fs := fieldsOf(t)
		if ft, ok := fs.exact[key]; ok {
			return ft, nil
		}
		if name, ok := fs.folded[Fold(key)]; ok {
			return nil, &MisspeltError{Key: key, Field: name}
		}
	}
	return nil, nil
}

// Elem is the type of the elements of a JSON array decoded into t, or nil
// where it is not known.
func Elem(t reflect.Type) reflect.Type {
	t = deref(t)
	if t == nil || custom(t) {
		return nil
	}
	if k := t.Kind(); k == reflect.Slice || k == reflect.Array {
		return t.Elem()
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// custom reports whether t decodes itself: its keys are its own business.
func custom(t reflect.Type) bool {
	return t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)
}

// fields are a struct type's JSON field names, exact and folded.
type fields struct {
	exact  map[string]reflect.Type
	folded map[string]string // Fold(name) -> name
}

var cache sync.Map // reflect.Type -> *fields

func fieldsOf(t reflect.Type) *fields {
	if f, ok := cache.Load(t); ok {
		return f.(*fields)
	}
	fs := &fields{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	collect(t, fs.exact)
	for name := range fs.exact {
		fs.folded[Fold(name)] = name
	}
	f, _ := cache.LoadOrStore(t, fs)
	return f.(*fields)
}

// collect adds t's JSON fields to out. A struct's own fields shadow those
// of the structs it embeds, as in encoding/json (moby's Seccomp.Syscalls
// over the embedded LinuxSeccomp's).
func collect(t reflect.Type, out map[string]reflect.Type) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct:
			embedded = append(embedded, deref(f.Type))
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, e := range embedded {
		inner := map[string]reflect.Type{}
		collect(e, inner)
		for k, v := range inner {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
}

// Fold maps s to a canonical form under Unicode simple case folding, the
// equivalence encoding/json uses to match keys to fields: each rune
// becomes the smallest rune of its folding orbit (so "ſ", "s" and "S"
// agree).
func Fold(s string) string {
	ascii, lower := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		ascii = ascii && c < utf8.RuneSelf
		lower = lower || ('a' <= c && c <= 'z')
	}
	switch {
	case ascii && !lower:
		return s
	case ascii:
		// An ASCII letter's orbit has its upper case as smallest rune
		// (k and s too: the Kelvin sign and long s are larger).
		b := []byte(s)
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		return string(b)
	}
	var b strings.Builder
	b.Grow(len(s))
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
