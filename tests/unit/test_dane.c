/*
 * test_dane.c - the DANE verifier (tls/dane.h) on real certificates.
 *
 * The group setup makes a small PKI with the openssl command in a
 * temporary directory under /tmp, with fixed dates so that every test
 * names its own `now`: a root, two intermediates, leaves with RSA 2048
 * and EC P-256 keys, SAN, CN-only, wildcard, IP-only names, an expired
 * and a not yet valid leaf, a clientAuth-only leaf, an impostor
 * intermediate (same name, other key), a CA without the CA flag, and a
 * root and an intermediate that expire before their leaves. The group teardown removes it.
 *
 * Covered: every usage 2/3 x selector x matching type that should match;
 * PKIX-only and malformed records; digest agility; paths of depth 1 to 3,
 * shuffled, with strays, duplicates and garbage; anchors not sent (2 0 0,
 * 2 1 0); names (SAN, CN fallback, wildcards, case, trailing dot); dates
 * at their edges; EKU; broken signatures; dane_tlsa_parse and the name
 * helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/x509_crt.h>

#include "tls/dane.h"
#include "tls/tls_compat.h"

/* times of the fixtures (UTC) */
#define T2023 1672531200LL
#define T2024 1704067200LL	/* most leaves: not before */
#define T2025_06 1748736000LL	/* "now" of most tests */
#define T2027 1798761600LL
#define T2030 1893456000LL	/* most leaves: not after */
#define NOW T2025_06

/* ------------------------------------------------------------ fixtures */

struct fx_spec {
	const char *name, *cn, *issuer, *ext, *start, *end;
	int rsa;		/* RSA bits, or 0 for EC P-256 */
	const char *md;		/* the signature's hash, NULL: SHA-256 */
};

#define LEAF_DATES "20240101000000Z", "20300101000000Z"
#define CA_DATES "20210101000000Z", "20390101000000Z"

static const struct fx_spec fx_specs[] = {
	{ "root", "Tern Test Root", NULL, "ext_ca",
	    "20200101000000Z", "20400101000000Z", 0, NULL },
	{ "int1", "Tern Test Int 1", "root", "ext_ca", CA_DATES, 0, NULL },
	{ "int2", "Tern Test Int 2", "int1", "ext_ca", CA_DATES, 0, NULL },
	{ "leaf_rsa", "mx.example.com", "int1", "ext_mx", LEAF_DATES, 2048, NULL },
	{ "leaf_ec", "mx.example.com", "int1", "ext_mx", LEAF_DATES, 0, NULL },
	{ "leaf_cn", "mx.example.com", "int1", "ext_nosan", LEAF_DATES, 0, NULL },
	{ "leaf_cn_san", "mx.example.com", "int1", "ext_other", LEAF_DATES, 0, NULL },
	{ "leaf_ip", "mx.example.com", "int1", "ext_ip", LEAF_DATES, 0, NULL },
	{ "leaf_wild", "wildcard", "int1", "ext_wild", LEAF_DATES, 0, NULL },
	{ "leaf_fwild", "f-wildcard", "int1", "ext_fwild", LEAF_DATES, 0, NULL },
	{ "leaf_expired", "mx.example.com", "int1", "ext_mx",
	    "20210601000000Z", "20220601000000Z", 0, NULL },
	{ "leaf_future", "mx.example.com", "int1", "ext_mx",
	    "20300101000000Z", "20350101000000Z", 0, NULL },
	{ "leaf_deep", "mx.example.com", "int2", "ext_mx", LEAF_DATES, 0, NULL },
	{ "leaf_root", "mx.example.com", "root", "ext_mx", LEAF_DATES, 0, NULL },
	{ "leaf_client", "mx.example.com", "int1", "ext_client", LEAF_DATES, 0, NULL },
	{ "leaf_noeku", "mx.example.com", "int1", "ext_noeku", LEAF_DATES, 0, NULL },
	{ "fake_int1", "Tern Test Int 1", "root", "ext_ca", CA_DATES, 0, NULL },
	{ "other_root", "Other Root", NULL, "ext_ca",
	    "20200101000000Z", "20400101000000Z", 0, NULL },
	{ "int_noca", "Tern Not A CA", "root", "ext_noca", CA_DATES, 0, NULL },
	{ "leaf_noca", "mx.example.com", "int_noca", "ext_mx", LEAF_DATES, 0, NULL },
	{ "short_root", "Tern Short Root", NULL, "ext_ca",
	    "20200101000000Z", "20260101000000Z", 0, NULL },
	{ "leaf_short", "mx.example.com", "short_root", "ext_mx", LEAF_DATES, 0, NULL },
	{ "int_short", "Tern Short Int", "root", "ext_ca",
	    "20210101000000Z", "20260101000000Z", 0, NULL },
	{ "leaf_ishort", "mx.example.com", "int_short", "ext_mx", LEAF_DATES, 0, NULL },
	{ "leaf_self", "mx.example.com", NULL, "ext_mx", LEAF_DATES, 0, NULL },
	{ "leaf_tld", "tld", "int1", "ext_tld", LEAF_DATES, 0, NULL },
	{ "leaf_dot", "dot", "int1", "ext_dot", LEAF_DATES, 0, NULL },
	{ "leaf_sha1", "mx.example.com", "int1", "ext_mx", LEAF_DATES, 0, "sha1" },
	{ "weak_root", "Tern Weak Root", NULL, "ext_ca",
	    "20200101000000Z", "20400101000000Z", 1024, NULL },
	{ "leaf_weak", "mx.example.com", "weak_root", "ext_mx", LEAF_DATES, 0, NULL },
};
#define FX_N (sizeof(fx_specs) / sizeof(fx_specs[0]))

