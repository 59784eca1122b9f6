/*
 * deliver.c - the delivery engine on libuv (deliver.h).
 *
 * One attempt of one message (struct dmsg): open it with its lock, route
 * every recipient that is due (aliases, then the router), group the final
 * addresses by router, and run one SMTP delivery per group (struct dgroup)
 * so that all recipients of a message for the same hosts share one
 * transaction. A group tries its hosts in order and each host's addresses
 * in turn: a connection, banner, EHLO or TLS failure moves on to the next;
 * replies to RCPT and DATA are final for this attempt (2xx delivered, 4xx
 * deferred, 5xx failed). When every group is done, the outcomes go to the
 * state file in one append + fdatasync in the thread pool, the log gets
 * Exim's lines (=>, ->, ==, **), failures are bounced once, and a message
 * with nothing left is removed (Completed).
 *
 * Retry times come from retry.c (retry_intervals, jitter, bounce_after).
 * Smarthost names are resolved with uv_getaddrinfo (the system's
 * resolver and /etc/hosts, in the thread pool); MX delivery asks the DNS
 * module (dns_resolver.h) for the MX, AAAA and A records, trying MX hosts
 * in preference order (random among equals) and each host's IPv6, then
 * IPv4 addresses.
 *
 * Ownership: the engine owns the list of attempts; an attempt owns its
 * groups, its message (and lock) and its config reference; a group owns its
 * TCP handle and timer, and the attempt is freed only when every group's
 * handles are closed.
 */
#include "core/deliver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/addrlist.h"
#include "core/bounce.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/mailhdr.h"
#include "core/retry.h"
#include "core/router.h"
#include "core/smtp_client.h"
#include "core/smtp_reply.h"
#include "core/spool.h"
#include "core/hostlist.h"
#include "dns/dns_resolver.h"
#include "events/event.h"
#include "tls/dane.h"
#include "tls/tls.h"

#define DELIVER_READ_CHUNK (32 * 1024)
#define DELIVER_PENDING_MAX 100000

#define DELIVER_ADDRS_MAX 16

struct dmsg;

struct dhost {
	char name[256];
	unsigned port;
	unsigned pref;
};

struct dtarget {
	size_t rcpt;			/* index in the envelope */
	char addr[ROUTER_ADDR_MAX];	/* final address */
	struct router_choice rc;
	int group;			/* -1: decided without SMTP */
	struct smtp_rcpt_result res;
	char host[340];			/* H=... of the delivery */
	char tls[96];			/* X=... (empty without TLS) */
	char cv[8];			/* CV=dane|yes|no with TLS */
	/* for a failure report (dtarget_dsn) */
	char status[16];
	char remote_mta[350];
	char diagnostic[SMTP_CLIENT_TEXT_MAX + 16];
};

/* one SMTP connection; it outlives its group when it is kept for the
 * next message to the same host (the connection cache) */
struct dconn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	struct deliver *d;
	struct dgroup *g;		/* its user; NULL while cached */
	struct dconn *next;		/* in d->idle */
	struct dconn *all_next;		/* in d->conns: every live connection */
	char hkey[RETRY_HOST_KEY_MAX];	/* host[addr]:port */
	uint64_t idle_since;		/* uv_now() when cached */
	int closing;
	char key[RETRY_HOST_KEY_MAX + 320];	/* host, transport and policy */
	struct smtp_client sc;
	struct tls_session *tls;
	int tls_up;			/* handshake done: everything encrypted */
	char tls_desc[96];
	char cv[8];
	char scratch[256];		/* reads while cached */
	/* while cached: for tcp:close when it ends */
	struct config *cfg;		/* held */
	const struct config_transport *tr;
	char host[256], addr[64];
	unsigned port;
};

struct dgroup {
	struct dmsg *dm;
	int index;
	size_t *tix;			/* targets of this group */
	size_t n;
	const char **rcpts;		/* their addresses, for smtp_client */
	unsigned *notify;		/* RFC 3461, passed on */
	const char **orcpt;
	struct smtp_rcpt_result *results;
	/* hosts */
	size_t host_i;
	char host[256];
	unsigned port;
	struct dhost *hosts;		/* in the order to try */
	size_t n_hosts;
	int mx;				/* hosts come from the MX lookup */
	char domain[256];
	struct sockaddr_storage addrs[DELIVER_ADDRS_MAX];
	size_t n_addrs, addr_i;
	uv_getaddrinfo_t gai;
	struct dns_lookup *lookup;
	char addr[64];
	char hkey[RETRY_HOST_KEY_MAX];	/* "host[addr]:port" for retry_hosts */
	/* the current host's TLS policy (dgroup_policy) */
	int addr_insecure;		/* an address answer was not DNSSEC-secure */
	int addr_tempfail;
	char final_name[256];		/* the host name after CNAMEs, or "" */
	int dane;			/* DANE-verified TLS or nothing */
	int tls_required;		/* TLS or nothing (DANE, hosts_require_tls,
					 * unusable secure TLSA records) */
	int tls_avoid;			/* hosts_avoid_tls */
	int pkix_verify, pkix_try, pkix_names;
	int implicit_tls;		/* tls_on_connect or port 465 */
	int no_tls;			/* this address again without TLS */
	unsigned tlsa_usages;		/* bit N: a usage N record was found */
	struct dane_tlsa *tlsa;		/* usable or not, as received */
	size_t n_tlsa;
	unsigned char *tlsa_data;
	char tlsa_base[256];		/* the TLSA base domain */
	char auth_pass[SMTP_CLIENT_CRED_MAX + 1];
	int auth;			/* AUTH with auth_username/auth_pass */
	/* connection */
	struct dconn *c;		/* NULL when not connected */
	uv_timer_t timer;
	int tcp_open, timer_open, connected, closing;
	int reused, got_reply;		/* a cached connection, no reply yet */
	/* events */
	unsigned long ev_seq;		/* a result for another seq is stale */
	int ev_wait;			/* replies held until an event's result */
	int banner_seen;
	int ehlo_fired;			/* smtp:ehlo ran for the reply at hand */
	int err_no;			/* EVENT_DEFER_ERRNO of the last failure */
	struct sockaddr_storage cur_ss;	/* the address being connected */
	size_t cert_depth;		/* tls:cert: the next depth + 1 */
	struct dgroup *wait_next;	/* in d->waiters (host_max_parallel) */
	struct smtp_client_msg msg;	/* the client keeps a pointer to it */
	char in[2 * SMTP_REPLY_MAX];
	size_t inlen;
	int greeted, transacted;
	/* data phase */
	int in_data;
	uv_fs_t fsreq;
	long long data_pos;
	struct smtp_dotstuff ds;
	char rbuf[DELIVER_READ_CHUNK];
	char wbuf[2 * DELIVER_READ_CHUNK + 8];
	/* outcome of the last host */
	char error[512];
	int done;
};

struct dmsg {
	struct deliver *d;
	struct dmsg *next;
	struct config *cfg;
	struct spool_msg *m;
	char id[SPOOL_ID_LEN + 1];
	long long now;
	int force;
	struct dtarget *t;
	size_t n_t;
	struct dgroup *g;
	size_t n_g, g_done;
	unsigned char *planned;		/* per envelope recipient: due now */
	int handles;			/* open handles of all groups */
	/* finishing */
	uv_work_t work;
	char *lines;			/* state lines to append */
	size_t lines_len;
	int work_err;
	int state_err;		/* the state file could not take the lines */
	int complete;			/* nothing left: remove */
	char *bounce;			/* report to queue, or NULL */
	size_t bounce_len;
	char bounce_id[SPOOL_ID_LEN + 1];
	char bounce_to[ROUTER_ADDR_MAX];
	int finishing;
};

struct deliver {
	uv_loop_t *loop;
	struct config *cfg;
	struct spool *sp;
	struct dmsg *active;
	unsigned n_active;
	char **pending;
	int *pending_force;
	size_t n_pending, cap_pending;
	int stopping;
	void (*idle_cb)(void *);
	void *idle_arg;
	void (*done)(void *);
	void *done_arg;
	unsigned rnd;
	int kicking, kick_again;		/* deliver_kick is not reentered */
	/* new messages another process still held: tried again shortly */
	struct retry_hosts hosts;		/* dead hosts are not hammered */
	struct dns_resolver *dns;		/* for MX delivery, or NULL */
	struct event_runner *ev;		/* event actions (CONFIG_EVENTS) */
	struct dconn *idle;			/* the connection cache */
	struct dconn *conns;			/* every live connection */
	struct dgroup *waiters;			/* groups waiting for a host slot */
	unsigned n_idle;
	uv_timer_t idle_timer;
	int close_wait;				/* engine timers still closing */
	unsigned n_cached_closing;		/* cached connections closing */
	struct tls_conf *tls_plain;		/* client TLS without CA */
	struct deliver_pkix {			/* client TLS with a CA bundle */
		char *ca, *crl;
		struct tls_conf *conf;		/* NULL: it did not load */
	} pkix[4];
	size_t n_pkix;
	uv_timer_t later_timer;
	char **later;
	size_t n_later;
	int closing;
};

/* deliver_free - at the stop, once every handle of the engine is closed */
static void deliver_free(struct deliver *d)
{
	void (*done)(void *) = d->done;
	void *arg = d->done_arg;

	dns_resolver_free(d->dns);
	event_runner_free(d->ev);
	tls_conf_free(d->tls_plain);
	while (d->n_pkix--) {
		tls_conf_free(d->pkix[d->n_pkix].conf);
		free(d->pkix[d->n_pkix].ca);
		free(d->pkix[d->n_pkix].crl);
	}
	config_release(d->cfg);
	free(d->pending);
	free(d->pending_force);
	free(d);
	done(arg);
}

/* deliver_closed_cb - one of the engine's timers is closed */
static void deliver_closed_cb(uv_handle_t *h)
{
	struct deliver *d = h->data;

	if (--d->close_wait == 0 && d->n_cached_closing == 0)
		deliver_free(d);
}

static void dgroup_next_host(struct dgroup *g);
static void dgroup_next_addr(struct dgroup *g);
static void dgroup_policy(struct dgroup *g);
static void dgroup_gai_start(struct dgroup *g);
static void dmsg_group_done(struct dgroup *g);
static void deliver_kick(struct deliver *d);
static void deliver_later(struct deliver *d, const char *id);

/* ------------------------------------------------------------ helpers */

static unsigned deliver_rand(struct deliver *d)
{
	/* xorshift: jitter only, not security */
	d->rnd ^= d->rnd << 13;
	d->rnd ^= d->rnd >> 17;
	d->rnd ^= d->rnd << 5;
	return d->rnd;
}

