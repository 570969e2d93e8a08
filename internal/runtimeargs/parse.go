package runtimeargs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Dialect is how a runtime reads its command line.
type Dialect int

const (
	// Other is a runtime that is neither runc nor crun: only the
	// forms both read alike are taken, and only options one of them has.
	Other Dialect = iota
	// Runc reads as Go's flag package does, through urfave/cli.
	Runc
	// Crun reads as glibc argp does.
	Crun
)

func (d Dialect) String() string {
	switch d {
	case Runc:
		return "runc"
	case Crun:
		return "crun"
	}
	return "the runtime"
}

// DialectOf tells the runtime at path by the name of the file it is
// (following symlinks: a "runc" that links to crun parses like crun).
func DialectOf(path string) Dialect {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	switch filepath.Base(path) {
	case "runc":
		return Runc
	case "crun":
		return Crun
	}
	return Other
}

// arity is how an option takes its value.
type arity int

const (
	noValue   arity = iota // a switch
	value                  // after "=" or as the next argument
	optValue               // crun: only after "=" (--tty[=TTY])
	nextValue              // crun: only as the next argument (restore --network-lock)
)

// runtimes is a set of the runtimes an option exists in.
type runtimes uint8

const (
	inRunc runtimes = 1 << iota
	inCrun
	inBoth = inRunc | inCrun
)

// option is one runtime option: long name without dashes and short letter
// (0 for none). Options of runc 1.1 to 1.5 and crun 1.8 to 1.26: one the
// installed version lacks makes the runtime fail, which is harmless; one
// missing here is refused.
type option struct {
	long  string
	short byte
	arity arity
	in    runtimes
}

func (o option) String() string {
	if o.long != "" {
		return "--" + o.long
	}
	return "-" + string(o.short)
}

// help are the options every urfave (runc) and argp (crun) parser has;
// argp's --program-name and --HANG are hidden from its --help.
var help = []option{
	{"help", 'h', noValue, inRunc},
	{"help", '?', noValue, inCrun},
	{"usage", 0, noValue, inCrun},
	{"program-name", 0, value, inCrun},
	{"HANG", 0, optValue, inCrun},
}

var globalOptions = append([]option{
	{"debug", 0, noValue, inBoth},
	{"log", 0, value, inBoth},
	{"log-format", 0, value, inBoth},
	{"log-level", 0, value, inCrun},
	{"root", 0, value, inBoth},
	{"criu", 0, value, inRunc},
	{"systemd-cgroup", 0, noValue, inBoth},
	{"rootless", 0, value, inBoth},
	{"cgroup-manager", 0, value, inCrun},
	{"version", 'v', noValue, inBoth},
	{"", 'V', noValue, inCrun},
}, help...)

