/*
 * test_oom.c - allocation failure sweep (libuv's test-loop-oom.c idea):
 * for N = 1, 2, ... the Nth allocation tern makes fails (alloc_fail.h),
 * until a run completes without reaching N; first with the Nth
 * allocation failing alone, then with every one from the Nth on.
 * Four scenarios:
 *
 *   session   the SMTP server's state machine (smtp_session) through
 *             EHLO, MAIL with SIZE, three RCPT, DATA and QUIT, with the
 *             spool commit the glue makes (spool_writer_*), then the
 *             message reopened with spool_msg_open;
 *   spool     a queued message opened with the lock, its state file
 *             appended to and folded back, the queue listed, recovery;
 *   delivery  the real delivery engine (deliver.c) on a libuv loop,
 *             talking to a scripted SMTP server in this process: one
 *             recipient accepted, one refused (a bounce is queued and
 *             delivered), one deferred, and an alias to one accepted and
 *             one deferred address;
 *   server    the real listener (smtp_server.c) on the loop, a client in
 *             this process sending the session scenario over TCP.
 *
 * TEST_OOM_SWEEP=session|spool|delivery|server runs one, TEST_OOM_FROM=N
 * starts at N, TEST_OOM_VERBOSE=1 logs each N (and tern's log).
 *
 * For every N: no crash (ASan), every reply either the normal one or a
 * temporary failure (4yz, a closed connection), the spool consistent (a
 * message acknowledged is committed and reopenable, a refused one is not
 * there, tmp/ is empty), nothing leaked once everything is torn down,
 * and no recipient's outcome lost (a failure recorded means its report
 * exists).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "core/config.h"
#include "core/deliver.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/smtp_server.h"
#include "core/smtp_session.h"
#include "core/spool.h"
#include "core/spool_env.h"
#include "tests/unit/alloc_fail.h"

#define SWEEP_MAX 100000	/* a sanity bound on N */

static char spool_dir_buf[64];
static int verbose;
static unsigned long sweep_from = 1;	/* TEST_OOM_FROM: the first N */
static int sweep_sticky;	/* the Nth and every later allocation fail */

static const char body[] =
    "From: alice@example.net\r\n"
    "To: ok@example.org\r\n"
    "Subject: oom\r\n"
    "Message-ID: <oom-1@example.net>\r\n"
    "\r\n"
    "line one\r\n"
    "line two\r\n";

/* ------------------------------------------------------------ helpers */

static void tmpdir_make(void)
{
	char tmpl[] = "/tmp/tern-oom-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	snprintf(spool_dir_buf, sizeof(spool_dir_buf), "%s", tmpl);
}

static void tmpdir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_dir_buf);
	assert_int_equal(system(cmd), 0);
}

/* dir_count - entries of spool/sub (not . and ..); names ending in
 * suffix only, when given */
