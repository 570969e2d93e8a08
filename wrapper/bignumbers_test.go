package wrapper

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/hook"
)

// bigConfig holds the largest int64 and uint64 values runtime-spec has
// fields for, numbers in forms a re-encoding would change (1.0, 1e3,
// -0), unknown fields, and a hook of the engine's; its own filter refuses
// write unless its first argument is the largest uint64. TAILOR_ENV is
// replaced with the request.
const bigConfig = `{
  "ociVersion": "1.2.0",
  "process": {
    "args": ["/bin/sh"],
    "cwd": "/",
    "env": ["PATH=/bin", "TAILOR_ENV"],
    "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"],
      "permitted": ["CAP_CHOWN", "CAP_KILL"]},
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 18446744073709551615},
      {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}
    ],
    "oomScoreAdj": -1000
  },
  "root": {"path": "rootfs"},
  "hooks": {"poststop": [{"path": "/usr/bin/engine-cleanup", "args": ["engine-cleanup", "--big", "18446744073709551615"], "timeout": 9}]},
  "annotations": {"org.example.big": "18446744073709551615"},
  "linux": {
    "resources": {
      "memory": {"limit": 9223372036854775807, "reservation": 9223372036854775807, "swap": -9223372036854775808},
      "cpu": {"shares": 18446744073709551615, "quota": -9223372036854775808, "period": 18446744073709551615},
      "pids": {"limit": 9223372036854775807}
    },
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [
        {"names": ["execve", "exit", "exit_group", "read", "restart_syscall", "rt_sigreturn"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW",
          "args": [{"index": 0, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
      ]
    },
    "namespaces": [{"type": "mount"}, {"type": "pid"}]
  },
  "x-unknown": {"big": 18446744073709551615, "neg": -9223372036854775808, "float": 1.0, "exp": 1e3, "zero": -0}
}
`

// decodeNumbers decodes a JSON document keeping every number as written.
func decodeNumbers(t *testing.T, what string, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, data)
	}
	return doc
}

// object returns doc's object at path, failing the test when there is none.
func object(t *testing.T, doc map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, k := range path {
		next, ok := doc[k].(map[string]any)
		if !ok {
			t.Fatalf("no object at %s", strings.Join(path, "."))
		}
		doc = next
	}
	return doc
}

// TestRunKeepsBigNumbers runs the create path of the wrapper, learning
// and enforcing, on a config holding the largest int64 and uint64 values:
// with the fields tailor owns taken out of both, the config.json runc
// gets is the document the engine wrote, every number as written.
func TestRunKeepsBigNumbers(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		owned [][]string // the fields tailor writes for this request
		check func(t *testing.T, doc map[string]any)
	}{
		{name: "learning", env: EnvLearn + "=web",
			// The engine's filter stays (the container is learned under
			// it): linux.seccomp is compared with the rest.
			owned: [][]string{{"hooks", "createRuntime"}, {"annotations", hook.AnnotationLearn}},
			check: func(t *testing.T, doc map[string]any) {
				list, _ := object(t, doc, "hooks")["createRuntime"].([]any)
				if h, _ := list[0].(map[string]any); len(list) != 1 || h["path"] != "/usr/local/bin/tailor" {
					t.Errorf("hooks.createRuntime = %v, want the tailor hook alone", list)
				}
				if ann := object(t, doc, "annotations"); ann[hook.AnnotationLearn] != "web" {
					t.Errorf("annotations = %v, want %s=web", ann, hook.AnnotationLearn)
				}
			}},
		{name: "enforcing", env: EnvProfile + "=web",
			owned: [][]string{{"linux", "seccomp"}, {"process", "capabilities"}},
			check: func(t *testing.T, doc map[string]any) {
				checkWriteArg(t, object(t, doc, "linux", "seccomp"))
				if got, _ := json.Marshal(object(t, doc, "process", "capabilities")["bounding"]); string(got) != `["CAP_CHOWN"]` {
					t.Errorf("process.capabilities.bounding = %s, want the profile's", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRuntimeFixture(t, nil, nil)
			f.save(t, webProfile(true))
			config := []byte(strings.Replace(bigConfig, "TAILOR_ENV", tt.env, 1))
			if err := os.WriteFile(f.config(), config, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := f.run(f.createArgs(), bundle.ApplyOptions{}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(f.execs) != 1 {
				t.Fatalf("exec'd %q, want the runtime once", f.execs)
			}
			out, err := os.ReadFile(f.config())
			if err != nil {
				t.Fatal(err)
			}
			got, want := decodeNumbers(t, "rewritten config.json", out), decodeNumbers(t, "config.json", config)
			tt.check(t, got)
			for _, path := range tt.owned {
				for _, doc := range []map[string]any{got, want} {
					parent := object(t, doc, path[:len(path)-1]...)
					delete(parent, path[len(path)-1])
				}
			}
			// An object that held only what tailor wrote (hooks,
			// annotations of an engine without any) is tailor's too.
			for _, k := range []string{"hooks", "annotations"} {
				if m, ok := got[k].(map[string]any); ok && len(m) == 0 && want[k] == nil {
					delete(got, k)
				}
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("outside the fields tailor owns, the rewritten config.json is\n%s\nnot, as the engine wrote it,\n%s", g, w)
			}
		})
	}
}

// checkWriteArg checks that the enforced filter allows write, if at all,
// only with the engine's argument, the largest uint64, as written.
// (generator.Intersect refuses a rule on a value above 32 bits, which
// libseccomp 2.5.4 may compile wider than written.)
func checkWriteArg(t *testing.T, sc map[string]any) {
	t.Helper()
	rules, _ := sc["syscalls"].([]any)
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		names, _ := json.Marshal(rule["names"])
		if !strings.Contains(string(names), `"write"`) || (rule["action"] != "SCMP_ACT_ALLOW" && rule["action"] != "SCMP_ACT_LOG") {
			continue
		}
		args, _ := rule["args"].([]any)
		arg, _ := func() (map[string]any, bool) {
			if len(args) != 1 {
				return nil, false
			}
			a, ok := args[0].(map[string]any)
			return a, ok
		}()
		if arg["value"] != json.Number("18446744073709551615") || arg["index"] != json.Number("0") || arg["op"] != "SCMP_CMP_EQ" {
			t.Errorf("write allowed by %v: want only with argument 0 == 18446744073709551615, as the engine wrote it", rule)
		}
	}
}
