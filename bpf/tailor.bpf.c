//go:build ignore

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tailor's recorder: which syscalls (per ABI, with the arguments that
 * decide the attack surface) and which capabilities the tasks of the
 * containers being learned use, aggregated in the kernel. User space gets
 * one ring-buffer record per new (container, item) only.
 *
 * Scope: a container is registered by its mount namespace and its init.
 * Tasks are tracked from registration, inherited at fork, and joined when a
 * task in a registered mount namespace forks, execs or loads a seccomp
 * filter (runc exec). Runtime boundary: a tracked task's syscalls count once
 * its seccomp filter count grows past the one it had when tracking began
 * (the container's filter was loaded, in this task or by TSYNC), or, for
 * containers without a filter, from the init's final execve (inclusive).
 * Capability checks count from the final execve, keeping the checks made
 * since the task's credentials last changed before it (the runtime's
 * capset/setresuid): the container's own capability sets.
 *
 * Capacity: the task map is shared by every container, so each container
 * holds at most task_quota entries of it. A container that forks without
 * end loses its own further tasks (its lost_tasks, its profile incomplete)
 * while the others keep room; the containers of one scope (a Kubernetes
 * namespace, or the host) hold at most scope_task_quota together, so that
 * one namespace's containers cannot fill the map either. Each entry the
 * kernel adds holds one of its container's quota (container.tasks) and one
 * of its scope's (scopes) until the kernel removes it; entries
 * of an earlier registration of a slot (container.gen) are stale: they
 * record nothing, count for no one, and go at their task's next event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tailor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h */
#define SYS_SOCKET 1     /* socketcall's call for socket(2) */
#define PR_SET_SECCOMP 22
#define EEXIST 17

/* Number of registered containers whose boundary is the final execve:
 * while zero, tasks without any seccomp filter skip all work. */
__u32 exec_boundary_users = 0;

/* Most task map entries one container holds; the loader may set it
 * (bpf.TaskQuota). The default, an eighth of the map (4096 of 32768), is
 * far more threads than a service runs (tens to a few hundred; a build or
 * a JVM a few thousand), and it takes eight containers at their quota to
 * fill the map: one runaway container, or a few, cannot. */
volatile const __u32 task_quota = MAX_TASKS / 8;

/* Most task map entries the containers of one scope hold together (the
 * profiler gives each Kubernetes namespace, and the host, a scope), so
 * that one namespace's containers, each within its own quota, cannot fill
 * the map. The loader sets it from the map's size (bpf.ScopeShare). */
volatile const __u32 scope_task_quota = MAX_TASKS / SCOPE_SHARE_DIV;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TASKS);
	__type(key, __u32); /* thread id */
	__type(value, struct task_state);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u32); /* mount namespace inode */
	__type(value, __u32); /* container index */
} mntns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u32);
	__type(value, struct container);
} containers SEC(".maps");

/* A scope's index is below MAX_CONTAINERS: each registered container has
 * one, so there are never more scopes in use than containers. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u32); /* container.scope */
	__type(value, struct scope);
} scopes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u32); /* container.scope */
	__type(value, struct scope);
} scope_freed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CONTAINERS * N_ABIS);
	__type(key, __u32); /* cid * N_ABIS + abi */
	__type(value, struct bitmap);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ARG_ENTRIES);
	__type(key, struct arg_key);
	__type(value, __u8);
} args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ARG_ENTRIES / 4);
	__type(key, struct argc_key);
	__type(value, __u32); /* distinct values; > MAX_ARG_VALUES: overflow */
} argcount SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* A container's start opens hundreds of files at once, each a record
	 * of its path: room for thousands while user space catches up. */
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Types only the Go loader uses, referenced so that they are in the
 * object's BTF, where bpf2go (-type in gen.go) finds them. */
