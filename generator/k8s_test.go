package generator

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tailor-dev/tailor/profiles"
)

func TestK8s(t *testing.T) {
	v1 := capsOf(profileOf("v1", abiCalls(profiles.ABIX8664, base)), granted("CAP_CHOWN"))
	tests := []struct {
		name    string
		profile *profiles.Profile
		opts    K8sOptions
		// seccomp and apparmor are the localhostProfiles ("" for none).
		seccomp, apparmor string
		notes             []string
	}{
		{name: "localhost", profile: touchProfile(), seccomp: "tailor/web.json", apparmor: "web",
			notes: []string{"copy the seccomp JSON", "/var/lib/kubelet/seccomp/tailor/web.json",
				"load the AppArmor profile web on every node (tailor generate --format apparmor --name web", "Kubernetes 1.30"}},
		{name: "localhost without files", profile: v1, seccomp: "tailor/web.json",
			notes: []string{"no appArmorProfile: the profile did not record files"}},
		{name: "spo", profile: touchProfile(), opts: K8sOptions{SPO: true}, seccomp: "operator/web.json", apparmor: "web",
			notes: []string{"apply the SeccompProfile first (tailor generate --format spo-seccomp --name web)",
				"apply the AppArmorProfile first (tailor generate --format spo-apparmor --name web)"}},
		{name: "spo without programs", profile: func() *profiles.Profile {
			p := touchProfile()
			p.Recorded = []profiles.Dimension{profiles.DimSyscalls, profiles.DimCapabilities, profiles.DimFiles}
			return p
		}(), opts: K8sOptions{SPO: true}, seccomp: "operator/web.json",
			notes: []string{"no appArmorProfile: the profile did not record programs, network"}},
		{name: "patch", profile: touchProfile(), opts: K8sOptions{Container: "nginx"}, seccomp: "tailor/web.json", apparmor: "web",
			notes: []string{"kubectl patch deployment|statefulset|daemonset|replicaset|job WORKLOAD --patch-file FILE",
				"changes container nginx only", "a bare Pod cannot change its securityContext"}},
		{name: "spo patch", profile: touchProfile(), opts: K8sOptions{Container: "nginx", SPO: true},
			seccomp: "operator/web.json", apparmor: "web"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, notes, err := K8s(tc.profile, "web", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "k8s/"+strings.ReplaceAll(tc.name, " ", "-")+".yaml", out)
			checkNotes(t, notes, tc.notes)
			sc := securityContextOf(t, out, tc.opts.Container)
			if sc.AllowPrivilegeEscalation || sc.SeccompProfile.Type != "Localhost" ||
				sc.SeccompProfile.LocalhostProfile != tc.seccomp || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("securityContext %+v: want privilege escalation off, drop ALL, seccomp Localhost %s", sc, tc.seccomp)
			}
			switch {
			case tc.apparmor == "" && sc.AppArmorProfile != nil:
				t.Errorf("appArmorProfile %+v for a profile that cannot make one", sc.AppArmorProfile)
			case tc.apparmor != "" && (sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != "Localhost" ||
				sc.AppArmorProfile.LocalhostProfile != tc.apparmor):
				t.Errorf("appArmorProfile %+v, want Localhost %s", sc.AppArmorProfile, tc.apparmor)
			}
		})
	}
}

// securityContextOf decodes the securityContext of a K8s output, strictly:
// a patch must hold nothing but the one container.
func securityContextOf(t *testing.T, out []byte, container string) k8sSecurityContext {
	t.Helper()
	j, err := yaml.YAMLToJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(j)))
	dec.DisallowUnknownFields()
	if container == "" {
		var doc struct {
			SecurityContext k8sSecurityContext `json:"securityContext"`
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		return doc.SecurityContext
	}
	var patch k8sPodTemplatePatch
	if err := dec.Decode(&patch); err != nil {
		t.Fatalf("decode patch %s: %v", out, err)
	}
	cs := patch.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != container {
		t.Fatalf("patch containers %+v, want one named %s", cs, container)
	}
	return cs[0].SecurityContext
}

func TestK8sRefuses(t *testing.T) {
	p := touchProfile()
	tests := []struct {
		name string
		opts K8sOptions
		prof string
		want string
	}{
		{name: "container with capitals", prof: "web", opts: K8sOptions{Container: "Nginx"}, want: `container name "Nginx"`},
		{name: "container with a dot", prof: "web", opts: K8sOptions{Container: "a.b"}, want: `container name "a.b"`},
		{name: "container too long", prof: "web", opts: K8sOptions{Container: strings.Repeat("a", 64)}, want: "at most 63"},
		{name: "container newline", prof: "web", opts: K8sOptions{Container: "web\nx"}, want: "container name"},
		{name: "localhost name with slash", prof: "a/b", want: `profile name "a/b"`},
		{name: "spo name with capitals", prof: "Web", opts: K8sOptions{SPO: true}, want: "not a Kubernetes object name"},
		{name: "spo name with underscore", prof: "my_web", opts: K8sOptions{SPO: true}, want: "choose one with --name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := K8s(p, tc.prof, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if out, _, err := K8s(p, "web.json", K8sOptions{SPO: true}); err != nil || !strings.Contains(string(out), "localhostProfile: operator/web.json\n") {
		t.Errorf("a SeccompProfile named web.json installs as operator/web.json, as SPO does; got %v\n%s", err, out)
	}
}