static int dir_count(const char *sub, const char *suffix)
{
	char path[128];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", spool_dir_buf, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;

		if (de->d_name[0] == '.')
			continue;
		if (suffix && (l < sl || strcmp(de->d_name + l - sl, suffix) != 0))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* queue_clear - remove every file of queue/ (outside the window) */
static void queue_clear(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/queue/* '%s'/tmp/*", spool_dir_buf,
	    spool_dir_buf);
	assert_int_equal(system(cmd), 0);
}

static struct config *cfg_load(unsigned port, unsigned listen_port)
{
	char text[2048], listen[128] = "";
	struct config *cfg;

	/* the listener's options exist only with it; relaying is allowed
	 * from 127.0.0.0/8 by default */
	if (IS_ENABLED(CONFIG_SMTP_SERVER))
		snprintf(listen, sizeof(listen), "listen = 127.0.0.1:%u\n"
		    "local_socket =\n", listen_port);
	snprintf(text, sizeof(text),
	    "primary_hostname = mx.test\n"
	    "spool_directory = %s\n"
	    "%s"
	    "message_size_limit = 1M\n"
	    "[aliases]\nroot = admin@example.net\n"
	    "team = ok2@example.org, later2@example.org\n"
	    "[router smarthost]\n"
	    "hosts = 127.0.0.1:%u\n"
	    "transport = remote_smtp\n"
	    "[transport remote_smtp]\n"
	    "port = %u\n"
	    "%s",
	    spool_dir_buf, listen, port, port,
	    IS_ENABLED(CONFIG_TLS_DANE) ? "hosts_try_dane =\n" : "");
	cfg = config_load_string("oom.conf", text, stderr);
	assert_non_null(cfg);
	return cfg;
}

static void leak_check(const char *what, unsigned long n)
{
	size_t out = alloc_fail_outstanding();

	if (out != 0)
		fail_msg("%s, allocation %lu failing: %zu block(s) leaked", what, n, out);
}

/* ------------------------------------------------------------ session */

struct sess_run {
	int closed;		/* the glue closed the connection */
	int accepted;		/* 250 to the end of data */
	int committed;		/* the file is in queue/ */
	char id[SPOOL_ID_LEN + 1];
	int rcpt_ok[3];
	unsigned long n;
};

/* reply_ok - the reply to a command is the wanted one or a temporary
 * failure; returns 1 for the wanted one, 0 for a 4yz */
static int reply_check(struct sess_run *r, struct smtp_sess *s, const char *cmd,
    const char *want)
{
	if (s->out.oom) {
		r->closed = 1;	/* the glue closes: the client sees a drop */
		return 0;
	}
	if (s->out.len < 4)
		fail_msg("N=%lu %s: no reply", r->n, cmd);
	if (strncmp(s->out.buf, want, strlen(want)) == 0)
		return 1;
	if (s->out.buf[0] == '4')
		return 0;
	fail_msg("N=%lu %s: '%.*s', wanted '%s' or 4yz", r->n, cmd,
	    (int)s->out.len, s->out.buf, want);
	return 0;
}

static int sess_say(struct sess_run *r, struct smtp_sess *s, const char *line,
    const char *want, enum smtp_action *a)
{
	enum smtp_action act;

	smtp_out_reset(&s->out);
	act = smtp_sess_line(s, line, strlen(line));
	if (a)
		*a = act;
	return reply_check(r, s, line, want);
}

/* sess_data - what smtp_server.c does after 354: spool the envelope and
 * the data, commit, and report */
static enum smtp_data_result sess_data(struct sess_run *r, struct smtp_sess *s,
    struct spool *sp)
{
	struct spool_writer *w = NULL;
	long long now = (long long)time(NULL);
	char *head = NULL;
	size_t headlen;
	int e;

	if ((e = spool_writer_prepare(sp, now, &w)) < 0)
		goto fail;
	head = smtp_sess_spool_head(s, spool_writer_id(w), now, &headlen);
	if (!head) {
		e = -ENOMEM;
		goto fail;
	}
	while ((e = spool_writer_create(w)) == -EEXIST)
		spool_writer_renew(w, now);
	if (e < 0 || (e = spool_writer_write(w, head, headlen)) < 0 ||
	    (e = spool_writer_write(w, body, sizeof(body) - 1)) < 0 ||
	    (e = spool_writer_sync(w)) < 0 || (e = spool_writer_link(w)) < 0)
		goto fail;
	r->committed = 1;
	memcpy(r->id, spool_writer_id(w), sizeof(r->id));
	if ((e = spool_dir_sync(sp)) < 0)
		goto fail;
	free(head);
	spool_writer_free(w);
	return SMTP_DR_OK;
fail:
	free(head);
	spool_writer_free(w);
	return e == -ENOSPC ? SMTP_DR_NO_SPACE : SMTP_DR_LOCAL_ERROR;
}

static void sess_run(struct sess_run *r, const struct config *cfg, struct spool *sp)
{
	static const char *const rcpt[3] = { "ok@example.org", "bad@example.org",
		"later@example.org" };
	struct smtp_sess s;
	enum smtp_action a;
	int i, any = 0;

	if (smtp_sess_init(&s, cfg, "127.0.0.1", 4000, 0, 0) < 0) {
		smtp_sess_fini(&s);
		r->closed = 1;
		return;
	}
	if (strncmp(s.out.buf, "220 ", 4) != 0)
		fail_msg("N=%lu banner '%.*s'", r->n, (int)s.out.len, s.out.buf);
	if (!sess_say(r, &s, "EHLO client.test", "250-", NULL) || r->closed)
		goto quit;
	if (!sess_say(r, &s, "MAIL FROM:<alice@example.net> SIZE=200 BODY=8BITMIME",
	    "250 ", NULL) || r->closed)
		goto quit;
	for (i = 0; i < 3; i++) {
		char line[128];

		snprintf(line, sizeof(line), "RCPT TO:<%s> NOTIFY=FAILURE ORCPT=rfc822;%s",
		    rcpt[i], rcpt[i]);
		r->rcpt_ok[i] = sess_say(r, &s, line, "250 ", NULL);
		any |= r->rcpt_ok[i];
		if (r->closed)
			goto quit;
	}
	if (!any)
		goto quit;
	if (!sess_say(r, &s, "DATA", "354 ", &a) || r->closed)
		goto quit;
	assert_int_equal(a, SMTP_A_DATA);
	{
		enum smtp_data_result dr = sess_data(r, &s, sp);

		smtp_out_reset(&s.out);
		smtp_sess_data_done(&s, dr, r->id);
		r->accepted = reply_check(r, &s, "end of data", "250 ");
		if (r->accepted && !r->committed)
			fail_msg("N=%lu: 250 without a commit", r->n);
		if (r->closed)
			goto quit;
	}
quit:
	if (!r->closed) {
		smtp_out_reset(&s.out);
		a = smtp_sess_line(&s, "QUIT", 4);
		if (!s.out.oom && strncmp(s.out.buf, "221 ", 4) != 0)
			fail_msg("N=%lu QUIT: '%.*s'", r->n, (int)s.out.len, s.out.buf);
	}
	smtp_sess_fini(&s);
}

/* sess_verify - the committed message reopens with the recipients that
 * were accepted and the data that was sent */
static void sess_verify(const struct sess_run *r, struct spool *sp, int in_window)
{
	struct spool_msg *m = NULL;
	char err[256], buf[512];
	size_t i, k = 0;
	ssize_t n;
	int e;

	e = spool_msg_open(sp, r->id, 1, &m, err, sizeof(err));
	if (in_window && e == -ENOMEM)
		return;		/* a clean failure: checked again outside */
	if (e < 0)
		fail_msg("N=%lu: committed message %s does not reopen: %s (%d)", r->n,
		    r->id, err, e);
	assert_string_equal(m->env->sender, "alice@example.net");
	for (i = 0; i < 3; i++)
		if (r->rcpt_ok[i]) {
			if (k >= m->env->n_rcpt)
				fail_msg("N=%lu: recipient %zu missing", r->n, i);
			k++;
		}
	assert_int_equal(m->env->n_rcpt, k);
	assert_true(m->env->body_8bit);
	n = pread(m->fd, buf, sizeof(buf), (off_t)m->data_off);
	assert_true(n > 0);
	/* the Received: header, then the data */
	assert_true(strncmp(buf, "Received: ", 10) == 0);
	assert_true((size_t)n >= sizeof(body) - 1);
	assert_memory_equal(buf + n - (sizeof(body) - 1), body, sizeof(body) - 1);
	spool_msg_close(m);
}

static unsigned long sweep_session(const struct config *cfg, struct spool *sp)
{
	unsigned long n;

	for (n = sweep_from; n < SWEEP_MAX; n++) {
		struct sess_run r;
		unsigned removed;
		int q;

		memset(&r, 0, sizeof(r));
		r.n = n;
		alloc_fail_at(n, sweep_sticky);
		sess_run(&r, cfg, sp);
		if (r.committed)
			sess_verify(&r, sp, 1);
		alloc_fail_off();
		leak_check("session", n);
		if (dir_count("tmp", NULL) != 0)
			fail_msg("N=%lu: file left in tmp/", n);
		q = dir_count("queue", NULL);
		if (r.accepted && q != 1)
			fail_msg("N=%lu: acknowledged but %d file(s) in queue/", n, q);
		/* not acknowledged: a commit that happened before the failure
		 * is a duplicate, never a loss; anything else is absent */
		if (!r.accepted && !r.committed && q != 0)
			fail_msg("N=%lu: refused but %d file(s) in queue/", n, q);
		if (r.committed)
			sess_verify(&r, sp, 0);
		assert_int_equal(spool_recover(sp, &removed), 0);
		assert_int_equal(removed, 0);
		queue_clear();
		if (verbose)
			fprintf(stderr, "session N=%lu count=%lu accepted=%d closed=%d\n", n,
			    alloc_fail_count(), r.accepted, r.closed);
		if (alloc_fail_count() < n) {
			if (!r.accepted)
				fail_msg("%s", "the run without a failure did not accept the message");
			return n - 1;
		}
	}
	fail_msg("%s", "session: no end");
	return 0;
}

/* ------------------------------------------------------------ spool */

/* queue_message - commit a message as the SMTP server would (outside
 * the window) */
static void queue_message(struct spool *sp, char *id)
{
	struct spool_env *env = spool_env_new();
	struct spool_writer *w;
	struct spool_rcpt *rc;
	char *text;
	size_t len;
	unsigned fsyncs;
	/* team@mx.test is an alias: one target delivered, one deferred */
	static const char *const rcpt[4] = { "ok@example.org", "bad@example.org",
		"later@example.org", "team@mx.test" };
	int i;

	assert_non_null(env);
	env->arrival = (long long)time(NULL);
	assert_int_equal(spool_env_set(&env->sender, "alice@example.net"), 0);
	assert_int_equal(spool_env_set(&env->protocol, "esmtp"), 0);
	assert_int_equal(spool_env_set(&env->helo, "client.test"), 0);
	assert_int_equal(spool_env_set(&env->host_addr, "192.0.2.9"), 0);
	for (i = 0; i < 4; i++) {
		assert_non_null(rc = spool_env_add_rcpt(env, rcpt[i]));
		assert_int_equal(spool_env_set(&rc->orcpt, "rfc822;x@example.org"), 0);
	}
	text = spool_env_format(env, &len);
	assert_non_null(text);
	assert_int_equal(spool_writer_new(sp, env->arrival, &w), 0);
	assert_int_equal(spool_writer_write(w, text, len), 0);
	assert_int_equal(spool_writer_write(w, body, sizeof(body) - 1), 0);
	assert_int_equal(spool_writer_commit(w, &fsyncs), 0);
	memcpy(id, spool_writer_id(w), SPOOL_ID_LEN + 1);
	spool_writer_free(w);
	free(text);
	spool_env_free(env);
}

/* spool_steps - open, record two outcomes, reopen and fold, list,
 * recover; returns how far it got (4: all) */
static int spool_steps(struct spool *sp, const char *id, unsigned long n)
{
	struct spool_msg *m = NULL;
	char err[256], line[256], **ids = NULL;
	size_t nids = 0;
	unsigned removed;
	int e, k;

	e = spool_msg_open(sp, id, 1, &m, err, sizeof(err));
	if (e == -ENOMEM)
		return 0;
	if (e < 0)
		fail_msg("N=%lu: open: %s (%d)", n, err, e);
	k = spool_state_line(line, sizeof(line), 100, SPOOL_ST_OK, 0, 0, "250 2.0.0 ok");
	assert_true(k > 0);
	e = spool_msg_state_append(m, line, (size_t)k);
	if (e == 0) {
		k = spool_state_line(line, sizeof(line), 101, SPOOL_ST_DEFER, 2, 4000,
		    "451 4.7.1 try later");
		e = spool_msg_state_append(m, line, (size_t)k);
	}
	spool_msg_close(m);
	if (e < 0)
		fail_msg("N=%lu: state append: %d", n, e);	/* no allocation there */
	e = spool_msg_open(sp, id, 1, &m, err, sizeof(err));
	if (e == -ENOMEM)
		return 1;
	if (e < 0)
		fail_msg("N=%lu: reopen: %s (%d)", n, err, e);
	/* the fold must be complete: a message opened without its state
	 * would be delivered twice */
	assert_int_equal(m->env->rcpt[0].state, SPOOL_RCPT_DELIVERED);
	assert_int_equal(m->env->rcpt[2].state, SPOOL_RCPT_PENDING);
	assert_int_equal(m->env->rcpt[2].attempts, 1);
	assert_string_equal(m->env->rcpt[2].last_error, "451 4.7.1 try later");
	spool_msg_close(m);
	e = spool_list(sp, &ids, &nids);
	if (e == -ENOMEM)
		return 2;
	if (e < 0)
		fail_msg("N=%lu: list: %d", n, e);
	assert_int_equal(nids, 1);
	assert_string_equal(ids[0], id);
	spool_list_free(ids, nids);
	e = spool_recover(sp, &removed);
	if (e == -ENOMEM)
		return 3;
	if (e < 0)
		fail_msg("N=%lu: recover: %d", n, e);
	assert_int_equal(removed, 0);
	return 4;
}

static unsigned long sweep_spool(struct spool *sp)
{
	unsigned long n;

	for (n = sweep_from; n < SWEEP_MAX; n++) {
		char id[SPOOL_ID_LEN + 1];
		int got;

		queue_message(sp, id);
		alloc_fail_at(n, sweep_sticky);
		got = spool_steps(sp, id, n);
		alloc_fail_off();
		leak_check("spool", n);
		assert_int_equal(dir_count("queue", ".st") <= 1, 1);
		if (dir_count("tmp", NULL) != 0)
			fail_msg("N=%lu: file left in tmp/", n);
		queue_clear();
		if (verbose)
			fprintf(stderr, "spool N=%lu count=%lu got=%d\n", n,
			    alloc_fail_count(), got);
		if (alloc_fail_count() < n) {
			assert_int_equal(got, 4);
			return n - 1;
		}
	}
	fail_msg("%s", "spool: no end");
	return 0;
}

/* ------------------------------------------------------------ delivery */

/* A scripted SMTP server on the test's loop. Its memory is static, so
 * that it makes no allocation of its own in the window. */
#define SRV_CONNS 8

struct srv_conn {
	uv_tcp_t h;
	int used, data, null_sender, closing;
	char in[4096];
	size_t inlen;
	char rbuf[4096];
};

static struct {
	uv_tcp_t lst;
	unsigned port;
	struct srv_conn conns[SRV_CONNS];
	unsigned msgs, bounces, open;
} srv;

static void srv_closed_cb(uv_handle_t *h)
{
	struct srv_conn *c = h->data;

	c->used = 0;
	srv.open--;
}

static void srv_close(struct srv_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->h, srv_closed_cb);
}