struct go_types {
	struct event event;
	struct touch touch;
	struct scope scope;
	enum touch_flag touch_flag;
	enum net_op net_op;
	enum access access;
	enum touch_limit touch_limit;
	enum event_kind event_kind;
	enum container_flag container_flag;
	enum abi abi;
	enum limit limit;
};
const struct go_types *unused_go_types __attribute__((unused));

static __always_inline void lose(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
}

/* emit sends a first sighting by the current task (every caller's task is
 * the current one). It is a global function, so that the verifier checks
 * it once instead of at each of its inlined call sites: record_caps' loop
 * had the verifier walk it 128 times (about 29k instructions and 40 ms of
 * the tracer's start for sched_process_exec alone). */
__noinline int emit(__u32 cid, __u8 kind, __u8 abi, __u16 nr, __u64 value)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		struct container *c = bpf_map_lookup_elem(&containers, &cid);
		if (c)
			lose(&c->lost_events);
		return 0;
	}
	e->cid = cid;
	e->kind = kind;
	e->abi = abi;
	e->nr = nr;
	e->value = value;
	e->pid = task->pid;
	e->tgid = task->tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	const unsigned char *name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	if (!name || bpf_probe_read_kernel_str(e->exe, sizeof(e->exe), name) < 0)
		e->exe[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline __u32 task_mntns(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

static __always_inline __u32 task_filters(struct task_struct *task)
{
	return BPF_CORE_READ(task, seccomp.filter_count.counter);
}

/* The task's own (real) credentials: commit_creds replaces them; a
 * temporary override (overlayfs acting as its mounter, access(2)) does not. */
static __always_inline __u64 task_cred(struct task_struct *task)
{
	return (__u64)BPF_CORE_READ(task, real_cred);
}

/* owner returns the container a task map entry belongs to, or 0 when the
 * entry is stale: its slot was freed (and maybe registered again) while
 * the task ran, or while it forked during Tracer.Free. */
static __always_inline struct container *owner(__u32 cid, __u32 gen)
{
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	return c && c->gen == gen && gen ? c : 0;
}

/* scope_take takes one of the room of c's scope in *field of scopes (the
 * tasks or objects it holds) against quota; freed is the same field of
 * scope_freed. Returns the counter to give it back by, or 0 when the scope
 * holds its quota. */
static __always_inline __s64 *scope_take(struct container *c, __u32 field, __u32 quota)
{
	__u32 id = c->scope;
	struct scope *used = bpf_map_lookup_elem(&scopes, &id);
	struct scope *freed = bpf_map_lookup_elem(&scope_freed, &id);
	if (!used || !freed)
		return 0;
	__s64 *n = field ? &used->objects : &used->tasks;
	__s64 held = __sync_fetch_and_add(n, 1) - (field ? freed->objects : freed->tasks);
	if (held >= (__s64)quota) {
		__sync_fetch_and_add(n, -1);
		return 0;
	}
	return n;
}

#define SCOPE_TASKS 0
#define SCOPE_OBJECTS 1

/* give_task gives back one task of c's quota and of its scope's. */
static __always_inline void give_task(struct container *c)
{
	__sync_fetch_and_add(&c->tasks, -1);
	__u32 id = c->scope;
	struct scope *used = bpf_map_lookup_elem(&scopes, &id);
	if (used)
		__sync_fetch_and_add(&used->tasks, -1);
}

/* add puts ts into the task map as tid, holding one of c's quota and one
 * of its scope's. A task over either quota, or one the full map has no
 * room for, is lost to c alone. The quotas are taken before the entry is
 * added, so that CPUs adding at once cannot overshoot them. */
static __always_inline void add(struct container *c, __u32 tid, struct task_state *ts)
{
	if (__sync_fetch_and_add(&c->tasks, 1) >= task_quota) {
		__sync_fetch_and_add(&c->tasks, -1);
		lose(&c->lost_tasks);
		lose(&c->over_quota);
		return;
	}
	if (!scope_take(c, SCOPE_TASKS, scope_task_quota)) {
		__sync_fetch_and_add(&c->tasks, -1);
		lose(&c->lost_tasks);
		lose(&c->over_scope);
		return;
	}
	ts->counted = 1;
	long err = bpf_map_update_elem(&tasks, &tid, ts, BPF_NOEXIST);
	if (!err)
		return;
	give_task(c);
	if (err != -EEXIST) /* EEXIST: Tracer.Track added it first */
		lose(&c->lost_tasks);
}

/* untrack removes tid's entry and gives back the quota it held. Only the
 * removal that succeeded gives it back: Tracer.Free deletes entries from
 * user space at the same time (and resets the count). */
static __always_inline void untrack(__u32 tid)
{
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &tid);
	if (!ts)
		return;
	__u32 cid = ts->cid, gen = ts->gen;
	__u8 counted = ts->counted;
	if (bpf_map_delete_elem(&tasks, &tid) || !counted)
		return;
	struct container *c = owner(cid, gen);
	if (c)
		give_task(c);
}

/* track starts tracking task for container cid, as the runtime's (pending)
 * until its boundary. */
static __always_inline void track(struct task_struct *task, __u32 cid)
{
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	if (!c || !c->gen)
		return;
	struct task_state ts = {
		.cid = cid,
		.gen = c->gen,
		.exec_boundary = c->flags & BOUNDARY_EXEC,
		.filters = task_filters(task),
		.cred = task_cred(task),
	};
	add(c, task->pid, &ts);
}

/* joined returns the container whose mount namespace task is in. */
static __always_inline __u32 *joined(struct task_struct *task)
{
	__u32 ns = task_mntns(task);
	return ns ? bpf_map_lookup_elem(&mntns, &ns) : 0;
}

static __always_inline void record_syscall(struct task_struct *task, __u32 cid, __u8 abi, __u32 nr)
{
	__u32 idx = cid * N_ABIS + abi;
	struct bitmap *bm = bpf_map_lookup_elem(&syscalls, &idx);
	if (!bm || nr >= MAX_NR)
		return;
	/* Keep the compiler from folding the mask into the check above: the
	 * verifier needs it on the register that indexes the bitmap. */
	asm volatile("" : "+r"(nr));
	__u64 bit = 1ULL << (nr & 63);
	__u64 *w = &bm->w[(nr >> 6) & (NR_WORDS - 1)];
	if (*w & bit)
		return;
	if (__sync_fetch_and_or(w, bit) & bit)
		return;
	emit(cid, EV_SYSCALL, abi, nr, 0);
}

/* arg is syscall argument i (0-5) as the task passed it. */
static __always_inline __u64 arg(struct pt_regs *regs, __u8 abi, int i)
{
	if (abi == ABI_X86) {
		switch (i) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		case 2: return (__u32)regs->dx;
		case 3: return (__u32)regs->si;
		case 4: return (__u32)regs->di;
		case 5: return (__u32)regs->bp;
		}
		return 0;
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	case 5: return regs->r9;
	}
	return 0;
}

