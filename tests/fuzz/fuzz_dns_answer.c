/*
 * fuzz_dns_answer.c - libFuzzer target for dns/dns_answer.c: the input is
 * a DNS answer as a server (or a spoofer) sends it. It is matched and
 * parsed for each of the five types, as from a trusted and an untrusted
 * server, asking for the packet's own question name (so that the input
 * gets past the question check) and for a fixed one; then a query for the
 * same name is built and must not pass for its answer.
 *
 * Invariants checked (abort on violation): dns_answer_parse returns 0; the
 * status and sec are valid; every string is NUL-terminated; counts are
 * within their caps; TEMPFAIL has an error, no arrays and TTL 0 and is
 * never SECURE; SECURE needs AD and trust; BOGUS is SERVFAIL; TC means
 * TEMPFAIL; OK has the records its type promises; names handed back
 * build a query again; an answer good enough to interpret matches its
 * own ID, and no other. Leaks show through the sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const int types[] = {
	DNS_T_A, DNS_T_CNAME, DNS_T_MX, DNS_T_AAAA, DNS_T_TLSA
};

static volatile unsigned char sink;

static int terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* question_name - the packet's question name as text (no final dot), or
 * "" when there is none ldns can read */
static void question_name(const uint8_t *p, size_t n, char *out,
    size_t outlen)
{
	ldns_rdf *d = NULL;
	size_t pos = 12, l;
	char *t;

	out[0] = '\0';
	if (n < 12 || ldns_wire2dname(&d, p, n, &pos) != LDNS_STATUS_OK)
		return;
	t = ldns_rdf2str(d);
	if (t && (l = strlen(t)) < outlen) {
		memcpy(out, t, l + 1);
		if (l > 1 && out[l - 1] == '.')
			out[l - 1] = '\0';
	}
	free(t);
	ldns_rdf_deep_free(d);
}

static void check_arrays_empty(const struct dns_result *r)
{
	CHECK(!r->mx && !r->n_mx && !r->null_mx);
	CHECK(!r->a && !r->n_a);
	CHECK(!r->aaaa && !r->n_aaaa);
	CHECK(!r->tlsa && !r->n_tlsa);
}

static void check_ok(const struct dns_result *r, int qtype)
{
	unsigned char q[512];
	size_t i;

	CHECK(r->error[0] == '\0');
	if (r->n_cname)
		CHECK(strcmp(r->final_name, r->cname[r->n_cname - 1]) == 0);
	for (i = 0; i < r->n_cname; i++)
		CHECK(dns_query_build(r->cname[i], DNS_T_A, 1, DNS_UDP_SIZE, q,
		    sizeof(q)) > 0);
	if (r->status != DNS_ST_OK) {
		check_arrays_empty(r);
		return;
	}
	CHECK(qtype == DNS_T_A ? r->n_a >= 1 && r->a : !r->a && !r->n_a);
	CHECK(qtype == DNS_T_AAAA ? r->n_aaaa >= 1 && r->aaaa :
	    !r->aaaa && !r->n_aaaa);
	if (qtype == DNS_T_CNAME)
		CHECK(r->n_cname == 1);
	if (qtype == DNS_T_MX) {
		CHECK(r->mx && r->n_mx >= 1 && r->n_mx <= DNS_MX_MAX);
		CHECK(!r->null_mx || (r->n_mx == 1 && r->mx[0].host[0] == '\0'));
		for (i = 0; i < r->n_mx; i++) {
			CHECK(terminated(r->mx[i].host, sizeof(r->mx[i].host)));
			CHECK(r->mx[i].pref <= 65535);
			if (!r->null_mx)
				CHECK(dns_query_build(r->mx[i].host, DNS_T_A, 1,
				    DNS_UDP_SIZE, q, sizeof(q)) > 0);
		}
	} else {
		CHECK(!r->mx && !r->n_mx && !r->null_mx);
	}
	if (qtype == DNS_T_TLSA) {
		CHECK(r->n_tlsa <= DNS_TLSA_MAX);
		CHECK(r->n_tlsa + r->n_tlsa_bad >= 1);
		CHECK(r->n_tlsa + r->n_tlsa_bad <= DNS_TLSA_MAX);
		CHECK(!r->n_tlsa == !r->tlsa);
		for (i = 0; i < r->n_tlsa; i++) {
			CHECK(r->tlsa[i].len <= DNS_TLSA_DATA_MAX);
			CHECK(!r->tlsa[i].len == !r->tlsa[i].data);
			if (r->tlsa[i].len)	/* readable to its last byte */
				sink ^= r->tlsa[i].data[r->tlsa[i].len - 1];
		}
	} else {
		CHECK(!r->tlsa && !r->n_tlsa && !r->n_tlsa_bad);
	}
}