static const char fx_cnf[] =
    "[ca]\ndefault_ca = tca\n"
    "[tca]\ndir = .\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/new\n"
    "serial = $dir/serial\ndefault_md = sha256\npolicy = pol\n"
    "unique_subject = no\nemail_in_dn = no\n"
    "[pol]\ncommonName = supplied\n"
    "[ext_ca]\nbasicConstraints = critical,CA:true\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "[ext_noca]\nbasicConstraints = critical,CA:false\n"
    "keyUsage = critical,digitalSignature,keyCertSign\n"
    "[ext_mx]\nbasicConstraints = CA:false\nkeyUsage = digitalSignature\n"
    "extendedKeyUsage = serverAuth,clientAuth\n"
    "subjectAltName = DNS:mx.example.com,DNS:mail.example.com\n"
    "[ext_nosan]\nbasicConstraints = CA:false\nextendedKeyUsage = serverAuth\n"
    "[ext_other]\nbasicConstraints = CA:false\n"
    "subjectAltName = DNS:other.example.com\n"
    "[ext_ip]\nbasicConstraints = CA:false\n"
    "subjectAltName = IP:192.0.2.1,email:postmaster@example.com\n"
    "[ext_wild]\nbasicConstraints = CA:false\nsubjectAltName = DNS:*.example.com\n"
    "[ext_fwild]\nbasicConstraints = CA:false\n"
    "subjectAltName = DNS:f*.example.com\n"
    "[ext_client]\nbasicConstraints = CA:false\nextendedKeyUsage = clientAuth\n"
    "subjectAltName = DNS:mx.example.com\n"
    "[ext_noeku]\nbasicConstraints = CA:false\n"
    "subjectAltName = DNS:mx.example.com\n"
    "[ext_tld]\nbasicConstraints = CA:false\nsubjectAltName = DNS:*.com\n"
    "[ext_dot]\nbasicConstraints = CA:false\n"
    "subjectAltName = DNS:dot.example.com.\n";

struct fx {
	unsigned char *der, *spki;
	size_t len, spki_len;
};

static char fx_dir[64];
static struct fx fx_certs[FX_N];

