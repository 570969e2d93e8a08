package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name:      "generate",
		Usage:     "turn a learned profile into an enforceable seccomp filter",
		ArgsUsage: "PROFILE",
		Description: "Prints the artefact on stdout (or writes it atomically with -o). Notes about\n" +
			"choices the generator made (argument rules it could not make, socketcall on x86,\n" +
			"clone3) go to stderr.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(generator.Formats[0]),
				Usage: "output format: " + joinNames(generator.Formats)},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&cli.StringFlag{Name: "default-action", Value: string(generator.DefaultActions[0]),
				Usage: "seccomp action for syscalls the profile never made: errno (EPERM), enosys, kill (the process) or log"},
		},
		Action: func(c *cli.Context) error {
			req, err := generateRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c.App.Writer, c.App.ErrWriter))
		},
	})
}

// generateReq is a validated `tailor generate` invocation.
type generateReq struct {
	profile *profiles.Profile
	path    string
	output  string
	opts    generator.Options
}

func generateRequest(c *cli.Context) (*generateReq, error) {
	if c.NArg() != 1 {
		return nil, fmt.Errorf("generate takes one PROFILE argument, got %d", c.NArg())
	}
	format, err := generator.ParseFormat(c.String("format"))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	action, err := generator.ParseDefaultAction(c.String("default-action"))
	if err != nil {
		return nil, fmt.Errorf("--default-action: %w", err)
	}
	path := c.Args().First()
	p, err := profiles.Load(path)
	if err != nil {
		return nil, err
	}
	return &generateReq{profile: p, path: path, output: c.String("output"),
		opts: generator.Options{Format: format, Seccomp: generator.SeccompOptions{DefaultAction: action}}}, nil
}

func (r *generateReq) run(stdout, stderr io.Writer) error {
	out, notes, err := generator.Generate(r.profile, r.opts)
	if err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	if !r.profile.Complete {
		fmt.Fprintf(stderr, "tailor: warning: %s is incomplete (something was lost while recording): the output may be too tight\n", r.path)
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "tailor: note: %s\n", n)
	}
	if r.output == "" {
		_, err := stdout.Write(out)
		return err
	}
	return profiles.WriteFileAtomic(r.output, out, 0o644)
}

func joinNames[T ~string](list []T) string {
	var s []string
	for _, v := range list {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}
