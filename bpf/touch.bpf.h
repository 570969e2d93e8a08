/* What a container touches: the files it opens (with the accesses the open
 * asks for), maps executable, runs, creates, removes, renames, links,
 * changes or fails to find; the programs it runs; the network endpoints it
 * binds, listens on, connects and sends to; the signals and ptrace it aims
 * outside itself. Included by tailor.bpf.c: the same tasks, containers and
 * boundary (task_state.sys_active) as the syscalls.
 *
 * Hook: one tp_btf program on raw_syscalls:sys_exit, sys_exit_touch,
 * whose first test is whether the syscall is one recorded here (touch_nr):
 * every other syscall of every task pays that test and nothing else. It
 * replaced a program attached to the syscalls:sys_exit_* perf event of
 * each of these syscalls: those ran for them only, but each of the 37 perf
 * events waited for a tracepoint grace period when the tracer closed (60
 * ms at best, closed all at once, and about a second now and then on a
 * loaded host), and a runtime that waits for the tracer (crun) waited that
 * long; the getppid storm costs the same either way within this VM's
 * noise (BENCHMARKS.md). There is no enter program: on x86_64 the
 * arguments are still in the task's saved registers at exit (none of these
 * syscalls changes them), and the result decides everything. The
 * sockaddr, open_how and path strings a task passed are read from its
 * memory at exit: a thread of the same task that rewrites them meanwhile
 * can only make its own profile wrong. 64-bit syscalls only, as the
 * syscalls:* events had it: a compat task's numbers are another table's
 * (and IA-32 is off here); x32 numbers carry a bit touch_nr never
 * matches.
 *
 * Paths are resolved in the kernel from a struct file (the returned fd, a
 * dirfd, the working directory, the exec'd file): dentries up to the
 * task's root, crossing mounts through struct mount, as the container sees
 * its root, so relative paths, dirfds, .. and symlinks come out as the
 * real file. A path string the task passed (mkdir, unlink, a failed open,
 * a unix socket address...) is sent with its directory resolved so; user
 * space joins and cleans the two. A walk that meets a path deeper than
 * MAX_WALK steps or longer than MAX_PATH bytes counts lost_paths (the
 * profile is incomplete). A file outside the task's root (a pipe, socket
 * or anonymous inode, memfd, a file of a lazily unmounted or disconnected
 * tree) has no name in the container and is not recorded. A file deleted
 * between its open and our walk is recorded by the name it had.
 *
 * Deduplication: objects holds one entry per (container, object), keyed
 * by a keyed hash of the record's bytes, with the access bits seen OR-ed
 * in; a record goes to user space only when it brings new bits. A full
 * map, a container at its object_quota, or its scope at scope_object_quota,
 * counts lost_objects: never a silently forgotten object (an LRU would be).
 *
 * BPF-LSM (file_open, socket_connect...) would see the same with less
 * work, but lsm programs do not load on this kernel (EPERM); the loader
 * probes for them (bpf.LSMAvailable) and these tracepoints are the path
 * that runs. */

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define ENOENT 2
#define ESRCH 3
#define EINPROGRESS 115
#define MAX_ERRNO 4095
#define O_ACCMODE 00000003
#define O_RDONLY 00000000
#define O_WRONLY 00000001
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_APPEND 00002000
#define O_PATH 010000000
#define __O_TMPFILE 020000000 /* O_TMPFILE is this and O_DIRECTORY */
#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define RENAME_EXCHANGE 0x2
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define UNIX_PATH_MAX 108
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define UIO_MAXIOV 1024 /* the most messages one sendmmsg sends */
#define SI_USER 0
#define SI_QUEUE -1
#define SI_TKILL -6

/* FMODE_CREATED (include/linux/fs.h): set on a file its open created, so
 * "create" is exactly an O_CREAT that made the file, not one that found it.
 * The value has been 0x100000 since 4.19; TestRecordsOpens checks it on the
 * running kernel. */
volatile const __u32 fmode_created = 0x100000;

/* Most objects one container holds in the objects map, as task_quota does
 * for tasks: a container that touches without end loses its own further
 * objects while the others keep room. */
volatile const __u32 object_quota = MAX_OBJECTS / 4;

/* Most objects the containers of one scope hold together, as
 * scope_task_quota does for tasks (bpf.ScopeShare). */
volatile const __u32 scope_object_quota = MAX_OBJECTS / SCOPE_SHARE_DIV;

/* The key of the object hash, random per load (Load sets it): a container
 * cannot pick two paths whose hashes collide to hide the second one. */
volatile const __u64 hash_seed = 0;

