package bpf

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// The C side's enums, as bpf2go generated them from tailor.h and profiles.h.
const (
	numABIs      = int(tailorAbiN_ABIS)
	maxArgValues = uint32(tailorLimitMAX_ARG_VALUES)
	boundaryExec = uint32(tailorContainerFlagBOUNDARY_EXEC)
)

// Event kinds (Event.Kind).
const (
	EventSyscall = uint8(tailorEventKindEV_SYSCALL)
	EventCap     = uint8(tailorEventKindEV_CAP)
	EventArg     = uint8(tailorEventKindEV_ARG)
)

// Event is a first sighting of an item in a container.
type Event struct {
	Container uint32
	Kind      uint8
	ABI       uint8  // index into profiles.ABIs
	Nr        uint16 // syscall number (x32 without its bit) or capability
	Pid, Tgid uint32
	Value     uint64 // EventArg: the value; EventCap: 1 granted, 0 denied
	Comm, Exe string
	// Touch is the record of EventFile, EventExec, EventNet and
	// EventSignal (nil for the others): what the container touched.
	Touch *Touch
}

// Recording is what the kernel aggregated for one container.
type Recording struct {
	// Syscalls holds, per ABI index, the syscall numbers seen.
	Syscalls [numABIs][]int
	// Args holds, per ABI index and syscall number, the argument values.
	Args [numABIs]map[int][]uint64
	// ArgOverflow holds, per ABI index, the syscalls with too many values.
	ArgOverflow                     [numABIs]map[int]bool
	CapsGranted, CapsDenied         uint64
	LostEvents, LostTasks, LostArgs uint64
	// OverQuota is how many of LostTasks went unrecorded because the
	// container had its task quota (Tracer.TaskQuota) in use; the others
	// found the task map full.
	OverQuota uint64
	// OverScope is how many of LostTasks went unrecorded because the
	// containers of its scope had the scope's share of the task map in
	// use (ScopeShare).
	OverScope uint64
	// LostPaths counts paths deeper or longer than the kernel's walk;
	// LostObjects files, programs and endpoints its deduplication map had
	// no room for (the container's object quota or the map full).
	LostPaths, LostObjects uint64
}

// Tracer is the loaded and attached recorder. Its methods are safe for
// concurrent use.
type Tracer struct {
	mu      sync.Mutex
	objs    coreObjects
	capProg *ebpf.Program
	links   []link.Link
	events  *ringbuf.Reader
	// CapHook names the hook capability checks are recorded from.
	CapHook    string
	taskQuota  uint32
	execUsers  uint32
	gen        uint32            // last registration number (container.gen)
	registered map[uint32]uint32 // container -> mount namespace
	scopeUsers map[uint32]int    // scope -> containers registered in it
}

// coreObjects is everything but the capability hook, which is chosen by
// probing (see capHooks): the generated tailorObjects would load both.
type coreObjects struct {
	coreData
	SysEnter         *ebpf.Program `ebpf:"sys_enter"`
	SchedProcessFork *ebpf.Program `ebpf:"sched_process_fork"`
	SchedProcessExec *ebpf.Program `ebpf:"sched_process_exec"`
	SchedProcessExit *ebpf.Program `ebpf:"sched_process_exit"`
	SysExitTouch     *ebpf.Program `ebpf:"sys_exit_touch"`
	SignalGenerate   *ebpf.Program `ebpf:"signal_generate"`
}

// coreData is what Load creates before the programs: the maps and the
// variable the tracer sets.
type coreData struct {
	tailorMaps
	ExecBoundaryUsers *ebpf.Variable `ebpf:"exec_boundary_users"`
}

// capHooks are the ways to see capability checks, best first: the
// capability:cap_capable tracepoint (6.13+), then fexit on cap_capable.
var capHooks = []struct{ prog, name string }{
	{"cap_capable_tp", "tp_btf/cap_capable"},
	{"cap_capable_fexit", "fexit/cap_capable"},
}

// ErrUnsupported is returned when this kernel cannot run the recorder.
var ErrUnsupported = errors.New("kernel cannot run tailor's recorder")

// Option changes how Load sets the recorder up.
type Option func(*config)

