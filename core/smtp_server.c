/*
 * smtp_server.c - the SMTP listener on libuv (smtp_server.h).
 *
 * The only code of the receiving side that reads, writes or closes
 * sockets. Per connection: bytes are read into c->in; in command mode
 * smtp_line_find cuts lines for the session (smtp_session.c), whose
 * replies are flushed in one write once the input holds no further
 * complete line (PIPELINING, RFC 2920); in data mode smtp_data_feed
 * decodes into c->dbuf, which goes to the spool file in chunks.
 *
 * Disk work runs in libuv's thread pool, one job at a time per
 * connection: OPEN (create tmp/ID, write envelope and Received:), WRITE (a
 * chunk), COMMIT (the rest, fdatasync, rename). Then the connection joins
 * the server's group commit: one fsync of queue/ covers every connection
 * whose rename finished before it started; 250 follows. While a job runs,
 * decoding continues into the second buffer; when both are full, reading
 * stops (back pressure) and resumes when the job ends.
 *
 * Time limits: smtp_receive_timeout is a deadline for each line
 * (command or data line), restarted only when a line has ended, so a
 * client that trickles bytes without ending a line (slowloris) is cut off
 * as an idle one is; a client that does not read the 421 that follows is
 * dropped one more timeout later. In DATA, smtp_min_data_rate also holds:
 * the message must come at that average rate after one timeout of grace
 * (time that reading was stopped for the disk does not count), so that
 * one line per timeout cannot hold a slot for hours; trusted clients
 * (relay_from_hosts, the local socket) are exempt, as a local script may
 * write its report as slowly as it computes it. Sessions are also
 * kept under the open files limit (srv_fd_cap, computed at start and on
 * reload), so that a client over it gets a 421 rather than libuv's silent
 * close at EMFILE.
 *
 * Ownership: the server owns its listeners and the list of connections;
 * a connection owns its handles, buffers, session and spool writer, and is
 * freed in the close callback of its last handle, never while a job or a
 * directory sync refers to it.
 */
#include "core/smtp_server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/counters.h"
#include "core/log.h"
#include "core/mailhdr.h"
#include "core/smtp_data.h"
#include "core/smtp_parse.h"
#include "core/smtp_session.h"
#include "core/spool.h"
#include "ports/port.h"
#include "tls/tls.h"
#include "core/hostlist.h"

#define SMTP_IN_MAX (16 * 1024)		/* input buffered at most (per session) */
#define SMTP_DBUF_MAX (64 * 1024)	/* decoded data per buffer */
#define SMTP_DATA_CHUNK (32 * 1024)	/* write when this much is decoded */
#define SMTP_OUT_PENDING_MAX (64 * 1024)
#define SMTP_HDR_CAPTURE 8192		/* data kept to find Message-ID */

#define SMTP_TLS_READ 4096	/* ciphertext read at least at a time */
#define SRV_TRIM_AFTER 16	/* sessions at once that make the heap worth trimming */

enum smtp_job { JOB_NONE, JOB_OPEN, JOB_WRITE, JOB_COMMIT, JOB_DISCARD };

/* the STARTTLS certificate: shared by the sessions that use it, so that
 * a reload can load a new one while they finish */
struct srv_tls {
	struct tls_conf *conf;
	unsigned refs;
};

struct smtp_conn;

struct smtp_server {
	uv_loop_t *loop;
	struct config *cfg;
	struct spool *sp;
	uv_tcp_t *lst;
	size_t n_lst;
	uv_pipe_t local;		/* local_socket listener */
	int has_local;
	size_t n_lst_open;
	struct smtp_conn *conns;
	unsigned n_conns;
	unsigned peak_conns;	/* most sessions at once since the last trim */
	int stopping;
	void (*done)(void *);
	void *done_arg;
	smtp_server_msg_cb on_msg;
	void *on_msg_arg;
	/* group commit of queue/ */
	struct smtp_conn *sync_wait, *sync_run;
	int syncing, sync_err;
	uv_work_t sync_work;
	struct srv_tls *tls;		/* NULL: no STARTTLS */
	int space_low;			/* below spool_min_free (logged) */
	unsigned fd_cap;		/* sessions the open files limit allows; 0: no cap */
	long fd_base;			/* descriptors open at start; -1: not counted yet */
	time_t accept_err_at;		/* accept errors: logged once a minute */
	unsigned accept_errs;
	/* a client accepted and closed at once when there is no memory for
	 * its connection: an unaccepted one would stall the listener */
	union {
		uv_handle_t h;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} drop;
	int drop_busy;
};

struct smtp_conn {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;		/* local_socket */
	} h;
	uv_timer_t timer;
	int handles;
	struct smtp_server *srv;
	struct config *cfg;
	struct smtp_conn *next, *prev;
	struct smtp_sess sess;
	char peer[64];
	unsigned port;
	char in[SMTP_IN_MAX];
	size_t inlen;
	int in_process, process_again;	/* conn_process is not reentered */
	int reading, closing, close_after_flush;
	size_t out_pending;
	/* data phase */
	struct smtp_data dec;
	struct spool_writer *w;
	char *head;
	size_t headlen;
	char *dbuf, *jbuf;
	size_t dlen, jlen;
	long long dsize;
	uint64_t data_t0;		/* uv_now() at DATA */
	uint64_t data_raw;		/* bytes of DATA read so far */
	uint64_t data_rate;		/* smtp_min_data_rate; 0: none (trusted client) */
	uint64_t held_ms, held_since;	/* time reading was stopped by us */
	uint64_t line_due;		/* uv_now() by which the line must end */
	enum smtp_data_result dr;
	int data_end;
	enum smtp_job job;
	int job_err;
	unsigned job_fsyncs;
	uv_work_t work;
	int in_sync;			/* waiting for the queue/ fsync */
	struct smtp_conn *sync_next;
	char hdr[SMTP_HDR_CAPTURE];
	size_t hdrlen;
	/* STARTTLS */
	struct srv_tls *tls_ref;
	struct tls_session *tls;
	int tls_start, tls_up;
	char tls_desc[96];
};

struct smtp_wreq {
	uv_write_t req;
	struct smtp_conn *c;
	size_t len;
	char data[];
};

