/*
 * dns_resolver.c - the stub resolver on libuv (dns_resolver.h).
 *
 * Each try of a lookup opens a new UDP socket (a fresh random source port,
 * RFC 5452 section 4.5) and sends a query with a fresh random ID; it takes
 * only an answer that comes from the server asked, from its port, with the
 * ID and question of the query (dns_answer_match). A truncated answer is
 * asked again over TCP from the same server (RFC 7766). No answer within
 * DNS_TRY_MS: the next server; each server is tried DNS_ROUNDS times,
 * then the lookup fails as a temporary failure (never as "no records").
 *
 * The cache keeps answer packets (not parsed results) for their TTL, at
 * most CONFIG_DNS_CACHE_ENTRIES of them, and parses them again on a hit,
 * so a cached answer is judged by exactly the same code as a fresh one.
 * Temporary failures are not cached.
 *
 * Ownership: the resolver owns its lookups; a lookup owns its handles and
 * is freed after the last of them closed, whether it finished or was
 * cancelled.
 */
#include "dns/dns_resolver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addrlist.h"
#include "core/config.h"
#include "core/kconfig.h"
#include "dns/dns.h"
#include "ports/port.h"

#define DNS_TRY_MS 2500
#define DNS_ROUNDS 2
#define DNS_UDP_MAX 4096

#ifdef CONFIG_DNS_CACHE_ENTRIES
#define DNS_CACHE_N CONFIG_DNS_CACHE_ENTRIES
#else
#define DNS_CACHE_N 1
#endif

struct dns_cache_entry {
	char name[256];
	int type;
	int trusted;
	uint64_t expires;	/* uv_now() milliseconds */
	unsigned char *pkt;
	size_t len;
};

struct dns_resolver {
	uv_loop_t *loop;
	struct config *cfg;		/* held */
	struct dns_servers servers;
	struct dns_lookup *lookups;
	int freeing;
	int retired;			/* freed when its last lookup has gone */
	struct dns_cache_entry cache[DNS_CACHE_N];
	size_t cache_next;
};

struct dns_lookup {
	struct dns_resolver *r;
	struct dns_lookup *next, *prev;
	char name[256];
	int type;
	dns_lookup_cb cb;
	void *arg;
	int cancelled, finished;
	unsigned id;
	size_t server;
	unsigned tries;
	int handles;
	uv_timer_t timer;
	uv_udp_t *udp;			/* this try's socket (heap: a closing */
	uv_tcp_t *tcp;			/* one is never reused) */
	int via_tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	struct sockaddr_storage sa;
	unsigned char q[512 + 2];	/* 2: TCP length prefix */
	size_t qlen;
	unsigned char udpbuf[DNS_UDP_MAX];
	unsigned char *tbuf;
	size_t tlen, tcap;
};

static void dns_try(struct dns_lookup *q);
static void dns_try_tcp(struct dns_lookup *q);

/* ------------------------------------------------------------ helpers */

static void dns_handle_closed_cb(uv_handle_t *h)
{
	struct dns_lookup *q = h->data;
	struct dns_resolver *r = q->r;

	if (h != (uv_handle_t *)&q->timer)
		free(h);	/* a try's socket */
	if (--q->handles > 0 || !q->finished)
		return;
	if (q->prev)
		q->prev->next = q->next;
	else
		r->lookups = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q->tbuf);
	free(q);
	if (r->freeing == 2 && !r->lookups)
		free(r);
	else if (r->retired && !r->freeing && !r->lookups)
		dns_resolver_free(r);
}

static void dns_close_sockets(struct dns_lookup *q)
{
	if (q->udp) {
		uv_close((uv_handle_t *)q->udp, dns_handle_closed_cb);
		q->udp = NULL;
	}
	if (q->tcp) {
		uv_close((uv_handle_t *)q->tcp, dns_handle_closed_cb);
		q->tcp = NULL;
	}
}

static int dns_server_addr(const struct dns_server *s, struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (strchr(s->addr, ':'))
		return uv_ip6_addr(s->addr, (int)s->port, (struct sockaddr_in6 *)sa);
	return uv_ip4_addr(s->addr, (int)s->port, (struct sockaddr_in *)sa);
}

