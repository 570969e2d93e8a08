package runtimeargs

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseRuntimeArgs checks Parse's reading of a command line against
// the models of runc and crun (oracle_test.go): whenever a runtime would
// make a container from a bundle, Parse either reads the same command,
// bundle and id (and no crun --config), or refuses; the same for exec's
// container, process file and --cap. It never passes on a create it did
// not read. The input is one byte for the runtime (runc, crun, another)
// and the arguments separated by NUL.
func FuzzParseRuntimeArgs(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.d, strings.Join(s.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, d uint8, line string) {
		args := strings.Split(line, "\x00")
		checkAgainstRuntimes(t, Dialect(d%3), args)
	})
}

func checkAgainstRuntimes(t *testing.T, d Dialect, args []string) {
	t.Helper()
	got, err := Parse(d, args)
	models := map[string]reading{}
	if d != Crun {
		models["runc"] = runcReads(args)
	}
	if d != Runc {
		models["crun"] = crunReads(args)
	}
	for runtime, want := range models {
		if err != nil {
			continue // refused: the runtime never runs
		}
		switch {
		case makesContainer[want.Command]:
			if got.Command != want.Command || got.Bundle != want.Bundle || got.ID != want.ID || want.Config != "" {
				t.Fatalf("%s reads %q as %+v; Parse (%s) took it for %+v", runtime, args, want, d, got)
			}
		case want.Command == "exec":
			if got.Command != "exec" || got.ID != want.ID || got.Process != want.Process || !slices.Equal(got.Caps, want.Caps) {
				t.Fatalf("%s reads %q as %+v; Parse (%s) took it for %+v", runtime, args, want, d, got)
			}
		case want.Command != "" && got.Command != "" && got.Command != want.Command:
			t.Fatalf("%s reads %q as command %q; Parse (%s) took it for %q", runtime, args, want.Command, d, got.Command)
		}
	}
	if err == nil && makesContainer[got.Command] && got.Bundle == "" && slices.Contains(args, "--bundle") {
		t.Fatalf("%q: accepted with the working directory as bundle although --bundle is given", args)
	}
}

type fuzzSeed struct {
	d    uint8
	args []string
}

func fuzzSeeds() []fuzzSeed {
	runc, crun, other := uint8(Runc), uint8(Crun), uint8(Other)
	seeds := []fuzzSeed{
		{runc, []string{"--root", "/run/docker/runtime-runc/moby", "--log", "/b/log.json", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/b/init.pid", "abc"}},
		{crun, []string{"--systemd-cgroup", "--root", "/r", "--log", "/l", "--log-format=json", "create", "--bundle", "/b", "--pid-file", "/p", "--no-pivot", "--console-socket", "/s", "--preserve-fds", "1", "id"}},
		{other, []string{"--root", "/r", "--log=/l", "create", "--bundle=/b", "-b", "/c", "id"}},
		{runc, []string{"-log", "/l", "create", "-b=/b", "id"}},
		{runc, []string{"create", "--b", "/b", "id"}},
		{runc, []string{"create", "--bund", "/x", "id"}},
		{runc, []string{"create", "-b/x", "id"}},
		{runc, []string{"create", "id", "--bundle", "/x"}},
		{runc, []string{"create", "-b", "/a", "--bundle", "/b", "id"}},
		{runc, []string{"create", "--no-pivot", "/x", "--bundle", "/b", "id"}},
		{runc, []string{"create", "--help=false", "-b", "/b", "id"}},
		{runc, []string{"--debug=false", "run", "-d", "--bundle", "--keep", "id"}},
		{crun, []string{"create", "--config", "/x.json", "id"}},
		{crun, []string{"run", "-f", "config.json", "-b", "/b", "id"}},
		{crun, []string{"create", "--conf=/x", "id"}},
		{crun, []string{"create", "--bund", "/x", "id"}},
		{crun, []string{"create", "-b/x", "id"}},
		{crun, []string{"create", "-b=/x", "id"}},
		{crun, []string{"create", "-bundle", "/x", "id"}},
		{crun, []string{"run", "-db", "/x", "id"}},
		{crun, []string{"--ro", "/r", "create", "id"}},
		{crun, []string{"--log-f", "json", "create", "-b", "/b", "id"}},
		{crun, []string{"--program-name", "create", "run", "-b", "/b", "id"}},
		{crun, []string{"restore", "--network-lock", "iptables", "-b", "/b", "id"}},
		{crun, []string{"exec", "--tty=1", "-p", "/p.json", "id"}},
		{crun, []string{"exec", "-tp", "/p.json", "id"}},
		{crun, []string{"exec", "--cap", "CAP_SYS_ADMIN", "--cap=CAP_CHOWN", "id", "sh"}},
		{runc, []string{"exec", "--process", "/p.json", "--detach", "--pid-file", "/pid", "id"}},
		{runc, []string{"exec", "-c", "CAP_SYS_ADMIN", "--cap", "CAP_CHOWN", "id", "sh"}},
		{runc, []string{"exec", "id", "--process", "/p.json"}},
		{other, []string{"exec", "-p", "/p.json", "--", "id"}},
		{other, []string{"--new-value-flag", "x", "create", "--bundle", "/b", "id"}},
		{other, []string{"--new-value-flag", "x", "state", "id"}},
		{other, []string{"create", "--bundle", "-x", "id"}},
		{runc, []string{"restore", "--empty-ns", "network", "--bundle", "/b", "id"}},
		{runc, []string{"--", "create", "--bundle", "/b", "--", "id"}},
		{runc, []string{"-", "create"}},
		{runc, []string{"---bundle", "=", "-=", "--=", "create"}},
		{crun, []string{"create", "--", "-b", "/b"}},
		{other, []string{""}},
		{runc, []string{"create", "\xff\xfe", "--bundle\xff", "/b"}},
	}
	// Slow or odd: long lines stay linear.
	many := func(n int, head []string, unit []string, tail ...string) []string {
		out := slices.Clone(head)
		for range n {
			out = append(out, unit...)
		}
		return append(out, tail...)
	}
	for _, d := range []uint8{runc, crun, other} {
		seeds = append(seeds,
			fuzzSeed{d, many(5000, nil, []string{"--log", "/l"}, "create", "--bundle", "/b", "id")},
			fuzzSeed{d, many(5000, []string{"create"}, []string{"--no-pivot"}, "id")},
			fuzzSeed{d, many(5000, []string{"exec"}, []string{"--cap", "CAP_CHOWN"}, "id", "sh")},
			fuzzSeed{d, many(5000, []string{"create", "--bundle", "/b", "id"}, []string{"x"})},
			fuzzSeed{d, many(5000, []string{"--unknown"}, []string{"x"}, "state")},
			fuzzSeed{d, []string{"create", "--" + strings.Repeat("b", 1<<14), "id"}},
			fuzzSeed{d, []string{strings.Repeat("-", 1<<14), "create"}},
			fuzzSeed{d, []string{"create", "-b", strings.Repeat("/x", 1<<13), "id"}},
		)
	}
	return seeds
}