/* A rule added to profiles.ArgRules needs its branch in arg_value. */
_Static_assert(ARG_RULES == 9, "profiles.ArgRules changed: give arg_value a branch per rule");

/* arg_value computes the recorded argument value of the syscalls listed in
 * profiles.ArgRules, from the argument and mask profiles.h gives for each.
 * Returns 1 when the syscall has one, 0 when not, -1 when it could not be
 * read. */
static __always_inline int arg_value(struct pt_regs *regs, __u8 abi, long id, __u64 *v)
{
	long clone = NR_X86_64_clone, clone3 = NR_X86_64_clone3, unshare = NR_X86_64_unshare,
	     setns = NR_X86_64_setns, socket = NR_X86_64_socket, personality = NR_X86_64_personality,
	     prctl = NR_X86_64_prctl, ioctl = NR_X86_64_ioctl, socketcall = -1;
	if (abi == ABI_X86) {
		clone = NR_X86_clone; clone3 = NR_X86_clone3; unshare = NR_X86_unshare;
		setns = NR_X86_setns; socket = NR_X86_socket; personality = NR_X86_personality;
		prctl = NR_X86_prctl; ioctl = NR_X86_ioctl; socketcall = NR_X86_socketcall;
	} else if (abi == ABI_X32) {
		clone = NR_X32_clone; clone3 = NR_X32_clone3; unshare = NR_X32_unshare;
		setns = NR_X32_setns; socket = NR_X32_socket; personality = NR_X32_personality;
		prctl = NR_X32_prctl; ioctl = NR_X32_ioctl;
	}
	if (id == clone) {
		*v = arg(regs, abi, ARG_clone) & MASK_clone;
	} else if (id == clone3) {
		/* The flags are the first field of struct clone_args. */
		__u64 flags = 0;
		if (bpf_probe_read_user(&flags, sizeof(flags), (void *)arg(regs, abi, ARG_clone3)) < 0)
			return -1;
		*v = flags & MASK_clone3;
	} else if (id == unshare) {
		*v = arg(regs, abi, ARG_unshare) & MASK_unshare;
	} else if (id == personality) {
		*v = arg(regs, abi, ARG_personality) & MASK_personality;
	} else if (id == prctl) {
		*v = arg(regs, abi, ARG_prctl) & MASK_prctl;
	} else if (id == socketcall) {
		*v = arg(regs, abi, ARG_socketcall) & MASK_socketcall;
	} else if (id == setns) {
		*v = arg(regs, abi, ARG_setns) & MASK_setns;
	} else if (id == socket) {
		/* profiles.SocketValue: the domain, and the type (next argument). */
		*v = (arg(regs, abi, ARG_socket) & MASK_socket) << 32 |
		     (arg(regs, abi, ARG_socket + 1) & SOCKET_TYPE_MASK);
	} else if (id == ioctl) {
		*v = arg(regs, abi, ARG_ioctl) & MASK_ioctl;
	} else {
		return 0;
	}
	return 1;
}