static int dns_same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    memcmp(&x->sin_addr, &y->sin_addr, sizeof(x->sin_addr)) == 0;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

/* ------------------------------------------------------------ cache */

static void dns_cache_put(struct dns_resolver *r, const struct dns_lookup *q,
    const unsigned char *pkt, size_t len, const struct dns_result *res)
{
	struct dns_cache_entry *e;
	unsigned char *copy;

	if (!IS_ENABLED(CONFIG_DNS_CACHE) || res->status == DNS_ST_TEMPFAIL || res->ttl == 0)
		return;
	if (!(copy = malloc(len)))
		return;
	memcpy(copy, pkt, len);
	e = &r->cache[r->cache_next];
	r->cache_next = (r->cache_next + 1) % DNS_CACHE_N;
	free(e->pkt);
	snprintf(e->name, sizeof(e->name), "%s", q->name);
	e->type = q->type;
	e->trusted = r->servers.s[q->server].trusted;
	e->expires = uv_now(r->loop) + (uint64_t)res->ttl * 1000;
	e->pkt = copy;
	e->len = len;
}

static const struct dns_cache_entry *dns_cache_get(struct dns_resolver *r,
    const char *name, int type)
{
	size_t i;

	if (!IS_ENABLED(CONFIG_DNS_CACHE))
		return NULL;
	for (i = 0; i < DNS_CACHE_N; i++) {
		struct dns_cache_entry *e = &r->cache[i];

		if (!e->pkt || e->type != type || strcasecmp(e->name, name) != 0)
			continue;
		if (e->expires <= uv_now(r->loop)) {
			free(e->pkt);
			e->pkt = NULL;
			continue;
		}
		return e;
	}
	return NULL;
}

/* ------------------------------------------------------------ policy */

/* dns_policy - dnssec_request_domains: outside it an AD bit is not
 * believed (as if DNSSEC had not been asked for); dnssec_require_domains:
 * inside it an answer that is not secure is a temporary failure */
static void dns_policy(const struct dns_resolver *r, const char *name,
    struct dns_result *res)
{
	const struct config_main *m;

	if (!r->cfg)
		return;
	m = &r->cfg->main;
	if (res->sec == DNS_SEC_SECURE &&
	    !hostlist_match(m->dnssec_request_domains, name, NULL, m->primary_hostname))
		res->sec = DNS_SEC_INSECURE;
	if (res->status != DNS_ST_TEMPFAIL && res->sec != DNS_SEC_SECURE &&
	    hostlist_match(m->dnssec_require_domains, name, NULL, m->primary_hostname)) {
		dns_result_free(res);	/* a TEMPFAIL carries no records */
		res->status = DNS_ST_TEMPFAIL;
		snprintf(res->error, sizeof(res->error), "DNSSEC is required for %.80s "
		    "(dnssec_require_domains) but the answer is not secure", name);
	}
}

/* ------------------------------------------------------------ finish */

/* dns_finish - deliver res (or a failure text when res is NULL) */
static void dns_finish(struct dns_lookup *q, const struct dns_result *res,
    const char *fail)
{
	struct dns_result tmp;

	if (q->finished)
		return;
	q->finished = 1;
	uv_timer_stop(&q->timer);
	dns_close_sockets(q);
	if (!res) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.status = DNS_ST_TEMPFAIL;
		tmp.sec = DNS_SEC_INSECURE;
		tmp.qtype = q->type;
		snprintf(tmp.qname, sizeof(tmp.qname), "%s", q->name);
		snprintf(tmp.error, sizeof(tmp.error), "%s", fail);
		res = &tmp;
	}
	if (!q->cancelled && q->cb)
		q->cb(q->arg, res);
	uv_close((uv_handle_t *)&q->timer, dns_handle_closed_cb);
}

