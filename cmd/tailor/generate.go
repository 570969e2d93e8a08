package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

func init() {
	register(&cli.Command{
		Name: "generate",
		Usage: "turn a learned profile into a seccomp filter, capability set, run flags, Kubernetes securityContext, " +
			"AppArmor profile or Security Profiles Operator object",
		ArgsUsage: "PROFILE",
		Description: "Prints the artefact on stdout (or writes it atomically with -o). Notes about\n" +
			"choices the generator made (argument rules it could not make, socketcall on x86,\n" +
			"clone3, capabilities only denied) go to stderr.\n\n" +
			"   tailor generate --format seccomp -o web.seccomp.json web.json\n" +
			"   docker run $(tailor generate --format flags web.json) IMAGE\n" +
			"   tailor generate --format spo-seccomp web.json | kubectl apply -f -\n" +
			"   tailor generate --format k8s --spo --container web web.json > patch.yaml\n" +
			"   tailor generate --format apparmor -o web.apparmor web.json && apparmor_parser -r web.apparmor",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(generator.Formats[0]),
				Usage: "output format: " + joinNames(generator.Formats) + ", " + string(formatLandlock)},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			defaultActionFlag("seccomp action for syscalls the profile never made: errno (EPERM), enosys, kill (the process) or log"),
			&cli.StringFlag{Name: "seccomp-file", DefaultText: "PROFILE with .seccomp.json in place of .json",
				Usage: "with --format flags: the seccomp JSON to name in --security-opt seccomp=`FILE`; " +
					"write it first with: tailor generate --format seccomp -o FILE PROFILE"},
			&cli.StringFlag{Name: "name", DefaultText: "the profile's name, else PROFILE's base name",
				Usage: "with --format k8s: the Localhost profiles are tailor/`NAME`.json and AppArmor profile NAME; " +
					"with --format spo-seccomp, spo-apparmor (and k8s --spo): the object's name; " +
					"with --format apparmor and flags: the AppArmor profile's name"},
			&cli.BoolFlag{Name: "no-apparmor", Usage: "with --format flags: leave --security-opt apparmor=NAME out " +
				"(hosts without AppArmor, where podman refuses it)"},
			&cli.StringFlag{Name: "container", Usage: "with --format k8s: print a strategic-merge patch that sets the " +
				"securityContext of container `NAME` in a workload's pod template (kubectl patch --patch-file)"},
			&cli.BoolFlag{Name: "spo", Usage: "with --format k8s: reference the profiles the Security Profiles Operator " +
				"installs from --format spo-seccomp and spo-apparmor objects (operator/NAME.json, AppArmor profile NAME)"},
			// SPO's v1 profiles are cluster-scoped: the flag is kept only
			// to say so to whoever expects one.
			&cli.StringFlag{Name: "namespace", Hidden: true},
			plainHTTPFlag(),
			tracerDirFlag,
		}, complainFlags()...),
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
	// complain, with --complain, makes the seccomp JSON a complain-mode
	// filter for podman (see generateComplain).
	complain *complainGenerate
}

func generateRequest(c *cli.Context) (*generateReq, error) {
	format, err := parseFormat(c.String("format"))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	sopts, err := seccompOptions(c)
	if err != nil {
		return nil, err
	}
	path, p, err := profileArg(c)
	if err != nil {
		return nil, err
	}
	opts := generator.Options{Format: format, Seccomp: sopts,
		SeccompFile: c.String("seccomp-file"), Name: c.String("name"),
		K8s:        generator.K8sOptions{Container: c.String("container"), SPO: c.Bool("spo")},
		NoAppArmor: c.Bool("no-apparmor")}
	if err := checkK8sFlags(c, format); err != nil {
		return nil, err
	}
	stem := profileStem(path)
	if opts.SeccompFile == "" {
		opts.SeccompFile = stem + ".seccomp.json"
	}
	if opts.Name == "" {
		opts.Name = p.Name
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(stem)
	}
	cmpl, err := complainGenerateOptions(c, path, p, format, sopts)
	if err != nil {
		return nil, err
	}
	return &generateReq{profile: p, path: path, output: c.String("output"), opts: opts, complain: cmpl}, nil
}

// checkK8sFlags refuses the Kubernetes flags where they do not apply.
func checkK8sFlags(c *cli.Context, format generator.Format) error {
	if c.IsSet("namespace") {
		return fmt.Errorf("--namespace: the Security Profiles Operator's v1 SeccompProfile and AppArmorProfile are " +
			"cluster-scoped (since SPO 0.10), so an object has no namespace and installs as operator/NAME.json on every " +
			"node: drop --namespace and give a cluster-unique --name (e.g. NAMESPACE-NAME)")
	}
	for _, flag := range []string{"container", "spo"} {
		if c.IsSet(flag) && format != generator.FormatK8s {
			return fmt.Errorf("--%s applies to --format %s only, not %s", flag, generator.FormatK8s, format)
		}
	}
	if c.IsSet("no-apparmor") && format != generator.FormatFlags {
		return fmt.Errorf("--no-apparmor applies to --format %s only, not %s", generator.FormatFlags, format)
	}
	return nil
}

func (r *generateReq) run(stdout, stderr io.Writer) error {
	generate := generateOutput
	if r.complain != nil {
		generate = r.complain.generate
	}
	out, notes, err := generate(r.profile, r.opts)
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
