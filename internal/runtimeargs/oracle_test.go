package runtimeargs

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The models below say what runc and crun would do with a command line,
// written apart from Parse so that the two can be compared: runc's with
// Go's flag package itself (which runc's urfave/cli v1 drives), crun's as
// glibc argp reads options. Option lists are those of runc 1.1
// to 1.5 and crun 1.8 to 1.26, so that a line any of them would accept is
// one Parse must read alike or refuse.

// reading is what a runtime does with a command line, as far as Parse
// cares. Command is "" when the runtime fails, or prints help or
// its version and exits.
type reading struct {
	Command string
	ID      string
	Bundle  string   // create, run, restore: as given ("" is the working directory)
	Config  string   // crun --config naming another file than BUNDLE/config.json
	Process string   // exec --process
	Caps    []string // exec --cap
}

// sliceFlag is urfave's StringSlice: each use appends, and all the names
// of one option share it.
type sliceFlag struct{ values *[]string }

func (s sliceFlag) String() string {
	if s.values == nil {
		return ""
	}
	return strings.Join(*s.values, ",")
}
func (s sliceFlag) Set(v string) error { *s.values = append(*s.values, v); return nil }

// intSliceFlag is urfave's Int64Slice (exec --additional-gids).
type intSliceFlag struct{}

func (intSliceFlag) String() string { return "" }
func (intSliceFlag) Set(v string) error {
	_, err := strconv.ParseInt(v, 0, 64)
	return err
}

// runcFlags is one urfave/cli v1 flag list: names with their aliases.
type runcFlags struct {
	bools, strings, ints, slices, intSlices [][]string
}

var runcGlobal = runcFlags{
	bools:   [][]string{{"debug"}, {"systemd-cgroup"}, {"help", "h"}, {"version", "v"}},
	strings: [][]string{{"log"}, {"log-format"}, {"root"}, {"criu"}, {"rootless"}},
}

var runcCommands = map[string]runcFlags{
	"create": {
		bools:   [][]string{{"no-pivot"}, {"no-new-keyring"}, {"help", "h"}},
		strings: [][]string{{"bundle", "b"}, {"console-socket"}, {"pidfd-socket"}, {"pid-file"}},
		ints:    [][]string{{"preserve-fds"}},
	},
	"run": {
		bools:   [][]string{{"detach", "d"}, {"keep"}, {"no-subreaper"}, {"no-pivot"}, {"no-new-keyring"}, {"help", "h"}},
		strings: [][]string{{"bundle", "b"}, {"console-socket"}, {"pidfd-socket"}, {"pid-file"}},
		ints:    [][]string{{"preserve-fds"}},
	},
	"restore": {
		bools: [][]string{{"tcp-established"}, {"ext-unix-sk"}, {"shell-job"}, {"file-locks"}, {"detach", "d"},
			{"no-subreaper"}, {"no-pivot"}, {"auto-dedup"}, {"lazy-pages"}, {"help", "h"}},
		strings: [][]string{{"console-socket"}, {"image-path"}, {"work-path"}, {"manage-cgroups-mode"}, {"bundle", "b"},
			{"pid-file"}, {"lsm-profile"}, {"lsm-mount-context"}},
		slices: [][]string{{"empty-ns"}},
	},
	"exec": {
		bools: [][]string{{"tty", "t"}, {"detach", "d"}, {"no-new-privs"}, {"ignore-paused"}, {"help", "h"}},
		strings: [][]string{{"console-socket"}, {"pidfd-socket"}, {"cwd"}, {"user", "u"}, {"process", "p"}, {"pid-file"},
			{"process-label"}, {"apparmor"}},
		ints:      [][]string{{"preserve-fds"}},
		slices:    [][]string{{"env", "e"}, {"cap", "c"}, {"cgroup"}},
		intSlices: [][]string{{"additional-gids", "g"}},
	},
}

// parsedFlags is a parsed urfave flag set: the value of each option under
// its first name, as urfave's normalizeFlags leaves it.
type parsedFlags struct {
	set    *flag.FlagSet
	slices map[string]*[]string
	first  map[string]string // any name -> the option's first name
}

