package complain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/internal/bounded"
	"github.com/tailor-dev/tailor/profiler"
	"github.com/tailor-dev/tailor/profiles"
)

// Seccomp cannot see capability checks: those the container was denied
// come from the shared tracer, with which complain mode's hook registers
// the container as a learning run writing its profile into capsDir. When
// the container is gone, the agent waits for the tracer's result, keeps the
// denied capabilities of that profile and deletes it. The tracer records
// everything a learning run does (bpf has no mode for denied checks only);
// only the denied checks are kept.
const (
	capsDir = "notify.caps"
	// capsWait bounds the wait for the tracer once the container is gone.
	capsWait = 30 * time.Second
	// maxCapsProfile bounds the tracer's profile the agent reads.
	maxCapsProfile = 16 << 20
)

// CapsPath returns where the tracer writes the learned profile of
// container id for the agent, creating the private directory (0700) it is
// in.
func CapsPath(dir, id string) (string, error) {
	d := filepath.Join(dir, capsDir)
	if err := profiler.CheckDir(d); err != nil {
		return "", fmt.Errorf("capability recordings: %w", err)
	}
	return filepath.Join(d, journalName(id)+".json"), nil
}

// DeniedCaps waits for the tracer's recording of container id and returns
// the capabilities it was denied (each with Denied set, never Granted:
// what it lacked, not what to grant), and whether that recording lost
// anything. The recording is removed.
func DeniedCaps(ctx context.Context, tracer *profiler.Client, dir, id string) (caps []profiles.Capability, complete bool, err error) {
	res, err := tracer.Wait(ctx, id)
	switch {
	case errors.Is(err, profiler.ErrUnknownContainer):
		return nil, false, fmt.Errorf("the tracer was not recording container %q (see the complain hook's messages in the runtime's log)", id)
	case err != nil:
		return nil, false, fmt.Errorf("wait for the tracer: %w", err)
	case res.Error != "":
		return nil, false, fmt.Errorf("the tracer could not write its recording: %s", res.Error)
	}
	root, err := os.OpenRoot(filepath.Join(dir, capsDir))
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	name := journalName(id) + ".json"
	defer root.Remove(name)
	f, err := root.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err := bounded.ReadRegular(f, maxCapsProfile)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	p, err := profiles.Parse(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	for _, c := range p.Capabilities {
		if c.Denied {
			caps = append(caps, profiles.Capability{Name: c.Name, Denied: true})
		}
	}
	return caps, p.Complete && res.Complete, nil
}

// SetDeniedCaps adds the capability checks the container was denied to
// the recording, which then records capabilities too; complete is false
// when the tracer's recording lost observations.
func (r *Recording) SetDeniedCaps(caps []profiles.Capability, complete bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps, r.capsRecorded = slices.Clone(caps), true
	if !complete {
		r.lose("the tracer's recording of the container lost observations: denied capability checks may be missing")
	}
}
