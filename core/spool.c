/*
 * spool.c - files of the queue: create, commit, lock, read, list,
 * recover (spool.h; the format is described in spool_env.c).
 *
 * Crash safety, step by step (tests/unit/test_spool.c stops after each):
 *   1. tmp/ID created O_EXCL and write-locked; envelope and data written.
 *      A crash leaves a tmp file: removed at the next start.
 *   2. fdatasync(tmp/ID): the bytes are on disk, the name may not be.
 *   3. rename to queue/ID: the message is complete wherever it is seen.
 *   4. fsync(queue/): the name is on disk. Only now is 250 sent.
 * A message seen in queue/ is always complete, because it got there by
 * rename after its data was synced.
 */
#include "core/spool.h"
#include "ports/port.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct spool_held {
	struct spool_held *next;
	char id[SPOOL_ID_LEN + 1];
};

struct spool {
	char *dir;
	int tmpfd, queuefd;
	int daemonfd;			/* serve.lock, held by tern serve */
	long long last_us;		/* last ID time, microseconds */
	struct spool_held *held;	/* IDs this process has locked */
};

struct spool_writer {
	struct spool *sp;
	char id[SPOOL_ID_LEN + 1];
	int fd;
	int linked;
};

/* ------------------------------------------------------------ helpers */

static int spool_lock_fd(int fd, int wait)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EACCES ? -EAGAIN : -errno;
	}
	return 0;
}

static int spool_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int spool_datasync(int fd)
{
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int spool_opendir_at(int at, const char *name, int create)
{
	int fd;

	if (create && mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------ open */

int spool_owner_become(const char *dir)
{
	struct stat st;

	if (geteuid() != 0 || stat(dir, &st) < 0 || st.st_uid == 0)
		return 0;
	return port_become((long)st.st_uid, (long)st.st_gid);
}

/* spool_owner_want - the account that must own the spool for this
 * process: as root, the daemon's account (user) when it exists and is
 * not root, else -1 (root may use any spool); unprivileged, itself */
static long spool_owner_want(const char *user, char *name, size_t namelen)
{
	long uid = -1, gid = -1;

	if (geteuid() != 0) {
		uid = (long)geteuid();
		port_user_name(uid, name, (unsigned)namelen);
		return uid;
	}
	if (!user || !user[0] || strcmp(user, "root") == 0 ||
	    port_user_lookup(user, &uid, &gid) < 0 || uid == 0)
		return -1;
	snprintf(name, namelen, "%s", user);
	return uid;
}

/* spool_dir_check - one directory of the spool: its owner and mode */
static int spool_dir_check(const char *path, int top, long want, const char *wname,
    char *err, size_t errlen)
{
	char oname[64];
	struct stat st;

	if (stat(path, &st) < 0) {
		int e = errno;

		if (e == ENOENT)
			return 0;	/* made by whoever creates the spool */
		snprintf(err, errlen, "spool %s: %s%s", path, strerror(e),
		    e == EACCES ? " (a directory above it is closed to this account)" : "");
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "spool %s: not a directory", path);
		return -ENOTDIR;
	}
	port_user_name((long)st.st_uid, oname, sizeof(oname));
	if (want >= 0 && (long)st.st_uid != want && (geteuid() != 0 ||
	    (st.st_uid != 0 && top))) {
		if (geteuid() == 0)
			snprintf(err, errlen, "spool %s: owned by uid %ld (%s), expected "
			    "%s (uid %ld) or root; fix with chown -R %s %s", path,
			    (long)st.st_uid, oname, wname, want, wname, path);
		else
			snprintf(err, errlen, "spool %s: owned by uid %ld (%s), expected "
			    "%s (uid %ld), the account tern runs as; run tern as root%s%s, "
			    "or give it to %s with chown -R %s %s", path, (long)st.st_uid,
			    oname, wname, want, st.st_uid ? " or as " : "",
			    st.st_uid ? oname : "", wname, wname, path);
		return -EPERM;
	}
	if ((st.st_mode & 0700) != 0700 && !(geteuid() == 0 && want < 0 && st.st_uid == 0)) {
		snprintf(err, errlen, "spool %s: mode %04o: its owner %s (uid %ld) cannot "
		    "read, write and search it; fix with chmod 700 %s", path,
		    (unsigned)(st.st_mode & 07777), oname, (long)st.st_uid, path);
		return -EPERM;
	}
	return 0;
}

int spool_owner_check(const char *dir, const char *user, char *err, size_t errlen)
{
	static const char *const sub[] = { "tmp", "queue" };
	char wname[64] = "", path[4096];
	long want = spool_owner_want(user, wname, sizeof(wname));
	size_t i;
	int r;

	if ((r = spool_dir_check(dir, 1, want, wname, err, errlen)) < 0)
		return r;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub[i]) >= sizeof(path)) {
			snprintf(err, errlen, "spool %s: path too long", dir);
			return -ENAMETOOLONG;
		}
		if ((r = spool_dir_check(path, 0, want, wname, err, errlen)) < 0)
			return r;
	}
	return 0;
}