func (p parsedFlags) str(name string) string {
	if f := p.set.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

func (p parsedFlags) on(name string) bool { return p.str(name) == "true" }

// parse parses args with Go's flag package the way urfave/cli v1 does,
// including its refusal of two names of one option.
func (fl runcFlags) parse(args []string) (parsedFlags, error) {
	p := parsedFlags{set: flag.NewFlagSet("runc", flag.ContinueOnError), slices: map[string]*[]string{}, first: map[string]string{}}
	p.set.SetOutput(io.Discard)
	p.set.Usage = func() {}
	var groups [][]string
	each := func(list [][]string, def func(names []string, name string)) {
		for _, names := range list {
			groups = append(groups, names)
			for _, n := range names {
				p.first[n] = names[0]
				def(names, n)
			}
		}
	}
	each(fl.bools, func(_ []string, n string) { p.set.Bool(n, false, "") })
	each(fl.strings, func(_ []string, n string) { p.set.String(n, "", "") })
	each(fl.ints, func(_ []string, n string) { p.set.Int(n, 0, "") })
	each(fl.slices, func(names []string, n string) {
		if p.slices[names[0]] == nil {
			p.slices[names[0]] = new([]string)
		}
		p.set.Var(sliceFlag{p.slices[names[0]]}, n, "")
	})
	each(fl.intSlices, func(_ []string, n string) { p.set.Var(intSliceFlag{}, n, "") })
	if err := p.set.Parse(args); err != nil {
		return p, err
	}
	visited := map[string]string{}
	var twice error
	p.set.Visit(func(f *flag.Flag) {
		if other, ok := visited[p.first[f.Name]]; ok && other != f.Name {
			twice = errors.New("two forms of one flag")
		}
		visited[p.first[f.Name]] = f.Name
	})
	if twice != nil {
		return p, twice
	}
	for _, names := range groups { // normalizeFlags: copy the value given to the first name
		if used, ok := visited[names[0]]; ok && used != names[0] && p.slices[names[0]] == nil {
			if err := p.set.Set(names[0], p.str(used)); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

// urfaveReorder moves a command's flags (and a value after each, when it
// does not start with "-") before its other arguments, as urfave/cli v1
// does for commands without SkipArgReorder; "--" and what follows stay last.
func urfaveReorder(args []string) []string {
	var flags, rest []string
	value := false
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if value && !strings.HasPrefix(a, "-") {
			flags, value = append(flags, a), false
			continue
		}
		value = false
		if a != "-" && strings.HasPrefix(a, "-") {
			flags, value = append(flags, a), !strings.Contains(a, "=")
		} else {
			rest = append(rest, a)
		}
	}
	return append(flags, rest...)
}

// runcReads is what runc would do with args.
func runcReads(args []string) reading {
	g, err := runcGlobal.parse(args)
	if err != nil || g.on("help") || g.on("version") || g.set.NArg() == 0 {
		return reading{}
	}
	cmd, rest := g.set.Arg(0), g.set.Args()[1:]
	fl, ok := runcCommands[cmd]
	if !ok {
		return reading{Command: cmd}
	}
	if cmd != "exec" {
		rest = urfaveReorder(rest)
	}
	c, err := fl.parse(rest)
	if err != nil || c.on("help") {
		return reading{}
	}
	r := reading{Command: cmd, ID: c.set.Arg(0)}
	switch {
	case cmd == "exec" && (c.set.NArg() < 1 || c.str("process") == "" && c.set.NArg() < 2):
		return reading{}
	case cmd == "exec":
		r.Process = c.str("process")
		if caps := c.slices["cap"]; caps != nil {
			r.Caps = *caps
		}
	case c.set.NArg() != 1:
		return reading{}
	default:
		r.Bundle = c.str("bundle")
	}
	return r
}

// How an argp option takes its value.
const (
	argpNone = iota
	argpRequired
	argpOptional
	argpNext // declared without one, but crun's handler takes the next argument
)

type argpOption struct {
	long  string
	short byte
	arg   int
}

// argpSameKey are options declared with another one's key, which getopt
// then takes for one option: in crun 1.8 --rootless has --root's key, so
// --ro is --root there.
var argpSameKey = map[string]string{"rootless": "root"}

// argpDefaults are the options argp adds to every parser.
var argpDefaults = []argpOption{{"help", '?', argpNone}, {"usage", 0, argpNone}, {"program-name", 0, argpRequired}, {"HANG", 0, argpOptional}}

var crunGlobal = append([]argpOption{
	{"debug", 0, argpNone}, {"cgroup-manager", 0, argpRequired}, {"systemd-cgroup", 0, argpNone},
	{"log", 0, argpRequired}, {"log-format", 0, argpRequired}, {"log-level", 0, argpRequired},
	{"root", 0, argpRequired}, {"rootless", 0, argpRequired}, {"version", 'v', argpNone}, {"", 'V', argpNone},
}, argpDefaults...)

var crunCommands = map[string][]argpOption{
	"create": append([]argpOption{
		{"bundle", 'b', argpRequired}, {"config", 'f', argpRequired}, {"console-socket", 0, argpRequired},
		{"preserve-fds", 0, argpRequired}, {"no-pivot", 0, argpNone}, {"pid-file", 0, argpRequired},
		{"no-subreaper", 0, argpNone}, {"no-new-keyring", 0, argpNone},
	}, argpDefaults...),
	"run": append([]argpOption{
		{"bundle", 'b', argpRequired}, {"config", 'f', argpRequired}, {"detach", 'd', argpNone},
		{"console-socket", 0, argpRequired}, {"preserve-fds", 0, argpRequired}, {"pid-file", 0, argpRequired},
		{"keep", 0, argpNone}, {"no-subreaper", 0, argpNone}, {"no-new-keyring", 0, argpNone}, {"no-pivot", 0, argpNone},
	}, argpDefaults...),
	"restore": append([]argpOption{
		{"bundle", 'b', argpRequired}, {"image-path", 0, argpRequired}, {"work-path", 0, argpRequired},
		{"tcp-established", 0, argpNone}, {"tcp-close", 0, argpNone}, {"ext-unix-sk", 0, argpNone},
		{"shell-job", 0, argpNone}, {"detach", 'd', argpNone}, {"pid-file", 0, argpRequired},
		{"console-socket", 0, argpRequired}, {"file-locks", 0, argpNone}, {"manage-cgroups-mode", 0, argpRequired},
		{"network-lock", 0, argpNext}, {"lsm-profile", 0, argpRequired}, {"lsm-mount-context", 0, argpRequired},
	}, argpDefaults...),
	"exec": append([]argpOption{
		{"console-socket", 0, argpRequired}, {"tty", 't', argpOptional}, {"process", 'p', argpRequired},
		{"cwd", 0, argpRequired}, {"cgroup", 0, argpRequired}, {"detach", 'd', argpNone},
		{"user", 'u', argpRequired}, {"env", 'e', argpRequired}, {"cap", 'c', argpRequired},
		{"pid-file", 0, argpRequired}, {"preserve-fds", 0, argpRequired}, {"no-new-privs", 0, argpNone},
		{"process-label", 0, argpRequired}, {"apparmor", 0, argpRequired},
	}, argpDefaults...),
}

// argpValue is one option read, under its long name (or its letter).
type argpValue struct{ name, value string }

// argpParse reads options as glibc's argp_parse with ARGP_IN_ORDER and an
// arg_index: up to the first argument that is not an option (or after
// "--"), long options by their full name or an unambiguous prefix, short
// ones alone, grouped or with their value attached. It returns the
// options and the arguments after them, or ok false where argp would fail
// or exit (help, usage).
func argpParse(opts []argpOption, args []string) (vals []argpValue, rest []string, ok bool) {
	key := func(o argpOption) string {
		switch {
		case argpSameKey[o.long] != "":
			return argpSameKey[o.long]
		case o.long != "":
			return o.long
		}
		return string(o.short)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return vals, args[i+1:], true
		}
		if len(a) < 2 || a[0] != '-' {
			return vals, args[i:], true
		}
		if a[1] == '-' {
			name, v, eq := strings.Cut(a[2:], "=")
			var match []argpOption
			for _, o := range opts {
				if o.long != "" && o.long == name {
					match = []argpOption{o}
					break
				}
				if o.long != "" && strings.HasPrefix(o.long, name) {
					match = append(match, o)
				}
			}
			if len(match) == 0 {
				return nil, nil, false
			}
			for _, m := range match[1:] {
				if key(m) != key(match[0]) || m.arg != match[0].arg {
					return nil, nil, false // ambiguous
				}
			}
			o := match[0]
			switch {
			case (o.arg == argpNone || o.arg == argpNext) && eq:
				return nil, nil, false
			case o.arg == argpRequired && !eq, o.arg == argpNext:
				if i+1 >= len(args) {
					return nil, nil, false
				}
				i++
				v = args[i]
			}
			vals = append(vals, argpValue{key(o), v})
			continue
		}
		for j := 1; j < len(a); {
			var o argpOption
			found := false
			for _, c := range opts {
				if c.short != 0 && c.short == a[j] {
					o, found = c, true
					break
				}
			}
			if !found {
				return nil, nil, false
			}
			j++
			switch o.arg {
			case argpNone:
				vals = append(vals, argpValue{key(o), ""})
				continue
			case argpRequired:
				v := a[j:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, nil, false
					}
					i++
					v = args[i]
				}
				vals = append(vals, argpValue{key(o), v})
			case argpOptional:
				vals = append(vals, argpValue{key(o), a[j:]})
			}
			break
		}
	}
	return vals, nil, true
}

// crunReads is what crun would do with args.
func crunReads(args []string) reading {
	vals, rest, ok := argpParse(crunGlobal, args)
	if !ok || len(rest) == 0 {
		return reading{}
	}
	for _, v := range vals {
		if v.name == "version" || v.name == "V" {
			return reading{}
		}
	}
	cmd := rest[0]
	opts, ok := crunCommands[cmd]
	if !ok {
		return reading{Command: cmd}
	}
	vals, ids, ok := argpParse(opts, rest[1:])
	if !ok {
		return reading{}
	}
	r := reading{Command: cmd}
	process := false
	for _, v := range vals {
		switch v.name {
		case "help", "usage":
			return reading{}
		case "bundle":
			r.Bundle = v.value
		case "config":
			r.Config = v.value
		case "process":
			r.Process, process = v.value, true
		case "cap":
			r.Caps = append(r.Caps, v.value)
		}
	}
	if r.Config == "config.json" { // crun reads this very name in the bundle
		r.Config = ""
	}
	switch {
	case cmd == "exec" && (len(ids) < 1 || !process && len(ids) < 2):
		return reading{}
	case cmd != "exec" && len(ids) != 1:
		return reading{}
	}
	r.ID = ids[0]
	return r
}

// TestRuntimeModels pins what the models say about the forms Parse
// refuses or takes, so that the fuzz target compares against runc and crun
// as they are (runc 1.1.5 and crun 1.8.1 behave so on the command line).
func TestRuntimeModels(t *testing.T) {
	create := func(bundle, id string) reading { return reading{Command: "create", Bundle: bundle, ID: id} }
	tests := []struct {
		name      string
		read      func([]string) reading
		args      []string
		want      reading
		wantCaps  []string
		wantNoCmd bool
	}{
		{"runc: containerd's create", runcReads, []string{"--root", "/r", "--log", "/l", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/p", "id"}, create("/b", "id"), nil, false},
		{"runc: one dash, value after =", runcReads, []string{"-log", "/l", "create", "-b=/b", "id"}, create("/b", "id"), nil, false},
		{"runc: --b is -b", runcReads, []string{"create", "--b", "/b", "id"}, create("/b", "id"), nil, false},
		{"runc: no abbreviations", runcReads, []string{"create", "--bund", "/b", "id"}, reading{}, nil, true},
		{"runc: no attached value", runcReads, []string{"create", "-b/b", "id"}, reading{}, nil, true},
		{"runc: options after the id move forward", runcReads, []string{"create", "id", "--bundle", "/b"}, create("/b", "id"), nil, false},
		{"runc: two forms of one option", runcReads, []string{"create", "-b", "/a", "--bundle", "/b", "id"}, reading{}, nil, true},
		{"runc: --help=false creates", runcReads, []string{"create", "--help=false", "id"}, create("", "id"), nil, false},
		{"runc: exec stops at the id", runcReads, []string{"exec", "id", "--process", "/p"}, reading{Command: "exec", ID: "id"}, nil, false},
		{"runc: exec caps", runcReads, []string{"exec", "-c", "CAP_A", "-c", "CAP_B", "id", "sh"}, reading{Command: "exec", ID: "id"}, []string{"CAP_A", "CAP_B"}, false},
		{"crun: containerd's create", crunReads, []string{"--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/p", "id"}, create("/b", "id"), nil, false},
		{"crun: abbreviation", crunReads, []string{"create", "--bund", "/x", "id"}, create("/x", "id"), nil, false},
		{"crun: attached short value", crunReads, []string{"create", "-b/x", "id"}, create("/x", "id"), nil, false},
		{"crun: -b=/x is the value =/x", crunReads, []string{"create", "-b=/x", "id"}, create("=/x", "id"), nil, false},
		{"crun: -bundle is -b undle", crunReads, []string{"create", "-bundle", "id"}, create("undle", "id"), nil, false},
		{"crun: grouped", crunReads, []string{"run", "-db", "/x", "id"}, reading{Command: "run", Bundle: "/x", ID: "id"}, nil, false},
		{"crun: --config", crunReads, []string{"create", "--config", "/c.json", "-b", "/b", "id"}, reading{Command: "create", Bundle: "/b", Config: "/c.json", ID: "id"}, nil, false},
		{"crun: --config config.json is the bundle's", crunReads, []string{"create", "-f", "config.json", "id"}, create("", "id"), nil, false},
		{"crun: ambiguous abbreviation", crunReads, []string{"--lo", "/l", "create", "id"}, reading{}, nil, true},
		{"crun 1.8: --ro is --root", crunReads, []string{"--ro", "/r", "create", "id"}, create("", "id"), nil, false},
		{"crun: options stop at the id", crunReads, []string{"create", "id", "--bundle", "/b"}, reading{}, nil, true},
		{"crun: network-lock takes the next argument", crunReads, []string{"restore", "--network-lock", "x", "id"}, reading{Command: "restore", ID: "id"}, nil, false},
		{"crun: --program-name is an option", crunReads, []string{"--program-name", "create", "state", "id"}, reading{Command: "state"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.read(tt.args)
			tt.want.Caps = tt.wantCaps
			if !reflect.DeepEqual(got, tt.want) || tt.wantNoCmd != (got.Command == "") {
				t.Errorf("%q: %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}