/* fx_script - the shell commands that make every fixture */
static int fx_script(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (f == NULL)
		return -1;
	fprintf(f, "set -e\ncd '%s'\nmkdir new\n: > index.txt\necho 1000 > serial\n",
	    fx_dir);
	for (i = 0; i < FX_N; i++) {
		const struct fx_spec *s = &fx_specs[i];

		if (s->rsa)
			fprintf(f, "openssl genpkey -algorithm RSA -pkeyopt "
			    "rsa_keygen_bits:%d -out %s.key 2>/dev/null\n", s->rsa,
			    s->name);
		else
			fprintf(f, "openssl genpkey -algorithm EC -pkeyopt "
			    "ec_paramgen_curve:P-256 -out %s.key\n", s->name);
		fprintf(f, "openssl req -new -key %s.key -subj '/CN=%s' -out %s.csr\n",
		    s->name, s->cn, s->name);
		fprintf(f, "openssl ca -batch -config ca.cnf -notext -in %s.csr "
		    "-out %s.pem -extensions %s -startdate %s -enddate %s -md %s ",
		    s->name, s->name, s->ext, s->start, s->end,
		    s->md != NULL ? s->md : "sha256");
		if (s->issuer == NULL)
			fprintf(f, "-selfsign -keyfile %s.key", s->name);
		else
			fprintf(f, "-cert %s.pem -keyfile %s.key", s->issuer, s->issuer);
		fprintf(f, " >/dev/null 2>&1\n");
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* fx_load - name.pem into fx_certs[i]: DER and SubjectPublicKeyInfo */
static int fx_load(size_t i)
{
	mbedtls_x509_crt crt;
	char path[128];
	int r = -1;

	mbedtls_x509_crt_init(&crt);
	snprintf(path, sizeof(path), "%s/%s.pem", fx_dir, fx_specs[i].name);
	if (mbedtls_x509_crt_parse_file(&crt, path) != 0)
		goto out;
	fx_certs[i].len = crt.raw.len;
	fx_certs[i].spki_len = crt.pk_raw.len;
	fx_certs[i].der = malloc(crt.raw.len);
	fx_certs[i].spki = malloc(crt.pk_raw.len);
	if (fx_certs[i].der == NULL || fx_certs[i].spki == NULL)
		goto out;
	memcpy(fx_certs[i].der, crt.raw.p, crt.raw.len);
	memcpy(fx_certs[i].spki, crt.pk_raw.p, crt.pk_raw.len);
	r = 0;
out:
	mbedtls_x509_crt_free(&crt);
	return r;
}

static int fx_setup(void **state)
{
	char path[128], cmd[256];
	FILE *f;
	size_t i;

	(void)state;
	snprintf(fx_dir, sizeof(fx_dir), "/tmp/tern-dane-XXXXXX");
	if (mkdtemp(fx_dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/ca.cnf", fx_dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(fx_cnf, f);
	if (fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/make.sh", fx_dir);
	if (fx_script(path) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s'", path);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_dane: making the fixtures with openssl failed\n");
		return -1;
	}
	for (i = 0; i < FX_N; i++)
		if (fx_load(i) != 0)
			return -1;
	return 0;
}

static int fx_teardown(void **state)
{
	char cmd[128];
	size_t i;

	(void)state;
	for (i = 0; i < FX_N; i++) {
		free(fx_certs[i].der);
		free(fx_certs[i].spki);
	}
	if (fx_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx_dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static const struct fx *fx_get(const char *name)
{
	size_t i;

	for (i = 0; i < FX_N; i++)
		if (strcmp(fx_specs[i].name, name) == 0)
			return &fx_certs[i];
	fail_msg("no fixture %s", name);
	return NULL;
}

/* ------------------------------------------------------------ helpers */

/* record data lives in an arena emptied before each test */
static unsigned char arena[1 << 17];
static size_t arena_used;

static int arena_reset(void **state)
{
	(void)state;
	arena_used = 0;
	return 0;
}

static unsigned char *arena_alloc(size_t n)
{
	unsigned char *p;

	assert_true(arena_used + n <= sizeof(arena));
	p = arena + arena_used;
	arena_used += n;
	return p;
}

/* rec - a TLSA record usage selector mtype for fixture name */
static struct dane_tlsa rec(unsigned u, unsigned s, unsigned m, const char *name)
{
	const struct fx *f = fx_get(name);
	const unsigned char *p = s == 1 ? f->spki : f->der;
	size_t n = s == 1 ? f->spki_len : f->len;
	struct dane_tlsa t;
	unsigned char *d;

	t.usage = (unsigned char)u;
	t.selector = (unsigned char)s;
	t.mtype = (unsigned char)m;
	if (m == 1) {
		d = arena_alloc(32);
		assert_int_equal(tls_compat_sha256(p, n, d), 0);
		n = 32;
	} else if (m == 2) {
		d = arena_alloc(64);
		assert_int_equal(tls_compat_sha512(p, n, d), 0);
		n = 64;
	} else {
		d = arena_alloc(n);
		memcpy(d, p, n);
	}
	t.data = d;
	t.len = n;
	return t;
}

static const unsigned char garbage[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01 };

/* run - dane_verify on records t[0..nt), the chain of fixture names
 * (NULL ends it; "garbage" is not a certificate) and reference names */
static int run(const struct dane_tlsa *t, size_t nt, const char *const *chain,
    const char *const *names, long long now, struct dane_result *out)
{
	struct dane_cert certs[16];
	struct dane_input in;
	size_t nc = 0, nn = 0;
	int r;

	for (; chain[nc] != NULL; nc++) {
		assert_true(nc < 16);
		if (strcmp(chain[nc], "garbage") == 0) {
			certs[nc].der = garbage;
			certs[nc].len = sizeof(garbage);
		} else {
			certs[nc].der = fx_get(chain[nc])->der;
			certs[nc].len = fx_get(chain[nc])->len;
		}
	}
	while (names[nn] != NULL)
		nn++;
	in.tlsa = t;
	in.n_tlsa = nt;
	in.chain = certs;
	in.n_chain = nc;
	in.names = names;
	in.n_names = nn;
	in.now = now;
	memset(out, 0x55, sizeof(*out));
	r = dane_verify(&in, out);
	/* the contract of every answer */
	assert_true(r == -1 || r == out->verified);
	assert_non_null(memchr(out->reason, '\0', sizeof(out->reason)));
	assert_true(out->reason[0] != '\0');
	if (out->verified) {
		assert_true(out->tlsa_index >= 0 && (size_t)out->tlsa_index < nt);
		assert_true(out->depth >= 0);
		assert_true(dane_usable(&t[out->tlsa_index]));
	} else {
		assert_int_equal(out->tlsa_index, -1);
		assert_int_equal(out->depth, -1);
	}
	return r;
}

#define CHAIN(...) ((const char *const []){ __VA_ARGS__, NULL })
#define NAMES(...) ((const char *const []){ __VA_ARGS__, NULL })
#define NO_NAMES ((const char *const []){ NULL })
#define MX NAMES("mx.example.com")
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* expect - a verified answer from record idx at depth */
static void expect_ok(int r, const struct dane_result *res, int idx, int depth)
{
	if (r != 1)
		fail_msg("not verified: %s", res->reason);
	assert_int_equal(res->tlsa_index, idx);
	assert_int_equal(res->depth, depth);
}

static void expect_no(int r, const struct dane_result *res, const char *why)
{
	if (r != 0)
		fail_msg("verified (%d): %s", r, res->reason);
	if (why != NULL && strstr(res->reason, why) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", res->reason, why);
}

/* ------------------------------------------------------------ DANE-EE */

static void test_ee_every_form(void **state)
{
	static const char *const leaves[] = { "leaf_rsa", "leaf_ec" };
	struct dane_result res;
	char want[128];
	unsigned s, m;
	size_t l;

	(void)state;
	for (l = 0; l < N_OF(leaves); l++)
		for (s = 0; s < 2; s++)
			for (m = 0; m < 3; m++) {
				struct dane_tlsa t[] = {
					rec(3, s, m, "other_root"), rec(3, s, m, leaves[l])
				};

				expect_ok(run(t, 2, CHAIN(leaves[l], "int1"), MX, NOW,
				    &res), &res, 1, 0);
				assert_int_equal(res.usable, 2);
				snprintf(want, sizeof(want), "DANE-EE(3) %s %s matched "
				    "the leaf", s ? "SPKI(1)" : "Cert(0)", m == 0 ?
				    "Full(0)" : m == 1 ? "SHA2-256(1)" : "SHA2-512(2)");
				assert_string_equal(res.reason, want);
			}
}

static void test_ee_ignores_names_dates_chain(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(3, 1, 1, "leaf_expired") };
	struct dane_tlsa u[] = { rec(3, 0, 1, "leaf_client") };

	(void)state;
	/* expired, wrong name, no names, no issuer, garbage after it */
	expect_ok(run(t, 1, CHAIN("leaf_expired"), NAMES("nope.example"), NOW,
	    &res), &res, 0, 0);
	expect_ok(run(t, 1, CHAIN("leaf_expired", "garbage"), NO_NAMES, T2030 * 2,
	    &res), &res, 0, 0);
	/* clientAuth only: EKU is a DANE-TA rule */
	expect_ok(run(u, 1, CHAIN("leaf_client", "fake_int1"), MX, NOW, &res),
	    &res, 0, 0);
	/* an EE record of the issuer does not match the leaf */
	{
		struct dane_tlsa w[] = { rec(3, 1, 1, "int1") };

		expect_no(run(w, 1, CHAIN("leaf_rsa", "int1"), MX, NOW, &res),
		    &res, "no TLSA record matched");
	}
}

/* ------------------------------------------------------------ DANE-TA */

static void test_ta_every_form(void **state)
{
	struct dane_result res;
	char want[160];
	unsigned s, m;

	(void)state;
	for (s = 0; s < 2; s++)
		for (m = 0; m < 3; m++) {
			struct dane_tlsa t1[] = { rec(2, s, m, "int1") };
			struct dane_tlsa t2[] = { rec(2, s, m, "root") };

			expect_ok(run(t1, 1, CHAIN("leaf_rsa", "int1"), MX, NOW, &res),
			    &res, 0, 1);
			snprintf(want, sizeof(want), "DANE-TA(2) %s %s matched the "
			    "certificate at depth 1, leaf name mx.example.com",
			    s ? "SPKI(1)" : "Cert(0)", m == 0 ? "Full(0)" :
			    m == 1 ? "SHA2-256(1)" : "SHA2-512(2)");
			assert_string_equal(res.reason, want);
			expect_ok(run(t2, 1, CHAIN("leaf_ec", "int1", "root"), MX, NOW,
			    &res), &res, 0, 2);
		}
}

static void test_ta_not_sent(void **state)
{
	struct dane_result res;
	struct dane_tlsa cert[] = { rec(2, 0, 0, "root") };
	struct dane_tlsa spki[] = { rec(2, 1, 0, "root") };
	struct dane_tlsa spki1[] = { rec(2, 1, 0, "int1") };
	struct dane_tlsa digest[] = { rec(2, 0, 1, "root"), rec(2, 1, 2, "root") };
	struct dane_tlsa other[] = { rec(2, 0, 0, "other_root"),
	    rec(2, 1, 0, "other_root") };

	(void)state;
	expect_ok(run(cert, 1, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 0, 2);
	assert_non_null(strstr(res.reason, "(not sent)"));
	expect_ok(run(spki, 1, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 0, 2);
	/* the anchor's key signed the leaf itself */
	expect_ok(run(spki1, 1, CHAIN("leaf_ec"), MX, NOW, &res), &res, 0, 1);
	expect_ok(run(cert, 1, CHAIN("leaf_deep", "int2", "int1"), MX, NOW, &res),
	    &res, 0, 3);
	/* a digest cannot stand for an anchor the server did not send */
	expect_no(run(digest, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res,
	    "no TLSA record matched");
	/* an anchor that signed nothing sent */
	expect_no(run(other, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res,
	    "no TLSA record matched");
	/* the rules still hold below an anchor not sent */
	expect_no(run(spki, 1, CHAIN("leaf_rsa", "int1"), NAMES("x.example.com"),
	    NOW, &res), &res, "leaf name does not match x.example.com");
	expect_no(run(cert, 1, CHAIN("leaf_expired", "int1"), MX, NOW, &res), &res,
	    "certificate at depth 0 expired");
}

static void test_ta_anchor_dates(void **state)
{
	struct dane_result res;
	struct dane_tlsa cert[] = { rec(2, 0, 0, "short_root") };
	struct dane_tlsa spki[] = { rec(2, 1, 0, "short_root") };
	struct dane_tlsa sent[] = { rec(2, 1, 1, "short_root") };

	(void)state;
	expect_ok(run(cert, 1, CHAIN("leaf_short"), MX, NOW, &res), &res, 0, 1);
	/* in 2027 the root has expired, the leaf has not */
	expect_no(run(cert, 1, CHAIN("leaf_short"), MX, T2027, &res), &res,
	    "trust anchor at depth 1 expired");
	expect_no(run(sent, 1, CHAIN("leaf_short", "short_root"), MX, T2027, &res),
	    &res, "trust anchor at depth 1 expired");
	/* a bare key has no dates */
	expect_ok(run(spki, 1, CHAIN("leaf_short"), MX, T2027, &res), &res, 0, 1);
}

static void test_pkix_only(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(0, 0, 1, "root"), rec(1, 1, 1, "leaf_rsa"),
	    rec(1, 0, 0, "leaf_rsa") };

	(void)state;
	expect_no(run(t, 3, CHAIN("leaf_rsa", "int1", "root"), MX, NOW, &res),
	    &res, "no usable TLSA record");
	assert_int_equal(res.usable, 0);
	expect_no(run(t, 0, CHAIN("leaf_rsa"), MX, NOW, &res), &res,
	    "no usable TLSA record");
	assert_int_equal(res.usable, 0);
}

static void test_unusable_skipped(void **state)
{
	struct dane_result res;
	struct dane_tlsa good = rec(3, 1, 1, "leaf_rsa");
	struct dane_tlsa t[8];
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++)
		t[i] = good;
	t[0].usage = 4;
	t[1].selector = 2;
	t[2].mtype = 3;
	t[3].len = 31;
	t[4].mtype = 2;		/* 32 octets for SHA2-512 */
	t[5].len = 0;
	t[5].mtype = 0;
	t[6].data = NULL;
	for (i = 0; i < 7; i++)
		assert_false(dane_usable(&t[i]));
	assert_true(dane_usable(&good));
	expect_no(run(t, 7, CHAIN("leaf_rsa"), MX, NOW, &res), &res,
	    "no usable TLSA record (7 skipped");
	t[7] = good;
	expect_ok(run(t, 8, CHAIN("leaf_rsa"), MX, NOW, &res), &res, 7, 0);
	assert_int_equal(res.usable, 1);
	assert_false(dane_usable(NULL));
}

static void test_digest_agility(void **state)
{
	struct dane_result res;
	/* a wrong SHA2-512 record sets the right SHA2-256 one aside */
	struct dane_tlsa ee[] = { rec(3, 1, 2, "other_root"), rec(3, 1, 1, "leaf_rsa") };
	struct dane_tlsa ta[] = { rec(2, 0, 1, "int1"), rec(2, 0, 2, "other_root") };
	/* other selector or usage: not concerned */
	struct dane_tlsa sel[] = { rec(3, 0, 2, "other_root"), rec(3, 1, 1, "leaf_rsa") };
	struct dane_tlsa use[] = { rec(2, 1, 2, "other_root"), rec(3, 1, 1, "leaf_rsa") };
	/* Full(0) is always used */
	struct dane_tlsa full[] = { rec(3, 1, 2, "other_root"), rec(3, 1, 0, "leaf_rsa") };
	/* a right SHA2-512 beside a wrong SHA2-256 */
	struct dane_tlsa both[] = { rec(3, 1, 1, "other_root"), rec(3, 1, 2, "leaf_rsa") };

	(void)state;
	expect_no(run(ee, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res,
	    "1 SHA2-256 record ignored for SHA2-512");
	assert_int_equal(res.usable, 2);
	expect_no(run(ta, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res,
	    "ignored for SHA2-512");
	expect_ok(run(sel, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 1, 0);
	expect_ok(run(use, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 1, 0);
	expect_ok(run(full, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 1, 0);
	expect_ok(run(both, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 1, 0);
}

static void test_depths(void **state)
{
	struct dane_result res;
	struct dane_tlsa root[] = { rec(2, 1, 1, "root") };
	struct dane_tlsa int2[] = { rec(2, 0, 1, "int2") };
	struct dane_tlsa int1[] = { rec(2, 1, 2, "int1") };

	(void)state;
	expect_ok(run(root, 1, CHAIN("leaf_root", "root"), MX, NOW, &res), &res, 0, 1);
	expect_ok(run(root, 1, CHAIN("leaf_rsa", "int1", "root"), MX, NOW, &res),
	    &res, 0, 2);
	expect_ok(run(root, 1, CHAIN("leaf_deep", "int2", "int1", "root"), MX, NOW,
	    &res), &res, 0, 3);
	expect_ok(run(int2, 1, CHAIN("leaf_deep", "int2", "int1", "root"), MX, NOW,
	    &res), &res, 0, 1);
	expect_ok(run(int1, 1, CHAIN("leaf_deep", "int2", "int1"), MX, NOW, &res),
	    &res, 0, 2);
	/* a missing link breaks the path */
	expect_no(run(root, 1, CHAIN("leaf_deep", "int1", "root"), MX, NOW, &res),
	    &res, "not an issuer of the leaf");
}

static void test_shuffled_and_strays(void **state)
{
	struct dane_result res;
	struct dane_tlsa root[] = { rec(2, 0, 1, "root") };
	struct dane_tlsa two[] = { rec(2, 0, 1, "other_root"), rec(2, 1, 1, "int1") };

	(void)state;
	expect_ok(run(root, 1, CHAIN("leaf_deep", "root", "other_root", "int1",
	    "int2"), MX, NOW, &res), &res, 0, 3);
	expect_ok(run(root, 1, CHAIN("leaf_deep", "int1", "leaf_rsa", "int1",
	    "garbage", "int2", "leaf_deep", "root"), MX, NOW, &res), &res, 0, 3);
	/* the impostor beside the real issuer is passed over */
	expect_ok(run(root, 1, CHAIN("leaf_rsa", "fake_int1", "root", "int1"), MX,
	    NOW, &res), &res, 0, 2);
	/* a record for a stray does not hurt another that matches */
	expect_ok(run(two, 2, CHAIN("leaf_rsa", "other_root", "int1"), MX, NOW,
	    &res), &res, 1, 1);
	expect_no(run(two, 1, CHAIN("leaf_rsa", "other_root", "int1"), MX, NOW,
	    &res), &res, "chain[1], which is not an issuer of the leaf");
}

static void test_garbage(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 1, 1, "int1") };
	struct dane_tlsa ee[] = { rec(3, 0, 1, "leaf_rsa") };
	struct dane_cert certs[2];
	struct dane_input in;

	(void)state;
	expect_ok(run(t, 1, CHAIN("leaf_rsa", "garbage", "int1", "garbage"), MX,
	    NOW, &res), &res, 0, 1);
	/* a leaf that does not parse is an error */
	assert_int_equal(run(ee, 1, CHAIN("garbage", "leaf_rsa"), MX, NOW, &res), -1);
	assert_non_null(strstr(res.reason, "leaf certificate does not parse"));
	/* bad input */
	memset(&in, 0, sizeof(in));
	assert_int_equal(dane_verify(NULL, &res), -1);
	assert_int_equal(res.verified, 0);
	assert_string_equal(res.reason, "no input");
	assert_int_equal(dane_verify(&in, NULL), -1);
	assert_int_equal(dane_verify(&in, &res), -1);
	assert_string_equal(res.reason, "no certificate chain");
	certs[0].der = fx_get("leaf_rsa")->der;
	certs[0].len = fx_get("leaf_rsa")->len;
	certs[1].der = NULL;
	certs[1].len = 5;
	in.chain = certs;
	in.n_chain = 2;
	in.n_tlsa = 1;
	assert_int_equal(dane_verify(&in, &res), -1);	/* tlsa NULL */
	in.tlsa = ee;
	in.n_names = 1;
	assert_int_equal(dane_verify(&in, &res), -1);	/* names NULL */
	in.n_names = 0;
	assert_int_equal(dane_verify(&in, &res), 1);
	assert_int_equal(res.tlsa_index, 0);
}

static void test_ta_never_the_leaf(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 0, 1, "leaf_rsa"), rec(2, 1, 0, "leaf_rsa"),
	    rec(2, 0, 0, "leaf_rsa") };

	(void)state;
	expect_no(run(t, 3, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res,
	    "matched the leaf only");
	/* nor its copy sent again */
	expect_no(run(t, 3, CHAIN("leaf_rsa", "leaf_rsa", "int1"), MX, NOW, &res),
	    &res, "matched the leaf only");
	/* a self-signed leaf sent twice is not its own issuer */
	{
		struct dane_tlsa s[] = { rec(2, 0, 1, "leaf_self") };
		struct dane_tlsa e[] = { rec(3, 0, 1, "leaf_self") };

		expect_no(run(s, 1, CHAIN("leaf_self", "leaf_self"), MX, NOW, &res),
		    &res, "matched the leaf only");
		expect_ok(run(e, 1, CHAIN("leaf_self", "leaf_self"), MX, NOW, &res),
		    &res, 0, 0);
	}
}

static void test_broken_signature(void **state)
{
	struct dane_result res;
	struct dane_tlsa root[] = { rec(2, 0, 1, "root") };
	struct dane_tlsa fake[] = { rec(2, 1, 1, "fake_int1") };
	struct dane_tlsa fake_key[] = { rec(2, 1, 0, "fake_int1") };
	struct dane_tlsa root_full[] = { rec(2, 0, 0, "root") };

	(void)state;
	/* the impostor has int1's name but not its key */
	expect_no(run(root, 1, CHAIN("leaf_rsa", "fake_int1", "root"), MX, NOW,
	    &res), &res, "not an issuer of the leaf");
	expect_no(run(fake, 1, CHAIN("leaf_rsa", "fake_int1"), MX, NOW, &res),
	    &res, "not an issuer of the leaf");
	expect_no(run(fake_key, 1, CHAIN("leaf_rsa"), MX, NOW, &res), &res,
	    "no TLSA record matched");
	expect_no(run(root_full, 1, CHAIN("leaf_rsa", "fake_int1"), MX, NOW, &res),
	    &res, "no TLSA record matched");
}

static void test_ca_flag(void **state)
{
	struct dane_result res;
	struct dane_tlsa root[] = { rec(2, 0, 1, "root") };
	struct dane_tlsa noca[] = { rec(2, 0, 1, "int_noca") };
	struct dane_tlsa leaf[] = { rec(3, 0, 1, "leaf_noca") };

	(void)state;
	/* an issuer without the CA flag breaks the path... */
	expect_no(run(root, 1, CHAIN("leaf_noca", "int_noca", "root"), MX, NOW,
	    &res), &res, "is not validly issued");
	/* ...and cannot be a trust anchor */
	expect_no(run(noca, 1, CHAIN("leaf_noca", "int_noca"), MX, NOW, &res),
	    &res, "DANE-TA(2): certificate at depth 0");
	expect_ok(run(leaf, 1, CHAIN("leaf_noca", "int_noca"), MX, NOW, &res),
	    &res, 0, 0);
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 1, 1, "int1") };

	(void)state;
	expect_ok(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("MX.Example.COM."),
	    NOW, &res), &res, 0, 1);
	expect_ok(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("example.com",
	    "mail.example.com"), NOW, &res), &res, 0, 1);
	assert_non_null(strstr(res.reason, "leaf name mail.example.com"));
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("other.example.com"),
	    NOW, &res), &res, NULL);
	assert_string_equal(res.reason,
	    "DANE-TA(2): leaf name does not match other.example.com");
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("a.example", "b.example"),
	    NOW, &res), &res, "does not match a.example or b.example");
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NO_NAMES, NOW, &res), &res,
	    "leaf name does not match (no reference name)");
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("mx.example.com.."),
	    NOW, &res), &res, "leaf name does not match");
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES("x.mx.example.com"),
	    NOW, &res), &res, "leaf name does not match");
	expect_no(run(t, 1, CHAIN("leaf_rsa", "int1"), NAMES(""), NOW, &res), &res,
	    "leaf name does not match");
}

