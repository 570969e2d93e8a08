/* storm: THREADS threads each make CALLS times(NULL) syscalls at once, for
 * the complain-mode storm test: a learned profile lacks times, so each call
 * is a violation the seccomp agent must count.
 *
 *   storm THREADS CALLS   make the calls; prints "issued=N failed=M"
 *   storm THREADS 0       the same threads, no calls (what is learned)
 *
 * Built static (gcc -static -pthread) so that the rootfs needs nothing
 * else. The threads wait at a barrier so that their calls overlap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long calls;
static pthread_barrier_t start;

struct result {
	long issued, failed;
};

static void *storm(void *arg)
{
	struct result *r = arg;

	pthread_barrier_wait(&start);
	for (long i = 0; i < calls; i++) {
		r->issued++;
		if (syscall(SYS_times, NULL) == -1)
			r->failed++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: storm THREADS CALLS\n");
		return 2;
	}
	int threads = atoi(argv[1]);
	calls = atol(argv[2]);
	if (threads < 1 || threads > 64 || calls < 0) {
		fprintf(stderr, "storm: 1..64 threads, CALLS >= 0\n");
		return 2;
	}
	pthread_t tid[64];
	struct result res[64] = {0};
	pthread_barrier_init(&start, NULL, threads);
	for (int i = 0; i < threads; i++) {
		int err = pthread_create(&tid[i], NULL, storm, &res[i]);
		if (err) {
			fprintf(stderr, "storm: pthread_create: %d\n", err);
			return 1;
		}
	}
	long issued = 0, failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		issued += res[i].issued;
		failed += res[i].failed;
	}
	printf("issued=%ld failed=%ld\n", issued, failed);
	return failed ? 1 : 0;
}