static void srv_send(struct srv_conn *c, const char *s)
{
	uv_buf_t b = uv_buf_init((char *)(uintptr_t)s, (unsigned)strlen(s));

	if (uv_try_write((uv_stream_t *)&c->h, &b, 1) != (int)b.len)
		srv_close(c);	/* the peer is gone: fine */
}

/* has - s occurs in l[0..len) */
static int has(const char *l, size_t len, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(l + i, s, n) == 0)
			return 1;
	return 0;
}

static void srv_line(struct srv_conn *c, const char *l, size_t len)
{
	if (c->data) {
		if (len == 1 && l[0] == '.') {
			c->data = 0;
			if (c->null_sender)
				srv.bounces++;
			else
				srv.msgs++;
			srv_send(c, "250 2.0.0 queued\r\n");
		}
		return;
	}
	if (len >= 4 && strncasecmp(l, "EHLO", 4) == 0)
		srv_send(c, "250-sink.test\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
		    "250 SIZE 1000000\r\n");
	else if (len >= 4 && strncasecmp(l, "HELO", 4) == 0)
		srv_send(c, "250 sink.test\r\n");
	else if (len >= 10 && strncasecmp(l, "MAIL FROM:", 10) == 0) {
		c->null_sender = len >= 12 && strncmp(l + 10, "<>", 2) == 0;
		srv_send(c, "250 2.1.0 ok\r\n");
	} else if (len >= 8 && strncasecmp(l, "RCPT TO:", 8) == 0) {
		if (has(l, len, "bad@"))
			srv_send(c, "550 5.1.1 no such user\r\n");
		else if (has(l, len, "<later"))
			srv_send(c, "451 4.7.1 try later\r\n");
		else
			srv_send(c, "250 2.1.5 ok\r\n");
	} else if (len == 4 && strncasecmp(l, "DATA", 4) == 0) {
		c->data = 1;
		srv_send(c, "354 go on\r\n");
	} else if (len == 4 && strncasecmp(l, "RSET", 4) == 0)
		srv_send(c, "250 2.0.0 reset\r\n");
	else if (len == 4 && strncasecmp(l, "NOOP", 4) == 0)
		srv_send(c, "250 2.0.0 ok\r\n");
	else if (len == 4 && strncasecmp(l, "QUIT", 4) == 0) {
		srv_send(c, "221 2.0.0 bye\r\n");
		srv_close(c);
	} else
		srv_send(c, "500 5.5.1 what?\r\n");
}

