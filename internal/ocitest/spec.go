package ocitest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Option edits a bundle's config.
type Option func(*specs.Spec)

// Config is what a bundle runs; everything it does not say is `runc
// spec`'s default.
type Config struct {
	// Rootfs is root.path: absolute, or relative to the bundle directory.
	// Empty keeps `runc spec`'s "rootfs".
	Rootfs string
	// ReadOnly mounts the root read-only (bundles sharing one rootfs).
	ReadOnly bool
	// Hostname, when not empty, replaces `runc spec`'s "runc".
	Hostname string
	// Args is the container's command; it runs without a terminal.
	Args    []string
	Options []Option
	// Rewrite, when set, edits the finished config.json before it is
	// written: the benchmarks pass tailor's own bundle editor, so that a
	// bundle is exactly what `tailor learn` would run.
	Rewrite func(config []byte) ([]byte, error)
}

// Spec applies c to base, which it edits, and returns it.
func (c Config) Spec(base *specs.Spec) *specs.Spec {
	s := base
	p := process(s)
	if len(c.Args) > 0 {
		p.Args = slices.Clone(c.Args)
	}
	p.Terminal = false
	if s.Root == nil {
		s.Root = &specs.Root{Path: "rootfs"}
	}
	if c.Rootfs != "" {
		s.Root.Path = c.Rootfs
	}
	s.Root.Readonly = c.ReadOnly
	if c.Hostname != "" {
		s.Hostname = c.Hostname
	}
	for _, o := range c.Options {
		o(s)
	}
	return s
}

// Write writes dir/config.json for c, creating dir.
func (c Config) Write(dir string) error {
	base, err := RuncSpec()
	if err != nil {
		return err
	}
	return c.write(dir, base)
}

func (c Config) write(dir string, base *specs.Spec) error {
	data, err := json.MarshalIndent(c.Spec(base), "", "  ")
	if err != nil {
		return fmt.Errorf("encode config.json: %w", err)
	}
	if c.Rewrite != nil {
		if data, err = c.Rewrite(data); err != nil {
			return fmt.Errorf("rewrite config.json of %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(ConfigPath(dir), data, 0o644)
}

// ConfigPath is the config.json of the bundle in dir.
func ConfigPath(dir string) string { return filepath.Join(dir, "config.json") }

// runcSpec is `runc spec`'s config.json, made once per process: it depends
// only on the runc installed.
var runcSpec = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "tailor-ocitest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("runc spec: %w: %s", err, out)
	}
	return os.ReadFile(ConfigPath(dir))
})

// RuncSpec returns the default config `runc spec` writes, a fresh copy on
// every call.
func RuncSpec() (*specs.Spec, error) {
	data, err := runcSpec()
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse runc spec's config.json: %w", err)
	}
	return &s, nil
}

func process(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	return s.Process
}

func linux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

// WithCaps adds capabilities to the bounding, effective, permitted and
// ambient sets (the ones `runc spec` fills).
func WithCaps(caps ...string) Option {
	return func(s *specs.Spec) {
		p := process(s)
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		c := p.Capabilities
		for _, set := range []*[]string{&c.Bounding, &c.Effective, &c.Permitted, &c.Ambient} {
			for _, name := range caps {
				if !slices.Contains(*set, name) {
					*set = append(*set, name)
				}
			}
		}
	}
}

// WithNoNewPrivileges sets process.noNewPrivileges: runc and crun load
// the seccomp filter at different points depending on it.
func WithNoNewPrivileges(v bool) Option {
	return func(s *specs.Spec) { process(s).NoNewPrivileges = v }
}

// WithAnnotation sets an annotation.
func WithAnnotation(key, value string) Option {
	return func(s *specs.Spec) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[key] = value
	}
}

// WithBindMount bind-mounts a host directory read-write at dst.
func WithBindMount(src, dst string) Option {
	return func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src,
			Options: []string{"rbind", "rw"}})
	}
}

// WithTmpfs mounts a tmpfs at dst: a writable directory on a read-only
// root.
func WithTmpfs(dst string) Option {
	return func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=1777"}})
	}
}

// WithCreateRuntimeHook appends a createRuntime hook (the stage tailor's
// hook runs at).
func WithCreateRuntimeHook(h specs.Hook) Option {
	return func(s *specs.Spec) {
		if s.Hooks == nil {
			s.Hooks = &specs.Hooks{}
		}
		s.Hooks.CreateRuntime = append(s.Hooks.CreateRuntime, h)
	}
}

// WithSeccomp sets linux.seccomp.
func WithSeccomp(sc *specs.LinuxSeccomp) Option {
	return func(s *specs.Spec) { linux(s).Seccomp = sc }
}
