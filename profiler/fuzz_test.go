package profiler

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzRequest: decoding a request line never panics, and a registration
// that decodes has no handles (they come only as SCM_RIGHTS, never from
// JSON).
func FuzzRequest(f *testing.F) {
	for _, s := range []string{`{"op":"register","registration":{"containerID":"c","pid":1,"files":2}}`,
		`{"op":"wait","containerID":"c"}`, `{"op":"status"}`, `{"op":` + strings.Repeat("[", 5000),
		`{"op":"register","registration":{"outputs":` + strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat("}", 1000) + `}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return
		}
		if req.Registration != nil && len(req.Registration.Files) != 0 {
			t.Fatalf("handles decoded from JSON: %q", line)
		}
		resp := errorResponse(ErrBadRequest)
		_ = resp.err()
	})
}
