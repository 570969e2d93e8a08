package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles/storedir"
)

// TestLinksOnlyTheHook: the hook binary's start is on every hooked
// container's critical path, and what it links decides its package inits
// and page faults. It links the hook and what the hook reads with, and
// nothing that generates profiles, loads BPF, talks to a registry or
// renders the manual. A new dependency fails here until it is added to
// allowed on purpose.
func TestLinksOnlyTheHook(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (add /usr/local/go/bin): %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := []string{
		"github.com/tailor-dev/tailor/cmd/tailor-hook",
		"github.com/tailor-dev/tailor/hook",
		"github.com/tailor-dev/tailor/profiler/wire",
		"github.com/tailor-dev/tailor/profiles/storedir",
		"github.com/tailor-dev/tailor/internal/bounded",
		"github.com/tailor-dev/tailor/internal/jsondoc",
		"github.com/tailor-dev/tailor/internal/jsonfield",
		"github.com/tailor-dev/tailor/internal/ociconfig",
		"github.com/opencontainers/runtime-spec/specs-go",
		"golang.org/x/sys/unix",
	}
	heavy := []string{
		"github.com/tailor-dev/tailor/generator", "github.com/tailor-dev/tailor/profiles/drift",
		"github.com/tailor-dev/tailor/bpf", "github.com/tailor-dev/tailor/hook/sink",
		"github.com/cilium/ebpf", "oras.land/", "github.com/urfave/cli", "github.com/russross/blackfriday",
		"github.com/cpuguy83/go-md2man", "sigs.k8s.io/yaml", "go.yaml.in/yaml", "github.com/moby/profiles",
		"github.com/seccomp/libseccomp-golang",
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/tailor-dev/tailor/hook") {
		t.Fatalf("go list -deps does not list the hook package: %q", deps)
	}
	for _, d := range deps {
		switch d {
		case "github.com/tailor-dev/tailor/profiler":
			t.Errorf("tailor-hook links %s (the tracer, with BPF): use profiler/wire", d)
		case "github.com/tailor-dev/tailor/profiles":
			t.Errorf("tailor-hook links %s (the profile model, with libseccomp through cgo): use profiles/storedir or internal/jsondoc", d)
		}
		for _, h := range heavy {
			if strings.HasPrefix(d, h) {
				t.Errorf("tailor-hook links %s", d)
			}
		}
		if !slices.Contains(allowed, d) && !strings.HasPrefix(d, "vendor/") {
			t.Errorf("tailor-hook links %s, which is not in the allowed list: is the hook's start worth it?", d)
		}
	}
	std, err := exec.Command(goTool, "list", "-deps", "-f", "{{if .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range []string{"net/http", "crypto/tls", "go/parser", "text/template", "html/template"} {
		if slices.Contains(strings.Fields(string(std)), d) {
			t.Errorf("tailor-hook links %s", d)
		}
	}
}

// TestStatic: the hook binary is built without cgo (make build:
// CGO_ENABLED=0), as the Landlock helper is: no dynamic loader, libc or
// libseccomp to map and relocate before main, on every hooked start. No
// package it links outside the standard library may need cgo, and the
// binary built so has no interpreter and no shared library.
func TestStatic(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (add /usr/local/go/bin): %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		t.Errorf("tailor-hook links %s, which needs cgo", d)
	}
	bin := filepath.Join(t.TempDir(), "tailor-hook")
	build := exec.Command(goTool, "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("CGO_ENABLED=0 tailor-hook has a %s program header: it is linked dynamically", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("CGO_ENABLED=0 tailor-hook needs shared libraries %q (%v)", libs, err)
	}
	syms, _ := f.Symbols() // none in a stripped binary; this one is not
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "runtime/cgo.") || strings.HasPrefix(s.Name, "github.com/seccomp/libseccomp-golang.") {
			t.Errorf("CGO_ENABLED=0 tailor-hook has the symbol %s", s.Name)
			break
		}
	}
	if len(syms) == 0 {
		t.Error("the test binary has no symbol table: cannot check what it links")
	}
}

// TestFlags: tailor hook's flags, read as the cli package reads them
// (repeated or comma-separated --allow-dir, TAILOR_STORE as --store's
// default).
func TestFlags(t *testing.T) {
	t.Setenv("TAILOR_STORE", "/env/store")
	var stderr bytes.Buffer
	opts, err := parse([]string{"--allow-dir", "/a, /b", "-allow-dir=/c", "--learn-replaces",
		"--output", "/o/p.json", "--tracer-dir", "/t", "--tracer-timeout", "3s"}, &stderr)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, stderr.String())
	}
	if !slices.Equal(opts.AllowDirs, []string{"/a", "/b", "/c"}) || !opts.LearnReplaces || opts.Output != "/o/p.json" ||
		opts.Store != "/env/store" {
		t.Errorf("options = %+v", opts)
	}
	if opts.Tracer == nil || opts.Tracer.Dir != "/t" || opts.Tracer.Timeout != 3*time.Second || opts.Tracer.Start == nil {
		t.Errorf("tracer client = %+v", opts.Tracer)
	}
	opts, err = parse([]string{"--store", "/flag/store"}, &stderr)
	if err != nil || opts.Store != "/flag/store" {
		t.Errorf("--store over TAILOR_STORE: %q, %v", opts.Store, err)
	}
}

func TestDefaults(t *testing.T) {
	var stderr bytes.Buffer
	opts, err := parse(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := lookupStore(); ok {
		t.Skipf("TAILOR_STORE=%s is set in the test's environment", v)
	}
	if opts.Store != storedir.DefaultDir || opts.Tracer.Dir != wire.DefaultDir ||
		opts.Tracer.Timeout != hook.DefaultTracerTimeout || len(opts.AllowDirs) != 0 || opts.LearnReplaces {
		t.Errorf("defaults = %+v, tracer %+v", opts, opts.Tracer)
	}
}

// TestExitCodes: usage errors exit 2, a refused container 1, each with
// one line on stderr; nothing is registered.
func TestExitCodes(t *testing.T) {
	allowed := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"unknown flag", []string{"--allow-dirs", allowed}, "{}", exitUsage, "not defined"},
		{"argument", []string{"--allow-dir", allowed, "extra"}, "{}", exitUsage, "takes no arguments"},
		{"bad duration", []string{"--tracer-timeout", "soon"}, "{}", exitUsage, "invalid value"},
		{"not JSON", []string{"--allow-dir", allowed}, "not json", exitRefused, "OCI state"},
		{"no pid", []string{"--allow-dir", allowed}, `{"ociVersion":"1.0.2","id":"c","status":"creating"}`, exitRefused, "no pid"},
		{"allow-dir not clean", []string{"--allow-dir", allowed + "/../x"}, "{}", exitRefused, "--allow-dir"},
		{"nothing to learn", []string{"--allow-dir", allowed, "--tracer-dir", filepath.Join(t.TempDir(), "none"), "--tracer-timeout", "1ms"},
			`{"ociVersion":"1.0.2","id":"c","status":"creating","pid":1,"bundle":"/nonexistent"}`, exitRefused, "no learning requested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.want)
			}
			if tt.code == exitRefused && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("want one line on stderr, got %q", stderr.String())
			}
		})
	}
}
