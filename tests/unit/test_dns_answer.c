/*
 * test_dns_answer.c - DNS queries and answers (dns/dns_answer.c): one test
 * or more for every decision rule written at the top of dns_answer.c.
 * Well-formed answers are built with ldns; hostile ones are written byte
 * by byte. Every packet is parsed from an exact-size heap copy, so that a
 * read past its end shows under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/dns_answer.h"

#define F_AD	1
#define F_TC	2
#define F_NOQR	4
#define F_EDNS	8

/* build - an answer from zone-file lines; an[] and ns[] end with NULL */
static unsigned char *build(unsigned id, int rcode, int flags,
    const char *qname, int qtype, const char *const *an,
    const char *const *ns, size_t *len)
{
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	ldns_rdf *qn = ldns_dname_new_frm_str(qname);
	uint8_t *wire = NULL;
	size_t i;

	assert_non_null(pkt);
	assert_non_null(q);
	assert_non_null(qn);
	ldns_rr_set_owner(q, qn);
	ldns_rr_set_type(q, (ldns_rr_type)qtype);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q));
	ldns_pkt_set_id(pkt, (uint16_t)id);
	ldns_pkt_set_qr(pkt, !(flags & F_NOQR));
	ldns_pkt_set_rd(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_ad(pkt, (flags & F_AD) != 0);
	ldns_pkt_set_tc(pkt, (flags & F_TC) != 0);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	if (flags & F_EDNS) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_do(pkt, true);
	}
	for (i = 0; an && an[i]; i++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, an[i], 0, NULL, NULL),
		    LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr));
	}
	for (i = 0; ns && ns[i]; i++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, ns[i], 0, NULL, NULL),
		    LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, rr));
	}
	assert_int_equal(ldns_pkt2wire(&wire, pkt, len), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	return wire;
}

/* parse - dns_answer_parse on an exact-size copy; returns its result */
static int parse(const unsigned char *p, size_t n, const char *qname,
    int qtype, int trusted, struct dns_result *r)
{
	unsigned char *c = malloc(n ? n : 1);
	int ret;

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	ret = dns_answer_parse(c, n, qname, qtype, trusted, r);
	free(c);
	assert_int_equal(ret, 0);
	assert_non_null(memchr(r->error, '\0', sizeof(r->error)));
	if (r->status == DNS_ST_TEMPFAIL) {
		assert_true(r->error[0] != '\0');
		assert_int_not_equal(r->sec, DNS_SEC_SECURE);
		assert_null(r->mx);
		assert_null(r->a);
		assert_null(r->aaaa);
		assert_null(r->tlsa);
	}
	return ret;
}

/* match - dns_answer_match on an exact-size copy */
static int match(const unsigned char *p, size_t n, unsigned id,
    const char *qname, int qtype)
{
	unsigned char *c = malloc(n ? n : 1);
	int ret;

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	ret = dns_answer_match(c, n, id, qname, qtype);
	free(c);
	return ret;
}

/* one - build, parse, free the wire */
static void one(int rcode, int flags, const char *qname, int qtype,
    const char *const *an, const char *const *ns, int trusted,
    struct dns_result *r)
{
	size_t n;
	unsigned char *w = build(7, rcode, flags, qname, qtype, an, ns, &n);

	parse(w, n, qname, qtype, trusted, r);
	free(w);
}

/* a hand-written packet */
struct wbuf {
	size_t n;
	unsigned char b[70000];
};

static void put8(struct wbuf *w, unsigned v)
{
	assert_true(w->n < sizeof(w->b));
	w->b[w->n++] = (unsigned char)v;
}

static void put16(struct wbuf *w, unsigned v)
{
	put8(w, v >> 8 & 0xff);
	put8(w, v & 0xff);
}

static void put32(struct wbuf *w, unsigned long v)
{
	put16(w, (unsigned)(v >> 16 & 0xffff));
	put16(w, (unsigned)(v & 0xffff));
}

/* putname - "a.b" as labels and the root */
static void putname(struct wbuf *w, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		put8(w, (unsigned)l);
		while (l--)
			put8(w, (unsigned char)*name++);
		if (*name == '.')
			name++;
	}
	put8(w, 0);
}

/* hdr - header (id 7, QR, RD, RA) and the question */
static void hdr(struct wbuf *w, unsigned rcode, unsigned qd, unsigned an,
    unsigned ns, unsigned ar, const char *qname, unsigned qtype)
{
	w->n = 0;
	put16(w, 7);
	put8(w, 0x81);
	put8(w, 0x80 | rcode);
	put16(w, qd);
	put16(w, an);
	put16(w, ns);
	put16(w, ar);
	if (qname) {
		putname(w, qname);
		put16(w, qtype);
		put16(w, 1);
	}
}

/* rrhead - owner as a pointer to the question name, type, IN, TTL, rdlen */
static void rrhead(struct wbuf *w, unsigned type, unsigned long ttl,
    unsigned rdlen)
{
	put16(w, 0xc00c);
	put16(w, type);
	put16(w, 1);
	put32(w, ttl);
	put16(w, rdlen);
}