static void conn_process(struct smtp_conn *c);
static void conn_close(struct smtp_conn *c);
static void conn_tls_send(struct smtp_conn *c);
static int conn_tls_pull(struct smtp_conn *c);
static void conn_data_reset(struct smtp_conn *c);
static void conn_data_pump(struct smtp_conn *c);
static void conn_timer_cb(uv_timer_t *t);

/* conn_data_budget - milliseconds the DATA phase has left under
 * smtp_min_data_rate: one smtp_receive_timeout of grace plus the time the
 * bytes read so far are worth, less the time taken (not counting the time
 * reading was stopped because the disk was behind). INT64_MAX: no limit
 * (not in DATA, the message is complete, or no minimum). */
static int64_t conn_data_budget(const struct smtp_conn *c)
{
	uint64_t rate = c->data_rate;
	uint64_t now, took, allowed;

	if (c->sess.state != SMTP_ST_DATA || c->data_end || rate == 0)
		return INT64_MAX;
	now = uv_now(c->srv->loop);
	took = now - c->data_t0 - c->held_ms;
	if (!c->reading && c->held_since)
		took -= now - c->held_since;
	allowed = (uint64_t)c->cfg->main.smtp_receive_timeout * 1000 +
	    c->data_raw / rate * 1000 + c->data_raw % rate * 1000 / rate;
	return (int64_t)allowed - (int64_t)took;
}

/* conn_deadline - the next line must end within smtp_receive_timeout,
 * and in DATA within what smtp_min_data_rate leaves */
static void conn_timer_arm(struct smtp_conn *c, uint64_t ms, int64_t left);

static void conn_deadline(struct smtp_conn *c)
{
	uint64_t ms = (uint64_t)c->cfg->main.smtp_receive_timeout * 1000;
	int64_t left = conn_data_budget(c);

	c->line_due = uv_now(c->srv->loop) + ms;
	conn_timer_arm(c, ms, left);
}

/* conn_timer_arm - fire at ms, or sooner when the DATA budget (left)
 * runs out first */
static void conn_timer_arm(struct smtp_conn *c, uint64_t ms, int64_t left)
{
	if (left < (int64_t)ms)
		ms = left > 0 ? (uint64_t)left : 1;
	if (!c->closing)
		uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

/* ------------------------------------------------------------ TLS */

static void srv_tls_release(struct srv_tls *t)
{
	if (t && --t->refs == 0) {
		tls_conf_free(t->conf);
		free(t);
	}
}

/* srv_tls_load - the certificate of cfg, or NULL (none set, or it does
 * not load: logged, and STARTTLS is not offered) */
static struct srv_tls *srv_tls_load(const struct config *cfg)
{
	struct tls_conf_opts o;
	struct srv_tls *t;
	char err[300];

	if (!IS_ENABLED(CONFIG_TLS_SERVER) || !cfg->main.tls_certificate ||
	    !cfg->main.tls_certificate[0])
		return NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return NULL;
	memset(&o, 0, sizeof(o));
	o.server = 1;
	o.cert_file = cfg->main.tls_certificate;
	o.key_file = cfg->main.tls_privatekey;
	if (tls_conf_new(&o, &t->conf, err, sizeof(err)) < 0) {
		log_err("STARTTLS not offered: %s", err);
		free(t);
		return NULL;
	}
	t->refs = 1;
	return t;
}

/* ------------------------------------------------------------ output */

static void conn_write_cb(uv_write_t *req, int status)
{
	struct smtp_wreq *wr = (struct smtp_wreq *)req;
	struct smtp_conn *c = wr->c;

	c->out_pending -= wr->len;
	free(wr);
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->close_after_flush && c->out_pending == 0) {
		conn_close(c);
		return;
	}
	if (!c->closing && c->out_pending < SMTP_OUT_PENDING_MAX / 2)
		conn_process(c);
}

/* conn_tls_send - send the ciphertext the TLS session has waiting */
/* conn_write_now - no memory for a write request: write buf[0..len) at
 * once, which works when nothing is queued and the socket takes it (a
 * reply usually fits): a 250 lost for want of memory would make the
 * client send the message again. 0, or -1: the connection must close. */
static int conn_write_now(struct smtp_conn *c, char *buf, size_t len)
{
	uv_buf_t b = uv_buf_init(buf, (unsigned)len);

	if (c->out_pending || uv_try_write((uv_stream_t *)&c->h, &b, 1) != (int)len)
		return -1;
	if (c->close_after_flush)
		conn_close(c);
	return 0;
}

static void conn_tls_send(struct smtp_conn *c)
{
	size_t n = tls_session_pending(c->tls);
	struct smtp_wreq *wr;
	uv_buf_t b;

	if (n == 0)
		return;
	if (!(wr = malloc(sizeof(*wr) + n))) {
		char buf[4096];

		if (n > sizeof(buf) ||
		    conn_write_now(c, buf, tls_session_drain(c->tls, buf, n)) < 0)
			conn_close(c);
		return;
	}
	wr->c = c;
	wr->len = tls_session_drain(c->tls, wr->data, n);
	b = uv_buf_init(wr->data, (unsigned)wr->len);
	if (uv_write(&wr->req, (uv_stream_t *)&c->h, &b, 1, conn_write_cb) < 0) {
		free(wr);
		conn_close(c);
		return;
	}
	c->out_pending += wr->len;
}

/* conn_flush - send what the session has written so far */
static void conn_flush(struct smtp_conn *c)
{
	struct smtp_out *o = &c->sess.out;
	struct smtp_wreq *wr;
	uv_buf_t b;

	if (o->oom) {
		log_err("H=[%s]:%u out of memory: closing", c->peer, c->port);
		c->close_after_flush = 1;
	}
	if (o->len == 0 || c->closing) {
		if (c->close_after_flush && c->out_pending == 0)
			conn_close(c);
		return;
	}
	if (c->tls_up) {
		if (tls_session_write(c->tls, o->buf, o->len) < 0) {
			conn_close(c);
			return;
		}
		smtp_out_reset(o);
		conn_tls_send(c);
		return;
	}
	wr = malloc(sizeof(*wr) + o->len);
	if (!wr) {
		if (conn_write_now(c, o->buf, o->len) < 0) {
			conn_close(c);
			return;
		}
		smtp_out_reset(o);
		return;
	}
	wr->c = c;
	wr->len = o->len;
	memcpy(wr->data, o->buf, o->len);
	smtp_out_reset(o);
	b = uv_buf_init(wr->data, (unsigned)wr->len);
	if (uv_write(&wr->req, (uv_stream_t *)&c->h, &b, 1, conn_write_cb) < 0) {
		free(wr);
		conn_close(c);
		return;
	}
	c->out_pending += wr->len;
}

