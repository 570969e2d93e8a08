package main

import (
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
// "--" stays where it is.
func permute(args []string) []string {
	var head []string
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
	}
	if cmd == nil || verbatim[cmd.Name] {
		return args
	}
	var flags, rest []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case a == "-" || !strings.HasPrefix(a, "-"):
			rest = append(rest, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue(cmd, name) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return append(append(head, flags...), rest...)
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
