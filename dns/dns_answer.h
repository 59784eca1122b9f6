/*
 * dns_answer.h - DNS queries out, typed answers in (ldns builds and
 * parses the packets). Pure: no sockets, no globals, no logging; the
 * resolver moves the bytes and keeps the timers.
 *
 * dns_answer_parse fills a struct dns_result whose arrays the caller
 * frees with dns_result_free; the rules deciding each status are written
 * at the top of dns_answer.c. A TEMPFAIL always means "defer", whatever
 * sec says: read status first.
 */
#ifndef TERN_DNS_ANSWER_H
#define TERN_DNS_ANSWER_H

#include <stddef.h>

#include "core/kconfig.h"

#define DNS_PKT_MAX	65535	/* larger "answers" are TEMPFAIL */
#define DNS_UDP_SIZE	1232	/* EDNS0 size to offer (flag day) */
#define DNS_NAME_MAX	256	/* a name as text, with its NUL */
#define DNS_CNAME_MAX	8	/* CNAMEs followed in one answer */
#define DNS_MX_MAX	64	/* MX records at one name; more: TEMPFAIL */
#define DNS_TLSA_MAX	64	/* records at one name; more: TEMPFAIL */
#define DNS_TLSA_DATA_MAX 8192	/* association data of one TLSA record */
#define DNS_TTL_MAX	86400	/* every TTL is capped at one day */

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_MX = 15,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52
};

enum dns_status {
	/* records of the asked type (after the CNAMEs in the answer) */
	DNS_ST_OK,
	/* the name exists, no records of that type (NOERROR, none usable) */
	DNS_ST_NODATA,
	/* RCODE 3: the (final) name does not exist */
	DNS_ST_NXDOMAIN,
	/* SERVFAIL, REFUSED, other rcodes, truncated, malformed, oversized
	 * or hostile answers, CNAME loops: a temporary failure, NEVER "no
	 * records" */
	DNS_ST_TEMPFAIL
};

enum dns_sec {
	DNS_SEC_INSECURE,	/* unauthenticated; TEMPFAIL but SERVFAIL */
	DNS_SEC_SECURE,		/* trusted AD, not TEMPFAIL */
	DNS_SEC_BOGUS		/* SERVFAIL: what a validating resolver
				 * answers for bogus data */
};

struct dns_mx {
	unsigned pref;			/* preference, RFC 1035 3.3.9 */
	char host[DNS_NAME_MAX];	/* exchange, no final dot; "" for
					 * the RFC 7505 null MX "." */
};

struct dns_tlsa {
	unsigned char usage;		/* RFC 6698 2.1.1, as received */
	unsigned char selector;		/* RFC 6698 2.1.2, as received */
	unsigned char mtype;		/* RFC 6698 2.1.3, as received */
	size_t len;			/* 0..DNS_TLSA_DATA_MAX bytes */
	unsigned char *data;		/* the data; NULL when len is 0 */
};

struct dns_result {
	enum dns_status status;
	/* SECURE only with AD set by a trusted server (the argument) and a
	 * status other than TEMPFAIL; BOGUS exactly for SERVFAIL; INSECURE
	 * otherwise */
	enum dns_sec sec;
	/* header bits as received; rcode with the EDNS0 extended bits
	 * (RFC 6891 6.1.3) once the packet was parsed */
	int rcode;
	int ad;
	int tc;				/* 1: ask again over TCP */
	char qname[DNS_NAME_MAX];	/* as the caller wrote it */
	int qtype;
	/* the end of the CNAME chain in the answer; "" when no CNAME was
	 * followed (the final name is qname) */
	char final_name[DNS_NAME_MAX];
	/* cname[i]: the target of the i-th CNAME followed from qname */
	char cname[DNS_CNAME_MAX][DNS_NAME_MAX];
	size_t n_cname;
	/* smallest TTL of the records used, CNAMEs included; for NODATA and
	 * NXDOMAIN the RFC 2308 5 negative TTL (0 without a SOA); 0 for
	 * TEMPFAIL; at most DNS_TTL_MAX */
	unsigned ttl;
	/* MX: in answer order (the caller sorts, RFC 5321 5.1); with
	 * status OK 1..DNS_MX_MAX entries */
	struct dns_mx *mx;
	size_t n_mx;
	/* RFC 7505 null MX: mx[0] is the only entry, host "" (pref 0 when
	 * the record conforms) */
	int null_mx;
	unsigned char (*a)[4];		/* A: addresses, network order */
	size_t n_a;
	unsigned char (*aaaa)[16];	/* AAAA: addresses, network order */
	size_t n_aaaa;
	/* TLSA: the well-formed records, 0..DNS_TLSA_MAX; n_tlsa is 0 with
	 * status OK when every record was malformed ("no usable TLSA") */
	struct dns_tlsa *tlsa;
	size_t n_tlsa;
	/* TLSA records skipped, under 3 bytes of rdata (RFC 7671 4.1) */
	size_t n_tlsa_bad;
	char error[160];		/* why, for TEMPFAIL; "" otherwise */
};