struct object_key {
	__u32 cid;
	__u32 gen;  /* container.gen: entries of an earlier registration never match */
	__u64 hash; /* of the record's kind, fields and bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_OBJECTS);
	/* Allocated as objects come: an idle tracer holds no 64k entries. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct object_key);
	/* enum access bits seen (EV_FILE), 1 (the others); 64 bits for the
	 * atomic OR (the object is built for the v1 instruction set). */
	__type(value, __u64);
} objects SEC(".maps");

#define DATA_MAX (3 * MAX_PATH)

/* Per-CPU room to build a record: the header, then its bytes (file, name,
 * dir, each at most MAX_PATH), and the walk's buffer, written from the end
 * backwards. Only task context uses it (sys_exit_touch and
 * sched_process_exec, which do not nest); signal_generate, which may run in
 * an interrupt, builds its records without it. */
struct scratch {
	struct touch ev;
	char data[DATA_MAX] __attribute__((aligned(8))); /* hashed 8 bytes at a time */
	char walk[2 * MAX_PATH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

/* who packs a task's (container, registration) for global functions, which
 * take at most five scalar arguments. */
static __always_inline __u64 who_of(struct task_state *ts)
{
	return (__u64)ts->gen << 32 | ts->cid;
}

static __always_inline __u64 mix(__u64 x)
{
	/* splitmix64's finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* note records acc for the object hash of container who and returns the
 * bits new to it (0: nothing to send). It takes no scratch: signal_generate
 * calls it too. */
__noinline int note(__u64 who, __u64 hash, __u32 acc)
{
	__u32 cid = (__u32)who;
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	if (!c)
		return 0;
	struct object_key k = { .cid = cid, .gen = who >> 32, .hash = hash };
	__u64 *v = bpf_map_lookup_elem(&objects, &k);
	if (!v) {
		if (__sync_fetch_and_add(&c->objects, 1) >= object_quota) {
			__sync_fetch_and_add(&c->objects, -1);
			lose(&c->lost_objects);
			return 0;
		}
		__s64 *scoped = scope_take(c, SCOPE_OBJECTS, scope_object_quota);
		if (!scoped) {
			__sync_fetch_and_add(&c->objects, -1);
			lose(&c->lost_objects);
			return 0;
		}
		__u64 none = 0;
		long err = bpf_map_update_elem(&objects, &k, &none, BPF_NOEXIST);
		if (err) {
			__sync_fetch_and_add(&c->objects, -1);
			__sync_fetch_and_add(scoped, -1);
			if (err != -EEXIST) { /* EEXIST: another CPU added it */
				lose(&c->lost_objects);
				return 0;
			}
		}
		v = bpf_map_lookup_elem(&objects, &k);
		if (!v)
			return 0;
	}
	if ((*v & acc) == acc)
		return 0;
	return acc & ~__sync_fetch_and_or(v, (__u64)acc);
}

static __always_inline void fill_task(struct touch *ev, __u32 cid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	ev->cid = cid;
	ev->pid = task->pid;
	ev->tgid = task->tgid;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	const unsigned char *name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	if (!name || bpf_probe_read_kernel_str(ev->exe, sizeof(ev->exe), name) < 0)
		ev->exe[0] = 0;
}

struct hash_ctx {
	__u64 h;
	__u32 len;
};

static long hash_step(__u32 i, void *arg)
{
	struct hash_ctx *hc = arg;
	struct scratch *s = get_scratch();
	__u64 off = (__u64)i * 8, len = hc->len;
	if (!s || off >= len || off > DATA_MAX - 8)
		return 1;
	__u64 w = *(__u64 *)&s->data[off];
	__u64 rest = len - off;
	if (rest < 8) /* the bytes after the record are an earlier one's */
		w &= (1ULL << (rest * 8)) - 1;
	hc->h = mix(hc->h ^ w);
	return 0;
}

/* submit sends the record built in the scratch (its kind, fields and
 * lengths set) when it brings accesses new to its object: acc for a file,
 * 1 for the other kinds. salt holds the fields that tell objects apart
 * beside the bytes. */
__noinline int submit(__u64 who, __u32 acc, __u64 salt)
{
	struct scratch *s = get_scratch();
	__u32 cid = (__u32)who;
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	if (!s || !c)
		return 0;
	__u32 len = s->ev.file_len + s->ev.dir_len + s->ev.name_len;
	if (len > DATA_MAX)
		return 0;
	/* The lengths go in: the same bytes split differently (a directory
	 * and a name) are another record. */
	__u64 shape = (__u64)s->ev.kind << 48 | (__u64)s->ev.file_len << 32 |
		      (__u64)s->ev.dir_len << 16 | s->ev.name_len;
	struct hash_ctx hc = { .h = mix(hash_seed ^ mix(shape ^ mix(salt))), .len = len };
	bpf_loop((len + 7) / 8, hash_step, &hc, 0);
	acc = note(who, hc.h, acc);
	if (!acc)
		return 0;
	s->ev.access = acc;
	fill_task(&s->ev, cid);
	if (bpf_ringbuf_output(&events, &s->ev, sizeof(s->ev) + len, 0))
		lose(&c->lost_events);
	return 0;
}

/* Results of the path functions below besides a length. */
#define R_LONG -1    /* deeper or longer than the walk: lost_paths */
#define R_OUTSIDE -2 /* no name in the container: not recorded */

enum walk_state { W_WALKING, W_DONE, W_LONG, W_OUTSIDE };

struct walk_ctx {
	__u64 dentry;      /* struct dentry *: the next one to name */
	__u64 mnt;         /* struct mount * it is in */
	__u64 root_dentry; /* the task's root */
	__u64 root_mnt;    /* (struct vfsmount *) */
	__u32 off;         /* the path so far is walk[off, MAX_PATH) */
	__u32 state;
};

/* walk_step names one dentry, or climbs from a mount's root to where it is
 * mounted, as d_path does. The pointers are read with probe reads: the
 * walk takes no locks, and a rename racing it gives a name the file had. */
static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct scratch *s = get_scratch();
	if (!s) {
		w->state = W_LONG;
		return 1;
	}
	struct dentry *d = (void *)w->dentry;
	struct mount *m = (void *)w->mnt;
	struct vfsmount *vm = (void *)m + bpf_core_field_offset(struct mount, mnt);
	if (w->dentry == w->root_dentry && (__u64)vm == w->root_mnt) {
		w->state = W_DONE;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		struct mount *parent = BPF_CORE_READ(m, mnt_parent);
		if (!parent || parent == m) { /* the namespace's root, not the task's */
			w->state = W_OUTSIDE;
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (__u64)parent;
		return 0;
	}
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d) { /* disconnected */
		w->state = W_OUTSIDE;
		return 1;
	}
	__u32 len = BPF_CORE_READ(d, d_name.len);
	if (len > NAME_MAX || len + 1 > w->off) {
		w->state = W_LONG;
		return 1;
	}
	__u32 off = w->off - len - 1;
	w->off = off;
	off &= MAX_PATH - 1;
	s->walk[off] = '/';
	bpf_probe_read_kernel(&s->walk[off + 1], len & NAME_MAX, BPF_CORE_READ(d, d_name.name));
	w->dentry = (__u64)parent;
	return 0;
}

/* resolve writes the path of (dentry, vfsmnt) as the current task sees it
 * to the scratch's data at at, and returns its length or R_*. A global
 * function: the verifier walks it, and its loop, once. */
__noinline int resolve(__u64 dentry, __u64 vfsmnt, __u32 at)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct scratch *s = get_scratch();
	if (!s || !dentry || !vfsmnt)
		return R_OUTSIDE;
	if (at > 2 * MAX_PATH)
		return R_LONG;
	/* Bounded here, in one register: the compiler would otherwise check
	 * one copy of at and index with another. */
	char *dst = &s->data[at];
	asm volatile("" : "+r"(dst));
	struct walk_ctx w = {
		.dentry = dentry,
		.mnt = vfsmnt - bpf_core_field_offset(struct mount, mnt),
		.root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt),
		.off = MAX_PATH,
	};
	bpf_loop(MAX_WALK, walk_step, &w, 0);
	if (w.state == W_OUTSIDE)
		return R_OUTSIDE;
	if (w.state != W_DONE)
		return R_LONG;
	if (w.off >= MAX_PATH) { /* the root itself */
		*dst = '/';
		return 1;
	}
	__u32 len = MAX_PATH - w.off;
	bpf_probe_read_kernel(dst, len, &s->walk[w.off & (MAX_PATH - 1)]);
	return len;
}