/* ------------------------------------------------------------ close */

/* srv_maybe_done - a stopping server with nothing left is freed */
static void srv_maybe_done(struct smtp_server *srv)
{
	void (*done)(void *) = srv->done;
	void *arg = srv->done_arg;

	if (!srv->stopping || srv->n_conns || srv->n_lst_open || srv->syncing)
		return;
	free(srv->lst);
	srv_tls_release(srv->tls);
	free(srv);
	if (done)
		done(arg);
}

static void conn_free(struct smtp_conn *c)
{
	struct smtp_server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	spool_writer_free(c->w);
	free(c->head);
	free(c->dbuf);
	free(c->jbuf);
	smtp_sess_fini(&c->sess);
	config_release(c->cfg);
	tls_session_free(c->tls);
	srv_tls_release(c->tls_ref);
	free(c);
	/* after a burst, the last session gone: hand the heap back (not
	 * after every session: trimming costs a walk of the heap) */
	if (srv->n_conns == 0 && srv->peak_conns >= SRV_TRIM_AFTER) {
		srv->peak_conns = 0;
		port_heap_release();
	}
	srv_maybe_done(srv);
}

static void conn_handle_closed_cb(uv_handle_t *h)
{
	struct smtp_conn *c = h->data;

	if (--c->handles == 0)
		conn_free(c);
}

static void conn_close(struct smtp_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->reading = 0;
	uv_read_stop((uv_stream_t *)&c->h);
	/* a job or the directory sync still refers to us: they call back */
	if (c->job != JOB_NONE || c->in_sync)
		return;
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
	uv_close((uv_handle_t *)&c->h, conn_handle_closed_cb);
}

/* conn_close_resume - a job ended on a closing connection */
static void conn_close_resume(struct smtp_conn *c)
{
	c->closing = 0;
	conn_close(c);
}

/* ------------------------------------------------------------ data */

static void conn_data_reset(struct smtp_conn *c)
{
	spool_writer_free(c->w);
	c->w = NULL;
	free(c->head);
	c->head = NULL;
	free(c->dbuf);
	free(c->jbuf);
	c->dbuf = c->jbuf = NULL;
	c->dlen = c->jlen = 0;
	c->dsize = 0;
	c->dr = SMTP_DR_OK;
	c->data_end = 0;
	c->hdrlen = 0;
}

static enum smtp_data_result conn_errno_result(int err)
{
	return err == -ENOSPC || err == -EDQUOT ? SMTP_DR_NO_SPACE : SMTP_DR_LOCAL_ERROR;
}

