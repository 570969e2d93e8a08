package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
	"github.com/tailor-dev/tailor/registry"
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
	p, err := loadProfile(c, path)
	if err != nil {
		return "", nil, err
	}
	return path, p, nil
}

// plainHTTPFlag is --plain-http, on every command that reads or writes an
// oci:// reference.
func plainHTTPFlag() cli.Flag {
	return &cli.BoolFlag{Name: "plain-http", Usage: "reach oci:// registries over HTTP instead of HTTPS (a registry without TLS)"}
}

func registryOptions(c *cli.Context) registry.Options {
	return registry.Options{PlainHTTP: c.Bool("plain-http")}
}

// loadProfile reads the profile arg names: a file, or with oci:// a
// registry artifact, both validated as profiles.Load validates.
func loadProfile(c *cli.Context, arg string) (*profiles.Profile, error) {
	if !registry.IsRef(arg) {
		return profiles.Load(arg)
	}
	_, p, err := pullProfile(c, arg)
	return p, err
}

// readInputArg is readInput (a file, a seccomp JSON or a stored profile's
// name) that also takes oci:// references, to tailor profiles.
func readInputArg(c *cli.Context, arg string, store *profiles.Store, opts seccompjson.Options) (*seccompjson.Document, error) {
	if !registry.IsRef(arg) {
		return readInput(arg, store, opts)
	}
	pulled, p, err := pullProfile(c, arg)
	if err != nil {
		return nil, err
	}
	return &seccompjson.Document{Name: arg, Format: seccompjson.FormatTailor, Profile: p, Data: pulled.Profile}, nil
}

// pullProfile fetches the profile at ref (bounded and verified by
// registry.Pull) and parses it as profiles.Load parses a file.
func pullProfile(c *cli.Context, ref string) (*registry.Pulled, *profiles.Profile, error) {
	pulled, err := registry.Pull(c.Context, ref, registryOptions(c))
	if err != nil {
		return nil, nil, err
	}
	p, err := profiles.Parse(pulled.Profile)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, err)
	}
	return pulled, p, nil
}

// profileStem is what files made from a profile argument are named after:
// the file's path without .json, or the last component of an oci://
// reference's repository ("web" for oci://registry.example/profiles/web:v1).
func profileStem(arg string) string {
	if r, err := registry.ParseRef(arg); err == nil && registry.IsRef(arg) {
		return r.Name()
	}
	return strings.TrimSuffix(arg, ".json")
}
