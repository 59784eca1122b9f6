/*
 * dane_verify.c - the DANE verifier of dane.h (RFC 6698, RFC 7671 5 and 9,
 * RFC 7672 3.1 and 3.2): a TLSA RRset, the peer's chain in DER, the
 * reference names and the time in; a verdict and a one-line reason out.
 *
 * dane_verify works in this order:
 *  1. the usable records are counted; for one usage and selector,
 *     SHA2-256 records are set aside when SHA2-512 ones exist (digest
 *     agility);
 *  2. the leaf is parsed (-1 when it does not) and DANE-EE(3) records are
 *     tried on it: a match verifies, with no name or date check;
 *  3. the other certificates are parsed (those that do not parse, and
 *     copies of one seen before, are ignored) and the paths up from the
 *     leaf are found breadth-first: an edge goes from a certificate to
 *     one whose subject is its issuer (same DER) and whose key verifies
 *     its signature; so the order the server sent does not matter, extra
 *     certificates are harmless, loops cannot happen and the depth is
 *     capped (DANE_DEPTH_MAX);
 *  4. each DANE-TA(2) record is tried on the certificates of those paths
 *     above the leaf, nearest first; a full record (2 0 0, 2 1 0) that
 *     matches none is taken as an anchor the server did not send, and
 *     tried on every certificate of the paths it signed. For a candidate
 *     the path leaf..anchor is checked: mbedtls_x509_crt_verify with the
 *     anchor as the only trusted certificate (signatures, basic
 *     constraints, key usage, path length, mbedTLS's default profile);
 *     the dates of every certificate against in->now (never the system
 *     clock: mbedTLS's EXPIRED and FUTURE flags are masked); the leaf's
 *     extended key usage; the leaf's names.
 *
 * Nothing outlives the call: certificates are parsed without copying
 * (the caller's DER and TLSA data are only borrowed) into a context on
 * the heap that is freed before dane_verify returns. No globals, no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/tls_compat.h"

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "core/ascii.h"
#include "tls/dane.h"

#define DANE_CHAIN_MAX 16	/* certificates of a chain looked at */
#define DANE_DEPTH_MAX 10	/* the longest path, leaf at depth 0 */
#define DANE_WALK_MAX 512	/* paths tried per record at most */

#define DANE_SEL_CERT 0
#define DANE_SEL_SPKI 1
#define DANE_MT_FULL 0
#define DANE_MT_SHA256 1
#define DANE_MT_SHA512 2

#define DANE_SAN_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)
#define DANE_TIME_FLAGS ((uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | \
	MBEDTLS_X509_BADCERT_FUTURE))

/* how much a failure says, to keep the most telling one */
enum dane_fail_level {
	DANE_FAIL_NONE,
	DANE_FAIL_NOTE,		/* a record matched but no path could be tried */
	DANE_FAIL_PATH		/* a path was tried and a rule did not hold */
};

/* one certificate of the chain as sent (node i is chain[i]) */
struct dane_node {
	mbedtls_x509_crt crt;
	int parsed;
	int depth;		/* on the paths from the leaf; -1: not on them */
	unsigned have;		/* bit (selector * 2 + mtype - 1): dig is set */
	unsigned char dig[4][64];
};

struct dane_ctx {
	const struct dane_input *in;
	struct dane_result *out;
	struct dane_node node[DANE_CHAIN_MAX];
	size_t n;			/* nodes initialised */
	int order[DANE_CHAIN_MAX];	/* nodes on the paths, nearest first */
	/* iss[i][j]: node j issued node i (name and signature) */
	unsigned char iss[DANE_CHAIN_MAX][DANE_CHAIN_MAX];
	size_t n_order;
	unsigned char has512[2][2];	/* [usage - 2][selector] */
	int fail_level;
	char fail[DANE_REASON_MAX];
};

/* the anchor of a DANE-TA(2) candidate: the path is leaf..top, then the
 * anchor, which is crt (a certificate of the chain, or one carried by a
 * 2 0 0 record) or, when crt is NULL, the key of a 2 1 0 record that
 * signed top */
struct dane_anchor {
	const mbedtls_x509_crt *crt;
	int top;
	size_t rec;
	int sent;		/* the anchor is a certificate of the chain */
};

/* ------------------------------------------------------------ names */

static const char *const dane_usages[] = {
	"PKIX-TA(0)", "PKIX-EE(1)", "DANE-TA(2)", "DANE-EE(3)"
};
static const char *const dane_selectors[] = { "Cert(0)", "SPKI(1)" };
static const char *const dane_mtypes[] = {
	"Full(0)", "SHA2-256(1)", "SHA2-512(2)"
};

