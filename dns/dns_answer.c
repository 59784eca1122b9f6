/*
 * dns_answer.c - DNS query packets out, typed answers in (dns_answer.h).
 * Pure: bytes in, a struct dns_result out; no I/O, no globals, no logging.
 * ldns builds the queries and parses the answers; this file frames every
 * answer itself first (ldns is lenient in places, see rule 4) and decides.
 *
 * Public functions: dns_query_build, dns_answer_match, dns_answer_parse,
 * dns_result_free, dns_status_name, dns_sec_name, dns_tlsa_name.
 * Ownership: dns_answer_parse allocates res->mx, res->a, res->aaaa,
 * res->tlsa and each res->tlsa[i].data; dns_result_free releases them.
 * Nothing returned points into the packet. ldns allocates inside
 * dns_query_build, dns_answer_match (the qname) and dns_answer_parse and
 * frees it all before returning.
 *
 * RFCs: 1035 4.1 (message format, 4.1.4 compression), 2181 8 (TTLs),
 * 2308 5 (negative TTL), 3225 and 4035 3.2 (DO, AD), 6840 5.7 (AD in
 * queries), 6891 (EDNS0), 6604 (rcode after CNAMEs), 7505 (null MX),
 * 6698 2.1 and 7671 4.1 (TLSA, malformed records), 7766 (TC -> TCP).
 *
 * How each state is decided (the contract of dns_answer_parse; the unit
 * tests check every rule). The first rule that applies decides.
 *
 *  1. Size: more than 65535 bytes, or less than the 12-byte header:
 *     TEMPFAIL. qtype outside 1..65535 or qname not a valid name: TEMPFAIL.
 *  2. rcode, ad and tc are copied from the header as received.
 *  3. TC=1: TEMPFAIL with tc = 1: ask again over TCP (RFC 7766). Nothing
 *     else in a truncated answer is believed.
 *  4. Framing, checked here before ldns reads the bytes (RFC 1035 4.1):
 *     every count is honoured and no byte is left over; a name has labels
 *     of at most 63 bytes, at most 255 bytes in all, and compression
 *     pointers that point past the header and before the piece of name
 *     that holds them (a "prior occurrence", 4.1.4; this also makes loops
 *     impossible); the fixed part and the rdata of each record lie inside
 *     the packet; in class IN an A is 4 bytes and an AAAA 16; the names in
 *     CNAME, DNAME, NS, PTR, MX, SOA, RRSIG and NSEC rdata end inside it
 *     (exactly at its end where nothing follows them); no TSIG record
 *     (tern never signs a query), at most one OPT (RFC 6891 6.1.1).
 *     Otherwise TEMPFAIL "malformed answer: ...".
 *  5. ldns_wire2pkt must parse the packet and read the same records (owner,
 *     type, class and TTL of every question, answer and authority record)
 *     as rule 4 did; otherwise TEMPFAIL "malformed answer". (ldns 1.8.3
 *     does not resume at the end of a record's rdlength: rdata shorter or
 *     longer than its type expects shifts every record after it.)
 *  6. The question must be ours: QR=1, opcode QUERY, one question with
 *     qname (case-insensitive), qtype and class IN; otherwise TEMPFAIL.
 *  7. rcode, with the EDNS0 extended bits: SERVFAIL is TEMPFAIL (and sec
 *     BOGUS, rule 13); anything but NOERROR or NXDOMAIN is TEMPFAIL.
 *  8. CNAMEs of class IN in the answer section are followed from qname,
 *     at most DNS_CNAME_MAX (8): a 9th, a target already in the chain
 *     (a loop) or two CNAMEs with different targets for one name is
 *     TEMPFAIL. For qtype CNAME the CNAME of qname is the answer and is
 *     not followed.
 *  9. The records used are those of qtype, class IN, owned by the final
 *     name of the chain (case-insensitive). Everything else is ignored:
 *     other names, classes and types (RRSIG, DNAME), the additional
 *     section.
 * 10. NXDOMAIN (RFC 6604: it is about the final name): TEMPFAIL when
 *     records of rule 9 are present (a contradiction), else NXDOMAIN.
 *     NOERROR without records of rule 9: TEMPFAIL for a referral (NS and
 *     no SOA in the authority section: the server did not recurse), else
 *     NODATA.
 * 11. NOERROR with records of rule 9: OK, and by qtype
 *     A, AAAA: every address, in answer order.
 *     MX: more than DNS_MX_MAX records is TEMPFAIL. When every record is
 *       "." the answer is the RFC 7505 null MX: null_mx = 1 and one entry,
 *       host "" with the preference received (0 when it conforms; "."
 *       names no host whatever the preference). A "." mixed with real
 *       exchanges (which RFC 7505 3 forbids) is dropped and the others
 *       are used. An exchange too long for DNS_NAME_MAX as text: TEMPFAIL.
 *     TLSA: more than DNS_TLSA_MAX records, or one with more than
 *       DNS_TLSA_DATA_MAX bytes of association data: TEMPFAIL "TLSA RRset
 *       too large". A record with under 3 bytes of rdata is malformed:
 *       skipped and counted in n_tlsa_bad (RFC 7671 4.1: unusable). When
 *       all are, the status is still OK with n_tlsa = 0: the RRset exists
 *       but holds no usable record, which the DANE verifier treats as "no
 *       usable TLSA" (RFC 7672 2.2 decides what follows), never as NODATA.
 *       Usage, selector and matching type are passed on as received.
 *     CNAME: cname[0] is the target (n_cname = 1).
 *     any other qtype: OK says only that records exist.
 * 12. ttl: the smallest TTL of the CNAMEs followed and the records used;
 *     for NODATA and NXDOMAIN the CNAMEs and min(TTL, MINIMUM) of the first
 *     SOA of the authority section (RFC 2308 5), 0 without a SOA; 0 for
 *     TEMPFAIL. A TTL with the top bit set counts as 0 (RFC 2181 8); all
 *     are capped at DNS_TTL_MAX (1 day).
 * 13. sec: BOGUS exactly when rcode is SERVFAIL (an AD bit on it means
 *     nothing); SECURE when the status is OK, NODATA or NXDOMAIN, AD=1 and
 *     the server is trusted (so a secure denial needs both as well);
 *     INSECURE otherwise. A TEMPFAIL is never SECURE: read status first.
 *
 * Names given back (final_name, cname[], mx[].host) are in presentation
 * form without the final dot, as received (case kept); '.' and '\' inside
 * a label are written \. and \\, other bytes outside '!'..'~' as \DDD, so
 * they can be handed back to dns_query_build. The root is "." (MX: "").
 */
