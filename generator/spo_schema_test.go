package generator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/tailor-dev/tailor/profiles"
)

// crdSchema compiles the openAPIV3Schema of version of the CRD in
// testdata/spo/file, tightened to what the API server enforces beyond
// plain JSON Schema (see tighten).
func crdSchema(t *testing.T, file, version string) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "spo", file))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	versions, _ := dig(doc, "spec", "versions").([]any)
	var schema any
	for _, v := range versions {
		if dig(v, "name") == version {
			schema = dig(v, "schema", "openAPIV3Schema")
		}
	}
	if schema == nil {
		t.Fatalf("%s has no version %s with an openAPIV3Schema", file, version)
	}
	tighten(schema)
	c := jsonschema.NewCompiler()
	url := "file:///" + file + ".schema.json"
	if err := c.AddResource(url, schema); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s's schema: %v", file, err)
	}
	return s
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// tighten adds to a structural schema what the API server does on top of
// validating it: it prunes fields the schema does not know (a field tailor
// wrote would be silently lost, so here it is an error), keeps
// x-kubernetes-list-type: set lists free of duplicates, and holds int32
// and int64 fields to their ranges.
func tighten(v any) {
	switch s := v.(type) {
	case map[string]any:
		if _, ok := s["properties"]; ok && s["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := s["additionalProperties"]; !set {
				s["additionalProperties"] = false
			}
		}
		if s["x-kubernetes-list-type"] == "set" {
			s["uniqueItems"] = true
		}
		switch s["format"] {
		case "int32":
			s["maximum"] = json.Number("2147483647")
			if _, ok := s["minimum"]; !ok {
				s["minimum"] = json.Number("-2147483648")
			}
		case "int64":
			s["maximum"] = json.Number("9223372036854775807")
			if _, ok := s["minimum"]; !ok {
				s["minimum"] = json.Number("-9223372036854775808")
			}
		}
		for _, child := range s {
			tighten(child)
		}
	case []any:
		for _, child := range s {
			tighten(child)
		}
	}
}

// validateObject checks a generated object against its CRD's schema and
// the metadata rules the API server applies to every object.
func validateObject(t *testing.T, schema *jsonschema.Schema, kind string, out []byte) {
	t.Helper()
	if err := validateBytes(schema, out); err != nil {
		t.Errorf("the %s does not validate against SPO's v1 CRD schema: %v\n%s", kind, err, out)
	}
	var obj map[string]any
	j, _ := yaml.YAMLToJSON(out)
	if err := json.Unmarshal(j, &obj); err != nil {
		t.Fatal(err)
	}
	if obj["apiVersion"] != SPOAPIVersion || obj["kind"] != kind {
		t.Errorf("apiVersion %v, kind %v: want %s, %s", obj["apiVersion"], obj["kind"], SPOAPIVersion, kind)
	}
	checkMetadata(t, obj)
}

func validateBytes(schema *jsonschema.Schema, out []byte) error {
	j, err := yaml.YAMLToJSON(out)
	if err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
	if err != nil {
		return fmt.Errorf("parse JSON: %w", err)
	}
	return schema.Validate(inst)
}

// TestSPOObjectsValidate validates the objects of every test profile
// against the SPO v1 CRD schemas in testdata/spo.
func TestSPOObjectsValidate(t *testing.T) {
	seccomp := crdSchema(t, "seccompprofile.yaml", "v1")
	apparmor := crdSchema(t, "apparmorprofile.yaml", "v1")
	cases := append(seccompCases(), seccompCase{name: "touch", profile: touchProfile()},
		seccompCase{name: "topbit", profile: profileOf("topbit", abiCalls(profiles.ABIX8664, base, one(withArgs("prctl", 1<<63|1, 4))))})
	for _, tc := range cases {
		if tc.opts.DefaultAction == DefaultENOSYS {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := SPOSeccomp(tc.profile, "web", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			validateObject(t, seccomp, "SeccompProfile", out)
		})
	}
	t.Run("apparmor", func(t *testing.T) {
		for _, p := range []*profiles.Profile{touchProfile(), func() *profiles.Profile {
			p := profileOf("empty")
			p.Recorded = profiles.Dimensions
			p.Normalize()
			return p
		}()} {
			out, _, err := SPOAppArmor(p, "web")
			if err != nil {
				t.Fatal(err)
			}
			validateObject(t, apparmor, "AppArmorProfile", out)
		}
	})
}

// TestSPOSchemaRejects shows that the tightened schemas catch what the API
// server would refuse or drop, so that a pass above means something.
func TestSPOSchemaRejects(t *testing.T) {
	seccomp := crdSchema(t, "seccompprofile.yaml", "v1")
	apparmor := crdSchema(t, "apparmorprofile.yaml", "v1")
	const head = "apiVersion: security-profiles-operator.x-k8s.io/v1\nmetadata: {name: x}\n"
	tests := []struct {
		name   string
		schema *jsonschema.Schema
		doc    string
	}{
		{name: "value above int64", schema: seccomp, doc: head + "kind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n" +
			"  syscalls: [{names: [prctl], action: SCMP_ACT_ALLOW, args: [{index: 0, value: 9223372036854775808, op: SCMP_CMP_EQ}]}]\n"},
		{name: "negative value", schema: seccomp, doc: head + "kind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n" +
			"  syscalls: [{names: [prctl], action: SCMP_ACT_ALLOW, args: [{index: 0, value: -1, op: SCMP_CMP_EQ}]}]\n"},
		{name: "defaultErrnoRet is not a field", schema: seccomp, doc: head + "kind: SeccompProfile\nspec:\n" +
			"  defaultAction: SCMP_ACT_ERRNO\n  defaultErrnoRet: 38\n"},
		{name: "unknown action", schema: seccomp, doc: head + "kind: SeccompProfile\nspec: {defaultAction: SCMP_ACT_FLY}\n"},
		{name: "no defaultAction", schema: seccomp, doc: head + "kind: SeccompProfile\nspec: {architectures: [SCMP_ARCH_X86_64]}\n"},
		{name: "duplicate names", schema: seccomp, doc: head + "kind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n" +
			"  syscalls: [{names: [read, read], action: SCMP_ACT_ALLOW}]\n"},
		{name: "seven arguments", schema: seccomp, doc: head + "kind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n" +
			"  syscalls: [{names: [prctl], action: SCMP_ACT_ALLOW, args: [" + strings.Repeat("{index: 0, op: SCMP_CMP_EQ},", 7) + "]}]\n"},
		{name: "apparmor unknown field", schema: apparmor, doc: head + "kind: AppArmorProfile\nspec:\n  abstract:\n" +
			"    filesystem: {readOnlyPaths: [/etc], appendPaths: [/var/log]}\n"},
		{name: "apparmor mode", schema: apparmor, doc: head + "kind: AppArmorProfile\nspec: {mode: Audit}\n"},
		{name: "apparmor raw policy", schema: apparmor, doc: head + "kind: AppArmorProfile\nspec: {policy: 'profile x {}'}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := validateBytes(tc.schema, []byte(tc.doc)); err == nil {
				t.Errorf("accepted:\n%s", tc.doc)
			}
		})
	}
	if err := validateBytes(seccomp, []byte(head+"kind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n"+
		"  syscalls: [{names: [prctl], action: SCMP_ACT_ALLOW, args: [{index: 0, value: 9223372036854775807, op: SCMP_CMP_EQ}]}]\n")); err != nil {
		t.Errorf("the largest value SPO holds was refused: %v", err)
	}
}