#ifdef CONFIG_DNS
/* dns_query_build - a query for (name, type) with id, RD=1, AD=1 (RFC 6840
 * 5.7) and an EDNS0 OPT record (RFC 6891) with DO=1 and udp_size
 * (512..65535, DNS_UDP_SIZE recommended) into buf; returns the length or -1
 * (name not a valid domain name, id > 0xffff, type or udp_size out of
 * range, buffer too small, out of memory). */
long dns_query_build(const char *name, int type, unsigned id,
    unsigned udp_size, unsigned char *buf, size_t len);

/* dns_answer_match - is this packet the answer to our query? 1 yes; 0 no
 * (shorter than a header, wrong ID, not a response, opcode not QUERY, not
 * exactly one question, wrong question name (compared case-insensitively),
 * type or class): the caller drops it and keeps waiting (anti-spoofing).
 * Reads only the header and the question; no allocation but ldns reading
 * qname. */
int dns_answer_match(const unsigned char *pkt, size_t len, unsigned id,
    const char *qname, int qtype);

/* dns_answer_parse - interpret an answer that matched: overwrites every
 * field of res (free a reused one first) and returns 0, res->status
 * telling what was found; -1 only when out of memory (res is then a
 * TEMPFAIL with no arrays). A TC=1 answer is TEMPFAIL with res->tc = 1:
 * ask again over TCP. trusted: the server may be believed on the AD bit. */
int dns_answer_parse(const unsigned char *pkt, size_t len, const char *qname,
    int qtype, int trusted, struct dns_result *res);

/* dns_result_free - frees the arrays, zeroes their counts and null_mx;
 * the struct itself stays the caller's. NULL-safe; twice is harmless. */
void dns_result_free(struct dns_result *res);

/* for logs and `tern route` */
/* "ok", "nodata", "nxdomain", "tempfail" */
const char *dns_status_name(enum dns_status s);
/* "secure", "insecure", "bogus" */
const char *dns_sec_name(enum dns_sec s);

/* dns_tlsa_name - "_25._tcp.mx.example.net" for (port, host) into buf;
 * NULL when port is not 1..65535, host is empty or it does not fit */
char *dns_tlsa_name(unsigned port, const char *host, char *buf, size_t len);

#else	/* no DNS module: the callers' code compiles and is never reached */
static inline long dns_query_build(const char *name, int type, unsigned id,
    unsigned udp_size, unsigned char *buf, size_t len)
{ (void)name; (void)type; (void)id; (void)udp_size; (void)buf; (void)len; return -1; }
static inline int dns_answer_match(const unsigned char *pkt, size_t len,
    unsigned id, const char *qname, int qtype)
{ (void)pkt; (void)len; (void)id; (void)qname; (void)qtype; return 0; }
static inline int dns_answer_parse(const unsigned char *pkt, size_t len,
    const char *qname, int qtype, int trusted, struct dns_result *res)
{ (void)pkt; (void)len; (void)qname; (void)qtype; (void)trusted; (void)res; return -1; }
static inline void dns_result_free(struct dns_result *res) { (void)res; }
static inline const char *dns_status_name(enum dns_status st) { (void)st; return ""; }
static inline const char *dns_sec_name(enum dns_sec sec) { (void)sec; return ""; }
static inline char *dns_tlsa_name(unsigned port, const char *host, char *buf,
    size_t len)
{ (void)port; (void)host; (void)buf; (void)len; return NULL; }
#endif

#endif