static void tempfail(const struct wbuf *w, const char *qname, int qtype,
    const char *why)
{
	struct dns_result r;

	parse(w->b, w->n, qname, qtype, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	if (why && !strstr(r.error, why))
		fail_msg("error '%s' lacks '%s'", r.error, why);
	dns_result_free(&r);
}

static void test_query_build(void **state)
{
	unsigned char buf[512];
	long n;
	ldns_pkt *q = NULL;
	ldns_rr *rr;
	char *name;

	(void)state;
	n = dns_query_build("mx.Example.net", DNS_T_MX, 0x1234, DNS_UDP_SIZE,
	    buf, sizeof(buf));
	assert_true(n > 12);
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(buf[1], 0x34);
	assert_int_equal(buf[2], 0x01);		/* QUERY, RD */
	assert_int_equal(buf[3], 0x20);		/* AD */
	assert_int_equal(ldns_wire2pkt(&q, buf, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(q), 0x1234);
	assert_false(ldns_pkt_qr(q));
	assert_true(ldns_pkt_rd(q));
	assert_true(ldns_pkt_ad(q));
	assert_false(ldns_pkt_cd(q));
	assert_int_equal(ldns_pkt_qdcount(q), 1);
	assert_int_equal(ldns_pkt_ancount(q), 0);
	assert_true(ldns_pkt_edns(q));
	assert_true(ldns_pkt_edns_do(q));
	assert_int_equal(ldns_pkt_edns_udp_size(q), DNS_UDP_SIZE);
	assert_int_equal(ldns_pkt_edns_version(q), 0);
	rr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_MX);
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	name = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(name, "mx.Example.net.");
	free(name);
	ldns_pkt_free(q);

	/* exactly the size needed, a final dot, and each type */
	assert_int_equal(dns_query_build("mx.example.net.", DNS_T_TLSA, 1, 512,
	    buf, (size_t)n), n);
	assert_int_equal(dns_query_build("mx.example.net", DNS_T_A, 0xffff,
	    65535, buf, (size_t)n - 1), -1);
	assert_true(dns_query_build("_25._tcp.mx.example.net", DNS_T_TLSA, 0,
	    DNS_UDP_SIZE, buf, sizeof(buf)) > 0);
	assert_true(dns_query_build("a", DNS_T_AAAA, 0, 4096, buf, sizeof(buf)) > 0);
	assert_true(dns_query_build("a\\.b.example", DNS_T_CNAME, 0, 4096,
	    buf, sizeof(buf)) > 0);
}

static void test_query_build_bad(void **state)
{
	unsigned char buf[600];
	char label64[80], long_name[300];
	size_t i;

	(void)state;
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".net");
	for (i = 0; i < 260; i++)
		long_name[i] = i % 2 ? '.' : 'a';
	long_name[259] = 'a';
	long_name[260] = '\0';
	assert_int_equal(dns_query_build("", DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build(NULL, DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a..b", DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a b.net", DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a\nb.net", DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("b\xc3\xbc" "cher.de", DNS_T_A, 1, 1232,
	    buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a\\", DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build(label64, DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build(long_name, DNS_T_A, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", DNS_T_A, 0x10000, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", 0, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", 65536, 1, 1232, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", DNS_T_A, 1, 511, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", DNS_T_A, 1, 65536, buf, sizeof(buf)), -1);
	assert_int_equal(dns_query_build("a.net", DNS_T_A, 1, 1232, NULL, 512), -1);
	assert_int_equal(dns_query_build("a.net", DNS_T_A, 1, 1232, buf, 0), -1);
	label64[63] = '\0';		/* 63 is still a label */
	assert_true(dns_query_build(label64, DNS_T_A, 1, 1232, buf, sizeof(buf)) > 0);
}

static void test_match(void **state)
{
	static const char *const an[] = {
		"mx.example.net. 300 IN A 192.0.2.1", NULL
	};
	unsigned char q[512];
	unsigned char *w;
	size_t n;
	long qn;
	struct wbuf h;

	(void)state;
	w = build(0xbeef, 0, 0, "mx.example.net", DNS_T_A, an, NULL, &n);
	assert_int_equal(match(w, n, 0xbeef, "mx.example.net", DNS_T_A), 1);
	assert_int_equal(match(w, n, 0xbeef, "MX.Example.NET.", DNS_T_A), 1);
	assert_int_equal(match(w, n, 0xbeee, "mx.example.net", DNS_T_A), 0);
	assert_int_equal(match(w, n, 0x1beef, "mx.example.net", DNS_T_A), 0);
	assert_int_equal(match(w, n, 0xbeef, "mx2.example.net", DNS_T_A), 0);
	assert_int_equal(match(w, n, 0xbeef, "example.net", DNS_T_A), 0);
	assert_int_equal(match(w, n, 0xbeef, "mx.example.net", DNS_T_AAAA), 0);
	assert_int_equal(match(w, n, 0xbeef, "", DNS_T_A), 0);
	assert_int_equal(match(w, 11, 0xbeef, "mx.example.net", DNS_T_A), 0);
	assert_int_equal(match(w, 20, 0xbeef, "mx.example.net", DNS_T_A), 0);
	free(w);
	w = build(0xbeef, 3, F_AD, "MX.EXAMPLE.NET", DNS_T_A, NULL, NULL, &n);
	assert_int_equal(match(w, n, 0xbeef, "mx.example.net", DNS_T_A), 1);
	free(w);
	/* QR=0: our own query echoed back is no answer */
	qn = dns_query_build("mx.example.net", DNS_T_A, 0xbeef, 1232, q, sizeof(q));
	assert_true(qn > 0);
	assert_int_equal(match(q, (size_t)qn, 0xbeef, "mx.example.net", DNS_T_A), 0);
	q[2] |= 0x80;
	assert_int_equal(match(q, (size_t)qn, 0xbeef, "mx.example.net", DNS_T_A), 1);
	q[2] |= 0x08;			/* opcode 1 */
	assert_int_equal(match(q, (size_t)qn, 0xbeef, "mx.example.net", DNS_T_A), 0);
	/* class CH, no question, two questions, a compressed question */
	hdr(&h, 0, 1, 0, 0, 0, NULL, 0);
	putname(&h, "mx.example.net");
	put16(&h, DNS_T_A);
	put16(&h, 3);
	assert_int_equal(match(h.b, h.n, 7, "mx.example.net", DNS_T_A), 0);
	hdr(&h, 0, 0, 0, 0, 0, NULL, 0);
	assert_int_equal(match(h.b, h.n, 7, "mx.example.net", DNS_T_A), 0);
	hdr(&h, 0, 2, 0, 0, 0, "mx.example.net", DNS_T_A);
	putname(&h, "mx.example.net");
	put16(&h, DNS_T_A);
	put16(&h, 1);
	assert_int_equal(match(h.b, h.n, 7, "mx.example.net", DNS_T_A), 0);
	hdr(&h, 0, 1, 0, 0, 0, NULL, 0);
	put16(&h, 0xc00c);
	put16(&h, DNS_T_A);
	put16(&h, 1);
	assert_int_equal(match(h.b, h.n, 7, "mx.example.net", DNS_T_A), 0);
}

static void test_a(void **state)
{
	static const char *const an[] = {
		"mx.example.net. 300 IN A 192.0.2.1",
		"mx.example.net. 200 IN A 192.0.2.2",
		"other.example.net. 10 IN A 192.0.2.3",
		"mx.example.net. 10 IN AAAA 2001:db8::1",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD | F_EDNS, "mx.example.net", DNS_T_A, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.ad, 1);
	assert_int_equal(r.tc, 0);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.n_a, 2);
	assert_memory_equal(r.a[0], "\xc0\x00\x02\x01", 4);
	assert_memory_equal(r.a[1], "\xc0\x00\x02\x02", 4);
	assert_int_equal(r.n_aaaa, 0);
	assert_null(r.aaaa);
	assert_int_equal(r.ttl, 200);
	assert_string_equal(r.qname, "mx.example.net");
	assert_int_equal(r.qtype, DNS_T_A);
	assert_string_equal(r.final_name, "");
	assert_int_equal(r.n_cname, 0);
	assert_string_equal(r.error, "");
	dns_result_free(&r);
	assert_null(r.a);
	assert_int_equal(r.n_a, 0);
	dns_result_free(&r);		/* twice is harmless */

	/* AD from an untrusted server; no AD from a trusted one */
	one(0, F_AD, "mx.example.net", DNS_T_A, an, NULL, 0, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	assert_int_equal(r.ad, 1);
	dns_result_free(&r);
	one(0, 0, "mx.example.net", DNS_T_A, an, NULL, 1, &r);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	dns_result_free(&r);
}

static void test_aaaa(void **state)
{
	static const char *const an[] = {
		"mx.example.net. 300 IN AAAA 2001:db8::25",
		"mx.example.net. 300 IN A 192.0.2.1",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "mx.example.net", DNS_T_AAAA, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_aaaa, 1);
	assert_int_equal(r.n_a, 0);
	assert_memory_equal(r.aaaa[0],
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x25", 16);
	dns_result_free(&r);
}

static void test_cname_chain_mx(void **state)
{
	static const char *const an[] = {
		"example.net. 600 IN CNAME b.example.org.",
		"b.example.org. 500 IN CNAME C.example.com.",
		"c.example.com. 3600 IN MX 20 mx2.example.com.",
		"c.example.com. 3600 IN MX 10 mx1.example.com.",
		"example.net. 60 IN MX 5 wrong.example.net.",	/* beside a CNAME: ignored */
		"b.example.org. 60 IN MX 5 wrong.example.org.",
		"c.example.com. 60 CH MX 5 wrong.example.com.",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.n_cname, 2);
	assert_string_equal(r.cname[0], "b.example.org");
	assert_string_equal(r.cname[1], "C.example.com");
	assert_string_equal(r.final_name, "C.example.com");
	assert_int_equal(r.n_mx, 2);
	assert_int_equal(r.mx[0].pref, 20);
	assert_string_equal(r.mx[0].host, "mx2.example.com");
	assert_int_equal(r.mx[1].pref, 10);
	assert_string_equal(r.mx[1].host, "mx1.example.com");
	assert_int_equal(r.null_mx, 0);
	assert_int_equal(r.ttl, 500);
	dns_result_free(&r);
}

static void test_cname_loop(void **state)
{
	static const char *const loop[] = {
		"a.example.net. 300 IN CNAME b.example.net.",
		"b.example.net. 300 IN CNAME A.EXAMPLE.NET.",
		"a.example.net. 300 IN A 192.0.2.1",
		NULL
	};
	static const char *const self[] = {
		"a.example.net. 300 IN CNAME a.example.net.", NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD, "a.example.net", DNS_T_A, loop, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	assert_non_null(strstr(r.error, "CNAME loop"));
	assert_int_equal(r.n_a, 0);
	dns_result_free(&r);
	one(0, 0, "a.example.net", DNS_T_MX, self, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "CNAME loop"));
	dns_result_free(&r);
}

static void test_cname_limit(void **state)
{
	const char *an[12];
	char lines[10][80];
	struct dns_result r;
	int i;

	(void)state;
	for (i = 0; i < 9; i++)
		snprintf(lines[i], sizeof(lines[i]),
		    "n%d.example.net. 300 IN CNAME n%d.example.net.", i, i + 1);
	/* 8 CNAMEs: n0 -> ... -> n8, with the A at n8 */
	for (i = 0; i < 8; i++)
		an[i] = lines[i];
	an[8] = "n8.example.net. 300 IN A 192.0.2.8";
	an[9] = NULL;
	one(0, 0, "n0.example.net", DNS_T_A, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_cname, 8);
	assert_string_equal(r.final_name, "n8.example.net");
	assert_string_equal(r.cname[7], "n8.example.net");
	assert_int_equal(r.n_a, 1);
	dns_result_free(&r);
	/* a 9th */
	an[8] = lines[8];
	an[9] = "n9.example.net. 300 IN A 192.0.2.9";
	an[10] = NULL;
	one(0, 0, "n0.example.net", DNS_T_A, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "longer than 8"));
	dns_result_free(&r);
}

static void test_cname_conflict(void **state)
{
	static const char *const two[] = {
		"a.example.net. 300 IN CNAME b.example.net.",
		"a.example.net. 300 IN CNAME c.example.net.",
		"b.example.net. 300 IN A 192.0.2.1",
		NULL
	};
	static const char *const same[] = {
		"a.example.net. 300 IN CNAME b.example.net.",
		"a.example.net. 300 IN CNAME B.example.net.",
		"b.example.net. 300 IN A 192.0.2.1",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "a.example.net", DNS_T_A, two, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "conflicting"));
	dns_result_free(&r);
	one(0, 0, "a.example.net", DNS_T_A, same, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_a, 1);
	dns_result_free(&r);
}