// commandOptions are the options of the commands whose arguments Parse
// reads: those that make a container from a bundle, and exec.
var commandOptions = map[string][]option{
	"create": append([]option{
		{"bundle", 'b', value, inBoth},
		{"config", 'f', value, inCrun},
		{"console-socket", 0, value, inBoth},
		{"pidfd-socket", 0, value, inRunc},
		{"pid-file", 0, value, inBoth},
		{"no-pivot", 0, noValue, inBoth},
		{"no-new-keyring", 0, noValue, inBoth},
		{"no-subreaper", 0, noValue, inCrun},
		{"preserve-fds", 0, value, inBoth},
	}, help...),
	"run": append([]option{
		{"bundle", 'b', value, inBoth},
		{"config", 'f', value, inCrun},
		{"console-socket", 0, value, inBoth},
		{"pidfd-socket", 0, value, inRunc},
		{"detach", 'd', noValue, inBoth},
		{"keep", 0, noValue, inBoth},
		{"pid-file", 0, value, inBoth},
		{"no-subreaper", 0, noValue, inBoth},
		{"no-pivot", 0, noValue, inBoth},
		{"no-new-keyring", 0, noValue, inBoth},
		{"preserve-fds", 0, value, inBoth},
	}, help...),
	"restore": append([]option{
		{"bundle", 'b', value, inBoth},
		{"console-socket", 0, value, inBoth},
		{"image-path", 0, value, inBoth},
		{"work-path", 0, value, inBoth},
		{"tcp-established", 0, noValue, inBoth},
		{"tcp-close", 0, noValue, inCrun},
		{"ext-unix-sk", 0, noValue, inBoth},
		{"shell-job", 0, noValue, inBoth},
		{"file-locks", 0, noValue, inBoth},
		{"manage-cgroups-mode", 0, value, inBoth},
		{"network-lock", 0, nextValue, inCrun},
		{"detach", 'd', noValue, inBoth},
		{"pid-file", 0, value, inBoth},
		{"no-subreaper", 0, noValue, inRunc},
		{"no-pivot", 0, noValue, inRunc},
		{"empty-ns", 0, value, inRunc},
		{"auto-dedup", 0, noValue, inRunc},
		{"lazy-pages", 0, noValue, inRunc},
		{"lsm-profile", 0, value, inBoth},
		{"lsm-mount-context", 0, value, inBoth},
	}, help...),
	"exec": append([]option{
		{"console-socket", 0, value, inBoth},
		{"pidfd-socket", 0, value, inRunc},
		{"cwd", 0, value, inBoth},
		{"env", 'e', value, inBoth},
		{"tty", 't', noValue, inRunc},
		{"tty", 't', optValue, inCrun},
		{"user", 'u', value, inBoth},
		{"additional-gids", 'g', value, inRunc},
		{"process", 'p', value, inBoth},
		{"detach", 'd', noValue, inBoth},
		{"pid-file", 0, value, inBoth},
		{"process-label", 0, value, inBoth},
		{"apparmor", 0, value, inBoth},
		{"no-new-privs", 0, noValue, inBoth},
		{"cap", 'c', value, inBoth},
		{"preserve-fds", 0, value, inBoth},
		{"cgroup", 0, value, inBoth},
		{"ignore-paused", 0, noValue, inRunc},
	}, help...),
}

// makesContainer are the commands that make a container from a bundle's
// config: Parse must read their bundle or refuse them.
var makesContainer = map[string]bool{"create": true, "run": true, "restore": true}

// Request is what tailor runtime needs from an engine's command line.
type Request struct {
	Command   string
	Globals   []string // the arguments before the command, as given
	Log       string   // global --log
	LogFormat string   // global --log-format
	ID        string   // the container of create, run, restore and exec
	Bundle    string   // --bundle of create, run and restore ("" means the working directory)
	Process   string   // exec --process
	Caps      []string // exec --cap
}

// Parse reads args the way runtime d would and finds the command, the log
// settings and, for create, run, restore and exec, their container,
// bundle, process file and capabilities, in a command line of the form:
// global options, command, command options, container id. An error names
// the argument it cannot read and what would fix it; the request has what
// was read before it (the log, to report the error in).
//
// A global option it cannot read hides where the command is: the line is
// refused when "create", "run", "restore" or "exec" follows; otherwise the
// request has no command, and the line can pass through as it is.
func Parse(d Dialect, args []string) (Request, error) {
	var r Request
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !isOption(a) {
			break
		}
		o, v, next, err := readOption(d, globalOptions, args, i)
		if err != nil {
			for _, w := range args[i:] {
				if makesContainer[w] || w == "exec" {
					return r, fmt.Errorf("cannot tell the runtime command: %w; %q follows, and passing the line on could make a container unprepared: refusing",
						err, w)
				}
			}
			return r, nil
		}
		switch o.long {
		case "log":
			r.Log = v
		case "log-format":
			r.LogFormat = v
		}
		i = next
	}
	r.Globals = args[:i:i]
	if i == len(args) {
		return r, nil
	}
	r.Command = args[i]
	var err error
	switch {
	case makesContainer[r.Command]:
		err = r.readCreate(d, args[i+1:])
	case r.Command == "exec":
		err = r.readExec(d, args[i+1:])
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", r.Command, err)
	}
	return r, nil
}