type config struct {
	taskQuota   uint32 // 0: the object's default
	taskMap     uint32 // 0: the object's size; tests shrink it
	objectQuota uint32 // 0: the object's default; tests shrink it
	objectMap   uint32 // 0: the object's size; tests shrink it
	scopeShare  float64
	shareSet    bool // false: DefaultScopeShare
}

// DefaultScopeShare is the fraction of the task and object maps the
// containers of one scope hold together, the same share of the container
// slots the profiler gives one Kubernetes namespace.
const DefaultScopeShare = 0.25

// ScopeShare sets the fraction (above 0, at most 1) of the task map and of
// the object map that the containers of one scope (Register's scope) hold
// together: a scope's further tasks and objects go unrecorded and count as
// lost in its own containers' recordings, while other scopes keep their
// room. The default is DefaultScopeShare.
func ScopeShare(f float64) Option {
	return func(c *config) { c.scopeShare, c.shareSet = f, true }
}

// objectMap resizes the object map and sets the per-container object
// quota, so that a test can fill them.
func objectMap(size, quota uint32) Option {
	return func(c *config) { c.objectMap, c.objectQuota = size, quota }
}

// TaskQuota sets how many tasks of one container are tracked at once: its
// further tasks go unrecorded and count as lost tasks in its own recording
// (the profile is incomplete), while other containers keep their room in
// the task map all containers share. n must be from 1 to the task map's
// size. The default is an eighth of the map, 4096 of 32768 tasks: it takes
// eight containers at their quota to fill the map.
func TaskQuota(n uint32) Option {
	return func(c *config) { c.taskQuota = n }
}

// taskMapSize resizes the task map, so that a test can fill it.
func taskMapSize(n uint32) Option {
	return func(c *config) { c.taskMap = n }
}

// ErrBadOption is returned by Load for an option out of range.
var ErrBadOption = errors.New("bad recorder option")

// configure applies opts to spec and returns the task quota in effect.
func configure(spec *ebpf.CollectionSpec, opts []Option) (uint32, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tasks := spec.Maps[tailorMapTasks]
	if cfg.taskMap != 0 {
		tasks.MaxEntries = cfg.taskMap
	}
	quota := spec.Variables[tailorVarTaskQuota]
	if cfg.taskQuota != 0 {
		if cfg.taskQuota > tasks.MaxEntries {
			return 0, fmt.Errorf("%w: task quota %d is above the task map's size %d: choose 1 to %d", ErrBadOption, cfg.taskQuota, tasks.MaxEntries, tasks.MaxEntries)
		}
		if err := quota.Set(cfg.taskQuota); err != nil {
			return 0, fmt.Errorf("set task quota: %w", err)
		}
	}
	var n uint32
	if err := quota.Get(&n); err != nil {
		return 0, fmt.Errorf("read task quota: %w", err)
	}
	objects := spec.Maps[tailorMapObjects]
	if cfg.objectMap != 0 {
		objects.MaxEntries = cfg.objectMap
		if err := spec.Variables[tailorVarObjectQuota].Set(cfg.objectQuota); err != nil {
			return 0, fmt.Errorf("set object quota: %w", err)
		}
	}
	share := DefaultScopeShare
	if cfg.shareSet {
		share = cfg.scopeShare
	}
	if !(share > 0 && share <= 1) {
		return 0, fmt.Errorf("%w: scope share %v: choose a fraction above 0, at most 1", ErrBadOption, share)
	}
	for _, v := range []struct {
		name string
		size uint32
	}{{tailorVarScopeTaskQuota, tasks.MaxEntries}, {tailorVarScopeObjectQuota, objects.MaxEntries}} {
		if err := spec.Variables[v.name].Set(max(1, uint32(float64(v.size)*share))); err != nil {
			return 0, fmt.Errorf("set %s: %w", v.name, err)
		}
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return 0, fmt.Errorf("make the object hash key: %w", err)
	}
	if err := spec.Variables[tailorVarHashSeed].Set(binary.NativeEndian.Uint64(seed[:])); err != nil {
		return 0, fmt.Errorf("set the object hash key: %w", err)
	}
	return n, nil
}

