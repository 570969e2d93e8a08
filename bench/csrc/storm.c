/*
 * storm: the benchmarks' workload, built static at bench time so that the
 * same binary runs on the host and in a busybox container.
 *
 *   storm [-f] [-c CPU] ops R OP:N...
 *                                R rounds of each OP run N times; per round
 *                                and op prints "result OP CPU_NS WALL_NS"
 *                                (per op: CPU time, see cpu_ns, and wall)
 *   storm distinct T SECONDS     T threads issuing the distinct syscalls
 *                                below until SECONDS pass; prints "known
 *                                NAME..." and "calls N"
 *   storm redis PORT N           N PING round trips to redis on 127.0.0.1
 *   storm http PORT PATH N       N keep-alive GETs of PATH on 127.0.0.1
 *                                (both print "result NAME CPU_NS WALL_NS"
 *                                per request, CPU of the whole container)
 *   storm stamp                  prints "stamp NS", the wall clock
 *                                (CLOCK_REALTIME), and exits
 *
 * -f installs an allow-all seccomp filter first (a filtered task that is
 * not being learned, like a container on the same host); -c CPU pins the
 * program to one CPU, so that every condition runs where the others did.
 *
 * OPs: getppid; pipe (a 1-byte write and read on a pipe); socket and
 * clone, each rejected by the kernel's flag check right after seccomp ran,
 * so the figure is the syscall plus the filter; fork (fork, child _exit,
 * wait); open (an open and close of the storm's own binary, argv[0]: a
 * file recorder resolves and hashes the path of every open); connect (a
 * connect of one UDP socket to a loopback port: no packet and no peer, so
 * the figure is the syscall plus what records the endpoint).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* CPU time of this thread plus that of waited-for children: on a shared
 * machine it leaves out the time other tasks had the CPU, which wall time
 * does not. */
static double cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return clock_ns(CLOCK_THREAD_CPUTIME_ID) +
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* ---- ops ---- */

static int pipefd[2];

static void op_getppid(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void op_pipe(long n)
{
	char c = 'x';
	for (long i = 0; i < n; i++) {
		if (write(pipefd[1], &c, 1) != 1 || read(pipefd[0], &c, 1) != 1)
			die("pipe");
	}
}

/* An undefined type flag: EINVAL before any socket is made. */
#define BAD_SOCK_FLAG 0x100
static void op_socket(long n)
{
	for (long i = 0; i < n; i++)
		if (syscall(SYS_socket, AF_UNIX, SOCK_STREAM | BAD_SOCK_FLAG, 0) >= 0 || errno != EINVAL)
			die("socket with an invalid flag (want EINVAL from the kernel, not the filter)");
}

/* CLONE_SIGHAND without CLONE_VM: EINVAL before any task is made. */
static void op_clone(long n)
{
	for (long i = 0; i < n; i++)
		if (syscall(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0) >= 0 || errno != EINVAL)
			die("clone with invalid flags (want EINVAL from the kernel, not the filter)");
}

static void op_fork(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0)
			_exit(0);
		if (waitpid(p, 0, 0) != p)
			die("waitpid");
	}
}

static const char *self; /* argv[0]: a file that is there, in a container too */

static void op_open(long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open(self, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open the storm's own binary");
		close(fd);
	}
}

static int udp_fd = -1;

