package ociconfig

import (
	"fmt"
	"strings"
	"testing"
)

// step is one edit of a config.
type step struct {
	name string
	do   func(*Config) error
}

// TestPendingEditsAgree: edits kept pending and applied together give
// the bytes that applying each at once (a fresh Parse between them) gives,
// whatever they overlap: a child then its parent, one value twice, two
// members into one object, an edit after a read.
func TestPendingEditsAgree(t *testing.T) {
	set := func(v any, path ...any) step {
		return step{fmt.Sprintf("set %v", path), func(c *Config) error { return c.Set(v, path...) }}
	}
	add := func(v any, path ...any) step {
		return step{fmt.Sprintf("append %v", path), func(c *Config) error { return c.Append(v, path...) }}
	}
	get := step{"get", func(c *Config) error { c.Get("linux"); return nil }}
	steps := []step{
		set("/b/rootfs", "root", "path"),
		set("/b/a", "mounts", 0, "source"),
		set("/b/b", "mounts", 1, "source"),
		set("/b/a2", "mounts", 0, "source"),
		add(map[string]any{"path": "/x"}, "hooks", "createRuntime"),
		add(map[string]any{"path": "/y"}, "hooks", "createRuntime"),
		set("v", "annotations", "one"),
		set("w", "annotations", "two"),
		get,
		set(map[string]any{"defaultAction": "SCMP_ACT_ERRNO"}, "linux", "seccomp"),
		set("SCMP_ACT_LOG", "linux", "seccomp", "defaultAction"),
		set([]string{"CAP_CHOWN"}, "process", "capabilities", "bounding"),
		set(map[string]any{"bounding": []string{}}, "process", "capabilities"),
		set("/b/c", "mounts", 1, "source"),
		set([]any{}, "mounts"),
		add(map[string]any{"destination": "/d", "source": "s"}, "mounts"),
		add(map[string]any{"destination": "/e"}, "mounts"),
	}
	withMounts := strings.Replace(bigConfig, `"root": {"path": "rootfs"},`,
		`"root": {"path": "rootfs"},`+"\n\t"+`"mounts": [{"destination": "/a", "source": "a"}, {"destination": "/b", "source": "b"}],`, 1)
	for _, doc := range []string{withMounts, compactConfig, mountsConfig} {
		stepwise, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		batched, _ := Parse([]byte(doc))
		for _, s := range steps {
			if err := s.do(stepwise); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			stepwise, err = Parse(stepwise.Bytes())
			if err != nil {
				t.Fatalf("after %s: %v", s.name, err)
			}
			if err := s.do(batched); err != nil {
				t.Fatalf("%s (batched): %v", s.name, err)
			}
		}
		if got, want := string(batched.Bytes()), string(stepwise.Bytes()); got != want {
			t.Errorf("edits applied together:\n%s\nwant, as applied one by one:\n%s", got, want)
		}
	}
}

const compactConfig = `{"ociVersion":"1.2.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},` +
	`"mounts":[{"destination":"/a","source":"a","options":["bind"]},{"destination":"/b","source":"b"}],"linux":{"seccomp":null}}`

const mountsConfig = `{
  "ociVersion": "1.2.0",
  "process": {"args": ["sh"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "annotations": {},
  "mounts": [
    {"destination": "/a", "source": "a", "options": ["bind"]},
    {"destination": "/b", "source": "b"}
  ],
  "linux": {}
}`

// TestEditRefusedWhereItStands: an edit that would nest the document
// deeper than MaxDepth is refused when made, not when the result is read.
func TestEditRefusedWhereItStands(t *testing.T) {
	deep := strings.Repeat(`{"x":`, MaxDepth-3) + `{}` + strings.Repeat(`}`, MaxDepth-3)
	c, err := Parse([]byte(`{"ociVersion":"1.2.0","annotations":{},"x-deep":` + deep + `}`))
	if err != nil {
		t.Fatal(err)
	}
	var v any = "leaf"
	for range 4 {
		v = map[string]any{"x": v}
	}
	path := []any{"x-deep"}
	for range MaxDepth - 3 {
		path = append(path, "x")
	}
	if err := c.Set(v, path...); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("Set of a value beyond MaxDepth: %v, want nested too deeply", err)
	}
	if _, err := Parse(c.Bytes()); err != nil {
		t.Fatalf("the refused edit left a document Parse refuses: %v", err)
	}
}

// hostileConfig is a config of about size bytes: mounts with relative
// sources (each one rewritten by learning), each with unknown keys.
func hostileConfig(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "mounts": [`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"destination": "/m%d", "source": "s%d", "options": ["bind"], "x-Unknown-%d": {"Linux": %d}}`, i, i, i, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// TestEditsLinear: parsing a config and rewriting each of its mounts (as
// learning does), then adding a hook and a filter, allocates in
// proportion to the document. Rebuilding the tree on each edit, or
// folding every field name for each unknown key, grew with its square.
func TestEditsLinear(t *testing.T) {
	allocs := func(size int) float64 {
		doc := hostileConfig(size)
		return testing.AllocsPerRun(1, func() {
			c, err := Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := c.Spec()
			if err != nil {
				t.Fatal(err)
			}
			for i := range spec.Mounts {
				if err := c.Set(fmt.Sprintf("/bundle/s%d", i), "mounts", i, "source"); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Append(map[string]any{"path": "/tailor"}, "hooks", "createRuntime"); err != nil {
				t.Fatal(err)
			}
			if err := c.Set(map[string]any{"defaultAction": "SCMP_ACT_ALLOW"}, "linux", "seccomp"); err != nil {
				t.Fatal(err)
			}
			if len(c.Bytes()) < size {
				t.Fatal("the edited config lost bytes")
			}
		})
	}
	small, large := allocs(1<<20), allocs(4<<20)
	if large > 6*small {
		t.Errorf("a 4 MB config allocates %.0f times, 1 MB %.0f: growth %.1f, want about 4", large, small, large/small)
	}
}
