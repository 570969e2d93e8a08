package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/bundle"
	"github.com/tailor-dev/tailor/complain"
	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiler/wire"
	"github.com/tailor-dev/tailor/profiles"
)

// complainHookTimeout bounds how long the hook waits for the agent.
const complainHookTimeout = 10 * time.Second

func init() {
	register(&cli.Command{
		Name:   "complain",
		Usage:  "complain mode's seccomp agent and its hook (internal: tailor apply --complain sets them up)",
		Hidden: true,
		Subcommands: []*cli.Command{
			{
				Name:  "agent",
				Usage: "serve seccomp notify fds on TRACER-DIR/" + complain.SocketName,
				Flags: []cli.Flag{
					tracerDirFlag,
					&cli.StringFlag{Name: "store", Value: profiles.DefaultStoreDir, Usage: "profile store `DIR` for NAME.violations recordings"},
					&cli.DurationFlag{Name: "idle", Value: complain.DefaultIdle, Usage: "exit after this long with no container served (0: never, for a service)"},
				},
				Action: func(c *cli.Context) error {
					ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
					defer stop()
					idle := c.Duration("idle")
					if idle == 0 {
						idle = -1
					}
					a := &complain.Agent{Dir: c.String("tracer-dir"), Store: profiles.NewStore(c.String("store")), Idle: idle,
						Log: log.New(c.App.ErrWriter, "tailor: ", log.LstdFlags)}
					return fail(exitTailor, a.Run(ctx))
				},
			},
			{
				Name:  "hook",
				Usage: "createRuntime hook: start the agent unless it answers",
				Flags: []cli.Flag{tracerDirFlag, &cli.StringFlag{Name: "store", Value: profiles.DefaultStoreDir, Usage: "the agent's profile store `DIR`"}},
				Action: func(c *cli.Context) error {
					return fail(1, runComplainHook(c.Context, c.App.Reader, c.App.ErrWriter, c.String("tracer-dir"), c.String("store")))
				},
			},
		},
	})
}

// runComplainHook starts the agent unless it answers, then registers the
// container with the shared tracer for its capability checks (seccomp
// cannot see them): a learning run whose profile goes to the agent's
// private directory, where the agent takes the denied checks from. A
// container whose checks cannot be recorded still runs: its recording
// says why they are missing.
func runComplainHook(ctx context.Context, stdin io.Reader, stderr io.Writer, dir, store string) error {
	data, err := profiles.ReadDocument("OCI state on stdin", stdin)
	if err != nil {
		return fmt.Errorf("complain hook: read OCI state: %w", err)
	}
	if err := ensureAgent(dir, store); err != nil {
		return err
	}
	if err := registerCaps(ctx, data, dir); err != nil {
		fmt.Fprintf(stderr, "tailor: complain mode: denied capability checks will not be recorded: %v\n", err)
	}
	return nil
}

// registerCaps registers the container of the OCI state with the tracer,
// its profile going to complain.CapsPath. The state's annotations are
// dropped: only this learning run is asked for, whatever the bundle says.
func registerCaps(ctx context.Context, data []byte, dir string) error {
	var st specs.State
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("read OCI state: %w", err)
	}
	path, err := complain.CapsPath(dir, st.ID)
	if err != nil {
		return err
	}
	st.Annotations = nil
	clean, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return hook.Run(ctx, bytes.NewReader(clean), hook.Options{Output: path, Tracer: tracerClient(dir, hook.DefaultTracerTimeout)})
}

// ensureAgent starts the seccomp agent unless it answers. crun connects
// to listenerPath before it runs createRuntime hooks, so tailor apply
// starts the agent too; the hook covers runc and an agent that idled out.
func ensureAgent(dir, store string) error {
	start := wire.StartDetached(dir, complain.LogName, selfExe(), "complain", "agent", "--tracer-dir", dir, "--store", store)
	if err := complain.Ensure(dir, start, complainHookTimeout); err != nil {
		return fmt.Errorf("complain mode: %w", err)
	}
	return nil
}