/* conn_message_id - the Message-ID header of the captured head, or "" */
static void conn_message_id(struct smtp_conn *c, char *buf, size_t len)
{
	struct mailhdr_field f;
	size_t pos = 0;
	int r;

	buf[0] = '\0';
	while ((r = mailhdr_next(c->hdr, c->hdrlen, &pos, &f)) == 1) {
		if (mailhdr_is(&f, "Message-ID")) {
			const char *v = f.value;
			size_t n = f.valuelen, i, o = 0;

			for (i = 0; i < n && o + 1 < len; i++)
				if (v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n')
					buf[o++] = v[i];
			buf[o] = '\0';
			return;
		}
	}
}

/* conn_data_finish - the end: reply, log, and back to command mode */
static void conn_data_finish(struct smtp_conn *c, enum smtp_data_result r)
{
	const char *id = c->w ? spool_writer_id(c->w) : "";
	struct spool_env *env = c->sess.env;

	if (r == SMTP_DR_OK) {
		char msgid[256], rcpts[512];
		size_t i, off = 0;

		conn_message_id(c, msgid, sizeof(msgid));
		rcpts[0] = '\0';
		for (i = 0; env && i < env->n_rcpt && off < sizeof(rcpts) - 1; i++) {
			int n = snprintf(rcpts + off, sizeof(rcpts) - off, " %s",
			    env->rcpt[i].addr);

			if (n < 0)
				break;
			off += (size_t)n;
		}
		if (c->sess.local)
			log_info("%s <= %s U=%s P=%s S=%lld%s%s for%s", id,
			    env && env->sender[0] ? env->sender : "<>", c->sess.ident,
			    env && env->protocol ? env->protocol : "local", c->dsize,
			    msgid[0] ? " id=" : "", msgid, rcpts);
		else
			log_info("%s <= %s H=(%s) [%s]:%u P=%s%s%s S=%lld%s%s for%s", id,
			    env && env->sender[0] ? env->sender : "<>",
			    c->sess.helo[0] ? c->sess.helo : "", c->peer, c->port,
			    env && env->protocol ? env->protocol : "esmtp",
			    c->tls_up ? " X=" : "", c->tls_up ? c->tls_desc : "", c->dsize,
			    msgid[0] ? " id=" : "", msgid, rcpts);
		counter_add(CNT_MESSAGE_ACCEPTED, 1);
		if (c->srv->on_msg)
			c->srv->on_msg(c->srv->on_msg_arg, id);
	} else {
		static const char *const why[] = {
			[SMTP_DR_OK] = "", [SMTP_DR_BARE_EOL] = "bare CR or LF in data",
			[SMTP_DR_TOO_BIG] = "message too big",
			[SMTP_DR_NO_SPACE] = "no space in the spool",
			[SMTP_DR_LOCAL_ERROR] = "spool error",
		};

		log_warn("H=(%s) [%s]:%u F=<%s> rejected after DATA: %s%s%s",
		    c->sess.helo, c->peer, c->port, env ? env->sender : "",
		    why[r], c->job_err ? ": " : "",
		    c->job_err ? uv_strerror(c->job_err) : "");
	}
	smtp_sess_data_done(&c->sess, r, id);
	conn_data_reset(c);
	c->job_err = 0;
	if (c->closing) {
		conn_close_resume(c);
		return;
	}
	if (c->srv->stopping) {
		smtp_sess_shutdown(&c->sess);
		c->close_after_flush = 1;
		conn_flush(c);
		return;
	}
	conn_process(c);
}

static void srv_sync_start(struct smtp_server *srv);

static void srv_sync_work(uv_work_t *req)
{
	struct smtp_server *srv = req->data;

	srv->sync_err = spool_dir_sync(srv->sp);
}

static void srv_sync_after(uv_work_t *req, int status)
{
	struct smtp_server *srv = req->data;
	struct smtp_conn *c = srv->sync_run, *next;
	int err = status < 0 ? status : srv->sync_err;

	srv->syncing = 0;
	srv->sync_run = NULL;
	counter_add(CNT_FSYNC, 1);
	for (; c; c = next) {
		next = c->sync_next;
		c->in_sync = 0;
		c->job_err = err;
		if (err < 0)
			log_err("%s: cannot sync the queue directory: %s",
			    spool_writer_id(c->w), uv_strerror(err));
		else
			counter_add(CNT_SPOOL_COMMIT, 1);
		/* the message is in queue/: even if the client is gone, it is
		 * logged and handed to delivery (a duplicate, never a loss) */
		conn_data_finish(c, err < 0 ? SMTP_DR_LOCAL_ERROR : SMTP_DR_OK);
	}
	if (srv->sync_wait)
		srv_sync_start(srv);
	else
		srv_maybe_done(srv);
}

static void srv_sync_start(struct smtp_server *srv)
{
	srv->sync_run = srv->sync_wait;
	srv->sync_wait = NULL;
	srv->syncing = 1;
	srv->sync_work.data = srv;
	if (uv_queue_work(srv->loop, &srv->sync_work, srv_sync_work, srv_sync_after) < 0) {
		/* cannot happen with a valid loop; do it here rather than lose */
		srv->sync_err = spool_dir_sync(srv->sp);
		srv_sync_after(&srv->sync_work, 0);
	}
}

static void conn_job_work(uv_work_t *req)
{
	struct smtp_conn *c = req->data;
	int r = 0;

	c->job_fsyncs = 0;
	switch (c->job) {
	case JOB_OPEN:
		r = spool_writer_create(c->w);
		if (r == 0)
			r = spool_writer_write(c->w, c->head, c->headlen);
		break;
	case JOB_WRITE:
		r = spool_writer_write(c->w, c->jbuf, c->jlen);
		break;
	case JOB_COMMIT:
		if (c->jlen)
			r = spool_writer_write(c->w, c->jbuf, c->jlen);
		if (r == 0) {
			r = spool_writer_sync(c->w);
			c->job_fsyncs = 1;
		}
		if (r == 0)
			r = spool_writer_link(c->w);
		break;
	default:
		break;
	}
	c->job_err = r;
}

static void conn_job_after(uv_work_t *req, int status)
{
	struct smtp_conn *c = req->data;
	enum smtp_job job = c->job;
	int err = status < 0 ? status : c->job_err;

	c->job = JOB_NONE;
	c->jlen = 0;
	counter_add(CNT_FSYNC, c->job_fsyncs);
	if (job == JOB_OPEN && err == -EEXIST) {
		/* the ID belongs to a queued message of an earlier boot */
		spool_writer_renew(c->w, (long long)time(NULL));
		free(c->head);
		c->head = smtp_sess_spool_head(&c->sess, spool_writer_id(c->w),
		    (long long)time(NULL), &c->headlen);
		if (!c->head) {
			c->dr = SMTP_DR_LOCAL_ERROR;
			spool_writer_free(c->w);
			c->w = NULL;
		}
	} else if (err < 0 && c->dr == SMTP_DR_OK) {
		c->dr = conn_errno_result(err);
		c->job_err = err;
	}
	if (job == JOB_OPEN && err < 0 && err != -EEXIST) {
		/* the file was not created: nothing to unlink */
		spool_writer_free(c->w);
		c->w = NULL;
	}
	if (job == JOB_COMMIT && err == 0) {
		struct smtp_server *srv = c->srv;

		c->in_sync = 1;
		c->sync_next = srv->sync_wait;
		srv->sync_wait = c;
		if (!srv->syncing)
			srv_sync_start(srv);
		return;
	}
	if (c->closing && !c->data_end) {
		/* the client left in the middle: drop the message */
		conn_data_reset(c);
		conn_close_resume(c);
		return;
	}
	conn_data_pump(c);
	if (!c->closing)
		conn_process(c);
}

static void conn_job_start(struct smtp_conn *c, enum smtp_job job)
{
	c->job = job;
	c->work.data = c;
	if (job == JOB_WRITE || job == JOB_COMMIT) {
		char *t = c->jbuf;

		c->jbuf = c->dbuf;
		c->jlen = c->dlen;
		c->dbuf = t;
		c->dlen = 0;
	}
	if (uv_queue_work(c->srv->loop, &c->work, conn_job_work, conn_job_after) < 0) {
		c->job = JOB_NONE;
		c->dr = SMTP_DR_LOCAL_ERROR;
	}
}

/* conn_data_pump - start the next disk job if one is due */
static void conn_data_pump(struct smtp_conn *c)
{
	if (c->job != JOB_NONE || c->in_sync || c->sess.state != SMTP_ST_DATA)
		return;
	if (c->dr != SMTP_DR_OK) {
		if (c->data_end)
			conn_data_finish(c, c->dr);
		return;
	}
	if (c->w && spool_writer_fd(c->w) < 0) {
		conn_job_start(c, JOB_OPEN);
		return;
	}
	if (c->data_end)
		conn_job_start(c, JOB_COMMIT);
	else if (c->dlen >= SMTP_DATA_CHUNK)
		conn_job_start(c, JOB_WRITE);
}

/* conn_data_begin - DATA accepted: prepare the spool file */
static void conn_data_begin(struct smtp_conn *c)
{
	long long now = (long long)time(NULL);

	smtp_data_init(&c->dec);
	c->dr = SMTP_DR_OK;
	c->data_t0 = uv_now(c->srv->loop);
	c->data_raw = 0;
	c->data_rate = smtp_sess_trusted(&c->sess) ? 0 :
	    (uint64_t)c->cfg->main.smtp_min_data_rate;
	c->held_ms = 0;
	c->held_since = c->reading ? 0 : c->data_t0;
	c->dbuf = malloc(SMTP_DBUF_MAX);
	c->jbuf = malloc(SMTP_DBUF_MAX);
	if (!c->dbuf || !c->jbuf ||
	    spool_writer_prepare(c->srv->sp, now, &c->w) < 0 ||
	    !(c->head = smtp_sess_spool_head(&c->sess, spool_writer_id(c->w), now,
	    &c->headlen))) {
		c->dr = SMTP_DR_LOCAL_ERROR;
		return;
	}
	/* S= counts the Received: header, as Exim's does */
	{
		const char *rcv = strstr(c->head, "\n\nReceived:");

		c->dsize = rcv ? (long long)(c->headlen - (size_t)(rcv + 2 - c->head)) : 0;
	}
	conn_data_pump(c);
}

/* conn_data_input - decode what input there is; returns bytes consumed */
static size_t conn_data_input(struct smtp_conn *c, const char *in, size_t len)
{
	char scratch[1024];
	char *out;
	size_t room, outlen = 0, used;
	int done = 0;

	if (c->dr == SMTP_DR_OK && c->dbuf) {
		room = SMTP_DBUF_MAX - c->dlen;
		if (room <= 2)
			return 0;	/* both buffers full: wait for the job */
		out = c->dbuf + c->dlen;
	} else if (c->dbuf) {
		/* rejected already: decode only to find the end */
		room = SMTP_DBUF_MAX;
		out = c->dbuf;
	} else {
		room = sizeof(scratch);
		out = scratch;
	}
	if (len > room - 2)
		len = room - 2;
	used = smtp_data_feed(&c->dec, in, len, out, &outlen, &done);
	if (c->dr == SMTP_DR_OK && (c->dec.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)))
		c->dr = SMTP_DR_BARE_EOL;
	if (c->dr == SMTP_DR_OK && c->dbuf) {
		if (c->hdrlen < SMTP_HDR_CAPTURE) {
			size_t n = SMTP_HDR_CAPTURE - c->hdrlen;

			if (n > outlen)
				n = outlen;
			memcpy(c->hdr + c->hdrlen, out, n);
			c->hdrlen += n;
		}
		c->dlen += outlen;
		c->dsize += (long long)outlen;
		if (c->dsize > c->cfg->main.message_size_limit)
			c->dr = SMTP_DR_TOO_BIG;
	}
	if (c->dr != SMTP_DR_OK)
		c->dlen = 0;	/* keep nothing of a rejected message */
	if (done)
		c->data_end = 1;
	return used;
}