/* dcopy - copy src into dst[n], cut when longer (texts for logs) */
static void dcopy(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

static void dtarget_set(struct dtarget *t, enum smtp_rcpt_status st, const char *text)
{
	t->res.status = st;
	dcopy(t->res.text, sizeof(t->res.text), text);
}

/* ------------------------------------------------------------ connection */

/* dconn_free - the connection's handle is closed */
static void deliver_wake(struct deliver *d, const char *hkey);

static void dconn_free(struct dconn *c)
{
	struct dconn **p;

	for (p = &c->d->conns; *p; p = &(*p)->all_next)
		if (*p == c) {
			*p = c->all_next;
			break;
		}
	deliver_wake(c->d, c->hkey);
	tls_session_free(c->tls);
	smtp_client_output_reset(&c->sc);	/* it may hold credentials */
	config_release(c->cfg);
	free(c);
}

/* dconn_closed_cb - a connection is closed: its group (if any) goes on */
static void dconn_closed_cb(uv_handle_t *h)
{
	struct dconn *c = h->data;
	struct dgroup *g = c->g;
	struct deliver *d = c->d;

	dconn_free(c);
	if (!g) {
		/* a cached connection, maybe at the engine's stop */
		if (--d->n_cached_closing == 0 && d->closing && d->close_wait == 0)
			deliver_free(d);
		return;
	}
	g->c = NULL;
	g->tcp_open = 0;
	g->dm->handles--;
	if (g->closing) {
		g->closing = 0;
		if (g->done)
			dmsg_group_done(g);
		else
			dgroup_next_addr(g);
	}
}

/* dgroup_tls_reset - forget the connection's TLS session */
static void dgroup_tls_reset(struct dgroup *g)
{
	if (!g->c)
		return;
	tls_session_free(g->c->tls);
	g->c->tls = NULL;
	g->c->tls_up = 0;
}

/* dgroup_settled - recipients this connection settled keep its host and
 * TLS for the log */
static void dgroup_settled(struct dgroup *g)
{
	size_t i;

	if (!g->connected || !g->c)
		return;
	for (i = 0; i < g->n; i++) {
		struct dtarget *t = &g->dm->t[g->tix[i]];

		if (g->results[i].status == SC_RCPT_PENDING || t->host[0])
			continue;
		snprintf(t->host, sizeof(t->host), "%s [%s]:%u", g->host, g->addr, g->port);
		dcopy(t->tls, sizeof(t->tls), g->c->tls_up ? g->c->tls_desc : "");
		dcopy(t->cv, sizeof(t->cv), g->c->tls_up ? g->c->cv : "");
	}
}

/* dgroup_disconnect - close the connection; then the next address (or
 * the end of the group when done is set) */
static int dgroup_fire(struct dgroup *g, enum event_id id, const char *data,
    const struct dane_cert *cert, event_result_cb cb);

static void dgroup_disconnect(struct dgroup *g)
{
	if (g->closing)
		return;
	dgroup_settled(g);
	g->ev_wait = 0;
	if (g->tcp_open && g->connected)
		(void)dgroup_fire(g, EV_TCP_CLOSE, NULL, NULL, NULL);
	else
		g->ev_seq++;	/* a result still awaited is stale now */
	dgroup_tls_reset(g);
	uv_timer_stop(&g->timer);
	if (!g->tcp_open) {
		if (g->done)
			dmsg_group_done(g);
		else
			dgroup_next_addr(g);
		return;
	}
	g->closing = 1;
	g->connected = 0;
	uv_read_stop((uv_stream_t *)&g->c->tcp);
	g->c->closing = 1;
	uv_close((uv_handle_t *)&g->c->tcp, dconn_closed_cb);
}

/* ------------------------------------------------------------ events */

#define DEV_MAX 24

/* the variables of one event (Exim's names in upper case) */
struct dev {
	struct event_var v[DEV_MAX];
	size_t n;
	char port[12], sport[12], saddr[64], usage[12], errno_s[16];
	char lp[ROUTER_ADDR_MAX];
	char host[340];
	char pem[8192];
	struct dane_cert leaf;
};

static void dev_add(struct dev *e, const char *name, const char *value)
{
	if (e->n < DEV_MAX && value) {
		e->v[e->n].name = name;
		e->v[e->n].value = value;
		e->n++;
	}
}

/* dev_target - the recipient's variables */
static void dev_target(struct dev *e, const struct dtarget *t)
{
	char *at;

	dcopy(e->lp, sizeof(e->lp), t->addr);
	at = strrchr(e->lp, '@');
	if (at)
		*at = '\0';
	dev_add(e, "LOCAL_PART", e->lp);
	dev_add(e, "DOMAIN", at ? at + 1 : "");
	dev_add(e, "ROUTER_NAME", t->rc.name ? t->rc.name : "");
	dev_add(e, "TRANSPORT_NAME", t->rc.transport ? t->rc.transport->name : "");
}

/* dev_group - the variables of the group's current host and connection */
static void dev_group(struct dev *e, struct dgroup *g, const char *data,
    const struct dane_cert *cert)
{
	const struct dtarget *t0 = &g->dm->t[g->tix[0]];
	struct dconn *c = g->c;

	dev_add(e, "EVENT_DATA", data ? data : "");
	dev_add(e, "MESSAGE_ID", g->dm->id);
	dev_add(e, "ROUTER_NAME", t0->rc.name ? t0->rc.name : "");
	dev_add(e, "TRANSPORT_NAME", t0->rc.transport ? t0->rc.transport->name : "");
	dev_add(e, "HOST", g->host);
	dev_add(e, "HOST_ADDRESS", g->addr);
	snprintf(e->port, sizeof(e->port), "%u", g->port);
	dev_add(e, "HOST_PORT", e->port);
	dev_add(e, "LOOKUP_DNSSEC_AUTHENTICATED", g->n_addrs && !g->addr_insecure ?
	    "yes" : "no");
	dev_add(e, "TLS_OUT_DANE", c && strcmp(c->cv, "dane") == 0 ? "yes" : "no");
	snprintf(e->usage, sizeof(e->usage), "%u", g->tlsa_usages);
	dev_add(e, "TLS_OUT_TLSA_USAGE", e->usage);
	dev_add(e, "VERIFY_MODE", "");
	if (c && g->connected) {
		struct sockaddr_storage ss;
		int sl = sizeof(ss);

		if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
			unsigned port = 0;

			if (ss.ss_family == AF_INET) {
				uv_ip4_name((struct sockaddr_in *)&ss, e->saddr, sizeof(e->saddr));
				port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			} else {
				uv_ip6_name((struct sockaddr_in6 *)&ss, e->saddr, sizeof(e->saddr));
				port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			}
			snprintf(e->sport, sizeof(e->sport), "%u", port);
			dev_add(e, "SENDING_IP_ADDRESS", e->saddr);
			dev_add(e, "SENDING_PORT", e->sport);
		}
	}
	if (!cert && c && c->tls_up && tls_session_peer_chain(c->tls, &e->leaf, 1) == 1)
		cert = &e->leaf;
	if (cert && tls_cert_pem(cert, e->pem, sizeof(e->pem)))
		dev_add(e, "TLS_OUT_PEERCERT", e->pem);
	if (g->err_no) {
		snprintf(e->errno_s, sizeof(e->errno_s), "%d", g->err_no);
		dev_add(e, "EVENT_DEFER_ERRNO", e->errno_s);
	}
}

/* dgroup_action_of - the program for an event: the transport's, or the
 * main one for main-scope events */
static const char *dgroup_action_of(const struct dgroup *g, enum event_id id)
{
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	const struct event_def *def = event_def_get(id);

	if (!def)
		return NULL;
	if (def->where == EV_WHERE_MAIN || !tr)
		return g->dm->cfg->main.event_action;
	return tr->event_action;
}

/* dgroup_fire - an event of the group's host; 1 when cb will bring the
 * result (g->ev_seq identifies it), 0 when there is none to wait for */
static int dgroup_fire(struct dgroup *g, enum event_id id, const char *data,
    const struct dane_cert *cert, event_result_cb cb)
{
	struct dev *e;
	int r;

	if (!IS_ENABLED(CONFIG_EVENTS))
		return 0;
	if (!(e = calloc(1, sizeof(*e))))
		return 0;
	dev_group(e, g, data, cert);
	r = event_fire(g->dm->d->ev, g->dm->cfg, dgroup_action_of(g, id), id, e->v, e->n,
	    cb, g, ++g->ev_seq);
	free(e);
	return r;
}

/* dgroup_fire_rcpts - a host event for each recipient still pending */
static void dgroup_fire_rcpts(struct dgroup *g, enum event_id id, const char *data)
{
	struct dev *e;
	size_t i;

	if (!IS_ENABLED(CONFIG_EVENTS))
		return;
	for (i = 0; i < g->n; i++) {
		if (g->results[i].status != SC_RCPT_PENDING || !(e = calloc(1, sizeof(*e))))
			continue;
		dev_group(e, g, data, NULL);
		dcopy(e->lp, sizeof(e->lp), g->dm->t[g->tix[i]].addr);
		if (strrchr(e->lp, '@')) {
			char *at = strrchr(e->lp, '@');

			*at = '\0';
			dev_add(e, "LOCAL_PART", e->lp);
			dev_add(e, "DOMAIN", at + 1);
		}
		(void)event_fire(g->dm->d->ev, g->dm->cfg, dgroup_action_of(g, id), id,
		    e->v, e->n, NULL, NULL, 0);
		free(e);
	}
}

/* dgroup_host_failed - remember that this host did not work, so that other
 * messages do not try it again before its retry time; msg:host:defer */
static void dgroup_host_failed(struct dgroup *g)
{
	struct deliver *d = g->dm->d;

	(void)retry_host_failed(&d->hosts, g->hkey, (long long)time(NULL),
	    &g->dm->cfg->main.retry_intervals, deliver_rand(d));
	if (!g->err_no)
		g->err_no = -1;		/* not a system error: a protocol one */
	(void)dgroup_fire(g, EV_MSG_HOST_DEFER, g->error, NULL, NULL);
	g->err_no = 0;
	dgroup_fire_rcpts(g, EV_MSG_RCPT_HOST_DEFER, g->error);
}

static void dconn_close(struct dconn *c);

static void dgroup_write_cb(uv_write_t *req, int status)
{
	struct dconn *c = req->data;
	struct dgroup *g = c->g;

	free(req);
	if (status < 0 && !g && !c->closing) {
		dconn_close(c);		/* a cached connection broke */
		return;
	}
	if (status < 0 && g && g->connected && !g->closing) {
		snprintf(g->error, sizeof(g->error), "write: %s", uv_strerror(status));
		smtp_client_abort(&g->c->sc, g->error);
		dgroup_disconnect(g);
	}
}

/* dgroup_write_raw - n octets to the socket as they are; cb (NULL:
 * dgroup_write_cb) frees the request when written */
static int dgroup_write_raw(struct dgroup *g, const char *p, size_t n, uv_write_cb cb)
{
	uv_write_t *req;
	uv_buf_t b;
	char *copy;

	if (n == 0)
		return 0;
	req = malloc(sizeof(*req) + n);
	if (!req)
		return -ENOMEM;
	copy = (char *)(req + 1);
	memcpy(copy, p, n);
	req->data = g->c;
	b = uv_buf_init(copy, (unsigned)n);
	if (uv_write(req, (uv_stream_t *)&g->c->tcp, &b, 1, cb ? cb : dgroup_write_cb) < 0) {
		free(req);
		return -EIO;
	}
	return 0;
}

/* dgroup_tls_flush - send the ciphertext the TLS session has waiting */
static int dgroup_tls_flush(struct dgroup *g, uv_write_cb cb)
{
	size_t n = g->c->tls ? tls_session_pending(g->c->tls) : 0;
	uv_write_t *req;
	uv_buf_t b;

	if (n == 0)
		return 0;
	if (!(req = malloc(sizeof(*req) + n)))
		return -ENOMEM;
	n = tls_session_drain(g->c->tls, req + 1, n);
	req->data = g->c;
	b = uv_buf_init((char *)(req + 1), (unsigned)n);
	if (uv_write(req, (uv_stream_t *)&g->c->tcp, &b, 1, cb ? cb : dgroup_write_cb) < 0) {
		free(req);
		return -EIO;
	}
	return 0;
}

/* dgroup_write - plaintext to the server: encrypted once TLS is up */
static int dgroup_write(struct dgroup *g, const char *p, size_t n, uv_write_cb cb)
{
	if (!g->c->tls_up)
		return dgroup_write_raw(g, p, n, cb);
	if (n && tls_session_write(g->c->tls, p, n) < 0)
		return -EIO;
	return dgroup_tls_flush(g, cb);
}

static void dgroup_timeout_cb(uv_timer_t *t)
{
	struct dgroup *g = t->data;

	snprintf(g->error, sizeof(g->error), "%s [%s]:%u: timeout %s", g->host,
	    g->addr, g->port, g->connected ? "waiting for the server" : "connecting");
	g->err_no = ETIMEDOUT;
	if (!g->greeted)
		dgroup_host_failed(g);
	g->err_no = 0;
	if (g->connected)
		smtp_client_abort(&g->c->sc, g->error);
	dgroup_disconnect(g);
}

/* dgroup_arm_timer - connect_timeout, command_timeout or data_timeout
 * (RFC 5321 4.5.3.2 asks for minutes; the transport sets them) */
static void dgroup_arm_timer(struct dgroup *g)
{
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	long long secs = !tr ? 300 : !g->connected ? tr->connect_timeout :
	    g->in_data ? tr->data_timeout : tr->command_timeout;

	uv_timer_start(&g->timer, dgroup_timeout_cb, (uint64_t)secs * 1000, 0);
}

static void dgroup_action(struct dgroup *g, enum smtp_client_action a);
static void dgroup_tls_start(struct dgroup *g);
static void dgroup_begin(struct dgroup *g);
static int dgroup_park(struct dgroup *g);

static void dgroup_data_read_cb(uv_fs_t *req);

/* dgroup_data_next - read the next chunk of the message from the spool */
static void dgroup_data_next(struct dgroup *g)
{
	struct spool_msg *m = g->dm->m;
	uv_buf_t b = uv_buf_init(g->rbuf, sizeof(g->rbuf));

	g->fsreq.data = g;
	if (uv_fs_read(g->dm->d->loop, &g->fsreq, m->fd, &b, 1,
	    (int64_t)(m->data_off + g->data_pos), dgroup_data_read_cb) < 0) {
		snprintf(g->error, sizeof(g->error), "cannot read the spool file");
		smtp_client_abort(&g->c->sc, g->error);
		dgroup_disconnect(g);
	}
}

static void dgroup_data_write_cb(uv_write_t *req, int status)
{
	struct dconn *c = req->data;
	struct dgroup *g = c->g;

	free(req);
	if (!g || !g->connected || g->closing)
		return;
	if (status < 0) {
		snprintf(g->error, sizeof(g->error), "write: %s", uv_strerror(status));
		smtp_client_abort(&g->c->sc, g->error);
		dgroup_disconnect(g);
		return;
	}
	dgroup_data_next(g);
}

static void dgroup_data_read_cb(uv_fs_t *req)
{
	struct dgroup *g = req->data;
	ssize_t n = req->result;
	size_t out;
	int last = 0;

	uv_fs_req_cleanup(req);
	if (!g->connected || g->closing)
		return;
	if (n < 0) {
		snprintf(g->error, sizeof(g->error), "cannot read the spool file: %s",
		    uv_strerror((int)n));
		smtp_client_abort(&g->c->sc, g->error);
		dgroup_disconnect(g);
		return;
	}
	g->data_pos += n;
	out = smtp_dotstuff(&g->ds, g->rbuf, (size_t)n, g->wbuf);
	if (n == 0) {
		out += smtp_dotstuff_end(&g->ds, g->wbuf + out);
		last = 1;
	}
	dgroup_arm_timer(g);
	if (last) {
		if (dgroup_write(g, g->wbuf, out, NULL) < 0) {
			smtp_client_abort(&g->c->sc, "write failed");
			dgroup_disconnect(g);
			return;
		}
		dgroup_action(g, smtp_client_data_sent(&g->c->sc));
		return;
	}
	if (out == 0) {
		dgroup_data_next(g);
		return;
	}
	if (dgroup_write(g, g->wbuf, out, dgroup_data_write_cb) < 0) {
		smtp_client_abort(&g->c->sc, "write failed");
		dgroup_disconnect(g);
	}
}

/* dgroup_flush - send what the client machine has written */
static int dgroup_flush(struct dgroup *g)
{
	size_t n;
	const char *p = smtp_client_output(&g->c->sc, &n);
	int r = dgroup_write(g, p, n, NULL);

	smtp_client_output_reset(&g->c->sc);
	return r;
}

/* dgroup_begin - the message's transaction on the greeted connection */
static void dgroup_begin(struct dgroup *g)
{
	struct dmsg *dm = g->dm;
	struct smtp_client_msg *msg = &g->msg;
	struct spool_env *env = dm->m->env;

	memset(msg, 0, sizeof(*msg));
	msg->sender = env->sender;
	msg->rcpt = g->rcpts;
	msg->n_rcpt = g->n;
	msg->size = (unsigned long long)dm->m->data_size;
	msg->body_8bit = env->body_8bit;
	msg->smtputf8 = env->smtputf8;
	msg->envid = env->envid;
	msg->ret_full = env->ret_full;
	msg->notify = g->notify;
	msg->orcpt = g->orcpt;
	dgroup_action(g, smtp_client_msg_start(&g->c->sc, msg, g->results));
}

