package bpf

// The per-container lifecycle: register a slot, track its tasks, drain
// what the kernel aggregated, free the slot.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
)

// Register starts recording container cid: tasks in mount namespace mntns
// that join it, and (with Track) its init. execBoundary selects the
// boundary for containers without a seccomp filter. scope (0 to
// Capacity()-1) groups containers that share one quota of the task and
// object maps (see ScopeShare): the profiler gives each Kubernetes
// namespace, and the host, its own.
func (t *Tracer) Register(cid, mntns, scope uint32, execBoundary bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cid >= t.Capacity() {
		return fmt.Errorf("%w: container slot %d out of range", ErrCapacity, cid)
	}
	if scope >= t.Capacity() {
		return fmt.Errorf("%w: scope %d out of range (0 to %d)", ErrCapacity, scope, t.Capacity()-1)
	}
	if t.scopeUsers[scope] == 0 {
		// No container of the scope is registered, so the kernel does
		// not change its counts: what it holds starts from zero, and
		// what earlier Frees could not give back (see Free) is forgotten.
		var used tailorScope
		if err := t.objs.Scopes.Lookup(scope, &used); err != nil {
			return fmt.Errorf("look up scope %d: %w", scope, err)
		}
		if err := t.objs.ScopeFreed.Put(scope, used); err != nil {
			return fmt.Errorf("reset scope %d: %w", scope, err)
		}
	}
	// A new registration number makes task map entries left from an
	// earlier use of the slot stale (see owner in tailor.bpf.c).
	t.gen++
	if t.gen == 0 {
		t.gen++
	}
	c := tailorContainer{Gen: t.gen, Scope: scope}
	if execBoundary {
		c.Flags = boundaryExec
	}
	if err := t.objs.Containers.Put(cid, c); err != nil {
		return fmt.Errorf("register container %d: %w", cid, err)
	}
	t.scopeUsers[scope]++ // until Free, which the caller runs on any error too
	if err := t.objs.Mntns.Update(mntns, cid, ebpf.UpdateNoExist); err != nil {
		if errors.Is(err, ebpf.ErrKeyExist) {
			return fmt.Errorf("mount namespace %d is already being learned", mntns)
		}
		return fmt.Errorf("register mount namespace %d: %w", mntns, err)
	}
	t.registered[cid] = mntns
	if execBoundary {
		t.execUsers++
		if err := t.objs.ExecBoundaryUsers.Set(t.execUsers); err != nil {
			return fmt.Errorf("set exec boundary users: %w", err)
		}
	}
	return nil
}

// Track adds every thread of process pid to container cid, pending its
// boundary. Register the container first, so that a thread created while
// this runs is caught by the fork hook. These entries take none of the
// container's task quota: user space cannot add to the kernel's count
// atomically, and a process has few threads when its container starts.
func (t *Tracer) Track(cid uint32, pid int) error {
	tids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return fmt.Errorf("list threads of %d: %w", pid, err)
	}
	for _, e := range tids {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		filters, err := seccompFilters(pid, tid)
		if errors.Is(err, os.ErrNotExist) {
			continue // exited
		}
		if err != nil {
			return err
		}
		if err := t.track(cid, pid, tid, filters); err != nil {
			return fmt.Errorf("track thread %d: %w", tid, err)
		}
	}
	return nil
}

func (t *Tracer) track(cid uint32, pid, tid int, filters uint32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c tailorContainer
	if err := t.objs.Containers.Lookup(cid, &c); err != nil {
		return err
	}
	if c.Gen == 0 {
		return fmt.Errorf("container %d is not registered", cid)
	}
	ts := tailorTaskState{Cid: cid, Gen: c.Gen, Filters: filters, ExecBoundary: uint8(c.Flags & boundaryExec)}
	err := t.objs.Tasks.Update(uint32(tid), ts, ebpf.UpdateNoExist)
	if errors.Is(err, ebpf.ErrKeyExist) {
		return nil // already tracked through the fork hook
	}
	if err != nil {
		return err
	}
	// A thread that exited before its entry went in had its exit hook
	// run already: nothing else would remove the entry.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", pid, tid)); errors.Is(err, os.ErrNotExist) {
		return ignoreMissing(t.objs.Tasks.Delete(uint32(tid)))
	}
	return nil
}

// seccompFilters reads a thread's seccomp filter count.
func seccompFilters(pid, tid int) (uint32, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
	if err != nil {
		return 0, fmt.Errorf("read status of thread %d: %w", tid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Seccomp_filters:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return 0, fmt.Errorf("parse Seccomp_filters of thread %d: %w", tid, err)
			}
			return uint32(n), nil
		}
	}
	return 0, nil // kernel without seccomp filter counts: none loaded
}

