package bundle

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestEveryRewriteKeepsBigNumbers runs a config holding the largest int64
// and uint64 values runtime-spec has fields for (memory limit, rlimits, a
// seccomp argument) through each path that rewrites a config.json: the
// learning config, apply, and the runtime wrapper's capability narrowing.
// A map round trip would turn them into floats, and runc would refuse the
// config ("cannot unmarshal number ... of type int64").
func TestEveryRewriteKeepsBigNumbers(t *testing.T) {
	config := `{
	"ociVersion": "1.2.0",
	"process": {
		"args": ["sh"],
		"cwd": "/",
		"capabilities": {"bounding": ["CAP_KILL"]},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 18446744073709551615}]
	},
	"root": {"path": "rootfs"},
	"linux": {
		"resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808}},
		"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
			"args": [{"index": 1, "value": 18446744073709551615, "valueTwo": 9223372036854775807, "op": "SCMP_CMP_EQ"}]}]}
	}
}
`
	kept := []string{`"hard": 18446744073709551615`, `"soft": 18446744073709551615`,
		`"limit": 9223372036854775807`, `"swap": -9223372036854775808`}
	seccompArg := []string{`"value": 18446744073709551615`, `"valueTwo": 9223372036854775807`}
	check := func(what string, out []byte, keep []string) {
		t.Helper()
		for _, k := range keep {
			if !strings.Contains(string(out), k) {
				t.Errorf("%s: %s was not kept:\n%s", what, k, out)
			}
		}
		var spec specs.Spec
		if err := json.Unmarshal(out, &spec); err != nil {
			t.Errorf("%s: runc could not decode the result: %v\n%s", what, err, out)
		}
	}

	learned, err := AddLearning([]byte(config), "/b", specs.Hook{Path: "/usr/bin/tailor"})
	if err != nil {
		t.Fatal(err)
	}
	check("learning", learned, append(kept, seccompArg...))

	applied, _, err := ApplyProfile([]byte(config), applyProfile(t), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("apply", applied, kept)

	narrowed, dropped, err := NarrowCapabilities(applied, []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) == 0 {
		t.Error("NarrowCapabilities took nothing away: the path was not exercised")
	}
	check("narrowing", narrowed, kept)
}