static void test_cname_qtype(void **state)
{
	static const char *const an[] = {
		"a.example.net. 120 IN CNAME b.example.net.",
		"b.example.net. 300 IN CNAME c.example.net.",
		NULL
	};
	static const char *const soa[] = {
		"example.net. 300 IN SOA ns.example.net. h.example.net. 1 2 3 4 60",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "a.example.net", DNS_T_CNAME, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_cname, 1);
	assert_string_equal(r.cname[0], "b.example.net");
	assert_string_equal(r.final_name, "b.example.net");
	assert_int_equal(r.ttl, 120);
	dns_result_free(&r);
	one(0, 0, "x.example.net", DNS_T_CNAME, NULL, soa, 1, &r);
	assert_int_equal(r.status, DNS_ST_NODATA);
	assert_int_equal(r.ttl, 60);
	dns_result_free(&r);
}

static void test_null_mx(void **state)
{
	static const char *const an[] = {
		"example.net. 3600 IN MX 0 .", NULL
	};
	static const char *const odd[] = {
		"example.net. 3600 IN MX 10 .",
		"example.net. 3600 IN MX 20 .",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.null_mx, 1);
	assert_int_equal(r.n_mx, 1);
	assert_int_equal(r.mx[0].pref, 0);
	assert_string_equal(r.mx[0].host, "");
	assert_int_equal(r.ttl, 3600);
	dns_result_free(&r);
	/* "." only, but with preferences: no host either way */
	one(0, 0, "example.net", DNS_T_MX, odd, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.null_mx, 1);
	assert_int_equal(r.n_mx, 1);
	assert_int_equal(r.mx[0].pref, 10);
	assert_string_equal(r.mx[0].host, "");
	dns_result_free(&r);
}