static __always_inline int resolve_file(struct file *f, __u32 at)
{
	return resolve((__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt), at);
}

/* fd_file returns the current task's file of fd (0: none). The kernel
 * takes a descriptor as a 32-bit int (fget's unsigned int): the upper half
 * of the register is the caller's garbage and is ignored here too. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 n = (__u32)fd; /* a negative int is beyond max_fds */
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || n >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[n]);
	return f;
}

/* dir_path resolves dirfd (AT_FDCWD: the working directory) to data at
 * at. dirfd is an int to the kernel: C callers (busybox; redis's fopen
 * through glibc) pass AT_FDCWD with the register's upper half zero, which
 * a 64-bit compare with -100 would take for a descriptor no task has,
 * dropping every lookup relative to the working directory. */
static __always_inline int dir_path(long dirfd, __u32 at)
{
	if ((int)dirfd == AT_FDCWD) {
		struct task_struct *task = bpf_get_current_task_btf();
		return resolve((__u64)BPF_CORE_READ(task, fs, pwd.dentry), (__u64)BPF_CORE_READ(task, fs, pwd.mnt), at);
	}
	struct file *f = fd_file(dirfd);
	return f ? resolve_file(f, at) : R_OUTSIDE;
}

static __always_inline void clear_ev(struct touch *ev, __u8 kind)
{
	ev->kind = kind;
	ev->flags = 0;
	ev->ftype = 0;
	ev->file_len = 0;
	ev->dir_len = 0;
	ev->name_len = 0;
	ev->net_op = 0;
	ev->family = 0;
	ev->sock_type = 0;
	ev->protocol = 0;
	ev->port = 0;
	ev->loopback = 0;
	ev->signal = 0;
	ev->target[0] = 0;
}

