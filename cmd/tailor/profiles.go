package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

func storeFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Value: profiles.DefaultStoreDir, EnvVars: []string{"TAILOR_STORE"},
		Usage: "profile store `DIR`"}
}

func init() {
	register(&cli.Command{
		Name:  "profiles",
		Usage: "list, show and remove the profiles in the store",
		Description: "The store (--store, TAILOR_STORE, default " + profiles.DefaultStoreDir + ") holds one\n" +
			"NAME.json per learned profile; the OCI hook and `tailor runtime` write into it.\n\n" +
			"   tailor profiles list\n   tailor profiles show web > web.json\n   tailor profiles rm web",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list the stored profiles", UsageText: "tailor profiles list [--store DIR] [--format text|json]",
				Flags: []cli.Flag{storeFlag(), &cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"}},
				Action: func(c *cli.Context) error {
					format := c.String("format")
					if format != "text" && format != "json" {
						return fail(exitUsage, fmt.Errorf("--format: unknown format %q (want text or json)", format))
					}
					return fail(exitUsage, listProfiles(c.App.Writer, profiles.NewStore(c.String("store")), format))
				},
			},
			{
				Name: "show", Usage: "print a stored profile", UsageText: "tailor profiles show [--store DIR] NAME",
				Flags: []cli.Flag{storeFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fail(exitUsage, fmt.Errorf("show takes one NAME, got %d arguments", c.NArg()))
					}
					return fail(exitUsage, showProfile(c.App.Writer, profiles.NewStore(c.String("store")), c.Args().First()))
				},
			},
			{
				Name: "rm", Usage: "remove stored profiles", UsageText: "tailor profiles rm [--store DIR] NAME...",
				Flags: []cli.Flag{storeFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return fail(exitUsage, errors.New("rm takes at least one NAME"))
					}
					return fail(exitUsage, removeProfiles(profiles.NewStore(c.String("store")), c.Args().Slice()))
				},
			},
		},
	})
}

func listProfiles(w io.Writer, s *profiles.Store, format string) error {
	entries, err := s.List()
	if err != nil {
		return err
	}
	if format == "json" {
		type entry struct {
			Name     string    `json:"name"`
			Size     int64     `json:"size"`
			Modified time.Time `json:"modified"`
			Complete bool      `json:"complete"`
			Error    string    `json:"error,omitempty"`
		}
		out := []entry{}
		for _, e := range entries {
			j := entry{Name: e.Name, Size: e.Size, Modified: e.ModTime.UTC(), Complete: e.Complete}
			if e.Err != nil {
				j.Error = e.Err.Error()
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tMODIFIED\tSTATUS")
	for _, e := range entries {
		status := "complete"
		switch {
		case e.Err != nil:
			status = "invalid: " + e.Err.Error()
		case !e.Complete:
			status = "incomplete"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", e.Name, e.Size, e.ModTime.UTC().Format(time.RFC3339), status)
	}
	return tw.Flush()
}

func showProfile(w io.Writer, s *profiles.Store, name string) error {
	p, err := s.Load(name)
	if err != nil {
		return err
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func removeProfiles(s *profiles.Store, names []string) error {
	var errs []error
	for _, n := range names {
		if err := s.Remove(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// importFlags configure reading seccomp JSON inputs (merge, diff).
func importFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "seccomp-caps", Usage: "capabilities (`CAP_X,...`) a container is assumed to have when " +
			"evaluating a Docker seccomp profile's includes/excludes (default: none)"},
		&cli.BoolFlag{Name: "strict", Usage: "refuse syscall names libseccomp does not know in a seccomp JSON, instead of skipping them"},
	}
}

func importOptions(c *cli.Context) seccompjson.Options {
	var caps []string
	for _, v := range c.StringSlice("seccomp-caps") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				caps = append(caps, c)
			}
		}
	}
	return seccompjson.Options{Caps: caps, Strict: c.Bool("strict")}
}

// readInput reads a tailor profile or seccomp JSON given as a file path
// or, when no such file exists, as the name of a stored profile.
func readInput(arg string, store *profiles.Store, opts seccompjson.Options) (*seccompjson.Document, error) {
	fi, err := os.Stat(arg)
	if err == nil && !fi.IsDir() {
		return seccompjson.ReadFile(arg, opts)
	}
	if err == nil {
		return nil, fmt.Errorf("%s is a directory: give a profile file or a stored profile's name", arg)
	}
	if !errors.Is(err, fs.ErrNotExist) || profiles.ValidName(arg) != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	path, _ := store.Path(arg)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: no such file, and no profile of that name in the store %s", arg, store.Dir)
	}
	return seccompjson.ReadFile(path, opts)
}
