package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/registry"
)

func init() {
	register(&cli.Command{
		Name:      "push",
		Usage:     "publish a profile to an OCI registry, with its seccomp JSON for CRI-O and Kubernetes",
		UsageText: "tailor push [--plain-http] [--default-action ACTION] PROFILE oci://HOST[:PORT]/REPO:TAG",
		Description: "Stores the profile file byte for byte as an OCI artifact (artifact type " + registry.ArtifactType + ")\n" +
			"with the seccomp JSON generated from it as a second layer, and beside it the seccomp JSON alone\n" +
			"in the form CRI-O's seccomp-profile.kubernetes.cri-o.io annotation and Kubernetes OCI profiles\n" +
			"pull (config media type " + registry.MediaTypeSeccompProfile + "), whose digest\n" +
			"reference is printed. Logins come from docker login / podman login (see docs/registry.md).\n" +
			"Wherever tailor reads a profile (generate, diff, merge, apply, report) oci://REF works.\n\n" +
			"   tailor push web.json oci://registry.example/profiles/web:v1\n" +
			"   tailor diff --fail-on high oci://registry.example/profiles/web:v1 current.json",
		Flags: []cli.Flag{
			plainHTTPFlag(),
			defaultActionFlag("the seccomp JSON layer's action for syscalls the profile never made: errno (EPERM), enosys, kill or log"),
		},
		Action: func(c *cli.Context) error {
			req, err := pushRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c.Context, c.App.Writer, c.App.ErrWriter))
		},
	})
	register(&cli.Command{
		Name:      "pull",
		Usage:     "fetch a profile from an OCI registry, byte for byte as pushed",
		UsageText: "tailor pull [--plain-http] [-o FILE] oci://HOST[:PORT]/REPO:TAG|oci://HOST[:PORT]/REPO@sha256:DIGEST",
		Description: "Fetches what tailor push stored, checks every byte against its digest and validates the\n" +
			"profile, then writes it atomically to FILE (or to stdout). Anything but a tailor profile\n" +
			"artifact is refused, and nothing is written.\n\n" +
			"   tailor pull -o web.json oci://registry.example/profiles/web:v1",
		Flags: []cli.Flag{
			plainHTTPFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the profile to `FILE` (default: stdout)"},
		},
		Action: func(c *cli.Context) error {
			req, err := pullRequest(c)
			if err != nil {
				return fail(exitUsage, err)
			}
			return fail(exitUsage, req.run(c, c.App.Writer))
		},
	})
}

// pushReq is a validated `tailor push` invocation.
type pushReq struct {
	path    string
	ref     string
	profile []byte // the file's bytes, pushed as they are
	seccomp []byte
	notes   []generator.Note // the seccomp JSON's, said once it is pushed
	opts    registry.Options
}

func pushRequest(c *cli.Context) (*pushReq, error) {
	if c.NArg() != 2 {
		return nil, fmt.Errorf("push takes PROFILE and REF, got %d arguments", c.NArg())
	}
	req := &pushReq{path: c.Args().Get(0), ref: c.Args().Get(1), opts: registryOptions(c)}
	if registry.IsRef(req.path) {
		return nil, fmt.Errorf("PROFILE %s: push reads a local file: tailor pull -o FILE it first", req.path)
	}
	if _, err := registry.ParseRef(req.ref); err != nil {
		return nil, err
	}
	sopts, err := seccompOptions(c)
	if err != nil {
		return nil, err
	}
	if req.profile, err = profiles.ReadDocumentFile(req.path); err != nil {
		return nil, err
	}
	p, err := profiles.Parse(req.profile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.path, err)
	}
	out, notes, err := generator.Generate(p, generator.Options{Format: generator.FormatSeccomp, Seccomp: sopts})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.path, err)
	}
	req.seccomp, req.notes = out, notes
	if !p.Complete {
		fmt.Fprintf(c.App.ErrWriter, "tailor: warning: %s is incomplete (something was lost while recording): its seccomp JSON may be too tight\n", req.path)
	}
	return req, nil
}

func (r *pushReq) run(ctx context.Context, stdout, stderr io.Writer) error {
	pushed, err := registry.Push(ctx, r.profile, r.seccomp, r.ref, r.opts)
	if err != nil {
		return err
	}
	for _, n := range r.notes {
		fmt.Fprintf(stderr, "tailor: note: seccomp JSON: %s\n", n)
	}
	_, err = fmt.Fprintf(stdout, "pushed %s to %s (%s)\nseccomp JSON for CRI-O and Kubernetes: %s\n",
		r.path, pushed.Ref, pushed.Digest, pushed.Ref.Pinned(pushed.Seccomp))
	return err
}

// pullReq is a validated `tailor pull` invocation.
type pullReq struct {
	ref    string
	output string
}

func pullRequest(c *cli.Context) (*pullReq, error) {
	if c.NArg() != 1 {
		return nil, fmt.Errorf("pull takes one REF, got %d arguments", c.NArg())
	}
	req := &pullReq{ref: c.Args().First(), output: c.String("output")}
	if _, err := registry.ParseRef(req.ref); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(req.output); req.output != "" && err == nil && fi.IsDir() {
		return nil, fmt.Errorf("-o %s: is a directory", req.output)
	}
	return req, nil
}

func (r *pullReq) run(c *cli.Context, stdout io.Writer) error {
	pulled, _, err := pullProfile(c, r.ref)
	if err != nil {
		return err
	}
	if r.output == "" || r.output == "-" {
		_, err := stdout.Write(pulled.Profile)
		return err
	}
	if err := profiles.WriteFileAtomic(r.output, pulled.Profile, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "pulled %s (%s) to %s\n", pulled.Ref, pulled.Digest, r.output)
	return err
}
