package wrapper

import (
	"strings"
	"testing"
)

// TestRequestLandlock: an image's TAILOR_LANDLOCK only turns Landlock on;
// a value other than 1 or 0 refuses the container rather than guessing.
func TestRequestLandlock(t *testing.T) {
	for _, c := range []struct {
		env  string
		want bool
		err  string
	}{
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=1"`, true, ""},
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=0"`, false, ""},
		{`"TAILOR_PROFILE=web"`, false, ""},
		{`"TAILOR_PROFILE=web", "TAILOR_LANDLOCK=yes"`, false, "want 1"},
	} {
		r, err := requestOf([]byte(`{"ociVersion": "1.0.2", "process": {"args": ["sh"], "env": [` + c.env + `]}}`))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("env %s: error %v, want %q", c.env, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("env %s: %v", c.env, err)
		case r.landlock != c.want:
			t.Errorf("env %s: landlock %t, want %t", c.env, r.landlock, c.want)
		}
	}
}
