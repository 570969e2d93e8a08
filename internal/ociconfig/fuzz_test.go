package ociconfig

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzEdit checks that any document Parse accepts stays one it accepts
// after tailor's edits, with the edited values in place, and that slow
// shapes (deep nesting, many keys) are refused or handled at once.
func FuzzEdit(f *testing.F) {
	f.Add([]byte(`{"process":{"args":["sh"]},"linux":null}`))
	f.Add([]byte("{\n\t\"hooks\": {\"createRuntime\": []},\n\t\"annotations\": {}\n}\n"))
	f.Add([]byte(`{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}},"x":18446744073709551615}`))
	f.Add([]byte(strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000)))
	f.Add([]byte(`{"k":"` + strings.Repeat(`\u00e9`, 5000) + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		if err := cfg.Set(map[string]string{"defaultAction": "SCMP_ACT_LOG"}, "linux", "seccomp"); err != nil {
			return // e.g. linux is not an object
		}
		if err := cfg.Append(map[string]string{"path": "/t"}, "hooks", "createRuntime"); err != nil {
			return
		}
		if err := cfg.Set("v", "annotations", "dev.tailor.learn"); err != nil {
			return
		}
		out := cfg.Bytes()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("edited document refused: %v\nin:  %s\nout: %s", err, data, out)
		}
		if got := again.Get("linux", "seccomp", "defaultAction"); !bytes.Equal(got, []byte(`"SCMP_ACT_LOG"`)) {
			t.Fatalf("linux.seccomp.defaultAction = %s\n%s", got, out)
		}
		if got := again.Get("annotations", "dev.tailor.learn"); !bytes.Equal(got, []byte(`"v"`)) {
			t.Fatalf("annotation = %s\n%s", got, out)
		}
	})
}