static __always_inline void lost_path(__u64 who)
{
	__u32 cid = (__u32)who;
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	if (c)
		lose(&c->lost_paths);
}

/* touch_path records acc on the file f (a struct file *), or, with parent
 * set, on the directory its dentry is in (on its mount), as a directory. */
__noinline int touch_path(__u64 who, __u64 f, __u32 acc, int parent)
{
	struct scratch *s = get_scratch();
	struct file *file = (void *)f;
	if (!s || !file)
		return 0;
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	if (parent)
		d = BPF_CORE_READ(d, d_parent);
	int n = resolve((__u64)d, (__u64)BPF_CORE_READ(file, f_path.mnt), 0);
	if (n == R_OUTSIDE)
		return 0;
	if (n < 0) {
		lost_path(who);
		return 0;
	}
	clear_ev(&s->ev, EV_FILE);
	s->ev.ftype = parent ? S_IFDIR >> 12 : (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) >> 12;
	s->ev.file_len = n;
	return submit(who, acc, 0);
}

/* touch_file records acc on the file f (a struct file *). */
static __always_inline int touch_file(__u64 who, __u64 f, __u32 acc)
{
	return touch_path(who, f, acc, 0);
}

/* touch_name records acc on the path string at uname the task passed,
 * relative to dirfd; mode gives the file type where the syscall names it
 * (mkdir, mknod, symlink), 0 where it does not. */
__noinline int touch_name(__u64 who, long dirfd, __u64 uname, __u32 acc, __u32 mode)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	/* The kernel refused names of MAX_PATH bytes or more (ENAMETOOLONG)
	 * before the syscall could succeed or fail with ENOENT. */
	long n = bpf_probe_read_user_str(s->data, MAX_PATH, (void *)uname);
	if (n <= 0) {
		lost_path(who);
		return 0;
	}
	n--;
	int d = 0;
	if (n == 0 || s->data[0] != '/') {
		d = dir_path(dirfd, n & (MAX_PATH - 1));
		if (d == R_OUTSIDE)
			return 0;
		if (d < 0) {
			lost_path(who);
			return 0;
		}
	}
	clear_ev(&s->ev, EV_FILE);
	s->ev.ftype = (mode & S_IFMT) >> 12;
	s->ev.name_len = n;
	s->ev.dir_len = d;
	return submit(who, acc, 0);
}

/* touch_open records an open's result: the file it opened with the
 * accesses its flags ask for, or a failed lookup (ENOENT). An O_PATH open
 * reads and writes nothing: not recorded. An O_TMPFILE open makes an
 * unnamed file in a directory (its dentry is named "#inode" this run
 * only): the directory is recorded, with create and the accesses asked
 * for, which is what AppArmor and Landlock (make_reg) check. */
__noinline int touch_open(__u64 who, long dirfd, __u64 uname, __u64 flags, long ret)
{
	if (ret == -ENOENT)
		return touch_name(who, dirfd, uname, ACC_LOOKUP, 0);
	if (ret < 0 || (flags & O_PATH))
		return 0;
	struct file *f = fd_file(ret);
	if (!f)
		return 0;
	__u32 acc;
	switch (flags & O_ACCMODE) {
	case O_RDONLY: acc = ACC_READ; break;
	case O_WRONLY: acc = ACC_WRITE; break;
	default: acc = ACC_READ | ACC_WRITE; break;
	}
	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		return touch_path(who, (__u64)f, acc | ACC_CREATE, 1);
	if ((flags & O_APPEND) && !(flags & O_TRUNC) && (acc & ACC_WRITE))
		acc = (acc & ~ACC_WRITE) | ACC_APPEND;
	if (BPF_CORE_READ(f, f_mode) & fmode_created)
		acc |= ACC_CREATE;
	else if ((flags & O_TRUNC) && (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFREG)
		acc |= ACC_TRUNCATE; /* the kernel truncates regular files only */
	return touch_file(who, (__u64)f, acc);
}

/* touch_target records a signal (0: ptrace) aimed at task t, unless t is a
 * task of the sender's own container; flags are enum touch_flag's
 * (TF_FAILED). No scratch: it may run in an interrupt (a timer's
 * signal). */
static __always_inline int touch_target(__u64 who, struct task_struct *t, int sig, __u8 flags)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	struct task_state *tts = bpf_map_lookup_elem(&tasks, &tid);
	if (tts && tts->cid == (__u32)who && tts->gen == who >> 32)
		return 0;
	char comm[16] = {};
	bpf_probe_read_kernel_str(comm, sizeof(comm), &t->comm);
	__u64 w0 = 0, w1 = 0;
	__builtin_memcpy(&w0, comm, 8);
	__builtin_memcpy(&w1, comm + 8, 8);
	__u64 h = mix(hash_seed ^ mix((__u64)EV_SIGNAL << 48 | (__u64)flags << 8 | (__u8)sig) ^ mix(w0) ^ mix(w1 + 1));
	if (!note(who, h, 1))
		return 0;
	__u32 cid = (__u32)who;
	struct container *c = bpf_map_lookup_elem(&containers, &cid);
	struct touch *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		if (c)
			lose(&c->lost_events);
		return 0;
	}
	clear_ev(ev, EV_SIGNAL);
	ev->flags = flags;
	ev->access = 1;
	ev->signal = sig;
	__builtin_memcpy(ev->target, comm, sizeof(comm));
	fill_task(ev, cid);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* ptrace_target returns the task a successful PTRACE_ATTACH or
 * PTRACE_SEIZE just attached to: ptrace_link puts it at the head of the
 * tracer's ptraced list. */