static __always_inline void record_arg(struct task_struct *task, struct pt_regs *regs,
				       struct container *c, __u32 cid, __u8 abi, long id, __u32 nr)
{
	__u64 v;
	int ok = arg_value(regs, abi, id, &v);
	if (ok == 0)
		return;
	if (ok < 0) {
		lose(&c->lost_args);
		return;
	}
	struct arg_key k = { .cid = cid, .abi = abi, .nr = nr, .value = v };
	if (bpf_map_lookup_elem(&args, &k))
		return;
	struct argc_key ck = { .cid = cid, .abi = abi, .nr = nr };
	__u32 *n = bpf_map_lookup_elem(&argcount, &ck);
	if (!n) {
		__u32 zero = 0;
		bpf_map_update_elem(&argcount, &ck, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&argcount, &ck);
		if (!n) {
			lose(&c->lost_args);
			return;
		}
	}
	if (*n >= MAX_ARG_VALUES) {
		*n = MAX_ARG_VALUES + 1; /* overflow: no argument rule */
		return;
	}
	__u8 one = 1;
	long err = bpf_map_update_elem(&args, &k, &one, BPF_NOEXIST);
	if (err == -EEXIST) /* another CPU was first */
		return;
	if (err) {
		lose(&c->lost_args);
		return;
	}
	__sync_fetch_and_add(n, 1);
	emit(cid, EV_ARG, abi, nr, v);
}

/* emit_caps8 emits capabilities base to base+7: bit j of granted (denied)
 * is a granted (denied) check of capability base+j. A global function, so
 * that the verifier walks its loop once, not once per byte of record_caps'
 * (64 inlined iterations took it about 8k instructions per program). */