/* dane_unknown - "what(v)" into buf */
static const char *dane_unknown(const char *what, unsigned v, char *buf,
    size_t len)
{
	if (buf == NULL || len == 0)
		return "?";
	snprintf(buf, len, "%s(%u)", what, v);
	return buf;
}

const char *dane_usage_name(unsigned v, char *buf, size_t len)
{
	if (v < sizeof(dane_usages) / sizeof(dane_usages[0]))
		return dane_usages[v];
	return dane_unknown("usage", v, buf, len);
}

const char *dane_selector_name(unsigned v, char *buf, size_t len)
{
	if (v < sizeof(dane_selectors) / sizeof(dane_selectors[0]))
		return dane_selectors[v];
	return dane_unknown("selector", v, buf, len);
}

const char *dane_mtype_name(unsigned v, char *buf, size_t len)
{
	if (v < sizeof(dane_mtypes) / sizeof(dane_mtypes[0]))
		return dane_mtypes[v];
	return dane_unknown("mtype", v, buf, len);
}

/* dane_rec_name - "DANE-TA(2) SPKI(1) SHA2-256(1)" of a usable record */
static void dane_rec_name(const struct dane_tlsa *t, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s", dane_usages[t->usage],
	    dane_selectors[t->selector], dane_mtypes[t->mtype]);
}

/* ------------------------------------------------------------ records */

int dane_usable(const struct dane_tlsa *t)
{
	if (t == NULL || t->data == NULL || t->len == 0)
		return 0;
	if (t->usage != DANE_USAGE_DANE_TA && t->usage != DANE_USAGE_DANE_EE)
		return 0;
	if (t->selector != DANE_SEL_CERT && t->selector != DANE_SEL_SPKI)
		return 0;
	switch (t->mtype) {
	case DANE_MT_FULL:
		return 1;
	case DANE_MT_SHA256:
		return t->len == 32;
#if defined(MBEDTLS_SHA512_C)
	case DANE_MT_SHA512:
		return t->len == 64;
#endif
	default:
		return 0;
	}
}

/* dane_space - a separator of the presentation format */
static int dane_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* dane_hexval - the value of a hex digit, or -1 */
static int dane_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* dane_parse_u8 - a decimal 0..255 at *pp followed by a separator;
 * -1 when malformed */
static int dane_parse_u8(const char **pp)
{
	const char *p = *pp;
	unsigned v = 0;

	while (dane_space(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > 255)
			return -1;
	}
	if (!dane_space(*p))
		return -1;
	*pp = p;
	return (int)v;
}

int dane_tlsa_parse(const char *text, struct dane_tlsa *t, unsigned char *buf,
    size_t cap)
{
	const char *p = text;
	int v[3], hi = -1, x;
	size_t i, n = 0;

	if (text == NULL || t == NULL || buf == NULL)
		return -1;
	for (i = 0; i < 3; i++)
		if ((v[i] = dane_parse_u8(&p)) < 0)
			return -1;
	for (; *p != '\0'; p++) {
		if (dane_space(*p))
			continue;
		if ((x = dane_hexval(*p)) < 0)
			return -1;
		if (hi < 0) {
			hi = x;
			continue;
		}
		if (n >= cap)
			return -1;
		buf[n++] = (unsigned char)(hi << 4 | x);
		hi = -1;
	}
	if (hi >= 0 || n == 0)
		return -1;
	t->usage = (unsigned char)v[0];
	t->selector = (unsigned char)v[1];
	t->mtype = (unsigned char)v[2];
	t->data = buf;
	t->len = n;
	return 0;
}

/* dane_active - 1 when record t is usable and not set aside by digest
 * agility (RFC 7671 9) */
static int dane_active(const struct dane_ctx *c, const struct dane_tlsa *t)
{
	if (!dane_usable(t))
		return 0;
	return t->mtype != DANE_MT_SHA256 ||
	    !c->has512[t->usage - DANE_USAGE_DANE_TA][t->selector];
}

/* dane_agility - note which usage and selector have SHA2-512 records;
 * the number of usable records */
static int dane_agility(struct dane_ctx *c)
{
	const struct dane_input *in = c->in;
	size_t i;
	int usable = 0;

	for (i = 0; i < in->n_tlsa; i++) {
		const struct dane_tlsa *t = &in->tlsa[i];

		if (!dane_usable(t))
			continue;
		usable++;
		if (t->mtype == DANE_MT_SHA512)
			c->has512[t->usage - DANE_USAGE_DANE_TA][t->selector] = 1;
	}
	return usable;
}

