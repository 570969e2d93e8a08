package hook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiler/wire"
)

func TestParseTraceSyscall(t *testing.T) {
	tests := []struct {
		name, in, of, inf string
		ok                bool
	}{
		{name: "output only", in: "of:/a/out.json", of: "/a/out.json", ok: true},
		{name: "output and input", in: "of:/a/out.json;if:/a/in.json", of: "/a/out.json", inf: "/a/in.json", ok: true},
		{name: "input first", in: "if:/a/in.json;of:/a/out.json", of: "/a/out.json", inf: "/a/in.json", ok: true},
		{name: "no output", in: "if:/a/in.json"},
		{name: "empty", in: ""},
		{name: "unknown key", in: "of:/a/o.json;xf:/b"},
		{name: "repeated output", in: "of:/a/o.json;of:/a/p.json"},
		{name: "empty value", in: "of:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			of, inf, err := ParseTraceSyscall(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseTraceSyscall(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && (of != tt.of || inf != tt.inf) {
				t.Fatalf("ParseTraceSyscall(%q) = %q, %q; want %q, %q", tt.in, of, inf, tt.of, tt.inf)
			}
		})
	}
}

// TestRunHookRefusesBadInput checks that bad annotations fail before the
// tracer is contacted and that nothing is written.
func TestRunHookRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	os.MkdirAll(allowed, 0o755)
	bundle := filepath.Join(dir, "bundle")
	os.MkdirAll(bundle, 0o755)
	os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"root":{"path":"rootfs"}}`), 0o644)
	// No tracer runs in tracerDir and none may be started.
	client := &wire.Client{Dir: filepath.Join(dir, "tracer"), Timeout: 1}
	tests := []struct {
		name, state, want string
	}{
		{name: "not JSON", state: `{`, want: "read OCI state"},
		{name: "no pid", state: `{"id":"c","bundle":"` + bundle + `"}`, want: "no pid"},
		{name: "no annotation", state: `{"id":"c","pid":1,"bundle":"` + bundle + `"}`, want: "no learning requested"},
		{name: "bad store name", state: `{"id":"c","pid":1,"bundle":"` + bundle + `","annotations":{"dev.tailor.learn":"../x"}}`, want: "dev.tailor.learn"},
		{name: "relative output", state: `{"id":"c","pid":1,"bundle":"` + bundle + `","annotations":{"io.containers.trace-syscall":"of:out.json"}}`, want: "not an absolute path"},
		{name: "escaping output", state: `{"id":"c","pid":1,"bundle":"` + bundle + `","annotations":{"io.containers.trace-syscall":"of:` + allowed + `/../x.json"}}`, want: ".."},
		{name: "learning with an escaping output", state: `{"id":"c","pid":1,"bundle":"` + bundle + `","annotations":{"dev.tailor.learn":"web","io.containers.trace-syscall":"of:` + allowed + `/../x.json"}}`, want: ".."},
		{name: "missing input", state: `{"id":"c","pid":1,"bundle":"` + bundle + `","annotations":{"io.containers.trace-syscall":"of:` + allowed + `/o.json;if:` + allowed + `/in.json"}}`, want: "input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Store: filepath.Join(dir, "store"), AllowDirs: []string{allowed}, Tracer: client}
			err := Run(context.Background(), strings.NewReader(tt.state), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error mentioning %q", err, tt.want)
			}
			if errors.Is(err, wire.ErrNoTracer) {
				t.Fatalf("Run contacted the tracer before validating: %v", err)
			}
			entries, _ := os.ReadDir(allowed)
			if len(entries) != 0 {
				t.Fatalf("Run wrote %v", entries)
			}
			if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
				t.Fatal("Run created the store")
			}
		})
	}
}
