/*
 * spool.h - the crash-safe queue on disk (format: spool_env.c).
 *
 * Layout under spool_directory (mode 0700): tmp/ holds messages being
 * written, queue/ holds committed ones (queue/ID and its state file
 * queue/ID.st).
 *
 * Writing (spool_writer): spool_writer_new() picks a queue ID that is
 * unique across processes and restarts (time, pid, microseconds; checked
 * against queue/ too, for boxes whose clock restarts) and creates tmp/ID
 * with O_EXCL, mode 0600, write-locked so that recovery in another
 * process leaves it alone. The caller writes the envelope and the data,
 * then commits in three steps that may run in libuv's thread pool:
 *   spool_writer_sync()  fdatasync the file            (1 fsync)
 *   spool_writer_link()  rename tmp/ID -> queue/ID, close the file
 *   spool_dir_sync()     fsync queue/, shared by every message renamed
 *                        before it started (group commit)
 * Only after spool_dir_sync() returns may the message be acknowledged.
 * spool_writer_free() removes the temporary file of an uncommitted writer.
 *
 * Reading (spool_msg): spool_msg_open() parses the envelope and folds the
 * state file into it; with lock it holds an fcntl write lock on queue/ID
 * for as long as the message is open, so that serve, send and queue run
 * never deliver one message at the same time. fcntl locks belong to the
 * process and vanish when any of its descriptors of the file closes, so
 * struct spool keeps the set of IDs this process has open with the lock
 * and refuses a second open (-EAGAIN).
 *
 * All functions return 0 or a negative errno. Objects: spool_open ->
 * spool_close; spool_writer_new -> spool_writer_free; spool_msg_open ->
 * spool_msg_close. None of them is thread-safe except the three commit
 * steps, which touch only their own writer and the queue/ descriptor.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <stddef.h>

#include "core/spool_env.h"

struct spool;
struct spool_writer;

struct spool_msg {
	struct spool *sp;
	char id[SPOOL_ID_LEN + 1];
	int fd;			/* queue/ID */
	int locked;
	struct spool_env *env;	/* envelope with recipients' states */
	long long data_off;	/* where the message data starts */
	long long data_size;	/* bytes of message data */
	long long mtime;	/* when it was committed */
	int bounced;		/* a failure report was sent already */
	int st_fd;		/* queue/ID.st, opened on the first append */
};

/* spool_open - open (create: and make) the spool directory */
/* spool_owner_become - a command run as root acts as the owner of an
 * existing spool that is not root's (the account tern serve runs as), so
 * that the files it writes stay the daemon's: 0, or -errno when it cannot
 * (then it must not touch the spool) */
int spool_owner_become(const char *dir);
/* spool_owner_check - before the daemon or a command uses the spool: is
 * it owned by an account that may have it, with a mode its owner can use?
 * As root, with user (the daemon's account) existing and not root, dir
 * must be user's or root's (the daemon adopts those); as root otherwise,
 * any owner will do; unprivileged, dir, tmp/ and queue/ must be this
 * process's own. 0 (also when dir does not exist yet), or -errno with err
 * naming the path, the owner, what is expected and the fix. */
int spool_owner_check(const char *dir, const char *user, char *err, size_t errlen);

int spool_open(const char *dir, int create, struct spool **out,
    char *err, size_t errlen);
void spool_close(struct spool *sp);
const char *spool_dir(const struct spool *sp);
/* spool_recover - at startup: remove abandoned files of tmp/ and state
 * files whose message is gone; *removed counts them */
int spool_recover(struct spool *sp, unsigned *removed);

/* spool_space_low - is the spool's file system short of space? 1 when
 * fewer than min_free bytes would be left after need more are written
 * (Postfix's queue_minfree, Exim's check_spool_space), 0 when there is
 * room or min_free is 0 (no check), -errno when the system cannot tell.
 * *avail gets the bytes free for unprivileged use, or -1. */
int spool_space_low(struct spool *sp, long long need, long long min_free,
    long long *avail);

int spool_writer_new(struct spool *sp, long long now, struct spool_writer **out);
/* The same in two halves, for the event loop: prepare (loop thread: the
 * ID) and create (thread pool: the file). create returns -EEXIST when the
 * ID is taken; then renew (loop thread) and create again. */
int spool_writer_prepare(struct spool *sp, long long now, struct spool_writer **out);
int spool_writer_renew(struct spool_writer *w, long long now);
int spool_writer_create(struct spool_writer *w);
const char *spool_writer_id(const struct spool_writer *w);
int spool_writer_fd(const struct spool_writer *w);
/* spool_writer_write - write all of buf (blocking: for the CLI and for
 * small pieces such as the envelope) */
int spool_writer_write(struct spool_writer *w, const void *buf, size_t len);
int spool_writer_sync(struct spool_writer *w);
int spool_writer_link(struct spool_writer *w);
int spool_dir_sync(struct spool *sp);
/* spool_writer_commit - the three steps in a row (CLI use); *fsyncs gets
 * how many syncs were made */
int spool_writer_commit(struct spool_writer *w, unsigned *fsyncs);
void spool_writer_free(struct spool_writer *w);

/* spool_daemon_lock - tern serve holds <spool>/serve.lock for its life;
 * -EAGAIN when another daemon has it. spool_daemon_running - 1 when some
 * process holds it (sendmail -odb then leaves delivery to the daemon). */
int spool_daemon_lock(struct spool *sp);
int spool_daemon_running(struct spool *sp);

/* spool_list - the IDs in queue/, oldest first; free with spool_list_free */
int spool_list(struct spool *sp, char ***ids, size_t *n);
void spool_list_free(char **ids, size_t n);

int spool_msg_open(struct spool *sp, const char *id, int lock,
    struct spool_msg **out, char *err, size_t errlen);
void spool_msg_close(struct spool_msg *m);
/* spool_msg_state_append - append one line (spool_state_line) to the
 * state file and sync it; needs the lock */
int spool_msg_state_append(struct spool_msg *m, const char *line, size_t len);
/* spool_msg_remove - delete the message and its state file (locked) */
int spool_msg_remove(struct spool_msg *m);

#endif