static __always_inline struct task_struct *ptrace_target(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct list_head *first = BPF_CORE_READ(task, ptraced.next);
	if (!first || first == &task->ptraced)
		return 0;
	return (void *)first - bpf_core_field_offset(struct task_struct, ptrace_entry);
}

/* bpf_task_from_vpid (6.13+) finds a task by its id in the current task's
 * pid namespace, as ptrace(2) takes it. Weak: where the kernel lacks it,
 * the loader leaves its address 0. */
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym;

/* touch_ptrace records a PTRACE_ATTACH or PTRACE_SEIZE aimed outside the
 * container: the task it attached to, or, when it failed (EPERM: no right
 * to, a kernel thread, a task already traced), the task pid names, as an
 * attempt (TF_FAILED): a sign of intent a profile keeps. A pid that names
 * no task the caller can see (ESRCH) aims at nothing. Without
 * bpf_task_from_vpid a failed attempt cannot be told inside from outside:
 * it counts as a lost object, so that the profile says it is incomplete. */
static __always_inline int touch_ptrace(__u64 who, long req, long pid, long ret)
{
	if (req != PTRACE_ATTACH && req != PTRACE_SEIZE)
		return 0;
	if (ret == 0) {
		struct task_struct *t = ptrace_target();
		return t ? touch_target(who, t, 0, 0) : 0;
	}
	if (ret == -ESRCH)
		return 0;
	if (!bpf_task_from_vpid) {
		__u32 cid = (__u32)who;
		struct container *c = bpf_map_lookup_elem(&containers, &cid);
		if (c)
			lose(&c->lost_objects);
		return 0;
	}
	struct task_struct *t = bpf_task_from_vpid((s32)pid);
	if (!t)
		return 0;
	touch_target(who, t, 0, TF_FAILED);
	bpf_task_release(t);
	return 0;
}

static __always_inline int loopback4(__u32 addr) /* network order */
{
	return (addr & 0xff) == 127;
}

static __always_inline int loopback6(__u32 a[4])
{
	if (a[0] || a[1])
		return 0;
	if (!a[2])
		return a[3] == __builtin_bswap32(1); /* ::1 */
	return a[2] == __builtin_bswap32(0xffff) && loopback4(a[3]); /* ::ffff:127.x */
}

/* touch_sock records a network operation on socket fd: op, with the
 * address the task passed at uaddr (ulen bytes) for a bind, a send and
 * for unix sockets; inet connect and listen read the socket itself (the
 * address the kernel used). */