static void test_wildcards(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 0, 2, "int1") };
	static const char *const good[] = { "a.example.com", "MX.EXAMPLE.COM.",
	    "xn--bcher-kva.example.com", "a-b.example.com" };
	static const char *const bad[] = { "a.b.example.com", "example.com",
	    ".example.com", "a.example.org", "a_b.example.com", "*.example.com.x" };
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(good); i++)
		expect_ok(run(t, 1, CHAIN("leaf_wild", "int1"), NAMES(good[i]), NOW,
		    &res), &res, 0, 1);
	for (i = 0; i < N_OF(bad); i++)
		expect_no(run(t, 1, CHAIN("leaf_wild", "int1"), NAMES(bad[i]), NOW,
		    &res), &res, "leaf name does not match");
	/* "*.com" is no wildcard */
	expect_no(run(t, 1, CHAIN("leaf_tld", "int1"), NAMES("example.com"), NOW,
	    &res), &res, "leaf name does not match");
	/* a certificate name with a final dot */
	expect_ok(run(t, 1, CHAIN("leaf_dot", "int1"), NAMES("DOT.example.com"),
	    NOW, &res), &res, 0, 1);
	expect_ok(run(t, 1, CHAIN("leaf_dot", "int1"), NAMES("dot.example.com."),
	    NOW, &res), &res, 0, 1);
	/* "f*" is no wildcard */
	expect_no(run(t, 1, CHAIN("leaf_fwild", "int1"), NAMES("foo.example.com"),
	    NOW, &res), &res, "leaf name does not match");
	expect_no(run(t, 1, CHAIN("leaf_fwild", "int1"), NAMES("f.example.com"),
	    NOW, &res), &res, "leaf name does not match");
}