// complainFlags are tailor apply's complain-mode flags.
func complainFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "complain", Usage: "complain mode: what the profile lacks is let through and recorded by tailor's seccomp " +
			"agent (NOT a security boundary; docs/complain.md)"},
		&cli.BoolFlag{Name: "report", Usage: "with --complain: refuse what the profile lacks (with its errno) and still record it"},
		&cli.StringFlag{Name: "violations", Usage: "with --complain: write the recording to `FILE` (absolute, *.json, in a directory " +
			"only root can write) instead of NAME.violations in the store"},
		&cli.StringFlag{Name: "store", Value: profiles.DefaultStoreDir, Usage: "with --complain: the agent's profile store `DIR`"},
	}
}

// complainOptions builds ApplyOptions.Complain from tailor apply's flags
// (nil without --complain).
func complainOptions(c *cli.Context, path string, p *profiles.Profile, action generator.DefaultAction) (*bundle.ComplainOptions, error) {
	if !c.Bool("complain") {
		for _, f := range []string{"report", "violations"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s needs --complain", f)
			}
		}
		return nil, nil
	}
	name := p.Name
	if profiles.ValidName(name) != nil {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if err := profiles.ValidName(name); err != nil {
		return nil, fmt.Errorf("--complain: the profile has no usable name to record under (%w): give --violations FILE", err)
	}
	file := c.String("violations")
	if file != "" {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, fmt.Errorf("--violations: %w", err)
		}
		file = abs
	}
	o, err := complainSetup(complainSpec{profile: name, file: file, report: c.Bool("report"), action: action,
		tracerDir: c.String("tracer-dir"), store: c.String("store")})
	if err != nil {
		return nil, fmt.Errorf("--complain: %w", err)
	}
	return o, nil
}

// complainSpec is what a complain-mode bundle is built from.
type complainSpec struct {
	profile string
	// file replaces the store's PROFILE.violations when set (absolute).
	file   string
	report bool
	// action is the profile's default action: --report refuses with it.
	action           generator.DefaultAction
	tracerDir, store string
}

// complainSetup returns the listener, its metadata and the agent's hook
// for a complain-mode bundle.
func complainSetup(s complainSpec) (*bundle.ComplainOptions, error) {
	m := complain.Metadata{Mode: complain.ModeComplain, Profile: s.profile, Recording: s.profile + ".violations"}
	if s.file != "" {
		m.Recording, m.File = "", s.file
	}
	if s.report {
		m.Mode = complain.ModeReport
		switch s.action {
		case generator.DefaultErrno, "":
			m.Errno = int(unix.EPERM)
		case generator.DefaultENOSYS:
			m.Errno = int(unix.ENOSYS)
		default:
			return nil, fmt.Errorf("report mode refuses with the profile's errno: use --default-action errno or enosys, not %s", s.action)
		}
	}
	meta, err := m.Encode()
	if err != nil {
		return nil, err
	}
	return &bundle.ComplainOptions{
		ComplainOptions: generator.ComplainOptions{ListenerPath: filepath.Join(s.tracerDir, complain.SocketName), Metadata: meta},
		Hook: specs.Hook{Path: selfExe(), Args: []string{"tailor", "complain", "hook", "--tracer-dir", s.tracerDir, "--store", s.store},
			Timeout: intPtr(int((complainHookTimeout+hook.DefaultTracerTimeout)/time.Second) + 5)},
	}, nil
}

// runtimeComplain is tailor runtime's wrapper.Options.Complain with
// --allow-complain: the recording goes to the wrapper's store, and the
// agent is started before the runtime connects to it (crun connects before
// it runs the createRuntime hook).
func runtimeComplain(c *cli.Context) func(string, bool) (*bundle.ComplainOptions, error) {
	if !c.Bool("allow-complain") {
		return nil
	}
	return func(profile string, report bool) (*bundle.ComplainOptions, error) {
		s := complainSpec{profile: profile, report: report, tracerDir: c.String("tracer-dir"),
			store: profiles.NewStore(c.String("store")).Dir}
		o, err := complainSetup(s)
		if err == nil {
			err = ensureAgent(s.tracerDir, s.store)
		}
		return o, err
	}
}

