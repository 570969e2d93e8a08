package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register(&cli.Command{
		Name:  "version",
		Usage: "print tailor's version",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintf(c.App.Writer, "tailor %s\n", version)
			return err
		},
	})
}