/* ------------------------------------------------------------ input */

static void conn_read_update(struct smtp_conn *c);

/* conn_process_input - consume what input can be handled now; returns
 * how many bytes of c->in were used */
static size_t conn_process_input(struct smtp_conn *c)
{
	size_t pos = 0;

	while (!c->closing && !c->close_after_flush && pos < c->inlen) {
		if (c->sess.state == SMTP_ST_DATA) {
			size_t used;

			if (c->data_end)
				break;	/* the commit is under way */
			used = conn_data_input(c, c->in + pos, c->inlen - pos);
			c->data_raw += used;
			pos += used;
			if (used == 0 || c->data_end)
				break;
			continue;
		}
		if (c->out_pending >= SMTP_OUT_PENDING_MAX)
			break;	/* the client does not read its replies */
		{
			size_t used;
			enum smtp_action a = smtp_sess_input(&c->sess, c->in + pos,
			    c->inlen - pos, &used);

			if (used == 0)
				break;
			pos += used;
			if (a == SMTP_A_CLOSE) {
				c->close_after_flush = 1;
			} else if (a == SMTP_A_DATA) {
				/* the data may already be in c->in: return, so
				 * the spool file is prepared first */
				conn_data_begin(c);
			} else if (a == SMTP_A_STARTTLS) {
				/* RFC 3207 4.2 and CVE-2011-0411: whatever the
				 * client sent after STARTTLS in clear text is
				 * thrown away, never read as if encrypted */
				c->tls_start = 1;
				pos = c->inlen;
				break;
			}
		}
	}
	return pos;
}

/* conn_process - handle input, start disk jobs, flush replies, and decide
 * whether to read more. Callbacks that end a job call it again; a call
 * made while it runs only asks the running one for another round. */
static void conn_process(struct smtp_conn *c)
{
	if (c->in_process) {
		c->process_again = 1;
		return;
	}
	c->in_process = 1;
	do {
		size_t used;

		c->process_again = 0;
		if (c->tls_up && conn_tls_pull(c) < 0)
			break;
		used = conn_process_input(c);
		if (used) {
			/* a line ended: a new deadline; bytes alone give none */
			if (memchr(c->in, '\n', used))
				conn_deadline(c);
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
		}
		if (c->sess.state == SMTP_ST_DATA && !c->closing)
			conn_data_pump(c);
	} while (c->process_again && !c->closing);
	c->in_process = 0;
	if (c->closing)
		return;
	conn_flush(c);
	if (c->tls_start && !c->closing) {
		/* the 220 went out in clear text: now the handshake */
		c->tls_start = 0;
		if (tls_session_new(c->tls_ref->conf, NULL, &c->tls) < 0) {
			log_err("H=(%s) [%s]:%u cannot start TLS (out of memory)",
			    c->sess.helo, c->peer, c->port);
			conn_close(c);
			return;
		}
	}
	conn_read_update(c);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct smtp_conn *c = h->data;

	(void)suggested;
	if (c->tls) {
		size_t cap = 0;
		void *p = tls_session_in_space(c->tls, SMTP_TLS_READ, &cap);

		*buf = uv_buf_init(p, p ? (unsigned)cap : 0);
	} else {
		*buf = uv_buf_init(c->in + c->inlen, (unsigned)(SMTP_IN_MAX - c->inlen));
	}
}

/* conn_tls_fail - a TLS problem ends the connection (nothing can be
 * said in clear text any more) */
static void conn_tls_fail(struct smtp_conn *c, const char *what, int err)
{
	char e[128];

	log_info("H=(%s) [%s]:%u TLS error (%s): %s", c->sess.helo, c->peer,
	    c->port, what, err == TLS_EOF ? "the client closed the TLS session" :
	    tls_strerror(err, e, sizeof(e)));
	if (c->sess.state == SMTP_ST_DATA)
		conn_data_reset(c);
	conn_close(c);
}

