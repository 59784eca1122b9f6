/*
 * nodelay.c - diagnosis only (bench/run.sh relay-nodelay): an LD_PRELOAD
 * shim that sets TCP_NODELAY on every socket before connect(), to test
 * whether tern's SMTP client is slowed by Nagle + delayed ACK.
 *   gcc -shared -fPIC -O2 -o build/bench/nodelay.so bench/nodelay.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	int one = 1;

	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	if (a && (a->sa_family == AF_INET || a->sa_family == AF_INET6))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return real(fd, a, l);
}