// Live returns how many tracked tasks of cid are alive (exits delete
// them from the task map).
func (t *Tracer) Live(cid uint32) (int, error) {
	var c tailorContainer
	if err := t.objs.Containers.Lookup(cid, &c); err != nil {
		return 0, fmt.Errorf("look up container %d: %w", cid, err)
	}
	n := 0
	var tid uint32
	var ts tailorTaskState
	it := t.objs.Tasks.Iterate()
	for it.Next(&tid, &ts) {
		if ts.Cid == cid && ts.Gen == c.Gen && c.Gen != 0 {
			n++
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("count tasks of container %d: %w", cid, err)
	}
	return n, nil
}

// Drain reads what the kernel aggregated for cid.
func (t *Tracer) Drain(cid uint32) (*Recording, error) {
	r := &Recording{}
	var c tailorContainer
	if err := t.objs.Containers.Lookup(cid, &c); err != nil {
		return nil, fmt.Errorf("look up container %d: %w", cid, err)
	}
	r.CapsGranted, r.CapsDenied = c.CapsGranted, c.CapsDenied
	r.LostEvents, r.LostTasks, r.LostArgs = c.LostEvents, c.LostTasks, c.LostArgs
	r.OverQuota, r.OverScope = c.OverQuota, c.OverScope
	r.LostPaths, r.LostObjects = c.LostPaths, c.LostObjects
	for abi := range numABIs {
		var bm tailorBitmap
		if err := t.objs.Syscalls.Lookup(syscallsKey(cid, abi), &bm); err != nil {
			return nil, fmt.Errorf("look up syscalls of container %d: %w", cid, err)
		}
		for w, word := range bm.W {
			for b := range 64 {
				if word&(1<<b) != 0 {
					r.Syscalls[abi] = append(r.Syscalls[abi], w*64+b)
				}
			}
		}
		r.Args[abi] = map[int][]uint64{}
		r.ArgOverflow[abi] = map[int]bool{}
	}
	var k tailorArgKey
	var one uint8
	it := t.objs.Args.Iterate()
	for it.Next(&k, &one) {
		if k.Cid == cid && int(k.Abi) < numABIs {
			r.Args[k.Abi][int(k.Nr)] = append(r.Args[k.Abi][int(k.Nr)], k.Value)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read argument values: %w", err)
	}
	var ck tailorArgcKey
	var n uint32
	it = t.objs.Argcount.Iterate()
	for it.Next(&ck, &n) {
		if ck.Cid == cid && int(ck.Abi) < numABIs && n > maxArgValues {
			r.ArgOverflow[ck.Abi][int(ck.Nr)] = true
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read argument counts: %w", err)
	}
	return r, nil
}

// Free forgets container cid and everything recorded for it.
func (t *Tracer) Free(cid uint32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	var c tailorContainer
	if err := t.objs.Containers.Lookup(cid, &c); err == nil && c.Flags&boundaryExec != 0 && t.execUsers > 0 {
		t.execUsers--
		errs = append(errs, t.objs.ExecBoundaryUsers.Set(t.execUsers))
	}
	if ns, ok := t.registered[cid]; ok {
		errs = append(errs, ignoreMissing(t.objs.Mntns.Delete(ns)))
		delete(t.registered, cid)
	}
	// Entries a fork adds while this runs stay, stale once the slot's
	// generation is reset below: the kernel drops them at their task's
	// next event, and they take no quota of the slot's next container.
	errs = append(errs, deleteWhere(t.objs.Tasks, func(_ uint32, ts tailorTaskState) bool { return ts.Cid == cid }))
	errs = append(errs, deleteWhere(t.objs.Args, func(k tailorArgKey, _ uint8) bool { return k.Cid == cid }))
	errs = append(errs, deleteWhere(t.objs.Argcount, func(k tailorArgcKey, _ uint32) bool { return k.Cid == cid }))
	errs = append(errs, deleteWhere(t.objs.Objects, func(k objectKey, _ uint64) bool { return k.Cid == cid }))
	for abi := range numABIs {
		errs = append(errs, t.objs.Syscalls.Put(syscallsKey(cid, abi), tailorBitmap{}))
	}
	// Zero also resets the task count and marks the slot free (gen 0).
	// What the container held goes back to its scope, as read just
	// before: a task the kernel adds or removes between the two leaves
	// the scope's count off by one until its last container is freed
	// (Register resets it then).
	var held tailorContainer
	if err := t.objs.Containers.Lookup(cid, &held); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, t.objs.Containers.Put(cid, tailorContainer{}))
	if held.Gen != 0 {
		errs = append(errs, t.giveBack(held))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("free container %d: %w", cid, err)
	}
	return nil
}

// giveBack returns to c's scope the tasks and objects c held.
func (t *Tracer) giveBack(c tailorContainer) error {
	if t.scopeUsers[c.Scope]--; t.scopeUsers[c.Scope] <= 0 {
		delete(t.scopeUsers, c.Scope)
	}
	var freed tailorScope
	if err := t.objs.ScopeFreed.Lookup(c.Scope, &freed); err != nil {
		return fmt.Errorf("look up scope %d: %w", c.Scope, err)
	}
	freed.Tasks += c.Tasks
	freed.Objects += c.Objects
	if err := t.objs.ScopeFreed.Put(c.Scope, freed); err != nil {
		return fmt.Errorf("give back to scope %d: %w", c.Scope, err)
	}
	return nil
}

// syscallsKey is the syscalls map's key of a container's ABI.
func syscallsKey(cid uint32, abi int) uint32 {
	return cid*uint32(numABIs) + uint32(abi)
}

func ignoreMissing(err error) error {
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil
	}
	return err
}

func deleteWhere[K comparable, V any](m *ebpf.Map, match func(K, V) bool) error {
	var keys []K
	var k K
	var v V
	it := m.Iterate()
	for it.Next(&k, &v) {
		if match(k, v) {
			keys = append(keys, k)
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if err := ignoreMissing(m.Delete(k)); err != nil {
			return err
		}
	}
	return nil
}