__noinline int touch_sock(__u64 who, long fd, __u32 op, __u64 uaddr, __u64 ulen)
{
	struct scratch *s = get_scratch();
	struct file *f = fd_file(fd);
	if (!s || !f)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	clear_ev(&s->ev, EV_NET);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	s->ev.net_op = op;
	s->ev.family = family;
	s->ev.sock_type = BPF_CORE_READ(sk, sk_type);
	s->ev.protocol = BPF_CORE_READ(sk, sk_protocol);
	if (op == NET_SEND && s->ev.sock_type == SOCK_STREAM)
		return 0; /* a connected stream: the address is ignored */
	if (family == AF_INET || family == AF_INET6) {
		if (op == NET_LISTEN) {
			s->ev.port = BPF_CORE_READ(sk, __sk_common.skc_num);
		} else if (op == NET_CONNECT) {
			s->ev.port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
			if (family == AF_INET) {
				s->ev.loopback = loopback4(BPF_CORE_READ(sk, __sk_common.skc_daddr));
			} else {
				__u32 a[4] = {};
				BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
				s->ev.loopback = loopback6(a);
			}
		} else {
			/* bind and send: the address asked for, so that a bind
			 * to port 0 stays "any port", not the one the kernel
			 * picked this run. sockaddr_in and sockaddr_in6 both
			 * start family, port;
			 * the address follows at 4 (inet) or 8 (inet6). */
			struct { __u16 family, port; __u32 a4; __u32 a6[4]; } sa = {};
			if (!uaddr || ulen < 8 || bpf_probe_read_user(&sa, sizeof(sa), (void *)uaddr))
				return 0;
			if (sa.family != AF_INET && sa.family != AF_INET6)
				return 0;
			s->ev.family = sa.family;
			s->ev.port = __builtin_bswap16(sa.port);
			s->ev.loopback = sa.family == AF_INET ? loopback4(sa.a4) : loopback6(sa.a6);
		}
		__u64 salt = (__u64)op << 56 | (__u64)s->ev.family << 48 | (__u64)s->ev.sock_type << 40 |
			     (__u64)s->ev.protocol << 24 | (__u64)s->ev.port << 8 | s->ev.loopback;
		return submit(who, 1, salt);
	}
	if (family != AF_UNIX)
		return 0;
	/* sun_path as passed: a path (relative to the working directory) up to
	 * its NUL, or, starting with NUL, an abstract name of all the bytes.
	 * User space cuts it; a listen has no address to send. */
	__u32 n = 0;
	if (uaddr && ulen > 2) {
		n = ulen - 2;
		if (n > UNIX_PATH_MAX)
			n = UNIX_PATH_MAX;
		/* No change to n, but the verifier sees the bound on the
		 * register passed (the compiler would pass an unchecked copy). */
		asm volatile("%0 &= 127" : "+r"(n));
		if (bpf_probe_read_user(s->data, n, (void *)uaddr + 2))
			return 0;
	}
	int d = 0;
	if (n > 0 && s->data[0] != '/' && s->data[0] != 0) {
		d = dir_path(AT_FDCWD, n);
		if (d == R_OUTSIDE)
			return 0;
		if (d < 0) {
			lost_path(who);
			return 0;
		}
	}
	s->ev.name_len = n;
	s->ev.dir_len = d;
	return submit(who, 1, (__u64)op << 56 | (__u64)AF_UNIX << 48 | (__u64)s->ev.sock_type << 40);
}

/* touch_msg records the destination of a message sent by sendmsg(fd,
 * umsg), a struct user_msghdr: its msg_name, when it has one (a connected
 * socket's messages have none and go where connect said). */
__noinline int touch_msg(__u64 who, long fd, __u64 umsg)
{
	struct { __u64 name; __u32 namelen; } msg = {}; /* user_msghdr's first fields */
	if (bpf_probe_read_user(&msg, sizeof(msg), (void *)umsg) || !msg.name)
		return 0;
	return touch_sock(who, fd, NET_SEND, msg.name, msg.namelen);
}

struct mmsg_ctx {
	__u64 who;
	long fd;
	__u64 vec; /* struct mmsghdr *: a user_msghdr and its msg_len */
};

#define MMSGHDR_SIZE 64 /* sizeof(struct mmsghdr) on 64-bit */

static long mmsg_step(__u32 i, void *arg)
{
	struct mmsg_ctx *m = arg;
	touch_msg(m->who, m->fd, m->vec + (__u64)i * MMSGHDR_SIZE);
	return 0;
}

/* touch_mmsg records the destinations of the n messages sendmmsg sent
 * from vec (the first n: the kernel sends them in order). */
static __always_inline int touch_mmsg(__u64 who, long fd, __u64 vec, long n)
{
	struct mmsg_ctx m = { .who = who, .fd = fd, .vec = vec };
	bpf_loop(n > UIO_MAXIOV ? UIO_MAXIOV : n, mmsg_step, &m, 0);
	return 0;
}

/* touch_exec records the program an exec runs: file, the executable the
 * kernel loaded (for a script, its interpreter); for a script, name is the
 * script as exec was given it (bprm->filename), relative to dir. */