/* ------------------------------------------------------------ matching */

/* dane_selected - the octets selector takes from crt */
static void dane_selected(const mbedtls_x509_crt *crt, unsigned selector,
    const unsigned char **p, size_t *len)
{
	const mbedtls_x509_buf *b = selector == DANE_SEL_CERT ? &crt->raw :
	    &crt->pk_raw;

	*p = b->p;
	*len = b->len;
}

/* dane_digest - SHA2-256 or SHA2-512 of what t's selector takes from
 * node, computed once; NULL on error */
static const unsigned char *dane_digest(struct dane_node *nd,
    const struct dane_tlsa *t)
{
	unsigned slot = t->selector * 2u + t->mtype - 1u;
	const unsigned char *p;
	size_t len;
	int r = -1;

	if (nd->have & (1u << slot))
		return nd->dig[slot];
	dane_selected(&nd->crt, t->selector, &p, &len);
	if (t->mtype == DANE_MT_SHA256)
		r = tls_compat_sha256(p, len, nd->dig[slot]);
#if defined(MBEDTLS_SHA512_C)
	else if (t->mtype == DANE_MT_SHA512)
		r = tls_compat_sha512(p, len, nd->dig[slot]);
#endif
	if (r != 0)
		return NULL;
	nd->have |= 1u << slot;
	return nd->dig[slot];
}

/* dane_matches - 1 when usable record t matches node i */
static int dane_matches(struct dane_ctx *c, int i, const struct dane_tlsa *t)
{
	struct dane_node *nd = &c->node[i];
	const unsigned char *p;
	size_t len;

	if (!nd->parsed)
		return 0;
	if (t->mtype == DANE_MT_FULL) {
		dane_selected(&nd->crt, t->selector, &p, &len);
		return len == t->len && memcmp(p, t->data, len) == 0;
	}
	if ((p = dane_digest(nd, t)) == NULL)
		return 0;
	return memcmp(p, t->data, t->len) == 0;
}

/* ------------------------------------------------------------ time */

/* dane_days - days from 1970-01-01 to y-m-d in the proleptic Gregorian
 * calendar (H. Hinnant's days_from_civil), so no timegm and no TZ */
static long long dane_days(long long y, long long m, long long d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* dane_epoch - an X.509 time (UTC) in seconds since the epoch */
static long long dane_epoch(const mbedtls_x509_time *t)
{
	return dane_days(t->year, t->mon, t->day) * 86400 +
	    (long long)t->hour * 3600 + (long long)t->min * 60 + t->sec;
}

/* dane_dates - 0 when now is within crt's validity (both ends
 * included, RFC 5280 4.1.2.5), 1 before it, -1 after it */
static int dane_dates(const mbedtls_x509_crt *crt, long long now)
{
	if (now < dane_epoch(&crt->valid_from))
		return 1;
	if (now > dane_epoch(&crt->valid_to))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ host names */

/* dane_nodot - n without one trailing dot of s[0..n) */
static size_t dane_nodot(const char *s, size_t n)
{
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* dane_ldh - 1 when s[0..n) is a non-empty label of letters, digits and
 * hyphens (what a wildcard may stand for, as OpenSSL) */
static int dane_ldh(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
	}
	return 1;
}

/* dane_wild_base - 1 when s[0..n), what follows "*." in a certificate
 * name, makes a wildcard: two labels at least, none empty, no other
 * star (RFC 6125 6.4.3; "*.com" is no wildcard) */
static int dane_wild_base(const char *s, size_t n)
{
	size_t i;
	int dots = 0;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '*')
			return 0;
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return 0;
			dots++;
		}
	}
	return dots > 0;
}

/* dane_host_match - 1 when the certificate name pat[0..plen) matches
 * the reference name ref: ASCII case ignored, one trailing dot ignored,
 * "*" only as the whole leftmost label standing for exactly one label */
static int dane_host_match(const char *pat, size_t plen, const char *ref)
{
	size_t rlen = dane_nodot(ref, strlen(ref)), head;
	const char *dot;

	plen = dane_nodot(pat, plen);
	if (plen == 0 || rlen == 0 || memchr(pat, '\0', plen) != NULL)
		return 0;
	if (plen > 2 && pat[0] == '*' && pat[1] == '.' &&
	    dane_wild_base(pat + 2, plen - 2)) {
		if ((dot = memchr(ref, '.', rlen)) == NULL)
			return 0;
		head = (size_t)(dot - ref);
		return dane_ldh(ref, head) && rlen - head - 1 == plen - 2 &&
		    ascii_caseeq(dot + 1, pat + 2, plen - 2);
	}
	return rlen == plen && ascii_caseeq(pat, ref, plen);
}