static void srv_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct srv_conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void srv_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct srv_conn *c = s->data;
	size_t pos = 0, i;

	if (nread < 0) {
		srv_close(c);
		return;
	}
	if (c->inlen + (size_t)nread > sizeof(c->in)) {
		srv_close(c);
		return;
	}
	memcpy(c->in + c->inlen, buf->base, (size_t)nread);
	c->inlen += (size_t)nread;
	for (i = 0; i + 1 < c->inlen; i++)
		if (c->in[i] == '\r' && c->in[i + 1] == '\n') {
			if (!c->closing)
				srv_line(c, c->in + pos, i - pos);
			pos = i + 2;
			i++;
		}
	memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
}

static void srv_conn_cb(uv_stream_t *l, int status)
{
	struct srv_conn *c = NULL;
	size_t i;

	assert_int_equal(status, 0);
	for (i = 0; i < SRV_CONNS; i++)
		if (!srv.conns[i].used) {
			c = &srv.conns[i];
			break;
		}
	assert_non_null(c);
	memset(c, 0, sizeof(*c));
	c->used = 1;
	srv.open++;
	uv_tcp_init(l->loop, &c->h);
	c->h.data = c;
	assert_int_equal(uv_accept(l, (uv_stream_t *)&c->h), 0);
	srv_send(c, "220 sink.test ESMTP\r\n");
	uv_read_start((uv_stream_t *)&c->h, srv_alloc_cb, srv_read_cb);
}

