package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

// defaultActionFlag is the seccomp default action, shared by every command
// that generates a filter.
func defaultActionFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "default-action", Value: string(generator.DefaultActions[0]), Usage: usage}
}

// seccompOptions reads --default-action.
func seccompOptions(c *cli.Context) (generator.SeccompOptions, error) {
	action, err := generator.ParseDefaultAction(c.String("default-action"))
	if err != nil {
		return generator.SeccompOptions{}, fmt.Errorf("--default-action: %w", err)
	}
	return generator.SeccompOptions{DefaultAction: action}, nil
}

// profileArg loads the command's single PROFILE argument.
func profileArg(c *cli.Context) (string, *profiles.Profile, error) {
	if c.NArg() != 1 {
		return "", nil, fmt.Errorf("%s takes one PROFILE argument, got %d", c.Command.Name, c.NArg())
	}
	path := c.Args().First()
	p, err := profiles.Load(path)
	if err != nil {
		return "", nil, err
	}
	return path, p, nil
}
