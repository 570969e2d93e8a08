package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLinksNoCommandLine: a cold hook waits for this binary's start, and
// what it links decides its package inits and page faults. It links the
// recorder, the profiler and the hook's sink (which generates the
// profile's seccomp JSON), and nothing of tailor's command line, the
// registry or the manual.
func TestLinksNoCommandLine(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH (add /usr/local/go/bin): %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"github.com/tailor-dev/tailor/bpf", "github.com/tailor-dev/tailor/profiler", "github.com/tailor-dev/tailor/hook/sink"} {
		if !slices.Contains(deps, want) {
			t.Errorf("go list -deps does not list %s", want)
		}
	}
	heavy := []string{
		"github.com/urfave/cli", "github.com/russross/blackfriday", "github.com/cpuguy83/go-md2man", "oras.land/",
		"github.com/opencontainers/go-digest", "github.com/tailor-dev/tailor/registry",
		"github.com/tailor-dev/tailor/bundle", "github.com/tailor-dev/tailor/wrapper", "github.com/tailor-dev/tailor/complain",
		"net/http", "crypto/tls", "text/template", "html/template",
	}
	for _, d := range deps {
		for _, h := range heavy {
			if d == h || strings.HasPrefix(d, strings.TrimSuffix(h, "/")+"/") {
				t.Errorf("tailor-tracer links %s", d)
			}
		}
	}
}

// TestUsage: tailor tracer's flags and exit codes, without loading BPF.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		say  string
	}{
		{[]string{"-h"}, 0, "usage: tailor-tracer"},
		{[]string{"--help"}, 0, "-tracer-dir"},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--idle", "soon"}, exitUsage, "invalid value"},
		{[]string{"--task-quota", "-1"}, exitUsage, "invalid value"},
		{[]string{"--task-quota", "4294967296"}, exitUsage, "out of range"},
		{[]string{"--no-such-flag"}, exitUsage, "not defined"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.say) {
			t.Errorf("tailor-tracer %q: exit %d, want %d saying %q:\n%s", tc.args, code, tc.code, tc.say, &stderr)
		}
	}
}