static void dgroup_action(struct dgroup *g, enum smtp_client_action a)
{
	struct dmsg *dm = g->dm;

	switch (a) {
	case SC_SEND_READ:
		if (dgroup_flush(g) < 0) {
			smtp_client_abort(&g->c->sc, "write failed");
			dgroup_disconnect(g);
			return;
		}
		dgroup_arm_timer(g);
		return;
	case SC_STARTTLS:
		/* RFC 3207 5: nothing may follow the 220 in clear text (an
		 * attacker's injected replies would be read as if under TLS) */
		if (g->inlen) {
			snprintf(g->error, sizeof(g->error), "%s [%s]:%u: data after the "
			    "reply to STARTTLS (injection?)", g->host, g->addr, g->port);
			smtp_client_abort(&g->c->sc, g->error);
			dgroup_host_failed(g);
			dgroup_disconnect(g);
			return;
		}
		dgroup_tls_start(g);
		return;
	case SC_DATA:
		(void)dgroup_flush(g);
		g->in_data = 1;
		smtp_dotstuff_init(&g->ds);
		g->data_pos = 0;
		dgroup_data_next(g);
		return;
	case SC_READY:
		g->in_data = 0;
		if (!g->greeted) {
			g->greeted = 1;
			retry_host_ok(&dm->d->hosts, g->hkey);
			dgroup_begin(g);
			return;
		}
		g->transacted = 1;
		if (dgroup_park(g))
			return;
		dgroup_action(g, smtp_client_quit(&g->c->sc));
		return;
	case SC_CLOSE:
		(void)dgroup_flush(g);
		if (!g->transacted && smtp_client_error(&g->c->sc) &&
		    smtp_client_error(&g->c->sc)[0])
			snprintf(g->error, sizeof(g->error), "%s [%s]:%u: %s", g->host,
			    g->addr, g->port, smtp_client_error(&g->c->sc));
		if (g->dane && !smtp_client_tls_active(&g->c->sc))
			(void)dgroup_fire(g, EV_DANE_FAIL, "starttls-not-supported", NULL, NULL);
		if (!g->greeted)
			dgroup_host_failed(g);
		dgroup_disconnect(g);
		return;
	}
}

#define DELIVER_TLS_READ 4096	/* ciphertext read at least at a time */

static void dgroup_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dconn *c = h->data;
	struct dgroup *g = c->g;

	(void)suggested;
	if (!g) {
		*buf = uv_buf_init(c->scratch, sizeof(c->scratch));
	} else if (c->tls) {
		size_t cap = 0;
		void *p = tls_session_in_space(c->tls, DELIVER_TLS_READ, &cap);

		*buf = uv_buf_init(p, p ? (unsigned)cap : 0);
	} else {
		*buf = uv_buf_init(g->in + g->inlen, (unsigned)(sizeof(g->in) - g->inlen));
	}
}

/* dgroup_fail_conn - a problem with this connection (error set): the
 * host failed, on to the next address */
static void dgroup_fail_conn(struct dgroup *g)
{
	smtp_client_abort(&g->c->sc, g->error);
	dgroup_host_failed(g);
	dgroup_disconnect(g);
}

static void dgroup_replies(struct dgroup *g);
static void dgroup_tls_input(struct dgroup *g);

/* dgroup_smtp_connect_cb - the result of smtp:connect or smtp:ehlo */
static void dgroup_smtp_connect_cb(void *arg, unsigned long token, const char *result)
{
	struct dgroup *g = arg;

	if (token != g->ev_seq || !g->connected || g->closing)
		return;
	g->ev_wait = 0;
	if (result[0]) {
		snprintf(g->error, sizeof(g->error), "%.150s [%s]:%u: closed: the "
		    "%s event action said: %.150s", g->host, g->addr, g->port,
		    g->ehlo_fired ? "smtp:ehlo" : "smtp:connect", result);
		dgroup_fail_conn(g);
		return;
	}
	dgroup_replies(g);
	if (g->connected && !g->closing && g->c->tls_up)
		dgroup_tls_input(g);
}

/* dgroup_replies - hand every complete reply in g->in to the client */
static void dgroup_replies(struct dgroup *g)
{
	while (g->connected && !g->closing && !g->ev_wait && (!g->c->tls || g->c->tls_up)) {
		struct smtp_reply r;
		const char *why;
		long used = smtp_reply_parse(g->in, g->inlen, &r, &why);
		enum smtp_client_action a;

		if (used == 0) {
			if (g->inlen == sizeof(g->in)) {
				why = "reply too long";
				used = -1;
			} else {
				break;
			}
		}
		if (used < 0) {
			snprintf(g->error, sizeof(g->error), "%s [%s]:%u: %s", g->host,
			    g->addr, g->port, why);
			smtp_client_abort(&g->c->sc, g->error);
			dgroup_disconnect(g);
			return;
		}
		if (!g->banner_seen) {
			/* smtp:connect with the banner; a result closes */
			char banner[SMTP_REPLY_MAX + 1];
			size_t bl = (size_t)used < sizeof(banner) - 1 ? (size_t)used :
			    sizeof(banner) - 1;

			memcpy(banner, g->in, bl);
			while (bl && (banner[bl - 1] == '\n' || banner[bl - 1] == '\r'))
				bl--;
			banner[bl] = '\0';
			g->banner_seen = 1;
			if (dgroup_fire(g, EV_SMTP_CONNECT, banner, NULL,
			    dgroup_smtp_connect_cb) == 1) {
				g->ev_wait = 1;
				return;
			}
		}
		if (!g->ehlo_fired && r.code == 250 && smtp_client_awaits_ehlo(&g->c->sc)) {
			/* smtp:ehlo with the reply; a result closes */
			char text[SMTP_REPLY_MAX + 1];
			size_t tl = (size_t)used < sizeof(text) - 1 ? (size_t)used :
			    sizeof(text) - 1, k;

			memcpy(text, g->in, tl);
			while (tl && (text[tl - 1] == '\n' || text[tl - 1] == '\r'))
				tl--;
			text[tl] = '\0';
			for (k = 0; k < tl; k++)	/* lines end with \n only */
				if (text[k] == '\r' && text[k + 1] == '\n') {
					memmove(text + k, text + k + 1, tl - k);
					tl--;
				}
			g->ehlo_fired = 1;
			if (dgroup_fire(g, EV_SMTP_EHLO, text, NULL,
			    dgroup_smtp_connect_cb) == 1) {
				g->ev_wait = 1;
				return;
			}
		}
		g->ehlo_fired = 0;
		g->got_reply = 1;
		a = smtp_client_reply(&g->c->sc, g->in, (size_t)used);
		memmove(g->in, g->in + used, g->inlen - (size_t)used);
		g->inlen -= (size_t)used;
		dgroup_action(g, a);
	}
}

/* dgroup_tls_input - decrypt what arrived and read the replies in it */
static void dgroup_tls_input(struct dgroup *g)
{
	while (g->connected && !g->closing && g->c->tls_up) {
		size_t got = 0;
		int r = tls_session_read(g->c->tls, g->in + g->inlen,
		    sizeof(g->in) - g->inlen, &got);

		if (r == TLS_EOF || r < 0) {
			char e[128];

			snprintf(g->error, sizeof(g->error), "%s [%s]:%u: %s", g->host,
			    g->addr, g->port, r == TLS_EOF ? "TLS session closed by the server" :
			    tls_strerror(r, e, sizeof(e)));
			smtp_client_abort(&g->c->sc, g->error);
			dgroup_disconnect(g);
			return;
		}
		(void)dgroup_tls_flush(g, NULL);
		if (got == 0 && g->inlen < sizeof(g->in))
			return;
		g->inlen += got;
		dgroup_replies(g);
	}
}

/* dgroup_tls_check - the server's certificate under the host's policy:
 * DANE (RFC 7672), else PKIX when asked; 1 to go on, 0 (error set) not */
static int dgroup_tls_check(struct dgroup *g)
{
	struct dane_cert chain[TLS_CHAIN_MAX];
	size_t n = tls_session_peer_chain(g->c->tls, chain, TLS_CHAIN_MAX);
	char why[300];

	dcopy(g->c->cv, sizeof(g->c->cv), "no");
	if (g->dane) {
		const char *names[2];
		struct dane_input in;
		struct dane_result res;

		names[0] = g->tlsa_base;
		names[1] = g->host;
		memset(&in, 0, sizeof(in));
		in.tlsa = g->tlsa;
		in.n_tlsa = g->n_tlsa;
		in.chain = chain;
		in.n_chain = n;
		in.names = names;
		in.n_names = strcasecmp(g->tlsa_base, g->host) == 0 ? 1 : 2;
		in.now = (long long)time(NULL);
		if (dane_verify(&in, &res) != 1) {
			snprintf(g->error, sizeof(g->error), "%.150s [%s]:%u: DANE "
			    "verification failed: %.250s", g->host, g->addr, g->port, res.reason);
			(void)dgroup_fire(g, EV_DANE_FAIL, "validation-failure", NULL, NULL);
			return 0;
		}
		dcopy(g->c->cv, sizeof(g->c->cv), "dane");
		return 1;
	}
	if (!g->pkix_verify && !g->pkix_try)
		return 1;
	if (tls_session_pkix(g->c->tls, g->pkix_names, why, sizeof(why))) {
		dcopy(g->c->cv, sizeof(g->c->cv), "yes");
		return 1;
	}
	if (g->pkix_verify) {
		snprintf(g->error, sizeof(g->error), "%.150s [%s]:%u: certificate "
		    "verification failed: %.250s", g->host, g->addr, g->port, why);
		return 0;
	}
	return 1;
}

static void dgroup_tls_certs(struct dgroup *g);
static void dgroup_tls_cert_cb(void *arg, unsigned long token, const char *result);

/* dgroup_tls_step - go on with the handshake after new input */
static void dgroup_tls_step(struct dgroup *g)
{
	int r = tls_session_handshake(g->c->tls);
	char e[128];

	if (dgroup_tls_flush(g, NULL) < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: write failed", g->host,
		    g->addr, g->port);
		dgroup_fail_conn(g);
		return;
	}
	if (r == 0)
		return;
	if (r < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: TLS handshake failed: %s",
		    g->host, g->addr, g->port, tls_strerror(r, e, sizeof(e)));
		(void)dgroup_fire(g, EV_TLS_FAIL_CONNECT, e, NULL, NULL);
		/* opportunistic TLS: this address again in clear text (RFC 7435);
		 * never when TLS is required, DANE or implicit */
		if (!g->tls_required && !g->implicit_tls && !g->auth) {
			g->no_tls = 1;
			g->addr_i--;
			smtp_client_abort(&g->c->sc, g->error);
			dgroup_disconnect(g);
			return;
		}
		dgroup_fail_conn(g);
		return;
	}
	g->c->tls_up = 1;
	tls_session_describe(g->c->tls, g->c->tls_desc, sizeof(g->c->tls_desc));
	/* tls:cert for each certificate, the top of the chain first */
	{
		struct dane_cert chain[TLS_CHAIN_MAX];

		g->cert_depth = tls_session_peer_chain(g->c->tls, chain, TLS_CHAIN_MAX);
	}
	dgroup_tls_certs(g);
}

/* dgroup_tls_refuse - no word more to this server: close_notify, go on
 * with the next address (never in clear text to this one) */
static void dgroup_tls_refuse(struct dgroup *g)
{
	tls_session_close(g->c->tls);
	(void)dgroup_tls_flush(g, NULL);
	dgroup_fail_conn(g);
}

/* dgroup_tls_certs - tls:cert for the certificates left, then the
 * verification and the SMTP session under TLS */
static void dgroup_tls_certs(struct dgroup *g)
{
	while (g->cert_depth > 0) {
		struct dane_cert chain[TLS_CHAIN_MAX];
		size_t n = tls_session_peer_chain(g->c->tls, chain, TLS_CHAIN_MAX);
		size_t d = --g->cert_depth;
		char depth[24];

		if (d >= n)
			continue;
		snprintf(depth, sizeof(depth), "%zu", d);
		if (dgroup_fire(g, EV_TLS_CERT, depth, &chain[d], dgroup_tls_cert_cb) == 1) {
			g->ev_wait = 1;
			return;
		}
	}
	if (!dgroup_tls_check(g)) {
		dgroup_tls_refuse(g);
		return;
	}
	dgroup_arm_timer(g);
	if (!g->implicit_tls)
		dgroup_action(g, smtp_client_tls_done(&g->c->sc, 1));
	dgroup_tls_input(g);
}

/* dgroup_tls_cert_cb - the result of tls:cert: non-empty refuses */
static void dgroup_tls_cert_cb(void *arg, unsigned long token, const char *result)
{
	struct dgroup *g = arg;

	if (token != g->ev_seq || !g->connected || g->closing)
		return;
	g->ev_wait = 0;
	if (result[0]) {
		snprintf(g->error, sizeof(g->error), "%.150s [%s]:%u: certificate at depth "
		    "%zu refused by the tls:cert event action: %.150s", g->host, g->addr,
		    g->port, g->cert_depth, result);
		dgroup_tls_refuse(g);
		return;
	}
	dgroup_tls_certs(g);
}

/* dgroup_tls_conf - the client configuration for this host: with the
 * transport's CA bundle when PKIX is wanted, else without; NULL when
 * it cannot be had (logged once per bundle) */
static struct tls_conf *dgroup_tls_conf(struct dgroup *g, int pkix)
{
	struct deliver *d = g->dm->d;
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	struct tls_conf_opts o;
	char err[300];
	const char *ca, *crl;
	size_t i;