/* dns_answer - a packet that matched our query */
static void dns_answer(struct dns_lookup *q, const unsigned char *pkt, size_t len,
    int trusted, int from_cache)
{
	struct dns_result res;

	memset(&res, 0, sizeof(res));
	if (dns_answer_parse(pkt, len, q->name, q->type, trusted, &res) < 0) {
		dns_result_free(&res);
		dns_finish(q, NULL, "out of memory");
		return;
	}
	if (res.tc && !from_cache && !q->via_tcp) {
		/* truncated: the same server over TCP */
		dns_result_free(&res);
		dns_close_sockets(q);
		dns_try_tcp(q);
		return;
	}
	if (!from_cache)
		dns_cache_put(q->r, q, pkt, len, &res);
	dns_policy(q->r, q->name, &res);
	dns_finish(q, &res, NULL);
	dns_result_free(&res);
}

/* ------------------------------------------------------------ UDP */

static void dns_udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_lookup *q = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)q->udpbuf, sizeof(q->udpbuf));
}

static void dns_udp_recv_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	struct dns_lookup *q = h->data;

	(void)buf;
	if (q->finished || n <= 0 || !from || (flags & UV_UDP_PARTIAL) || h != q->udp)
		return;
	/* anti-spoofing: the server asked, its port, our ID and question */
	if (!dns_same_addr(from, &q->sa) ||
	    !dns_answer_match(q->udpbuf, (size_t)n, q->id, q->name, q->type))
		return;
	uv_udp_recv_stop(h);
	dns_answer(q, q->udpbuf, (size_t)n, q->r->servers.s[q->server].trusted, 0);
}

static void dns_udp_send_cb(uv_udp_send_t *req, int status)
{
	struct dns_lookup *q = req->data;

	free(req);
	(void)status;	/* a failed send ends in the timeout: next server */
	(void)q;
}

/* ------------------------------------------------------------ TCP */

static void dns_tcp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_lookup *q = h->data;

	(void)suggested;
	if (q->tcap - q->tlen < 4096) {
		size_t cap = q->tcap ? q->tcap * 2 : 8192;
		unsigned char *b;

		if (cap > 65537 + 4096)
			cap = 65537 + 4096;
		if (cap <= q->tcap || !(b = realloc(q->tbuf, cap))) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		q->tbuf = b;
		q->tcap = cap;
	}
	*buf = uv_buf_init((char *)q->tbuf + q->tlen, (unsigned)(q->tcap - q->tlen));
}

static void dns_tcp_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct dns_lookup *q = s->data;
	size_t want;

	(void)buf;
	if (q->finished)
		return;
	if (n < 0) {
		uv_read_stop(s);
		dns_close_sockets(q);
		dns_try(q);	/* the next server */
		return;
	}
	q->tlen += (size_t)n;
	if (q->tlen < 2)
		return;
	want = ((size_t)q->tbuf[0] << 8 | q->tbuf[1]) + 2;
	if (q->tlen < want)
		return;
	uv_read_stop(s);
	if (!dns_answer_match(q->tbuf + 2, want - 2, q->id, q->name, q->type)) {
		dns_close_sockets(q);
		dns_try(q);
		return;
	}
	dns_answer(q, q->tbuf + 2, want - 2, q->r->servers.s[q->server].trusted, 0);
}

static void dns_tcp_write_cb(uv_write_t *req, int status)
{
	struct dns_lookup *q = req->data;

	if (status < 0 && !q->finished) {
		dns_close_sockets(q);
		dns_try(q);
	}
}

static void dns_tcp_connect_cb(uv_connect_t *req, int status)
{
	struct dns_lookup *q = req->data;
	uv_buf_t b;

	if (q->finished)
		return;
	if (status < 0) {
		dns_close_sockets(q);
		dns_try(q);
		return;
	}
	b = uv_buf_init((char *)q->q, (unsigned)(q->qlen + 2));
	q->wreq.data = q;
	if (!q->tcp ||
	    uv_write(&q->wreq, (uv_stream_t *)q->tcp, &b, 1, dns_tcp_write_cb) < 0 ||
	    uv_read_start((uv_stream_t *)q->tcp, dns_tcp_alloc_cb, dns_tcp_read_cb) < 0) {
		dns_close_sockets(q);
		dns_try(q);
	}
}

static void dns_timeout_cb(uv_timer_t *t)
{
	struct dns_lookup *q = t->data;

	dns_close_sockets(q);
	dns_try(q);
}