static void op_connect(long n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (udp_fd < 0 && (udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	for (long i = 0; i < n; i++)
		if (connect(udp_fd, (struct sockaddr *)&a, sizeof(a)))
			die("connect a UDP socket to 127.0.0.1:9");
}

static const struct {
	const char *name;
	void (*fn)(long);
} ops[] = {
	{"getppid", op_getppid}, {"pipe", op_pipe}, {"socket", op_socket},
	{"clone", op_clone}, {"fork", op_fork}, {"open", op_open}, {"connect", op_connect},
};

static void allow_all_filter(void)
{
	struct sock_filter f[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		die("seccomp");
}

static int run_ops(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: storm ops R OP:N...\n"), 2;
	int rounds = atoi(argv[0]);
	if (pipe(pipefd))
		die("pipe");
	for (int r = 0; r < rounds; r++) {
		for (int a = 1; a < argc; a++) {
			char name[32];
			long n;
			if (sscanf(argv[a], "%31[a-z0-9]:%ld", name, &n) != 2 || n <= 0)
				return fprintf(stderr, "storm: bad op %s (want OP:N)\n", argv[a]), 2;
			size_t k;
			for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
				if (!strcmp(ops[k].name, name))
					break;
			if (k == sizeof(ops) / sizeof(ops[0]))
				return fprintf(stderr, "storm: unknown op %s\n", name), 2;
			ops[k].fn(n / 100 + 1); /* warm up */
			double t0 = now_ns(), c0 = cpu_ns();
			ops[k].fn(n);
			double c1 = cpu_ns(), t1 = now_ns();
			printf("result %s %.2f %.2f\n", name, (c1 - c0) / n, (t1 - t0) / n);
			fflush(stdout);
		}
	}
	return 0;
}

/* ---- distinct: many different syscalls from many threads ---- */

static volatile int stop;
static atomic_long calls;

#define S(name, ...) { #name, SYS_##name, { __VA_ARGS__ } }
struct call {
	const char *name;
	long nr;
	long a[6];
};

static char buf[4096]; /* big enough for any struct these calls fill */
static int futex_word;
static struct stat st;
static struct timespec ts_out, zero_ts; /* zero_ts: 0 s, never written but by ppoll's 0 remaining */

/* Arguments that make each call harmless (queries, or an error). fds 3 and
 * up are unused by the program; -1 is never valid. */
static struct call calls_list[] = {
	S(getpid), S(getppid), S(gettid), S(getuid), S(geteuid), S(getgid), S(getegid),
	S(getpgrp), S(getpgid, 0), S(getsid, 0), S(getgroups, 0, 0),
	S(getresuid, 0, 0, 0), S(getresgid, 0, 0, 0), S(umask, 022),
	S(uname, (long)buf), S(sysinfo, 0), S(times, 0), S(getrusage, 0, 0),
	S(getcwd, (long)buf, sizeof(buf)), S(getpriority, 0, 0), S(sched_yield),
	S(sched_getaffinity, 0, sizeof(buf), (long)buf), S(sched_getscheduler, 0),
	S(sched_getparam, 0, 0), S(sched_get_priority_max, 0), S(sched_rr_get_interval, 0, 0),
	S(getrlimit, RLIMIT_NOFILE, 0), S(prlimit64, 0, RLIMIT_NOFILE, 0, 0),
	S(clock_gettime, CLOCK_MONOTONIC, (long)&ts_out), S(clock_getres, CLOCK_MONOTONIC, 0),
	S(gettimeofday, 0, 0), S(time, 0), S(getitimer, 0, 0), S(alarm, 0),
	S(sigaltstack, 0, 0), S(rt_sigprocmask, SIG_BLOCK, 0, 0, 8), S(rt_sigpending, 0, 8),
	S(rt_sigaction, SIGUSR2, 0, 0, 8), S(capget, 0, 0), S(personality, 0xffffffff),
	S(prctl, PR_GET_DUMPABLE), S(arch_prctl, 0x1003 /* ARCH_GET_FS */, 0),
	S(access, (long)"/", F_OK), S(faccessat, AT_FDCWD, (long)"/", F_OK),
	S(newfstatat, AT_FDCWD, (long)"/", (long)&st, 0), S(stat, (long)"/", (long)&st),
	S(lstat, (long)"/", (long)&st), S(statfs, (long)"/", (long)buf), S(fstatfs, -1, 0),
	S(statx, AT_FDCWD, (long)"/", 0, 0, 0), S(readlink, (long)"/nonexistent", (long)buf, sizeof(buf)),
	S(readlinkat, AT_FDCWD, (long)"/nonexistent", (long)buf, sizeof(buf)),
	S(fstat, -1, 0), S(lseek, -1, 0, 0), S(read, -1, 0, 0), S(write, -1, 0, 0),
	S(pread64, -1, 0, 0, 0), S(pwrite64, -1, 0, 0, 0), S(readv, -1, 0, 0), S(writev, -1, 0, 0),
	S(close, -1), S(dup, -1), S(dup2, -1, -1), S(dup3, -1, -1, 0), S(fcntl, -1, F_GETFD),
	S(ioctl, -1, FIONREAD, 0), S(flock, -1, 0), S(fsync, -1), S(fdatasync, -1),
	S(ftruncate, -1, 0), S(getdents64, -1, 0, 0), S(fchmod, -1, 0), S(fchown, -1, 0, 0),
	S(openat, AT_FDCWD, (long)"/nonexistent", O_RDONLY), S(open, (long)"/nonexistent", O_RDONLY),
	S(mincore, 0, 0, 0), S(madvise, 0, 0, MADV_NORMAL), S(munmap, 0, 0), S(mprotect, 0, 0, 0),
	S(msync, 0, 0, 0), S(mlock, 0, 0), S(munlock, 0, 0), S(brk, 0),
	S(futex, (long)&futex_word, 1 /* FUTEX_WAKE */, 0), S(get_robust_list, 0, 0, 0),
	S(getcpu, 0, 0, 0), S(getrandom, (long)buf, 8, 0), S(membarrier, 0, 0),
	S(nanosleep, (long)&zero_ts, 0), S(clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&zero_ts, 0),
	S(wait4, -1, 0, WNOHANG, 0), S(waitid, P_ALL, 0, 0, WEXITED | WNOHANG, 0),
	S(kill, 0x7ffffff0, 0), S(tgkill, -1, -1, 0), S(socket, AF_UNIX, SOCK_STREAM | BAD_SOCK_FLAG, 0),
	S(socketpair, AF_UNIX, SOCK_STREAM | BAD_SOCK_FLAG, 0, 0), S(getsockname, -1, 0, 0),
	S(getpeername, -1, 0, 0), S(getsockopt, -1, 0, 0, 0, 0), S(sendto, -1, 0, 0, 0, 0, 0),
	S(recvfrom, -1, 0, 0, 0, 0, 0), S(shutdown, -1, 0), S(eventfd2, 0, -1),
	S(epoll_create1, -1), S(epoll_ctl, -1, 0, -1, 0), S(timerfd_create, -1, 0),
	S(inotify_init1, -1), S(signalfd4, -1, 0, 8, -1), S(memfd_create, 0, 0),
	S(pipe2, 0, -1), S(pidfd_open, -1, 0), S(close_range, 100000, 100010, 0),
	S(chdir, (long)"/"), S(fchdir, -1), S(sync_file_range, -1, 0, 0, 0), S(fadvise64, -1, 0, 0, 0),
	S(select, -1, 0, 0, 0, 0), S(poll, 0, 0, 0), S(ppoll, 0, 0, (long)&zero_ts, 0, 8),
	S(utimensat, AT_FDCWD, (long)"/nonexistent", 0, 0), S(mkdirat, -1, 0, 0),
	S(unlinkat, -1, 0, 0), S(renameat2, -1, 0, -1, 0, -1), S(setns, -1, 0), S(unshare, -1),
};
#define NCALLS (sizeof(calls_list) / sizeof(calls_list[0]))

static void *distinct_thread(void *arg)
{
	long n = 0;
	for (long round = 0; !stop; round++) {
		for (size_t i = 0; i < NCALLS; i++) {
			struct call *c = &calls_list[i];
			syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		}
		n += NCALLS;
		/* New tasks now and then: the recorder must follow them. */
		if (round % 200 == 0) {
			pid_t p = fork();
			if (p == 0) {
				syscall(SYS_getppid);
				_exit(0);
			}
			if (p > 0)
				waitpid(p, 0, 0);
		}
	}
	atomic_fetch_add(&calls, n);
	return arg;
}

static int run_distinct(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: storm distinct THREADS SECONDS\n"), 2;
	int nt = atoi(argv[0]);
	double secs = atof(argv[1]);
	pthread_t th[64];
	if (nt < 1 || nt > 64)
		return fprintf(stderr, "storm: 1 to 64 threads\n"), 2;
	double t0 = now_ns();
	for (int i = 0; i < nt; i++)
		if (pthread_create(&th[i], 0, distinct_thread, 0))
			die("pthread_create");
	struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
	nanosleep(&d, 0);
	stop = 1;
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], 0);
	printf("known");
	for (size_t i = 0; i < NCALLS; i++)
		printf(" %s", calls_list[i].name);
	printf("\ncalls %ld\nseconds %.3f\n", atomic_load(&calls), (now_ns() - t0) / 1e9);
	return 0;
}

/* ---- clients for the server workloads ---- */

/* CPU time of the whole container (server and client) so far, from its
 * cgroup (v1 cpuacct, mounted by runc); -1 where there is none. */
static double container_cpu_ns(void)
{
	FILE *f = fopen("/sys/fs/cgroup/cpuacct/cpuacct.usage", "r");
	unsigned long long v;
	if (!f)
		return -1;
	int ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	return ok ? (double)v : -1;
}

/* Prints the per-request result: container CPU time and wall time when the
 * cgroup is readable, else wall time alone. */
static void report(const char *name, long n, double c0, double t0)
{
	double ns = now_ns() - t0, c1 = container_cpu_ns();
	if (c0 >= 0 && c1 >= 0)
		printf("result %s %.2f %.2f\n", name, (c1 - c0) / n, ns / n);
	else
		printf("result %s %.2f\n", name, ns / n);
	printf("rps %.0f\n", n / (ns / 1e9));
}

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 600; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		usleep(100000);
	}
	die("connect");
	return -1;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			die("write");
		p += w;
		n -= w;
	}
}