/* conn_tls_pull - decrypt what fits into c->in; 0, or -1 when the
 * connection is being closed */
static int conn_tls_pull(struct smtp_conn *c)
{
	while (c->inlen < SMTP_IN_MAX) {
		size_t got = 0;
		int r = tls_session_read(c->tls, c->in + c->inlen, SMTP_IN_MAX - c->inlen,
		    &got);

		if (r == TLS_EOF || r < 0) {
			if (r == TLS_EOF && c->sess.state == SMTP_ST_CLOSED) {
				conn_close(c);
				return -1;
			}
			conn_tls_fail(c, "read", r);
			return -1;
		}
		if (got == 0)
			break;
		c->inlen += got;
	}
	conn_tls_send(c);	/* alerts, session tickets */
	return c->closing ? -1 : 0;
}

/* conn_tls_input - ciphertext arrived */
static void conn_tls_input(struct smtp_conn *c, size_t n)
{
	int r;

	tls_session_in_commit(c->tls, n);
	if (c->tls_up) {
		conn_process(c);
		return;
	}
	r = tls_session_handshake(c->tls);
	conn_tls_send(c);
	if (c->closing)
		return;
	if (r < 0) {
		conn_tls_fail(c, "handshake", r);
		return;
	}
	if (r != TLS_DONE)
		return;
	c->tls_up = 1;
	conn_deadline(c);	/* the handshake counts as the STARTTLS line */
	tls_session_describe(c->tls, c->tls_desc, sizeof(c->tls_desc));
	smtp_sess_tls_on(&c->sess);
	conn_process(c);
}

static void conn_timer_cb(uv_timer_t *t)
{
	struct smtp_conn *c = t->data;

	if (c->closing)
		return;
	if (c->job != JOB_NONE || c->in_sync) {
		/* we are the slow one: wait */
		uv_timer_start(&c->timer, conn_timer_cb,
		    (uint64_t)c->cfg->main.smtp_receive_timeout * 1000, 0);
		return;
	}
	if (c->close_after_flush) {
		/* the last reply never left: the client reads nothing */
		log_info("H=(%s) [%s]:%u dropped: the client does not read its replies",
		    c->sess.helo, c->peer, c->port);
		conn_close(c);
		return;
	}
	{
		/* fired for the DATA budget, which time held for the disk
		 * has since extended, and the line's own deadline is ahead */
		uint64_t now = uv_now(c->srv->loop);
		int64_t left = conn_data_budget(c);

		if (left > 0 && now < c->line_due) {
			conn_timer_arm(c, c->line_due - now, left);
			return;
		}
	}
	if (conn_data_budget(c) <= 0)
		log_info("H=(%s) [%s]:%u SMTP data too slow: %llu bytes in %llu s "
		    "(smtp_min_data_rate %llu)", c->sess.helo, c->peer, c->port,
		    (unsigned long long)c->data_raw,
		    (unsigned long long)(uv_now(c->srv->loop) - c->data_t0) / 1000,
		    (unsigned long long)c->data_rate);
	else
		log_info("H=(%s) [%s]:%u SMTP command timeout%s", c->sess.helo,
		    c->peer, c->port, c->sess.state == SMTP_ST_DATA ? " during DATA" : "");
	if (c->sess.state == SMTP_ST_DATA)
		conn_data_reset(c);
	smtp_sess_timeout(&c->sess);
	c->close_after_flush = 1;
	conn_flush(c);
	conn_deadline(c);	/* for the 421 to leave */
}

static void conn_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct smtp_conn *c = s->data;

	(void)buf;
	if (n < 0) {
		if (n != UV_EOF)
			log_info("H=(%s) [%s]:%u connection error: %s", c->sess.helo,
			    c->peer, c->port, uv_strerror((int)n));
		else if (c->sess.state != SMTP_ST_CLOSED)
			log_info("H=(%s) [%s]:%u lost connection%s", c->sess.helo,
			    c->peer, c->port,
			    c->sess.state == SMTP_ST_DATA ? " during DATA" : "");
		conn_close(c);
		return;
	}
	if (n == 0)
		return;
	if (c->tls) {
		conn_tls_input(c, (size_t)n);
		return;
	}
	c->inlen += (size_t)n;
	conn_process(c);
}

/* conn_read_update - read when there is room and nothing holds us back */
static void conn_read_update(struct smtp_conn *c)
{
	int want = !c->closing && !c->close_after_flush &&
	    c->inlen < SMTP_IN_MAX && c->out_pending < SMTP_OUT_PENDING_MAX;

	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->h, conn_alloc_cb, conn_read_cb) == 0) {
			c->reading = 1;
			if (c->held_since)
				c->held_ms += uv_now(c->srv->loop) - c->held_since;
			c->held_since = 0;
		}
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->reading = 0;
		c->held_since = uv_now(c->srv->loop);
	}
}

/* ------------------------------------------------------------ space */

/* conn_space_low - the session's check at MAIL: is the spool's file
 * system below spool_min_free, or would SIZE= take it there? Running low
 * and recovering are logged once each, not per message. */
static int conn_space_low(void *arg, long long size)
{
	struct smtp_conn *c = arg;
	struct smtp_server *srv = c->srv;
	long long min = c->cfg->main.spool_min_free, avail;
	int low;

	if (min <= 0)
		return 0;	/* no check */
	low = spool_space_low(srv->sp, 0, min, &avail);
	if (low < 0)
		return 0;	/* cannot tell: a write that fails says 452 */
	if (low && !srv->space_low)
		log_warn("spool %s: %lld bytes free, below spool_min_free (%lld): "
		    "mail is refused with 452 until there is room",
		    spool_dir(srv->sp), avail, min);
	else if (!low && srv->space_low)
		log_info("spool %s: %lld bytes free again: accepting mail",
		    spool_dir(srv->sp), avail);
	srv->space_low = low;
	if (low)
		return 1;
	if (size > 0 && avail - size < min) {
		log_info("H=(%s) [%s]:%u MAIL refused: SIZE=%lld does not fit in the "
		    "spool (%lld bytes free, spool_min_free %lld)", c->sess.helo,
		    c->peer, c->port, size, avail, min);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ accept */

/* srv_peer_name - numeric address and port; IPv4-mapped shown as IPv4 */
static void srv_peer_name(uv_tcp_t *t, char *addr, size_t len, unsigned *port)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	snprintf(addr, len, "unknown");
	*port = 0;
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		uv_ip4_name(in, addr, len);
		*port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		uv_ip6_name(in6, addr, len);
		*port = ntohs(in6->sin6_port);
		if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr, '.'))
			memmove(addr, addr + 7, strlen(addr + 7) + 1);
	}
}

