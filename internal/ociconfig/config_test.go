package ociconfig

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bigConfig holds the largest int64 and uint64 values runtime-spec has
// fields for: a map round trip would turn them into floats, and runc would
// refuse the config ("cannot unmarshal number ... of type int64").
const bigConfig = `{
	"ociVersion": "1.2.0",
	"process": {
		"args": ["sh"],
		"cwd": "/",
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 18446744073709551615}]
	},
	"root": {"path": "rootfs"},
	"linux": {
		"resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808}},
		"x-unknown": 1e400
	}
}
`

// bigNumbers are the bytes of bigConfig that every edit must keep.
var bigNumbers = []string{
	`"hard": 18446744073709551615`, `"soft": 18446744073709551615`,
	`"limit": 9223372036854775807`, `"swap": -9223372036854775808`, `"x-unknown": 1e400`,
}

func checkKept(t *testing.T, out []byte, keep []string) {
	t.Helper()
	for _, k := range keep {
		if !strings.Contains(string(out), k) {
			t.Errorf("%s was not kept:\n%s", k, out)
		}
	}
	var spec specs.Spec
	if err := json.Unmarshal(out, &spec); err != nil {
		t.Errorf("runc could not decode the result: %v\n%s", err, out)
	}
}

func TestEditKeepsEveryOtherByte(t *testing.T) {
	cfg, err := Parse([]byte(bigConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set(map[string]string{"defaultAction": "SCMP_ACT_ALLOW"}, "linux", "seccomp"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("web", "annotations", "dev.tailor.learn"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Append(specs.Hook{Path: "/bin/true"}, "hooks", "createRuntime"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Append(specs.Hook{Path: "/bin/false"}, "hooks", "createRuntime"); err != nil {
		t.Fatal(err)
	}
	out := cfg.Bytes()
	checkKept(t, out, bigNumbers)
	want := `{
	"ociVersion": "1.2.0",
	"process": {
		"args": ["sh"],
		"cwd": "/",
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 18446744073709551615}]
	},
	"root": {"path": "rootfs"},
	"linux": {
		"resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808}},
		"x-unknown": 1e400,
		"seccomp": {
			"defaultAction": "SCMP_ACT_ALLOW"
		}
	},
	"annotations": {
		"dev.tailor.learn": "web"
	},
	"hooks": {
		"createRuntime": [
			{
				"path": "/bin/true"
			},
			{
				"path": "/bin/false"
			}
		]
	}
}
`
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestEditCompactAndNull(t *testing.T) {
	cfg, err := Parse([]byte(`{"process":{"args":["sh"]},"linux":null,"hooks":{"createRuntime":null},"annotations":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return cfg.Set(json.RawMessage(`{"defaultAction":"SCMP_ACT_LOG"}`), "linux", "seccomp") },
		func() error { return cfg.Append(map[string]string{"path": "/h"}, "hooks", "createRuntime") },
		func() error { return cfg.Set("x", "annotations", "a") },
		func() error { return cfg.Set(true, "process", "noNewPrivileges") },
		func() error { return cfg.Set("/abs", "process", "args", 0) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"process":{"args":["/abs"],"noNewPrivileges":true},"hooks":{"createRuntime":[{"path":"/h"}]},"annotations":{"a":"x"},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_LOG"}}}`
	if got := string(cfg.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := cfg.Set("x", "process", "args", 5); err == nil {
		t.Error("set of a missing array element accepted")
	}
	if err := cfg.Set("x", "process", "args", "k"); err == nil {
		t.Error("set of a key inside an array accepted")
	}
}

func TestParseConfigRefuses(t *testing.T) {
	deep := `{"process":{"args":["sh"]},"x":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`
	tests := []struct {
		name, config, want string
	}{
		{"case variant after", `{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}},"Linux":{"seccomp":null}}`, `key "Linux" is not runtime-spec's "linux"`},
		{"case variant alone", `{"Linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}`, `key "Linux" is not runtime-spec's "linux"`},
		{"case variant nested", `{"process":{"args":["sh"],"Args":["evil"]}}`, `process: key "Args"`},
		{"case variant in an array", `{"mounts":[{"destination":"/a","Destination":"/b"}]}`, `mounts[]: key "Destination"`},
		{"unicode fold (long s)", `{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"ſeccomp":null}}`, `key "ſeccomp" is not runtime-spec's "seccomp"`},
		{"unicode fold (kelvin)", `{"hoo\u212as":{"createRuntime":[]}}`, `is not runtime-spec's "hooks"`},
		{"exact duplicate in annotations", `{"annotations":{"a":"1","a":"2"}}`, `"a" appears twice`},
		{"too deep", deep, "nested too deeply"},
		{"too large", `{"x":"` + strings.Repeat("a", MaxSize) + `"}`, "more than"},
		{"not an object", `[1]`, "not a JSON object"},
		{"invalid", `{"process":`, "unexpected end"},
		{"wrong type", `{"process":{"args":"sh"}}`, "args"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.config))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	// Map keys are data: case variants there are two annotations.
	if _, err := Parse([]byte(`{"annotations":{"a":"1","A":"2"},"linux":{"sysctl":{"net.X":"1","net.x":"2"}}}`)); err != nil {
		t.Errorf("case-variant map keys refused: %v", err)
	}
}

func TestDetectIndent(t *testing.T) {
	tests := []struct {
		name, doc, indent string
		ok                bool
	}{
		{name: "tabs", doc: "{\n\t\"a\": 1\n}", indent: "\t", ok: true},
		{name: "two spaces", doc: "{\n  \"a\": 1\n}", indent: "  ", ok: true},
		{name: "four spaces", doc: "  {\n    \"a\": 1\n}\n", indent: "    ", ok: true},
		{name: "one line", doc: `{"a":1}`},
		{name: "newline without indent", doc: "{\n\"a\":1}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			indent, ok := detectIndent([]byte(tc.doc))
			if indent != tc.indent || ok != tc.ok {
				t.Errorf("detectIndent = %q, %v; want %q, %v", indent, ok, tc.indent, tc.ok)
			}
		})
	}
}

// TestUnknownKeysKept: keys that are no runtime-spec field (and fold to
// none) are unknown fields, kept; their own case variants are fine.
func TestUnknownKeysKept(t *testing.T) {
	cfg, err := Parse([]byte(`{"x-Vendor":{"a":1},"x-vendor":{"A":2},"linux":{"x":1,"X":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("web", "annotations", "dev.tailor.learn"); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(cfg.Bytes()); err != nil {
		t.Errorf("edited document refused: %v", err)
	}
}
