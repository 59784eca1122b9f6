/*
 * spool_env.c - envelope and state text of the spool (spool_env.h). Pure.
 *
 * THE SPOOL FORMAT, version 1. A queued message is the file queue/ID:
 *
 *   tern-spool: 1
 *   arrival: 1764064800
 *   sender: <alice@example.net>          ("<>" for the null sender)
 *   helo: client.example                 (optional)
 *   host-address: 192.0.2.7              (optional; absent for local mail)
 *   host-port: 41234                     (optional)
 *   protocol: esmtp
 *   ident: root                          (optional: local submitter)
 *   body: 8bitmime                       (optional; 7bit when absent)
 *   smtputf8: yes                        (optional)
 *   envid: xtext                         (optional, RFC 3461)
 *   ret: full                            (optional, RFC 3461; hdrs when absent)
 *   rcpt: <bob@example.org>
 *   rcpt: <carol@example.org> notify=failure,delay orcpt=rfc822;carol@example.org
 *   (empty line)
 *   the message exactly as it will be sent: CRLF line ends, not dot-stuffed,
 *   starting with tern's Received: header
 *
 * The ID is the file name; it is not repeated inside. The file is written
 * once, in tmp/, synced and renamed into queue/; it never changes after.
 * Unknown keys are an error (a newer tern wrote the file: leave it alone).
 *
 * Delivery progress goes to a second file, queue/ID.st, appended one line
 * at a time while the message is locked, and read back by folding:
 *
 *   tern-state: 1
 *   <time> ok <rcpt> - <text>            recipient delivered
 *   <time> defer <rcpt> <next-try> <text>
 *   <time> fail <rcpt> - <text>          recipient failed for good
 *   <time> bounced - - <text>            the failure report was sent
 *   <time> warned <n> - <text>           the n-th delay warning was sent
 *   <time> done <rcpt> - <address>       an alias target of the recipient
 *                                        was delivered or failed for good
 *                                        while others were deferred: later
 *                                        attempts skip it (no duplicate)
 *
 * <rcpt> is the recipient's index in the envelope (0-based). A line
 * without its final newline was torn by a crash and is ignored: the event
 * it recorded happens again (at worst a duplicate delivery, never a loss).
 */
#include "core/spool_env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPOOL_RCPT_MAX 100000

struct spool_env *spool_env_new(void)
{
	return calloc(1, sizeof(struct spool_env));
}

void spool_env_free(struct spool_env *env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; i < env->n_rcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
		free(env->rcpt[i].last_error);
		while (env->rcpt[i].n_done)
			free(env->rcpt[i].done[--env->rcpt[i].n_done]);
		free(env->rcpt[i].done);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->helo);
	free(env->host_addr);
	free(env->protocol);
	free(env->ident);
	free(env->envid);
	free(env);
}

int spool_env_set(char **field, const char *value)
{
	char *s = NULL;

	if (value && !(s = strdup(value)))
		return -1;
	free(*field);
	*field = s;
	return 0;
}

struct spool_rcpt *spool_env_add_rcpt(struct spool_env *env, const char *addr)
{
	struct spool_rcpt *r;

	if (env->n_rcpt >= SPOOL_RCPT_MAX)
		return NULL;
	r = realloc(env->rcpt, (env->n_rcpt + 1) * sizeof(*r));
	if (!r)
		return NULL;
	env->rcpt = r;
	r = &r[env->n_rcpt];
	memset(r, 0, sizeof(*r));
	if (!(r->addr = strdup(addr)))
		return NULL;
	env->n_rcpt++;
	return r;
}

/* ------------------------------------------------------------ format */

struct env_buf {
	char *p;
	size_t len, cap;
	int err;
};