#include "dns/dns_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define DNS_HDR_LEN	12
#define DNS_WIRE_MAX	255	/* bytes of a name in wire form */
#define DNS_HOPS_MAX	128	/* compression pointers in one name */

/* a name in uncompressed wire form */
struct dns_wname {
	size_t len;
	unsigned char b[DNS_WIRE_MAX];
};

/* what dns_answer_parse works on */
struct dns_ctx {
	ldns_pkt *pkt;
	struct dns_wname chain[DNS_CNAME_MAX + 1];	/* [0] is qname */
	size_t depth;				/* CNAMEs followed */
	unsigned long ttl;
	int qtype;
	struct dns_result *res;
};

static unsigned dns_get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long dns_get32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

/* dns_ttl - RFC 2181 8 and the cap */
static unsigned long dns_ttl(unsigned long t)
{
	if (t > 0x7fffffffUL)
		return 0;
	return t > DNS_TTL_MAX ? DNS_TTL_MAX : t;
}

/* dns_wire_name - the name at *pos, read no further than end, into out;
 * *pos moves past it. Pointers must land after the header and before the
 * piece of name holding them. 0, or -1 when malformed. */
static int dns_wire_name(const unsigned char *p, size_t end, size_t *pos,
    struct dns_wname *out)
{
	size_t at = *pos, piece = *pos, next = 0;
	unsigned hops = 0;

	out->len = 0;
	for (;;) {
		unsigned c;

		if (at >= end)
			return -1;
		c = p[at];
		if ((c & 0xc0) == 0xc0) {
			size_t to;

			if (end - at < 2)
				return -1;
			to = (size_t)(c & 0x3f) << 8 | p[at + 1];
			if (to < DNS_HDR_LEN || to >= piece ||
			    ++hops > DNS_HOPS_MAX)
				return -1;
			if (hops == 1)
				next = at + 2;
			at = piece = to;
			continue;
		}
		if (c > 63)		/* 0x40 and 0x80: no such labels */
			return -1;
		if (end - at - 1 < c || out->len + 1 + c > DNS_WIRE_MAX)
			return -1;
		out->b[out->len++] = (unsigned char)c;
		memcpy(out->b + out->len, p + at + 1, c);
		out->len += c;
		at += 1 + c;
		if (c == 0)
			break;
	}
	*pos = hops ? next : at;
	return 0;
}

/* dns_name_eq - wire names, ASCII case-insensitive (length bytes are
 * below 'A', so comparing every byte folded keeps the label structure) */