func intPtr(v int) *int { return &v }

// complainNotice is what tailor apply --complain prints after applying.
func complainNotice(w io.Writer, o *bundle.ComplainOptions) {
	m, err := complain.ParseMetadata(o.Metadata)
	if err != nil {
		return
	}
	where := m.File
	if where == "" {
		where = recordingsOf(m)
	}
	fmt.Fprintf(w, "complain mode (%s): NOT a security boundary; what the profile lacks goes to the seccomp agent at %s "+
		"and is recorded in %s when the container ends; if the agent is gone, those syscalls fail with ENOSYS\n",
		m.Mode, o.ListenerPath, where)
}

// complainBundle reads whether the bundle in dir hands syscalls to a
// seccomp agent (linux.seccomp.listenerPath), and what its tailor metadata
// says (nil: it does not).
func complainBundle(dir string) (*generator.ComplainBundle, error) {
	path := filepath.Join(dir, "config.json")
	data, err := ociconfig.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ociconfig.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var listener, meta string
	for _, f := range []struct {
		key string
		v   *string
	}{{"listenerPath", &listener}, {"listenerMetadata", &meta}} {
		if raw := cfg.Get("linux", "seccomp", f.key); raw != nil {
			if err := json.Unmarshal(raw, f.v); err != nil {
				return nil, fmt.Errorf("%s: linux.seccomp.%s: %w", path, f.key, err)
			}
		}
	}
	if listener == "" {
		return nil, nil
	}
	m, err := complain.ParseMetadata(meta)
	if err != nil {
		return &generator.ComplainBundle{Mode: "unknown (not tailor's listenerMetadata)", Agent: listener,
			Violations: "wherever the agent at " + listener + " writes them"}, nil
	}
	where := m.File
	if where == "" {
		where = recordingsOf(m) + ", when the container ends"
	}
	return &generator.ComplainBundle{Mode: string(m.Mode), Agent: listener, Violations: where}, nil
}

// complainGenerate is tailor generate --format seccomp --complain: the
// seccomp JSON podman takes with --security-opt seccomp=FILE, whose
// listenerPath podman 4.3 passes to runc and crun.
type complainGenerate struct {
	opts             *bundle.ComplainOptions
	tracerDir, store string
}

func complainGenerateOptions(c *cli.Context, path string, p *profiles.Profile, format generator.Format,
	sopts generator.SeccompOptions) (*complainGenerate, error) {
	o, err := complainOptions(c, path, p, sopts.DefaultAction)
	if err != nil || o == nil {
		return nil, err
	}
	if format != generator.FormatSeccomp {
		return nil, fmt.Errorf("--complain applies to --format %s only, not %s", generator.FormatSeccomp, format)
	}
	return &complainGenerate{opts: o, tracerDir: c.String("tracer-dir"), store: c.String("store")}, nil
}

// generate writes the complain-mode JSON and starts the agent, which the
// runtime connects to when the container starts (it exits after
// complain.DefaultIdle with no container: run tailor complain agent
// --idle 0 as a service for later runs).
func (g *complainGenerate) generate(p *profiles.Profile, opts generator.Options) ([]byte, []generator.Note, error) {
	out, notes, err := generator.ComplainSeccomp(p, opts.Seccomp, g.opts.ComplainOptions)
	if err != nil {
		return nil, nil, err
	}
	if err := ensureAgent(g.tracerDir, g.store); err != nil {
		return nil, nil, err
	}
	notes = append(notes, generator.Note{Text: "for podman: --security-opt seccomp=FILE; the filter replaces podman's " +
		"default and stays within Docker's; denied capability checks are not recorded (no hook runs); docs/complain.md"})
	return out, notes, nil
}

// recordingsOf says where the recordings of a bundle writing to the
// agent's store go, and how to use them.
func recordingsOf(m complain.Metadata) string {
	return fmt.Sprintf("a recording of %s per container in the agent's store (tailor profiles recordings %s; "+
		"tailor profiles promote --as %s %s)", m.Recording, m.Recording, m.Profile, m.Recording)
}