static void test_cn_fallback(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 1, 1, "int1") };

	(void)state;
	/* no SAN: the CN */
	expect_ok(run(t, 1, CHAIN("leaf_cn", "int1"), MX, NOW, &res), &res, 0, 1);
	/* a SAN without dNSName (IP, email): still the CN */
	expect_ok(run(t, 1, CHAIN("leaf_ip", "int1"), MX, NOW, &res), &res, 0, 1);
	/* a dNSName: the CN is not looked at */
	expect_no(run(t, 1, CHAIN("leaf_cn_san", "int1"), MX, NOW, &res), &res,
	    "leaf name does not match mx.example.com");
	expect_ok(run(t, 1, CHAIN("leaf_cn_san", "int1"), NAMES("other.example.com"),
	    NOW, &res), &res, 0, 1);
	/* the SAN's own CN ("wildcard") is not a name either */
	expect_no(run(t, 1, CHAIN("leaf_wild", "int1"), NAMES("wildcard"), NOW,
	    &res), &res, "leaf name does not match");
}

/* ------------------------------------------------------------ dates, EKU */

static void test_dates(void **state)
{
	struct dane_result res;
	struct dane_tlsa ta[] = { rec(2, 0, 1, "int1") };
	struct dane_tlsa root[] = { rec(2, 1, 1, "root") };
	struct dane_tlsa ee[] = { rec(3, 1, 1, "leaf_expired") };

	(void)state;
	expect_ok(run(ee, 1, CHAIN("leaf_expired", "int1"), MX, NOW, &res), &res, 0, 0);
	expect_no(run(ta, 1, CHAIN("leaf_expired", "int1"), MX, NOW, &res), &res,
	    NULL);
	assert_string_equal(res.reason, "DANE-TA(2): certificate at depth 0 expired");
	expect_no(run(ta, 1, CHAIN("leaf_future", "int1"), MX, NOW, &res), &res,
	    "certificate at depth 0 is not yet valid");
	/* now before the leaf's notBefore */
	expect_no(run(ta, 1, CHAIN("leaf_rsa", "int1"), MX, T2023, &res), &res,
	    "certificate at depth 0 is not yet valid");
	/* the edges are inside */
	expect_ok(run(ta, 1, CHAIN("leaf_rsa", "int1"), MX, T2024, &res), &res, 0, 1);
	expect_no(run(ta, 1, CHAIN("leaf_rsa", "int1"), MX, T2024 - 1, &res), &res,
	    "not yet valid");
	expect_ok(run(ta, 1, CHAIN("leaf_rsa", "int1"), MX, T2030, &res), &res, 0, 1);
	expect_no(run(ta, 1, CHAIN("leaf_rsa", "int1"), MX, T2030 + 1, &res), &res,
	    "expired");
	/* an intermediate's dates count: int_short ends in 2026 */
	expect_ok(run(root, 1, CHAIN("leaf_ishort", "int_short", "root"), MX, NOW,
	    &res), &res, 0, 2);
	expect_no(run(root, 1, CHAIN("leaf_ishort", "int_short", "root"), MX, T2027,
	    &res), &res, "DANE-TA(2): certificate at depth 1 expired");
	/* an expired leaf shown to a DANE-EE record in a DANE-TA set */
	{
		struct dane_tlsa mix[] = { rec(2, 0, 1, "int1"),
		    rec(3, 1, 1, "leaf_expired") };

		expect_ok(run(mix, 2, CHAIN("leaf_expired", "int1"), MX, NOW, &res),
		    &res, 1, 0);
	}
}