	memset(&o, 0, sizeof(o));
	if (!pkix || !tr) {
		if (!d->tls_plain && tls_conf_new(&o, &d->tls_plain, err, sizeof(err)) < 0)
			log_err("TLS: %s", err);
		return d->tls_plain;
	}
	ca = strcmp(tr->tls_verify_certificates, "system") == 0 ? TERN_CA_BUNDLE :
	    tr->tls_verify_certificates;
	crl = tr->tls_crl ? tr->tls_crl : "";
	for (i = 0; i < d->n_pkix; i++)
		if (strcmp(d->pkix[i].ca, ca) == 0 && strcmp(d->pkix[i].crl, crl) == 0)
			return d->pkix[i].conf;
	if (d->n_pkix == sizeof(d->pkix) / sizeof(d->pkix[0]))
		return NULL;
	o.ca_file = ca;
	o.crl_file = crl;
	if (!(d->pkix[d->n_pkix].ca = strdup(ca)) ||
	    !(d->pkix[d->n_pkix].crl = strdup(crl))) {
		free(d->pkix[d->n_pkix].ca);
		return NULL;
	}
	if (tls_conf_new(&o, &d->pkix[d->n_pkix].conf, err, sizeof(err)) < 0)
		log_err("TLS: %s (tls_verify_certificates of transport %s)", err, tr->name);
	return d->pkix[d->n_pkix++].conf;
}

/* dgroup_tls_start - begin the handshake (after the 220 to STARTTLS, or
 * at once for implicit TLS) */
static void dgroup_tls_start(struct dgroup *g)
{
	int pkix = !g->dane && (g->pkix_verify || g->pkix_try);
	struct tls_conf *conf = dgroup_tls_conf(g, pkix);
	const char *sni = g->dane ? g->tlsa_base : g->host;
	unsigned char bin[16];

	if (!conf && pkix && !g->pkix_verify)
		conf = dgroup_tls_conf(g, 0);
	/* no SNI for an address literal (RFC 6066 3) */
	if (inet_pton(AF_INET, sni, bin) == 1 || inet_pton(AF_INET6, sni, bin) == 1)
		sni = NULL;
	if (!conf || tls_session_new(conf, sni, &g->c->tls) < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: cannot start TLS "
		    "(see the log)", g->host, g->addr, g->port);
		dgroup_fail_conn(g);
		return;
	}
	dgroup_arm_timer(g);
	dgroup_tls_step(g);
}

static void dgroup_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct dconn *c = s->data;
	struct dgroup *g = c->g;

	(void)buf;
	if (!g) {
		/* a cached connection: the server closed it or spoke (421) */
		if (n != 0 && !c->closing)
			dconn_close(c);
		return;
	}
	if (!g->connected || g->closing)
		return;
	if (n < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: connection %s", g->host,
		    g->addr, g->port, n == UV_EOF ? "closed by the server" : uv_strerror((int)n));
		if (g->reused && !g->got_reply) {
			/* the cached connection had died: a new one */
			size_t i;

			for (i = 0; i < g->n; i++)
				g->results[i].status = SC_RCPT_PENDING;
			g->addr_i--;
			g->reused = 0;
			dgroup_disconnect(g);
			return;
		}
		if (g->c->tls && !g->c->tls_up && !g->tls_required && !g->implicit_tls &&
		    !g->auth) {
			/* the server hung up on our handshake: in clear text */
			g->no_tls = 1;
			g->addr_i--;
		}
		smtp_client_abort(&g->c->sc, g->error);
		dgroup_disconnect(g);
		return;
	}
	if (n == 0)
		return;
	if (!g->c->tls) {
		g->inlen += (size_t)n;
		dgroup_replies(g);
		return;
	}
	tls_session_in_commit(g->c->tls, (size_t)n);
	if (!g->c->tls_up)
		dgroup_tls_step(g);
	else
		dgroup_tls_input(g);
}

static void dgroup_connect_cb(uv_connect_t *req, int status)
{
	struct dconn *c = req->data;
	struct dgroup *g = c->g;
	const struct config_main *m = &g->dm->cfg->main;
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	struct smtp_client_opts o;

	if (g->closing)
		return;
	if (status < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: %s", g->host, g->addr,
		    g->port, uv_strerror(status));
		g->err_no = -status;	/* libuv errors are -errno on Unix */
		dgroup_host_failed(g);
		dgroup_disconnect(g);
		return;
	}
	g->connected = 1;
	g->inlen = 0;
	g->greeted = g->transacted = 0;
	g->c->tls_desc[0] = g->c->cv[0] = '\0';
	g->banner_seen = g->ev_wait = g->ehlo_fired = 0;
	memset(&o, 0, sizeof(o));
	o.helo_name = m->primary_hostname;
	o.tls_possible = IS_ENABLED(CONFIG_TLS) && !g->no_tls &&
	    (!g->tls_avoid || g->tls_required);
	o.tls_required = g->tls_required;
	o.tls_on_connect = g->implicit_tls;
	if (g->auth) {
		o.auth_user = tr->auth_username;
		o.auth_pass = g->auth_pass;
		o.auth_over_plain = tr->auth_over_plain;
	}
	g->no_tls = 0;
	smtp_client_init(&g->c->sc, &o);
	uv_read_start((uv_stream_t *)&g->c->tcp, dgroup_alloc_cb, dgroup_read_cb);
	dgroup_arm_timer(g);
	if (g->implicit_tls)
		dgroup_tls_start(g);
}

/* ------------------------------------------------------------ cache */

#define DELIVER_IDLE_MS 5000		/* a cached connection lives this long */
#define DELIVER_IDLE_MAX 16		/* cached connections at most */

/* dconn_close - close a cached connection, with a QUIT if it can go
 * out at once (best effort: the server may be gone) */
static void dconn_close(struct dconn *c)
{
	struct deliver *d = c->d;
	struct dconn **p;
	const char *out;
	size_t n;

	for (p = &d->idle; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			d->n_idle--;
			break;
		}
	if (c->closing)
		return;
	c->closing = 1;
	if (IS_ENABLED(CONFIG_EVENTS) && c->cfg) {
		struct event_var v[7];
		char port[12], saddr[64] = "", sport[12] = "";
		struct sockaddr_storage ss;
		int sl = sizeof(ss);

		snprintf(port, sizeof(port), "%u", c->port);
		if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
			if (ss.ss_family == AF_INET) {
				uv_ip4_name((struct sockaddr_in *)&ss, saddr, sizeof(saddr));
				snprintf(sport, sizeof(sport), "%u",
				    ntohs(((struct sockaddr_in *)&ss)->sin_port));
			} else {
				uv_ip6_name((struct sockaddr_in6 *)&ss, saddr, sizeof(saddr));
				snprintf(sport, sizeof(sport), "%u",
				    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
			}
		}
		v[4].name = "SENDING_IP_ADDRESS";
		v[4].value = saddr;
		v[5].name = "SENDING_PORT";
		v[5].value = sport;
		v[6].name = "TLS_OUT_DANE";
		v[6].value = strcmp(c->cv, "dane") == 0 ? "yes" : "no";
		v[0].name = "HOST";
		v[0].value = c->host;
		v[1].name = "HOST_ADDRESS";
		v[1].value = c->addr;
		v[2].name = "HOST_PORT";
		v[2].value = port;
		v[3].name = "TRANSPORT_NAME";
		v[3].value = c->tr ? c->tr->name : "";
		(void)event_fire(d->ev, c->cfg, c->tr ? c->tr->event_action : NULL,
		    EV_TCP_CLOSE, v, 7, NULL, NULL, 0);
	}
	(void)smtp_client_quit(&c->sc);
	out = smtp_client_output(&c->sc, &n);
	if (n && c->tls_up && tls_session_write(c->tls, out, n) == 0) {
		char buf[256];

		tls_session_close(c->tls);
		n = tls_session_drain(c->tls, buf, sizeof(buf));
		if (n) {
			uv_buf_t b = uv_buf_init(buf, (unsigned)n);

			(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		}
	} else if (n && !c->tls_up) {
		uv_buf_t b = uv_buf_init((char *)out, (unsigned)n);

		(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	}
	smtp_client_output_reset(&c->sc);
	d->n_cached_closing++;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, dconn_closed_cb);
}

/* deliver_idle_cb - cached connections unused for DELIVER_IDLE_MS go */
static void deliver_idle_cb(uv_timer_t *t)
{
	struct deliver *d = t->data;
	uint64_t now = uv_now(d->loop);
	struct dconn *c, *next;

	for (c = d->idle; c; c = next) {
		next = c->next;
		if (now - c->idle_since >= DELIVER_IDLE_MS)
			dconn_close(c);
	}
	if (!d->idle)
		uv_timer_stop(&d->idle_timer);
}

/* dgroup_conn_key - what a cached connection must share to be reused:
 * host, address, port, transport, credentials and TLS policy */
static void dgroup_conn_key(const struct dgroup *g, char *key, size_t len)
{
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;

	snprintf(key, len, "%s|%.60s|%.60s|%d%d%d%d%d%d", g->hkey, tr ? tr->name : "",
	    g->auth && tr ? tr->auth_username : "", g->dane, g->tls_required,
	    g->pkix_verify, g->implicit_tls, g->tls_avoid, g->auth);
}

/* dgroup_park - the transaction is over: keep the connection for the
 * next message to this host instead of QUIT; 1 when it was kept (the
 * group is then done with it) */
static int dgroup_park(struct dgroup *g)
{
	struct deliver *d = g->dm->d;
	struct dconn *c = g->c;

	if (d->stopping || !c || c->closing || g->inlen || d->n_idle >= DELIVER_IDLE_MAX ||
	    smtp_client_error(&c->sc))
		return 0;
	dgroup_settled(g);
	uv_timer_stop(&g->timer);
	c->g = NULL;
	c->cfg = config_hold(g->dm->cfg);
	c->tr = g->dm->t[g->tix[0]].rc.transport;
	dcopy(c->host, sizeof(c->host), g->host);
	dcopy(c->addr, sizeof(c->addr), g->addr);
	c->port = g->port;
	c->idle_since = uv_now(d->loop);
	c->next = d->idle;
	d->idle = c;
	d->n_idle++;
	if (!uv_is_active((uv_handle_t *)&d->idle_timer))
		uv_timer_start(&d->idle_timer, deliver_idle_cb, 1000, 1000);
	g->c = NULL;
	g->tcp_open = 0;
	g->connected = 0;
	g->dm->handles--;
	dgroup_next_addr(g);	/* every recipient is settled: the group ends */
	deliver_wake(d, c->hkey);
	return 1;
}

/* deliver_host_conns - live connections to hkey */
static unsigned deliver_host_conns(const struct deliver *d, const char *hkey)
{
	const struct dconn *c;
	unsigned n = 0;

	for (c = d->conns; c; c = c->all_next)
		n += strcmp(c->hkey, hkey) == 0;
	return n;
}

/* dgroup_wait_slot - host_max_parallel connections to this address are
 * open already: the group waits for one to end (deliver_wake) and tries
 * this address again then; 1 when it waits */
static int dgroup_wait_slot(struct dgroup *g)
{
	struct deliver *d = g->dm->d;
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	struct dgroup **p;

	if (!tr || deliver_host_conns(d, g->hkey) < (unsigned)tr->host_max_parallel)
		return 0;
	g->addr_i--;
	g->wait_next = NULL;
	for (p = &d->waiters; *p; p = &(*p)->wait_next)
		;
	*p = g;
	return 1;
}

/* deliver_wake - a connection to hkey ended or went to the cache: the
 * first group waiting for that host goes on */
static void deliver_wake(struct deliver *d, const char *hkey)
{
	struct dgroup **p, *g;

	for (p = &d->waiters; *p; p = &(*p)->wait_next)
		if (strcmp((*p)->hkey, hkey) == 0)
			break;
	if (!(g = *p))
		return;
	*p = g->wait_next;
	g->wait_next = NULL;
	dgroup_next_addr(g);
}

/* dgroup_take_cached - a cached connection to this host with the same
 * transport and policy: the transaction starts on it (RSET first, which
 * also tells whether it is still alive); 1 when one was taken */
static int dgroup_take_cached(struct dgroup *g)
{
	struct deliver *d = g->dm->d;
	struct dconn **p, *c;
	char key[sizeof(((struct dconn *)0)->key)];

	dgroup_conn_key(g, key, sizeof(key));
	for (p = &d->idle; *p; p = &(*p)->next)
		if (strcmp((*p)->key, key) == 0)
			break;
	if (!(c = *p))
		return 0;
	*p = c->next;
	d->n_idle--;
	config_release(c->cfg);
	c->cfg = NULL;
	c->g = g;
	g->c = c;
	g->tcp_open = 1;
	g->connected = 1;
	g->greeted = 1;
	g->transacted = 0;
	g->inlen = 0;
	g->reused = 1;
	g->got_reply = 0;
	g->banner_seen = 1;
	g->ev_wait = 0;
	g->dm->handles++;
	counter_add(CNT_CONN_REUSED, 1);
	smtp_client_reuse(&c->sc);
	dgroup_begin(g);
	return 1;
}

static void dgroup_tcp_connect_cb(void *arg, unsigned long token, const char *result);
static void dgroup_connect(struct dgroup *g);

static void dgroup_next_addr(struct dgroup *g)
{
	struct sockaddr_storage ss;
	size_t i;

	/* recipients the last host settled need no other host */
	for (i = 0; i < g->n; i++)
		if (g->results[i].status == SC_RCPT_PENDING)
			break;
	if (i == g->n) {
		g->done = 1;
		dmsg_group_done(g);
		return;
	}
	if (g->addr_i >= g->n_addrs) {
		g->host_i++;
		dgroup_next_host(g);
		return;
	}
	ss = g->addrs[g->addr_i++];
	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons((unsigned short)g->port);
		uv_ip4_name((struct sockaddr_in *)&ss, g->addr, sizeof(g->addr));
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((unsigned short)g->port);
		uv_ip6_name((struct sockaddr_in6 *)&ss, g->addr, sizeof(g->addr));
	}
	snprintf(g->hkey, sizeof(g->hkey), "%.250s[%.45s]:%u", g->host, g->addr, g->port);
	{
		long long until;

		/* a flush (queue run, SIGUSR1) tries every host anyway */
		if (g->dm->force != 1 && !g->no_tls &&
		    !retry_host_allowed(&g->dm->d->hosts, g->hkey,
		    (long long)time(NULL), &until)) {
			snprintf(g->error, sizeof(g->error), "%s [%s]:%u: host retry time "
			    "not reached (it failed recently)", g->host, g->addr, g->port);
			dgroup_next_addr(g);
			return;
		}
	}
	if (dgroup_take_cached(g))
		return;
	if (dgroup_wait_slot(g))
		return;
	g->cur_ss = ss;
	/* tcp:connect: a non-empty result means "not this host" */
	if (dgroup_fire(g, EV_TCP_CONNECT, NULL, NULL, dgroup_tcp_connect_cb) == 1)
		return;
	dgroup_connect(g);
}

