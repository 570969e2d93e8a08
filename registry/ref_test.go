package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	const sum = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		ref    string
		host   string
		repo   string
		tag    string
		digest bool
		err    string // in the error; "" for none
	}{
		{name: "tag", ref: "oci://registry.example/profiles/web:v1", host: "registry.example", repo: "profiles/web", tag: "v1"},
		{name: "port", ref: "oci://127.0.0.1:5000/web:v1", host: "127.0.0.1:5000", repo: "web", tag: "v1"},
		{name: "localhost", ref: "oci://localhost/a/b/c:latest", host: "localhost", repo: "a/b/c", tag: "latest"},
		{name: "no scheme", ref: "registry.example/web:v1", host: "registry.example", repo: "web", tag: "v1"},
		{name: "digest", ref: "oci://registry.example/web@" + sum, host: "registry.example", repo: "web", digest: true},
		{name: "tag and digest", ref: "oci://registry.example/web:v1@" + sum, host: "registry.example", repo: "web", digest: true},
		{name: "no tag", ref: "oci://registry.example/web", err: "names no tag or digest: add :TAG"},
		{name: "no repository", ref: "oci://registry.example", err: "names no repository"},
		{name: "empty repository", ref: "oci://registry.example/", err: "names no repository"},
		{name: "no host", ref: "oci://profiles/web:v1", err: `"profiles" is not a registry host`},
		{name: "uppercase", ref: "oci://registry.example/Web:v1", err: "invalid repository"},
		{name: "bad tag", ref: "oci://registry.example/web:v/1", err: `invalid tag "v/1"`},
		{name: "bad digest", ref: "oci://registry.example/web@sha256:abc", err: "invalid digest"},
		{name: "space", ref: "oci://registry.example/web:v1 x", err: "spaces or control characters"},
		{name: "empty", ref: "oci://", err: "names no repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRef(tt.ref)
			if tt.err != "" {
				if err == nil || !errors.Is(err, ErrBadRef) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRef(%q) = %v, want ErrBadRef with %q", tt.ref, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Host() != tt.host || r.Repository() != tt.repo || r.Tag() != tt.tag || r.IsDigest() != tt.digest {
				t.Errorf("ParseRef(%q) = host %q repo %q tag %q digest %v", tt.ref, r.Host(), r.Repository(), r.Tag(), r.IsDigest())
			}
			if !strings.HasPrefix(r.String(), Scheme) {
				t.Errorf("String() = %q, want the oci:// scheme", r.String())
			}
		})
	}
}

// A reference with credentials in it is refused without repeating them.
func TestParseRefHidesCredentials(t *testing.T) {
	for _, ref := range []string{
		"oci://tailor:hunter2-secret@registry.example/web:v1",
		"oci://tailor:hunter2-secret@registry.example",
	} {
		_, err := ParseRef(ref)
		if !errors.Is(err, ErrBadRef) {
			t.Fatalf("ParseRef(%q) = %v, want ErrBadRef", ref, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

func TestRefName(t *testing.T) {
	r, err := ParseRef("oci://registry.example/profiles/web:v1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "web" {
		t.Errorf("Name() = %q, want web", r.Name())
	}
	if got, want := r.Pinned("sha256:ab"), "registry.example/profiles/web@sha256:ab"; got != want {
		t.Errorf("Pinned = %q, want %q", got, want)
	}
}
