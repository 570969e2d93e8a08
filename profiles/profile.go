package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// SchemaVersion is the version of the profile document this code writes.
// Version 2 added what a container touches (files, programs, network,
// signals) and the list of dimensions a recording covered; version 1
// documents still load (see Parse).
const SchemaVersion = 2

// Kind identifies a tailor profile document (as opposed to a seccomp JSON).
const Kind = "TailorProfile"

// Profile is what one or more learning runs saw a container do.
type Profile struct {
	SchemaVersion int    `json:"schemaVersion"`
	Kind          string `json:"kind"`
	Name          string `json:"name,omitempty"`
	// Complete is false when anything was lost while recording (see Loss):
	// such a profile may be too tight and must not be enforced blindly. It
	// is derived from Loss when a document is parsed or normalized, never
	// taken from the document alone: a profile that counts a loss is
	// incomplete, and one marked incomplete stays so (its loss gains a
	// reason).
	Complete bool   `json:"complete"`
	Loss     Loss   `json:"loss"`
	Source   Source `json:"source"`
	// ABIs holds the syscalls per ABI, sorted by ABI order then name.
	ABIs []ABISyscalls `json:"abis"`
	// Capabilities holds every capability checked after the runtime
	// boundary, sorted by name.
	Capabilities []Capability `json:"capabilities"`
	// Recorded lists the dimensions the recording covered, in Dimensions
	// order: a section that is empty but not recorded says nothing.
	Recorded []Dimension `json:"recorded"`
	// Files holds every path touched, sorted by path (bytes).
	Files []File `json:"files,omitempty"`
	// Programs holds every executable run, sorted by path.
	Programs []Program `json:"programs,omitempty"`
	// Network holds every endpoint bound, listened on or connected to.
	Network []Network `json:"network,omitempty"`
	// Signals holds signals and ptrace attempts aimed outside the container.
	Signals []Signal `json:"signals,omitempty"`
}

// Loss counts what the recorder could not keep. Any non-zero counter makes
// the profile incomplete.
type Loss struct {
	// Events is ring-buffer records the kernel could not deliver.
	Events uint64 `json:"events"`
	// Tasks is tasks of the container that could not be tracked (task map full).
	Tasks uint64 `json:"tasks"`
	// ArgValues is argument values that could not be stored (map full).
	ArgValues uint64 `json:"argValues"`
	// Paths is file paths that could not be resolved in full (deeper or
	// longer than the kernel's bounded walk).
	Paths uint64 `json:"paths,omitempty"`
	// Objects is files, programs or endpoints that could not be stored
	// (the kernel's deduplication map full).
	Objects uint64 `json:"objects,omitempty"`
	// Reasons explains other gaps (e.g. the tracer stopped before the
	// container's tasks exited).
	Reasons []string `json:"reasons,omitempty"`
}

// Any reports whether anything was lost.
func (l Loss) Any() bool {
	return l.Events != 0 || l.Tasks != 0 || l.ArgValues != 0 || l.Paths != 0 || l.Objects != 0 || len(l.Reasons) != 0
}

// Source says where the observations came from.
type Source struct {
	Runtime     string    `json:"runtime,omitempty"`
	Kernel      string    `json:"kernel,omitempty"`
	ContainerID string    `json:"containerID,omitempty"`
	Start       time.Time `json:"start,omitzero"`
	End         time.Time `json:"end,omitzero"`
	// Recordings is how many learning runs were merged into this profile.
	Recordings int `json:"recordings"`
	// SyscallBoundary says where counting syscalls began: "seccomp" (after
	// the container's filter was loaded) or "exec" (the init's final execve).
	SyscallBoundary string `json:"syscallBoundary,omitempty"`
}

// ABISyscalls is the syscalls seen under one ABI.
type ABISyscalls struct {
	ABI      ABI       `json:"abi"`
	Syscalls []Syscall `json:"syscalls"`
	// Unnamed holds syscall numbers the kernel ran that libseccomp cannot
	// name (newer than the library): no seccomp rule can allow them by
	// name, so generators must say so.
	Unnamed []int `json:"unnamed,omitempty"`
}

// Syscall is one syscall seen, by name (numbers differ per ABI and kernel).
type Syscall struct {
	Name string `json:"name"`
	// Args holds the argument values seen, for the syscalls whose arguments
	// decide the attack surface (see ArgSyscalls); nil for the others.
	Args *ArgValues `json:"args,omitempty"`
	Seen Seen       `json:"seen"`
}

// ArgValues is the set of values one syscall's argument took.
type ArgValues struct {
	// Values is sorted and unique; its encoding depends on the syscall
	// (see ArgSyscalls).
	Values []uint64 `json:"values"`
	// Overflow is set when more distinct values were seen than the
	// recorder keeps: no argument rule can be made, the syscall is allowed
	// with any argument.
	Overflow bool `json:"overflow,omitempty"`
}

// Capability is one capability checked in the container.
type Capability struct {
	Name string `json:"name"` // e.g. CAP_CHOWN
	// Granted is set when at least one check succeeded: the workload used it.
	Granted bool `json:"granted"`
	// Denied is set when at least one check failed: the workload asked for
	// it without having it (and may have taken a fallback path).
	Denied bool `json:"denied"`
	Seen   Seen `json:"seen"`
}

// Seen is the provenance of an item: which task first needed it, and how
// many recordings saw it.
type Seen struct {
	Comm       string `json:"comm,omitempty"`
	Exe        string `json:"exe,omitempty"`
	Recordings int    `json:"recordings"`
	// Pid and Count are kept by complain mode's violation recordings
	// (package complain): the first task refused (in the agent's pid
	// namespace) and how many times the item was refused. Learning
	// leaves them zero; merge keeps the first provenance and sums counts.
	Pid   int    `json:"pid,omitempty"`
	Count uint64 `json:"count,omitempty"`
}

