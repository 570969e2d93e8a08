/* Types and limits of the recorder. The Go loader (bpf/tracer.go) uses
 * bpf2go's Go for these types and enums (-type in gen.go) and reads map
 * sizes from the loaded maps; what the profile model fixes (ABIs, syscall
 * number and argument limits, argument rules) comes from profiles.h, which
 * bpf/internal/gennr generates from package profiles. */
#pragma once

#include "profiles.h"

#define MAX_CONTAINERS 1024   /* containers learned at once */
#define MAX_TASKS 32768       /* tracked tasks, all containers (see task_quota) */
#define NR_WORDS (MAX_NR / 64)
#define MAX_ARG_ENTRIES 16384

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