/* dane_any_name - the reference name that pat matches, or NULL */
static const char *dane_any_name(const unsigned char *pat, size_t plen,
    const struct dane_input *in)
{
	size_t i;

	for (i = 0; i < in->n_names; i++)
		if (in->names[i] != NULL &&
		    dane_host_match((const char *)pat, plen, in->names[i]))
			return in->names[i];
	return NULL;
}

/* dane_leaf_name - the reference name one of the leaf's names matches:
 * its SAN dNSName entries, or its subject CNs when it has no dNSName
 * (RFC 7672 3.2.3, RFC 6125 6.4.4); NULL when none does */
static const char *dane_leaf_name(const mbedtls_x509_crt *leaf,
    const struct dane_input *in)
{
	const mbedtls_x509_sequence *s;
	const mbedtls_x509_name *a;
	const char *hit;
	int dns = 0;

	for (s = &leaf->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL || s->buf.tag != DANE_SAN_DNS)
			continue;
		dns = 1;
		if ((hit = dane_any_name(s->buf.p, s->buf.len, in)) != NULL)
			return hit;
	}
	if (dns)
		return NULL;
	for (a = &leaf->subject; a != NULL; a = a->next) {
		if (a->oid.p == NULL || a->val.p == NULL ||
		    MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) != 0)
			continue;
		if ((hit = dane_any_name(a->val.p, a->val.len, in)) != NULL)
			return hit;
	}
	return NULL;
}

/* dane_names_text - "a or b or c", the reference names, into buf */
static void dane_names_text(const struct dane_input *in, char *buf, size_t len)
{
	size_t i, o = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < in->n_names && o < len; i++) {
		if (in->names[i] == NULL)
			continue;
		w = snprintf(buf + o, len - o, "%s%s", o ? " or " : "",
		    in->names[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "(no reference name)");
}

/* ------------------------------------------------------------ signatures */

/* dane_signed_by - 1 when key verifies crt's signature */
static int dane_signed_by(const mbedtls_x509_crt *crt, mbedtls_pk_context *key)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t *md;

	md = mbedtls_md_info_from_type(crt->TLS_COMPAT_PRIV(sig_md));
	if (md == NULL || mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) != 0)
		return 0;
	return mbedtls_pk_verify_ext(crt->TLS_COMPAT_PRIV(sig_pk),
	    crt->TLS_COMPAT_PRIV(sig_opts), key, crt->TLS_COMPAT_PRIV(sig_md),
	    hash, mbedtls_md_get_size(md), crt->TLS_COMPAT_PRIV(sig).p,
	    crt->TLS_COMPAT_PRIV(sig).len) == 0;
}

/* dane_weak_sig - why crt's signature by key is below mbedTLS's default
 * profile (SHA-2 of 256 bits or more, RSA of 2048 bits or more), or
 * NULL; for the one signature mbedtls_x509_crt_verify cannot see, that
 * of a bare 2 1 0 anchor key */
static const char *dane_weak_sig(const mbedtls_x509_crt *crt,
    const mbedtls_pk_context *key)
{
	switch (crt->TLS_COMPAT_PRIV(sig_md)) {
	case MBEDTLS_MD_SHA256:
	case MBEDTLS_MD_SHA384:
	case MBEDTLS_MD_SHA512:
		break;
	default:
		return "is signed with a weak hash";
	}
	if (mbedtls_pk_get_type(key) == MBEDTLS_PK_RSA &&
	    mbedtls_pk_get_bitlen(key) < 2048)
		return "is signed with a weak key";
	return NULL;
}

/* dane_issued - 1 when parent issued child: its subject is child's
 * issuer and its key verifies child's signature */
static int dane_issued(const mbedtls_x509_crt *child, mbedtls_x509_crt *parent)
{
	if (child->issuer_raw.len != parent->subject_raw.len ||
	    memcmp(child->issuer_raw.p, parent->subject_raw.p,
	    child->issuer_raw.len) != 0)
		return 0;
	return dane_signed_by(child, &parent->pk);
}

/* ------------------------------------------------------------ the chain */

/* dane_same - 1 when node i repeats an earlier node */
static int dane_same(const struct dane_ctx *c, size_t i)
{
	const mbedtls_x509_buf *a = &c->node[i].crt.raw;
	size_t j;

	for (j = 0; j < i; j++)
		if (c->node[j].parsed && c->node[j].crt.raw.len == a->len &&
		    memcmp(c->node[j].crt.raw.p, a->p, a->len) == 0)
			return 1;
	return 0;
}

