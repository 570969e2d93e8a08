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
		Usage: "list, show, promote and remove the profiles in the store",
		Description: "The store (--store, TAILOR_STORE, default " + profiles.DefaultStoreDir + ") holds one\n" +
			"NAME.json per profile that containers enforce (TAILOR_PROFILE=NAME), and the recordings\n" +
			"learning runs (dev.tailor.learn=NAME, TAILOR_LEARN=NAME) leave beside them: a container\n" +
			"asking to be learned never changes what others enforce. `promote` merges the recordings\n" +
			"into the profile, an operator's decision (or run the hook or runtime with --learn-replaces).\n\n" +
			"   tailor profiles list\n   tailor profiles recordings web\n   tailor profiles promote web\n" +
			"   tailor profiles show web > web.json\n   tailor profiles rm web",
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
				Name: "recordings", Usage: "list the pending recordings of a profile",
				UsageText: "tailor profiles recordings [--store DIR] [--namespace NS] NAME",
				Flags:     []cli.Flag{storeFlag(), namespaceFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fail(exitUsage, fmt.Errorf("recordings takes one NAME, got %d arguments", c.NArg()))
					}
					return fail(exitUsage, listRecordings(c.App.Writer, profiles.NewStore(c.String("store")),
						profiles.Scope(c.String("namespace")), c.Args().First()))
				},
			},
			{
				Name: "promote", Usage: "merge the pending recordings of NAME into the profile containers enforce",
				UsageText: "tailor profiles promote [--store DIR] [--namespace NS] [--as TARGET] [--replace] NAME",
				Description: "Merges the recordings of NAME (of the host, or of a Kubernetes namespace) into the stored\n" +
					"profile TARGET (default NAME, or NS.NAME for a namespace), creating it if missing; with\n" +
					"--replace the recordings alone become it. The recordings are removed. Review what a\n" +
					"promotion adds first: tailor diff TARGET RECORDING (paths from tailor profiles recordings).",
				Flags: []cli.Flag{storeFlag(), namespaceFlag,
					&cli.StringFlag{Name: "as", Usage: "the profile `TARGET` to promote into"},
					&cli.BoolFlag{Name: "replace", Usage: "replace TARGET with the recordings instead of merging them into it"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fail(exitUsage, fmt.Errorf("promote takes one NAME, got %d arguments", c.NArg()))
					}
					scope, name := profiles.Scope(c.String("namespace")), c.Args().First()
					target := c.String("as")
					if target == "" {
						target = scope.PromotedName(name)
					}
					p, n, err := profiles.NewStore(c.String("store")).Promote(scope, name, target, c.Bool("replace"))
					if err != nil {
						return fail(exitUsage, err)
					}
					fmt.Fprintf(c.App.Writer, "promoted %d recording(s) of %s (%s) into %s: %d syscalls, %d capabilities%s\n",
						n, name, scope, target, countSyscalls(p), len(p.GrantedCapabilities()), map[bool]string{true: "", false: " (INCOMPLETE)"}[p.Complete])
					return nil
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
	return writeEntries(w, "NAME", entries)
}

// writeEntries prints stored profiles or recordings as a table.
func writeEntries(w io.Writer, first string, entries []profiles.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tSIZE\tMODIFIED\tSTATUS\n", first)
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

var namespaceFlag = &cli.StringFlag{Name: "namespace", Usage: "the Kubernetes `NAMESPACE` the recordings were made in (default: the host's)"}

func listRecordings(w io.Writer, s *profiles.Store, scope profiles.Scope, name string) error {
	entries, err := s.Recordings(scope, name)
	if err != nil {
		return err
	}
	return writeEntries(w, "RECORDING", entries)
}

func countSyscalls(p *profiles.Profile) int {
	n := 0
	for _, a := range p.ABIs {
		n += len(a.Syscalls)
	}
	return n
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
