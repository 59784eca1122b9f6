/*
 * port_linux.c - Linux (glibc or musl) specifics for port.h: paths, the
 * peer credentials of a Unix socket (SO_PEERCRED), user names.
 */
#define _GNU_SOURCE 1	/* struct ucred, SO_PEERCRED: Linux-only by nature */
#include "ports/port.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

const char *port_resolv_conf(void)
{
	return "/etc/resolv.conf";
}

const char *port_aliases_file(void)
{
	return "/etc/aliases";
}

long port_peer_uid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
		return -1;
	return (long)cr.uid;
}

void port_user_name(long uid, char *buf, unsigned len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (uid >= 0 && getpwuid_r((uid_t)uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else if (uid >= 0)
		snprintf(buf, len, "uid%ld", uid);
	else
		snprintf(buf, len, "unknown");
}

int port_socket_claim(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}