static void srv_drop_closed_cb(uv_handle_t *h)
{
	struct smtp_server *srv = h->data;

	srv->drop_busy = 0;
	srv->n_lst_open--;
	srv_maybe_done(srv);
}

static void srv_connection_cb(uv_stream_t *l, int status)
{
	struct smtp_server *srv = l->data;
	int local = l == (uv_stream_t *)&srv->local;
	struct smtp_conn *c;
	char ident[64] = "";

	if (status < 0) {
		/* once a minute, not once per client (EMFILE comes in storms;
		 * libuv drops the clients it cannot accept) */
		time_t now = time(NULL);

		srv->accept_errs++;
		if (srv->accept_err_at == 0 || now - srv->accept_err_at >= 60) {
			log_err("accept: %s (%u time%s)", uv_strerror(status),
			    srv->accept_errs, srv->accept_errs == 1 ? "" : "s");
			srv->accept_err_at = now;
			srv->accept_errs = 0;
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* accept and drop it: an unaccepted connection stalls libuv's
		 * listener for good. The server's spare handle needs no
		 * memory; while it is closing, a second one is allocated. */
		uv_tcp_t *t;

		log_err("accept: out of memory: connection dropped");
		if (!srv->drop_busy && (local ? uv_pipe_init(srv->loop, &srv->drop.pipe, 0) :
		    uv_tcp_init(srv->loop, &srv->drop.tcp)) == 0) {
			srv->drop_busy = 1;
			srv->n_lst_open++;	/* srv outlives the handle */
			srv->drop.h.data = srv;
			(void)uv_accept(l, (uv_stream_t *)&srv->drop.h);
			uv_close(&srv->drop.h, srv_drop_closed_cb);
			return;
		}
		t = malloc(sizeof(uv_pipe_t) > sizeof(uv_tcp_t) ?
		    sizeof(uv_pipe_t) : sizeof(uv_tcp_t));
		if (t && (local ? uv_pipe_init(srv->loop, (uv_pipe_t *)t, 0) :
		    uv_tcp_init(srv->loop, t)) == 0) {
			(void)uv_accept(l, (uv_stream_t *)t);
			uv_close((uv_handle_t *)t, (uv_close_cb)free);
		} else {
			free(t);
		}
		return;
	}
	c->srv = srv;
	c->cfg = config_hold(srv->cfg);
	if (local)
		uv_pipe_init(srv->loop, &c->h.pipe, 0);
	else
		uv_tcp_init(srv->loop, &c->h.tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->h.tcp.data = c->timer.data = c;
	c->handles = 2;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	if (srv->n_conns > srv->peak_conns)
		srv->peak_conns = srv->n_conns;
	if (uv_accept(l, (uv_stream_t *)&c->h) < 0) {
		conn_close(c);
		return;
	}
	if (local) {
		uv_os_fd_t fd;
		long uid = -1;

		snprintf(c->peer, sizeof(c->peer), "local");
		if (uv_fileno((uv_handle_t *)&c->h, &fd) == 0)
			uid = port_peer_uid((int)fd);
		port_user_name(uid, ident, sizeof(ident));
	} else {
		uv_tcp_nodelay(&c->h.tcp, 1);
		srv_peer_name(&c->h.tcp, c->peer, sizeof(c->peer), &c->port);
	}
	counter_add(CNT_SMTP_SESSION, 1);
	if (!local && srv->tls && hostlist_match(c->cfg->main.tls_advertise_hosts,
	    NULL, c->peer, c->cfg->main.primary_hostname)) {
		c->tls_ref = srv->tls;
		c->tls_ref->refs++;
	}
	if (smtp_sess_init(&c->sess, c->cfg, local ? "127.0.0.1" : c->peer, c->port,
	    local, c->tls_ref != NULL) < 0) {
		conn_close(c);
		return;
	}
	snprintf(c->sess.ident, sizeof(c->sess.ident), "%s", ident);
	c->sess.space_low = conn_space_low;
	c->sess.space_arg = c;
	if (srv->n_conns > (unsigned)c->cfg->main.smtp_accept_max ||
	    (srv->fd_cap && srv->n_conns > srv->fd_cap)) {
		if (srv->fd_cap && srv->fd_cap < (unsigned)c->cfg->main.smtp_accept_max)
			log_warn("H=[%s]:%u refused: too many connections (%u: the "
			    "open files limit)", c->peer, c->port, srv->fd_cap);
		else
			log_warn("H=[%s]:%u refused: too many connections "
			    "(smtp_accept_max %lld)", c->peer, c->port,
			    c->cfg->main.smtp_accept_max);
		smtp_out_reset(&c->sess.out);
		smtp_out_printf(&c->sess.out, "421 4.3.2 %s Too many connections, try later",
		    c->cfg->main.primary_hostname);
		if (!c->sess.out.oom) {
			/* written and closed at once: the descriptor is free for
			 * the next client of the same burst of accepts */
			uv_buf_t b = uv_buf_init(c->sess.out.buf, (unsigned)c->sess.out.len);

			if (uv_try_write((uv_stream_t *)&c->h, &b, 1) != UV_EAGAIN) {
				smtp_out_reset(&c->sess.out);
				conn_close(c);
				return;
			}
		}
		c->close_after_flush = 1;
		conn_flush(c);
		return;
	}
	conn_deadline(c);
	conn_flush(c);
	conn_read_update(c);
}

/* srv_fd_cap - how many sessions fit under the open files limit, keeping
 * what is open now (log, spool, loop, listeners) and a reserve for
 * deliveries, DNS and the 421 to one more client; logged when that is
 * below smtp_accept_max */
static void srv_fd_cap(struct smtp_server *srv)
{
	long lim = port_fd_limit(), open;
	long room, reserve = 8 + 2 * srv->cfg->main.remote_max_parallel;

	/* the descriptors open at start (log, spool, listeners, loop): on a
	 * reload, sessions and deliveries are open too and must not count */
	if (srv->fd_base < 0)
		srv->fd_base = port_fds_open();
	open = srv->fd_base;
	srv->fd_cap = 0;
	if (lim < 0 || open < 0)
		return;
	room = lim - open - reserve;
	srv->fd_cap = room > 1 ? (room > 1000000 ? 1000000 : (unsigned)room) : 1;
	if (srv->fd_cap < (unsigned)srv->cfg->main.smtp_accept_max)
		log_warn("smtp_accept_max %lld: the open files limit (%ld) leaves "
		    "room for %u SMTP connections", srv->cfg->main.smtp_accept_max,
		    lim, srv->fd_cap);
}

static void srv_listener_closed_cb(uv_handle_t *h)
{
	struct smtp_server *srv = h->data;

	srv->n_lst_open--;
	srv_maybe_done(srv);
}

int smtp_server_start(uv_loop_t *loop, struct config *cfg, struct spool *sp,
    smtp_server_msg_cb on_msg, void *arg, struct smtp_server **out,
    char *err, size_t errlen)
{
	const struct addrlist *al = cfg->main.listen;
	struct smtp_server *srv;
	size_t i;
	int r;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->lst = calloc(al->n ? al->n : 1, sizeof(*srv->lst)))) {
		free(srv);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->loop = loop;
	srv->cfg = config_hold(cfg);
	srv->sp = sp;
	srv->fd_base = -1;
	srv->on_msg = on_msg;
	srv->on_msg_arg = arg;
	srv->tls = srv_tls_load(cfg);
	for (i = 0; i < al->n; i++) {
		const struct addr_item *it = &al->item[i];
		struct sockaddr_storage ss;
		uv_tcp_t *t = &srv->lst[srv->n_lst];

		if (it->is_ip6)
			r = uv_ip6_addr(it->host, (int)it->port, (struct sockaddr_in6 *)&ss);
		else
			r = uv_ip4_addr(it->host, (int)it->port, (struct sockaddr_in *)&ss);
		if (r < 0) {
			snprintf(err, errlen, "listen: '%s' is not an IP address", it->host);
			goto fail;
		}
		uv_tcp_init(loop, t);
		t->data = srv;
		srv->n_lst++;
		srv->n_lst_open++;
		r = uv_tcp_bind(t, (struct sockaddr *)&ss, it->is_ip6 ? UV_TCP_IPV6ONLY : 0);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, 128, srv_connection_cb);
		if (r < 0) {
			snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s",
			    it->is_ip6 ? "[" : "", it->host, it->is_ip6 ? "]" : "",
			    it->port, uv_strerror(r));
			goto fail;
		}
	}
	if (cfg->main.local_socket[0]) {
		const char *path = cfg->main.local_socket;

		if ((r = port_socket_claim(path)) < 0) {
			snprintf(err, errlen, r == -EADDRINUSE ?
			    "local_socket %s: another tern serve is running" :
			    "local_socket %s: %s", path, uv_strerror(r));
			goto fail;
		}
		uv_pipe_init(loop, &srv->local, 0);
		srv->local.data = srv;
		srv->has_local = 1;
		srv->n_lst_open++;
		r = uv_pipe_bind(&srv->local, path);
		if (r == 0)
			r = uv_pipe_chmod(&srv->local, UV_READABLE | UV_WRITABLE);
		if (r == 0)
			r = uv_listen((uv_stream_t *)&srv->local, 64, srv_connection_cb);
		if (r < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(r));
			goto fail;
		}
	}
	srv_fd_cap(srv);
	*out = srv;
	return 0;