/* dgroup_tcp_connect_cb - the result of tcp:connect */
static void dgroup_tcp_connect_cb(void *arg, unsigned long token, const char *result)
{
	struct dgroup *g = arg;

	if (token != g->ev_seq)
		return;
	if (result[0]) {
		snprintf(g->error, sizeof(g->error), "%.150s [%s]:%u: not connected: the "
		    "tcp:connect event action said: %.150s", g->host, g->addr, g->port,
		    result);
		dgroup_next_addr(g);
		return;
	}
	dgroup_connect(g);
}

/* dgroup_connect - open a connection to g->cur_ss */
static void dgroup_connect(struct dgroup *g)
{
	int r;

	if (!(g->c = calloc(1, sizeof(*g->c)))) {
		snprintf(g->error, sizeof(g->error), "out of memory");
		dgroup_next_addr(g);
		return;
	}
	g->c->d = g->dm->d;
	g->c->g = g;
	dgroup_conn_key(g, g->c->key, sizeof(g->c->key));
	dcopy(g->c->hkey, sizeof(g->c->hkey), g->hkey);
	g->c->all_next = g->dm->d->conns;
	g->dm->d->conns = g->c;
	uv_tcp_init(g->dm->d->loop, &g->c->tcp);
	/* SMTP is request-reply: Nagle plus delayed ACK would hold every
	 * pipelined batch and the end of data for ~40 ms */
	(void)uv_tcp_nodelay(&g->c->tcp, 1);
	g->c->tcp.data = g->c;
	g->tcp_open = 1;
	g->reused = 0;
	g->dm->handles++;
	g->c->creq.data = g->c;
	r = uv_tcp_connect(&g->c->creq, &g->c->tcp, (struct sockaddr *)&g->cur_ss,
	    dgroup_connect_cb);
	if (r < 0) {
		snprintf(g->error, sizeof(g->error), "%s [%s]:%u: %s", g->host, g->addr,
		    g->port, uv_strerror(r));
		dgroup_disconnect(g);
		return;
	}
	dgroup_arm_timer(g);
}

/* dgroup_add_addr - one address to try for the current host */
static void dgroup_add_addr(struct dgroup *g, int family, const void *bytes)
{
	if (g->n_addrs < DELIVER_ADDRS_MAX)
		addr_sockaddr(&g->addrs[g->n_addrs++], family, bytes, 0);
}

static void dgroup_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dgroup *g = req->data;
	struct addrinfo *ai;

	g->n_addrs = g->addr_i = 0;
	if (status < 0) {
		snprintf(g->error, sizeof(g->error), "%s: host lookup failed: %s", g->host,
		    uv_strerror(status));
	}
	for (ai = status < 0 ? NULL : res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			dgroup_add_addr(g, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr);
		else if (ai->ai_family == AF_INET6)
			dgroup_add_addr(g, AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
	}
	if (res)
		uv_freeaddrinfo(res);
	g->addr_insecure = 1;	/* the system's resolver says nothing of DNSSEC */
	dgroup_policy(g);
}

/* dgroup_addr_answer - note what an address answer says of DNSSEC */
static void dgroup_addr_answer(struct dgroup *g, const struct dns_result *res)
{
	if (res->status == DNS_ST_TEMPFAIL) {
		g->addr_tempfail = 1;
		snprintf(g->error, sizeof(g->error), "%s: %s lookup: %s", g->host,
		    res->qtype == DNS_T_A ? "A" : "AAAA", res->error);
		(void)dgroup_fire(g, EV_DNS_FAIL, g->error, NULL, NULL);
	}
	if (res->status == DNS_ST_OK && (res->n_a || res->n_aaaa)) {
		if (res->sec != DNS_SEC_SECURE)
			g->addr_insecure = 1;
		if (res->final_name[0] && !g->final_name[0])
			dcopy(g->final_name, sizeof(g->final_name), res->final_name);
	}
}

/* dgroup_host_unusable - the host cannot be used in this attempt (error
 * set): the next one */
static void dgroup_host_unusable(struct dgroup *g)
{
	g->host_i++;
	dgroup_next_host(g);
}

static int dgroup_match(const struct hostlist *hl, const struct dgroup *g)
{
	return hl && hostlist_match(hl, g->host, NULL, g->dm->cfg->main.primary_hostname);
}

/* dgroup_policy_reset - forget the last host's TLS policy */
static void dgroup_policy_reset(struct dgroup *g)
{
	free(g->tlsa);
	free(g->tlsa_data);
	g->tlsa = NULL;
	g->tlsa_data = NULL;
	g->n_tlsa = 0;
	g->tlsa_usages = 0;
	g->dane = g->tls_required = g->tls_avoid = 0;
	g->pkix_verify = g->pkix_try = g->pkix_names = 0;
	g->implicit_tls = g->no_tls = 0;
	g->addr_insecure = g->addr_tempfail = 0;
	g->final_name[0] = g->tlsa_base[0] = '\0';
}

static void dgroup_dns_tlsa_cb(void *arg, const struct dns_result *res);

/* dgroup_tlsa_lookup - the TLSA records of the base domain */
static void dgroup_tlsa_lookup(struct dgroup *g, const char *base)
{
	char name[DNS_NAME_MAX + 16];

	dcopy(g->tlsa_base, sizeof(g->tlsa_base), base);
	if (!dns_tlsa_name(g->port, base, name, sizeof(name)) ||
	    dns_lookup(g->dm->d->dns, name, DNS_T_TLSA, dgroup_dns_tlsa_cb, g,
	    &g->lookup) < 0) {
		snprintf(g->error, sizeof(g->error), "%s: cannot look up TLSA records "
		    "at %s", g->host, base);
		dgroup_host_unusable(g);
	}
}

/* dgroup_policy - the host's addresses are known: decide its TLS (RFC
 * 7672 2.2: TLSA records only after secure address answers), then
 * connect */
static void dgroup_policy(struct dgroup *g)
{
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	int try_dane, require_dane;

	if (!tr || g->n_addrs == 0) {
		dgroup_next_addr(g);
		return;
	}
	g->implicit_tls = IS_ENABLED(CONFIG_TLS) && (tr->tls_on_connect || g->port == 465);
	g->tls_required = dgroup_match(tr->hosts_require_tls, g);
	g->tls_avoid = dgroup_match(tr->hosts_avoid_tls, g);
	g->pkix_verify = dgroup_match(tr->tls_verify_hosts, g);
	g->pkix_try = dgroup_match(tr->tls_try_verify_hosts, g);
	g->pkix_names = dgroup_match(tr->tls_verify_cert_hostnames, g);
	require_dane = IS_ENABLED(CONFIG_TLS_DANE) && dgroup_match(tr->hosts_require_dane, g);
	try_dane = IS_ENABLED(CONFIG_TLS_DANE) && (require_dane ||
	    dgroup_match(tr->hosts_try_dane, g));
	if (!try_dane) {
		dgroup_next_addr(g);
		return;
	}
	if (!g->dm->d->dns || g->addr_insecure || g->addr_tempfail) {
		if (require_dane) {
			snprintf(g->error, sizeof(g->error), "%s: hosts_require_dane, but "
			    "the address lookup was not DNSSEC-secure, so there is no DANE",
			    g->host);
			(void)dgroup_fire(g, EV_DANE_FAIL, "dane-required", NULL, NULL);
			dgroup_host_unusable(g);
			return;
		}
		dgroup_next_addr(g);
		return;
	}
	/* RFC 7672 2.2.3: the CNAME-expanded name first */
	dgroup_tlsa_lookup(g, g->final_name[0] ? g->final_name : g->host);
}

/* dgroup_tlsa_keep - copy the records (the answer is borrowed) */
static int dgroup_tlsa_keep(struct dgroup *g, const struct dns_result *res)
{
	size_t i, total = 0, off = 0;

	for (i = 0; i < res->n_tlsa; i++)
		total += res->tlsa[i].len;
	g->tlsa = calloc(res->n_tlsa, sizeof(*g->tlsa));
	g->tlsa_data = malloc(total ? total : 1);
	if (!g->tlsa || !g->tlsa_data)
		return -ENOMEM;
	for (i = 0; i < res->n_tlsa; i++) {
		const struct dns_tlsa *t = &res->tlsa[i];

		g->tlsa[i].usage = t->usage;
		g->tlsa[i].selector = t->selector;
		g->tlsa[i].mtype = t->mtype;
		g->tlsa[i].len = t->len;
		g->tlsa[i].data = g->tlsa_data + off;
		if (t->len)
			memcpy(g->tlsa_data + off, t->data, t->len);
		off += t->len;
		if (t->usage < 32)
			g->tlsa_usages |= 1u << t->usage;
	}
	g->n_tlsa = res->n_tlsa;
	return 0;
}

static void dgroup_dns_tlsa_cb(void *arg, const struct dns_result *res)
{
	struct dgroup *g = arg;
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	int require_dane = dgroup_match(tr->hosts_require_dane, g);
	size_t i, usable = 0;

	g->lookup = NULL;
	if (res->status == DNS_ST_TEMPFAIL || res->sec == DNS_SEC_BOGUS) {
		/* RFC 7672 2.2: a failed or bogus TLSA lookup: unusable */
		snprintf(g->error, sizeof(g->error), "%.120s: TLSA lookup for %.120s failed "
		    "(%.160s): host not used", g->host, g->tlsa_base,
		    res->error[0] ? res->error : dns_sec_name(res->sec));
		(void)dgroup_fire(g, EV_DANE_FAIL, "dnssec-invalid", NULL, NULL);
		dgroup_host_unusable(g);
		return;
	}
	if ((res->status == DNS_ST_NODATA || res->status == DNS_ST_NXDOMAIN) &&
	    res->sec == DNS_SEC_SECURE && g->final_name[0] &&
	    strcasecmp(g->tlsa_base, g->host) != 0) {
		/* then the initial name (RFC 7672 2.2.3) */
		dgroup_tlsa_lookup(g, g->host);
		return;
	}
	if (res->status == DNS_ST_OK && res->sec == DNS_SEC_SECURE && res->n_tlsa) {
		if (dgroup_tlsa_keep(g, res) < 0) {
			snprintf(g->error, sizeof(g->error), "out of memory");
			dgroup_host_unusable(g);
			return;
		}
		for (i = 0; i < g->n_tlsa; i++)
			usable += dane_usable(&g->tlsa[i]) == 1;
		/* RFC 7672 3.1.3: secure records, none usable: TLS is still
		 * required, without authentication */
		g->tls_required = 1;
		g->dane = usable > 0;
		if (g->dane) {
			g->pkix_verify = g->pkix_try = 0;
			g->tls_avoid = 0;
		}
	}
	if (!g->dane && require_dane) {
		snprintf(g->error, sizeof(g->error), "%s: hosts_require_dane, but "
		    "there is no secure usable TLSA record at %.180s", g->host, g->tlsa_base);
		(void)dgroup_fire(g, EV_DANE_FAIL, "dane-required", NULL, NULL);
		dgroup_host_unusable(g);
		return;
	}
	dgroup_next_addr(g);
}

/* MX delivery: the domain's MX hosts (RFC 5321 5.1), their AAAA and A */
static void dgroup_dns_a_cb(void *arg, const struct dns_result *res);

static void dgroup_dns_aaaa_cb(void *arg, const struct dns_result *res)
{
	struct dgroup *g = arg;
	size_t i;

	g->lookup = NULL;
	dgroup_addr_answer(g, res);
	for (i = 0; res->status == DNS_ST_OK && i < res->n_aaaa; i++)
		dgroup_add_addr(g, AF_INET6, res->aaaa[i]);
	if (dns_lookup(g->dm->d->dns, g->host, DNS_T_A, dgroup_dns_a_cb, g, &g->lookup) < 0)
		dgroup_policy(g);
}

static void dgroup_dns_a_cb(void *arg, const struct dns_result *res)
{
	struct dgroup *g = arg;
	size_t i;

	g->lookup = NULL;
	dgroup_addr_answer(g, res);
	if (res->status != DNS_ST_TEMPFAIL && g->n_addrs == 0 && res->n_a == 0)
		snprintf(g->error, sizeof(g->error), "%s: no address (%s)", g->host,
		    dns_status_name(res->status));
	for (i = 0; res->status == DNS_ST_OK && i < res->n_a; i++)
		dgroup_add_addr(g, AF_INET, res->a[i]);
	/* a smarthost looked up in the DNS for DANE that the DNS does not
	 * know: the system's resolver (/etc/hosts) */
	if (!g->mx && g->n_addrs == 0 && !g->addr_tempfail) {
		dgroup_gai_start(g);
		return;
	}
	dgroup_policy(g);
}

