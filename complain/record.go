package complain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// MaxEntries bounds the distinct violations one recording keeps: beyond
// it a violation is still answered and counted (Loss.Events), not kept,
// and the recording is incomplete.
const MaxEntries = 4096

// PartialReason marks a recording written before the agent saw its
// container end: the container is still running, or the agent stopped.
const PartialReason = "the agent had not seen the container end when this was written " +
	"(it stopped or is still running): violations after it are missing and counts are lower bounds"

// Who is what the agent could learn about a notified task.
type Who struct {
	Comm, Exe string
	Pid       int
}

type entryKey struct {
	abi    profiles.ABI
	name   string // "" for an unnamed number
	nr     int    // unnamed only
	hasArg bool
	value  uint64
}

type entry struct {
	who   Who
	count uint64
}

// Recording is what one container did beyond its profile. Its methods may
// be called from the goroutines of the container's sessions at once.
type Recording struct {
	mu                       sync.Mutex
	name, profile, container string
	mode                     Mode
	start, end               time.Time
	entries                  map[entryKey]*entry
	dropped                  uint64 // violations beyond MaxEntries
	reasons                  []string
	// caps are the capability checks denied (from the tracer) when
	// capsRecorded; otherwise capsWhy says why they are not recorded.
	caps         []profiles.Capability
	capsRecorded bool
	capsWhy      string
}

// NoCaps says why the recording holds no capability checks.
func (r *Recording) NoCaps(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.capsWhy = why
}

// NewRecording starts the recording name of a container enforcing profile.
func NewRecording(name, profile, container string, mode Mode, start time.Time) *Recording {
	return &Recording{name: name, profile: profile, container: container, mode: mode, start: start,
		entries: map[entryKey]*entry{}}
}

// abiOf maps a notification's architecture and number to an ABI.
func abiOf(arch uint32, nr int) (profiles.ABI, int, bool) {
	switch {
	case arch == unix.AUDIT_ARCH_X86_64 && nr&profiles.X32SyscallBit != 0:
		return profiles.ABIX32, nr &^ profiles.X32SyscallBit, true
	case arch == unix.AUDIT_ARCH_X86_64:
		return profiles.ABIX8664, nr, true
	case arch == unix.AUDIT_ARCH_I386:
		return profiles.ABIX86, nr, true
	}
	return "", 0, false
}

// keyOf names what a notification violated: the syscall, with the value
// of its ruled argument (see profiles.ArgRules) when it has one.
func keyOf(n Notification) (entryKey, error) {
	abi, nr, ok := abiOf(n.Arch, n.Nr)
	if !ok {
		return entryKey{}, fmt.Errorf("syscall %d of unknown architecture %#x", n.Nr, n.Arch)
	}
	name, err := abi.SyscallName(nr)
	if err != nil {
		return entryKey{abi: abi, nr: nr}, nil
	}
	k := entryKey{abi: abi, name: name}
	rule, ok := profiles.ArgRuleFor(name)
	switch {
	case !ok || name == "clone3": // clone3's flags are in user memory
	case name == "socket":
		k.hasArg, k.value = true, profiles.SocketValue(n.Args[0], n.Args[1])
	default:
		k.hasArg, k.value = true, n.Args[rule.Arg]&rule.Mask
	}
	return k, nil
}

// Add counts one violation. who is called for a violation not seen
// before, to name the task that made it first. It reports whether the
// violation is new (the recording changed beyond a count).
func (r *Recording) Add(n Notification, who func() Who) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := keyOf(n)
	if err != nil {
		r.dropped++
		return false, err
	}
	if e := r.entries[k]; e != nil {
		e.count++
		return false, nil
	}
	if len(r.entries) >= MaxEntries {
		r.dropped++
		return false, nil
	}
	r.entries[k] = &entry{who: who(), count: 1}
	return true, nil
}

// Entries is the number of distinct violations kept.
func (r *Recording) Entries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// Lose marks the recording incomplete.
func (r *Recording) Lose(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lose(reason)
}

func (r *Recording) lose(reason string) {
	if !slices.Contains(r.reasons, reason) {
		r.reasons = append(r.reasons, reason)
	}
}