static int run_redis(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: storm redis PORT N\n"), 2;
	int fd = dial(atoi(argv[0]));
	long n = atol(argv[1]);
	const char ping[] = "*1\r\n$4\r\nPING\r\n";
	char rb[64];
	/* Ready: the first PING also waits out the server's loading state. */
	for (int i = 0; i < 100; i++) {
		write_all(fd, ping, sizeof(ping) - 1);
		ssize_t r = read(fd, rb, sizeof(rb));
		if (r > 0 && !strncmp(rb, "+PONG", 5))
			break;
		usleep(100000);
	}
	double c0 = container_cpu_ns(), t0 = now_ns();
	for (long i = 0; i < n; i++) {
		write_all(fd, ping, sizeof(ping) - 1);
		size_t got = 0;
		while (got < 7) { /* "+PONG\r\n" */
			ssize_t r = read(fd, rb + got, sizeof(rb) - got);
			if (r <= 0)
				die("read");
			got += r;
		}
	}
	report("redis", n, c0, t0);
	write_all(fd, "*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n", 30);
	read(fd, rb, sizeof(rb));
	close(fd);
	return 0;
}

/* Reads one HTTP response (Content-Length framed); returns the status. */
static int read_response(int fd, char *rb, size_t cap)
{
	size_t got = 0;
	char *end;
	for (;;) {
		ssize_t r = read(fd, rb + got, cap - 1 - got);
		if (r <= 0)
			die("read response");
		got += r;
		rb[got] = 0;
		if ((end = strstr(rb, "\r\n\r\n")))
			break;
		if (got >= cap - 1)
			die("response headers too long");
	}
	char *cl = strcasestr(rb, "content-length:");
	long body = cl ? atol(cl + 15) : 0;
	size_t want = (end + 4 - rb) + body;
	while (got < want) {
		ssize_t r = read(fd, rb + got, (want - got) < cap - 1 - got ? (want - got) : cap - 1 - got);
		if (r <= 0)
			die("read body");
		got += r;
		if (got >= cap - 1 && got < want) { /* drop what was read of a long body */
			want -= got;
			got = 0;
		}
	}
	return atoi(rb + 9);
}