static int dns_name_eq(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++) {
		unsigned x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

/* dns_rdf_is_name - an ldns dname rdf that equals n */
static int dns_rdf_is_name(const ldns_rdf *rdf, const struct dns_wname *n)
{
	return rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME &&
	    dns_name_eq(ldns_rdf_data(rdf), ldns_rdf_size(rdf), n->b, n->len);
}

/* dns_rdf_name - copy an ldns dname rdf; -1 if it is not one */
static int dns_rdf_name(const ldns_rdf *rdf, struct dns_wname *out)
{
	if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_size(rdf) < 1 || ldns_rdf_size(rdf) > DNS_WIRE_MAX)
		return -1;
	out->len = ldns_rdf_size(rdf);
	memcpy(out->b, ldns_rdf_data(rdf), out->len);
	return 0;
}

/* dns_name_print - a wire name as text (see the top comment); the root is
 * "."; 0, or -1 when it does not fit or is not a wire name */
static int dns_name_print(const unsigned char *w, size_t wlen, char *out,
    size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen < 2)
		return -1;
	while (i < wlen && w[i] != 0) {
		size_t l = w[i++], k;

		if (l > wlen - i)
			return -1;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		for (k = 0; k < l; k++) {
			unsigned c = w[i++];

			if (o + 4 >= outlen)
				return -1;
			if (c == '.' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c < '!' || c > '~') {
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			} else {
				out[o++] = (char)c;
			}
		}
	}
	if (i >= wlen)			/* no root label */
		return -1;
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* dns_name_check - printable ASCII, not empty: what dns_query_build and
 * the others accept before ldns reads the name (A-labels for IDNs) */
static int dns_name_check(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	if (!s || !*s)
		return -1;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return -1;
	return 0;
}

/* dns_name_from_text - qname in wire form: 0, -1 invalid, -2 no memory */
static int dns_name_from_text(const char *name, struct dns_wname *out)
{
	ldns_rdf *rdf = NULL;
	ldns_status st;
	int ret = -1;

	if (dns_name_check(name) < 0)
		return -1;
	st = ldns_str2rdf_dname(&rdf, name);
	if (st == LDNS_STATUS_MEM_ERR)
		ret = -2;
	else if (st == LDNS_STATUS_OK && dns_rdf_name(rdf, out) == 0)
		ret = 0;
	ldns_rdf_deep_free(rdf);
	return ret;
}

long dns_query_build(const char *name, int type, unsigned id,
    unsigned udp_size, unsigned char *buf, size_t len)
{
	ldns_rdf *qn = NULL;
	ldns_rr *q = NULL;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t n = 0;
	long ret = -1;

	if (type < 1 || type > 65535 || id > 0xffff || udp_size < 512 ||
	    udp_size > 65535 || !buf || dns_name_check(name) < 0)
		return -1;
	if (ldns_str2rdf_dname(&qn, name) != LDNS_STATUS_OK)
		goto out;
	if (!(pkt = ldns_pkt_new()) || !(q = ldns_rr_new()))
		goto out;
	ldns_rr_set_owner(q, qn);
	qn = NULL;
	ldns_rr_set_type(q, (ldns_rr_type)type);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q))
		goto out;
	q = NULL;
	ldns_pkt_set_id(pkt, (uint16_t)id);
	ldns_pkt_set_opcode(pkt, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(pkt, true);
	ldns_pkt_set_ad(pkt, true);		/* RFC 6840 5.7 */
	ldns_pkt_set_edns_udp_size(pkt, (uint16_t)udp_size);
	ldns_pkt_set_edns_do(pkt, true);	/* RFC 3225 */
	if (ldns_pkt2wire(&wire, pkt, &n) != LDNS_STATUS_OK || n > len)
		goto out;
	memcpy(buf, wire, n);
	ret = (long)n;
out:
	free(wire);
	ldns_rr_free(q);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qn);
	return ret;
}

int dns_answer_match(const unsigned char *pkt, size_t len, unsigned id,
    const char *qname, int qtype)
{
	struct dns_wname want, got;
	size_t pos = DNS_HDR_LEN;

	if (!pkt || len < DNS_HDR_LEN || len > DNS_PKT_MAX || id > 0xffff ||
	    qtype < 1 || qtype > 65535)
		return 0;
	if (dns_get16(pkt) != id || !(pkt[2] & 0x80) ||
	    (pkt[2] >> 3 & 0x0f) != LDNS_PACKET_QUERY ||
	    dns_get16(pkt + 4) != 1)
		return 0;
	if (dns_wire_name(pkt, len, &pos, &got) < 0 || len - pos < 4)
		return 0;
	if (dns_get16(pkt + pos) != (unsigned)qtype ||
	    dns_get16(pkt + pos + 2) != LDNS_RR_CLASS_IN)
		return 0;
	if (dns_name_from_text(qname, &want) < 0)
		return 0;
	return dns_name_eq(got.b, got.len, want.b, want.len);
}

