package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tailor-dev/tailor/generator"
	"github.com/tailor-dev/tailor/hook"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// Sink writes a learned profile where the hook was asked to: the tailor
// profile (learn's --output), a recording in the store (dev.tailor.learn),
// the OCI seccomp JSON for io.containers.trace-syscall. It runs in the
// tracer and writes only through the directory handles the hook passed.
func Sink(reg profiler.Registration, p *profiles.Profile) error {
	var out hook.Outputs
	if err := json.Unmarshal(reg.Outputs, &out); err != nil {
		return fmt.Errorf("decode outputs of %s: %w", reg.ContainerID, err)
	}
	dir := func(i int) (*os.Root, error) {
		if i < 0 || i >= len(reg.Files) {
			return nil, fmt.Errorf("outputs of %s name handle %d of %d", reg.ContainerID, i, len(reg.Files))
		}
		return rootOf(reg.Files[i])
	}
	var errs []error
	if t := out.Profile; t != nil {
		errs = append(errs, writeProfile(dir, t, p))
	}
	if st := out.Store; st != nil {
		errs = append(errs, saveInStore(dir, st, reg.ContainerID, p))
	}
	if t := out.SeccompOut; t != nil {
		errs = append(errs, writeSeccomp(dir, t, out.SeccompIn, p))
	}
	return errors.Join(errs...)
}

// rootOf makes an os.Root of an open directory (through its /proc/self/fd
// entry, which names the open directory itself, not a path to it).
func rootOf(f *os.File) (*os.Root, error) {
	r, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return nil, fmt.Errorf("open output directory: %w", err)
	}
	return r, nil
}

func writeProfile(dir func(int) (*os.Root, error), t *hook.Target, p *profiles.Profile) error {
	root, err := dir(t.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	p.Name = strings.TrimSuffix(t.Name, ".json")
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	if err := profiles.WriteFileIn(root, t.Name, data, 0o644); err != nil {
		return fmt.Errorf("%s: %w", t.Path, err)
	}
	return nil
}

func saveInStore(dir func(int) (*os.Root, error), st *hook.StoreTarget, id string, p *profiles.Profile) error {
	root, err := dir(st.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	store := profiles.StoreIn(root, st.Label)
	p.Name = st.Name
	if st.Replace {
		if err := store.Save(p); err != nil {
			return fmt.Errorf("save profile %q: %w", st.Name, err)
		}
		return nil
	}
	if _, err := store.Record(profiles.Scope(st.Scope), st.Name, id, p); err != nil {
		return fmt.Errorf("record profile %q: %w", st.Name, err)
	}
	return nil
}

func writeSeccomp(dir func(int) (*os.Root, error), t *hook.Target, input json.RawMessage, p *profiles.Profile) error {
	sc, _, err := generator.Seccomp(p, generator.SeccompOptions{})
	if err != nil {
		return fmt.Errorf("generate seccomp for %s: %w", t.Path, err)
	}
	if len(input) > 0 {
		in, err := hook.ParseSeccomp("the input", input)
		if err != nil {
			return err
		}
		withInput(sc, in)
		f, err := generator.Compile(sc)
		if err != nil {
			return fmt.Errorf("%s: the learned rules and the input's do not make a valid filter: %w", t.Path, err)
		}
		f.Release()
	}
	data, err := generator.MarshalSeccomp(sc)
	if err != nil {
		return err
	}
	root, err := dir(t.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := profiles.WriteFileIn(root, t.Name, data, 0o644); err != nil {
		return fmt.Errorf("%s: %w", t.Path, err)
	}
	return nil
}