// readCreate reads the options and the container id of create, run and
// restore. It refuses what would leave the bundle in doubt: a --bundle
// given twice or empty, an option after the id, and crun's --config, which
// makes crun read another file than the bundle's config.json.
func (r *Request) readCreate(d Dialect, args []string) error {
	var ids []string
	bundle := false
	for i := 0; i < len(args); {
		a := args[i]
		if a == "--" {
			ids = append(ids, args[i+1:]...)
			break
		}
		if !isOption(a) {
			ids = append(ids, a)
			i++
			continue
		}
		if len(ids) > 0 {
			return fmt.Errorf("%s comes after the container id %q: put every option before the id", a, ids[0])
		}
		o, v, next, err := readOption(d, commandOptions[r.Command], args, i)
		if err != nil {
			return err
		}
		switch o.long {
		case "bundle":
			if bundle {
				return fmt.Errorf("%s: the bundle is given twice (%q, then %q): give it once", a, r.Bundle, v)
			}
			if v == "" {
				return fmt.Errorf("%s: the bundle is empty: give its directory", a)
			}
			r.Bundle, bundle = v, true
		case "config":
			return fmt.Errorf("%s: %s would read the container's config from %q instead of the bundle's config.json, which is the file tailor prepares: write the config to BUNDLE/config.json and drop %s",
				a, d, v, o)
		}
		i = next
	}
	switch len(ids) {
	case 0:
		return fmt.Errorf("no container id: give it last")
	case 1:
		r.ID = ids[0]
		return nil
	}
	return fmt.Errorf("more than one container id (%q): give one, last, after the options", ids)
}

// readExec reads exec's options up to the container id; what follows the
// id is the command to run in it.
func (r *Request) readExec(d Dialect, args []string) error {
	process := false
	for i := 0; i < len(args); {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				r.ID = args[i+1]
			}
			break
		}
		if !isOption(a) {
			r.ID = a
			break
		}
		o, v, next, err := readOption(d, commandOptions["exec"], args, i)
		if err != nil {
			return err
		}
		switch o.long {
		case "process":
			if process {
				return fmt.Errorf("%s: the process file is given twice (%q, then %q): give it once", a, r.Process, v)
			}
			r.Process, process = v, true
		case "cap":
			r.Caps = append(r.Caps, v)
		}
		i = next
	}
	if r.ID == "" {
		return fmt.Errorf("no container id")
	}
	return nil
}

// isOption reports whether a command-line argument is an option ("-" and
// "--" are not: an argument and the end of options).
func isOption(a string) bool {
	return len(a) > 1 && a[0] == '-' && a != "--"
}

// readOption reads the option at args[i] the way runtime d does, and
// returns it, its value and the index of the argument after it.
func readOption(d Dialect, opts []option, args []string, i int) (option, string, int, error) {
	a := args[i]
	var name, v string
	var attached bool
	switch {
	case strings.HasPrefix(a, "--"):
		name, v, attached = strings.Cut(a[2:], "=")
	case d == Runc: // Go's flag package reads -name as --name
		name, v, attached = strings.Cut(a[1:], "=")
	default:
		return readShort(d, opts, args, i)
	}
	if name == "" || name[0] == '-' {
		return option{}, "", 0, fmt.Errorf("%s: not an option %s reads: write --NAME or --NAME=VALUE", a, d)
	}
	o, ok := lookupLong(d, opts, name)
	if !ok {
		return option{}, "", 0, unknownLong(d, opts, a, name)
	}
	switch {
	case o.arity == value && attached, o.arity == optValue && attached:
		return o, v, i + 1, nil
	case o.arity == noValue && attached && d == Runc: // a boolean: -debug=false
		return o, v, i + 1, nil
	case attached && o.arity == nextValue:
		return option{}, "", 0, fmt.Errorf("%s: %s takes its value as the next argument, not after \"=\": write %s %s", a, o, o, v)
	case attached:
		return option{}, "", 0, fmt.Errorf("%s: %s takes no value after \"=\" in %s: write %s", a, o, d, o)
	case o.arity == value, o.arity == nextValue:
		return nextArg(d, o, a, args, i)
	}
	return o, "", i + 1, nil
}