/* dns_walk_rdata - the rdata rules of rule 4 for one record; NULL or why */
static const char *dns_walk_rdata(const unsigned char *p, size_t start,
    size_t end, unsigned type, unsigned class)
{
	struct dns_wname n;
	size_t pos = start;

	switch (type) {
	case LDNS_RR_TYPE_A:
		if (class == LDNS_RR_CLASS_IN && end - start != 4)
			return "an A record is not 4 bytes";
		break;
	case LDNS_RR_TYPE_AAAA:
		if (class == LDNS_RR_CLASS_IN && end - start != 16)
			return "an AAAA record is not 16 bytes";
		break;
	case LDNS_RR_TYPE_CNAME:
	case LDNS_RR_TYPE_DNAME:
	case LDNS_RR_TYPE_NS:
	case LDNS_RR_TYPE_PTR:
		if (dns_wire_name(p, end, &pos, &n) < 0 || pos != end)
			return "bad name in record data";
		break;
	case LDNS_RR_TYPE_MX:
		pos += 2;
		if (end - start < 3 || dns_wire_name(p, end, &pos, &n) < 0 ||
		    pos != end)
			return "bad MX record data";
		break;
	case LDNS_RR_TYPE_SOA:
		if (dns_wire_name(p, end, &pos, &n) < 0 ||
		    dns_wire_name(p, end, &pos, &n) < 0 || end - pos != 20)
			return "bad SOA record data";
		break;
	case LDNS_RR_TYPE_RRSIG:
		pos += 18;
		if (end - start < 19 || dns_wire_name(p, end, &pos, &n) < 0)
			return "bad RRSIG record data";
		break;
	case LDNS_RR_TYPE_NSEC:
		if (dns_wire_name(p, end, &pos, &n) < 0)
			return "bad NSEC record data";
		break;
	case LDNS_RR_TYPE_TSIG:
		return "a TSIG record (tern signs no query)";
	default:
		break;
	}
	return NULL;
}

/* dns_walk_same - does ldns's record have this owner (byte for byte),
 * type, class and TTL (not for a question: ldns gives those its own)? */
static int dns_walk_same(const ldns_rr *rr, const struct dns_wname *owner,
    unsigned type, unsigned class, int question, unsigned long ttl)
{
	const ldns_rdf *o = rr ? ldns_rr_owner(rr) : NULL;

	return o && ldns_rr_get_type(rr) == type &&
	    ldns_rr_get_class(rr) == class &&
	    (question || ldns_rr_ttl(rr) == ttl) &&
	    ldns_rdf_size(o) == owner->len &&
	    memcmp(ldns_rdf_data(o), owner->b, owner->len) == 0;
}

/* dns_walk - rule 4 over the whole packet (pkt NULL), or rule 5: the same
 * walk comparing each question, answer and authority record with what
 * ldns read (pkt given); NULL or why not */
static const char *dns_walk(const unsigned char *p, size_t len,
    const ldns_pkt *pkt, unsigned *section)
{
	size_t pos = DNS_HDR_LEN;
	unsigned s, opt = 0;

	for (s = 0; s < 4; s++) {
		unsigned count = dns_get16(p + 4 + 2 * s), i;
		ldns_rr_list *list = NULL;

		*section = s;
		if (pkt && s < 3) {
			list = s == 0 ? ldns_pkt_question(pkt) : s == 1 ?
			    ldns_pkt_answer(pkt) : ldns_pkt_authority(pkt);
			if (ldns_rr_list_rr_count(list) != count)
				return "ldns counted other records";
		}
		for (i = 0; i < count; i++) {
			struct dns_wname owner;
			unsigned type, class;
			unsigned long ttl = 0;
			const char *why;

			if (pos >= len)
				return "fewer records than the header counts";
			if (dns_wire_name(p, len, &pos, &owner) < 0)
				return "bad owner name";
			if (len - pos < (s ? 10u : 4u))
				return "a record is cut short";
			type = dns_get16(p + pos);
			class = dns_get16(p + pos + 2);
			if (s == 0) {
				pos += 4;
			} else {
				size_t rdlen = dns_get16(p + pos + 8);

				ttl = dns_get32(p + pos + 4);
				pos += 10;
				if (rdlen > len - pos)
					return "record data past the end";
				if (!pkt && (why = dns_walk_rdata(p, pos,
				    pos + rdlen, type, class)))
					return why;
				if (type == LDNS_RR_TYPE_OPT && ++opt > 1)
					return "more than one OPT record";
				pos += rdlen;
			}
			if (list && !dns_walk_same(ldns_rr_list_rr(list, i),
			    &owner, type, class, s == 0, ttl))
				return "ldns read other records";
		}
	}
	*section = 4;
	if (pos != len)
		return "bytes after the last record";
	return NULL;
}