/* mbedTLS reads the system clock; the verifier must not */
static void test_dates_not_the_clock(void **state)
{
	struct dane_result res;
	struct dane_tlsa ta[] = { rec(2, 0, 1, "int1") };
	struct dane_tlsa root[] = { rec(2, 1, 1, "root") };

	(void)state;
	expect_ok(run(ta, 1, CHAIN("leaf_expired", "int1"), MX, 1640995200LL,
	    &res), &res, 0, 1);
	expect_ok(run(ta, 1, CHAIN("leaf_future", "int1"), MX, 1956528000LL,
	    &res), &res, 0, 1);
	expect_ok(run(root, 1, CHAIN("leaf_ishort", "int_short", "root"), MX,
	    T2025_06, &res), &res, 0, 2);
}

/* weak hashes and keys are refused on the path, and for a bare key */
static void test_weak(void **state)
{
	struct dane_result res;
	struct dane_tlsa spki[] = { rec(2, 1, 0, "weak_root") };
	struct dane_tlsa cert[] = { rec(2, 0, 0, "weak_root") };
	struct dane_tlsa sent[] = { rec(2, 0, 1, "weak_root") };
	struct dane_tlsa int1[] = { rec(2, 0, 1, "int1") };
	struct dane_tlsa int1_key[] = { rec(2, 1, 0, "int1") };
	struct dane_tlsa ee[] = { rec(3, 1, 1, "leaf_sha1") };

	(void)state;
	expect_no(run(spki, 1, CHAIN("leaf_weak"), MX, NOW, &res), &res,
	    "DANE-TA(2): certificate at depth 0 is signed with a weak key");
	expect_no(run(cert, 1, CHAIN("leaf_weak"), MX, NOW, &res), &res,
	    "weak key");
	expect_no(run(sent, 1, CHAIN("leaf_weak", "weak_root"), MX, NOW, &res),
	    &res, "weak key");
	expect_no(run(int1, 1, CHAIN("leaf_sha1", "int1"), MX, NOW, &res), &res,
	    "DANE-TA(2): certificate at depth 0 is signed with a weak hash");
	expect_no(run(int1_key, 1, CHAIN("leaf_sha1"), MX, NOW, &res), &res,
	    "DANE-TA(2): certificate at depth 0 is signed with a weak hash");
	/* DANE-EE looks at the key only */
	expect_ok(run(ee, 1, CHAIN("leaf_sha1"), MX, NOW, &res), &res, 0, 0);
}

