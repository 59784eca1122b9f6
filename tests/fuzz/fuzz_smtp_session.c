/*
 * fuzz_smtp_session.c - libFuzzer target for core/smtp_session.c, the SMTP
 * server's state machine (with the parsers it uses: smtp_parse.c for the
 * command lines, smtp_data.c for the DATA phase, spool_env.c for the
 * envelope, config.c and its lists for the policy). The input is what a
 * client sends; it is driven the way smtp_server.c's conn_process_input()
 * drives the session: command lines through smtp_sess_input() (the same
 * function the listener and sendmail -bs use), the DATA phase decoded
 * with smtp_data_feed() and ended with smtp_sess_data_done().
 *
 * The first three octets choose the options:
 *   data[0]  bits 0-2: one of 8 configs (recipients_max 2 or 100,
 *            smtp_max_synprot_errors 0 or 3, smtp_max_unknown_commands 0
 *            or 2 with smtp_accept_max_nonmail 0 or 3, postmaster alias
 *            or not); bit 3: local submission;
 *            bit 4: STARTTLS offered; bit 5: a client in relay_from_hosts;
 *            bit 6: the TLS handshake succeeds (else the glue closes)
 *   data[1]  the spool's outcome for each message, two bits each (OK,
 *            NO_SPACE, LOCAL_ERROR, OK) unless the data itself has bare
 *            CR/LF or is too big, as the glue decides
 *   data[2]  the size of the chunks in which the input arrives (0: all at
 *            once)
 * After STARTTLS the client "handshakes": the input up to its next NUL
 * octet is dropped (as the glue drops what was pipelined after STARTTLS),
 * and what follows is the client's talk inside TLS.
 *
 * Invariants checked (abort on violation): every reply line is 3 digits
 * (2xx-5xx), space or dash, printable text (tabs allowed, RFC 5321
 * textstring), CRLF, at most 512 octets, ASCII but in an SMTPUTF8
 * transaction (where it may echo an address); a multiline reply keeps
 * its code and ends with a space line;
 * the output never runs out of memory; 354 comes with SMTP_A_DATA and
 * only after MAIL and at least one accepted RCPT, and the envelope then
 * has between 1 and recipients_max recipients; no relaying for a client
 * that may not relay; the state and the envelope agree; the spool head
 * (envelope and Received: header) parses back to the same envelope and
 * its header lines end in CRLF and fold with a tab; a closed session
 * stays closed and silent; and the same input fed one octet at a time
 * gives exactly the same replies.
 *
 * FUZZ_SESSION_TRACE=1 in the environment prints the replies of each
 * input (to see what a seed reaches).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/smtp_data.h"
#include "core/smtp_parse.h"
#include "core/smtp_session.h"
#include "core/spool_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define FZ_MAX_INPUT 8192	/* -max_len in tests/fuzz/Kbuild at most */
#define FZ_REPLY_MAX 512	/* RFC 5321 4.5.3.1.5, CRLF included */

static struct config *configs[8];

static struct config *config_for(unsigned i)
{
	char text[1024];

	if (configs[i])
		return configs[i];
	snprintf(text, sizeof(text),
	    "primary_hostname = mx.test\n"
	    "relay_from_hosts = 192.0.2.0/24 : ::1\n"
	    "local_domains = @ : local.test\n"
	    "message_size_limit = 2K\n"
	    "recipients_max = %d\n"
	    "smtp_max_synprot_errors = %d\n"
	    "smtp_max_unknown_commands = %d\n"
	    "smtp_accept_max_nonmail = %d\n"
	    "[aliases]\nroot = admin@example.net\nx.y = a@example.net, b@example.net\n%s",
	    i & 1 ? 100 : 2, i & 2 ? 3 : 0, i & 4 ? 2 : 0, i & 4 ? 3 : 0,
	    i & 1 ? "postmaster = root\n" : "");
	configs[i] = config_load_string("fz.conf", text, stderr);
	CHECK(configs[i] != NULL);
	return configs[i];
}

struct run {
	struct smtp_sess s;
	const struct config *cfg;
	int relay_ok;		/* local, or in relay_from_hosts */
	int tls_ok;
	unsigned outcomes;	/* data[1] */
	char in[FZ_MAX_INPUT];
	size_t inlen;
	int handshake;		/* STARTTLS: dropping up to the NUL */
	struct smtp_data dec;
	long long dsize;
	int closed;
	int utf8;		/* SMTPUTF8 before the command: the reply may echo UTF-8 */
	char *log;		/* every reply, in order */
	size_t loglen, logcap;
};