/* dane_parse_chain - parse chain[1..]; what does not parse, or repeats
 * a certificate, is left out */
static void dane_parse_chain(struct dane_ctx *c)
{
	const struct dane_input *in = c->in;
	size_t i, n = in->n_chain < DANE_CHAIN_MAX ? in->n_chain : DANE_CHAIN_MAX;

	for (i = 1; i < n; i++) {
		struct dane_node *nd = &c->node[i];

		mbedtls_x509_crt_init(&nd->crt);
		nd->depth = -1;
		c->n = i + 1;
		if (in->chain[i].der == NULL || in->chain[i].len == 0 ||
		    mbedtls_x509_crt_parse_der_nocopy(&nd->crt, in->chain[i].der,
		    in->chain[i].len) != 0)
			continue;
		nd->parsed = 1;
		if (dane_same(c, i))
			nd->parsed = 0;
	}
}

/* dane_paths - breadth-first from the leaf along "issued by": the depth
 * of every certificate on a path and the order nearest first */
static void dane_paths(struct dane_ctx *c)
{
	size_t head = 0, j;

	size_t i0;

	/* every "issued by" pair once: the paths are walked many times */
	for (i0 = 0; i0 < c->n; i0++)
		for (j = 1; j < c->n; j++)
			c->iss[i0][j] = i0 != j && c->node[i0].parsed && c->node[j].parsed &&
			    dane_issued(&c->node[i0].crt, &c->node[j].crt);
	c->node[0].depth = 0;
	c->order[0] = 0;
	c->n_order = 1;
	while (head < c->n_order) {
		int i = c->order[head++];

		if (c->node[i].depth >= DANE_DEPTH_MAX - 1)
			continue;
		for (j = 1; j < c->n; j++) {
			struct dane_node *p = &c->node[j];

			if (!p->parsed || p->depth >= 0 || !c->iss[i][j])
				continue;
			p->depth = c->node[i].depth + 1;
			c->order[c->n_order++] = (int)j;
		}
	}
}

/* ------------------------------------------------------------ verdicts */

/* dane_note_level - 1 when a failure at level tells more than the one
 * kept (the first of the most telling level is kept) */
static int dane_note_level(struct dane_ctx *c, int level)
{
	if (level <= c->fail_level)
		return 0;
	c->fail_level = level;
	return 1;
}

/* DANE_NOTE - keep why a record failed, printf-style, unless a more
 * telling reason is kept already */
#define DANE_NOTE(c, level, ...) do { \
	if (dane_note_level((c), (level))) \
		snprintf((c)->fail, sizeof((c)->fail), __VA_ARGS__); \
} while (0)

/* dane_flags_text - what mbedTLS's verification flags say of a
 * certificate */
static const char *dane_flags_text(uint32_t f)
{
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return "is not validly issued by the certificate above it "
		    "(signature, CA flag, key usage or path length)";
	if (f & MBEDTLS_X509_BADCERT_BAD_MD)
		return "is signed with a weak hash";
	if (f & MBEDTLS_X509_BADCERT_BAD_PK)
		return "is signed with an unacceptable algorithm";
	if (f & MBEDTLS_X509_BADCERT_BAD_KEY)
		return "has or is signed with a weak key";
	if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE |
	    MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
		return "has a key usage that forbids it";
	return "does not verify";
}

/* what the verify callback keeps: the first certificate with a flag */
struct dane_vrfy {
	int depth;
	uint32_t flags;
};

/* dane_vrfy_cb - mask the date flags (dates are judged against in->now,
 * not the system clock) and keep the first other failure */
static int dane_vrfy_cb(void *arg, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags)
{
	struct dane_vrfy *v = arg;

	(void)crt;
	*flags &= ~DANE_TIME_FLAGS;
	if (*flags != 0 && v->flags == 0) {
		v->depth = depth;
		v->flags = *flags;
	}
	return 0;
}

/* dane_path_verify - mbedtls_x509_crt_verify of path[0..m) up to trust;
 * 0, or -1 with the reason noted */
