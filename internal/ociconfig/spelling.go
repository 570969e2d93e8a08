package ociconfig

import (
	"errors"
	"fmt"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/jsonfield"
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
	switch n.kind {
	case '{':
		for _, m := range n.members {
			ft, err := jsonfield.Member(t, m.key)
			var me *jsonfield.MisspeltError
			if errors.As(err, &me) {
				return fmt.Errorf("%s: key %q is not runtime-spec's %q: runc would read it as %q and crun would ignore it; spell it %q",
					describe(path), m.key, me.Field, me.Field, me.Field)
			}
			if ft != nil {
				if err := checkSpelling(m.value, ft, join(path, m.key)); err != nil {
					return err
				}
			}
		}
	case '[':
		if et := jsonfield.Elem(t); et != nil {
			for _, e := range n.elems {
				if err := checkSpelling(e, et, path+"[]"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var specType = reflect.TypeFor[specs.Spec]()