static void log_add(struct run *r, const char *p, size_t n)
{
	if (r->loglen + n + 1 > r->logcap) {
		size_t cap = r->logcap ? r->logcap : 4096;
		char *b;

		while (cap < r->loglen + n + 1)
			cap *= 2;
		b = realloc(r->log, cap);
		CHECK(b != NULL);
		r->log = b;
		r->logcap = cap;
	}
	memcpy(r->log + r->loglen, p, n);
	r->loglen += n;
}

static void bad_reply(const char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "bad reply line (%zu octets): ", n);
	for (i = 0; i < n; i++)
		fprintf(stderr, (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f ?
		    "\\x%02x" : "%c", (unsigned char)p[i]);
	fputc('\n', stderr);
	abort();
}

/* take_replies - check the output and move it to the log; returns the
 * code of the last reply (0 when there was none) */
static int take_replies(struct run *r)
{
	const char *p = r->s.out.buf, *end;
	int last = 0, cont = 0;

	CHECK(!r->s.out.oom);
	if (r->s.out.len == 0)
		return 0;
	end = p + r->s.out.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n, i;
		int code;

		n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		if (!nl || n < 6 || n > FZ_REPLY_MAX || nl[-1] != '\r' ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
			bad_reply(p, n);
		for (i = 4; i < n - 2; i++)
			if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || (unsigned char)p[i] == 0x7f ||
			    ((unsigned char)p[i] > 0x7f && !r->utf8 && !r->s.utf8))
				bad_reply(p, n);
		code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (cont && code != last)
			bad_reply(p, n);
		cont = p[3] == '-';
		last = code;
		p = nl + 1;
	}
	CHECK(!cont);
	log_add(r, r->s.out.buf, r->s.out.len);
	smtp_out_reset(&r->s.out);
	return last;
}

/* domain_local - the configs' local_domains: @ (mx.test) : local.test */
static int domain_local(const char *d)
{
	return strcasecmp(d, "mx.test") == 0 || strcasecmp(d, "local.test") == 0;
}

/* check_state - the state and the envelope agree */
static void check_state(const struct run *r)
{
	const struct smtp_sess *s = &r->s;
	size_t i;

	switch (s->state) {
	case SMTP_ST_FRESH:
	case SMTP_ST_READY:
	case SMTP_ST_CLOSED:
		CHECK(s->env == NULL || s->state == SMTP_ST_CLOSED);
		break;
	case SMTP_ST_MAIL:
		CHECK(s->env && s->env->sender && s->env->n_rcpt == 0);
		break;
	case SMTP_ST_RCPT:
	case SMTP_ST_DATA:
		CHECK(s->env && s->env->sender && s->env->n_rcpt >= 1);
		break;
	default:
		abort();
	}
	if (!s->env)
		return;
	CHECK(s->env->n_rcpt <= (size_t)r->cfg->main.recipients_max);
	for (i = 0; i < s->env->n_rcpt; i++) {
		const char *a = s->env->rcpt[i].addr, *at = strrchr(a, '@');

		/* local: an alias (postmaster falls back on root); else relay */
		if (!at)
			CHECK(strcasecmp(a, "postmaster") == 0);
		else if (!domain_local(at + 1))
			CHECK(r->relay_ok);
		else
			CHECK(config_alias_find(r->cfg, a, (size_t)(at - a)) != NULL ||
			    (at - a == 10 && strncasecmp(a, "postmaster", 10) == 0 &&
			    config_alias_find(r->cfg, "root", 4) != NULL));
	}
}