/* one - match and parse for (qname, qtype, trusted) and check it all */
static void one(const uint8_t *p, size_t n, const char *qname, int qtype,
    int trusted)
{
	struct dns_result r;
	unsigned id = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;
	int m = dns_answer_match(p, n, id, qname, qtype);
	size_t i;

	CHECK(m == 0 || m == 1);
	CHECK(dns_answer_match(p, n, id ^ 1, qname, qtype) == 0);
	CHECK(dns_answer_parse(p, n, qname, qtype, trusted, &r) == 0);
	CHECK(r.status >= DNS_ST_OK && r.status <= DNS_ST_TEMPFAIL);
	CHECK(r.sec >= DNS_SEC_INSECURE && r.sec <= DNS_SEC_BOGUS);
	CHECK(dns_status_name(r.status) && dns_sec_name(r.sec));
	CHECK(terminated(r.qname, sizeof(r.qname)));
	CHECK(terminated(r.final_name, sizeof(r.final_name)));
	CHECK(terminated(r.error, sizeof(r.error)));
	for (i = 0; i < DNS_CNAME_MAX; i++)
		CHECK(terminated(r.cname[i], sizeof(r.cname[i])));
	CHECK(r.n_cname <= DNS_CNAME_MAX);
	CHECK(r.qtype == qtype);
	CHECK(r.ttl <= DNS_TTL_MAX);
	CHECK(r.ad == 0 || r.ad == 1);
	CHECK(r.tc == 0 || r.tc == 1);
	CHECK(r.sec != DNS_SEC_SECURE || (trusted && r.ad));
	CHECK((r.sec == DNS_SEC_BOGUS) == (n >= 12 && r.rcode == 2));
	CHECK(!r.tc || r.status == DNS_ST_TEMPFAIL);
	if (r.status == DNS_ST_TEMPFAIL) {
		CHECK(r.error[0] != '\0');
		CHECK(r.sec != DNS_SEC_SECURE);
		CHECK(r.ttl == 0);
		check_arrays_empty(&r);
	} else {
		check_ok(&r, qtype);
		CHECK(m == 1);		/* interpretable: it was ours */
		CHECK(r.rcode == 0 || r.rcode == 3);
	}
	dns_result_free(&r);
	check_arrays_empty(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char qname[DNS_NAME_MAX];
	unsigned char q[1024];
	size_t t;
	int trusted;

	question_name(data, size, qname, sizeof(qname));
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (trusted = 0; trusted < 2; trusted++) {
			if (qname[0])
				one(data, size, qname, types[t], trusted);
			one(data, size, "example.net", types[t], trusted);
		}
	/* the packet's own question type, when it is another one */
	if (qname[0] && size >= 12 + 5) {
		const uint8_t *end = memchr(data + 12, 0, size - 12);

		if (end && (size_t)(end - data) + 3 <= size - 1) {
			int qt = end[1] << 8 | end[2];

			if (qt != 0)
				one(data, size, qname, qt, 1);
		}
	}
	/* our own query is never its answer */
	if (qname[0]) {
		long n = dns_query_build(qname, DNS_T_MX, 1, DNS_UDP_SIZE, q,
		    sizeof(q));
		struct dns_result r;

		if (n > 0) {
			CHECK(dns_answer_match(q, (size_t)n, 1, qname, DNS_T_MX) == 0);
			CHECK(dns_answer_parse(q, (size_t)n, qname, DNS_T_MX, 1,
			    &r) == 0);
			CHECK(r.status == DNS_ST_TEMPFAIL);
			dns_result_free(&r);
		}
	}
	return 0;
}