// Load loads the programs and attaches them. The caller must Close it.
//
// A hook that finds no tracer waits for this, so it is ordered for a cold
// start: the kernel's BTF (CO-RE relocation and the tp_btf/fexit
// targets), the largest part in user space, is parsed while the object is
// read and the maps are created, which need no kernel types; then the
// programs are verified concurrently (the kernel verifies each in its own
// bpf(2) call, on its own CPU), the best capability hook among them.
func Load(opts ...Option) (*Tracer, error) {
	kernel := btf.NewCache()
	go kernel.Kernel() // an error shows where it is used
	spec, err := loadTailor()
	if err != nil {
		return nil, fmt.Errorf("load BPF spec: %w", err)
	}
	t := &Tracer{registered: map[uint32]uint32{}, scopeUsers: map[uint32]int{}}
	if t.taskQuota, err = configure(spec, opts); err != nil {
		return nil, err
	}
	// spec is this call's own: the loads below share it rather than copy
	// it (loading does not change a spec).
	data := *spec
	data.Programs = nil
	coll, err := ebpf.NewCollectionWithOptions(&data, ebpf.CollectionOptions{Cache: kernel})
	if err != nil {
		return nil, fmt.Errorf("%w: create maps (needs root and Linux 5.11+): %w", ErrUnsupported, err)
	}
	// The programs share the maps just created.
	shared := maps.Clone(coll.Maps)
	if err := coll.Assign(&t.objs.coreData); err != nil {
		coll.Close()
		return nil, fmt.Errorf("assign BPF maps: %w", err)
	}
	o := &t.objs
	capProg, capErr, err := loadPrograms(spec, kernel, shared, capHooks[0].prog, map[string]**ebpf.Program{
		"sys_enter":          &o.SysEnter,
		"sched_process_fork": &o.SchedProcessFork,
		"sched_process_exec": &o.SchedProcessExec,
		"sched_process_exit": &o.SchedProcessExit,
		"sys_exit_touch":     &o.SysExitTouch,
		"signal_generate":    &o.SignalGenerate,
	})
	if err != nil {
		if capProg != nil {
			capProg.Close()
		}
		t.Close()
		return nil, fmt.Errorf("%w: load programs (needs root, BTF at /sys/kernel/btf/vmlinux and tp_btf support, Linux 5.11+): %w", ErrUnsupported, err)
	}
	// The capability hook: the best one was loaded with the others; the
	// next ones are loaded only when it does not load or attach.
	var capErrs []error
	for i, h := range capHooks {
		if i > 0 {
			capProg, capErr = loadProgram(spec, kernel, shared, h.prog)
		}
		if capErr == nil {
			var l link.Link
			l, capErr = link.AttachTracing(link.TracingOptions{Program: capProg})
			if capErr == nil {
				t.capProg, t.CapHook = capProg, h.name
				t.links = append(t.links, l)
				break
			}
			capProg.Close()
		}
		capErrs = append(capErrs, fmt.Errorf("%s: %w", h.name, capErr))
	}
	if t.capProg == nil {
		t.Close()
		return nil, fmt.Errorf("%w: no capability hook works: %w", ErrUnsupported, errors.Join(capErrs...))
	}
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{
		{"sys_enter", t.objs.SysEnter},
		{"sched_process_fork", t.objs.SchedProcessFork},
		{"sched_process_exec", t.objs.SchedProcessExec},
		{"sched_process_exit", t.objs.SchedProcessExit},
		{"sys_exit_touch", t.objs.SysExitTouch},
		{"signal_generate", t.objs.SignalGenerate},
	} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("%w: attach %s: %w", ErrUnsupported, p.name, err)
		}
		t.links = append(t.links, l)
	}
	t.events, err = ringbuf.NewReader(t.objs.Events)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("open event ring buffer: %w", err)
	}
	return t, nil
}

