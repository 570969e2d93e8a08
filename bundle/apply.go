package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/internal/ociconfig"
	"github.com/tailor-dev/tailor/profiles"
)

// BackupSuffix names the copy of a bundle's config.json that apply keeps
// before its first change (config.json.tailor-orig).
const BackupSuffix = ".tailor-orig"

// ErrIncomplete marks a profile that lost observations while it was
// recorded: enforcing it may break the workload.
var ErrIncomplete = errors.New("profile is incomplete")

// ErrBadConfig marks a config.json that tailor refuses to edit.
var ErrBadConfig = ociconfig.ErrInvalid

// ApplyOptions tune how a profile is enforced.
type ApplyOptions struct {
	Seccomp generator.SeccompOptions
	// AllowIncomplete enforces a profile that lost observations.
	AllowIncomplete bool
	// AppArmorProfile, when set, is written to process.apparmorProfile
	// (see setAppArmor).
	AppArmorProfile string
	// Landlock, when set, also enforces the profile's Landlock ruleset
	// through the helper (see setLandlock).
	Landlock *LandlockOptions
	// Complain, when set, turns the filter written into a complain-mode
	// filter (generator.Complain) and adds Complain.Hook to the
	// createRuntime hooks (once): see package complain.
	Complain *ComplainOptions
}

// ComplainOptions are ApplyOptions for complain mode.
type ComplainOptions struct {
	generator.ComplainOptions
	// Hook starts the seccomp agent before the runtime connects to it.
	Hook specs.Hook
}

// ApplyProfile returns config (an OCI config.json) with linux.seccomp and
// process.capabilities set from the profile. These two fields are the only
// ones it owns: every other byte of the document stays as it was (see
// Config). noNewPrivileges is left as the user set it. When config already
// has a linux.seccomp (the engine's filter, e.g. Docker's default), the
// filter written is its intersection with the profile's (see
// generator.Intersect): a profile may tighten the engine's filter, never
// widen it, and notes say what the intersection took away.
func ApplyProfile(config []byte, p *profiles.Profile, opts ApplyOptions) ([]byte, []generator.Note, error) {
	return enforce(config, nil, p, opts)
}

// engineFilter is the filter a bundle would run with without tailor.
type engineFilter struct {
	filter *specs.LinuxSeccomp // nil: none
	from   string              // what it is, for messages
	path   string              // the file it was read from, if any
}

// enforce is ApplyProfile with the engine's filter taken from engine, or
// from config when engine is nil.
func enforce(config []byte, engine *engineFilter, p *profiles.Profile, opts ApplyOptions) ([]byte, []generator.Note, error) {
	if p == nil {
		return nil, nil, errors.New("apply: no profile")
	}
	if opts.Landlock != nil && opts.Complain != nil {
		return nil, nil, errors.New("apply: Landlock and complain mode cannot be combined: the Landlock helper loads " +
			"the enforcing seccomp filter itself, which would refuse what complain mode lets through; " +
			"roll the profile out in complain mode first, then enforce it with Landlock")
	}
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	if !p.Complete && !opts.AllowIncomplete {
		return nil, nil, fmt.Errorf("apply: %w (%s): it may be too tight to run the workload; "+
			"learn again, or enforce it anyway with --allow-incomplete (tailor apply, tailor runtime)", ErrIncomplete, generator.DescribeLoss(p.Loss))
	}
	seccomp, notes, err := generator.Seccomp(p, opts.Seccomp)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	caps, capNotes, err := generator.Capabilities(p)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}

	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.IsSet("process") {
		return nil, nil, fmt.Errorf("%w: no process: there is nothing to confine", ErrBadConfig)
	}
	if err := unsetLandlock(cfg); err != nil {
		return nil, nil, err
	}
	if engine == nil {
		if engine, err = seccompOf(cfg, "the bundle's linux.seccomp"); err != nil {
			return nil, nil, err
		}
	}
	if engine.filter != nil {
		in, err := generator.IntersectFilters(seccomp, engine.filter)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w (fix or remove it)", ErrBadConfig, engine.from, err)
		}
		seccomp = in.Filter
		notes = append(notes, intersectionNote(engine.from, in))
		notes = append(notes, in.Notes...)
	}
	notes = append(notes, capNotes...)
	if opts.Complain != nil {
		var cNotes []generator.Note
		if seccomp, cNotes, err = generator.Complain(seccomp, engine.filter, opts.Complain.ComplainOptions); err != nil {
			return nil, nil, fmt.Errorf("apply: %w", err)
		}
		notes = append(notes, cNotes...)
		if err := addHookOnce(cfg, opts.Complain.Hook); err != nil {
			return nil, nil, fmt.Errorf("apply: %w", err)
		}
	}
	f, err := generator.Compile(seccomp)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: validate generated filter: %w", err)
	}
	f.Release()
	if err := cfg.Set(seccomp, "linux", "seccomp"); err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	capsJSON, err := generator.MarshalCapabilities(caps)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	if err := cfg.Set(json.RawMessage(capsJSON), "process", "capabilities"); err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	aaNotes, err := setAppArmor(cfg, p, opts.AppArmorProfile)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	notes = append(notes, aaNotes...)
	if opts.Landlock != nil {
		llNotes, err := setLandlock(cfg, p, seccomp, engine, opts.Landlock)
		if err != nil {
			return nil, nil, fmt.Errorf("apply: %w", err)
		}
		notes = append(notes, llNotes...)
	}
	return cfg.Bytes(), notes, nil
}