static void test_null_mx_among_others(void **state)
{
	static const char *const an[] = {
		"example.net. 3600 IN MX 0 .",
		"example.net. 3600 IN MX 10 mx.example.net.",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.null_mx, 0);
	assert_int_equal(r.n_mx, 1);
	assert_int_equal(r.mx[0].pref, 10);
	assert_string_equal(r.mx[0].host, "mx.example.net");
	dns_result_free(&r);
}

static void test_mx_limits(void **state)
{
	const char *an[DNS_MX_MAX + 2];
	static char lines[DNS_MX_MAX + 1][80];
	struct dns_result r;
	int i;

	(void)state;
	for (i = 0; i <= DNS_MX_MAX; i++) {
		snprintf(lines[i], sizeof(lines[i]),
		    "example.net. 300 IN MX %d mx%d.example.net.", i, i);
		an[i] = lines[i];
	}
	an[DNS_MX_MAX] = NULL;
	one(0, 0, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_mx, DNS_MX_MAX);
	dns_result_free(&r);
	an[DNS_MX_MAX] = lines[DNS_MX_MAX];
	an[DNS_MX_MAX + 1] = NULL;
	one(0, 0, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "MX RRset too large"));
	dns_result_free(&r);
}

static void test_names_escaped(void **state)
{
	struct wbuf w;
	struct dns_result r;
	unsigned char q[512];

	(void)state;
	/* an exchange with a dot, a backslash and a space inside labels */
	hdr(&w, 0, 1, 1, 0, 0, "example.net", DNS_T_MX);
	rrhead(&w, DNS_T_MX, 300, 2 + 5 + 5 + 2);
	put16(&w, 10);
	put8(&w, 4);
	w.b[w.n++] = 'a';
	w.b[w.n++] = '.';
	w.b[w.n++] = '\\';
	w.b[w.n++] = ' ';
	put8(&w, 4);
	w.b[w.n++] = 'h';
	w.b[w.n++] = 'o';
	w.b[w.n++] = 's';
	w.b[w.n++] = 't';
	put16(&w, 0xc00c);
	parse(w.b, w.n, "example.net", DNS_T_MX, 0, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_string_equal(r.mx[0].host, "a\\.\\\\\\032.host.example.net");
	/* the text goes back into a query as the same name */
	assert_true(dns_query_build(r.mx[0].host, DNS_T_A, 9, 1232, q,
	    sizeof(q)) > 0);
	assert_memory_equal(q + 12, "\x04" "a.\\ " "\x04" "host", 10);
	dns_result_free(&r);
}

static void test_nodata(void **state)
{
	static const char *const soa[] = {
		"example.net. 900 IN SOA ns.example.net. h.example.net. 1 2 3 4 300",
		NULL
	};
	static const char *const soa_low[] = {
		"example.net. 30 IN SOA ns.example.net. h.example.net. 1 2 3 4 300",
		NULL
	};
	static const char *const other[] = {
		"mx.example.net. 300 IN AAAA 2001:db8::1",
		"mx.example.net. 300 IN RRSIG AAAA 13 3 300 20300101000000 "
		    "20200101000000 12345 example.net. AAAA",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD, "mx.example.net", DNS_T_A, other, soa, 1, &r);
	assert_int_equal(r.status, DNS_ST_NODATA);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.ttl, 300);
	assert_int_equal(r.n_a, 0);
	assert_null(r.a);
	dns_result_free(&r);
	one(0, F_AD, "mx.example.net", DNS_T_A, NULL, soa_low, 0, &r);
	assert_int_equal(r.status, DNS_ST_NODATA);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	assert_int_equal(r.ttl, 30);
	dns_result_free(&r);
	/* no SOA: nothing to cache */
	one(0, 0, "mx.example.net", DNS_T_A, NULL, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_NODATA);
	assert_int_equal(r.ttl, 0);
	dns_result_free(&r);
}