/* eb_add - append s[0..n); any CR, LF or NUL in a value poisons the buffer */
static void eb_add(struct env_buf *b, const char *s, size_t n, int value)
{
	if (b->err)
		return;
	if (value && (memchr(s, '\r', n) || memchr(s, '\n', n) ||
	    memchr(s, '\0', n))) {
		b->err = EINVAL;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 512) + n;
		char *p;

		if (cap > SPOOL_ENV_MAX + 1024 || !(p = realloc(b->p, cap))) {
			b->err = cap > SPOOL_ENV_MAX + 1024 ? E2BIG : ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void eb_str(struct env_buf *b, const char *s)
{
	eb_add(b, s, strlen(s), 0);
}

static void eb_kv(struct env_buf *b, const char *key, const char *value)
{
	if (!value)
		return;
	eb_str(b, key);
	eb_str(b, ": ");
	eb_add(b, value, strlen(value), 1);
	eb_str(b, "\n");
}

char *spool_env_format(const struct spool_env *env, size_t *len)
{
	struct env_buf b = { NULL, 0, 0, 0 };
	char num[32];
	size_t i;

	snprintf(num, sizeof(num), "%d", SPOOL_VERSION);
	eb_kv(&b, "tern-spool", num);
	snprintf(num, sizeof(num), "%lld", env->arrival);
	eb_kv(&b, "arrival", num);
	eb_str(&b, "sender: <");
	eb_add(&b, env->sender ? env->sender : "", env->sender ? strlen(env->sender) : 0, 1);
	eb_str(&b, ">\n");
	eb_kv(&b, "helo", env->helo);
	eb_kv(&b, "host-address", env->host_addr);
	if (env->host_port) {
		snprintf(num, sizeof(num), "%u", env->host_port);
		eb_kv(&b, "host-port", num);
	}
	eb_kv(&b, "protocol", env->protocol ? env->protocol : "local");
	eb_kv(&b, "ident", env->ident);
	if (env->body_8bit)
		eb_kv(&b, "body", "8bitmime");
	if (env->smtputf8)
		eb_kv(&b, "smtputf8", "yes");
	eb_kv(&b, "envid", env->envid);
	if (env->ret_full)
		eb_kv(&b, "ret", "full");
	for (i = 0; i < env->n_rcpt; i++) {
		const struct spool_rcpt *r = &env->rcpt[i];

		if (strpbrk(r->addr, " <>")) {
			b.err = EINVAL;
			break;
		}
		eb_str(&b, "rcpt: <");
		eb_add(&b, r->addr, strlen(r->addr), 1);
		eb_str(&b, ">");
		if (r->notify) {
			eb_str(&b, " notify=");
			if (r->notify & SPOOL_NOTIFY_NEVER)
				eb_str(&b, "never");
			else {
				const char *sep = "";

				if (r->notify & SPOOL_NOTIFY_SUCCESS) {
					eb_str(&b, "success");
					sep = ",";
				}
				if (r->notify & SPOOL_NOTIFY_FAILURE) {
					eb_str(&b, sep);
					eb_str(&b, "failure");
					sep = ",";
				}
				if (r->notify & SPOOL_NOTIFY_DELAY) {
					eb_str(&b, sep);
					eb_str(&b, "delay");
				}
			}
		}
		if (r->orcpt) {
			if (strchr(r->orcpt, ' ')) {
				b.err = EINVAL;
				break;
			}
			eb_str(&b, " orcpt=");
			eb_add(&b, r->orcpt, strlen(r->orcpt), 1);
		}
		eb_str(&b, "\n");
	}
	if (env->n_rcpt == 0 && !b.err)
		b.err = EINVAL;
	eb_str(&b, "\n");
	if (b.err) {
		free(b.p);
		errno = b.err;
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ------------------------------------------------------------ parse */

/* env_number - a non-negative decimal that fits; -1 when not */
static long long env_number(const char *s, size_t n)
{
	long long v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static char *env_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* env_rcpt_parse - "<addr> [notify=..] [orcpt=..]"; 0, -1 (not valid) or
 * -ENOMEM */
static int env_rcpt_parse(struct spool_env *env, const char *v, size_t n)
{
	const char *close, *p, *end = v + n;
	struct spool_rcpt *r;
	char *addr;

	if (n < 2 || v[0] != '<' || !(close = memchr(v, '>', n)) || close == v + 1)
		return -1;
	if (!(addr = env_strndup(v + 1, (size_t)(close - v - 1))))
		return -ENOMEM;
	r = spool_env_add_rcpt(env, addr);
	free(addr);
	if (!r)
		return env->n_rcpt >= SPOOL_RCPT_MAX ? -1 : -ENOMEM;
	for (p = close + 1; p < end;) {
		const char *w;
		size_t wl;

		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		w = p;
		while (p < end && *p != ' ')
			p++;
		wl = (size_t)(p - w);
		if (wl > 7 && memcmp(w, "notify=", 7) == 0) {
			const char *q = w + 7;

			while (q < p) {
				const char *e = memchr(q, ',', (size_t)(p - q));
				size_t l;

				if (!e)
					e = p;
				l = (size_t)(e - q);
				if (l == 5 && memcmp(q, "never", 5) == 0)
					r->notify |= SPOOL_NOTIFY_NEVER;
				else if (l == 7 && memcmp(q, "success", 7) == 0)
					r->notify |= SPOOL_NOTIFY_SUCCESS;
				else if (l == 7 && memcmp(q, "failure", 7) == 0)
					r->notify |= SPOOL_NOTIFY_FAILURE;
				else if (l == 5 && memcmp(q, "delay", 5) == 0)
					r->notify |= SPOOL_NOTIFY_DELAY;
				else
					return -1;
				q = e + 1;
			}
		} else if (wl > 6 && memcmp(w, "orcpt=", 6) == 0) {
			free(r->orcpt);
			if (!(r->orcpt = env_strndup(w + 6, wl - 6)))
				return -ENOMEM;
		} else {
			return -1;
		}
	}
	return 0;
}

struct spool_env *spool_env_parse(const char *buf, size_t len,
    size_t *data_off, char *err, size_t errlen)
{
	struct spool_env *env = spool_env_new();
	size_t pos = 0;
	int line = 0, version = 0, have_sender = 0, have_arrival = 0;

	if (!env) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		const char *l = buf + pos, *nl, *colon, *v;
		size_t ll, kl, vl;
		char **field = NULL;

		if (pos >= len || pos > SPOOL_ENV_MAX) {
			snprintf(err, errlen, "no end of envelope");
			goto fail;
		}
		nl = memchr(l, '\n', len - pos);
		if (!nl) {
			snprintf(err, errlen, "line %d: truncated", line + 1);
			goto fail;
		}
		line++;
		ll = (size_t)(nl - l);
		pos += ll + 1;
		if (ll == 0)
			break;
		if (memchr(l, '\0', ll) || memchr(l, '\r', ll) ||
		    !(colon = memchr(l, ':', ll)) || colon + 1 >= nl || colon[1] != ' ') {
			snprintf(err, errlen, "line %d: not 'key: value'", line);
			goto fail;
		}
		kl = (size_t)(colon - l);
		v = colon + 2;
		vl = (size_t)(nl - v);
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(l, s, kl) == 0)
		if (line == 1) {
			if (!KEY("tern-spool") || env_number(v, vl) != SPOOL_VERSION) {
				snprintf(err, errlen, "not a version %d spool file", SPOOL_VERSION);
				goto fail;
			}
			version = 1;
			continue;
		}
		if (KEY("arrival")) {
			if ((env->arrival = env_number(v, vl)) < 0)
				goto bad;
			have_arrival = 1;
		} else if (KEY("sender")) {
			if (vl < 2 || v[0] != '<' || v[vl - 1] != '>' || have_sender)
				goto bad;
			free(env->sender);
			if (!(env->sender = env_strndup(v + 1, vl - 2)))
				goto nomem;
			have_sender = 1;
		} else if (KEY("helo")) {
			field = &env->helo;
		} else if (KEY("host-address")) {
			field = &env->host_addr;
		} else if (KEY("host-port")) {
			long long p = env_number(v, vl);

			if (p < 1 || p > 65535)
				goto bad;
			env->host_port = (unsigned)p;
		} else if (KEY("protocol")) {
			field = &env->protocol;
		} else if (KEY("ident")) {
			field = &env->ident;
		} else if (KEY("body")) {
			if (vl == 8 && memcmp(v, "8bitmime", 8) == 0)
				env->body_8bit = 1;
			else if (!(vl == 4 && memcmp(v, "7bit", 4) == 0))
				goto bad;
		} else if (KEY("smtputf8")) {
			if (!(vl == 3 && memcmp(v, "yes", 3) == 0))
				goto bad;
			env->smtputf8 = 1;
		} else if (KEY("envid")) {
			field = &env->envid;
		} else if (KEY("ret")) {
			if (vl == 4 && memcmp(v, "full", 4) == 0)
				env->ret_full = 1;
			else if (!(vl == 4 && memcmp(v, "hdrs", 4) == 0))
				goto bad;
		} else if (KEY("rcpt")) {
			int e = env_rcpt_parse(env, v, vl);

			if (e == -ENOMEM)
				goto nomem;
			if (e < 0)
				goto bad;
		} else {
			snprintf(err, errlen, "line %d: unknown key '%.*s'", line,
			    (int)(kl > 40 ? 40 : kl), l);
			goto fail;
		}
#undef KEY
		if (field) {
			free(*field);
			if (!(*field = env_strndup(v, vl)))
				goto nomem;
		}
		continue;
bad:
		snprintf(err, errlen, "line %d: bad value", line);
		goto fail;
	}
	if (!version || !have_sender || !have_arrival || env->n_rcpt == 0) {
		snprintf(err, errlen, "envelope lacks %s", !version ? "a version" :
		    !have_sender ? "the sender" : !have_arrival ? "the arrival time" :
		    "recipients");
		goto fail;
	}
	*data_off = pos;
	return env;
nomem:
	snprintf(err, errlen, "out of memory");
	spool_env_free(env);
	errno = ENOMEM;
	return NULL;
fail:
	spool_env_free(env);
	errno = EINVAL;
	return NULL;
}

/* ------------------------------------------------------------ state */

static const char *const spool_state_names[] = {
	[SPOOL_ST_OK] = "ok", [SPOOL_ST_DEFER] = "defer",
	[SPOOL_ST_FAIL] = "fail", [SPOOL_ST_BOUNCED] = "bounced",
	[SPOOL_ST_DONE] = "done", [SPOOL_ST_WARNED] = "warned",
};
#define SPOOL_ST_N (sizeof(spool_state_names) / sizeof(spool_state_names[0]))

int spool_rcpt_done(const struct spool_rcpt *r, const char *addr)
{
	size_t i;

	for (i = 0; i < r->n_done; i++)
		if (strcmp(r->done[i], addr) == 0)
			return 1;
	return 0;
}

/* rcpt_add_done - remember a settled alias target; 0 or -1 */
static int rcpt_add_done(struct spool_rcpt *r, const char *addr)
{
	char **v;

	if (spool_rcpt_done(r, addr))
		return 0;
	if (!(v = realloc(r->done, (r->n_done + 1) * sizeof(*v))))
		return -1;
	r->done = v;
	if (!(v[r->n_done] = strdup(addr)))
		return -1;
	r->n_done++;
	return 0;
}

int spool_state_line(char *buf, size_t len, long long now,
    enum spool_state_verb verb, size_t rcpt, long long next_retry,
    const char *text)
{
	char idx[24], nxt[24];
	size_t i, off;
	int n;

	if (verb == SPOOL_ST_BOUNCED)
		snprintf(idx, sizeof(idx), "-");
	else
		snprintf(idx, sizeof(idx), "%zu", rcpt);
	if (verb == SPOOL_ST_DEFER)
		snprintf(nxt, sizeof(nxt), "%lld", next_retry);
	else
		snprintf(nxt, sizeof(nxt), "-");
	n = snprintf(buf, len, "%lld %s %s %s ", now, spool_state_names[verb], idx, nxt);
	if (n < 0 || (size_t)n >= len)
		return -1;
	off = (size_t)n;
	/* the text on one line: control characters become spaces */
	for (i = 0; text && text[i] && off + 2 < len; i++)
		buf[off++] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
	buf[off++] = '\n';
	buf[off] = '\0';
	return (int)off;
}

int spool_state_apply(struct spool_env *env, const char *buf, size_t len,
    int *bounced)
{
	size_t pos = 0;
	int applied = 0;

	*bounced = 0;
	while (pos < len) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos);
		char verb[16], idx[24], nxt[24];
		long long t, retry = 0, ri = -1;
		int off = 0, v;
		char line[1024];
		size_t ll;

		if (!nl)
			break;		/* torn last line */
		ll = (size_t)(nl - l);
		pos += ll + 1;
		if (ll >= sizeof(line))
			continue;
		memcpy(line, l, ll);
		line[ll] = '\0';
		if (sscanf(line, "%lld %15s %23s %23s %n", &t, verb, idx, nxt, &off) < 4)
			continue;
		for (v = 0; v < (int)SPOOL_ST_N; v++)
			if (strcmp(verb, spool_state_names[v]) == 0)
				break;
		if (v == (int)SPOOL_ST_N)
			continue;
		if (v == SPOOL_ST_BOUNCED) {
			*bounced = 1;
			applied++;
			continue;
		}
		ri = env_number(idx, strlen(idx));
		if (v == SPOOL_ST_WARNED) {
			if (ri > 0 && (unsigned long long)ri > env->warned)
				env->warned = (unsigned)ri;
			applied++;
			continue;
		}
		if (ri < 0 || (size_t)ri >= env->n_rcpt)
			continue;
		if (v == SPOOL_ST_DEFER && (retry = env_number(nxt, strlen(nxt))) < 0)
			continue;
		if (v == SPOOL_ST_DONE) {
			if (off > 0 && line[off] && rcpt_add_done(&env->rcpt[ri], line + off) < 0)
				return -1;
			applied++;
			continue;
		}
		{
			struct spool_rcpt *r = &env->rcpt[ri];
			char *text = strdup(off > 0 ? line + off : "");

			if (!text)
				return -1;
			free(r->last_error);
			r->last_error = text;
			r->last_time = t;
			r->attempts++;
			r->state = v == SPOOL_ST_OK ? SPOOL_RCPT_DELIVERED :
			    v == SPOOL_ST_FAIL ? SPOOL_RCPT_FAILED : SPOOL_RCPT_PENDING;
			r->next_retry = retry;
		}
		applied++;
	}
	return applied;
}

int spool_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++) {
		if (i == 6 || i == 13) {
			if (s[i] != '-')
				return 0;
		} else if (!isalnum((unsigned char)s[i])) {
			return 0;
		}
	}
	return s[SPOOL_ID_LEN] == '\0';
}