static void srv_start(uv_loop_t *loop)
{
	struct sockaddr_in a;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &a), 0);
	assert_int_equal(uv_tcp_init(loop, &srv.lst), 0);
	assert_int_equal(uv_tcp_bind(&srv.lst, (const struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&srv.lst, 16, srv_conn_cb), 0);
	assert_int_equal(uv_tcp_getsockname(&srv.lst, (struct sockaddr *)&ss, &len), 0);
	srv.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

struct dl_run {
	int idle, done, timed_out;
};

static uv_timer_t guard;	/* a delivery run may not hang */
static int guard_init;

static void dl_idle_cb(void *arg)
{
	((struct dl_run *)arg)->idle = 1;
}

static void dl_done_cb(void *arg)
{
	((struct dl_run *)arg)->done = 1;
}

static void dl_timer_cb(uv_timer_t *t)
{
	((struct dl_run *)t->data)->timed_out = 1;
}

/* dl_check - what the engine left: nothing lost */
static void dl_check(struct spool *sp, const char *id, unsigned long n,
    int *delivered)
{
	struct spool_msg *m = NULL;
	char err[256], **ids = NULL;
	size_t nids = 0, i;
	unsigned queued_bounces = 0;
	int e;

	e = spool_msg_open(sp, id, 0, &m, err, sizeof(err));
	if (e < 0)
		fail_msg("N=%lu: the message is gone (%s): the deferred recipient is lost",
		    n, err);
	/* ok: delivered, or not recorded (tried again: a duplicate) */
	if (m->env->rcpt[0].state == SPOOL_RCPT_FAILED)
		fail_msg("N=%lu: accepted recipient failed: %s", n,
		    m->env->rcpt[0].last_error ? m->env->rcpt[0].last_error : "");
	*delivered = m->env->rcpt[0].state == SPOOL_RCPT_DELIVERED;
	if (m->env->rcpt[2].state != SPOOL_RCPT_PENDING)
		fail_msg("N=%lu: deferred recipient not pending", n);
	/* the alias: pending for its deferred target; the delivered one
	 * recorded as done, or not at all (sent again: a duplicate) */
	if (m->env->rcpt[3].state != SPOOL_RCPT_PENDING || m->env->rcpt[3].n_done > 1 ||
	    (m->env->rcpt[3].n_done == 1 &&
	    strcmp(m->env->rcpt[3].done[0], "ok2@example.org") != 0))
		fail_msg("N=%lu: alias recipient: state %d, %zu done", n,
		    (int)m->env->rcpt[3].state, m->env->rcpt[3].n_done);
	*delivered = *delivered && m->env->rcpt[3].n_done == 1;
	/* the refused recipient: failed only with its report made */
	assert_int_equal(spool_list(sp, &ids, &nids), 0);
	for (i = 0; i < nids; i++) {
		struct spool_msg *b = NULL;

		if (strcmp(ids[i], id) == 0)
			continue;
		assert_int_equal(spool_msg_open(sp, ids[i], 0, &b, err, sizeof(err)), 0);
		assert_string_equal(b->env->sender, "");
		queued_bounces++;
		spool_msg_close(b);
	}
	spool_list_free(ids, nids);
	if (m->env->rcpt[1].state == SPOOL_RCPT_FAILED && IS_ENABLED(CONFIG_BOUNCE)) {
		if (!m->bounced || queued_bounces + srv.bounces != 1)
			fail_msg("N=%lu: recipient failed, report %s, %u queued, %u delivered",
			    n, m->bounced ? "recorded" : "not recorded", queued_bounces,
			    srv.bounces);
	} else if (queued_bounces + srv.bounces > 0 && !m->bounced) {
		/* a report and the recipient still pending: a second report
		 * would follow; tolerated (a duplicate), but say so */
		if (verbose)
			fprintf(stderr, "N=%lu: report made, failure not recorded\n", n);
	}
	if (srv.msgs > 2)
		fail_msg("N=%lu: %u deliveries of one message", n, srv.msgs);
	spool_msg_close(m);
}

static unsigned long sweep_delivery(uv_loop_t *loop, struct config *cfg,
    struct spool *sp)
{
	unsigned long n;

	if (!guard_init) {
		assert_int_equal(uv_timer_init(loop, &guard), 0);
		uv_unref((uv_handle_t *)&guard);
		guard_init = 1;
	}
	for (n = sweep_from; n < SWEEP_MAX; n++) {
		char id[SPOOL_ID_LEN + 1];
		struct deliver *d = NULL;
		struct dl_run r;
		int e, delivered = 0;

		memset(&r, 0, sizeof(r));
		srv.msgs = srv.bounces = 0;
		queue_message(sp, id);
		guard.data = &r;
		uv_timer_start(&guard, dl_timer_cb, 20000, 0);
		alloc_fail_at(n, sweep_sticky);
		e = deliver_new(loop, cfg, sp, &d);
		if (e == 0) {
			deliver_on_idle(d, dl_idle_cb, &r);
			deliver_message(d, id);
			while (!r.idle && !r.timed_out)
				uv_run(loop, UV_RUN_ONCE);
			deliver_stop(d, dl_done_cb, &r);
			while (!r.done && !r.timed_out)
				uv_run(loop, UV_RUN_ONCE);
		} else {
			assert_int_equal(e, -ENOMEM);
		}
		/* let the server see the connections close */
		while (srv.open && !r.timed_out)
			uv_run(loop, UV_RUN_ONCE);
		alloc_fail_off();
		uv_timer_stop(&guard);
		if (r.timed_out)
			fail_msg("N=%lu: the delivery engine hangs (idle %d, done %d, "
			    "server connections %u)", n, r.idle, r.done, srv.open);
		leak_check("delivery", n);
		if (dir_count("tmp", NULL) != 0)
			fail_msg("N=%lu: file left in tmp/", n);
		dl_check(sp, id, n, &delivered);
		queue_clear();
		if (verbose)
			fprintf(stderr, "delivery N=%lu count=%lu delivered=%d msgs=%u bounces=%u\n",
			    n, alloc_fail_count(), delivered, srv.msgs, srv.bounces);
		if (alloc_fail_count() < n) {
			if (!delivered || srv.msgs != 1 ||
			    srv.bounces != (IS_ENABLED(CONFIG_BOUNCE) ? 1u : 0u))
				fail_msg("the run without a failure: delivered %d, %u "
				    "message(s), %u report(s)", delivered, srv.msgs, srv.bounces);
			return n - 1;
		}
	}
	fail_msg("%s", "delivery: no end");
	return 0;
}

/* ------------------------------------------------------------ server */

/* The real listener (smtp_server.c) on the loop, and a client in this
 * process sending the same transaction as the session sweep over TCP. */
enum { CL_BANNER, CL_EHLO, CL_MAIL, CL_RCPT, CL_DATA, CL_DOT, CL_QUIT, CL_DONE };

static struct {
	uv_tcp_t h;
	uv_connect_t conn;
	int step, rcpt_i, rcpt_ok, accepted, closed, open;
	char in[8192];
	size_t inlen;
	char rbuf[4096];
	char id[SPOOL_ID_LEN + 1];
	unsigned long n;
	int committed;		/* on_msg called */
} cl;

static void cl_closed_cb(uv_handle_t *h)
{
	(void)h;
	cl.open = 0;
}

static void cl_close(void)
{
	if (cl.closed)
		return;
	cl.closed = 1;
	cl.step = CL_DONE;
	uv_close((uv_handle_t *)&cl.h, cl_closed_cb);
}

static void cl_send(const char *text)
{
	uv_buf_t b = uv_buf_init((char *)(uintptr_t)text, (unsigned)strlen(text));

	if (uv_try_write((uv_stream_t *)&cl.h, &b, 1) != (int)b.len)
		cl_close();	/* the server is gone */
}

static void cl_next_rcpt(void)
{
	static const char *const rcpt[3] = { "ok@example.org", "bad@example.org",
		"later@example.org" };
	static char line[160];

	snprintf(line, sizeof(line), "RCPT TO:<%s> NOTIFY=FAILURE\r\n", rcpt[cl.rcpt_i]);
	cl_send(line);
}

/* cl_reply - one complete reply: check it, send what comes next */
static void cl_reply(const char *r, size_t len)
{
	int code = atoi(r), ok;
	static const int want[] = { 220, 250, 250, 250, 354, 250, 221 };

	if (cl.step >= CL_DONE)
		return;
	ok = code == want[cl.step];
	if (!ok && code / 100 != 4)
		fail_msg("N=%lu: step %d: '%.*s', wanted %d or 4yz", cl.n, cl.step,
		    (int)len, r, want[cl.step]);
	switch (cl.step) {
	case CL_BANNER:
		cl.step = ok ? CL_EHLO : CL_QUIT;
		cl_send(ok ? "EHLO client.test\r\n" : "QUIT\r\n");
		break;
	case CL_EHLO:
		cl.step = ok ? CL_MAIL : CL_QUIT;
		cl_send(ok ? "MAIL FROM:<alice@example.net> SIZE=200\r\n" : "QUIT\r\n");
		break;
	case CL_MAIL:
		if (!ok) {
			cl.step = CL_QUIT;
			cl_send("QUIT\r\n");
			break;
		}
		cl.step = CL_RCPT;
		cl.rcpt_i = 0;
		cl_next_rcpt();
		break;
	case CL_RCPT:
		cl.rcpt_ok += ok;
		if (++cl.rcpt_i < 3) {
			cl_next_rcpt();
			break;
		}
		cl.step = cl.rcpt_ok ? CL_DATA : CL_QUIT;
		cl_send(cl.rcpt_ok ? "DATA\r\n" : "QUIT\r\n");
		break;
	case CL_DATA:
		if (!ok) {
			cl.step = CL_QUIT;
			cl_send("QUIT\r\n");
			break;
		}
		cl.step = CL_DOT;
		cl_send(body);
		if (!cl.closed)
			cl_send(".\r\n");
		break;
	case CL_DOT:
		cl.accepted = ok;
		if (ok) {
			const char *p = strstr(r, "id=");

			if (p && (size_t)(p - r) + 3 + SPOOL_ID_LEN <= len) {
				memcpy(cl.id, p + 3, SPOOL_ID_LEN);
				cl.id[SPOOL_ID_LEN] = '\0';
			}
		}
		cl.step = CL_QUIT;
		cl_send("QUIT\r\n");
		break;
	case CL_QUIT:
		cl_close();
		break;
	default:
		break;
	}
}

static void cl_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(cl.rbuf, sizeof(cl.rbuf));
}