static void test_nxdomain(void **state)
{
	static const char *const soa[] = {
		"example.net. 900 IN SOA ns.example.net. h.example.net. 1 2 3 4 600",
		NULL
	};
	static const char *const chain[] = {
		"www.example.net. 100 IN CNAME gone.example.org.", NULL
	};
	static const char *const contradiction[] = {
		"nx.example.net. 100 IN A 192.0.2.1", NULL
	};
	struct dns_result r;

	(void)state;
	one(3, F_AD, "nx.example.net", DNS_T_MX, NULL, soa, 1, &r);
	assert_int_equal(r.status, DNS_ST_NXDOMAIN);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.rcode, 3);
	assert_int_equal(r.ttl, 600);
	dns_result_free(&r);
	one(3, F_AD, "nx.example.net", DNS_T_MX, NULL, soa, 0, &r);
	assert_int_equal(r.status, DNS_ST_NXDOMAIN);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	dns_result_free(&r);
	one(3, 0, "nx.example.net", DNS_T_MX, NULL, soa, 1, &r);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	dns_result_free(&r);
	/* RFC 6604: the rcode is about the end of the chain */
	one(3, 0, "www.example.net", DNS_T_A, chain, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_NXDOMAIN);
	assert_int_equal(r.n_cname, 1);
	assert_string_equal(r.final_name, "gone.example.org");
	assert_int_equal(r.ttl, 0);
	dns_result_free(&r);
	one(3, 0, "nx.example.net", DNS_T_A, contradiction, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "NXDOMAIN with records"));
	dns_result_free(&r);
}