static int dane_path_verify(struct dane_ctx *c, const int *path, int m,
    const mbedtls_x509_crt *trust)
{
	struct dane_vrfy v = { -1, 0 };
	mbedtls_x509_crt vchain;
	uint32_t flags = 0;
	int i, r = 0;

	if (m == 0)
		return 0;
	mbedtls_x509_crt_init(&vchain);
	for (i = 0; i < m && r == 0; i++) {
		const mbedtls_x509_buf *raw = &c->node[path[i]].crt.raw;

		r = mbedtls_x509_crt_parse_der_nocopy(&vchain, raw->p, raw->len);
	}
	if (r == 0)
		r = mbedtls_x509_crt_verify(&vchain, (mbedtls_x509_crt *)trust,
		    NULL, NULL, &flags, dane_vrfy_cb, &v);
	mbedtls_x509_crt_free(&vchain);
	if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED &&
	    (flags & ~DANE_TIME_FLAGS) == 0)
		r = 0;
	if (r == 0)
		return 0;
	if (v.flags != 0)
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): certificate at depth %d %s",
		    v.depth, dane_flags_text(v.flags));
	else
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): the path does not "
		    "verify (mbedTLS error -0x%04x)", (unsigned)-r);
	return -1;
}

/* dane_path_dates - 0 when every certificate of the path and the
 * anchor certificate are valid at now; -1 with the reason noted */
static int dane_path_dates(struct dane_ctx *c, const int *path, int m,
    const mbedtls_x509_crt *anchor)
{
	const mbedtls_x509_crt *crt;
	int d, r;

	for (d = 0; d <= m; d++) {
		crt = d < m ? &c->node[path[d]].crt : anchor;
		if (crt == NULL || (r = dane_dates(crt, c->in->now)) == 0)
			continue;
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): %s at depth %d %s",
		    d < m ? "certificate" : "trust anchor", d,
		    r < 0 ? "expired" : "is not yet valid");
		return -1;
	}
	return 0;
}

/* dane_ta_check - the rules of DANE-TA(2) for the path path[0..m) (the
 * leaf up to a->top) and its anchor; 1 (out filled) when they hold,
 * else 0 with the reason noted */
static int dane_ta_check(struct dane_ctx *c, const struct dane_anchor *a,
    const int *path, int m)
{
	const mbedtls_x509_crt *leaf = &c->node[0].crt, *trust = a->crt;
	int vm;
	const char *hit;
	char rec[64], names[DANE_REASON_MAX];

	/* a bare key: the top of the path is the trust anchor for mbedTLS */
	vm = m;
	if (trust == NULL) {
		vm = m - 1;
		trust = &c->node[path[m - 1]].crt;
	}
	if (dane_path_verify(c, path, vm, trust) != 0 ||
	    dane_path_dates(c, path, m, a->crt) != 0)
		return 0;
	if (mbedtls_x509_crt_check_extended_key_usage(leaf,
	    MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0) {
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): the leaf's extended key "
		    "usage does not allow serverAuth");
		return 0;
	}
	if ((hit = dane_leaf_name(leaf, c->in)) == NULL) {
		dane_names_text(c->in, names, sizeof(names));
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): leaf name does not "
		    "match %s", names);
		return 0;
	}
	dane_rec_name(&c->in->tlsa[a->rec], rec, sizeof(rec));
	c->out->verified = 1;
	c->out->tlsa_index = (int)a->rec;
	c->out->depth = m;	/* the anchor, sent or not, is above the path */
	if (a->sent)
		snprintf(c->out->reason, sizeof(c->out->reason), "%s matched the "
		    "certificate at depth %d, leaf name %s", rec, m, hit);
	else
		snprintf(c->out->reason, sizeof(c->out->reason), "%s trust anchor "
		    "(not sent) issued the certificate at depth %d, leaf name %s",
		    rec, m - 1, hit);
	return 1;
}

/* a walk over every path up from the leaf (the chain may hold several:
 * a renewed intermediate next to the old one, cross-signed roots) */
struct dane_walk {
	struct dane_ctx *c;
	const struct dane_tlsa *t;	/* sent: the record looked for */
	struct dane_anchor a;
	int *matched;
	int unsent;			/* the anchor is w->ta or w->key */
	const mbedtls_x509_crt *ta;
	mbedtls_pk_context *key;
	int path[DANE_DEPTH_MAX];
	int on[DANE_CHAIN_MAX];
	int budget;
};

/* dane_walk_top - for an unsent anchor: did it sign the top of path[0..m)? */
static int dane_walk_top(struct dane_walk *w, int m)
{
	struct dane_ctx *c = w->c;
	mbedtls_x509_crt *top = &c->node[w->path[m - 1]].crt;
	const char *weak;

	if (w->ta != NULL ? !dane_issued(top, (mbedtls_x509_crt *)w->ta) :
	    !dane_signed_by(top, w->key))
		return 0;
	w->a.top = w->path[m - 1];
	if (w->ta == NULL && (weak = dane_weak_sig(top, w->key)) != NULL) {
		DANE_NOTE(c, DANE_FAIL_PATH, "DANE-TA(2): certificate at depth %d %s",
		    m - 1, weak);
		return 0;
	}
	return dane_ta_check(c, &w->a, w->path, m);
}