static void cl_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	size_t pos = 0, i;

	(void)s;
	if (nread < 0) {
		cl_close();	/* the server dropped us: a temporary failure */
		return;
	}
	if (cl.inlen + (size_t)nread > sizeof(cl.in))
		fail_msg("N=%lu: reply too long", cl.n);
	memcpy(cl.in + cl.inlen, buf->base, (size_t)nread);
	cl.inlen += (size_t)nread;
	/* a reply ends with a line "ddd text" (not "ddd-text") */
	for (i = 0; i + 1 < cl.inlen && !cl.closed; i++) {
		if (cl.in[i] != '\r' || cl.in[i + 1] != '\n')
			continue;
		{
			size_t ls = i;

			while (ls > pos && cl.in[ls - 1] != '\n')
				ls--;
			if (i - ls >= 4 && cl.in[ls + 3] == '-')
				continue;	/* a continuation line */
			cl_reply(cl.in + pos, i + 2 - pos);
			pos = i + 2;
			i++;
		}
	}
	memmove(cl.in, cl.in + pos, cl.inlen - pos);
	cl.inlen -= pos;
}

static void cl_connect_cb(uv_connect_t *req, int status)
{
	(void)req;
	if (status < 0) {
		cl_close();	/* refused: the listener is not there */
		return;
	}
	uv_read_start((uv_stream_t *)&cl.h, cl_alloc_cb, cl_read_cb);
}

