package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// verbatim lists the commands whose arguments belong to another program
// (tailor runtime passes the engine's to the real runtime): they are never
// reordered.
var verbatim = map[string]bool{"runtime": true}

// permute moves each command's flags before its arguments, so that flags
// may be typed anywhere (`tailor merge a.json b.json -o out.json`); the
// CLI library stops reading flags at the first argument. Everything after
// "--" stays where it is, and the "--" goes before the arguments, so that
// it ends the flags instead of counting as an argument. A flag that needs
// a value and ends the line is an error: moved before the arguments, it
// would take the first of them as its value.
func permute(args []string) ([]string, error) {
	var head, names []string
	cmds := commands
	var cmd *cli.Command
	i := 0
	// Global flags, then the command and its subcommands.
	for ; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if cmd != nil {
				break
			}
			head = append(head, a)
			continue
		}
		next := find(cmds, a)
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		head = append(head, a)
		names = append(names, a)
	}
	if cmd == nil || verbatim[cmd.Name] {
		return args, nil
	}
	var flags, rest, after []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			after = args[i:]
			i = len(args)
		case a == "-" || !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue(cmd, name) {
				if i+1 == len(args) || args[i+1] == "--" {
					return nil, fmt.Errorf("flag %s needs a value (tailor %s %s VALUE)", a, strings.Join(names, " "), a)
				}
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if len(after) > 0 {
		return slices.Concat(head, flags, after[:1], rest, after[1:]), nil
	}
	return slices.Concat(head, flags, rest), nil
}

func find(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the command's flag name reads the next
// argument as its value (every flag but booleans).
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
