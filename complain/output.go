package complain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/bounded"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// ErrUnsafeOutput refuses a recording file the agent may not write.
var ErrUnsafeOutput = errors.New("unsafe recording path")

// partialDir holds the partial recordings of the containers being served
// whose recording goes to the agent's store.
const partialDir = "notify.partial"

// output is where one container's recording is saved.
type output struct {
	store *profiles.Store // where save writes
	name  string
	root  *os.Root // the handle store writes through (nil: none of ours)
	// record, for a recording in the agent's store, adds the final
	// recording there as a recording of its own (profiles.Store.Record),
	// so that two containers of one profile never overwrite each other;
	// until then save writes a partial one in partialDir.
	record func(p *profiles.Profile) (string, error)
}

// save writes p (the final recording when ending) and returns where.
// The partial recording is removed once the final one was handed to the
// store, also when the store refused it (too many pending recordings of
// the name): no agent would ever add it, and it would stay on /run.
func (o *output) save(p *profiles.Profile, ending bool) (string, error) {
	if ending && o.record != nil {
		where, err := o.record(p)
		o.store.Remove(o.name)
		if err != nil {
			return where, fmt.Errorf("the store refused the recording: %w", err)
		}
		return where, nil
	}
	p.Name = o.name
	where, _ := o.store.Path(o.name)
	return where, o.store.Save(p)
}

func (o *output) close() {
	if o.root != nil {
		o.root.Close()
	}
}

// output opens where m says the recording goes: a name in the agent's
// store, or a file whose directory is opened from / without following a
// symbolic link and must be root's and writable by no one else (a
// config.json may name any path; the agent writes only where root alone
// could have put it). Every later write goes through that handle.
func (a *Agent) output(m Metadata, id string) (*output, string, error) {
	if m.Recording != "" {
		where := fmt.Sprintf("a recording of %s in %s (tailor profiles recordings %s)", m.Recording, a.Store.Dir, m.Recording)
		if err := a.Store.CanRecord("", m.Recording); err != nil {
			return nil, where, err
		}
		dir := filepath.Join(a.Dir, partialDir)
		if err := profiler.CheckDir(dir); err != nil {
			return nil, where, err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, where, err
		}
		record := func(p *profiles.Profile) (string, error) { return a.Store.Record("", m.Recording, id, p) }
		return &output{store: profiles.StoreIn(root, dir), name: journalName(id), root: root, record: record}, where, nil
	}
	where := strconv.Quote(m.File) // a directory's name may hold a newline
	dir, base := filepath.Split(m.File)
	fd, err := unix.Openat2(unix.AT_FDCWD, filepath.Clean(dir), &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, where, fmt.Errorf("%w: %s: its directory cannot be opened without following a symbolic link: %w", ErrUnsafeOutput, m.File, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, where, fmt.Errorf("%w: %s: %w", ErrUnsafeOutput, m.File, err)
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil, where, fmt.Errorf("%w: %s: its directory is owned by uid %d with mode %04o: it must be root's and "+
			"writable by no one else (or leave --violations out to use the store)", ErrUnsafeOutput, m.File, st.Uid, st.Mode&0o7777)
	}
	root, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return nil, where, fmt.Errorf("%w: %s: %w", ErrUnsafeOutput, m.File, err)
	}
	return &output{store: profiles.StoreIn(root, filepath.Clean(dir)), name: strings.TrimSuffix(base, ".json"), root: root}, where, nil
}

// journalName is a file name for a container id.
func journalName(id string) string {
	if profiles.ValidName(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// journal notes that the container id is being served, with where its
// recording goes (and the name of its recording in the agent's store, if
// it goes there), and returns how to remove the note.
func (a *Agent) journal(id, where, recording string) func() {
	dir := filepath.Join(a.Dir, sessionsDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		a.Log.Printf("agent: %v: a restarted agent will not be able to report container %q", err, id)
		return func() {}
	}
	path := filepath.Join(dir, journalName(id))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		a.Log.Printf("agent: %v: a restarted agent will not be able to report container %q", err, id)
		return func() {}
	}
	// Each field quoted on a line of its own: a container id or a path
	// may hold a newline.
	fmt.Fprintf(f, "%q\n%q\n%q\n", id, where, recording)
	f.Close()
	return func() { os.Remove(path) }
}

// reportOrphans logs the containers an agent that died was serving: their
// notify fds died with it, so no agent can serve them again (the kernel
// fails their notified syscalls with ENOSYS), and their recordings hold
// what it saw, marked incomplete.
func (a *Agent) reportOrphans() {
	// The tracer's recordings left for an agent that died: no agent will
	// read them (one the tracer writes later is removed by the next
	// agent to start).
	if root, err := os.OpenRoot(filepath.Join(a.Dir, capsDir)); err == nil {
		if entries, err := fs.ReadDir(root.FS(), "."); err == nil {
			for _, e := range entries {
				root.Remove(e.Name())
			}
		}
		root.Close()
	}
	dir := filepath.Join(a.Dir, sessionsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		data, _ := bounded.ReadRegular(f, 8192)
		f.Close()
		lines := strings.SplitN(strings.TrimRight(string(data), "\n"), "\n", 3)
		for len(lines) < 3 {
			lines = append(lines, "")
		}
		for i, l := range lines {
			if u, err := strconv.Unquote(l); err == nil {
				lines[i] = u
			}
		}
		id, where := lines[0], lines[1]
		if lines[2] != "" {
			where = a.recordPartial(id, lines[2])
		}
		a.Log.Printf("agent: container %q was in complain mode when the previous agent stopped: its notify fd is gone, "+
			"so no agent can serve it again and its notified syscalls fail with ENOSYS; its partial recording, %s, "+
			"is marked incomplete. Restart the container to record again", id, where)
		os.Remove(path)
	}
}

// recordPartial adds the partial recording a dead agent left for
// container id to the store, as a recording of name (it is marked
// incomplete), and says where it went.
func (a *Agent) recordPartial(id, name string) string {
	root, err := os.OpenRoot(filepath.Join(a.Dir, partialDir))
	if err != nil {
		return fmt.Sprintf("none (%v)", err)
	}
	defer root.Close()
	partial := profiles.StoreIn(root, filepath.Join(a.Dir, partialDir))
	p, err := partial.Load(journalName(id))
	if err != nil {
		return fmt.Sprintf("none (%v)", err)
	}
	where, err := a.Store.Record("", name, id, p)
	if err != nil {
		return fmt.Sprintf("not recorded (%v)", err)
	}
	partial.Remove(journalName(id))
	return where
}
