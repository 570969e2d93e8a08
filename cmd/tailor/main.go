// Command tailor records what a container does and turns it into the
// tightest seccomp, capability and AppArmor profiles that still let it run.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"
)

// Exit codes shared by every command. Commands with their own meaning for
// an exit code (learn passes the container's through, diff reports drift)
// document it in their usage.
const (
	exitOK = 0
	// exitUsage is bad input or usage: a flag, file or document at fault.
	exitUsage = 2
	// exitTailor is tailor's own failure while running a container (learn),
	// chosen like podman/docker's 125 so it cannot be mistaken for the
	// container's exit code.
	exitTailor = 125
)

// commands is filled by each command's file (init), so that adding a
// command touches no shared list.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

func main() {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	app := &cli.App{
		Name:     "tailor",
		Usage:    "learn what a container does, then enforce exactly that",
		Commands: commands,
		// Errors are printed once, below, with the exit code they carry.
		ExitErrHandler: func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(os.Stderr, "tailor: no command %q (see tailor --help)\n", name)
			os.Exit(exitUsage)
		},
	}
	err := app.Run(os.Args)
	if err == nil {
		os.Exit(exitOK)
	}
	code := exitUsage
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(os.Stderr, "tailor: %s\n", msg)
	}
	os.Exit(code)
}

// fail wraps err with the exit code it should end the process with.
func fail(code int, err error) error {
	if err == nil {
		return nil
	}
	return cli.Exit(err.Error(), code)
}