/* check_head - the spool head parses back to the session's envelope */
static void check_head(struct run *r)
{
	const struct spool_env *e = r->s.env;
	struct spool_env *p;
	size_t len = 0, off = 0, i;
	char err[256], *head = smtp_sess_spool_head(&r->s, "fuzz-id", 1764064800, &len);
	const char *rcv;

	if (!head) {
		fprintf(stderr, "no spool head: sender <%s>, helo %s, %zu recipients\n",
		    e->sender, e->helo ? e->helo : "-", e->n_rcpt);
		for (i = 0; i < e->n_rcpt; i++)
			fprintf(stderr, "  rcpt <%s> orcpt %s\n", e->rcpt[i].addr,
			    e->rcpt[i].orcpt ? e->rcpt[i].orcpt : "-");
		abort();
	}
	p = spool_env_parse(head, len, &off, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "spool head does not parse (%s):\n%.*s\n", err, (int)len, head);
		abort();
	}
	CHECK(strcmp(p->sender, e->sender) == 0 && p->n_rcpt == e->n_rcpt);
	for (i = 0; i < e->n_rcpt; i++) {
		CHECK(strcmp(p->rcpt[i].addr, e->rcpt[i].addr) == 0);
		CHECK(p->rcpt[i].notify == e->rcpt[i].notify);
		CHECK(!p->rcpt[i].orcpt == !e->rcpt[i].orcpt);
		CHECK(!e->rcpt[i].orcpt || strcmp(p->rcpt[i].orcpt, e->rcpt[i].orcpt) == 0);
	}
	CHECK(p->body_8bit == e->body_8bit && p->smtputf8 == e->smtputf8 &&
	    p->ret_full == e->ret_full && !p->envid == !e->envid);
	CHECK(!p->helo == !e->helo && (!e->helo || strcmp(p->helo, e->helo) == 0));
	spool_env_free(p);
	/* the Received: header: CRLF lines, folded with a tab */
	rcv = head + off;
	CHECK(off < len && strncmp(rcv, "Received: from ", 15) == 0);
	for (i = off; i < len; i++) {
		unsigned char c = (unsigned char)head[i];

		if (c == '\n') {
			CHECK(head[i - 1] == '\r');
			CHECK(i + 1 == len || head[i + 1] == '\t');
		} else if (c == '\r') {
			CHECK(i + 1 < len && head[i + 1] == '\n');
		} else {
			CHECK(c >= 0x20 || c == '\t');
		}
	}
	CHECK(len >= 2 && head[len - 2] == '\r' && head[len - 1] == '\n');
	free(head);
}

/* act - after an action: the checks, the glue's part */
static void act(struct run *r, enum smtp_action a, enum smtp_state before)
{
	int code = take_replies(r);

	check_state(r);
	switch (a) {
	case SMTP_A_NONE:
		CHECK(r->s.state != SMTP_ST_CLOSED && r->s.state != SMTP_ST_DATA);
		CHECK(code != 354 && code != 221 && code != 421);
		break;
	case SMTP_A_DATA:
		CHECK(code == 354 && before == SMTP_ST_RCPT && r->s.state == SMTP_ST_DATA);
		check_head(r);
		smtp_data_init(&r->dec);
		r->dsize = 0;
		break;
	case SMTP_A_STARTTLS:
		CHECK(code == 220 && r->s.tls_offer && !r->s.tls);
		CHECK(before == SMTP_ST_FRESH || before == SMTP_ST_READY);
		CHECK(r->s.env == NULL);
		r->handshake = 1;
		break;
	case SMTP_A_CLOSE:
		CHECK(r->s.state == SMTP_ST_CLOSED);
		CHECK(code == 221 || code == 421);
		r->closed = 1;
		break;
	default:
		abort();
	}
	CHECK(code != 354 || a == SMTP_A_DATA);
}

/* data_end - the glue's verdict on a message */
static void data_end(struct run *r)
{
	static const enum smtp_data_result pick[4] = {
		SMTP_DR_OK, SMTP_DR_NO_SPACE, SMTP_DR_LOCAL_ERROR, SMTP_DR_OK
	};
	enum smtp_data_result dr = pick[(r->outcomes >> (2 * (r->s.messages % 4))) & 3];
	unsigned before = r->s.messages;
	int code;

	if (r->dec.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR))
		dr = SMTP_DR_BARE_EOL;
	else if (r->dsize > r->cfg->main.message_size_limit)
		dr = SMTP_DR_TOO_BIG;
	CHECK(smtp_sess_data_done(&r->s, dr, "fuzz-id") == SMTP_A_NONE);
	code = take_replies(r);
	CHECK(r->s.state == SMTP_ST_READY && r->s.env == NULL);
	CHECK((dr == SMTP_DR_OK) == (code == 250));
	CHECK(r->s.messages == before + (dr == SMTP_DR_OK));
}

