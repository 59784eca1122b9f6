/*
 * fuzz_dane.c - libFuzzer target for tls/dane_verify.c: a TLSA RRset, a
 * certificate chain and reference names as a hostile server and zone
 * could make them, judged by dane_verify.
 *
 * Input layout (all lengths big-endian; a short input just ends early
 * with what was read):
 *   1 octet   counts: bits 0-2 the number of TLSA records (0-7),
 *             bits 3-5 the number of certificates (0-7)
 *   8 octets  now, seconds since the epoch (signed)
 *   per TLSA record: usage, selector, mtype (1 octet each), a 2-octet
 *             length, the data
 *   per certificate: a 2-octet length, the DER (chain[0] is the leaf)
 *   the rest: reference names separated by '\n' (at most 4); the same
 *             text also goes through dane_tlsa_parse
 * Every blob is copied to a buffer of its exact size, so that the
 * sanitizer sees any read past it.
 *
 * Invariants checked (abort on violation): dane_verify returns -1, 0 or
 * 1 and that is out.verified (0 for -1); the reason is a non-empty
 * string; a verified answer names a usable record and a depth >= 0, one
 * not verified names none (-1, -1); usable <= the records given;
 * dane_tlsa_parse gives 1..cap octets or fails. Leaks show through the
 * sanitizer.
 *
 * The seeds in corpus/fuzz_dane were made from the unit test's fixtures
 * (tests/unit/test_dane.c makes them with openssl) by a few lines of
 * Python writing this layout; each verifies: "ee" (3 1 1 of an RSA
 * leaf; leaf, intermediate), "ta" (a stray 3 1 2 and 2 0 1 of the
 * intermediate; EC leaf, intermediate, root; two names), "ta_unsent"
 * (2 1 0 of the root, not sent; leaf, two intermediates; a name with a
 * final dot).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define FUZZ_TLSA_MAX 7
#define FUZZ_CHAIN_MAX 7
#define FUZZ_NAMES_MAX 4

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/* fuzz_take - the next n octets, or NULL when fewer are left */
static const uint8_t *fuzz_take(struct fuzz_in *f, size_t n)
{
	const uint8_t *p = f->p;

	if (f->left < n)
		return NULL;
	f->p += n;
	f->left -= n;
	return p;
}

/* fuzz_blob - a 2-octet length and that many octets, copied to a buffer
 * of exactly that size (never NULL on success); -1 when cut short */
static int fuzz_blob(struct fuzz_in *f, unsigned char **out, size_t *len)
{
	const uint8_t *h = fuzz_take(f, 2), *b;
	size_t n;

	if (h == NULL)
		return -1;
	n = (size_t)h[0] << 8 | h[1];
	if ((b = fuzz_take(f, n)) == NULL)
		return -1;
	if ((*out = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(*out, b, n);
	*len = n;
	return 0;
}

/* fuzz_names - split the rest into NUL-terminated names in text */
static size_t fuzz_names(char *text, const char *names[FUZZ_NAMES_MAX])
{
	size_t n = 0;
	char *p = text, *nl;

	while (n < FUZZ_NAMES_MAX) {
		names[n++] = p;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

/* fuzz_check - the contract of dane_verify's answer */
static void fuzz_check(int r, const struct dane_result *res,
    const struct dane_tlsa *t, size_t nt)
{
	CHECK(r == -1 || r == 0 || r == 1);
	CHECK(r == -1 ? res->verified == 0 : r == res->verified);
	CHECK(memchr(res->reason, '\0', sizeof(res->reason)) != NULL);
	CHECK(res->reason[0] != '\0');
	CHECK(res->usable >= 0 && (size_t)res->usable <= nt);
	if (res->verified) {
		CHECK(res->tlsa_index >= 0 && (size_t)res->tlsa_index < nt);
		CHECK(dane_usable(&t[res->tlsa_index]));
		CHECK(res->depth >= 0 && res->depth <= 16);
	} else {
		CHECK(res->tlsa_index == -1 && res->depth == -1);
	}
}

/* fuzz_text - the name helpers and the presentation parser */
static void fuzz_text(const char *text, const struct dane_tlsa *t, size_t nt)
{
	unsigned char buf[64];
	struct dane_tlsa p;
	char name[32];
	size_t i;

	for (i = 0; i < nt; i++) {
		CHECK(dane_usage_name(t[i].usage, name, sizeof(name)) != NULL);
		CHECK(dane_selector_name(t[i].selector, name, sizeof(name)) != NULL);
		CHECK(dane_mtype_name(t[i].mtype, name, sizeof(name)) != NULL);
	}
	if (dane_tlsa_parse(text, &p, buf, sizeof(buf)) == 0)
		CHECK(p.data == buf && p.len > 0 && p.len <= sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in f = { data, size };
	struct dane_tlsa tlsa[FUZZ_TLSA_MAX];
	struct dane_cert chain[FUZZ_CHAIN_MAX];
	unsigned char *blobs[FUZZ_TLSA_MAX + FUZZ_CHAIN_MAX];
	const char *names[FUZZ_NAMES_MAX];
	struct dane_input in;
	struct dane_result res;
	const uint8_t *h;
	size_t nt = 0, nc = 0, nb = 0, want_t, want_c, i;
	unsigned long long now = 0;
	char *text;
	int r;

	if ((h = fuzz_take(&f, 9)) == NULL)
		return 0;
	want_t = h[0] & 7;
	want_c = h[0] >> 3 & 7;
	for (i = 1; i < 9; i++)
		now = now << 8 | h[i];
	while (nt < want_t && (h = fuzz_take(&f, 3)) != NULL &&
	    fuzz_blob(&f, &blobs[nb], &tlsa[nt].len) == 0) {
		tlsa[nt].usage = h[0];
		tlsa[nt].selector = h[1];
		tlsa[nt].mtype = h[2];
		tlsa[nt++].data = blobs[nb++];
	}
	while (nt == want_t && nc < want_c &&
	    fuzz_blob(&f, &blobs[nb], &chain[nc].len) == 0)
		chain[nc++].der = blobs[nb++];
	if ((text = malloc(f.left + 1)) == NULL)
		abort();
	memcpy(text, f.p, f.left);
	text[f.left] = '\0';
	fuzz_text(text, tlsa, nt);
	in.tlsa = tlsa;
	in.n_tlsa = nt;
	in.chain = chain;
	in.n_chain = nc;
	in.names = names;
	in.n_names = fuzz_names(text, names);
	in.now = (long long)now;
	r = dane_verify(&in, &res);
	fuzz_check(r, &res, tlsa, nt);
	free(text);
	for (i = 0; i < nb; i++)
		free(blobs[i]);
	return 0;
}