static int dgroup_mx_cmp(const void *a, const void *b)
{
	const struct dhost *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* dgroup_fail_all - every target of the group ends with one outcome */
static void dgroup_fail_all(struct dgroup *g, enum smtp_rcpt_status st, const char *why)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		g->results[i].status = st;
		dcopy(g->results[i].text, sizeof(g->results[i].text), why);
	}
	g->done = 1;
	dmsg_group_done(g);
}

static void dgroup_dns_mx_cb(void *arg, const struct dns_result *res)
{
	struct dgroup *g = arg;
	const struct dtarget *t0 = &g->dm->t[g->tix[0]];
	unsigned port = (unsigned)(t0->rc.transport ? t0->rc.transport->port : 25);
	char why[600];
	size_t i;

	g->lookup = NULL;
	switch (res->status) {
	case DNS_ST_TEMPFAIL:
		snprintf(why, sizeof(why), "MX lookup for %s: %s", g->domain, res->error);
		(void)dgroup_fire(g, EV_DNS_FAIL, why, NULL, NULL);
		dgroup_fail_all(g, SC_RCPT_DEFER, why);
		return;
	case DNS_ST_NXDOMAIN:
		snprintf(why, sizeof(why), "550 5.1.2 domain %s does not exist", g->domain);
		dgroup_fail_all(g, SC_RCPT_FAIL, why);
		return;
	case DNS_ST_NODATA:
		/* no MX: the domain itself (RFC 5321 5.1, implicit MX) */
		g->hosts = calloc(1, sizeof(*g->hosts));
		if (!g->hosts) {
			dgroup_fail_all(g, SC_RCPT_DEFER, "out of memory");
			return;
		}
		dcopy(g->hosts[0].name, sizeof(g->hosts[0].name), g->domain);
		g->hosts[0].port = port;
		g->n_hosts = 1;
		break;
	case DNS_ST_OK:
		if (res->null_mx) {
			snprintf(why, sizeof(why), "556 5.1.10 %s accepts no mail "
			    "(null MX, RFC 7505)", g->domain);
			dgroup_fail_all(g, SC_RCPT_FAIL, why);
			return;
		}
		g->hosts = calloc(res->n_mx ? res->n_mx : 1, sizeof(*g->hosts));
		if (!g->hosts) {
			dgroup_fail_all(g, SC_RCPT_DEFER, "out of memory");
			return;
		}
		for (i = 0; i < res->n_mx; i++) {
			dcopy(g->hosts[i].name, sizeof(g->hosts[i].name), res->mx[i].host);
			g->hosts[i].port = port;
			g->hosts[i].pref = res->mx[i].pref;
		}
		g->n_hosts = res->n_mx;
		/* random order among equal preferences, then sorted */
		for (i = g->n_hosts; i > 1; i--) {
			size_t j = deliver_rand(g->dm->d) % i;
			struct dhost tmp = g->hosts[i - 1];

			g->hosts[i - 1] = g->hosts[j];
			g->hosts[j] = tmp;
		}
		qsort(g->hosts, g->n_hosts, sizeof(*g->hosts), dgroup_mx_cmp);
		break;
	}
	g->host_i = 0;
	dgroup_next_host(g);
}

/* dgroup_dns_wanted - a smarthost is looked up in the DNS (DNSSEC
 * known) when hosts_require_dane names it; otherwise the system's
 * resolver (/etc/hosts) finds it, and DANE does not apply. An address
 * literal never. */
static int dgroup_dns_wanted(struct dgroup *g)
{
	const struct config_transport *tr = g->dm->t[g->tix[0]].rc.transport;
	unsigned char bin[16];

	if (!IS_ENABLED(CONFIG_TLS_DANE) || !g->dm->d->dns || !tr ||
	    inet_pton(AF_INET, g->host, bin) == 1 || inet_pton(AF_INET6, g->host, bin) == 1)
		return 0;
	return dgroup_match(tr->hosts_require_dane, g);
}

static void dgroup_next_host(struct dgroup *g)
{
	struct dmsg *dm = g->dm;

	if (g->host_i >= g->n_hosts) {
		g->done = 1;
		dmsg_group_done(g);
		return;
	}
	dcopy(g->host, sizeof(g->host), g->hosts[g->host_i].name);
	g->port = g->hosts[g->host_i].port;
	g->n_addrs = g->addr_i = 0;
	dgroup_policy_reset(g);
	if (g->mx || dgroup_dns_wanted(g)) {
		if (dns_lookup(dm->d->dns, g->host, DNS_T_AAAA, dgroup_dns_aaaa_cb, g,
		    &g->lookup) < 0) {
			g->host_i++;
			dgroup_next_host(g);
		}
		return;
	}
	dgroup_gai_start(g);
}

/* dgroup_gai_start - smarthosts: the system's resolver (/etc/hosts
 * too), in the thread pool */
static void dgroup_gai_start(struct dgroup *g)
{
	struct dmsg *dm = g->dm;
	struct addrinfo hints;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	g->gai.data = g;
	r = uv_getaddrinfo(dm->d->loop, &g->gai, dgroup_gai_cb, g->host, NULL, &hints);
	if (r < 0) {
		snprintf(g->error, sizeof(g->error), "%s: host lookup failed: %s", g->host,
		    uv_strerror(r));
		g->host_i++;
		dgroup_next_host(g);
	}
}

/* dgroup_auth_load - the smarthost password from auth_password_file: the
 * first line; the file must not be readable by group or others */
static int dgroup_auth_load(struct dgroup *g, const struct config_transport *tr,
    char *why, size_t len)
{
	const char *path = tr->auth_password_file;
	struct stat st;
	size_t n;
	FILE *f;

	if (!path || !path[0]) {
		snprintf(why, len, "transport %s: auth_username needs auth_password_file",
		    tr->name);
		return -EINVAL;
	}
	if (!(f = fopen(path, "r"))) {
		snprintf(why, len, "transport %s: cannot read auth_password_file %s: %s",
		    tr->name, path, strerror(errno));
		return -errno;
	}
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077)) {
		snprintf(why, len, "transport %s: auth_password_file %s is readable by "
		    "others (chmod 600 it)", tr->name, path);
		fclose(f);
		return -EPERM;
	}
	if (!fgets(g->auth_pass, sizeof(g->auth_pass), f))
		g->auth_pass[0] = '\0';
	fclose(f);
	n = strcspn(g->auth_pass, "\r\n");
	g->auth_pass[n] = '\0';
	g->auth = 1;
	return 0;
}

/* dgroup_start - the hosts of the group's router, then the first one */
static void dgroup_start(struct dgroup *g)
{
	const struct dtarget *t0 = &g->dm->t[g->tix[0]];
	const struct addrlist *hl = t0->rc.router ? t0->rc.router->hosts : NULL;
	unsigned port = (unsigned)(t0->rc.transport ? t0->rc.transport->port : 25);
	size_t i;

	if (g->mx) {
		if (dns_lookup(g->dm->d->dns, g->domain, DNS_T_MX, dgroup_dns_mx_cb, g,
		    &g->lookup) < 0)
			dgroup_fail_all(g, SC_RCPT_DEFER, "cannot start the MX lookup");
		return;
	}
	if (t0->rc.transport && t0->rc.transport->auth_username &&
	    t0->rc.transport->auth_username[0]) {
		char why[400];

		if (dgroup_auth_load(g, t0->rc.transport, why, sizeof(why)) < 0) {
			log_err("%s", why);
			dgroup_fail_all(g, SC_RCPT_DEFER, why);
			return;
		}
	}
	g->hosts = calloc(hl && hl->n ? hl->n : 1, sizeof(*g->hosts));
	for (i = 0; g->hosts && hl && i < hl->n; i++) {
		dcopy(g->hosts[i].name, sizeof(g->hosts[i].name), hl->item[i].host);
		g->hosts[i].port = hl->item[i].port ? hl->item[i].port : port;
	}
	g->n_hosts = g->hosts && hl ? hl->n : 0;
	dgroup_next_host(g);
}

/* ------------------------------------------------------------ attempt */

static void dmsg_free(struct dmsg *dm)
{
	struct deliver *d = dm->d;
	struct dmsg **p;
	size_t i;

	for (p = &d->active; *p; p = &(*p)->next)
		if (*p == dm) {
			*p = dm->next;
			break;
		}
	d->n_active--;
	for (i = 0; i < dm->n_g; i++) {
		free(dm->g[i].tix);
		free(dm->g[i].rcpts);
		free(dm->g[i].notify);
		free(dm->g[i].orcpt);
		free(dm->g[i].results);
		free(dm->g[i].hosts);
		free(dm->g[i].tlsa);
		free(dm->g[i].tlsa_data);
		memset(dm->g[i].auth_pass, 0, sizeof(dm->g[i].auth_pass));
	}
	free(dm->g);
	free(dm->t);
	free(dm->planned);
	free(dm->lines);
	free(dm->bounce);
	spool_msg_close(dm->m);
	config_release(dm->cfg);
	free(dm);
	deliver_kick(d);
}

static void dmsg_timer_closed_cb(uv_handle_t *h)
{
	struct dgroup *g = h->data;
	struct dmsg *dm = g->dm;

	g->timer_open = 0;
	if (--dm->handles == 0)
		dmsg_free(dm);
}

/* dmsg_fire - a message or recipient event (t may be NULL) */
static void dmsg_fire(struct dmsg *dm, const struct dtarget *t, enum event_id id,
    const char *data)
{
	const struct event_def *def = event_def_get(id);
	const char *action;
	struct dev *e;

	if (!IS_ENABLED(CONFIG_EVENTS) || !def || !(e = calloc(1, sizeof(*e))))
		return;
	dev_add(e, "EVENT_DATA", data ? data : "");
	dev_add(e, "MESSAGE_ID", dm->id);
	if (t) {
		char *sp, *br;

		dev_target(e, t);
		/* t->host is "name [addr]:port" */
		dcopy(e->host, sizeof(e->host), t->host);
		if ((sp = strchr(e->host, ' ')) != NULL && sp[1] == '[' &&
		    (br = strchr(sp, ']')) != NULL) {
			*sp = '\0';
			*br = '\0';
			dev_add(e, "HOST_ADDRESS", sp + 2);
			if (br[1] == ':')
				dev_add(e, "HOST_PORT", br + 2);
		}
		if (e->host[0])
			dev_add(e, "HOST", e->host);
		if (t->tls[0])
			dev_add(e, "TLS_OUT_DANE", strcmp(t->cv, "dane") == 0 ? "yes" : "no");
	}
	action = def->where == EV_WHERE_MAIN || !t || !t->rc.transport ?
	    dm->cfg->main.event_action : t->rc.transport->event_action;
	(void)event_fire(dm->d->ev, dm->cfg, action, id, e->v, e->n, NULL, NULL, 0);
	free(e);
}

/* dmsg_log - Exim's lines for this attempt (and the message events) */
static void dmsg_log(struct dmsg *dm)
{
	const struct spool_env *env = dm->m->env;
	int *first = calloc(dm->n_g + 1, sizeof(int));
	const struct dtarget *deferred = NULL;
	size_t i;

	for (i = 0; i < dm->n_t; i++) {
		const struct dtarget *t = &dm->t[i];
		const char *orig = env->rcpt[t->rcpt].addr;
		char parent[ROUTER_ADDR_MAX + 4] = "";
		const char *r = t->rc.name ? t->rc.name : "";
		const char *tr = t->rc.transport ? t->rc.transport->name : "";

		if (strcmp(orig, t->addr) != 0)
			snprintf(parent, sizeof(parent), " <%s>", orig);
		switch (t->res.status) {
		case SC_RCPT_OK: {
			int lead = t->group >= 0 && first && !first[t->group];

			if (t->group >= 0 && first)
				first[t->group] = 1;
			log_info("%s %s %s%s R=%s T=%s H=%s%s%s%s%s C=\"%s\"", dm->id,
			    lead || t->group < 0 ? "=>" : "->", t->addr, parent, r, tr,
			    t->host, t->tls[0] ? " X=" : "", t->tls,
			    t->tls[0] ? " CV=" : "", t->tls[0] ? t->cv : "", t->res.text);
			dmsg_fire(dm, t, EV_MSG_DELIVERY, t->res.text);
			break;
		}
		case SC_RCPT_FAIL:
			log_info("%s ** %s%s%s%s%s%s: %s", dm->id, t->addr, parent,
			    r[0] ? " R=" : "", r, tr[0] ? " T=" : "", tr, t->res.text);
			/* a server's 5xx, or tern's own reason */
			dmsg_fire(dm, t, t->res.code >= 500 ? EV_MSG_FAIL_DELIVERY :
			    EV_MSG_FAIL_INTERNAL, t->res.text);
			break;
		default:
			log_info("%s == %s%s%s%s%s%s defer: %s", dm->id, t->addr, parent,
			    r[0] ? " R=" : "", r, tr[0] ? " T=" : "", tr, t->res.text);
			dmsg_fire(dm, t, EV_MSG_RCPT_DEFER, t->res.text);
			if (!deferred)
				deferred = t;
			break;
		}
	}
	free(first);
	if (deferred && !dm->complete)
		dmsg_fire(dm, NULL, EV_MSG_DEFER, deferred->res.text);
}