static void test_servfail(void **state)
{
	struct dns_result r;

	(void)state;
	one(2, F_AD | F_EDNS, "dnssec-failed.example", DNS_T_TLSA, NULL, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_int_equal(r.sec, DNS_SEC_BOGUS);
	assert_int_equal(r.ad, 1);
	assert_int_equal(r.rcode, 2);
	assert_int_equal(r.ttl, 0);
	assert_non_null(strstr(r.error, "SERVFAIL"));
	dns_result_free(&r);
	one(2, 0, "x.example", DNS_T_A, NULL, NULL, 0, &r);
	assert_int_equal(r.sec, DNS_SEC_BOGUS);
	dns_result_free(&r);
}

static void test_other_rcodes(void **state)
{
	static const char *const an[] = {
		"x.example. 300 IN A 192.0.2.1", NULL
	};
	struct dns_result r;
	struct wbuf w;
	int rc;

	(void)state;
	for (rc = 1; rc < 16; rc++) {
		if (rc == 2 || rc == 3)
			continue;
		one(rc, F_AD, "x.example", DNS_T_A, an, NULL, 1, &r);
		assert_int_equal(r.status, DNS_ST_TEMPFAIL);
		assert_int_equal(r.sec, DNS_SEC_INSECURE);
		assert_int_equal(r.rcode, rc);
		assert_non_null(strstr(r.error, "rcode"));
		dns_result_free(&r);
	}
	one(5, 0, "x.example", DNS_T_A, NULL, NULL, 1, &r);
	assert_non_null(strstr(r.error, "REFUSED"));
	dns_result_free(&r);
	/* NOERROR in the header, BADVERS (16) with the OPT bits */
	hdr(&w, 0, 1, 0, 0, 1, "x.example", DNS_T_A);
	put8(&w, 0);
	put16(&w, LDNS_RR_TYPE_OPT);
	put16(&w, 1232);
	put32(&w, 0x01008000UL);
	put16(&w, 0);
	parse(w.b, w.n, "x.example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_int_equal(r.rcode, 16);
	dns_result_free(&r);
}

static void test_tc(void **state)
{
	static const char *const an[] = {
		"example.net. 300 IN MX 10 mx.example.net.", NULL
	};
	struct dns_result r;
	struct wbuf w;

	(void)state;
	one(0, F_TC | F_AD, "example.net", DNS_T_MX, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_int_equal(r.tc, 1);
	assert_int_equal(r.sec, DNS_SEC_INSECURE);
	assert_int_equal(r.n_mx, 0);
	assert_non_null(strstr(r.error, "TCP"));
	dns_result_free(&r);
	/* truncated in the middle of a record, as some servers send it */
	hdr(&w, 0, 1, 3, 0, 0, "example.net", DNS_T_MX);
	w.b[2] |= 0x02;
	rrhead(&w, DNS_T_MX, 300, 40);
	put16(&w, 10);
	parse(w.b, w.n, "example.net", DNS_T_MX, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_int_equal(r.tc, 1);
	dns_result_free(&r);
}

static void test_referral(void **state)
{
	static const char *const ns[] = {
		"example.net. 86400 IN NS ns1.example.net.", NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "mx.example.net", DNS_T_A, NULL, ns, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "referral"));
	dns_result_free(&r);
}

static void test_tlsa(void **state)
{
	static const char *const an[] = {
		"_25._tcp.mx.example.net. 300 IN TLSA 3 1 1 "
		    "0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
		"_25._tcp.mx.example.net. 300 IN TLSA 2 0 1 "
		    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		"_25._tcp.mx.example.net. 300 IN RRSIG TLSA 13 5 300 "
		    "20300101000000 20200101000000 1 example.net. AAAA",
		NULL
	};
	struct dns_result r;

	(void)state;
	one(0, F_AD | F_EDNS, "_25._tcp.mx.example.net", DNS_T_TLSA, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.n_tlsa, 2);
	assert_int_equal(r.n_tlsa_bad, 0);
	assert_int_equal(r.tlsa[0].usage, 3);
	assert_int_equal(r.tlsa[0].selector, 1);
	assert_int_equal(r.tlsa[0].mtype, 1);
	assert_int_equal(r.tlsa[0].len, 32);
	assert_memory_equal(r.tlsa[0].data, "\x0c\x72\xac\x70", 4);
	assert_int_equal(r.tlsa[1].usage, 2);
	assert_int_equal(r.tlsa[1].selector, 0);
	assert_int_equal(r.tlsa[1].len, 32);
	assert_int_equal(r.tlsa[1].data[31], 0x55);
	dns_result_free(&r);
	assert_null(r.tlsa);
}

/* tlsa_packet - n TLSA records at the question name with rdlen[i] bytes */
static void tlsa_packet(struct wbuf *w, const unsigned *rdlen, size_t n)
{
	size_t i, k;

	hdr(w, 0, 1, (unsigned)n, 0, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	w->b[3] |= 0x20;			/* AD */
	for (i = 0; i < n; i++) {
		rrhead(w, DNS_T_TLSA, 300, rdlen[i]);
		for (k = 0; k < rdlen[i]; k++)
			put8(w, k < 3 ? 3 - (unsigned)k % 2 * 2 : 0xaa);
	}
}

static void test_tlsa_malformed(void **state)
{
	static const unsigned mixed[] = { 0, 1, 2, 3, 35 };
	static const unsigned bad[] = { 2, 0, 1 };
	struct wbuf w;
	struct dns_result r;

	(void)state;
	tlsa_packet(&w, mixed, 5);
	parse(w.b, w.n, "_25._tcp.mx.example.net", DNS_T_TLSA, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.n_tlsa_bad, 3);
	assert_int_equal(r.n_tlsa, 2);
	assert_int_equal(r.tlsa[0].usage, 3);
	assert_int_equal(r.tlsa[0].selector, 1);
	assert_int_equal(r.tlsa[0].mtype, 3);
	assert_int_equal(r.tlsa[0].len, 0);
	assert_null(r.tlsa[0].data);
	assert_int_equal(r.tlsa[1].len, 32);
	dns_result_free(&r);
	/* all malformed: the RRset exists, nothing in it is usable */
	tlsa_packet(&w, bad, 3);
	parse(w.b, w.n, "_25._tcp.mx.example.net", DNS_T_TLSA, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.sec, DNS_SEC_SECURE);
	assert_int_equal(r.n_tlsa, 0);
	assert_null(r.tlsa);
	assert_int_equal(r.n_tlsa_bad, 3);
	dns_result_free(&r);
}

static void test_tlsa_limits(void **state)
{
	static unsigned lens[DNS_TLSA_MAX + 1];
	struct wbuf w;
	struct dns_result r;
	size_t i;

	(void)state;
	for (i = 0; i <= DNS_TLSA_MAX; i++)
		lens[i] = 35;
	tlsa_packet(&w, lens, DNS_TLSA_MAX);
	parse(w.b, w.n, "_25._tcp.mx.example.net", DNS_T_TLSA, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_tlsa, DNS_TLSA_MAX);
	dns_result_free(&r);
	tlsa_packet(&w, lens, DNS_TLSA_MAX + 1);
	tempfail(&w, "_25._tcp.mx.example.net", DNS_T_TLSA, "TLSA RRset too large");
	lens[0] = 3 + DNS_TLSA_DATA_MAX;
	tlsa_packet(&w, lens, 1);
	parse(w.b, w.n, "_25._tcp.mx.example.net", DNS_T_TLSA, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.tlsa[0].len, DNS_TLSA_DATA_MAX);
	dns_result_free(&r);
	lens[0] = 4 + DNS_TLSA_DATA_MAX;
	tlsa_packet(&w, lens, 1);
	tempfail(&w, "_25._tcp.mx.example.net", DNS_T_TLSA, "TLSA RRset too large");
}

static void test_tlsa_storm(void **state)
{
	/* as many 3-byte TLSA records as 65535 bytes hold (10,000 do not) */
	static unsigned lens[5000];
	struct wbuf w;
	size_t n = (65535 - 12 - 29) / 15, i;

	(void)state;
	for (i = 0; i < n; i++)
		lens[i] = 3;
	tlsa_packet(&w, lens, n);
	assert_true(w.n <= 65535 && w.n > 65535 - 15);
	tempfail(&w, "_25._tcp.mx.example.net", DNS_T_TLSA, "TLSA RRset too large");
	/* 10,000 announced, the same 4366 present */
	w.b[6] = 10000 >> 8;
	w.b[7] = 10000 & 0xff;
	tempfail(&w, "_25._tcp.mx.example.net", DNS_T_TLSA, "malformed");
}

static void test_compression_hostile(void **state)
{
	struct wbuf w;

	(void)state;
	/* an owner pointing at itself */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put16(&w, 0xc000 | (unsigned)w.n);
	put16(&w, DNS_T_A);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc0000201UL);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* two names pointing at each other */
	hdr(&w, 0, 1, 2, 0, 0, "x.example", DNS_T_A);
	put8(&w, 1);
	put8(&w, 'a');
	put16(&w, 0xc000 | (unsigned)(w.n + 16));
	put16(&w, DNS_T_A);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc0000201UL);
	put8(&w, 1);
	put8(&w, 'b');
	put16(&w, 0xc000 | (unsigned)(w.n - 20));
	put16(&w, DNS_T_A);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc0000201UL);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* a pointer past the end, and one into the header */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put16(&w, 0xc000 | 0x3fff);
	put16(&w, DNS_T_A);
	put16(&w, 1);
	put32(&w, 300);
	put16(&w, 4);
	put32(&w, 0xc0000201UL);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	w.b[27] = 0xc0;
	w.b[28] = 4;
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* a pointer cut by the end of the packet */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put8(&w, 0xc0);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* a label type 0x40 and a label running off the end */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put8(&w, 0x41);
	put8(&w, 'a');
	put8(&w, 0);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put8(&w, 20);
	put8(&w, 'a');
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* a CNAME target pointing forward, into its own record */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_CNAME, 300, 2);
	put16(&w, 0xc000 | (unsigned)w.n);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
}