static void sv_on_msg(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	cl.committed++;
}

static void sv_done_cb(void *arg)
{
	*(int *)arg = 1;
}

static unsigned sv_port;

static unsigned long sweep_server(uv_loop_t *loop, struct config *cfg, struct spool *sp)
{
	unsigned long n;

	if (!guard_init) {
		assert_int_equal(uv_timer_init(loop, &guard), 0);
		uv_unref((uv_handle_t *)&guard);
		guard_init = 1;
	}
	for (n = sweep_from; n < SWEEP_MAX; n++) {
		struct smtp_server *sv = NULL;
		struct dl_run r;
		struct sockaddr_in a;
		char err[256];
		int e, done = 0, q;

		memset(&r, 0, sizeof(r));
		memset(&cl, 0, sizeof(cl));
		cl.n = n;
		guard.data = &r;
		uv_timer_start(&guard, dl_timer_cb, 20000, 0);
		alloc_fail_at(n, sweep_sticky);
		e = smtp_server_start(loop, cfg, sp, sv_on_msg, NULL, &sv, err, sizeof(err));
		if (e == 0) {
			assert_int_equal(uv_ip4_addr("127.0.0.1", (int)sv_port, &a), 0);
			assert_int_equal(uv_tcp_init(loop, &cl.h), 0);
			cl.open = 1;
			assert_int_equal(uv_tcp_connect(&cl.conn, &cl.h,
			    (const struct sockaddr *)&a, cl_connect_cb), 0);
			while (!cl.closed && !r.timed_out)
				uv_run(loop, UV_RUN_ONCE);
			smtp_server_stop(sv, sv_done_cb, &done);
			while ((!done || cl.open) && !r.timed_out)
				uv_run(loop, UV_RUN_ONCE);
		} else if (e != -ENOMEM) {
			fail_msg("N=%lu: smtp_server_start: %s (%d)", n, err, e);
		} else {
			/* the listeners opened close on the loop */
			uv_run(loop, UV_RUN_NOWAIT);
			uv_run(loop, UV_RUN_NOWAIT);
		}
		alloc_fail_off();
		uv_timer_stop(&guard);
		if (r.timed_out)
			fail_msg("N=%lu: the SMTP server hangs (client step %d, closed %d, "
			    "stopped %d)", n, cl.step, cl.closed, done);
		leak_check("server", n);
		if (dir_count("tmp", NULL) != 0)
			fail_msg("N=%lu: file left in tmp/", n);
		q = dir_count("queue", NULL);
		if (cl.accepted) {
			struct spool_msg *m = NULL;

			if (q != 1 || !cl.committed)
				fail_msg("N=%lu: acknowledged but %d file(s) in queue/", n, q);
			/* with the recipients accepted (a 4yz one is the
			 * client's to send again) and the data */
			if (spool_msg_open(sp, cl.id, 0, &m, err, sizeof(err)) < 0)
				fail_msg("N=%lu: %s does not reopen: %s", n, cl.id, err);
			assert_int_equal(m->env->n_rcpt, (size_t)cl.rcpt_ok);
			assert_true(m->data_size > (long long)sizeof(body) - 1);
			spool_msg_close(m);
		} else if (q != (int)cl.committed) {
			fail_msg("N=%lu: refused, %d file(s) in queue/, %d committed", n, q,
			    cl.committed);
		}
		queue_clear();
		if (verbose)
			fprintf(stderr, "server N=%lu count=%lu accepted=%d committed=%d\n",
			    n, alloc_fail_count(), cl.accepted, cl.committed);
		if (alloc_fail_count() < n) {
			if (!cl.accepted)
				fail_msg("%s", "the run without a failure did not accept the message");
			return n - 1;
		}
	}
	fail_msg("%s", "server: no end");
	return 0;
}

