// Command tailor records what a container does and turns it into the
// tightest seccomp, capability and AppArmor profiles that still let it run.
package main

import (
	"errors"
	"fmt"
	"io"
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
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is the whole CLI: main and the tests call it. It returns the exit
// code; errors are printed once, on stderr, with the code they carry.
func run(args []string, stdout, stderr io.Writer) int {
	permuted, err := permute(args[1:])
	if err == nil {
		err = newApp(stdout, stderr).Run(append(args[:1:1], permuted...))
	} else {
		err = fail(exitUsage, err)
	}
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "tailor: %s\n", msg)
	}
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.App{
		Name:      "tailor",
		Usage:     "learn what a container does, then enforce exactly that",
		Commands:  ownCommands(commands),
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run, with the exit code they carry.
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(exitUsage, fmt.Errorf("no command %q (see tailor --help)", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// ownCommands copies cmds for one App: urfave/cli writes into the
// commands it runs (help names grow at each App's setup), and the tests run
// many Apps in one process. A command without subcommands gets no "help"
// subcommand (--help stays): its arguments are files and profile names,
// and `tailor profiles rm help` must remove the profile help, not print
// help and exit 0.
func ownCommands(cmds []*cli.Command) []*cli.Command {
	own := make([]*cli.Command, len(cmds))
	for i, c := range cmds {
		cp := *c
		cp.HideHelpCommand = len(c.Subcommands) == 0
		cp.Subcommands = ownCommands(c.Subcommands)
		own[i] = &cp
	}
	return own
}

// fail wraps err with the exit code it should end the process with.
func fail(code int, err error) error {
	if err == nil {
		return nil
	}
	return cli.Exit(err.Error(), code)
}
