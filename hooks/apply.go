package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/profiles"
)

// BackupSuffix names the copy of a bundle's config.json that apply keeps
// before its first change (config.json.tailor-orig).
const BackupSuffix = ".tailor-orig"

// ErrIncomplete marks a profile that lost observations while it was
// recorded: enforcing it may break the workload.
var ErrIncomplete = errors.New("profile is incomplete")

// ErrBadConfig marks a config.json that apply refuses to patch.
var ErrBadConfig = errors.New("invalid OCI config")

// ApplyOptions tune how a profile is enforced.
type ApplyOptions struct {
	Seccomp generator.SeccompOptions
	// AllowIncomplete enforces a profile that lost observations.
	AllowIncomplete bool
}

// ApplyProfile returns config (an OCI config.json) with linux.seccomp and
// process.capabilities set from the profile. These two fields are the only
// ones it owns: every other field, known to runtime-spec or not, keeps its
// bytes and its place (the JSON is patched, never round-tripped through a
// struct); the output keeps the input's indentation. noNewPrivileges is
// left as the user set it.
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

	top, linux, process, err := parseConfig(config)
	if err != nil {
		return nil, nil, err
	}
	if linux.get("seccomp") != nil {
		notes = append(notes, generator.Note{Text: "the bundle's own linux.seccomp was replaced"})
	}
	seccompJSON, err := json.Marshal(seccomp)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: encode seccomp: %w", err)
	}
	capsJSON, err := generator.MarshalCapabilities(caps)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	linux.set("seccomp", seccompJSON)
	process.set("capabilities", capsJSON)
	top.set("linux", linux.marshal())
	top.set("process", process.marshal())
	out, err := format(top.marshal(), config)
	if err != nil {
		return nil, nil, err
	}
	return out, notes, nil
}

// parseConfig checks that config is an OCI config apply can patch and
// returns its top level, linux and process objects (linux is created when
// absent; a config without process has nothing to confine).
func parseConfig(config []byte) (top, linux, process object, err error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, a...))
	}
	// Types are checked against runtime-spec (a process.args that is not
	// a list is refused); unknown fields are fine, they are kept.
	var spec specs.Spec
	if err := json.Unmarshal(config, &spec); err != nil {
		return nil, nil, nil, bad("%s", err)
	}
	if top, err = parseObject(config, "the document"); err != nil {
		return nil, nil, nil, bad("%s", err)
	}
	raw := top.get("process")
	if raw == nil || string(raw) == "null" {
		return nil, nil, nil, bad("no process: there is nothing to confine")
	}
	if process, err = parseObject(raw, "process"); err != nil {
		return nil, nil, nil, bad("%s", err)
	}
	linux = object{}
	if raw := top.get("linux"); raw != nil && string(raw) != "null" {
		if linux, err = parseObject(raw, "linux"); err != nil {
			return nil, nil, nil, bad("%s", err)
		}
	}
	return top, linux, process, nil
}

// object is a JSON object with its keys in document order and its values
// as they were written.
type object []field

type field struct {
	key   string
	value json.RawMessage
}

func parseObject(data []byte, what string) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s is not a JSON object", what)
	}
	var o object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", what, key, err)
		}
		if o.get(key) != nil {
			// Decoders disagree on which duplicate wins: refuse.
			return nil, fmt.Errorf("%s: key %q appears twice", what, key)
		}
		o = append(o, field{key: key, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data after the object", what)
	}
	return o, nil
}

func (o object) get(key string) json.RawMessage {
	for _, f := range o {
		if f.key == key {
			return f.value
		}
	}
	return nil
}

// set replaces key's value in place, or appends the key.
func (o *object) set(key string, value json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].value = value
			return
		}
	}
	*o = append(*o, field{key: key, value: value})
}

func (o object) marshal() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(f.key) // a string always encodes
		b.Write(key)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// format lays out doc like the original: its indentation (tabs as runc
// spec writes them, or n spaces), compact when it was on one line, and its
// trailing newline.
func format(doc, original []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return nil, fmt.Errorf("apply: encode config: %w", err)
	}
	out := compact.Bytes()
	if indent, ok := detectIndent(original); ok {
		var b bytes.Buffer
		if err := json.Indent(&b, out, "", indent); err != nil {
			return nil, fmt.Errorf("apply: encode config: %w", err)
		}
		out = b.Bytes()
	}
	if bytes.HasSuffix(bytes.TrimRight(original, " \t\r"), []byte("\n")) {
		out = append(out, '\n')
	}
	return out, nil
}

func detectIndent(doc []byte) (string, bool) {
	trimmed := bytes.TrimSpace(doc)
	i := bytes.IndexByte(trimmed, '\n')
	if i < 0 {
		return "", false
	}
	line := trimmed[i+1:]
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	switch {
	case n == 0:
		return "", false
	case line[0] == '\t':
		return "\t", true
	}
	return strings.Repeat(" ", n), true
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
	original, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle config: %w", err)
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