// Violations is the number of violations answered.
func (r *Recording) Violations() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.violations()
}

func (r *Recording) violations() uint64 {
	n := r.dropped
	for _, e := range r.entries {
		n += e.count
	}
	return n
}

// Profile returns the recording as a tailor profile: exactly the
// syscalls and argument values the enforced profile lacked, each with the
// first task that made it and its count. ending is set for the final
// write; before it, the profile says the agent has not seen the end.
func (r *Recording) Profile(end time.Time, ending bool) *profiles.Profile {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := profiles.New(r.name)
	p.Recorded = []profiles.Dimension{profiles.DimSyscalls}
	if r.capsRecorded {
		p.Recorded = append(p.Recorded, profiles.DimCapabilities)
		p.Capabilities = slices.Clone(r.caps)
	}
	p.Source.ContainerID = r.container
	p.Source.Start, p.Source.End = r.start, end
	p.Loss.Events = r.dropped
	p.Loss.Reasons = slices.Clone(r.reasons)
	if !ending {
		p.Loss.Reasons = append(p.Loss.Reasons, PartialReason)
	}
	byABI := map[profiles.ABI]*profiles.ABISyscalls{}
	for k, e := range r.entries {
		a := byABI[k.abi]
		if a == nil {
			a = &profiles.ABISyscalls{ABI: k.abi}
			byABI[k.abi] = a
		}
		if k.name == "" {
			a.Unnamed = append(a.Unnamed, k.nr)
			continue
		}
		s := profiles.Syscall{Name: k.name, Seen: profiles.Seen{Comm: e.who.Comm, Exe: e.who.Exe, Pid: e.who.Pid,
			Recordings: 1, Count: e.count}}
		if k.hasArg {
			s.Args = &profiles.ArgValues{Values: []uint64{k.value}}
		}
		a.Syscalls = append(a.Syscalls, s)
	}
	for _, a := range byABI {
		p.ABIs = append(p.ABIs, *a)
	}
	p.Normalize()
	// Normalize merges one syscall's values; it keeps the first
	// provenance and sums the counts (profiles.mergeSeen).
	return p
}

// Summary says in a few lines what would have been refused, and by whom.
// Names from the container (its id, comm and exe, which its tasks
// choose) are quoted: a newline in one must not write a line of its own
// into the agent's log.
func (r *Recording) Summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	verb := "would have refused"
	if r.mode == ModeReport {
		verb = "refused"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "container %q (profile %s, %s mode): %d calls the profile %s", r.container, r.profile, r.mode, r.violations(), verb)
	type line struct {
		text  string
		count uint64
	}
	var lines []line
	for k, e := range r.entries {
		what := k.name
		if k.name == "" {
			what = fmt.Sprintf("syscall %d", k.nr)
		}
		if k.hasArg {
			what += fmt.Sprintf(" (argument %#x)", k.value)
		}
		lines = append(lines, line{fmt.Sprintf("  %s %s: %d, first by %q (%q, pid %d)", k.abi, what, e.count, e.who.Comm, e.who.Exe, e.who.Pid), e.count})
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].count != lines[j].count {
			return lines[i].count > lines[j].count
		}
		return lines[i].text < lines[j].text
	})
	for _, l := range lines {
		b.WriteString("\n" + l.text)
	}
	switch {
	case len(r.caps) > 0:
		var names []string
		for _, c := range r.caps {
			names = append(names, c.Name)
		}
		fmt.Fprintf(&b, "\n  capability checks denied: %s", strings.Join(names, ", "))
	case r.capsRecorded:
		b.WriteString("\n  capability checks denied: none")
	case r.capsWhy != "":
		b.WriteString("\n  capability checks not recorded: " + r.capsWhy)
	}
	if r.dropped > 0 {
		fmt.Fprintf(&b, "\n  %d more calls not kept (more than %d distinct violations): the recording is incomplete", r.dropped, MaxEntries)
	}
	for _, reason := range r.reasons {
		b.WriteString("\n  incomplete: " + reason)
	}
	return b.String()
}