// New returns an empty, complete profile.
func New(name string) *Profile {
	return &Profile{SchemaVersion: SchemaVersion, Kind: Kind, Name: name, Complete: true,
		Source: Source{Recordings: 1}, Recorded: slices.Clone(v1Dimensions)}
}

// Syscalls returns the syscalls recorded for abi (nil when none).
func (p *Profile) Syscalls(abi ABI) []Syscall {
	for _, a := range p.ABIs {
		if a.ABI == abi {
			return a.Syscalls
		}
	}
	return nil
}

// SyscallNames returns the sorted names recorded for abi.
func (p *Profile) SyscallNames(abi ABI) []string {
	var names []string
	for _, s := range p.Syscalls(abi) {
		names = append(names, s.Name)
	}
	return names
}

// Syscall returns the record of name under abi.
func (p *Profile) Syscall(abi ABI, name string) (*Syscall, bool) {
	for i := range p.ABIs {
		if p.ABIs[i].ABI != abi {
			continue
		}
		for j := range p.ABIs[i].Syscalls {
			if p.ABIs[i].Syscalls[j].Name == name {
				return &p.ABIs[i].Syscalls[j], true
			}
		}
	}
	return nil, false
}

// GrantedCapabilities returns the sorted names of the capabilities with at
// least one granted check: the minimal set the workload needs.
func (p *Profile) GrantedCapabilities() []string {
	var names []string
	for _, c := range p.Capabilities {
		if c.Granted {
			names = append(names, c.Name)
		}
	}
	return names
}

// Normalize sorts every list and removes duplicates so that identical
// observations give identical bytes. Duplicates are merged, not dropped.
func (p *Profile) Normalize() {
	sort.SliceStable(p.ABIs, func(i, j int) bool { return p.ABIs[i].ABI.Index() < p.ABIs[j].ABI.Index() })
	var abis []ABISyscalls
	for _, a := range p.ABIs {
		if n := len(abis); n > 0 && abis[n-1].ABI == a.ABI {
			abis[n-1].Syscalls = append(abis[n-1].Syscalls, a.Syscalls...)
			continue
		}
		abis = append(abis, a)
	}
	for i := range abis {
		abis[i].Syscalls = normalizeSyscalls(abis[i].Syscalls)
		if len(abis[i].Unnamed) > 0 {
			u := make([]uint64, len(abis[i].Unnamed))
			for j, n := range abis[i].Unnamed {
				u[j] = uint64(n)
			}
			abis[i].Unnamed = abis[i].Unnamed[:0]
			for _, n := range sortUnique(u) {
				abis[i].Unnamed = append(abis[i].Unnamed, int(n))
			}
		}
	}
	p.ABIs = abis
	sort.SliceStable(p.Capabilities, func(i, j int) bool { return p.Capabilities[i].Name < p.Capabilities[j].Name })
	var caps []Capability
	for _, c := range p.Capabilities {
		if n := len(caps); n > 0 && caps[n-1].Name == c.Name {
			caps[n-1].Granted = caps[n-1].Granted || c.Granted
			caps[n-1].Denied = caps[n-1].Denied || c.Denied
			continue
		}
		caps = append(caps, c)
	}
	p.Capabilities = caps
	if p.Capabilities == nil {
		p.Capabilities = []Capability{}
	}
	if p.ABIs == nil {
		p.ABIs = []ABISyscalls{}
	}
	p.normalizeTouch()
	p.deriveComplete()
}

// unexplainedIncomplete is the loss reason of a profile marked incomplete
// without a recorded loss, so that it stays incomplete.
const unexplainedIncomplete = "marked incomplete without a recorded loss"

// deriveComplete makes Complete follow Loss, never widening: a loss makes
// the profile incomplete whatever Complete said, and a profile marked
// incomplete without a loss gains a reason that keeps it so.
func (p *Profile) deriveComplete() {
	if !p.Complete && !p.Loss.Any() {
		p.Loss.Reasons = append(p.Loss.Reasons, unexplainedIncomplete)
	}
	p.Complete = !p.Loss.Any()
}

func normalizeSyscalls(in []Syscall) []Syscall {
	sort.SliceStable(in, func(i, j int) bool { return in[i].Name < in[j].Name })
	var out []Syscall
	for _, s := range in {
		if n := len(out); n > 0 && out[n-1].Name == s.Name {
			out[n-1].Args = unionArgs(out[n-1].Args, s.Args)
			continue
		}
		if s.Args != nil {
			s.Args = unionArgs(s.Args, nil)
		}
		out = append(out, s)
	}
	if out == nil {
		out = []Syscall{}
	}
	return out
}

// unionArgs unions two argument sets of the same syscall recording. A nil
// side means "no values recorded" here (within one recording); merging
// recordings treats nil differently (see Merge).
func unionArgs(a, b *ArgValues) *ArgValues {
	if a == nil && b == nil {
		return nil
	}
	out := &ArgValues{}
	for _, v := range []*ArgValues{a, b} {
		if v == nil {
			continue
		}
		out.Overflow = out.Overflow || v.Overflow
		out.Values = append(out.Values, v.Values...)
	}
	out.Values = sortUnique(out.Values)
	if out.Overflow {
		out.Values = nil
	}
	return out
}

func sortUnique(v []uint64) []uint64 {
	if len(v) == 0 {
		return []uint64{}
	}
	s := append([]uint64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// Marshal returns the profile's canonical bytes: normalized, indented,
// newline-terminated. Identical observations give identical bytes.
func (p *Profile) Marshal() ([]byte, error) {
	p.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	return buf.Bytes(), nil
}