__noinline int emit_caps8(__u32 cid, __u32 base, __u8 granted, __u8 denied)
{
	for (int j = 0; j < 8; j++) {
		__u8 bit = 1 << j;
		if (granted & bit)
			emit(cid, EV_CAP, 0, base + j, 1);
		if (denied & bit)
			emit(cid, EV_CAP, 0, base + j, 0);
	}
	return 0;
}

static __always_inline void record_caps(struct task_struct *task, struct container *c, __u32 cid,
					__u64 granted, __u64 denied)
{
	__u64 g = granted & ~c->caps_granted, d = denied & ~c->caps_denied;
	if (g)
		g &= ~__sync_fetch_and_or(&c->caps_granted, g);
	if (d)
		d &= ~__sync_fetch_and_or(&c->caps_denied, d);
	for (int i = 0; i < 64 && (g | d); i += 8) {
		__u8 g8 = g >> i, d8 = d >> i;
		if (g8 | d8)
			emit_caps8(cid, i, g8, d8);
		g &= ~(0xffULL << i);
		d &= ~(0xffULL << i);
	}
}

#include "touch.bpf.h"

static __always_inline int is_exec(__u8 abi, long id)
{
	if (abi == ABI_X86)
		return id == NR_X86_execve || id == NR_X86_execveat;
	if (abi == ABI_X32)
		return id == NR_X32_execve || id == NR_X32_execveat;
	return id == NR_X86_64_execve || id == NR_X86_64_execveat;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* Hot path for every task on the host: tracked tasks past their
	 * boundary run under a seccomp filter, so a task with none can only
	 * matter when it is about to load one (runc exec joining), or when a
	 * container without a filter is being learned. */
	if (task->seccomp.mode == 0 && !exec_boundary_users &&
	    id != NR_X86_64_seccomp && id != NR_X86_64_prctl)
		return 0;

	__u32 tid = task->pid;
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &tid);
	struct container *c = ts ? owner(ts->cid, ts->gen) : 0;
	if (!c) {
		if (ts) /* stale: holds no quota */
			bpf_map_delete_elem(&tasks, &tid);
		/* A task that entered a registered mount namespace by setns and
		 * loads the container's filter itself (seccomp or prctl) is a
		 * joiner: its syscalls count once the filter is there. */
		if ((id == NR_X86_64_seccomp ||
		     (id == NR_X86_64_prctl && regs->di == PR_SET_SECCOMP))) {
			__u32 *cid = joined(task);
			if (cid)
				track(task, *cid);
		}
		return 0;
	}

	__u8 abi = ABI_X86_64;
	if (id & X32_SYSCALL_BIT)
		abi = ABI_X32;
	else if (task->thread_info.status & TS_COMPAT)
		abi = ABI_X86;
	__u32 nr = id & ~X32_SYSCALL_BIT;

	if (!ts->cap_active && is_exec(abi, id) && ts->cred != task_cred(task)) {
		/* The final execve: checks made before the credentials last
		 * changed were the runtime's (full capabilities). */
		ts->pending_granted = 0;
		ts->pending_denied = 0;
		ts->cred = task_cred(task);
	}
	if (!ts->sys_active) {
		if (ts->exec_boundary || (__u32)task->seccomp.filter_count.counter == ts->filters) {
			ts->last_nr = nr;
			ts->last_abi = abi;
			return 0;
		}
		ts->sys_active = 1;
	}
	record_syscall(task, ts->cid, abi, nr);
	record_arg(task, regs, c, ts->cid, abi, id, nr);
	return 0;
}

