/* probe: makes one syscall an attacker in a confined container might try
 * and prints how it ended ("MODE: ok" or "MODE: errno N"), for the
 * enforcement tests.
 *
 * It is built static without libc (gcc -static -nostdlib): no loader, no
 * libc start-up, so under a learned profile the binary itself needs only
 * execve, write and exit_group (and wait4 when a clone succeeds), which
 * every workload started by a shell makes. The syscall under test is the
 * only other one it makes.
 *
 * Modes:
 *   mkdir PATH           mkdir(PATH, 0755)
 *   symlink PATH         symlink("/", PATH)
 *   unshare-newns        unshare(CLONE_NEWNS)
 *   clone-newuser        clone(CLONE_NEWUSER|SIGCHLD): no capability needed
 *   socket-packet        socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)
 *   chown PATH           chown(PATH, 0, 0)
 *   open-noatime PATH    openat(PATH, O_RDONLY|O_NOATIME): CAP_FOWNER
 *                        unless the caller owns PATH
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if_ether.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static long sys(long n, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static long len(const char *s)
{
	long n = 0;

	while (s[n])
		n++;
	return n;
}

static void put(const char *s) { sys(SYS_write, 1, (long)s, len(s), 0, 0); }

static void put_num(long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v && i > 0);
	put(buf + i);
}

static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void report(const char *mode, long ret)
{
	put(mode);
	if (ret < 0 && ret > -4096) {
		put(": errno ");
		put_num(-ret);
	} else {
		put(": ok");
	}
	put("\n");
}

/* clone without a new stack returns twice, like fork: the child exits at
 * once and the parent reaps it. */
static long clone_and_reap(long flags)
{
	long pid = sys(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		sys(SYS_exit_group, 0, 0, 0, 0, 0);
	if (pid > 0)
		sys(SYS_wait4, pid, 0, 0, 0, 0);
	return pid;
}

static int probe(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *path = argc > 2 ? argv[2] : 0;
	long ret;

	if (eq(mode, "mkdir") && path)
		ret = sys(SYS_mkdir, (long)path, 0755, 0, 0, 0);
	else if (eq(mode, "symlink") && path)
		ret = sys(SYS_symlink, (long)"/", (long)path, 0, 0, 0);
	else if (eq(mode, "unshare-newns"))
		ret = sys(SYS_unshare, CLONE_NEWNS, 0, 0, 0, 0);
	else if (eq(mode, "clone-newuser"))
		ret = clone_and_reap(CLONE_NEWUSER);
	else if (eq(mode, "socket-packet")) {
		ret = sys(SYS_socket, AF_PACKET, SOCK_RAW, (ETH_P_ALL & 0xff) << 8 | ETH_P_ALL >> 8, 0, 0);
		if (ret >= 0)
			sys(SYS_close, ret, 0, 0, 0, 0);
	} else if (eq(mode, "chown") && path)
		ret = sys(SYS_chown, (long)path, 0, 0, 0, 0);
	else if (eq(mode, "open-noatime") && path) {
		ret = sys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_NOATIME, 0, 0);
		if (ret >= 0)
			sys(SYS_close, ret, 0, 0, 0, 0);
	} else {
		put("usage: probe mkdir PATH | symlink PATH | unshare-newns | clone-newuser | socket-packet | chown PATH | open-noatime PATH\n");
		return 2;
	}
	report(mode, ret);
	return 0;
}

void probe_main(long *sp)
{
	sys(SYS_exit_group, probe((int)sp[0], (char **)(sp + 1)), 0, 0, 0, 0);
}

/* The kernel starts a static binary at _start with argc at the stack
 * pointer, argv right above it. */
__asm__(".globl _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call probe_main\n"
	"	hlt\n");