int spool_open(const char *dir, int create, struct spool **out,
    char *err, size_t errlen)
{
	struct spool *sp;
	struct stat st;
	int dfd = -1, r;

	*out = NULL;
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return r;
	}
	if (fstat(dfd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
		close(dfd);
		return r;
	}
	if (st.st_mode & 0022) {
		snprintf(err, errlen, "%s is writable by group or others (mode %04o): "
		    "the spool must be private", dir, (unsigned)(st.st_mode & 07777));
		close(dfd);
		return -EPERM;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp)
		sp->daemonfd = -1;
	if (!sp || !(sp->dir = strdup(dir))) {
		free(sp);
		close(dfd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sp->tmpfd = spool_opendir_at(dfd, "tmp", create);
	sp->queuefd = sp->tmpfd < 0 ? -1 : spool_opendir_at(dfd, "queue", create);
	r = sp->tmpfd < 0 ? sp->tmpfd : sp->queuefd;
	close(dfd);
	if (r < 0) {
		snprintf(err, errlen, "cannot open %s/%s: %s", dir,
		    sp->tmpfd < 0 ? "tmp" : "queue", strerror(-r));
		spool_close(sp);
		return r;
	}
	if (create && (fsync(sp->queuefd) < 0 || fsync(sp->tmpfd) < 0)) {
		r = -errno;
		snprintf(err, errlen, "cannot sync %s: %s", dir, strerror(errno));
		spool_close(sp);
		return r;
	}
	*out = sp;
	return 0;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	while (sp->held) {
		struct spool_held *h = sp->held;

		sp->held = h->next;
		free(h);
	}
	if (sp->tmpfd >= 0)
		close(sp->tmpfd);
	if (sp->queuefd >= 0)
		close(sp->queuefd);
	if (sp->daemonfd >= 0)
		close(sp->daemonfd);
	free(sp->dir);
	free(sp);
}

/* spool_daemon_path - <spool>/serve.lock */
static int spool_daemon_open(struct spool *sp, int flags)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/serve.lock", sp->dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

int spool_daemon_lock(struct spool *sp)
{
	int fd = spool_daemon_open(sp, O_RDWR | O_CREAT), r;

	if (fd < 0)
		return fd;
	if ((r = spool_lock_fd(fd, 0)) < 0) {
		close(fd);
		return r;
	}
	sp->daemonfd = fd;
	return 0;
}

int spool_daemon_running(struct spool *sp)
{
	struct flock fl;
	int fd = spool_daemon_open(sp, O_RDONLY), running;

	if (fd < 0)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	running = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return running;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

/* ------------------------------------------------------------ space */

int spool_space_low(struct spool *sp, long long need, long long min_free,
    long long *avail)
{
	struct statvfs vfs;
	unsigned long long free_bytes;

	*avail = -1;
	if (min_free <= 0)
		return 0;
	while (fstatvfs(sp->queuefd, &vfs) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	free_bytes = (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize;
	*avail = free_bytes > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)free_bytes;
	if (need < 0)
		need = 0;
	return *avail - need < min_free;
}

/* ------------------------------------------------------------ writer */

static void spool_base62(char *out, unsigned long long v, int n)
{
	static const char digits[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	while (n-- > 0) {
		out[n] = digits[v % 62];
		v /= 62;
	}
}

/* spool_id_make - "tttttt-pppppp-uuuu": seconds, pid, microseconds. A
 * process never makes the same ID twice (last_us only grows) and no two
 * live processes share a pid. */
static void spool_id_make(struct spool *sp, long long now, char *id)
{
	struct timeval tv;
	long long us;

	gettimeofday(&tv, NULL);
	if (now <= 0)
		now = tv.tv_sec;
	us = now * 1000000LL + tv.tv_usec;
	if (us <= sp->last_us)
		us = sp->last_us + 1;
	sp->last_us = us;
	spool_base62(id, (unsigned long long)(us / 1000000), 6);
	id[6] = '-';
	spool_base62(id + 7, (unsigned long long)getpid(), 6);
	id[13] = '-';
	spool_base62(id + 14, (unsigned long long)(us % 1000000), 4);
	id[SPOOL_ID_LEN] = '\0';
}

int spool_writer_prepare(struct spool *sp, long long now, struct spool_writer **out)
{
	struct spool_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->sp = sp;
	w->fd = -1;
	spool_id_make(sp, now, w->id);
	*out = w;
	return 0;
}

int spool_writer_renew(struct spool_writer *w, long long now)
{
	if (w->fd >= 0)
		return -EINVAL;
	spool_id_make(w->sp, now, w->id);
	return 0;
}

int spool_writer_create(struct spool_writer *w)
{
	struct stat st;
	int r;

	/* a queued message of an earlier boot may have this ID */
	if (fstatat(w->sp->queuefd, w->id, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	w->fd = openat(w->sp->tmpfd, w->id,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0)
		return -errno;
	if ((r = spool_lock_fd(w->fd, 0)) < 0) {
		unlinkat(w->sp->tmpfd, w->id, 0);
		close(w->fd);
		w->fd = -1;
		return r;
	}
	return 0;
}

int spool_writer_new(struct spool *sp, long long now, struct spool_writer **out)
{
	struct spool_writer *w;
	int tries, r;

	if ((r = spool_writer_prepare(sp, now, &w)) < 0)
		return r;
	for (tries = 0; tries < 100; tries++) {
		if ((r = spool_writer_create(w)) != -EEXIST)
			break;
		spool_writer_renew(w, now);
	}
	if (r < 0) {
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

const char *spool_writer_id(const struct spool_writer *w)
{
	return w->id;
}

int spool_writer_fd(const struct spool_writer *w)
{
	return w->fd;
}

int spool_writer_write(struct spool_writer *w, const void *buf, size_t len)
{
	return spool_write_all(w->fd, buf, len);
}

int spool_writer_sync(struct spool_writer *w)
{
	return spool_datasync(w->fd);
}

int spool_writer_link(struct spool_writer *w)
{
	if (renameat(w->sp->tmpfd, w->id, w->sp->queuefd, w->id) < 0)
		return -errno;
	w->linked = 1;
	/* the lock guarded the file in tmp/; in queue/ delivery locks it */
	close(w->fd);
	w->fd = -1;
	return 0;
}

int spool_dir_sync(struct spool *sp)
{
	while (fsync(sp->queuefd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int spool_writer_commit(struct spool_writer *w, unsigned *fsyncs)
{
	int r;

	*fsyncs = 0;
	if ((r = spool_writer_sync(w)) < 0)
		return r;
	(*fsyncs)++;
	if ((r = spool_writer_link(w)) < 0)
		return r;
	r = spool_dir_sync(w->sp);
	(*fsyncs)++;
	return r;
}

void spool_writer_free(struct spool_writer *w)
{
	if (!w)
		return;
	if (!w->linked && w->fd >= 0)
		unlinkat(w->sp->tmpfd, w->id, 0);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* ------------------------------------------------------------ list */

static int spool_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* spool_scan - names in a directory (fd duplicated, not consumed) */
static int spool_scan(int dirfd, char ***names, size_t *n, int ids_only)
{
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = dup(dirfd);

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	for (;;) {
		char *s;

		errno = 0;
		if (!(de = readdir(d))) {
			/* not the end: EOVERFLOW (a 32-bit ino_t/off_t), EIO */
			if (errno) {
				int e = errno;

				closedir(d);
				spool_list_free(v, cnt);
				return -e;
			}
			break;
		}

		if (de->d_name[0] == '.')
			continue;
		if (ids_only && !spool_id_valid(de->d_name))
			continue;
		if (cnt == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv)
				goto nomem;
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		if (!(s = strdup(de->d_name)))
			goto nomem;
		v[cnt++] = s;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), spool_id_cmp);
	*names = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	spool_list_free(v, cnt);
	return -ENOMEM;
}

int spool_list(struct spool *sp, char ***ids, size_t *n)
{
	return spool_scan(sp->queuefd, ids, n, 1);
}

void spool_list_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* ------------------------------------------------------------ recover */

int spool_recover(struct spool *sp, unsigned *removed)
{
	char **names;
	size_t n, i;
	int r;

	*removed = 0;
	if ((r = spool_scan(sp->tmpfd, &names, &n, 0)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		int fd = openat(sp->tmpfd, names[i], O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0) {
			if (errno != ENOENT && unlinkat(sp->tmpfd, names[i], 0) == 0)
				(*removed)++;
			continue;
		}
		/* a writer in another process holds its lock: leave it */
		if (spool_lock_fd(fd, 0) == 0 && unlinkat(sp->tmpfd, names[i], 0) == 0)
			(*removed)++;
		close(fd);
	}
	spool_list_free(names, n);
	if ((r = spool_scan(sp->queuefd, &names, &n, 0)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		struct stat st;
		char id[SPOOL_ID_LEN + 1];

		if (l != SPOOL_ID_LEN + 3 || strcmp(names[i] + SPOOL_ID_LEN, ".st") != 0)
			continue;
		memcpy(id, names[i], SPOOL_ID_LEN);
		id[SPOOL_ID_LEN] = '\0';
		if (fstatat(sp->queuefd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT && unlinkat(sp->queuefd, names[i], 0) == 0)
			(*removed)++;
	}
	spool_list_free(names, n);
	if (*removed)
		(void)fsync(sp->tmpfd);
	return 0;
}

/* ------------------------------------------------------------ messages */

static int spool_held_add(struct spool *sp, const char *id)
{
	struct spool_held *h;

	for (h = sp->held; h; h = h->next)
		if (strcmp(h->id, id) == 0)
			return -EAGAIN;
	if (!(h = calloc(1, sizeof(*h))))
		return -ENOMEM;
	memcpy(h->id, id, SPOOL_ID_LEN + 1);
	h->next = sp->held;
	sp->held = h;
	return 0;
}

static void spool_held_del(struct spool *sp, const char *id)
{
	struct spool_held **p;

	for (p = &sp->held; *p; p = &(*p)->next)
		if (strcmp((*p)->id, id) == 0) {
			struct spool_held *h = *p;

			*p = h->next;
			free(h);
			return;
		}
}

/* spool_read_at - read up to len bytes at off; returns bytes or -errno */
static long spool_read_at(int fd, char *buf, size_t len, long long off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + (long long)got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

int spool_msg_open(struct spool *sp, const char *id, int lock,
    struct spool_msg **out, char *err, size_t errlen)
{
	struct spool_msg *m = NULL;
	char stname[SPOOL_ID_LEN + 4];
	char *buf = NULL;
	struct stat st;
	size_t off;
	long n;
	int r, fd = -1;

	*out = NULL;
	if (!spool_id_valid(id)) {
		snprintf(err, errlen, "'%s' is not a queue ID", id);
		return -EINVAL;
	}
	if (lock && (r = spool_held_add(sp, id)) < 0) {
		snprintf(err, errlen, "%s is in use", id);
		return r;
	}
	fd = openat(sp->queuefd, id, (lock ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", id, strerror(errno));
		goto fail;
	}
	if (lock && (r = spool_lock_fd(fd, 0)) < 0) {
		snprintf(err, errlen, "%s is locked by another process", id);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", id, strerror(errno));
		goto fail;
	}
	/* it may have been delivered and removed while we waited */
	if (st.st_nlink == 0) {
		r = -ENOENT;
		snprintf(err, errlen, "%s: gone", id);
		goto fail;
	}
	buf = malloc(SPOOL_ENV_MAX + 1);
	m = calloc(1, sizeof(*m));
	if (!buf || !m) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((n = spool_read_at(fd, buf, SPOOL_ENV_MAX, 0)) < 0) {
		r = (int)n;
		snprintf(err, errlen, "%s: %s", id, strerror(-r));
		goto fail;
	}
	m->env = spool_env_parse(buf, (size_t)n, &off, err, errlen);
	if (!m->env) {
		r = errno == ENOMEM ? -ENOMEM : -EINVAL;
		goto fail;
	}
	memcpy(m->env->id, id, SPOOL_ID_LEN + 1);
	memcpy(m->id, id, SPOOL_ID_LEN + 1);
	m->sp = sp;
	m->fd = fd;
	m->locked = lock;
	m->data_off = (long long)off;
	m->data_size = (long long)st.st_size - (long long)off;
	m->mtime = (long long)st.st_mtime;
	m->st_fd = -1;
	/* fold the state file, if any */
	snprintf(stname, sizeof(stname), "%s.st", id);
	{
		int sfd = openat(sp->queuefd, stname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (sfd >= 0) {
			struct stat sst;
			char *sbuf = NULL;

			/* a state file that cannot be read fails the open: the
			 * message without it would be delivered again */
			r = 0;
			if (fstat(sfd, &sst) < 0)
				r = -errno;
			else if (sst.st_size > 0 && sst.st_size < 16 * 1024 * 1024) {
				if (!(sbuf = malloc((size_t)sst.st_size)))
					r = -ENOMEM;
				else if ((n = spool_read_at(sfd, sbuf, (size_t)sst.st_size, 0)) < 0)
					r = (int)n;
				else if (n > 0 && spool_state_apply(m->env, sbuf, (size_t)n,
				    &m->bounced) < 0)
					r = -ENOMEM;
			}
			free(sbuf);
			close(sfd);
			if (r < 0) {
				snprintf(err, errlen, "%s: %s", stname, strerror(-r));
				m->fd = -1;
				goto fail;
			}
		} else if (errno != ENOENT) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", stname, strerror(errno));
			m->fd = -1;
			goto fail;
		}
	}
	free(buf);
	*out = m;
	return 0;
fail:
	if (m) {
		spool_env_free(m->env);
		free(m);
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	if (lock)
		spool_held_del(sp, id);
	return r;
}

void spool_msg_close(struct spool_msg *m)
{
	if (!m)
		return;
	if (m->st_fd >= 0)
		close(m->st_fd);
	if (m->fd >= 0)
		close(m->fd);
	if (m->locked)
		spool_held_del(m->sp, m->id);
	spool_env_free(m->env);
	free(m);
}

/* spool_state_undo - a failed append (ENOSPC, EDQUOT, EIO) may have
 * written part of a line: cut the file back to where it was, so that the
 * next line does not continue a torn one */
static int spool_state_undo(struct spool_msg *m, off_t size, int err)
{
	while (ftruncate(m->st_fd, size) < 0) {
		if (errno != EINTR) {
			/* reopened (and cut again) by the next append */
			close(m->st_fd);
			m->st_fd = -1;
			break;
		}
	}
	return err;
}

/* spool_state_untear - a torn last line (an append cut short by a power
 * cut, which readers ignore) is cut off, so that the next line does not
 * continue it: *size becomes the end of the last whole line */
static int spool_state_untear(int fd, off_t *size)
{
	char buf[2048];
	off_t end = *size, keep = 0;

	while (end > 0) {
		off_t from = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
		long n = spool_read_at(fd, buf, (size_t)(end - from), (long long)from);

		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		if (end == *size && buf[n - 1] == '\n')
			return 0;	/* not torn */
		while (n > 0 && buf[n - 1] != '\n')
			n--;
		if (n > 0) {
			keep = from + (off_t)n;
			break;
		}
		end = from;
	}
	while (ftruncate(fd, keep) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	*size = keep;
	return 0;
}

int spool_msg_state_append(struct spool_msg *m, const char *line, size_t len)
{
	struct stat st;
	int r, created = 0;

	if (!m->locked)
		return -EPERM;
	if (m->st_fd < 0) {
		char stname[SPOOL_ID_LEN + 4];

		snprintf(stname, sizeof(stname), "%s.st", m->id);
		m->st_fd = openat(m->sp->queuefd, stname,
		    O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (m->st_fd < 0)
			return -errno;
	}
	if (fstat(m->st_fd, &st) < 0)
		return -errno;
	if (st.st_size > 0 && (r = spool_state_untear(m->st_fd, &st.st_size)) < 0)
		return r;
	if (st.st_size == 0) {
		static const char head[] = "tern-state: 1\n";

		created = 1;
		if ((r = spool_write_all(m->st_fd, head, sizeof(head) - 1)) < 0)
			return spool_state_undo(m, 0, r);
	}
	if ((r = spool_write_all(m->st_fd, line, len)) < 0)
		return spool_state_undo(m, st.st_size, r);
	if ((r = spool_datasync(m->st_fd)) < 0)
		return r;
	return created ? spool_dir_sync(m->sp) : 0;
}

int spool_msg_remove(struct spool_msg *m)
{
	char stname[SPOOL_ID_LEN + 4];

	if (!m->locked)
		return -EPERM;
	/* the message first: a state file left alone is swept at startup */
	if (unlinkat(m->sp->queuefd, m->id, 0) < 0 && errno != ENOENT)
		return -errno;
	snprintf(stname, sizeof(stname), "%s.st", m->id);
	if (unlinkat(m->sp->queuefd, stname, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