__noinline int touch_exec(__u64 who, __u64 file, __u64 filename, __u64 interp)
{
	struct scratch *s = get_scratch();
	if (!s || !file)
		return 0;
	int n = resolve_file((void *)file, 0);
	if (n == R_OUTSIDE)
		return 0;
	if (n < 0) {
		lost_path(who);
		return 0;
	}
	clear_ev(&s->ev, EV_EXEC);
	s->ev.file_len = n;
	if (filename != interp) { /* binfmt_script (or binfmt_misc) set interp */
		__u32 at = n & (MAX_PATH - 1);
		long m = bpf_probe_read_kernel_str(&s->data[at], MAX_PATH, (void *)filename);
		if (m <= 0) {
			lost_path(who);
			return 0;
		}
		m--;
		int d = 0;
		if (m == 0 || s->data[at] != '/') {
			d = dir_path(AT_FDCWD, at + (m & (MAX_PATH - 1)));
			if (d == R_OUTSIDE)
				return 0;
			if (d < 0) {
				lost_path(who);
				return 0;
			}
		}
		s->ev.flags = TF_SCRIPT;
		s->ev.name_len = m;
		s->ev.dir_len = d;
	}
	return submit(who, 1, 0);
}

/* touch_exit records what syscall nr of task, with its arguments in regs,
 * touched, given its result ret. */
static __always_inline int touch_exit(struct task_struct *task, struct pt_regs *regs, long nr, long ret)
{
	if (task->seccomp.mode == 0 && !exec_boundary_users)
		return 0; /* as in sys_enter: no tracked task past its boundary */
	__u32 tid = task->pid;
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &tid);
	if (!ts || !ts->sys_active || !owner(ts->cid, ts->gen))
		return 0;
	__u64 who = who_of(ts);
	long a0 = regs->di, a1 = regs->si, a2 = regs->dx, a3 = regs->r10, a4 = regs->r8;

	switch (nr) {
	case NR_X86_64_open:
		return touch_open(who, AT_FDCWD, a0, a1, ret);
	case NR_X86_64_creat:
		return touch_open(who, AT_FDCWD, a0, O_CREAT | O_WRONLY | O_TRUNC, ret);
	case NR_X86_64_openat:
		return touch_open(who, a0, a1, a2, ret);
	case NR_X86_64_openat2: {
		__u64 flags = 0; /* struct open_how starts with the flags */
		if (ret >= 0 && bpf_probe_read_user(&flags, sizeof(flags), (void *)a2))
			return 0;
		return touch_open(who, a0, a1, flags, ret);
	}
	case NR_X86_64_mmap:
		if ((unsigned long)ret >= -MAX_ERRNO || !(a2 & PROT_EXEC) || (a3 & MAP_ANONYMOUS))
			return 0;
		return touch_file(who, (__u64)fd_file(a4), ACC_MMAP);
	case NR_X86_64_connect:
		if (ret != 0 && ret != -EINPROGRESS)
			return 0;
		return touch_sock(who, a0, NET_CONNECT, a1, a2);
	case NR_X86_64_sendto:
		if (ret < 0 || !a4)
			return 0;
		return touch_sock(who, a0, NET_SEND, a4, regs->r9);
	case NR_X86_64_sendmsg:
		return ret < 0 ? 0 : touch_msg(who, a0, a1);
	case NR_X86_64_sendmmsg:
		return ret <= 0 ? 0 : touch_mmsg(who, a0, a1, ret);
	case NR_X86_64_ptrace:
		return touch_ptrace(who, a0, a1, ret);
	}
	if (ret != 0)
		return 0;
	switch (nr) {
	case NR_X86_64_bind:
		return touch_sock(who, a0, NET_BIND, a1, a2);
	case NR_X86_64_listen:
		return touch_sock(who, a0, NET_LISTEN, 0, 0);
	case NR_X86_64_mkdir:
		return touch_name(who, AT_FDCWD, a0, ACC_MKDIR, S_IFDIR);
	case NR_X86_64_mkdirat:
		return touch_name(who, a0, a1, ACC_MKDIR, S_IFDIR);
	case NR_X86_64_rmdir:
		return touch_name(who, AT_FDCWD, a0, ACC_RMDIR, S_IFDIR);
	case NR_X86_64_unlink:
		return touch_name(who, AT_FDCWD, a0, ACC_UNLINK, 0);
	case NR_X86_64_unlinkat:
		if (a2 & AT_REMOVEDIR)
			return touch_name(who, a0, a1, ACC_RMDIR, S_IFDIR);
		return touch_name(who, a0, a1, ACC_UNLINK, 0);
	case NR_X86_64_rename:
		touch_name(who, AT_FDCWD, a0, ACC_RENAME_FROM, 0);
		return touch_name(who, AT_FDCWD, a1, ACC_RENAME_TO, 0);
	case NR_X86_64_renameat:
	case NR_X86_64_renameat2: {
		/* RENAME_EXCHANGE moves each end to the other. */
		__u32 both = nr == NR_X86_64_renameat2 && (a4 & RENAME_EXCHANGE) ? ACC_RENAME_FROM | ACC_RENAME_TO : 0;
		touch_name(who, a0, a1, ACC_RENAME_FROM | both, 0);
		return touch_name(who, a2, a3, ACC_RENAME_TO | both, 0);
	}
	case NR_X86_64_link:
		return touch_name(who, AT_FDCWD, a1, ACC_LINK, 0);
	case NR_X86_64_linkat:
		return touch_name(who, a2, a3, ACC_LINK, 0);
	case NR_X86_64_symlink:
		return touch_name(who, AT_FDCWD, a1, ACC_SYMLINK, S_IFLNK);
	case NR_X86_64_symlinkat:
		return touch_name(who, a1, a2, ACC_SYMLINK, S_IFLNK);
	case NR_X86_64_chmod:
		return touch_name(who, AT_FDCWD, a0, ACC_CHMOD, 0);
	case NR_X86_64_fchmodat:
	case NR_X86_64_fchmodat2:
		return touch_name(who, a0, a1, ACC_CHMOD, 0);
	case NR_X86_64_fchmod:
		return touch_file(who, (__u64)fd_file(a0), ACC_CHMOD);
	case NR_X86_64_chown:
	case NR_X86_64_lchown:
		return touch_name(who, AT_FDCWD, a0, ACC_CHOWN, 0);
	case NR_X86_64_fchownat:
		return touch_name(who, a0, a1, ACC_CHOWN, 0);
	case NR_X86_64_fchown:
		return touch_file(who, (__u64)fd_file(a0), ACC_CHOWN);
	case NR_X86_64_truncate:
		return touch_name(who, AT_FDCWD, a0, ACC_TRUNCATE, S_IFREG);
	case NR_X86_64_ftruncate:
		return touch_file(who, (__u64)fd_file(a0), ACC_TRUNCATE);
	case NR_X86_64_mknod:
	case NR_X86_64_mknodat: {
		long dirfd = nr == NR_X86_64_mknod ? AT_FDCWD : a0;
		__u64 name = nr == NR_X86_64_mknod ? a0 : a1;
		__u32 mode = nr == NR_X86_64_mknod ? a1 : a2;
		if ((mode & S_IFMT) == 0)
			mode |= S_IFREG; /* mknod(2): a zero type is a regular file */
		return touch_name(who, dirfd, name, (mode & S_IFMT) == S_IFREG ? ACC_CREATE : ACC_MKNOD, mode);
	}
	case NR_X86_64_flock:
		return touch_file(who, (__u64)fd_file(a0), ACC_LOCK);
	}
	return 0;
}