/* dane_walk - path[0..m) is a path up from the leaf: try its anchors,
 * then every longer path; 1 when one verifies */
static int dane_walk(struct dane_walk *w, int m)
{
	struct dane_ctx *c = w->c;
	int top = w->path[m - 1];
	size_t j;

	if (w->unsent && dane_walk_top(w, m))
		return 1;
	if (--w->budget <= 0)
		return 0;
	for (j = 1; j < c->n; j++) {
		if (w->on[j] || !c->iss[top][j])
			continue;
		if (!w->unsent && dane_matches(c, (int)j, w->t)) {
			*w->matched = 1;
			w->a.crt = &c->node[j].crt;
			w->a.top = top;
			if (dane_ta_check(c, &w->a, w->path, m))
				return 1;
		}
		if (m >= DANE_DEPTH_MAX)
			continue;
		w->on[j] = 1;
		w->path[m] = (int)j;
		if (dane_walk(w, m + 1))
			return 1;
		w->on[j] = 0;
	}
	return 0;
}

/* dane_try_ee - the DANE-EE(3) records on the leaf; 1 (out filled) when
 * one matches: the leaf's key is the server's, names and dates do not
 * matter (RFC 7672 3.1.1) */
static int dane_try_ee(struct dane_ctx *c)
{
	const struct dane_input *in = c->in;
	char rec[64];
	size_t i;

	for (i = 0; i < in->n_tlsa; i++) {
		const struct dane_tlsa *t = &in->tlsa[i];

		if (t->usage != DANE_USAGE_DANE_EE || !dane_active(c, t) ||
		    !dane_matches(c, 0, t))
			continue;
		dane_rec_name(t, rec, sizeof(rec));
		c->out->verified = 1;
		c->out->tlsa_index = (int)i;
		c->out->depth = 0;
		snprintf(c->out->reason, sizeof(c->out->reason),
		    "%s matched the leaf", rec);
		return 1;
	}
	return 0;
}

/* dane_try_sent - DANE-TA(2) record r on the issuers of the leaf that
 * were sent, nearest first; 1 when one verifies. *matched tells whether
 * the record matched any certificate sent, on the paths or not. */
static int dane_try_sent(struct dane_ctx *c, size_t r, int *matched)
{
	const struct dane_tlsa *t = &c->in->tlsa[r];
	struct dane_walk w;
	size_t k;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.t = t;
	w.a.rec = r;
	w.a.sent = 1;
	w.matched = matched;
	w.budget = DANE_WALK_MAX;
	w.path[0] = 0;
	w.on[0] = 1;
	if (dane_walk(&w, 1))
		return 1;
	/* a trust anchor is an issuer: never the leaf, never a stray */
	for (k = 0; k < c->n; k++) {
		if (c->node[k].depth > 0 || !dane_matches(c, (int)k, t))
			continue;
		*matched = 1;
		if (k == 0)
			DANE_NOTE(c, DANE_FAIL_NOTE, "DANE-TA(2): a record matched "
			    "the leaf only, and a trust anchor must be an issuer");
		else
			DANE_NOTE(c, DANE_FAIL_NOTE, "DANE-TA(2): a record matched "
			    "chain[%zu], which is not an issuer of the leaf", k);
	}
	return 0;
}

/* dane_try_unsent - a full DANE-TA(2) record (2 0 0: a certificate,
 * 2 1 0: a SubjectPublicKeyInfo) that matched nothing sent, taken as an
 * anchor the server left out (RFC 7671 5.2.2): tried on every
 * certificate of the paths that it signed, nearest first; 1 when one
 * verifies */