static void test_eku(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 0, 1, "int1") };

	(void)state;
	expect_no(run(t, 1, CHAIN("leaf_client", "int1"), MX, NOW, &res), &res,
	    "extended key usage does not allow serverAuth");
	expect_ok(run(t, 1, CHAIN("leaf_noeku", "int1"), MX, NOW, &res), &res, 0, 1);
}

/* several records: EE first, then the one that verifies */
static void test_preference(void **state)
{
	struct dane_result res;
	struct dane_tlsa t[] = { rec(2, 0, 1, "int1"), rec(3, 1, 1, "leaf_rsa") };
	struct dane_tlsa u[] = { rec(2, 0, 1, "fake_int1"), rec(2, 0, 1, "root"),
	    rec(2, 1, 1, "int1") };

	(void)state;
	expect_ok(run(t, 2, CHAIN("leaf_rsa", "int1"), MX, NOW, &res), &res, 1, 0);
	/* the stray's failure does not hide the match that verifies */
	expect_ok(run(u, 3, CHAIN("leaf_rsa", "fake_int1", "int1"), MX, NOW, &res),
	    &res, 2, 1);
	/* the reason is the most telling failure: a path tried and refused
	 * tells more than a record that matched the leaf */
	{
		struct dane_tlsa v[] = { rec(2, 0, 1, "leaf_rsa"), rec(2, 0, 1, "int1"),
		    rec(2, 0, 1, "leaf_rsa") };

		expect_no(run(v, 3, CHAIN("leaf_rsa", "int1"), NAMES("x.example"),
		    NOW, &res), &res, NULL);
		assert_string_equal(res.reason,
		    "DANE-TA(2): leaf name does not match x.example");
	}
}