/* process - conn_process_input(): use what input can be used now */
static void process(struct run *r)
{
	static char out[FZ_MAX_INPUT + 2];
	size_t pos = 0;

	while (!r->closed && pos < r->inlen) {
		const char *p = r->in + pos;
		size_t left = r->inlen - pos;

		if (r->handshake) {
			const char *nul = memchr(p, '\0', left);

			if (!nul) {
				pos = r->inlen;
				break;
			}
			pos = (size_t)(nul - r->in) + 1;
			r->handshake = 0;
			if (!r->tls_ok) {
				r->closed = 1;	/* the glue closes, without a reply */
				break;
			}
			smtp_sess_tls_on(&r->s);
			CHECK(r->s.state == SMTP_ST_FRESH && r->s.tls && !r->s.helo[0]);
			continue;
		}
		if (r->s.state == SMTP_ST_DATA) {
			size_t used, outlen = 0;
			int done = 0;

			used = smtp_data_feed(&r->dec, p, left, out, &outlen, &done);
			CHECK(used <= left && outlen <= left + 2);
			r->dsize += (long long)outlen;
			pos += used;
			if (done)
				data_end(r);
			else
				CHECK(used == left);
			continue;
		}
		{
			enum smtp_state before = r->s.state;
			enum smtp_action a;
			size_t used;

			r->utf8 = r->s.utf8;
			a = smtp_sess_input(&r->s, p, left, &used);
			CHECK(used <= left);
			if (used == 0) {
				CHECK(r->s.out.len == 0);
				break;
			}
			pos += used;
			act(r, a, before);
			if (a == SMTP_A_STARTTLS) {
				/* what was pipelined after STARTTLS is dropped
				 * (the handshake mode drops it up to the NUL) */
				continue;
			}
		}
	}
	memmove(r->in, r->in + pos, r->inlen - pos);
	r->inlen -= pos;
}

static void run_init(struct run *r, const uint8_t *data)
{
	unsigned o = data[0];

	memset(r, 0, sizeof(*r));
	r->cfg = config_for(o & 7);
	r->tls_ok = (o >> 6) & 1;
	r->outcomes = data[1];
	r->relay_ok = (o & 8) || (o & 32);
	CHECK(smtp_sess_init(&r->s, r->cfg, (o & 32) ? "192.0.2.9" : "203.0.113.5",
	    4000, (o >> 3) & 1, (o >> 4) & 1) == 0);
	CHECK(take_replies(r) == 220);
	check_state(r);
}

/* feed - the input in chunks of chunk octets (0: all at once) */
static void feed(struct run *r, const char *in, size_t len, size_t chunk)
{
	size_t pos = 0;

	if (chunk == 0)
		chunk = len;
	while (pos < len && !r->closed) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		CHECK(r->inlen + n <= sizeof(r->in));
		memcpy(r->in + r->inlen, in + pos, n);
		r->inlen += n;
		pos += n;
		process(r);
	}
}

static void run_end(struct run *r)
{
	if (!r->closed) {
		/* the client went away; a timeout would say 421 */
		CHECK(smtp_sess_timeout(&r->s) == SMTP_A_CLOSE);
		CHECK(take_replies(r) == 421);
		r->closed = 1;
	}
	/* closed stays closed, and silent */
	if (r->s.state == SMTP_ST_CLOSED) {
		CHECK(smtp_sess_line(&r->s, "NOOP", 4) == SMTP_A_CLOSE);
		CHECK(r->s.out.len == 0);
	}
	smtp_sess_fini(&r->s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run a, b;
	const char *in = (const char *)data + 3;
	size_t len;

	if (size < 3 || size - 3 > FZ_MAX_INPUT)
		return 0;
	len = size - 3;
	run_init(&a, data);
	feed(&a, in, len, data[2]);
	run_init(&b, data);
	feed(&b, in, len, 1);
	/* the same replies, however the input was cut */
	if (a.loglen != b.loglen || memcmp(a.log, b.log, a.loglen) != 0 ||
	    a.closed != b.closed || a.s.messages != b.s.messages) {
		fprintf(stderr, "chunks of %u and single octets differ:\n%.*s\n---\n%.*s\n",
		    data[2], (int)a.loglen, a.log, (int)b.loglen, b.log);
		abort();
	}
	if (getenv("FUZZ_SESSION_TRACE"))
		fprintf(stderr, "%.*s", (int)a.loglen, a.log);
	run_end(&a);
	run_end(&b);
	free(a.log);
	free(b.log);
	return 0;
}
