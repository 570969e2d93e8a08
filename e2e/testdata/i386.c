/* A static i386 program for the x86 ABI test: it makes a few syscalls that
 * the test looks for under ABI "x86" (and not under "x86_64"). */
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
	struct utsname u;
	const char msg[] = "i386 ok\n";

	if (uname(&u) != 0)
		return 1;
	if (getppid() < 0)
		return 1;
	if (write(1, msg, strlen(msg)) != (ssize_t)strlen(msg))
		return 1;
	return 0;
}
