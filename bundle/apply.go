package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
}

// ApplyProfile returns config (an OCI config.json) with linux.seccomp and
// process.capabilities set from the profile. These two fields are the only
// ones it owns: every other byte of the document stays as it was (see
// Config). noNewPrivileges is left as the user set it.
func ApplyProfile(config []byte, p *profiles.Profile, opts ApplyOptions) ([]byte, []generator.Note, error) {
	if p == nil {
		return nil, nil, errors.New("apply: no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	if !p.Complete && !opts.AllowIncomplete {
		return nil, nil, fmt.Errorf("apply: %w (%s): it may be too tight to run the workload; "+
			"learn again, or allow it explicitly", ErrIncomplete, generator.DescribeLoss(p.Loss))
	}
	seccomp, notes, err := generator.Seccomp(p, opts.Seccomp)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	f, err := generator.Compile(seccomp)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: validate generated filter: %w", err)
	}
	f.Release()
	caps, capNotes, err := generator.Capabilities(p)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	notes = append(notes, capNotes...)

	cfg, err := ociconfig.Parse(config)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.IsSet("process") {
		return nil, nil, fmt.Errorf("%w: no process: there is nothing to confine", ErrBadConfig)
	}
	if cfg.IsSet("linux", "seccomp") {
		notes = append(notes, generator.Note{Text: "the bundle's own linux.seccomp was replaced"})
	}
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
	return cfg.Bytes(), notes, nil
}

// ApplyBundle enforces the profile on the OCI bundle in dir: its
// config.json is patched (see ApplyProfile) and replaced atomically. The
// first apply keeps the original as config.json.tailor-orig; later ones
// leave that backup alone, so it stays the user's own config. On any error
// config.json is untouched.
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
	out, notes, err := ApplyProfile(original, p, opts)
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
