/*
 * port_linux.c - Linux (glibc or musl) specifics for port.h: paths, the
 * peer credentials of a Unix socket (SO_PEERCRED), user names, and the
 * privilege drop of the daemon (spool ownership, setgroups/setgid/setuid),
 * the open files limit (RLIMIT_NOFILE, /proc/self/fd), and giving the
 * heap back after a burst (glibc's malloc_trim; musl returns it itself).
 */
#define _GNU_SOURCE 1	/* struct ucred, SO_PEERCRED: Linux-only by nature */
#include "ports/port.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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

int port_user_lookup(const char *name, long *uid, long *gid)
{
	const struct passwd *pw = name && name[0] ? getpwnam(name) : NULL;

	if (!pw)
		return -ENOENT;
	*uid = (long)pw->pw_uid;
	*gid = (long)pw->pw_gid;
	return 0;
}

/* nftw has no user argument: the owner goes through these */
static uid_t port_tree_uid;
static gid_t port_tree_gid;

static int port_chown_one(const char *p, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	if (st->st_uid == port_tree_uid && st->st_gid == port_tree_gid)
		return 0;
	return lchown(p, port_tree_uid, port_tree_gid) < 0 ? -1 : 0;
}

int port_chown_tree(const char *path, long uid, long gid, char *err,
    unsigned errlen)
{
	port_tree_uid = (uid_t)uid;
	port_tree_gid = (gid_t)gid;
	if (nftw(path, port_chown_one, 16, FTW_PHYS) != 0) {
		int e = errno;

		snprintf(err, errlen, "cannot give %s to uid %ld: %s", path, uid,
		    strerror(e));
		return -e;
	}
	return 0;
}

int port_become(long uid, long gid)
{
	if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0)
		return -errno;
	/* a root that can come back is not dropped */
	if (uid != 0 && (setuid(0) == 0 || geteuid() == 0))
		return -EPERM;
	return 0;
}

long port_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)0x7fffffffL)
		return -1;
	return (long)rl.rlim_cur;
}

long port_fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		/* a refusal leaves the limit as it was: reported by its value */
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return port_fd_limit();
}

long port_fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

void port_heap_release(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);	/* returns whether memory was released */
#endif
}