/* ------------------------------------------------------------ the test */

static void test_oom_sweep(void **state)
{
	uv_loop_t loop;
	struct config *cfg;
	struct spool *sp;
	char err[256];
	unsigned long ns, nsp, nd, nsv;
	const char *only;

	(void)state;
	verbose = getenv("TEST_OOM_VERBOSE") != NULL;
	assert_int_equal(log_open(verbose ? "stderr" : "none"), 0);
	tmpdir_make();
	assert_int_equal(uv_loop_init(&loop), 0);
	srv_start(&loop);
	{
		/* a free port for the listener */
		uv_tcp_t t;
		struct sockaddr_in a;
		struct sockaddr_storage ss;
		int len = sizeof(ss);

		assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &a), 0);
		assert_int_equal(uv_tcp_init(&loop, &t), 0);
		assert_int_equal(uv_tcp_bind(&t, (const struct sockaddr *)&a, 0), 0);
		assert_int_equal(uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len), 0);
		sv_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		uv_close((uv_handle_t *)&t, NULL);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	cfg = cfg_load(srv.port, sv_port);
	assert_int_equal(spool_open(spool_dir_buf, 1, &sp, err, sizeof(err)), 0);

	/* TEST_OOM_SWEEP=NAME runs one sweep only */
	only = getenv("TEST_OOM_SWEEP");
	if (getenv("TEST_OOM_FROM"))
		sweep_from = strtoul(getenv("TEST_OOM_FROM"), NULL, 10);
	if (sweep_from < 1)
		sweep_from = 1;
	/* first the Nth allocation alone fails, then (sticky) every one
	 * from the Nth on, as when memory stays short */
	for (sweep_sticky = 0; sweep_sticky < 2; sweep_sticky++) {
		ns = !only || strcmp(only, "session") == 0 ? sweep_session(cfg, sp) : 0;
		nsp = !only || strcmp(only, "spool") == 0 ? sweep_spool(sp) : 0;
		nd = !only || strcmp(only, "delivery") == 0 ?
		    sweep_delivery(&loop, cfg, sp) : 0;
		nsv = IS_ENABLED(CONFIG_SMTP_SERVER) &&
		    (!only || strcmp(only, "server") == 0) ?
		    sweep_server(&loop, cfg, sp) : 0;
		printf("oom: session %lu allocation points, spool %lu, delivery %lu, "
		    "server %lu; all clean%s\n", ns, nsp, nd, nsv,
		    sweep_sticky ? " (failing from N on)" : "");
		assert_true(only || (ns > 0 && nsp > 0 && nd > 0 &&
		    (nsv > 0 || !IS_ENABLED(CONFIG_SMTP_SERVER))));
	}

	spool_close(sp);
	config_release(cfg);
	uv_close((uv_handle_t *)&srv.lst, NULL);
	if (guard_init)
		uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	tmpdir_remove();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oom_sweep),
	};

	return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