static void dns_try_tcp(struct dns_lookup *q)
{
	int r;

	q->via_tcp = 1;
	q->tlen = 0;
	if (!(q->tcp = malloc(sizeof(*q->tcp)))) {
		dns_finish(q, NULL, "out of memory");
		return;
	}
	if ((r = uv_tcp_init(q->r->loop, q->tcp)) < 0) {
		free(q->tcp);
		q->tcp = NULL;
		dns_finish(q, NULL, uv_strerror(r));
		return;
	}
	q->tcp->data = q;
	q->handles++;
	q->creq.data = q;
	/* the length prefix sits in front of the query (RFC 1035 4.2.2) */
	q->q[0] = (unsigned char)(q->qlen >> 8);
	q->q[1] = (unsigned char)(q->qlen & 0xff);
	if (uv_tcp_connect(&q->creq, q->tcp, (struct sockaddr *)&q->sa, dns_tcp_connect_cb) < 0) {
		dns_close_sockets(q);
		dns_try(q);
		return;
	}
	uv_timer_start(&q->timer, dns_timeout_cb, DNS_TRY_MS * 2, 0);
}

/* dns_try - the next try: next server, new socket, new ID */
static void dns_try(struct dns_lookup *q)
{
	struct dns_resolver *r = q->r;
	uv_udp_send_t *req;
	unsigned short id;
	long len;
	uv_buf_t b;
	int rc;

	if (q->finished)
		return;
	if (q->tries >= r->servers.n * DNS_ROUNDS) {
		char why[160];

		snprintf(why, sizeof(why), "no answer from %zu DNS server%s (timeout)",
		    r->servers.n, r->servers.n == 1 ? "" : "s");
		dns_finish(q, NULL, why);
		return;
	}
	q->server = q->tries % r->servers.n;
	q->tries++;
	if (dns_server_addr(&r->servers.s[q->server], &q->sa) < 0) {
		dns_try(q);
		return;
	}
	if (uv_random(NULL, NULL, &id, sizeof(id), 0, NULL) < 0)
		id = (unsigned short)(uv_hrtime() ^ (uintptr_t)q);
	q->id = id;
	len = dns_query_build(q->name, q->type, q->id, DNS_UDP_SIZE, q->q + 2, sizeof(q->q) - 2);
	if (len < 0) {
		dns_finish(q, NULL, "not a valid domain name");
		return;
	}
	q->qlen = (size_t)len;
	q->via_tcp = 0;
	if (!(q->udp = malloc(sizeof(*q->udp)))) {
		dns_finish(q, NULL, "out of memory");
		return;
	}
	if ((rc = uv_udp_init(r->loop, q->udp)) < 0) {
		free(q->udp);
		q->udp = NULL;
		dns_finish(q, NULL, uv_strerror(rc));
		return;
	}
	q->udp->data = q;
	q->handles++;
	req = malloc(sizeof(*req));
	if (req)
		req->data = q;
	b = uv_buf_init((char *)q->q + 2, (unsigned)q->qlen);
	if (!req || uv_udp_recv_start(q->udp, dns_udp_alloc_cb, dns_udp_recv_cb) < 0 ||
	    uv_udp_send(req, q->udp, &b, 1, (struct sockaddr *)&q->sa,
	    dns_udp_send_cb) < 0) {
		free(req);
		dns_close_sockets(q);
		uv_timer_start(&q->timer, dns_timeout_cb, 0, 0);
		return;
	}
	uv_timer_start(&q->timer, dns_timeout_cb, DNS_TRY_MS, 0);
}

/* dns_start_cb - the first step of a lookup, always after dns_lookup()
 * returned: a cache hit, or the first try */
static void dns_start_cb(uv_timer_t *t)
{
	struct dns_lookup *q = t->data;
	const struct dns_cache_entry *e = dns_cache_get(q->r, q->name, q->type);

	if (e) {
		unsigned char *copy = malloc(e->len);

		if (copy) {
			memcpy(copy, e->pkt, e->len);
			dns_answer(q, copy, e->len, e->trusted, 1);
			free(copy);
			return;
		}
	}
	dns_try(q);
}

/* ------------------------------------------------------------ public */

