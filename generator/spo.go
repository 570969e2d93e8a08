package generator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/tailor-dev/tailor/profiles"
)

// SPOAPIVersion is the Security Profiles Operator API that tailor's SPO
// objects are written for: v1, served since SPO 1.0 (SPO 0.10 had already
// made its profiles cluster-scoped). The tests check the objects against
// SPO's CRDs in testdata/spo.
const SPOAPIVersion = "security-profiles-operator.x-k8s.io/v1"

// LabelPrefix is the prefix of the labels and annotations tailor puts on
// the Kubernetes objects it generates.
const LabelPrefix = "tailor.dev/"

// spoObject is a Security Profiles Operator object as kubectl applies it.
type spoObject[Spec any] struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   spoMeta `json:"metadata"`
	Spec       Spec    `json:"spec"`
}

// spoMeta is the object metadata tailor sets. There is no namespace: SPO's
// v1 SeccompProfile and AppArmorProfile are cluster-scoped.
type spoMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// dnsSubdomain is a Kubernetes object name (RFC 1123 subdomain).
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// checkObjectName refuses a name that the API server would refuse for an
// SPO object, or that would install a profile under a name AppArmor
// reserves.
func checkObjectName(name string) error {
	if len(name) > 253 || !dnsSubdomain.MatchString(name) {
		return fmt.Errorf("profile name %q is not a Kubernetes object name (lowercase letters, digits, '-' and '.', "+
			"starting and ending with a letter or digit, at most 253 characters): choose one with --name", name)
	}
	if name == "unconfined" {
		return fmt.Errorf("profile name %q is reserved by AppArmor and Kubernetes: choose another with --name", name)
	}
	return nil
}

// spoMetadata names the object and carries the profile's provenance:
// labels (sanitised label values) for selecting, annotations for the rest.
func spoMetadata(p *profiles.Profile, name string) spoMeta {
	m := spoMeta{Name: name, Labels: map[string]string{}, Annotations: map[string]string{}}
	label := func(key, value string) {
		if v := labelValue(value); v != "" {
			m.Labels[LabelPrefix+key] = v
		}
	}
	note := func(key, value string) {
		if value != "" {
			m.Annotations[LabelPrefix+key] = annotationValue(value)
		}
	}
	label("profile", p.Name)
	label("runtime", p.Source.Runtime)
	label("syscall-boundary", p.Source.SyscallBoundary)
	label("recordings", strconv.Itoa(p.Source.Recordings))
	label("complete", strconv.FormatBool(p.Complete))
	note("profile", p.Name)
	note("kernel", p.Source.Kernel)
	note("container-id", p.Source.ContainerID)
	if !p.Source.Start.IsZero() || !p.Source.End.IsZero() {
		note("learned", formatTime(p.Source.Start)+"/"+formatTime(p.Source.End))
	}
	var dims []string
	for _, d := range p.Recorded {
		dims = append(dims, string(d))
	}
	note("recorded", strings.Join(dims, ","))
	if !p.Complete {
		note("incomplete", "something was lost while recording: the profile may be too tight ("+lossText(p.Loss)+")")
	}
	return m
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func lossText(l profiles.Loss) string {
	var parts []string
	for _, c := range []struct {
		what string
		n    uint64
	}{{"events", l.Events}, {"tasks", l.Tasks}, {"argument values", l.ArgValues}, {"paths", l.Paths}, {"objects", l.Objects}} {
		if c.n != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	parts = append(parts, l.Reasons...)
	return strings.Join(parts, "; ")
}

// labelValue turns s into a valid label value: at most 63 characters of
// [A-Za-z0-9._-], starting and ending with a letter or digit. Other bytes
// become '-'; an empty result means "no label".
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			b[i] = '-'
		}
	}
	trim := func(v string) string {
		return strings.TrimFunc(v, func(r rune) bool { return r >= utf8.RuneSelf || !isAlnum(byte(r)) })
	}
	v := trim(string(b))
	if len(v) > 63 {
		v = trim(v[:63])
	}
	return v
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// maxAnnotation bounds one annotation value, so that a profile with huge
// provenance strings still gives an object the API server accepts (all
// annotations together may hold 256 KiB).
const maxAnnotation = 1024

// annotationValue makes s valid UTF-8 and at most maxAnnotation bytes.
func annotationValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxAnnotation {
		return s
	}
	cut := maxAnnotation - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func marshalSPO[Spec any](kind string, meta spoMeta, spec Spec) ([]byte, error) {
	out, err := yaml.Marshal(spoObject[Spec]{APIVersion: SPOAPIVersion, Kind: kind, Metadata: meta, Spec: spec})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	return out, nil
}