static int run_http(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: storm http PORT PATH N\n"), 2;
	int fd = dial(atoi(argv[0]));
	long n = atol(argv[2]);
	char req[256], rb[8192];
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", argv[1]);
	write_all(fd, req, len);
	if (read_response(fd, rb, sizeof(rb)) != 200)
		return fprintf(stderr, "storm: GET %s: not 200\n", argv[1]), 1;
	double c0 = container_cpu_ns(), t0 = now_ns();
	for (long i = 0; i < n; i++) {
		write_all(fd, req, len);
		if (read_response(fd, rb, sizeof(rb)) != 200)
			return fprintf(stderr, "storm: GET %s: not 200\n", argv[1]), 1;
	}
	report("http", n, c0, t0);
	close(fd);
	return 0;
}

/* stamp: print the wall clock (CLOCK_REALTIME, ns) and exit at once, so
 * that whoever runs the container can time what happens after its exit. */
static int run_stamp(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts))
		die("clock_gettime");
	printf("stamp %lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	self = argv[0];
	int a = 1;
	for (; a + 1 < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "-f")) {
			allow_all_filter();
		} else if (!strcmp(argv[a], "-c")) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(atoi(argv[++a]), &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				die("sched_setaffinity");
		} else {
			return fprintf(stderr, "storm: unknown option %s\n", argv[a]), 2;
		}
	}
	if (a >= argc)
		return fprintf(stderr, "usage: storm [-f] [-c CPU] ops|distinct|redis|http|stamp ...\n"), 2;
	const char *mode = argv[a++];
	if (!strcmp(mode, "ops"))
		return run_ops(argc - a, argv + a);
	if (!strcmp(mode, "distinct"))
		return run_distinct(argc - a, argv + a);
	if (!strcmp(mode, "redis"))
		return run_redis(argc - a, argv + a);
	if (!strcmp(mode, "http"))
		return run_http(argc - a, argv + a);
	if (!strcmp(mode, "stamp"))
		return run_stamp();
	return fprintf(stderr, "storm: unknown mode %s\n", mode), 2;
}