/* ------------------------------------------------------------ text forms */

static void test_tlsa_parse(void **state)
{
	unsigned char buf[64];
	struct dane_tlsa t;
	char hex[65];
	size_t i;

	(void)state;
	assert_int_equal(dane_tlsa_parse("3 1 1 0aFF 10", &t, buf, sizeof(buf)), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.selector, 1);
	assert_int_equal(t.mtype, 1);
	assert_int_equal(t.len, 3);
	assert_ptr_equal(t.data, buf);
	assert_memory_equal(buf, "\x0a\xff\x10", 3);
	assert_int_equal(dane_tlsa_parse("  2\t0  0\t00 \n", &t, buf, sizeof(buf)), 0);
	assert_int_equal(t.usage, 2);
	assert_int_equal(t.len, 1);
	assert_int_equal(dane_tlsa_parse("255 255 255 ab", &t, buf, sizeof(buf)), 0);
	assert_int_equal(t.mtype, 255);
	/* a 32-octet digest, and one octet too many for the buffer */
	for (i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	hex[64] = '\0';
	{
		char line[100];

		snprintf(line, sizeof(line), "3 1 1 %s", hex);
		assert_int_equal(dane_tlsa_parse(line, &t, buf, 32), 0);
		assert_int_equal(t.len, 32);
		assert_true(dane_usable(&t));
		assert_int_equal(dane_tlsa_parse(line, &t, buf, 31), -1);
	}
	assert_int_equal(dane_tlsa_parse("3 1 1", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 ", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 abc", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 a b c", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 zz", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 0x00", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("256 1 1 00", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("-3 1 1 00", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3x 1 1 00", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 100", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 00", &t, buf, 0), -1);
	assert_int_equal(dane_tlsa_parse("", &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse(NULL, &t, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 00", NULL, buf, sizeof(buf)), -1);
	assert_int_equal(dane_tlsa_parse("3 1 1 00", &t, NULL, 8), -1);
	assert_int_equal(dane_tlsa_parse("99999999999999999999 1 1 00", &t, buf,
	    sizeof(buf)), -1);
}

static void test_name_helpers(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(dane_usage_name(0, buf, sizeof(buf)), "PKIX-TA(0)");
	assert_string_equal(dane_usage_name(1, buf, sizeof(buf)), "PKIX-EE(1)");
	assert_string_equal(dane_usage_name(2, buf, sizeof(buf)), "DANE-TA(2)");
	assert_string_equal(dane_usage_name(3, buf, sizeof(buf)), "DANE-EE(3)");
	assert_string_equal(dane_usage_name(7, buf, sizeof(buf)), "usage(7)");
	assert_string_equal(buf, "usage(7)");
	assert_string_equal(dane_selector_name(0, buf, sizeof(buf)), "Cert(0)");
	assert_string_equal(dane_selector_name(1, buf, sizeof(buf)), "SPKI(1)");
	assert_string_equal(dane_selector_name(2, buf, sizeof(buf)), "selector(2)");
	assert_string_equal(dane_mtype_name(0, buf, sizeof(buf)), "Full(0)");
	assert_string_equal(dane_mtype_name(1, buf, sizeof(buf)), "SHA2-256(1)");
	assert_string_equal(dane_mtype_name(2, buf, sizeof(buf)), "SHA2-512(2)");
	assert_string_equal(dane_mtype_name(255, buf, sizeof(buf)), "mtype(255)");
	assert_string_equal(dane_mtype_name(4000000000u, buf, 6), "mtype");
	assert_string_equal(dane_usage_name(9, NULL, 0), "?");
	assert_string_equal(dane_usage_name(3, NULL, 0), "DANE-EE(3)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ee_every_form, arena_reset),
		cmocka_unit_test_setup(test_ee_ignores_names_dates_chain, arena_reset),
		cmocka_unit_test_setup(test_ta_every_form, arena_reset),
		cmocka_unit_test_setup(test_ta_not_sent, arena_reset),
		cmocka_unit_test_setup(test_ta_anchor_dates, arena_reset),
		cmocka_unit_test_setup(test_pkix_only, arena_reset),
		cmocka_unit_test_setup(test_unusable_skipped, arena_reset),
		cmocka_unit_test_setup(test_digest_agility, arena_reset),
		cmocka_unit_test_setup(test_depths, arena_reset),
		cmocka_unit_test_setup(test_shuffled_and_strays, arena_reset),
		cmocka_unit_test_setup(test_garbage, arena_reset),
		cmocka_unit_test_setup(test_ta_never_the_leaf, arena_reset),
		cmocka_unit_test_setup(test_broken_signature, arena_reset),
		cmocka_unit_test_setup(test_ca_flag, arena_reset),
		cmocka_unit_test_setup(test_names, arena_reset),
		cmocka_unit_test_setup(test_wildcards, arena_reset),
		cmocka_unit_test_setup(test_cn_fallback, arena_reset),
		cmocka_unit_test_setup(test_dates, arena_reset),
		cmocka_unit_test_setup(test_dates_not_the_clock, arena_reset),
		cmocka_unit_test_setup(test_weak, arena_reset),
		cmocka_unit_test_setup(test_eku, arena_reset),
		cmocka_unit_test_setup(test_preference, arena_reset),
		cmocka_unit_test_setup(test_tlsa_parse, arena_reset),
		cmocka_unit_test_setup(test_name_helpers, arena_reset),
	};

	return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
