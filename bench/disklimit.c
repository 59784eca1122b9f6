/*
 * disklimit.c - the disk's own limit for durable acceptance: serially,
 * write 1 KiB to tmp/N, fdatasync, rename to queue/N, fsync queue/.
 * usage: disklimit DIR SECONDS [mode]   mode: full (default) | datasync | nosync
 * prints: ops/s
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char buf[1024], tmp[4096], dst[4096];
	const char *dir, *mode;
	double secs, t0, t;
	long n = 0;
	int qfd;

	if (argc < 3) {
		fprintf(stderr, "usage: disklimit DIR SECONDS [full|datasync|nosync]\n");
		return 2;
	}
	dir = argv[1];
	secs = atof(argv[2]);
	mode = argc > 3 ? argv[3] : "full";
	memset(buf, 'x', sizeof buf);
	buf[sizeof buf - 1] = '\n';
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	mkdir(dir, 0700);
	mkdir(tmp, 0700);
	snprintf(tmp, sizeof tmp, "%s/queue", dir);
	mkdir(tmp, 0700);
	if ((qfd = open(tmp, O_RDONLY | O_DIRECTORY)) < 0) {
		perror(tmp);
		return 1;
	}
	t0 = now();
	do {
		int fd;
		snprintf(tmp, sizeof tmp, "%s/tmp/%ld", dir, n);
		snprintf(dst, sizeof dst, "%s/queue/%ld", dir, n);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			perror(tmp);
			return 1;
		}
		if (strcmp(mode, "nosync") != 0 && fdatasync(fd) < 0) {
			perror("fdatasync");
			return 1;
		}
		close(fd);
		if (rename(tmp, dst) < 0) {
			perror("rename");
			return 1;
		}
		if (strcmp(mode, "full") == 0 && fsync(qfd) < 0) {
			perror("fsync");
			return 1;
		}
		n++;
		t = now();
	} while (t - t0 < secs);
	printf("%.0f\n", n / (t - t0));
	return 0;
}