static void dmsg_finish_work(uv_work_t *req)
{
	struct dmsg *dm = req->data;
	int r = 0;

	/* the report before the state: a failure recorded without its
	 * report would never be reported; a report queued without the
	 * record is made again on the next attempt (a duplicate) */
	if (dm->bounce) {
		struct spool_writer *w = NULL;
		struct spool_env *env = spool_env_new();
		char *text = NULL;
		size_t len;
		unsigned fsyncs;

		r = -ENOMEM;
		if (env)
			env->arrival = dm->now;
		if (env && spool_env_set(&env->sender, "") == 0 &&
		    spool_env_set(&env->protocol, "local") == 0 &&
		    spool_env_add_rcpt(env, dm->bounce_to) &&
		    (text = spool_env_format(env, &len)) != NULL &&
		    (r = spool_writer_new(dm->m->sp, dm->now, &w)) == 0 &&
		    (r = spool_writer_write(w, text, len)) == 0 &&
		    (r = spool_writer_write(w, dm->bounce, dm->bounce_len)) == 0 &&
		    (r = spool_writer_commit(w, &fsyncs)) == 0)
			snprintf(dm->bounce_id, sizeof(dm->bounce_id), "%s", spool_writer_id(w));
		spool_writer_free(w);
		spool_env_free(env);
		free(text);
	}
	if (r == 0 && dm->lines_len)
		r = spool_msg_state_append(dm->m, dm->lines, dm->lines_len);
	if (r < 0 && dm->complete && (!dm->bounce || dm->bounce_id[0])) {
		/* every recipient is settled and the report, if one is due,
		 * is queued: the state would be removed with the message
		 * anyway (on a full disk the removal is what frees space;
		 * keeping the message would send it again) */
		dm->state_err = r;
		r = 0;
	}
	if (r == 0 && dm->complete)
		r = spool_msg_remove(dm->m);
	dm->work_err = r;
}

static void dmsg_finish_after(uv_work_t *req, int status)
{
	struct dmsg *dm = req->data;
	size_t i;

	(void)status;
	dmsg_log(dm);
	if (dm->state_err < 0 && dm->work_err == 0)
		log_warn("%s: cannot record the delivery state (%s); the message "
		    "is complete and removed", dm->id, uv_strerror(dm->state_err));
	if (dm->work_err < 0)
		log_err("%s: cannot record the delivery state: %s", dm->id,
		    uv_strerror(dm->work_err));
	if (dm->bounce_id[0])
		log_info("%s <= <> R=%s U=tern P=local S=%zu", dm->bounce_id, dm->id,
		    dm->bounce_len);
	if (dm->complete && dm->work_err == 0) {
		log_info("%s Completed", dm->id);
		dmsg_fire(dm, NULL, EV_MSG_COMPLETE, NULL);
	}
	if (dm->bounce_id[0] && !dm->d->stopping)
		deliver_message(dm->d, dm->bounce_id);
	/* close every group's timer; the last close frees the attempt */
	dm->handles = 0;
	for (i = 0; i < dm->n_g; i++)
		if (dm->g[i].timer_open) {
			dm->handles++;
			uv_close((uv_handle_t *)&dm->g[i].timer, dmsg_timer_closed_cb);
		}
	if (dm->handles == 0)
		dmsg_free(dm);
}

/* dtarget_dsn - RFC 3464 Status, Remote-MTA and Diagnostic-Code of a
 * failed target: an SMTP reply "550 5.1.1 text" gives smtp; and its
 * enhanced code, anything else is a local reason */
static void dtarget_dsn(struct dtarget *t)
{
	const char *x = t->res.text;
	int smtp = t->res.code >= 200 || (x[0] >= '2' && x[0] <= '5' &&
	    x[1] >= '0' && x[1] <= '9' && x[2] >= '0' && x[2] <= '9' && x[3] == ' ');

	t->status[0] = '\0';
	if (smtp) {
		const char *e = x + 4;
		size_t n = strspn(e, "0123456789.");

		if (n >= 5 && n < sizeof(t->status) && (e[n] == ' ' || e[n] == '\0') &&
		    e[1] == '.')
			snprintf(t->status, sizeof(t->status), "%.*s", (int)n, e);
		snprintf(t->diagnostic, sizeof(t->diagnostic), "smtp; %s", x);
		if (t->group >= 0 && t->host[0]) {
			char h[sizeof(t->host)];

			dcopy(h, sizeof(h), t->host);
			h[strcspn(h, " ")] = '\0';
			snprintf(t->remote_mta, sizeof(t->remote_mta), "dns; %s", h);
		}
	} else {
		snprintf(t->diagnostic, sizeof(t->diagnostic), "%s", x);
		t->remote_mta[0] = '\0';
	}
}

/* dmsg_bounce - build the failure report for br[0..n) (bounce.h rules) */
static void dmsg_bounce(struct dmsg *dm, const struct bounce_rcpt *br, size_t n,
    size_t n_failed, unsigned warned, size_t off, size_t cap)
{
	const struct spool_env *env = dm->m->env;
	const struct config_main *cm = &dm->cfg->main;
	struct bounce_msg b;
	const char *to = NULL;
	char *hdr = malloc(BOUNCE_HDRS_MAX);
	long got = -1;
	size_t hl = 0;
	int who;

	if (hdr) {
		got = (long)pread(dm->m->fd, hdr, BOUNCE_HDRS_MAX, (off_t)dm->m->data_off);
		if (got > 0) {
			hl = mailhdr_end(hdr, (size_t)got);
			if (!hl)
				hl = (size_t)got;
		}
	}
	who = bounce_recipients_for(env->sender, got > 0 ? hdr : NULL, hl, br, n, &to);
	if (who == BOUNCE_TO_NONE || !to) {
		if (n_failed)
			log_info("%s no failure report: the message was itself a report",
			    dm->id);
		free(hdr);
		return;
	}
	memset(&b, 0, sizeof(b));
	b.reporting_mta = cm->primary_hostname;
	b.id = dm->id;
	b.arrival = env->arrival;
	b.envid = env->envid;
	if (who == BOUNCE_TO_POSTMASTER) {
		snprintf(dm->bounce_to, sizeof(dm->bounce_to), "postmaster@%s",
		    cm->primary_hostname);
		b.to_postmaster = 1;
	} else {
		snprintf(dm->bounce_to, sizeof(dm->bounce_to), "%s", to);
	}
	b.orig_sender = dm->bounce_to;
	b.ret_full = env->ret_full;
	b.rcpt = br;
	b.n_rcpt = n;
	b.orig_headers = got > 0 ? hdr : NULL;
	b.orig_headers_len = hl;
	b.now = dm->now;
	b.boundary_seed = dm->id;
	if (!n_failed)
		b.retry_until = env->arrival + cm->bounce_after;
	dm->bounce = bounce_build(&b, &dm->bounce_len);
	free(hdr);
	if (!dm->bounce) {
		if (n_failed) {
			/* a failure is recorded only with its report: record
			 * nothing, keep the message, try again later */
			log_err("%s: cannot build the failure report (out of memory): "
			    "tried again later", dm->id);
			dm->lines_len = 0;
			dm->complete = 0;
		} else {
			log_err("%s: cannot build the delay warning (out of memory)", dm->id);
		}
		return;
	}
	if (dm->lines && n_failed && off + 100 < cap) {
		int k = spool_state_line(dm->lines + off, cap - off, dm->now,
		    SPOOL_ST_BOUNCED, 0, 0, "failure report queued");

		if (k > 0)
			off += (size_t)k;
	}
	if (dm->lines && warned && off + 100 < cap) {
		int k = spool_state_line(dm->lines + off, cap - off, dm->now,
		    SPOOL_ST_WARNED, warned, 0, "delay warning queued");

		if (k > 0)
			off += (size_t)k;
	}
	dm->lines_len = off;
}

/* dmsg_delay_warning - delay_warning: when another period has passed
 * since arrival and recipients are still deferred, they join the report
 * (action delayed, RFC 3464); returns the new warning count, or 0 when
 * no warning is due */
static unsigned dmsg_delay_warning(struct dmsg *dm, struct bounce_rcpt *br,
    size_t *n_br, size_t cap)
{
	const struct spool_env *env = dm->m->env;
	long long every = dm->cfg->main.delay_warning, periods;
	size_t k, before = *n_br;

	if (every <= 0 || !env->sender[0] || dm->now <= env->arrival)
		return 0;
	periods = (dm->now - env->arrival) / every;
	if (periods <= (long long)env->warned)
		return 0;
	for (k = 0; k < dm->n_t && *n_br < cap; k++) {
		struct dtarget *t = &dm->t[k];
		const struct spool_rcpt *r = &env->rcpt[t->rcpt];

		if (t->res.status != SC_RCPT_DEFER || !bounce_rcpt_wanted(r->notify, "delayed"))
			continue;
		dtarget_dsn(t);
		br[*n_br].addr = t->addr;
		br[*n_br].orcpt = r->orcpt;
		br[*n_br].status = t->status[0] ? t->status : NULL;
		br[*n_br].action = "delayed";
		br[*n_br].remote_mta = t->remote_mta[0] ? t->remote_mta : NULL;
		br[*n_br].diagnostic = t->diagnostic;
		br[*n_br].last_attempt = dm->now;
		(*n_br)++;
	}
	return *n_br > before ? (unsigned)periods : 0;
}

/* dmsg_finish - every group is done: record, log, bounce, remove */
static void dmsg_finish(struct dmsg *dm)
{
	struct spool_env *env = dm->m->env;
	const struct config_main *cm = &dm->cfg->main;
	size_t i, k, cap = 1024 * (dm->n_t + env->n_rcpt + 1), off = 0;
	struct bounce_rcpt *br = NULL;
	size_t n_br = 0;
	int pending = 0, failed = 0;

	dm->finishing = 1;
	dm->lines = malloc(cap);
	br = calloc(2 * dm->n_t + 1, sizeof(*br));
	/* outcomes per envelope recipient: all its final addresses */
	for (i = 0; i < env->n_rcpt; i++) {
		enum smtp_rcpt_status st = SC_RCPT_OK;
		const char *text = NULL;
		int seen = 0;

		for (k = 0; k < dm->n_t; k++) {
			struct dtarget *t = &dm->t[k];

			if (t->rcpt != i)
				continue;
			seen = 1;
			if (t->res.status == SC_RCPT_PENDING) {
				dtarget_set(t, SC_RCPT_DEFER, "no host could be reached");
			}
			if (t->res.status == SC_RCPT_DEFER) {
				long long next = retry_next(env->arrival, env->rcpt[i].attempts + 1,
				    dm->now, &cm->retry_intervals, cm->bounce_after,
				    deliver_rand(dm->d));

				if (next < 0) {
					char why[600];

					snprintf(why, sizeof(why), "retry timeout exceeded (bounce_after %llds); last error: %s",
					    cm->bounce_after, t->res.text);
					dtarget_set(t, SC_RCPT_FAIL, why);
				} else if (st != SC_RCPT_DEFER) {
					/* one deferred target keeps the recipient
					 * pending; the others are "done" */
					st = SC_RCPT_DEFER;
					text = t->res.text;
					env->rcpt[i].next_retry = next;
				}
			}
			if (t->res.status == SC_RCPT_FAIL) {
				failed = 1;
				if (st != SC_RCPT_DEFER) {
					st = SC_RCPT_FAIL;
					text = t->res.text;
				}
				if (IS_ENABLED(CONFIG_BOUNCE) && br && n_br < dm->n_t + 1 &&
				    bounce_rcpt_wanted(env->rcpt[i].notify, "failed")) {
					dtarget_dsn(t);
					br[n_br].addr = t->addr;
					br[n_br].orcpt = env->rcpt[i].orcpt;
					br[n_br].status = t->status;
					br[n_br].action = "failed";
					br[n_br].remote_mta = t->remote_mta[0] ? t->remote_mta : NULL;
					br[n_br].diagnostic = t->diagnostic;
					br[n_br].last_attempt = dm->now;
					n_br++;
				}
			}
			if (st == SC_RCPT_OK && !text)
				text = t->res.text;
		}
		if (!seen && dm->planned && dm->planned[i] && env->rcpt[i].n_done) {
			/* every alias target was settled in earlier attempts */
			text = "every alias target was delivered or failed earlier";
			seen = 1;
		}
		if (!seen) {
			if (env->rcpt[i].state == SPOOL_RCPT_PENDING)
				pending = 1;	/* not due in this attempt */
			continue;
		}
		if (st == SC_RCPT_DEFER && dm->lines) {
			/* targets settled now are not tried again (no duplicate
			 * delivery, no second report) */
			for (k = 0; k < dm->n_t; k++) {
				const struct dtarget *t = &dm->t[k];
				int n;

				if (t->rcpt != i || t->res.status == SC_RCPT_DEFER ||
				    off + 400 >= cap)
					continue;
				n = spool_state_line(dm->lines + off, cap - off, dm->now,
				    SPOOL_ST_DONE, i, 0, t->addr);
				if (n > 0)
					off += (size_t)n;
			}
		}
		if (st == SC_RCPT_DEFER)
			pending = 1;
		if (dm->lines && off + 200 < cap) {
			int n = spool_state_line(dm->lines + off, cap - off, dm->now,
			    st == SC_RCPT_OK ? SPOOL_ST_OK : st == SC_RCPT_FAIL ?
			    SPOOL_ST_FAIL : SPOOL_ST_DEFER, i, env->rcpt[i].next_retry,
			    text ? text : "");

			if (n > 0)
				off += (size_t)n;
		}
	}
	dm->lines_len = off;
	dm->complete = !pending;
	if (IS_ENABLED(CONFIG_BOUNCE) && !br && failed) {
		/* no memory to tell which failures want a report: record
		 * nothing, keep the message, try again later (a failure is
		 * recorded only with its report) */
		log_err("%s: cannot build the failure report (out of memory): "
		    "tried again later", dm->id);
		dm->lines_len = 0;
		dm->complete = 0;
	} else if (IS_ENABLED(CONFIG_BOUNCE) && br && pending) {
		size_t n_failed = n_br;
		unsigned warned = dmsg_delay_warning(dm, br, &n_br, 2 * dm->n_t + 1);

		if (n_br)
			dmsg_bounce(dm, br, n_br, n_failed, warned, off, cap);
	} else if (n_br && IS_ENABLED(CONFIG_BOUNCE)) {
		dmsg_bounce(dm, br, n_br, n_br, 0, off, cap);
	}
	free(br);
	dm->work.data = dm;
	if (uv_queue_work(dm->d->loop, &dm->work, dmsg_finish_work, dmsg_finish_after) < 0) {
		dmsg_finish_work(&dm->work);
		dmsg_finish_after(&dm->work, 0);
	}
}