// loadPrograms verifies tailor's programs concurrently against the maps
// already created, each into its field of into, and the capability hook
// named capName, which it returns with its own error: the caller may fall
// back to another. The kernel verifies one program per bpf(2) call, and
// verification is most of a load.
func loadPrograms(spec *ebpf.CollectionSpec, kernel *btf.Cache, shared map[string]*ebpf.Map, capName string, into map[string]**ebpf.Program) (capProg *ebpf.Program, capErr, err error) {
	var wg sync.WaitGroup
	errs := make([]error, len(into))
	i := 0
	for name, field := range into {
		i := i
		wg.Go(func() {
			p, err := loadProgram(spec, kernel, shared, name)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, verifierError(err))
			}
			*field = p
		})
		i++
	}
	capProg, capErr = loadProgram(spec, kernel, shared, capName)
	wg.Wait()
	return capProg, capErr, errors.Join(errs...)
}

// loadProgram loads the program name of spec, whose maps are in shared.
func loadProgram(spec *ebpf.CollectionSpec, kernel *btf.Cache, shared map[string]*ebpf.Map, name string) (*ebpf.Program, error) {
	ps := spec.Programs[name]
	if ps == nil {
		return nil, fmt.Errorf("no program %s in the object", name)
	}
	one := *spec
	one.Programs = map[string]*ebpf.ProgramSpec{name: ps}
	c, err := ebpf.NewCollectionWithOptions(&one, ebpf.CollectionOptions{MapReplacements: shared, Cache: kernel})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.DetachProgram(name), nil
}

func verifierError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("%+v", ve)
	}
	return err
}

// Close detaches and unloads everything.
func (t *Tracer) Close() error {
	if t.events != nil {
		t.events.Close()
	}
	// tp_btf links go without waiting for a grace period (the kernel
	// frees their programs after one): a few ms for all of them.
	for _, l := range t.links {
		l.Close()
	}
	if t.capProg != nil {
		t.capProg.Close()
	}
	o := &t.objs
	for _, p := range []*ebpf.Program{o.SysEnter, o.SchedProcessFork, o.SchedProcessExec, o.SchedProcessExit, o.SysExitTouch, o.SignalGenerate} {
		if p != nil {
			p.Close()
		}
	}
	return o.tailorMaps.Close()
}

// ErrCapacity is returned when the kernel maps have no room left.
var ErrCapacity = errors.New("tracer is full")

// Capacity is how many containers can be learned at once: the size of the
// containers map, slots 0 to Capacity()-1.
func (t *Tracer) Capacity() uint32 {
	return t.objs.Containers.MaxEntries()
}

// TaskQuota is how many tasks of one container are tracked at once (see
// the TaskQuota option).
func (t *Tracer) TaskQuota() uint32 {
	return t.taskQuota
}

// ErrClosed is returned by ReadEvent after Close.
var ErrClosed = errors.New("tracer closed")

// ErrFlushed is returned by ReadEvent, instead of an event, once it has
// returned every record the ring held when Flush was called.
var ErrFlushed = errors.New("event reader flushed")

// ReadEvent blocks for the next first-sighting event.
func (t *Tracer) ReadEvent() (Event, error) {
	rec, err := t.events.Read()
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return Event{}, ErrClosed
		}
		if errors.Is(err, ringbuf.ErrFlushed) {
			return Event{}, ErrFlushed
		}
		return Event{}, fmt.Errorf("read event: %w", err)
	}
	if len(rec.RawSample) > 4 && rec.RawSample[4] >= EventFile {
		return decodeTouch(rec.RawSample)
	}
	var e tailorEvent
	if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	return Event{
		Container: e.Cid, Kind: e.Kind, ABI: e.Abi, Nr: e.Nr, Pid: e.Pid, Tgid: e.Tgid,
		Value: e.Value, Comm: cString(e.Comm[:]), Exe: cString(e.Exe[:]),
	}, nil
}

func cString[T ~int8 | ~uint8](b []T) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// Pending returns how many ring-buffer bytes are waiting to be read
// (reserved ones included: the kernel moves the producer position when a
// record is reserved, before it is written).
func (t *Tracer) Pending() int {
	return t.events.AvailableBytes()
}

// Flush wakes a ReadEvent blocked on an empty ring: it returns ErrFlushed
// after the records the ring holds.
func (t *Tracer) Flush() error {
	if err := t.events.Flush(); err != nil {
		return fmt.Errorf("flush event reader: %w", err)
	}
	return nil
}
