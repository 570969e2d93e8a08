/* Types and limits of the recorder. The Go loader (bpf/tracer.go) uses
 * bpf2go's Go for these types and enums (-type in gen.go) and reads map
 * sizes from the loaded maps; what the profile model fixes (ABIs, syscall
 * number and argument limits, argument rules) comes from profiles.h, which
 * bpf/internal/gennr generates from package profiles. */
#pragma once

#include "profiles.h"

#define MAX_CONTAINERS 1024   /* containers learned at once */
#define MAX_TASKS 32768       /* tracked tasks, all containers (see task_quota) */
/* A scope's share of the task and object maps before the loader sets it
 * from the maps' sizes (bpf.DefaultScopeShare, bpf.ScopeShare). */
#define SCOPE_SHARE_DIV 4
#define NR_WORDS (MAX_NR / 64)
#define MAX_ARG_ENTRIES 16384
#define NAME_MAX 255

enum touch_limit {
	MAX_OBJECTS = 65536, /* touched objects, all containers (see object_quota) */
	MAX_WALK = 256,      /* dentries and mounts one path walk crosses */
};

_Static_assert(MAX_NR % 64 == 0 && (NR_WORDS & (NR_WORDS - 1)) == 0,
	       "the syscall bitmap is indexed by masking: MAX_NR / 64 must be a power of two");

/* Where a container's syscalls start to count (container.flags). */
enum container_flag {
	BOUNDARY_EXEC = 0x1, /* no seccomp filter: from the init's final execve */
};

enum event_kind {
	EV_SYSCALL = 1,
	EV_CAP = 2,
	EV_ARG = 3,
	/* What a container touches: struct touch records (touch.bpf.h). */
	EV_FILE = 4,   /* a file and the accesses new to it */
	EV_EXEC = 5,   /* a program run */
	EV_NET = 6,    /* a network endpoint */
	EV_SIGNAL = 7, /* a signal or ptrace aimed outside the container */
};

/* struct touch.flags */
enum touch_flag {
	TF_SCRIPT = 0x1, /* EV_EXEC: file is the interpreter, dir and name the script */
	TF_FAILED = 0x2, /* EV_SIGNAL: a ptrace attach that failed (an attempt) */
};

/* struct touch.net_op */
enum net_op {
	NET_BIND = 1,
	NET_LISTEN = 2,
	NET_CONNECT = 3,
	NET_SEND = 4,
};

struct container {
	__u32 flags;
	__u32 gen;           /* registration, nonzero; 0: free slot */
	__s64 tasks;         /* entries in the task map holding its quota */
	__u64 caps_granted;  /* capability bits with a granted check */
	__u64 caps_denied;   /* capability bits with a denied check */
	__u64 lost_events;   /* ring buffer full */
	__u64 lost_tasks;    /* task quota reached or task map full */
	__u64 lost_args;     /* argument map full or unreadable */
	__u64 over_quota;    /* of lost_tasks, those over the task quota */
	__s64 objects;       /* entries in the objects map (see object_quota) */
	__u64 lost_paths;    /* paths deeper or longer than the walk */
	__u64 lost_objects;  /* object quota reached or objects map full */
	__u32 scope;         /* its scope's index in scopes (profiler: the namespace) */
	__u32 pad;
	__u64 over_scope;    /* of lost_tasks, those over its scope's task quota */
};

/* What the containers of one scope hold of the shared maps. The kernel
 * alone changes scopes (atomically); user space alone writes scope_freed,
 * what Tracer.Free gave back: a scope holds used - freed. */
struct scope {
	__s64 tasks;
	__s64 objects;
};

struct task_state {
	__u32 cid;
	__u32 gen;           /* container.gen: another one means the entry is stale */
	__u8 sys_active;     /* syscalls count from now on */
	__u8 cap_active;     /* capability checks count from now on */
	__u8 exec_boundary;  /* copy of the container's BOUNDARY_EXEC */
	__u8 last_abi;       /* last syscall while pending (exec boundary) */
	__u8 counted;        /* holds one of container.tasks (added by the kernel) */
	__u8 pad[3];
	__u32 filters;       /* seccomp filter count when tracking began */
	__u32 last_nr;
	__u64 cred;          /* cred the pending checks were made under */
	__u64 pending_granted;
	__u64 pending_denied;
};

struct bitmap {
	__u64 w[NR_WORDS];
};

struct arg_key {
	__u32 cid;
	__u16 abi;
	__u16 nr;
	__u64 value;
};

struct argc_key {
	__u32 cid;
	__u16 abi;
	__u16 nr;
};

struct event {
	__u32 cid;
	__u8 kind;
	__u8 abi;
	__u16 nr;            /* syscall number (x32 without its bit) or capability */
	__u32 pid;
	__u32 tgid;
	__u64 value;         /* EV_ARG: argument value; EV_CAP: 1 granted, 0 denied */
	char comm[16];
	char exe[32];        /* base name of the executable */
};

/* A record of what a container touches, followed in the ring buffer by
 * file_len + dir_len + name_len bytes: file, a path the kernel resolved
 * from a struct file (the container's view, from its root); dir, a
 * directory resolved the same way; name, a path string as the task passed
 * it, relative to dir (user space joins them). None holds a NUL. kind sits
 * where struct event has it, so that a reader can tell them apart. */
struct touch {
	__u32 cid;
	__u8 kind;
	__u8 flags;          /* enum touch_flag */
	__u16 ftype;         /* EV_FILE: the inode's S_IFMT bits >> 12; 0 unknown */
	__u32 pid;
	__u32 tgid;
	__u32 access;        /* EV_FILE: enum access bits new to this path */
	__u16 file_len;
	__u16 dir_len;
	__u16 name_len;
	__u8 net_op;         /* EV_NET: enum net_op */
	__u8 family;         /* EV_NET: AF_INET, AF_INET6, AF_UNIX */
	__u16 sock_type;     /* EV_NET: SOCK_STREAM, ... */
	__u16 protocol;      /* EV_NET: IPPROTO_TCP, ... */
	__u16 port;          /* EV_NET: host order */
	__u8 loopback;       /* EV_NET: a loopback destination */
	__u8 signal;         /* EV_SIGNAL: the signal, 0 for ptrace */
	__u8 pad[4];         /* the bytes that follow start 8-aligned */
	char comm[16];
	char exe[32];
	char target[16];     /* EV_SIGNAL: the target's comm */
};

_Static_assert(sizeof(struct touch) % 8 == 0, "the path bytes after struct touch are hashed 8 at a time");