static int dane_try_unsent(struct dane_ctx *c, size_t r)
{
	const struct dane_tlsa *t = &c->in->tlsa[r];
	struct dane_anchor a = { NULL, 0, 0, 0 };
	mbedtls_x509_crt ta;
	mbedtls_pk_context key;
	int ok = 0, loaded;

	a.rec = r;
	mbedtls_x509_crt_init(&ta);
	mbedtls_pk_init(&key);
	if (t->selector == DANE_SEL_CERT) {
		loaded = mbedtls_x509_crt_parse_der_nocopy(&ta, t->data, t->len) == 0;
		a.crt = &ta;
	} else {
		loaded = mbedtls_pk_parse_public_key(&key, t->data, t->len) == 0;
	}
	if (!loaded) {
		DANE_NOTE(c, DANE_FAIL_NOTE, "DANE-TA(2): a %s Full(0) record "
		    "holds no %s", dane_selectors[t->selector],
		    t->selector == DANE_SEL_CERT ? "certificate" : "public key");
		goto out;
	}
	{
		struct dane_walk w;

		memset(&w, 0, sizeof(w));
		w.c = c;
		w.a = a;
		w.unsent = 1;
		w.ta = a.crt;
		w.key = &key;
		w.budget = DANE_WALK_MAX;
		w.path[0] = 0;
		w.on[0] = 1;
		ok = dane_walk(&w, 1);
	}
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&ta);
	return ok;
}

/* dane_no_match - the reason when nothing verified */
static void dane_no_match(struct dane_ctx *c)
{
	const struct dane_input *in = c->in;
	size_t i, aside = 0;

	if (c->fail_level > DANE_FAIL_NONE) {
		memcpy(c->out->reason, c->fail, sizeof(c->out->reason));
		return;
	}
	for (i = 0; i < in->n_tlsa; i++)
		if (dane_usable(&in->tlsa[i]) && !dane_active(c, &in->tlsa[i]))
			aside++;
	if (aside > 0)
		snprintf(c->out->reason, sizeof(c->out->reason), "no TLSA record "
		    "matched (%zu SHA2-256 record%s ignored for SHA2-512 ones)",
		    aside, aside > 1 ? "s" : "");
	else
		snprintf(c->out->reason, sizeof(c->out->reason),
		    "no TLSA record matched");
}

/* dane_judge - the verdict once the leaf is parsed: 1 or 0 */
static int dane_judge(struct dane_ctx *c)
{
	const struct dane_input *in = c->in;
	size_t i;
	int matched;

	if (c->out->usable == 0) {
		snprintf(c->out->reason, sizeof(c->out->reason), "no usable TLSA "
		    "record (%zu skipped: PKIX usages, unknown values or bad "
		    "lengths)", in->n_tlsa);
		return 0;
	}
	if (dane_try_ee(c))
		return 1;
	dane_parse_chain(c);
	dane_paths(c);
	for (i = 0; i < in->n_tlsa; i++) {
		const struct dane_tlsa *t = &in->tlsa[i];

		if (t->usage != DANE_USAGE_DANE_TA || !dane_active(c, t))
			continue;
		matched = 0;
		if (dane_try_sent(c, i, &matched))
			return 1;
		if (!matched && t->mtype == DANE_MT_FULL && dane_try_unsent(c, i))
			return 1;
	}
	dane_no_match(c);
	return 0;
}

/* dane_input_bad - why in cannot be judged, or NULL */
static const char *dane_input_bad(const struct dane_input *in)
{
	if (in == NULL)
		return "no input";
	if (in->chain == NULL || in->n_chain == 0 || in->chain[0].der == NULL ||
	    in->chain[0].len == 0)
		return "no certificate chain";
	if (in->tlsa == NULL && in->n_tlsa > 0)
		return "no TLSA records";
	if (in->names == NULL && in->n_names > 0)
		return "no reference names";
	return NULL;
}

int dane_verify(const struct dane_input *in, struct dane_result *out)
{
	struct dane_ctx *c;
	const char *bad;
	size_t i;
	int r;

	if (out == NULL)
		return -1;
	out->verified = 0;
	out->tlsa_index = -1;
	out->depth = -1;
	out->usable = 0;
	out->reason[0] = '\0';
	if ((bad = dane_input_bad(in)) != NULL) {
		snprintf(out->reason, sizeof(out->reason), "%s", bad);
		return -1;
	}
	if (tls_compat_init() != 0) {
		snprintf(out->reason, sizeof(out->reason),
		    "the crypto library does not start");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return -1;
	}
	c->in = in;
	c->out = out;
	out->usable = dane_agility(c);
	mbedtls_x509_crt_init(&c->node[0].crt);
	c->n = 1;
	r = mbedtls_x509_crt_parse_der_nocopy(&c->node[0].crt, in->chain[0].der,
	    in->chain[0].len);
	if (r != 0) {
		snprintf(out->reason, sizeof(out->reason), "the leaf certificate "
		    "does not parse (mbedTLS error -0x%04x)", (unsigned)-r);
		r = -1;
	} else {
		c->node[0].parsed = 1;
		r = dane_judge(c);
	}
	for (i = 0; i < c->n; i++)
		mbedtls_x509_crt_free(&c->node[i].crt);
	free(c);
	return r;
}