static void test_counts_and_cuts(void **state)
{
	static const char *const an[] = {
		"example.net. 300 IN CNAME mail.example.net.",
		"mail.example.net. 300 IN MX 10 mx.example.net.",
		NULL
	};
	static const char *const soa[] = {
		"example.net. 300 IN SOA ns.example.net. h.example.net. 1 2 3 4 60",
		NULL
	};
	struct wbuf w;
	struct dns_result r;
	unsigned char *p;
	size_t n, k;

	(void)state;
	/* counts larger than the data */
	hdr(&w, 0, 1, 2, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_A, 300, 4);
	put32(&w, 0xc0000201UL);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	hdr(&w, 0, 2, 0, 0, 0, "x.example", DNS_T_A);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	hdr(&w, 0, 1, 0, 0, 5, "x.example", DNS_T_A);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* rdlength past the end */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_A, 300, 4);
	put16(&w, 0xc000);
	tempfail(&w, "x.example", DNS_T_A, "malformed");
	/* every prefix of a good answer fails cleanly; the whole parses */
	p = build(7, 0, F_AD | F_EDNS, "example.net", DNS_T_MX, an, soa, &n);
	for (k = 0; k < n; k++) {
		parse(p, k, "example.net", DNS_T_MX, 1, &r);
		assert_int_equal(r.status, DNS_ST_TEMPFAIL);
		dns_result_free(&r);
		if (k < 12 + 13 + 4)
			assert_int_equal(match(p, k, 7, "example.net", DNS_T_MX), 0);
	}
	parse(p, n, "example.net", DNS_T_MX, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_mx, 1);
	assert_string_equal(r.mx[0].host, "mx.example.net");
	dns_result_free(&r);
	free(p);
}

static void test_sizes(void **state)
{
	static struct wbuf w;
	struct dns_result r;
	size_t i, fill;

	(void)state;
	hdr(&w, 0, 1, 4001, 0, 0, "example.net", DNS_T_A);
	for (i = 0; i < 4000; i++) {
		rrhead(&w, DNS_T_A, 300, 4);
		put32(&w, 0xc0000200UL + i % 256);
	}
	fill = 65535 - w.n - 12;
	rrhead(&w, 0xff00, 300, (unsigned)fill);	/* private type: ignored */
	for (i = 0; i < fill; i++)
		put8(&w, 0);
	assert_int_equal(w.n, 65535);
	parse(w.b, w.n, "example.net", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.n_a, 4000);
	dns_result_free(&r);
	assert_int_equal(match(w.b, w.n, 7, "example.net", DNS_T_A), 1);
	put8(&w, 0);
	tempfail(&w, "example.net", DNS_T_A, "larger than 65535");
	assert_int_equal(match(w.b, w.n, 7, "example.net", DNS_T_A), 0);
	w.n = 11;
	tempfail(&w, "example.net", DNS_T_A, "shorter than a DNS header");
	w.n = 0;
	tempfail(&w, "example.net", DNS_T_A, "shorter than a DNS header");
	assert_int_equal(dns_answer_parse(NULL, 0, "example.net", DNS_T_A, 1, &r), 0);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
}

static void test_rdata_rules(void **state)
{
	struct wbuf w;
	struct dns_result r;

	(void)state;
	/* A of 5 bytes (ldns alone would take 4 and go on) */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_A, 300, 5);
	put32(&w, 0xc0000201UL);
	put8(&w, 0);
	tempfail(&w, "x.example", DNS_T_A, "not 4 bytes");
	/* even where it is not asked for */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_MX);
	rrhead(&w, DNS_T_A, 300, 3);
	put16(&w, 0xc000);
	put8(&w, 0);
	tempfail(&w, "x.example", DNS_T_MX, "not 4 bytes");
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_AAAA);
	rrhead(&w, DNS_T_AAAA, 300, 4);
	put32(&w, 0x20010db8UL);
	tempfail(&w, "x.example", DNS_T_AAAA, "not 16 bytes");
	/* class CH A records have another format: left alone */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	put16(&w, 0xc00c);
	put16(&w, DNS_T_A);
	put16(&w, 3);
	put32(&w, 300);
	put16(&w, 6);
	put32(&w, 0);
	put16(&w, 0);
	parse(w.b, w.n, "x.example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_NODATA);
	dns_result_free(&r);
	/* MX exchange running past its rdata (ldns alone accepts it) */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_MX);
	rrhead(&w, DNS_T_MX, 300, 3);
	put16(&w, 10);
	putname(&w, "mx");
	tempfail(&w, "x.example", DNS_T_MX, "bad MX");
	/* a byte after the last record */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_A, 300, 4);
	put32(&w, 0xc0000201UL);
	put8(&w, 0);
	tempfail(&w, "x.example", DNS_T_A, "bytes after");
	/* two TSIGs (ldns would leak one), two OPTs */
	hdr(&w, 0, 1, 0, 0, 2, "x.example", DNS_T_A);
	put8(&w, 0);
	put16(&w, LDNS_RR_TYPE_TSIG);
	put16(&w, 255);
	put32(&w, 0);
	put16(&w, 0);
	put8(&w, 0);
	put16(&w, LDNS_RR_TYPE_TSIG);
	put16(&w, 255);
	put32(&w, 0);
	put16(&w, 0);
	tempfail(&w, "x.example", DNS_T_A, "TSIG");
	hdr(&w, 0, 1, 0, 0, 2, "x.example", DNS_T_A);
	put8(&w, 0);
	put16(&w, LDNS_RR_TYPE_OPT);
	put16(&w, 1232);
	put32(&w, 0);
	put16(&w, 0);
	put8(&w, 0);
	put16(&w, LDNS_RR_TYPE_OPT);
	put16(&w, 1232);
	put32(&w, 0);
	put16(&w, 0);
	tempfail(&w, "x.example", DNS_T_A, "OPT");
	/* a SOA with a short tail */
	hdr(&w, 0, 1, 0, 1, 0, "x.example", DNS_T_A);
	rrhead(&w, LDNS_RR_TYPE_SOA, 300, 2 + 2 + 16);
	put16(&w, 0xc00c);
	put16(&w, 0xc00c);
	put32(&w, 1);
	put32(&w, 2);
	put32(&w, 3);
	put32(&w, 4);
	tempfail(&w, "x.example", DNS_T_A, "bad SOA");
	/* ldns takes 1 byte of this X25 record and reads on from there:
	 * the second record is not the one the framing found */
	hdr(&w, 0, 1, 2, 0, 0, "example", DNS_T_MX);
	rrhead(&w, 19, 3600, 3);
	put8(&w, 0);
	put16(&w, 0);
	rrhead(&w, DNS_T_MX, 2576, 7);
	put16(&w, 10);
	putname(&w, "mx");
	w.n--;
	put16(&w, 0xc00c);
	tempfail(&w, "example", DNS_T_MX, "ldns read other records");
	/* ldns cannot read it: a TXT string longer than its record */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, LDNS_RR_TYPE_TXT, 300, 2);
	put8(&w, 9);
	put8(&w, 'a');
	tempfail(&w, "x.example", DNS_T_A, "malformed");
}