// readShort reads a one-letter option, -x or -x VALUE. crun would also
// read -xVALUE, -x=VALUE (the value "=VALUE") and groups of switches
// (-dt); no engine writes them and Parse refuses them.
func readShort(d Dialect, opts []option, args []string, i int) (option, string, int, error) {
	a := args[i]
	o, ok := lookupShort(d, opts, a[1])
	switch {
	case len(a) > 2 && d == Other && ok && o.arity == value:
		return option{}, "", 0, fmt.Errorf("%s: runc reads it as one option, crun as -%c followed by %q: write -%c VALUE or %s=VALUE", a, a[1], a[2:], a[1], o)
	case len(a) > 2 && d == Other:
		return option{}, "", 0, fmt.Errorf("%s: runc reads it as one option, crun as -%c followed by %q: write --NAME, --NAME=VALUE, -x or -x VALUE", a, a[1], a[2:])
	case !ok:
		return option{}, "", 0, fmt.Errorf("%s: %s has no option -%c%s", a, d, a[1], optionList(d, opts))
	case len(a) > 2 && o.arity == noValue:
		return option{}, "", 0, fmt.Errorf("%s: crun reads it as a group of one-letter options: write them apart (-%c -%s)", a, a[1], a[2:])
	case len(a) > 2:
		return option{}, "", 0, fmt.Errorf("%s: crun reads it as -%c with the value %q: write -%c VALUE or %s=VALUE", a, a[1], a[2:], a[1], o)
	case o.arity == value, o.arity == nextValue:
		return nextArg(d, o, a, args, i)
	}
	return o, "", i + 1, nil
}

// nextArg takes the argument after option a as its value.
func nextArg(d Dialect, o option, a string, args []string, i int) (option, string, int, error) {
	if i+1 >= len(args) {
		return option{}, "", 0, fmt.Errorf("%s needs a value", a)
	}
	v := args[i+1]
	if d == Other && isOption(v) {
		// runc and crun take it as the value; other parsers may take it for an option.
		return option{}, "", 0, fmt.Errorf("%s %s: a value that starts with \"-\" may be read as an option: write %s=%s", a, v, o, v)
	}
	return o, v, i + 2, nil
}

// lookupLong finds a long option by its full name. Go's flag package
// (runc) knows a one-letter option as --b as well as -b.
func lookupLong(d Dialect, opts []option, name string) (option, bool) {
	for _, o := range opts {
		if o.in&d.runtimes() == 0 {
			continue
		}
		if o.long != "" && o.long == name || d == Runc && len(name) == 1 && o.short == name[0] {
			return o, true
		}
	}
	return option{}, false
}

func lookupShort(d Dialect, opts []option, c byte) (option, bool) {
	for _, o := range opts {
		if o.in&d.runtimes() != 0 && o.short != 0 && o.short == c {
			return o, true
		}
	}
	return option{}, false
}

func (d Dialect) runtimes() runtimes {
	switch d {
	case Runc:
		return inRunc
	case Crun:
		return inCrun
	}
	return inBoth
}

// unknownLong explains a long option Parse does not know: for crun
// (and unknown runtimes) a prefix of known names is an abbreviation that
// crun would expand.
func unknownLong(d Dialect, opts []option, a, name string) error {
	if d == Runc && a[1] != '-' && len(name) > 1 {
		if o, ok := lookupShort(d, opts, name[0]); ok && o.arity == value {
			return fmt.Errorf("%s: runc has no such option, and reads no value attached to -%c: write -%c %s", a, name[0], name[0], name[1:])
		}
	}
	var expands []string
	for _, o := range opts {
		if o.in&d.runtimes() != 0 && o.long != "" && strings.HasPrefix(o.long, name) && !slices.Contains(expands, o.String()) {
			expands = append(expands, o.String())
		}
	}
	switch {
	case len(expands) > 0 && d == Runc:
		return fmt.Errorf("%s: runc has no such option (%s?)", a, strings.Join(expands, ", "))
	case len(expands) == 1:
		return fmt.Errorf("%s: an abbreviation (of %s), which crun expands: tailor runtime reads options only written in full: write %s",
			a, expands[0], expands[0])
	case len(expands) > 1:
		return fmt.Errorf("%s: an abbreviation (of %s), which crun finds ambiguous: write the option in full", a, strings.Join(expands, " or "))
	case d == Other:
		return fmt.Errorf("%s: an option neither runc nor crun has, so tailor runtime cannot tell how the runtime reads it: drop it%s", a, optionList(d, opts))
	}
	return fmt.Errorf("%s: %s has no such option%s", a, d, optionList(d, opts))
}

func optionList(d Dialect, opts []option) string {
	var names []string
	for _, o := range opts {
		if o.in&d.runtimes() == 0 || o.long == "program-name" || o.long == "HANG" {
			continue
		}
		s := o.String()
		if o.long != "" && o.short != 0 {
			s += "/-" + string(o.short)
		}
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return " (options: " + strings.Join(names, " ") + ")"
}