static __always_inline int on_cap(const struct cred *checked, int cap, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &tid);
	if (!ts || cap < 0 || cap > 63)
		return 0;
	struct container *c = owner(ts->cid, ts->gen);
	if (!c)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	/* A check of other credentials is not the container's need: overlayfs
	 * checks its mounter's (the engine's) while serving the container, and
	 * ptrace-style checks look at another task. */
	if ((__u64)checked != task_cred(task))
		return 0;
	__u64 bit = 1ULL << cap;
	if (ts->cap_active) {
		record_caps(task, c, ts->cid, ret == 0 ? bit : 0, ret == 0 ? 0 : bit);
		return 0;
	}
	__u64 cred = task_cred(task);
	if (cred != ts->cred) {
		ts->pending_granted = 0;
		ts->pending_denied = 0;
		ts->cred = cred;
	}
	if (ret == 0)
		ts->pending_granted |= bit;
	else
		ts->pending_denied |= bit;
	return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(cap_capable_tp, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	return on_cap(cred, cap, ret);
}

/* Fallback where the capability:cap_capable tracepoint is missing (before
 * 6.13): cap_capable(cred, target_ns, cap, opts) returns the result. */
SEC("fexit/cap_capable")
int BPF_PROG(cap_capable_fexit, const struct cred *cred, struct user_namespace *target_ns,
	     int cap, unsigned int opts, int ret)
{
	return on_cap(cred, cap, ret);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptid = parent->pid, ctid = child->pid;
	/* The child has not run yet: an entry under its id was left by an
	 * earlier task that had it, and would be taken for the child's. */
	untrack(ctid);
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &ptid);
	struct container *c = ts ? owner(ts->cid, ts->gen) : 0;
	if (!c) {
		if (ts) /* stale: holds no quota */
			bpf_map_delete_elem(&tasks, &ptid);
		/* Forked inside a registered mount namespace by a task that
		 * entered it with setns (runc exec, podman exec). */
		__u32 *cid = joined(parent);
		if (cid)
			track(child, *cid);
		return 0;
	}
	struct task_state copy = *ts;
	add(c, ctid, &copy);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 old = old_pid, tid = p->pid;
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &old);
	struct container *c = ts ? owner(ts->cid, ts->gen) : 0;
	if (ts && !c) {
		bpf_map_delete_elem(&tasks, &old); /* stale: holds no quota */
		ts = 0;
	}
	if (!ts) {
		if (!exec_boundary_users)
			return 0;
		/* setns into a filterless container, then exec without fork. */
		__u32 *cid = joined(p);
		if (!cid)
			return 0;
		track(p, *cid);
		ts = bpf_map_lookup_elem(&tasks, &tid);
		c = ts ? owner(ts->cid, ts->gen) : 0;
		if (!c)
			return 0;
		ts->last_nr = NR_X86_64_execve;
	} else if (old != tid) {
		/* A thread other than the leader exec'd and took the leader's
		 * id: move its entry, and the quota it holds, there (the
		 * leader's own entry went at its exit). Deleting first keeps
		 * the moved task's room in a full map. */
		struct task_state copy = *ts;
		untrack(tid);
		if (bpf_map_delete_elem(&tasks, &old))
			return 0; /* Tracer.Free removed it meanwhile */
		if (bpf_map_update_elem(&tasks, &tid, &copy, BPF_NOEXIST)) {
			if (copy.counted)
				give_task(c);
			lose(&c->lost_tasks);
			return 0;
		}
		ts = bpf_map_lookup_elem(&tasks, &tid);
		if (!ts)
			return 0;
	}
	if (!ts->sys_active && ts->exec_boundary) {
		ts->sys_active = 1;
		record_syscall(p, ts->cid, ts->last_abi, ts->last_nr);
	}
	if (!ts->cap_active) {
		ts->cap_active = 1;
		record_caps(p, c, ts->cid, ts->pending_granted, ts->pending_denied);
		ts->pending_granted = 0;
		ts->pending_denied = 0;
	}
	if (ts->sys_active)
		touch_exec(who_of(ts), (__u64)BPF_CORE_READ(bprm, file), (__u64)BPF_CORE_READ(bprm, filename),
			   (__u64)BPF_CORE_READ(bprm, interp));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	untrack(p->pid);
	return 0;
}
