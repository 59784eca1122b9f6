/*
 * spool_env.h - the envelope of a queued message and its text form.
 *
 * Pure: spool_env_format() turns a struct spool_env into the header of a
 * spool file, spool_env_parse() reads it back, spool_state_apply() folds
 * the lines of a message's state file into the recipients' states. The
 * format itself is described at the top of spool_env.c.
 *
 * Ownership: a struct spool_env owns every string in it (heap);
 * spool_env_free() releases them, spool_env_free(NULL) does nothing.
 */
#ifndef TERN_SPOOL_ENV_H
#define TERN_SPOOL_ENV_H

#include <stddef.h>

#define SPOOL_ID_LEN 18		/* "tttttt-pppppp-uuuu" */
#define SPOOL_VERSION 1
#define SPOOL_ENV_MAX (256 * 1024)	/* envelope text at most */

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING,	/* not yet delivered */
	SPOOL_RCPT_DELIVERED,
	SPOOL_RCPT_FAILED
};

/* DSN NOTIFY bits (RFC 3461 4.1) */
enum {
	SPOOL_NOTIFY_NEVER = 1, SPOOL_NOTIFY_SUCCESS = 2,
	SPOOL_NOTIFY_FAILURE = 4, SPOOL_NOTIFY_DELAY = 8
};

struct spool_rcpt {
	char *addr;		/* as given in RCPT TO, without <> */
	char *orcpt;		/* RFC 3461 ORCPT, or NULL */
	unsigned notify;	/* SPOOL_NOTIFY_* bits, 0 = not given */
	/* from the state file: */
	enum spool_rcpt_state state;
	unsigned attempts;
	long long next_retry;	/* 0 = now */
	long long last_time;
	char *last_error;	/* last reply or error, or NULL */
	/* alias targets of this recipient already delivered or failed for
	 * good ("done" lines): a later attempt skips them */
	char **done;
	size_t n_done;
};

struct spool_env {
	char id[SPOOL_ID_LEN + 1];	/* from the file name, not the text */
	long long arrival;		/* Unix time */
	char *sender;			/* "" for the null sender <> */
	char *helo;			/* client's HELO/EHLO name, or NULL */
	char *host_addr;		/* client address, NULL for local */
	unsigned host_port;
	char *protocol;			/* "esmtp", "smtp", "local", ... */
	char *ident;			/* local submitter's login name, or NULL */
	int body_8bit;			/* BODY=8BITMIME */
	int smtputf8;
	char *envid;			/* RFC 3461 ENVID, or NULL */
	int ret_full;			/* RFC 3461 RET=FULL (else HDRS/unset) */
	struct spool_rcpt *rcpt;
	size_t n_rcpt;
	/* from the state file: delay warnings sent so far ("warned" lines) */
	unsigned warned;
};

/* spool_env_new - an empty envelope; NULL when out of memory */
struct spool_env *spool_env_new(void);
void spool_env_free(struct spool_env *env);
/* spool_env_set - replace one string field (*field) by a copy of value
 * (NULL clears it); 0 or -1 (out of memory) */
int spool_env_set(char **field, const char *value);
/* spool_env_add_rcpt - append a recipient; returns it or NULL (no memory) */
struct spool_rcpt *spool_env_add_rcpt(struct spool_env *env, const char *addr);

/* spool_env_format - the envelope text (ends with the empty line that
 * separates it from the data) into a new heap string the caller frees;
 * NULL with errno set (EINVAL: a value holds CR, LF or NUL). */
char *spool_env_format(const struct spool_env *env, size_t *len);
/* spool_env_parse - read envelope text from buf[0..len) into a new env;
 * *data_off is where the data starts. NULL with a reason in err and
 * errno ENOMEM (out of memory) or EINVAL (not a valid envelope). */
struct spool_env *spool_env_parse(const char *buf, size_t len,
    size_t *data_off, char *err, size_t errlen);

/* State file: one line per event, appended under the message lock.
 * spool_state_line - format one line into buf; returns its length or -1 */
enum spool_state_verb {
	SPOOL_ST_OK, SPOOL_ST_DEFER, SPOOL_ST_FAIL, SPOOL_ST_BOUNCED, SPOOL_ST_DONE,
	SPOOL_ST_WARNED		/* rcpt: the number of warnings sent */
};
int spool_state_line(char *buf, size_t len, long long now,
    enum spool_state_verb verb, size_t rcpt, long long next_retry,
    const char *text);
/* spool_state_apply - fold state-file text into env's recipients. A last
 * line without its newline (torn by a crash) is ignored, and so are lines
 * that do not parse; returns the number of lines applied. *bounced is set
 * when a bounce was already sent for the failures. */
int spool_state_apply(struct spool_env *env, const char *buf, size_t len,
    int *bounced);
/* spool_rcpt_done - 1 when addr is one of r's settled alias targets */
int spool_rcpt_done(const struct spool_rcpt *r, const char *addr);

/* spool_id_valid - a well-formed queue id (safe as a file name) */
int spool_id_valid(const char *s);

#endif