/* dns_fail_malformed - the reason for rules 4 and 5 */
static void dns_fail_malformed(struct dns_result *res, const char *why,
    unsigned section)
{
	static const char *const names[] = {
		"question section", "answer section", "authority section",
		"additional section", "packet"
	};

	if (!res->error[0])
		snprintf(res->error, sizeof(res->error),
		    "malformed answer for %.80s: %s in the %s", res->qname,
		    why, names[section < 4 ? section : 4]);
}

/* dns_fail - the TEMPFAIL reason (the first one stays); names are cut
 * at 80 bytes to leave room for the reason */
static void dns_fail(struct dns_result *res, const char *why,
    const char *name)
{
	if (res->error[0])
		return;
	if (name)
		snprintf(res->error, sizeof(res->error), "%s %.80s", why, name);
	else
		snprintf(res->error, sizeof(res->error), "%s", why);
}

/* dns_rr_at - a record of type in class IN owned by n */
static int dns_rr_at(const ldns_rr *rr, unsigned type,
    const struct dns_wname *n)
{
	return ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
	    ldns_rr_get_type(rr) == type &&
	    dns_rdf_is_name(ldns_rr_owner(rr), n);
}

/* dns_chain_next - the target of the CNAME of cur in the answer: 1 found,
 * 0 none, -1 with res->error (bad or conflicting CNAMEs) */
static int dns_chain_next(struct dns_ctx *c, const struct dns_wname *cur,
    struct dns_wname *target, unsigned long *ttl)
{
	ldns_rr_list *an = ldns_pkt_answer(c->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	int found = 0;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		const ldns_rdf *to = ldns_rr_rdf(rr, 0);

		if (!dns_rr_at(rr, LDNS_RR_TYPE_CNAME, cur))
			continue;
		if (found && !dns_rdf_is_name(to, target)) {
			dns_fail(c->res, "conflicting CNAME records from",
			    c->res->qname);
			return -1;
		}
		if (!found && dns_rdf_name(to, target) < 0) {
			dns_fail(c->res, "malformed answer: bad CNAME from",
			    c->res->qname);
			return -1;
		}
		if (!found || dns_ttl(ldns_rr_ttl(rr)) < *ttl)
			*ttl = dns_ttl(ldns_rr_ttl(rr));
		found = 1;
	}
	return found;
}

/* dns_chain - rule 8; 0, or -1 with res->error */
static int dns_chain(struct dns_ctx *c)
{
	struct dns_result *res = c->res;

	for (;;) {
		struct dns_wname target;
		unsigned long ttl = 0;
		size_t k;
		int r = dns_chain_next(c, &c->chain[c->depth], &target, &ttl);

		if (r <= 0)
			return r;
		if (c->depth == DNS_CNAME_MAX) {
			dns_fail(res, "CNAME chain longer than 8 from",
			    res->qname);
			return -1;
		}
		for (k = 0; k <= c->depth; k++)
			if (dns_name_eq(target.b, target.len, c->chain[k].b,
			    c->chain[k].len)) {
				dns_fail(res, "CNAME loop from", res->qname);
				return -1;
			}
		if (dns_name_print(target.b, target.len, res->cname[c->depth],
		    DNS_NAME_MAX) < 0) {
			dns_fail(res, "CNAME target too long from", res->qname);
			return -1;
		}
		if (ttl < c->ttl)
			c->ttl = ttl;
		c->chain[++c->depth] = target;
		res->n_cname = c->depth;
		memcpy(res->final_name, res->cname[c->depth - 1],
		    DNS_NAME_MAX);
		if (c->qtype == LDNS_RR_TYPE_CNAME)
			return 0;	/* the answer itself: not followed */
	}
}

/* dns_negative - rule 10 for an answer without records: the status, or
 * -1 with res->error for a referral; sets the RFC 2308 TTL */
