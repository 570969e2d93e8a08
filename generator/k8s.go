package generator

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/tailor-dev/tailor/profiles"
)

// K8sProfileDir is where generated seccomp JSONs live under the kubelet's
// seccomp root (localhostProfile: tailor/NAME.json).
const K8sProfileDir = "tailor"

// SPOProfileDir is where the Security Profiles Operator writes the
// SeccompProfile objects it installs, below the kubelet's seccomp root
// (localhostProfile: operator/NAME.json). Its v1 objects are
// cluster-scoped, so the path holds no namespace.
const SPOProfileDir = "operator"

// K8sOptions tunes FormatK8s.
type K8sOptions struct {
	// Container, when set, makes the output a strategic-merge patch of a
	// workload's pod template (spec.template.spec.containers) that sets
	// the securityContext of the container of that name only.
	Container string
	// SPO makes the securityContext reference the profiles the Security
	// Profiles Operator installs from --format spo-seccomp and
	// spo-apparmor objects, instead of files copied to each node.
	SPO bool
}

var (
	k8sName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// dnsLabel is a Kubernetes container name (RFC 1123 label).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// k8sProfileRef is a securityContext's seccompProfile or appArmorProfile.
type k8sProfileRef struct {
	Type             string `json:"type"`
	LocalhostProfile string `json:"localhostProfile"`
}

type k8sCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop"`
}

// k8sSecurityContext is the part of a Kubernetes container's
// securityContext that tailor decides.
type k8sSecurityContext struct {
	AllowPrivilegeEscalation bool            `json:"allowPrivilegeEscalation"`
	AppArmorProfile          *k8sProfileRef  `json:"appArmorProfile,omitempty"`
	Capabilities             k8sCapabilities `json:"capabilities"`
	SeccompProfile           k8sProfileRef   `json:"seccompProfile"`
}

type k8sContainer struct {
	Name            string             `json:"name"`
	SecurityContext k8sSecurityContext `json:"securityContext"`
}

// k8sPodTemplatePatch is a strategic-merge patch of a workload's pod
// template. Kubernetes merges containers by name, so the patch changes
// only the named container's securityContext, and within it only the
// fields tailor sets (capabilities.add and drop are replaced whole).
type k8sPodTemplatePatch struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers []k8sContainer `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// K8s returns a container securityContext (YAML) that enforces the
// profile: privilege escalation off, every capability dropped but the
// minimal set, the seccomp JSON as a Localhost profile, and the AppArmor
// profile when the profile recorded what one needs (Kubernetes 1.30's
// appArmorProfile field). The profiles are files below the kubelet's
// seccomp root (tailor/NAME.json) and an AppArmor profile NAME loaded on
// each node, or with opts.SPO the ones the Security Profiles Operator
// installs from tailor's SPO objects. With opts.Container the output is a
// strategic-merge patch for that container of a workload.
func K8s(p *profiles.Profile, name string, opts K8sOptions) ([]byte, []Note, error) {
	if opts.SPO {
		if err := checkObjectName(name); err != nil {
			return nil, nil, fmt.Errorf("generate k8s: %w", err)
		}
	} else if !k8sName.MatchString(name) {
		return nil, nil, fmt.Errorf("generate k8s: profile name %q: use letters, digits, '.', '_' and '-' only", name)
	}
	if opts.Container != "" && (len(opts.Container) > 63 || !dnsLabel.MatchString(opts.Container)) {
		return nil, nil, fmt.Errorf("generate k8s: container name %q is not a Kubernetes container name "+
			"(lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", opts.Container)
	}
	c, notes, err := Capabilities(p)
	if err != nil {
		return nil, nil, err
	}
	sc := k8sSecurityContext{Capabilities: k8sCapabilities{Drop: []string{"ALL"}}}
	for _, capName := range c.Bounding {
		sc.Capabilities.Add = append(sc.Capabilities.Add, strings.TrimPrefix(capName, "CAP_"))
	}
	sc.SeccompProfile = k8sProfileRef{Type: "Localhost", LocalhostProfile: K8sProfileDir + "/" + name + ".json"}
	if opts.SPO {
		sc.SeccompProfile.LocalhostProfile = spoSeccompLocalhostProfile(name)
	}
	notes = append(notes, k8sSeccompNote(sc.SeccompProfile.LocalhostProfile, name, opts.SPO))
	// An appArmorProfile names a profile that must exist on the node, and
	// only a recording of what the container touches can make one.
	aaDims := []profiles.Dimension{profiles.DimFiles}
	if opts.SPO {
		aaDims = spoAppArmorDims
	}
	if err := p.RequireRecorded(aaDims...); err != nil {
		notes = append(notes, Note{Text: "no appArmorProfile: " + err.Error()})
	} else {
		sc.AppArmorProfile = &k8sProfileRef{Type: "Localhost", LocalhostProfile: name}
		notes = append(notes, k8sAppArmorNote(name, opts.SPO))
	}
	var doc any = struct {
		SecurityContext k8sSecurityContext `json:"securityContext"`
	}{sc}
	if opts.Container != "" {
		var patch k8sPodTemplatePatch
		patch.Spec.Template.Spec.Containers = []k8sContainer{{Name: opts.Container, SecurityContext: sc}}
		doc = patch
		notes = append(notes, Note{Text: fmt.Sprintf("apply the patch with kubectl patch deployment|statefulset|daemonset|replicaset|job "+
			"WORKLOAD --patch-file FILE: a strategic merge that changes container %s only; a bare Pod cannot change "+
			"its securityContext (put it in the Pod's manifest), and a CronJob's template is under spec.jobTemplate", opts.Container)})
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("encode securityContext: %w", err)
	}
	return out, notes, nil
}

func k8sSeccompNote(localhostProfile, name string, spo bool) Note {
	if spo {
		return Note{Text: fmt.Sprintf("apply the SeccompProfile first (tailor generate --format spo-seccomp --name %s): "+
			"the Security Profiles Operator installs it on every node as <kubelet root>/seccomp/%s", name, localhostProfile)}
	}
	return Note{Text: fmt.Sprintf("copy the seccomp JSON (tailor generate --format seccomp) to "+
		"<kubelet root>/seccomp/%s on every node (default /var/lib/kubelet/seccomp/%[1]s)", localhostProfile)}
}

func k8sAppArmorNote(name string, spo bool) Note {
	const needs = "; appArmorProfile needs Kubernetes 1.30 or later, and a node without AppArmor refuses the pod"
	if spo {
		return Note{Text: fmt.Sprintf("apply the AppArmorProfile first (tailor generate --format spo-apparmor --name %s): "+
			"the Security Profiles Operator loads it on every node as profile %[1]s"+needs, name)}
	}
	return Note{Text: fmt.Sprintf("load the AppArmor profile %s on every node (tailor generate --format apparmor --name %[1]s, "+
		"then apparmor_parser -r FILE)"+needs, name)}
}

// spoSeccompLocalhostProfile is where the Security Profiles Operator
// installs the SeccompProfile object name, relative to the kubelet's
// seccomp root: like the operator, it adds .json unless the name ends so.
func spoSeccompLocalhostProfile(name string) string {
	if strings.HasSuffix(name, ".json") {
		return SPOProfileDir + "/" + name
	}
	return SPOProfileDir + "/" + name + ".json"
}