/* touch_nr says whether touch_exit records syscall nr (x86_64): the same
 * cases as its switch (TestTouchSyscallsHandled checks that). */
static __always_inline int touch_nr(long nr)
{
	switch (nr) {
	case NR_X86_64_open: case NR_X86_64_openat: case NR_X86_64_openat2: case NR_X86_64_creat:
	case NR_X86_64_mmap: case NR_X86_64_mkdir: case NR_X86_64_mkdirat: case NR_X86_64_rmdir:
	case NR_X86_64_unlink: case NR_X86_64_unlinkat: case NR_X86_64_rename: case NR_X86_64_renameat:
	case NR_X86_64_renameat2: case NR_X86_64_link: case NR_X86_64_linkat: case NR_X86_64_symlink:
	case NR_X86_64_symlinkat: case NR_X86_64_chmod: case NR_X86_64_fchmod: case NR_X86_64_fchmodat:
	case NR_X86_64_fchmodat2: case NR_X86_64_chown: case NR_X86_64_fchown: case NR_X86_64_lchown:
	case NR_X86_64_fchownat: case NR_X86_64_truncate: case NR_X86_64_ftruncate: case NR_X86_64_mknod:
	case NR_X86_64_mknodat: case NR_X86_64_flock: case NR_X86_64_connect: case NR_X86_64_bind:
	case NR_X86_64_listen: case NR_X86_64_sendto: case NR_X86_64_sendmsg: case NR_X86_64_sendmmsg:
	case NR_X86_64_ptrace:
		return 1;
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_touch, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	if (!touch_nr(nr))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (task->thread_info.status & TS_COMPAT)
		return 0;
	return touch_exit(task, regs, nr, ret);
}

/* signal_generate: a signal a tracked task sends (kill, tkill, tgkill,
 * sigqueue) to a task outside its container. Signals the kernel raises
 * (SIGCHLD to the runtime when the init exits, SIGPIPE, faults) are not
 * the container's doing. */
SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *t, int group, int result)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_state *ts = bpf_map_lookup_elem(&tasks, &tid);
	if (!ts || !ts->sys_active || !owner(ts->cid, ts->gen))
		return 0;
	/* SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are the kernel's own. */
	if ((unsigned long)info <= 1)
		return 0;
	int code = BPF_CORE_READ(info, si_code);
	if (code != SI_USER && code != SI_TKILL && code != SI_QUEUE)
		return 0;
	return touch_target(who_of(ts), t, sig, 0);
}