static int dns_negative(struct dns_ctx *c, int rcode)
{
	ldns_rr_list *ns = ldns_pkt_authority(c->pkt);
	size_t i, n = ldns_rr_list_rr_count(ns);
	const ldns_rr *soa = NULL;
	int has_ns = 0;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && !soa)
			soa = rr;
		else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS)
			has_ns = 1;
	}
	if (rcode == LDNS_RCODE_NOERROR && !soa && has_ns) {
		dns_fail(c->res, "a referral (the server did not recurse) for",
		    c->res->qname);
		return -1;
	}
	if (soa && ldns_rr_rd_count(soa) >= 7 && ldns_rr_rdf(soa, 6) &&
	    ldns_rdf_size(ldns_rr_rdf(soa, 6)) == 4) {
		unsigned long t = dns_ttl(ldns_rr_ttl(soa)), m;

		m = dns_ttl(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)));
		if (m < t)
			t = m;
		if (t < c->ttl)
			c->ttl = t;
	} else {
		c->ttl = 0;		/* RFC 2308 5: not to be cached */
	}
	return rcode == LDNS_RCODE_NXDOMAIN ? DNS_ST_NXDOMAIN : DNS_ST_NODATA;
}

/* dns_fill_addr - A or AAAA; 0, -1 error, -2 no memory */
static int dns_fill_addr(struct dns_ctx *c, const ldns_rr **rrs, size_t n)
{
	size_t sz = c->qtype == LDNS_RR_TYPE_A ? 4 : 16, i;
	unsigned char *out = calloc(n, sz);

	if (!out)
		return -2;
	if (sz == 4) {
		c->res->a = (unsigned char (*)[4])out;
		c->res->n_a = n;
	} else {
		c->res->aaaa = (unsigned char (*)[16])out;
		c->res->n_aaaa = n;
	}
	for (i = 0; i < n; i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rrs[i], 0);

		if (!rdf || ldns_rdf_size(rdf) != sz) {
			dns_fail(c->res, "malformed answer: bad address for",
			    c->res->qname);
			return -1;
		}
		memcpy(out + i * sz, ldns_rdf_data(rdf), sz);
	}
	return 0;
}

/* dns_fill_mx - rule 11 for MX; 0, -1 error, -2 no memory */
static int dns_fill_mx(struct dns_ctx *c, const ldns_rr **rrs, size_t n)
{
	struct dns_result *res = c->res;
	size_t i, real = 0;

	if (n > DNS_MX_MAX) {
		dns_fail(res, "MX RRset too large for", res->qname);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const ldns_rdf *pref = ldns_rr_rdf(rrs[i], 0);
		const ldns_rdf *host = ldns_rr_rdf(rrs[i], 1);

		if (!pref || ldns_rdf_size(pref) != 2 || !host ||
		    ldns_rdf_get_type(host) != LDNS_RDF_TYPE_DNAME) {
			dns_fail(res, "malformed answer: bad MX for",
			    res->qname);
			return -1;
		}
		if (ldns_rdf_size(host) != 1)
			real++;
	}
	if (!(res->mx = calloc(real ? real : 1, sizeof(*res->mx))))
		return -2;
	if (real == 0) {		/* RFC 7505 null MX */
		res->mx[0].pref = ldns_rdf2native_int16(ldns_rr_rdf(rrs[0], 0));
		res->n_mx = 1;
		res->null_mx = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		const ldns_rdf *host = ldns_rr_rdf(rrs[i], 1);
		struct dns_mx *mx = &res->mx[res->n_mx];

		if (ldns_rdf_size(host) == 1)
			continue;	/* "." among real ones: dropped */
		mx->pref = ldns_rdf2native_int16(ldns_rr_rdf(rrs[i], 0));
		if (dns_name_print(ldns_rdf_data(host), ldns_rdf_size(host),
		    mx->host, sizeof(mx->host)) < 0) {
			dns_fail(res, "MX host name too long for", res->qname);
			return -1;
		}
		res->n_mx++;
	}
	return 0;
}

/* dns_fill_tlsa - rule 11 for TLSA; 0, -1 error, -2 no memory */
static int dns_fill_tlsa(struct dns_ctx *c, const ldns_rr **rrs, size_t n)
{
	struct dns_result *res = c->res;
	size_t i;

	if (n > DNS_TLSA_MAX) {
		dns_fail(res, "TLSA RRset too large (records) for", res->qname);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const ldns_rdf *data = ldns_rr_rdf(rrs[i], 3);

		if (ldns_rr_rd_count(rrs[i]) >= 4 && data &&
		    ldns_rdf_size(data) > DNS_TLSA_DATA_MAX) {
			dns_fail(res, "TLSA RRset too large (data) for",
			    res->qname);
			return -1;
		}
	}
	if (!(res->tlsa = calloc(n, sizeof(*res->tlsa))))
		return -2;
	for (i = 0; i < n; i++) {
		const ldns_rr *rr = rrs[i];
		struct dns_tlsa *t = &res->tlsa[res->n_tlsa];
		const ldns_rdf *data;
		size_t k;

		for (k = 0; k < 3; k++)
			if (k >= ldns_rr_rd_count(rr) || !ldns_rr_rdf(rr, k) ||
			    ldns_rdf_size(ldns_rr_rdf(rr, k)) != 1)
				break;
		if (k < 3) {
			res->n_tlsa_bad++;	/* RFC 7671 4.1 */
			continue;
		}
		t->usage = ldns_rdf_data(ldns_rr_rdf(rr, 0))[0];
		t->selector = ldns_rdf_data(ldns_rr_rdf(rr, 1))[0];
		t->mtype = ldns_rdf_data(ldns_rr_rdf(rr, 2))[0];
		data = ldns_rr_rd_count(rr) >= 4 ? ldns_rr_rdf(rr, 3) : NULL;
		if (data && ldns_rdf_size(data) > 0) {
			if (!(t->data = malloc(ldns_rdf_size(data))))
				return -2;
			t->len = ldns_rdf_size(data);
			memcpy(t->data, ldns_rdf_data(data), t->len);
		}
		res->n_tlsa++;
	}
	if (res->n_tlsa == 0) {		/* keep "no array when empty" */
		free(res->tlsa);
		res->tlsa = NULL;
	}
	return 0;
}

