package complain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tailor-dev/tailor/internal/enum"
	"github.com/tailor-dev/tailor/profiles"
)

// ErrBadMessage marks what the agent refuses from a runtime.
var ErrBadMessage = errors.New("bad seccomp agent message")

// Mode is what the agent answers a notified syscall with.
type Mode string

const (
	// ModeComplain lets the syscall run and records it.
	ModeComplain Mode = "complain"
	// ModeReport refuses it with the profile's errno and records it.
	ModeReport Mode = "report"
)

// Modes lists the modes, the default first.
var Modes = []Mode{ModeComplain, ModeReport}

// metadataVersion tags the listenerMetadata tailor writes.
const metadataVersion = "tailor-complain/1"

// MaxMetadata bounds the listenerMetadata the agent reads.
const MaxMetadata = 4096

// Metadata is what tailor apply --complain writes to
// linux.seccomp.listenerMetadata: how the agent answers and where it
// writes the recording. Whoever writes a bundle's config.json writes it, so
// the agent checks every field (see ParseMetadata).
type Metadata struct {
	Version string `json:"v"`
	Mode    Mode   `json:"mode"`
	// Errno is what ModeReport fails a syscall with (1..4095).
	Errno int `json:"errno,omitempty"`
	// Profile names the enforced profile, for the summary.
	Profile string `json:"profile"`
	// Recording is the name the recording gets in the agent's store
	// (e.g. web.violations); File, an absolute path, replaces it.
	Recording string `json:"recording,omitempty"`
	File      string `json:"file,omitempty"`
}

// Encode returns m as listenerMetadata, checked as the agent will check it.
func (m Metadata) Encode() (string, error) {
	m.Version = metadataVersion
	data, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode complain metadata: %w", err)
	}
	if _, err := ParseMetadata(string(data)); err != nil {
		return "", err
	}
	return string(data), nil
}

// ParseMetadata reads and checks listenerMetadata.
func ParseMetadata(s string) (Metadata, error) {
	var m Metadata
	bad := func(format string, a ...any) (Metadata, error) {
		return Metadata{}, fmt.Errorf("%w: listenerMetadata: %s", ErrBadMessage, fmt.Sprintf(format, a...))
	}
	if len(s) > MaxMetadata {
		return bad("%d bytes (at most %d)", len(s), MaxMetadata)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bad("not tailor's (%v): was the bundle written by tailor apply --complain?", err)
	}
	if dec.More() {
		return bad("trailing data")
	}
	if m.Version != metadataVersion {
		return bad("version %q (this agent reads %q)", m.Version, metadataVersion)
	}
	if _, err := enum.Parse("mode", string(m.Mode), Modes); err != nil {
		return bad("%v", err)
	}
	switch {
	case m.Mode == ModeReport && (m.Errno < 1 || m.Errno > 4095):
		return bad("report mode needs an errno from 1 to 4095, not %d", m.Errno)
	case m.Mode == ModeComplain && m.Errno != 0:
		return bad("complain mode takes no errno")
	}
	if err := profiles.ValidName(m.Profile); err != nil {
		return bad("profile: %v", err)
	}
	switch {
	case (m.Recording == "") == (m.File == ""):
		return bad("exactly one of recording and file must be set")
	case m.Recording != "":
		if err := profiles.ValidName(m.Recording); err != nil {
			return bad("recording: %v", err)
		}
	default:
		if err := checkFile(m.File); err != nil {
			return bad("file: %v", err)
		}
	}
	return m, nil
}

// checkFile checks the syntax of a recording's path: absolute, clean, a
// base name of [A-Za-z0-9._-] ending in .json. Where it may be written is
// checked when it is opened (see openFileStore).
func checkFile(path string) error {
	switch {
	case !filepath.IsAbs(path):
		return fmt.Errorf("%q is not an absolute path", path)
	case filepath.Clean(path) != path:
		return fmt.Errorf("%q is not a clean path (use %q)", path, filepath.Clean(path))
	case !strings.HasSuffix(path, ".json"):
		return fmt.Errorf("%q does not end in .json", path)
	}
	if err := profiles.ValidName(strings.TrimSuffix(filepath.Base(path), ".json")); err != nil {
		return fmt.Errorf("%q: %w", path, err)
	}
	return nil
}

// MaxMessage bounds what a runtime sends with the notify fd.
const MaxMessage = 64 << 10

// seccompFdName is the name runc and crun give the notify fd in fds.
const seccompFdName = "seccompFd"

// processState is the message runc and crun send to listenerPath
// (specs.ContainerProcessState) with the fds in SCM_RIGHTS.
type processState struct {
	Version  string      `json:"ociVersion"`
	Fds      []string    `json:"fds"`
	Pid      int         `json:"pid"`
	Metadata string      `json:"metadata"`
	State    specs.State `json:"state"`
}

// parseState reads a runtime's message sent with nfds handles and returns
// it with the index of the notify fd among the handles.
func parseState(data []byte, nfds int) (*processState, int, error) {
	if len(data) > MaxMessage {
		return nil, 0, fmt.Errorf("%w: %d bytes (at most %d)", ErrBadMessage, len(data), MaxMessage)
	}
	var st processState
	if err := json.Unmarshal(bytes.TrimSpace(data), &st); err != nil {
		return nil, 0, fmt.Errorf("%w: not a container process state: %v", ErrBadMessage, err)
	}
	if len(st.Fds) != nfds {
		return nil, 0, fmt.Errorf("%w: names %d fds, %d were sent", ErrBadMessage, len(st.Fds), nfds)
	}
	at := -1
	for i, name := range st.Fds {
		if name == seccompFdName {
			if at >= 0 {
				return nil, 0, fmt.Errorf("%w: two %s", ErrBadMessage, seccompFdName)
			}
			at = i
		}
	}
	if at < 0 {
		return nil, 0, fmt.Errorf("%w: no %s among %q", ErrBadMessage, seccompFdName, st.Fds)
	}
	if st.State.ID == "" || len(st.State.ID) > 1024 {
		return nil, 0, fmt.Errorf("%w: container id of %d bytes", ErrBadMessage, len(st.State.ID))
	}
	return &st, at, nil
}
