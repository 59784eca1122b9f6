/*
 * test_dns_resolver.c - the stub resolver's life cycle against a DNS
 * server on loopback (a uv_udp socket in the same loop that answers when
 * the test says so): a retired resolver (a reload made another) still
 * answers the lookups it had under way and then frees itself; a freed
 * one cancels them. The sanitizer pass of make check finds a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "core/config.h"
#include "dns/dns_resolver.h"

/* the server: keeps the first query and its sender, answers on demand */
struct fake_dns {
	uv_udp_t udp;
	unsigned port;
	unsigned char q[512];
	size_t qlen;
	struct sockaddr_storage from;
	char buf[512];
};

struct lookup_seen {
	int calls;
	enum dns_status status;
	unsigned char a[4];
};

static void fake_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fake_dns *f = h->data;

	(void)suggested;
	*buf = uv_buf_init(f->buf, sizeof(f->buf));
}

static void fake_recv_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *addr, unsigned flags)
{
	struct fake_dns *f = h->data;

	(void)flags;
	if (n <= 12 || !addr || f->qlen)
		return;
	memcpy(f->q, buf->base, (size_t)n);
	f->qlen = (size_t)n;
	memcpy(&f->from, addr, sizeof(struct sockaddr_in));
}

static void fake_start(uv_loop_t *loop, struct fake_dns *f)
{
	struct sockaddr_in sa;
	struct sockaddr_storage got;
	int len = sizeof(got);

	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_udp_init(loop, &f->udp), 0);
	f->udp.data = f;
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
	assert_int_equal(uv_udp_bind(&f->udp, (struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&got, &len), 0);
	f->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc_cb, fake_recv_cb), 0);
}

/* fake_answer - the query turned into a response with one A record
 * 192.0.2.7 for its question */
static void fake_answer(struct fake_dns *f)
{
	static const unsigned char rr[] = {
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 7
	};
	unsigned char pkt[600];
	size_t qend = 12;
	uv_buf_t b;

	assert_true(f->qlen > 12);
	while (qend < f->qlen && f->q[qend])
		qend += (size_t)f->q[qend] + 1;
	qend += 1 + 4;		/* the root label, QTYPE, QCLASS */
	assert_true(qend <= f->qlen);
	memcpy(pkt, f->q, qend);
	pkt[2] = 0x81;		/* QR, RD */
	pkt[3] = 0x80;		/* RA, NOERROR */
	pkt[6] = 0;
	pkt[7] = 1;		/* ANCOUNT */
	pkt[8] = pkt[9] = pkt[10] = pkt[11] = 0;
	memcpy(pkt + qend, rr, sizeof(rr));
	b = uv_buf_init((char *)pkt, (unsigned)(qend + sizeof(rr)));
	assert_int_equal(uv_udp_try_send(&f->udp, &b, 1, (struct sockaddr *)&f->from),
	    (int)b.len);
}

static void seen_cb(void *arg, const struct dns_result *res)
{
	struct lookup_seen *s = arg;

	s->calls++;
	s->status = res->status;
	if (res->status == DNS_ST_OK && res->n_a)
		memcpy(s->a, res->a[0], 4);
}

static struct config *config_for(unsigned port)
{
	char text[256];
	struct config *cfg;

	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%u\n", port);
	cfg = config_load_string("test.conf", text, stderr);
	assert_non_null(cfg);
	return cfg;
}

/* setup - a loop, the server, and a resolver that asks it; the
 * resolver holds the config */
static struct dns_resolver *setup(uv_loop_t *loop, struct fake_dns *f)
{
	struct dns_resolver *r;
	struct config *cfg;
	char err[256];

	assert_int_equal(uv_loop_init(loop), 0);
	fake_start(loop, f);
	cfg = config_for(f->port);
	assert_int_equal(dns_resolver_new(loop, cfg, &r, err, sizeof(err)), 0);
	config_release(cfg);
	return r;
}

/* run_until - run the loop until *flag is set (or 5 s of loop time) */
static void run_until(uv_loop_t *loop, const size_t *flag)
{
	uint64_t end = uv_now(loop) + 5000;

	while (!*flag && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
}

static void close_all(uv_loop_t *loop, struct fake_dns *f)
{
	uv_close((uv_handle_t *)&f->udp, NULL);
	while (uv_run(loop, UV_RUN_DEFAULT))
		;
	assert_int_equal(uv_loop_close(loop), 0);
}

static void test_retired_resolver_finishes_its_lookups(void **state)
{
	uv_loop_t loop;
	struct fake_dns f;
	struct dns_resolver *r = setup(&loop, &f), *r2;
	struct dns_lookup *q;
	struct lookup_seen seen = { 0 };
	struct config *cfg;
	char err[256];

	(void)state;
	assert_int_equal(dns_lookup(r, "mx.example.net", DNS_T_A, seen_cb, &seen, &q), 0);
	run_until(&loop, &f.qlen);
	assert_true(f.qlen > 0);
	/* a reload: a new resolver takes over, the old one retires with
	 * its lookup under way */
	cfg = config_for(f.port);
	assert_int_equal(dns_resolver_new(&loop, cfg, &r2, err, sizeof(err)), 0);
	config_release(cfg);
	dns_resolver_retire(r);
	assert_int_equal(seen.calls, 0);
	fake_answer(&f);
	while (!seen.calls && uv_run(&loop, UV_RUN_ONCE))
		;
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.status, DNS_ST_OK);
	assert_memory_equal(seen.a, "\xc0\x00\x02\x07", 4);
	dns_resolver_free(r2);
	close_all(&loop, &f);	/* r freed itself once its lookup closed */
}

static void test_retired_idle_resolver_goes_at_once(void **state)
{
	uv_loop_t loop;
	struct fake_dns f;
	struct dns_resolver *r = setup(&loop, &f);

	(void)state;
	dns_resolver_retire(r);
	dns_resolver_retire(NULL);
	close_all(&loop, &f);
}

static void test_freed_resolver_cancels(void **state)
{
	uv_loop_t loop;
	struct fake_dns f;
	struct dns_resolver *r = setup(&loop, &f);
	struct dns_lookup *q;
	struct lookup_seen seen = { 0 };

	(void)state;
	assert_int_equal(dns_lookup(r, "mx.example.net", DNS_T_A, seen_cb, &seen, &q), 0);
	run_until(&loop, &f.qlen);
	dns_resolver_free(r);
	fake_answer(&f);
	close_all(&loop, &f);
	assert_int_equal(seen.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retired_resolver_finishes_its_lookups),
		cmocka_unit_test(test_retired_idle_resolver_goes_at_once),
		cmocka_unit_test(test_freed_resolver_cancels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