/* dns_records - rules 9 to 11 once the chain is known: the status, -1
 * with res->error, -2 when out of memory */
static int dns_records(struct dns_ctx *c, int rcode)
{
	ldns_rr_list *an = ldns_pkt_answer(c->pkt);
	size_t i, n = ldns_rr_list_rr_count(an), found = 0;
	const struct dns_wname *final = &c->chain[c->depth];
	const ldns_rr **rrs;
	unsigned long ttl = c->ttl;
	int ret = -2;

	if (c->qtype == LDNS_RR_TYPE_CNAME)
		found = c->depth;
	else
		for (i = 0; i < n; i++)
			if (dns_rr_at(ldns_rr_list_rr(an, i),
			    (unsigned)c->qtype, final))
				found++;
	if (rcode == LDNS_RCODE_NXDOMAIN && found) {
		dns_fail(c->res, "NXDOMAIN with records for", c->res->qname);
		return -1;
	}
	if (!found)
		return dns_negative(c, rcode);
	if (c->qtype == LDNS_RR_TYPE_CNAME)
		return DNS_ST_OK;
	if (!(rrs = calloc(found, sizeof(*rrs))))
		return -2;
	found = 0;
	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!dns_rr_at(rr, (unsigned)c->qtype, final))
			continue;
		rrs[found++] = rr;
		if (dns_ttl(ldns_rr_ttl(rr)) < ttl)
			ttl = dns_ttl(ldns_rr_ttl(rr));
	}
	c->ttl = ttl;
	switch (c->qtype) {
	case LDNS_RR_TYPE_A:
	case LDNS_RR_TYPE_AAAA:
		ret = dns_fill_addr(c, rrs, found);
		break;
	case LDNS_RR_TYPE_MX:
		ret = dns_fill_mx(c, rrs, found);
		break;
	case LDNS_RR_TYPE_TLSA:
		ret = dns_fill_tlsa(c, rrs, found);
		break;
	default:
		ret = 0;
		break;
	}
	free(rrs);
	return ret < 0 ? ret : DNS_ST_OK;
}

/* dns_question - rule 6; 0 or -1 with res->error */
static int dns_question(struct dns_ctx *c)
{
	ldns_rr_list *q = ldns_pkt_question(c->pkt);
	const ldns_rr *rr = ldns_rr_list_rr_count(q) == 1 ?
	    ldns_rr_list_rr(q, 0) : NULL;

	if (!ldns_pkt_qr(c->pkt) ||
	    ldns_pkt_get_opcode(c->pkt) != LDNS_PACKET_QUERY || !rr ||
	    !dns_rr_at(rr, (unsigned)c->qtype, &c->chain[0])) {
		dns_fail(c->res, "the answer does not match the question for",
		    c->res->qname);
		return -1;
	}
	return 0;
}

/* dns_interpret - rules 4 to 12; the status, -1 with res->error, -2 when
 * out of memory */