static void test_question_mismatch(void **state)
{
	static const char *const an[] = {
		"x.example. 300 IN A 192.0.2.1", NULL
	};
	struct dns_result r;
	size_t n;
	unsigned char *w;

	(void)state;
	w = build(7, 0, 0, "x.example", DNS_T_A, an, NULL, &n);
	parse(w, n, "y.example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	assert_non_null(strstr(r.error, "does not match"));
	dns_result_free(&r);
	parse(w, n, "x.example", DNS_T_AAAA, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	dns_result_free(&r);
	parse(w, n, "X.Example.", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_string_equal(r.qname, "X.Example.");
	dns_result_free(&r);
	parse(w, n, "x..example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	dns_result_free(&r);
	parse(w, n, "x.example", 0, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	dns_result_free(&r);
	free(w);
	w = build(7, 0, F_NOQR, "x.example", DNS_T_A, an, NULL, &n);
	parse(w, n, "x.example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_TEMPFAIL);
	dns_result_free(&r);
	free(w);
}

static void test_ttl(void **state)
{
	static const char *const big[] = {
		"x.example. 2000000 IN A 192.0.2.1", NULL
	};
	struct wbuf w;
	struct dns_result r;

	(void)state;
	one(0, 0, "x.example", DNS_T_A, big, NULL, 1, &r);
	assert_int_equal(r.ttl, DNS_TTL_MAX);
	dns_result_free(&r);
	/* the top bit set: 0 (RFC 2181 8) */
	hdr(&w, 0, 1, 1, 0, 0, "x.example", DNS_T_A);
	rrhead(&w, DNS_T_A, 0x80000010UL, 4);
	put32(&w, 0xc0000201UL);
	parse(w.b, w.n, "x.example", DNS_T_A, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.ttl, 0);
	dns_result_free(&r);
}

static void test_other_type(void **state)
{
	static const char *const an[] = {
		"x.example. 300 IN TXT \"v=spf1 -all\"", NULL
	};
	struct dns_result r;

	(void)state;
	one(0, 0, "x.example", LDNS_RR_TYPE_TXT, an, NULL, 1, &r);
	assert_int_equal(r.status, DNS_ST_OK);
	assert_int_equal(r.ttl, 300);
	assert_null(r.mx);
	assert_null(r.a);
	dns_result_free(&r);
}

static void test_helpers(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(dns_status_name(DNS_ST_OK), "ok");
	assert_string_equal(dns_status_name(DNS_ST_NODATA), "nodata");
	assert_string_equal(dns_status_name(DNS_ST_NXDOMAIN), "nxdomain");
	assert_string_equal(dns_status_name(DNS_ST_TEMPFAIL), "tempfail");
	assert_string_equal(dns_sec_name(DNS_SEC_SECURE), "secure");
	assert_string_equal(dns_sec_name(DNS_SEC_INSECURE), "insecure");
	assert_string_equal(dns_sec_name(DNS_SEC_BOGUS), "bogus");
	assert_ptr_equal(dns_tlsa_name(25, "mx.example.net", buf, sizeof(buf)), buf);
	assert_string_equal(buf, "_25._tcp.mx.example.net");
	assert_non_null(dns_tlsa_name(465, "mx.example.net.", buf, sizeof(buf)));
	assert_string_equal(buf, "_465._tcp.mx.example.net.");
	assert_non_null(dns_tlsa_name(25, "a", buf, 11));
	assert_null(dns_tlsa_name(25, "ab", buf, 11));
	assert_null(dns_tlsa_name(0, "mx.example.net", buf, sizeof(buf)));
	assert_null(dns_tlsa_name(65536, "mx.example.net", buf, sizeof(buf)));
	assert_null(dns_tlsa_name(25, "", buf, sizeof(buf)));
	assert_null(dns_tlsa_name(25, NULL, buf, sizeof(buf)));
	dns_result_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_build),
		cmocka_unit_test(test_query_build_bad),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_a),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_cname_chain_mx),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_cname_limit),
		cmocka_unit_test(test_cname_conflict),
		cmocka_unit_test(test_cname_qtype),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_null_mx_among_others),
		cmocka_unit_test(test_mx_limits),
		cmocka_unit_test(test_names_escaped),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_other_rcodes),
		cmocka_unit_test(test_tc),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_tlsa),
		cmocka_unit_test(test_tlsa_malformed),
		cmocka_unit_test(test_tlsa_limits),
		cmocka_unit_test(test_tlsa_storm),
		cmocka_unit_test(test_compression_hostile),
		cmocka_unit_test(test_counts_and_cuts),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_rdata_rules),
		cmocka_unit_test(test_question_mismatch),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_other_type),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests_name("dns_answer", tests, NULL, NULL);
}