fail:
	srv->stopping = 1;
	for (i = 0; i < srv->n_lst; i++)
		uv_close((uv_handle_t *)&srv->lst[i], srv_listener_closed_cb);
	if (srv->has_local)
		uv_close((uv_handle_t *)&srv->local, srv_listener_closed_cb);
	config_release(srv->cfg);
	srv->cfg = NULL;
	/* freed when the last listener has closed (the caller runs the loop) */
	if (srv->n_lst_open == 0)
		srv_maybe_done(srv);
	return r < 0 ? r : -EINVAL;
}

void smtp_server_reload(struct smtp_server *srv, struct config *cfg)
{
	config_release(srv->cfg);
	srv->cfg = config_hold(cfg);
	/* a renewed certificate is used by the next connections; one that
	 * does not load (or that the unprivileged daemon may not read) leaves
	 * the old one in use */
	{
		struct srv_tls *t = srv_tls_load(cfg);

		if (t || !cfg->main.tls_certificate || !cfg->main.tls_certificate[0]) {
			srv_tls_release(srv->tls);
			srv->tls = t;
		} else if (srv->tls) {
			log_warn("STARTTLS goes on with the certificate loaded before");
		}
	}
	srv_fd_cap(srv);	/* smtp_accept_max, remote_max_parallel */
}

unsigned smtp_server_sessions(const struct smtp_server *srv)
{
	return srv->n_conns;
}

void smtp_server_stop(struct smtp_server *srv, void (*done)(void *arg), void *arg)
{
	struct smtp_conn *c, *next;
	size_t i;

	srv->stopping = 1;
	srv->done = done;
	srv->done_arg = arg;
	for (i = 0; i < srv->n_lst; i++)
		uv_close((uv_handle_t *)&srv->lst[i], srv_listener_closed_cb);
	srv->n_lst = 0;
	if (srv->has_local) {
		uv_close((uv_handle_t *)&srv->local, srv_listener_closed_cb);
		srv->has_local = 0;
		(void)unlink(srv->cfg->main.local_socket);
	}
	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (c->in_sync || c->job == JOB_COMMIT)
			continue;	/* finishing a commit: 250, then 421 */
		if (c->job != JOB_NONE) {
			conn_close(c);	/* mid-DATA: not acknowledged, dropped */
			continue;
		}
		if (c->sess.state == SMTP_ST_DATA)
			conn_data_reset(c);
		if (!c->closing && !c->close_after_flush) {
			smtp_sess_shutdown(&c->sess);
			c->close_after_flush = 1;
			conn_flush(c);
		}
	}
	config_release(srv->cfg);
	srv->cfg = NULL;
	srv_maybe_done(srv);
}