static int dns_interpret(struct dns_ctx *c, const unsigned char *p,
    size_t len)
{
	struct dns_result *res = c->res;
	ldns_status st;
	const char *why;
	unsigned section;
	int rcode;

	if ((why = dns_walk(p, len, NULL, &section))) {
		dns_fail_malformed(res, why, section);
		return -1;
	}
	st = ldns_wire2pkt(&c->pkt, p, len);
	if (st == LDNS_STATUS_MEM_ERR)
		return -2;
	if (st != LDNS_STATUS_OK) {
		c->pkt = NULL;
		snprintf(res->error, sizeof(res->error),
		    "malformed answer for %.80s (ldns: %s)", res->qname,
		    ldns_get_errorstr_by_id(st));
		return -1;
	}
	if ((why = dns_walk(p, len, c->pkt, &section))) {
		dns_fail_malformed(res, why, section);
		return -1;
	}
	if (ldns_pkt_edns(c->pkt))
		res->rcode |= ldns_pkt_edns_extended_rcode(c->pkt) << 4;
	if (dns_question(c) < 0)
		return -1;
	rcode = res->rcode;
	if (rcode == LDNS_RCODE_SERVFAIL) {
		dns_fail(res, "SERVFAIL (server failure, or DNSSEC validation "
		    "failed) for", res->qname);
		return -1;
	}
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);
		char why_rcode[40];

		snprintf(why_rcode, sizeof(why_rcode), "rcode %d (%s) for",
		    rcode, t && t->name ? t->name : "unknown");
		dns_fail(res, why_rcode, res->qname);
		return -1;
	}
	if (dns_chain(c) < 0)
		return -1;
	return dns_records(c, rcode);
}

int dns_answer_parse(const unsigned char *pkt, size_t len, const char *qname,
    int qtype, int trusted, struct dns_result *res)
{
	struct dns_ctx c;
	int st = -1, ret = 0, q = 0;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.res = res;
	c.qtype = qtype;
	c.ttl = DNS_TTL_MAX;
	res->status = DNS_ST_TEMPFAIL;
	res->qtype = qtype;
	if (qname && strlen(qname) < sizeof(res->qname))
		memcpy(res->qname, qname, strlen(qname) + 1);
	if (!pkt)
		dns_fail(res, "no answer for", res->qname);
	else if (len > DNS_PKT_MAX)
		dns_fail(res, "answer larger than 65535 bytes for", res->qname);
	else if (len < DNS_HDR_LEN)
		dns_fail(res, "answer shorter than a DNS header for",
		    res->qname);
	if (res->error[0])
		goto out;
	res->rcode = pkt[3] & 0x0f;
	res->ad = pkt[3] >> 5 & 1;
	res->tc = pkt[2] >> 1 & 1;
	if (qtype < 1 || qtype > 65535 || !res->qname[0] ||
	    (q = dns_name_from_text(qname, &c.chain[0])) == -1) {
		dns_fail(res, "not a valid query name or type:", res->qname);
		goto out;
	}
	if (q == -2) {
		st = -2;
		goto out;
	}
	if (res->tc) {
		dns_fail(res, "truncated answer (TC), ask again over TCP, for",
		    res->qname);
		goto out;
	}
	st = dns_interpret(&c, pkt, len);
out:
	if (st == -2) {
		ret = -1;
		memset(res->error, 0, sizeof(res->error));
		dns_fail(res, "out of memory reading the answer for",
		    res->qname);
	}
	if (st < 0) {
		dns_result_free(res);
		res->n_tlsa_bad = 0;
		res->status = DNS_ST_TEMPFAIL;
		res->ttl = 0;
	} else {
		res->status = (enum dns_status)st;
		res->ttl = (unsigned)c.ttl;
	}
	if (res->rcode == LDNS_RCODE_SERVFAIL)
		res->sec = DNS_SEC_BOGUS;
	else if (res->status != DNS_ST_TEMPFAIL && res->ad && trusted)
		res->sec = DNS_SEC_SECURE;
	else
		res->sec = DNS_SEC_INSECURE;
	ldns_pkt_free(c.pkt);
	return ret;
}

void dns_result_free(struct dns_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; res->tlsa && i < res->n_tlsa; i++)
		free(res->tlsa[i].data);
	free(res->tlsa);
	free(res->mx);
	free(res->a);
	free(res->aaaa);
	res->tlsa = NULL;
	res->mx = NULL;
	res->a = NULL;
	res->aaaa = NULL;
	res->n_tlsa = res->n_mx = res->n_a = res->n_aaaa = 0;
	res->null_mx = 0;		/* it described mx[0] */
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_ST_OK:
		return "ok";
	case DNS_ST_NODATA:
		return "nodata";
	case DNS_ST_NXDOMAIN:
		return "nxdomain";
	case DNS_ST_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}

const char *dns_sec_name(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_INSECURE:
		return "insecure";
	case DNS_SEC_BOGUS:
		return "bogus";
	}
	return "unknown";
}

char *dns_tlsa_name(unsigned port, const char *host, char *buf, size_t len)
{
	int n;

	if (port < 1 || port > 65535 || !host || !*host || !buf || len == 0)
		return NULL;
	n = snprintf(buf, len, "_%u._tcp.%s", port, host);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}