int dns_lookup(struct dns_resolver *r, const char *name, int type,
    dns_lookup_cb cb, void *arg, struct dns_lookup **out)
{
	struct dns_lookup *q;

	if (out)
		*out = NULL;
	if (r->freeing)
		return -ECANCELED;
	if (strlen(name) >= sizeof(q->name))
		return -ENAMETOOLONG;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->r = r;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	uv_timer_init(r->loop, &q->timer);
	q->timer.data = q;
	q->handles = 1;
	q->next = r->lookups;
	if (r->lookups)
		r->lookups->prev = q;
	r->lookups = q;
	uv_timer_start(&q->timer, dns_start_cb, 0, 0);
	if (out)
		*out = q;
	return 0;
}

void dns_lookup_cancel(struct dns_lookup *q)
{
	if (!q || q->finished)
		return;
	q->cancelled = 1;
	dns_finish(q, NULL, "cancelled");
}

int dns_resolver_new(uv_loop_t *loop, struct config *cfg,
    struct dns_resolver **out, char *err, size_t errlen)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->loop = loop;
	if (cfg->main.dns_servers && cfg->main.dns_servers->n) {
		if (dns_servers_from_list(cfg->main.dns_servers, &r->servers, err, errlen) < 0) {
			free(r);
			return -EINVAL;
		}
	} else {
		FILE *f = fopen(port_resolv_conf(), "r");
		char text[8192];
		size_t n = 0;

		if (f) {
			n = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
		}
		text[n] = '\0';
		if (dns_servers_from_resolvconf(text, &r->servers) == 0) {
			struct addrlist *al = addrlist_parse("127.0.0.1", 53, err, errlen);

			if (!al || dns_servers_from_list(al, &r->servers, err, errlen) < 0) {
				addrlist_free(al);
				free(r);
				return -EINVAL;
			}
			addrlist_free(al);
		}
	}
	r->cfg = config_hold(cfg);
	/* whose AD bit is believed (RFC 6698 1.1 leaves it to local policy) */
	{
		size_t i;

		for (i = 0; i < r->servers.n; i++)
			r->servers.s[i].trusted = hostlist_match(cfg->main.dns_trusted_servers,
			    NULL, r->servers.s[i].addr, NULL);
	}
	*out = r;
	return 0;
}

void dns_resolver_describe(const struct dns_resolver *r, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < r->servers.n && off < len; i++) {
		const struct dns_server *s = &r->servers.s[i];
		int n = snprintf(buf + off, len - off, "%s%s%s%s:%u%s", i ? ", " : "",
		    strchr(s->addr, ':') ? "[" : "", s->addr, strchr(s->addr, ':') ? "]" : "",
		    s->port, s->trusted ? " (trusted)" : " (AD not trusted)");

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void dns_resolver_free(struct dns_resolver *r)
{
	struct dns_lookup *q, *next;
	size_t i;

	if (!r)
		return;
	r->freeing = 1;
	for (q = r->lookups; q; q = next) {
		next = q->next;
		dns_lookup_cancel(q);
	}
	for (i = 0; i < DNS_CACHE_N; i++)
		free(r->cache[i].pkt);
	config_release(r->cfg);
	r->cfg = NULL;
	/* lookups still closing keep a pointer to r: they unlink themselves
	 * from r->lookups, which must stay valid until they are gone */
	if (!r->lookups)
		free(r);
	else
		r->freeing = 2;
}

void dns_resolver_retire(struct dns_resolver *r)
{
	if (!r)
		return;
	if (!r->lookups)
		dns_resolver_free(r);
	else
		r->retired = 1;
}

/* the caller's callback and whether it ran (dns_lookup_wait) */
struct dns_wait {
	dns_lookup_cb cb;
	void *arg;
	int done;
};

static void dns_wait_cb(void *arg, const struct dns_result *res)
{
	struct dns_wait *w = arg;

	w->cb(w->arg, res);
	w->done = 1;
}

int dns_lookup_wait(struct dns_resolver *r, uv_loop_t *loop, const char *name,
    int type, dns_lookup_cb cb, void *arg)
{
	struct dns_wait w = { cb, arg, 0 };
	int e = dns_lookup(r, name, type, dns_wait_cb, &w, NULL);

	if (e < 0)
		return e;
	while (!w.done)
		uv_run(loop, UV_RUN_ONCE);
	return 0;
}