static void dmsg_group_done(struct dgroup *g)
{
	struct dmsg *dm = g->dm;
	size_t i;

	/* copy results to the targets */
	for (i = 0; i < g->n; i++) {
		struct dtarget *t = &dm->t[g->tix[i]];

		t->res = g->results[i];
		if (t->res.status == SC_RCPT_PENDING)
			dtarget_set(t, SC_RCPT_DEFER, g->error[0] ? g->error :
			    "no host could be reached");
		if (!t->host[0] && g->addr[0])
			snprintf(t->host, sizeof(t->host), "%s [%s]:%u", g->host, g->addr,
			    g->port);
	}
	if (++dm->g_done == dm->n_g)
		dmsg_finish(dm);
}

/* dmsg_route - expand and route the due recipients into targets */
struct dmsg_expand {
	struct dmsg *dm;
	size_t rcpt;
	int oom;
};

static void dmsg_expand_cb(void *ctx, const char *addr, const char *why)
{
	struct dmsg_expand *e = ctx;
	struct dmsg *dm = e->dm;
	struct dtarget *t;

	t = realloc(dm->t, (dm->n_t + 1) * sizeof(*t));
	if (!t) {
		e->oom = 1;
		return;
	}
	dm->t = t;
	t = &t[dm->n_t++];
	memset(t, 0, sizeof(*t));
	t->rcpt = e->rcpt;
	t->group = -1;
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	if (spool_rcpt_done(&dm->m->env->rcpt[e->rcpt], addr)) {
		dm->n_t--;	/* settled in an earlier attempt */
		return;
	}
	if (why) {
		dtarget_set(t, SC_RCPT_FAIL, why);
		return;
	}
	if (router_pick(dm->cfg, addr, &t->rc) < 0) {
		dtarget_set(t, SC_RCPT_FAIL, "550 5.4.4 Unrouteable address: no router takes its domain");
		return;
	}
	if (t->rc.kind == ROUTER_MX && !dm->d->dns) {
		dtarget_set(t, SC_RCPT_DEFER, "MX delivery: no DNS resolver (see the log)");
		return;
	}
	t->res.status = SC_RCPT_PENDING;
}

static int dmsg_plan(struct dmsg *dm)
{
	struct spool_env *env = dm->m->env;
	size_t i, k;

	if (!(dm->planned = calloc(env->n_rcpt + 1, 1)))
		return -ENOMEM;
	for (i = 0; i < env->n_rcpt; i++) {
		struct dmsg_expand e = { dm, i, 0 };

		if (env->rcpt[i].state != SPOOL_RCPT_PENDING)
			continue;
		if (!dm->force && env->rcpt[i].next_retry > dm->now)
			continue;
		dm->planned[i] = 1;
		router_expand(dm->cfg, env->rcpt[i].addr, dmsg_expand_cb, &e);
		if (e.oom)
			return -ENOMEM;
	}
	/* group pending targets by router */
	for (k = 0; k < dm->n_t; k++) {
		struct dtarget *t = &dm->t[k];
		size_t gi;

		if (t->res.status != SC_RCPT_PENDING)
			continue;
		for (gi = 0; gi < dm->n_g; gi++)
			if (dm->t[dm->g[gi].tix[0]].rc.router == t->rc.router &&
			    (t->rc.kind != ROUTER_MX || strcasecmp(dm->g[gi].domain,
			    router_domain(t->addr)) == 0))
				break;
		if (gi == dm->n_g) {
			struct dgroup *g = realloc(dm->g, (dm->n_g + 1) * sizeof(*g));

			if (!g)
				return -ENOMEM;
			dm->g = g;
			memset(&g[gi], 0, sizeof(g[gi]));
			g[gi].dm = dm;
			g[gi].index = (int)gi;
			g[gi].mx = t->rc.kind == ROUTER_MX;
			dcopy(g[gi].domain, sizeof(g[gi].domain), router_domain(t->addr));
			dm->n_g++;
		}
		{
			struct dgroup *g = &dm->g[gi];
			size_t *tix = realloc(g->tix, (g->n + 1) * sizeof(*tix));
			const char **rc;

			if (!tix)
				return -ENOMEM;
			g->tix = tix;
			rc = realloc(g->rcpts, (g->n + 1) * sizeof(*rc));
			if (!rc)
				return -ENOMEM;
			g->rcpts = rc;
			g->tix[g->n] = k;
			g->rcpts[g->n] = t->addr;
			g->n++;
			t->group = (int)gi;
		}
	}
	for (k = 0; k < dm->n_g; k++) {
		struct dgroup *g = &dm->g[k];
		size_t j;

		g->results = calloc(g->n, sizeof(*g->results));
		g->notify = calloc(g->n, sizeof(*g->notify));
		g->orcpt = calloc(g->n, sizeof(*g->orcpt));
		if (!g->results || !g->notify || !g->orcpt)
			return -ENOMEM;
		/* DSN requests go on with the address they were given for; an
		 * alias target is a new recipient (RFC 3461 6.2.7) */
		for (j = 0; j < g->n; j++) {
			const struct dtarget *t = &dm->t[g->tix[j]];
			const struct spool_rcpt *r = &env->rcpt[t->rcpt];

			if (strcmp(r->addr, t->addr) == 0) {
				g->notify[j] = r->notify;
				g->orcpt[j] = r->orcpt;
			}
		}
	}
	return 0;
}

/* dmsg_start - one attempt of message id; 0, or -EAGAIN (in use), or <0 */
static int dmsg_start(struct deliver *d, const char *id, int force)
{
	struct dmsg *dm;
	char err[256];
	size_t i;
	int r;

	for (dm = d->active; dm; dm = dm->next)
		if (strcmp(dm->id, id) == 0)
			return -EAGAIN;
	dm = calloc(1, sizeof(*dm));
	if (!dm)
		return -ENOMEM;
	dm->d = d;
	dm->force = force;
	dm->now = (long long)time(NULL);
	snprintf(dm->id, sizeof(dm->id), "%s", id);
	r = spool_msg_open(d->sp, id, 1, &dm->m, err, sizeof(err));
	if (r < 0) {
		if (r != -EAGAIN && r != -ENOENT)
			log_err("%s: cannot open for delivery: %s", id, err);
		free(dm);
		return r;
	}
	dm->cfg = config_hold(d->cfg);
	dm->next = d->active;
	d->active = dm;
	d->n_active++;
	if ((r = dmsg_plan(dm)) < 0) {
		log_err("%s: out of memory planning the delivery", id);
		dmsg_free(dm);
		return r;
	}
	if (dm->n_t == 0) {
		/* nothing due (or all decided): nothing to record */
		int all_done = 1;

		for (i = 0; i < dm->m->env->n_rcpt; i++)
			if (dm->m->env->rcpt[i].state == SPOOL_RCPT_PENDING)
				all_done = 0;
		if (!all_done) {
			dmsg_free(dm);
			return 0;
		}
	}
	for (i = 0; i < dm->n_g; i++) {
		struct dgroup *g = &dm->g[i];

		uv_timer_init(d->loop, &g->timer);
		g->timer.data = g;
		g->timer_open = 1;
		dm->handles++;
	}
	if (dm->n_g == 0) {
		dmsg_finish(dm);
		return 0;
	}
	for (i = 0; i < dm->n_g; i++)
		dgroup_start(&dm->g[i]);
	return 0;
}

/* ------------------------------------------------------------ engine */

static void deliver_kick(struct deliver *d)
{
	unsigned max;

	if (d->kicking) {
		d->kick_again = 1;
		return;
	}
	d->kicking = 1;
	do {
		d->kick_again = 0;
		max = (unsigned)d->cfg->main.remote_max_parallel;
		while (!d->stopping && d->n_pending && d->n_active < max) {
			char *id = d->pending[0];
			int force = d->pending_force[0];

			memmove(d->pending, d->pending + 1,
			    (d->n_pending - 1) * sizeof(*d->pending));
			memmove(d->pending_force, d->pending_force + 1,
			    (d->n_pending - 1) * sizeof(*d->pending_force));
			d->n_pending--;
			if (dmsg_start(d, id, force) == -EAGAIN && force == 2)
				deliver_later(d, id);
			free(id);
		}
	} while (d->kick_again);
	d->kicking = 0;
	if (d->n_active == 0 && d->n_pending == 0 && (d->n_later == 0 || d->stopping)) {
		if (d->stopping && d->done && !d->closing) {
			size_t i;

			d->closing = 1;
			for (i = 0; i < d->n_later; i++)
				free(d->later[i]);
			free(d->later);
			d->later = NULL;
			d->n_later = 0;
			while (d->idle)
				dconn_close(d->idle);
			d->close_wait = 2;
			uv_close((uv_handle_t *)&d->idle_timer, deliver_closed_cb);
			uv_close((uv_handle_t *)&d->later_timer, deliver_closed_cb);
			return;
		}
		if (d->idle_cb)
			d->idle_cb(d->idle_arg);
	}
}

static void deliver_later_cb(uv_timer_t *t)
{
	struct deliver *d = t->data;
	char **ids = d->later;
	size_t n = d->n_later, i;

	d->later = NULL;
	d->n_later = 0;
	for (i = 0; i < n; i++) {
		if (!d->stopping)
			deliver_message(d, ids[i]);
		free(ids[i]);
	}
	free(ids);
}

/* deliver_later - a new message is still locked by the process that
 * queued it (the rename is seen before its writer lets go): again in 1s */
static void deliver_later(struct deliver *d, const char *id)
{
	char **v;

	if (d->n_later >= 1000 || !(v = realloc(d->later, (d->n_later + 1) * sizeof(*v))))
		return;		/* the next queue run finds it */
	d->later = v;
	if (!(v[d->n_later] = strdup(id)))
		return;
	d->n_later++;
	uv_timer_start(&d->later_timer, deliver_later_cb, 1000, 0);
}

static void deliver_enqueue(struct deliver *d, const char *id, int force)
{
	struct dmsg *dm;
	size_t i;
	char *s;

	for (dm = d->active; dm; dm = dm->next)
		if (strcmp(dm->id, id) == 0)
			return;
	for (i = 0; i < d->n_pending; i++)
		if (strcmp(d->pending[i], id) == 0)
			return;
	if (d->n_pending >= DELIVER_PENDING_MAX)
		return;		/* the next queue run finds it */
	if (d->n_pending == d->cap_pending) {
		size_t cap = d->cap_pending ? d->cap_pending * 2 : 32;
		char **p = realloc(d->pending, cap * sizeof(*p));
		int *f;

		if (!p)
			return;
		d->pending = p;
		f = realloc(d->pending_force, cap * sizeof(*f));
		if (!f)
			return;
		d->pending_force = f;
		d->cap_pending = cap;
	}
	if (!(s = strdup(id)))
		return;
	d->pending[d->n_pending] = s;
	d->pending_force[d->n_pending] = force;
	d->n_pending++;
}

int deliver_new(uv_loop_t *loop, struct config *cfg, struct spool *sp,
    struct deliver **out)
{
	struct deliver *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->cfg = config_hold(cfg);
	d->sp = sp;
	uv_timer_init(loop, &d->later_timer);
	d->later_timer.data = d;
	uv_timer_init(loop, &d->idle_timer);
	d->idle_timer.data = d;
	retry_hosts_init(&d->hosts);
	if (event_runner_new(loop, &d->ev) < 0)
		log_err("events: out of memory: no event actions");
	if (IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP)) {
		char err[256];

		if (dns_resolver_new(loop, cfg, &d->dns, err, sizeof(err)) < 0)
			log_err("DNS resolver: %s: MX delivery defers", err);
	}
	d->rnd = (unsigned)time(NULL) ^ (unsigned)uv_hrtime() ^ 0x9e3779b9u;
	if (!d->rnd)
		d->rnd = 1;
	*out = d;
	return 0;
}

void deliver_reload(struct deliver *d, struct config *cfg)
{
	config_release(d->cfg);
	d->cfg = config_hold(cfg);
	/* a new resolver: dns_servers (or a changed resolv.conf) and the
	 * DNSSEC policy take effect for the next lookups; the lookups under
	 * way finish with the old one */
	if (IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP)) {
		struct dns_resolver *dns;
		char err[256], desc[256];

		if (dns_resolver_new(d->loop, cfg, &dns, err, sizeof(err)) < 0) {
			log_err("DNS resolver: %s: %s", err, d->dns ?
			    "going on with the one loaded before" : "MX delivery defers");
			return;
		}
		dns_resolver_retire(d->dns);
		d->dns = dns;
		dns_resolver_describe(dns, desc, sizeof(desc));
		log_info("DNS resolver: %s", desc);
	}
}

void deliver_message(struct deliver *d, const char *id)
{
	if (d->stopping || !spool_id_valid(id))
		return;
	deliver_enqueue(d, id, 2);	/* 2: new, retried when still locked */
	deliver_kick(d);
}

void deliver_queue_run(struct deliver *d, int force)
{
	char **ids;
	size_t n, i;

	if (d->stopping)
		return;
	if (spool_list(d->sp, &ids, &n) < 0) {
		log_err("queue run: cannot list the queue");
		return;
	}
	for (i = 0; i < n; i++)
		deliver_enqueue(d, ids[i], force);
	spool_list_free(ids, n);
	deliver_kick(d);
}

void deliver_on_idle(struct deliver *d, void (*cb)(void *), void *arg)
{
	d->idle_cb = cb;
	d->idle_arg = arg;
}

void deliver_stop(struct deliver *d, void (*done)(void *), void *arg)
{
	size_t i;

	d->stopping = 1;
	uv_timer_stop(&d->later_timer);
	d->done = done;
	d->done_arg = arg;
	for (i = 0; i < d->n_pending; i++)
		free(d->pending[i]);
	d->n_pending = 0;
	deliver_kick(d);
}

unsigned deliver_busy(const struct deliver *d)
{
	return d->n_active + (unsigned)d->n_pending + (unsigned)d->n_later;
}