// intersectionNote sums up what enforcing within the engine's filter took
// away.
func intersectionNote(from string, in *generator.Intersection) generator.Note {
	text := from + " is kept as a limit: the filter written allows only what both it and the profile allow"
	switch {
	case len(in.Refused)+len(in.Narrowed) == 0:
		text += "; it refuses nothing the profile allows"
	default:
		var parts []string
		if len(in.Refused) > 0 {
			parts = append(parts, "refuses "+strings.Join(in.Refused, ", "))
		}
		if len(in.Narrowed) > 0 {
			parts = append(parts, "narrows the arguments of "+strings.Join(in.Narrowed, ", "))
		}
		text += "; it " + strings.Join(parts, " and ") + " (notes below say why)"
	}
	return generator.Note{Text: text}
}

// seccompOf reads the linux.seccomp of a parsed config.
func seccompOf(cfg *ociconfig.Config, from string) (*engineFilter, error) {
	if !cfg.IsSet("linux", "seccomp") {
		return &engineFilter{from: from}, nil
	}
	spec, err := cfg.Spec()
	if err != nil {
		return nil, err
	}
	return &engineFilter{filter: spec.Linux.Seccomp, from: from}, nil
}

// EngineSeccomp returns the seccomp filter the bundle in dir runs with
// without tailor, and the file it was read from: the linux.seccomp of the
// user's original config (config.json.tailor-orig, once apply has kept
// it), else of config.json. It is nil when that config has none.
func EngineSeccomp(dir string) (*specs.LinuxSeccomp, string, error) {
	e, err := engineSeccomp(filepath.Join(dir, "config.json"), nil)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", dir, err)
	}
	return e.filter, e.path, nil
}

// engineSeccomp reads the engine's filter for the bundle config at path,
// whose bytes are current (nil: not read yet): from its backup when there
// is one.
func engineSeccomp(path string, current []byte) (*engineFilter, error) {
	from, data := path, current
	backup, err := ociconfig.ReadFile(path + BackupSuffix)
	switch {
	case err == nil:
		from, data = path+BackupSuffix, backup
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("the original config: %w", err)
	case data == nil:
		if data, err = ociconfig.ReadFile(path); err != nil {
			return nil, err
		}
	}
	cfg, err := ociconfig.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	e, err := seccompOf(cfg, "the linux.seccomp of "+from)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	e.path = from
	return e, nil
}

// ApplyBundle enforces the profile on the OCI bundle in dir: its
// config.json is patched (see ApplyProfile) and replaced atomically. The
// first apply keeps the original as config.json.tailor-orig; later ones
// leave that backup alone, so it stays the user's own config, and take
// the engine's filter from it: applying again intersects the new profile
// with the user's filter, not with the filter an earlier apply wrote. On
// any error config.json is untouched.
func ApplyBundle(dir string, p *profiles.Profile, opts ApplyOptions) ([]generator.Note, error) {
	path := filepath.Join(dir, "config.json")
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	original, err := ociconfig.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	engine, err := engineSeccomp(path, original)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	out, notes, err := enforce(original, engine, p, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := keepBackup(path+BackupSuffix, original, info.Mode().Perm()); err != nil {
		return nil, err
	}
	if err := profiles.WriteFileAtomic(path, out, info.Mode().Perm()); err != nil {
		return nil, err
	}
	return notes, nil
}

// keepBackup writes data to path unless path exists. The copy is complete
// or absent: written to a temporary file, then linked into place (a link
// never replaces an existing file).
func keepBackup(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	return nil
}

// addHookOnce appends hook to the createRuntime hooks unless an equal one
// is there (applying again must not run it twice).
func addHookOnce(cfg *ociconfig.Config, hook specs.Hook) error {
	if raw := cfg.Get("hooks", "createRuntime"); raw != nil {
		var hooks []specs.Hook
		if err := json.Unmarshal(raw, &hooks); err != nil {
			return fmt.Errorf("%w: hooks.createRuntime: %w", ErrBadConfig, err)
		}
		for _, h := range hooks {
			if h.Path == hook.Path && slices.Equal(h.Args, hook.Args) {
				return nil
			}
		}
	}
	return cfg.Append(hook, "hooks", "createRuntime")
}
