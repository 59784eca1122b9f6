/*
 * dane.h - the DANE verifier (RFC 6698, RFC 7671, RFC 7672 for SMTP):
 * a peer's certificate chain, a TLSA RRset, the reference names and the
 * time in; a verdict out. Pure: no I/O, no globals, no clock (the time
 * is an argument), so it is unit-tested and fuzzed alone.
 *
 * Rules (RFC 7672 3.1, RFC 7671 5):
 * - Usable records are DANE-TA(2) and DANE-EE(3) with selector Cert(0)
 *   or SPKI(1) and matching type Full(0), SHA2-256(1) or SHA2-512(2).
 *   PKIX-TA(0)/PKIX-EE(1), unknown values and malformed records (a
 *   digest of the wrong length, empty data) are skipped.
 * - Digest agility (RFC 7671 9): for one usage and selector, when
 *   records with SHA2-512 exist, SHA2-256 ones are ignored. Full(0) is
 *   always used.
 * - DANE-EE(3): the leaf (chain[0]) matches; its names and dates are
 *   not checked.
 * - DANE-TA(2): a certificate other than the leaf matches (the chain may
 *   come in any order and with extra certificates: the path from the
 *   leaf is built by issuer/subject and signatures, not by order), or a
 *   record carries a trust anchor in full (2 0 0 a certificate, 2 1 0 a
 *   SubjectPublicKeyInfo) that signed the top of the path although the
 *   server did not send it. The path from the leaf to the anchor
 *   verifies (signatures, CA basic constraints, key usage, path length),
 *   every certificate of it is within its validity dates at `now`
 *   (the anchor too when it is a certificate), the leaf's extended key
 *   usage (if any) allows serverAuth, and one of the leaf's names
 *   matches one reference name: SAN dNSName entries, or the subject's
 *   CN when there is no dNSName; a wildcard only as the whole leftmost
 *   label ("*.example.com" matches "mx.example.com", not
 *   "a.mx.example.com" nor "example.com"); comparison ignores ASCII case
 *   and one trailing dot.
 */
#ifndef TERN_DANE_H
#define TERN_DANE_H

#include <stddef.h>
#include <stdio.h>

#include "core/kconfig.h"

#define DANE_USAGE_PKIX_TA 0
#define DANE_USAGE_PKIX_EE 1
#define DANE_USAGE_DANE_TA 2
#define DANE_USAGE_DANE_EE 3

#define DANE_REASON_MAX 256

/* one TLSA record; data is borrowed */
struct dane_tlsa {
	unsigned char usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};

/* one certificate in DER; borrowed */
struct dane_cert {
	const unsigned char *der;
	size_t len;
};

struct dane_input {
	const struct dane_tlsa *tlsa;
	size_t n_tlsa;
	/* the chain as the server sent it: chain[0] is the leaf, the rest in
	 * any order */
	const struct dane_cert *chain;
	size_t n_chain;
	/* reference names (RFC 7672 3.2.2: the TLSA base domain, the MX host
	 * name), without or with a trailing dot */
	const char *const *names;
	size_t n_names;
	long long now;		/* seconds since the epoch, UTC */
};

struct dane_result {
	int verified;		/* 1: a usable record matched and the rules hold */
	int tlsa_index;		/* the record that matched (index in tlsa), -1 */
	/* depth of the matching certificate in the verified path: 0 the leaf,
	 * 1 its issuer...; for an anchor the server did not send, the path
	 * length (one above the top certificate sent); -1 without a match */
	int depth;
	int usable;		/* number of usable records (0: none) */
	/* why, one line: "DANE-EE(3) SPKI(1) SHA2-256(1) matched the leaf",
	 * "no TLSA record matched", "DANE-TA(2): leaf name does not match
	 * mx.example.com", "DANE-TA(2): certificate at depth 1 expired" */
	char reason[DANE_REASON_MAX];
};

#ifdef CONFIG_TLS_DANE
/* dane_verify - judge in; fills *out and returns out->verified (1 or 0),
 * or -1 when the input is unusable (NULL pointers, no chain, the leaf
 * does not parse): then out->reason says why and verified is 0. */
int dane_verify(const struct dane_input *in, struct dane_result *out);

/* dane_usable - 1 when the record can be used for SMTP (usage 2 or 3,
 * known selector and matching type, right digest length) */
int dane_usable(const struct dane_tlsa *t);

/* dane_tlsa_parse - "3 1 1 ABCDEF..." (presentation format: three
 * decimal numbers and hex data, spaces allowed in the hex) into t, with
 * data written to buf (cap octets); 0, or -1 when malformed */
int dane_tlsa_parse(const char *text, struct dane_tlsa *t, unsigned char *buf,
    size_t cap);

/* names for logs and reports: "DANE-EE(3)", "SPKI(1)", "SHA2-256(1)";
 * unknown values give "usage(7)"-style text in buf */
const char *dane_usage_name(unsigned v, char *buf, size_t len);
const char *dane_selector_name(unsigned v, char *buf, size_t len);
const char *dane_mtype_name(unsigned v, char *buf, size_t len);

#else	/* no DANE module: the callers compile, nothing verifies */
static inline int dane_verify(const struct dane_input *in, struct dane_result *out)
{ (void)in; out->verified = 0; out->tlsa_index = out->depth = -1; out->usable = 0;
  snprintf(out->reason, sizeof(out->reason), "DANE is not in this build"); return 0; }
static inline int dane_usable(const struct dane_tlsa *t) { (void)t; return 0; }
static inline int dane_tlsa_parse(const char *text, struct dane_tlsa *t,
    unsigned char *buf, size_t cap)
{ (void)text; (void)t; (void)buf; (void)cap; return -1; }
static inline const char *dane_usage_name(unsigned v, char *buf, size_t len)
{ snprintf(buf, len, "usage(%u)", v); return buf; }
static inline const char *dane_selector_name(unsigned v, char *buf, size_t len)
{ snprintf(buf, len, "selector(%u)", v); return buf; }
static inline const char *dane_mtype_name(unsigned v, char *buf, size_t len)
{ snprintf(buf, len, "mtype(%u)", v); return buf; }
#endif
#endif
