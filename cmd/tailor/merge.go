package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name:      "merge",
		Usage:     "union several learned profiles (or seccomp JSONs) into one",
		UsageText: "tailor merge [--store DIR] [--name NAME] -o OUT INPUT...",
		Description: "Each INPUT is a file (a tailor profile or a seccomp JSON), the name of a stored profile, or an\n" +
			"oci://HOST/REPO:TAG reference to a profile published with tailor push.\n" +
			"The result allows what any input allows: syscalls per ABI, argument values (a syscall with\n" +
			"no argument rule in one input, e.g. from a seccomp JSON, ends with none), and capabilities.\n" +
			"Each item counts the recordings that saw it; provenance and loss are kept, and the result\n" +
			"is complete only when every input is. The output is the same bytes whatever the order of\n" +
			"the inputs. OUT is written atomically, and not at all when an input is bad (exit 2).\n\n" +
			"   tailor merge -o web.json run1.json run2.json web-nightly\n" +
			"   tailor merge -o - web.json > merged.json",
		Flags: append([]cli.Flag{
			storeFlag(),
			plainHTTPFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "write the merged profile to `OUT` (- for stdout)"},
			&cli.StringFlag{Name: "name", Usage: "the merged profile's `NAME` (default: the inputs' common name, else OUT's base name)"},
		}, importFlags()...),
		Action: func(c *cli.Context) error {
			req, err := mergeRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c.App.Writer))
		},
	})
}

// mergeReq is a validated `tailor merge` invocation.
type mergeReq struct {
	inputs []*profiles.Profile
	output string
	name   string
}

func mergeRequest(c *cli.Context) (*mergeReq, error) {
	if c.NArg() == 0 {
		return nil, errors.New("merge takes at least one INPUT")
	}
	req := &mergeReq{output: c.String("output"), name: c.String("name")}
	if req.name != "" {
		if err := profiles.ValidName(req.name); err != nil {
			return nil, fmt.Errorf("--name: %w", err)
		}
	}
	if fi, err := os.Stat(req.output); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("-o %s: is a directory", req.output)
	}
	store := profiles.NewStore(c.String("store"))
	opts := importOptions(c)
	for _, arg := range c.Args().Slice() {
		d, err := readInputArg(c, arg, store, opts)
		if err != nil {
			return nil, err
		}
		for _, n := range d.Notes {
			fmt.Fprintf(c.App.ErrWriter, "tailor: %s: %s\n", d.Name, n)
		}
		req.inputs = append(req.inputs, d.Profile)
	}
	return req, nil
}

func (r *mergeReq) run(stdout io.Writer) error {
	p, err := profiles.Merge(r.inputs...)
	if err != nil {
		return err
	}
	switch {
	case r.name != "":
		p.Name = r.name
	case p.Name == "" && r.output != "-":
		if base := strings.TrimSuffix(filepath.Base(r.output), ".json"); profiles.ValidName(base) == nil {
			p.Name = base
		}
	}
	if r.output == "-" {
		data, err := p.Marshal()
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
	return p.WriteFile(r.output)
}
