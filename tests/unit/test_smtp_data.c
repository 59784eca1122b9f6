/*
 * test_smtp_data.c - the DATA decoder: end of data, dot-unstuffing, the
 * SMTP smuggling sequences, flags, pipelined bytes after the end, and the
 * same result for every way of splitting the input into chunks; random
 * inputs are checked against a simple whole-buffer reference decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/smtp_data.h"

struct result {
	char *out;
	size_t outlen;
	size_t consumed;
	int done;
	unsigned flags;
	unsigned long long bytes;
};

static void result_free(struct result *r)
{
	free(r->out);
	r->out = NULL;
}

/* decode - feed in[0..len) cut at the given points (sorted, may repeat);
 * every chunk goes through an exact-size heap copy so a sanitizer sees
 * over-reads, and the output buffer is exactly chunk + 2 bytes */
static struct result decode(const char *in, size_t len, const size_t *cut,
    size_t ncut)
{
	struct result r;
	struct smtp_data d;
	size_t start = 0, k;

	memset(&r, 0, sizeof(r));
	r.out = malloc(len + 2);
	assert_non_null(r.out);
	smtp_data_init(&d);
	for (k = 0; k <= ncut; k++) {
		size_t end = k < ncut ? cut[k] : len, n = end - start, used, ol;
		char *chunk = malloc(n ? n : 1), *o = malloc(n + 2);
		int done;

		assert_non_null(chunk);
		assert_non_null(o);
		memcpy(chunk, in + start, n);
		used = smtp_data_feed(&d, chunk, n, o, &ol, &done);
		assert_true(used <= n);
		assert_true(ol <= n + 1);
		if (r.done) {
			/* nothing more after the end */
			assert_int_equal(used, 0);
			assert_int_equal(ol, 0);
			assert_int_equal(done, 1);
		}
		if (!done)
			assert_int_equal(used, n);
		memcpy(r.out + r.outlen, o, ol);
		r.outlen += ol;
		r.consumed += used;
		r.done = done;
		free(chunk);
		free(o);
		start = end;
	}
	r.flags = d.flags;
	r.bytes = d.bytes;
	assert_true(r.bytes == r.outlen);
	return r;
}

static struct result decode1(const char *in, size_t len)
{
	return decode(in, len, NULL, 0);
}

static void assert_same(const struct result *a, const struct result *b,
    const char *what)
{
	if (a->outlen != b->outlen || memcmp(a->out, b->out, a->outlen) ||
	    a->consumed != b->consumed || a->done != b->done ||
	    a->flags != b->flags)
		fail_msg("%s: out %zu/%zu consumed %zu/%zu done %d/%d flags %u/%u",
		    what, a->outlen, b->outlen, a->consumed, b->consumed,
		    a->done, b->done, a->flags, b->flags);
}

/* check_splits - one-shot, byte by byte, every 2-chunk and (for short
 * inputs) every 3-chunk split give the same result */
static void check_splits(const char *in, size_t len)
{
	struct result one = decode1(in, len), other;
	size_t *cut = malloc((len + 2) * sizeof(*cut));
	size_t i, j;

	assert_non_null(cut);
	for (i = 0; i < len; i++)
		cut[i] = i + 1;
	other = decode(in, len, cut, len);
	assert_same(&one, &other, "byte by byte");
	result_free(&other);
	for (i = 0; i <= len; i++) {
		cut[0] = i;
		other = decode(in, len, cut, 1);
		assert_same(&one, &other, "two chunks");
		result_free(&other);
	}
	for (i = 0; len <= 40 && i <= len; i++)
		for (j = i; j <= len; j++) {
			cut[0] = i;
			cut[1] = j;
			other = decode(in, len, cut, 2);
			assert_same(&one, &other, "three chunks");
			result_free(&other);
		}
	free(cut);
	result_free(&one);
}

/* expect - in decodes to want, consuming `consumed` bytes, done, flags */
static void expect_n(const char *in, size_t len, const char *want,
    size_t wantlen, size_t consumed, int done, unsigned flags)
{
	struct result r = decode1(in, len);

	if (r.outlen != wantlen || memcmp(r.out, want, wantlen) != 0)
		fail_msg("output %zu bytes '%.*s', want %zu", r.outlen,
		    (int)r.outlen, r.out, wantlen);
	assert_int_equal(r.consumed, consumed);
	assert_int_equal(r.done, done);
	assert_int_equal(r.flags, flags);
	result_free(&r);
	check_splits(in, len);
}

static void expect(const char *in, const char *want, size_t consumed,
    int done, unsigned flags)
{
	expect_n(in, strlen(in), want, strlen(want), consumed, done, flags);
}

static void test_basic(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n.\r\n";

	(void)state;
	expect(msg, "Subject: hi\r\n\r\nbody\r\n", strlen(msg), 1, 0);
	/* no terminator yet: everything is consumed, the CR stays pending */
	expect("Subject: hi\r\n\r\nbody\r", "Subject: hi\r\n\r\nbody", 20, 0, 0);
	expect("", "", 0, 0, 0);
}

static void test_empty_message(void **state)
{
	(void)state;
	expect(".\r\n", "", 3, 1, 0);
	expect(".\r\nQUIT\r\n", "", 3, 1, 0);
	expect("\r\n.\r\n", "\r\n", 5, 1, 0);
}

static void test_dot_unstuffing(void **state)
{
	(void)state;
	expect("..foo\r\n.\r\n", ".foo\r\n", 10, 1, 0);
	expect("a\r\n..\r\n.\r\n", "a\r\n.\r\n", 10, 1, 0);
	expect("a\r\n...\r\n.\r\n", "a\r\n..\r\n", 11, 1, 0);
	/* a lone leading dot is removed too (RFC 5321 4.5.2) */
	expect(".foo\r\n.\r\n", "foo\r\n", 9, 1, 0);
	/* dots elsewhere stay */
	expect("a.b.\r\n x\r\n.\r\n", "a.b.\r\n x\r\n", 13, 1, 0);
	expect("a\r\n.. \r\n.\r\n", "a\r\n. \r\n", 11, 1, 0);
}

static void test_pipelined(void **state)
{
	static const char in[] = "a\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\n";
	struct smtp_data d;
	char out[sizeof(in) + 2];
	size_t ol, used;
	int done;

	(void)state;
	expect(in, "a\r\n", 6, 1, 0);
	smtp_data_init(&d);
	used = smtp_data_feed(&d, in, strlen(in), out, &ol, &done);
	assert_int_equal(used, 6);
	assert_int_equal(done, 1);
	assert_memory_equal(in + used, "MAIL FROM:<>", 12);
	/* once done, it stays done and takes nothing */
	used = smtp_data_feed(&d, in + used, strlen(in) - used, out, &ol, &done);
	assert_int_equal(used, 0);
	assert_int_equal(ol, 0);
	assert_int_equal(done, 1);
}

static void test_smuggling(void **state)
{
	(void)state;
	/* none of these ends the data; each is flagged and passed through */
	expect("a\n.\nb", "a\n.\nb", 5, 0, SMTP_DATA_BARE_LF);
	expect("a\r.\rb", "a\r.\rb", 5, 0, SMTP_DATA_BARE_CR);
	expect("a\n.\r\nb", "a\n.\r\nb", 6, 0, SMTP_DATA_BARE_LF);
	expect("a\r\n.\nb", "a\r\n\nb", 6, 0, SMTP_DATA_BARE_LF);
	expect("a\r\n.\rb", "a\r\n\rb", 6, 0, SMTP_DATA_BARE_CR);
	expect("a\r.\r\nb", "a\r.\r\nb", 6, 0, SMTP_DATA_BARE_CR);
	expect("\n.\n", "\n.\n", 3, 0, SMTP_DATA_BARE_LF);
	expect("\r.\r", "\r.", 3, 0, SMTP_DATA_BARE_CR);
	/* with the real end after them */
	expect("a\n.\nMAIL FROM:<x@y>\r\n.\r\nQUIT\r\n",
	    "a\n.\nMAIL FROM:<x@y>\r\n", 24, 1, SMTP_DATA_BARE_LF);
	expect("a\r\n.\nRCPT TO:<x@y>\r\n.\r\n",
	    "a\r\n\nRCPT TO:<x@y>\r\n", 23, 1, SMTP_DATA_BARE_LF);
	expect("a\r\n.\r\rDATA\r\n.\r\n", "a\r\n\r\rDATA\r\n", 15, 1,
	    SMTP_DATA_BARE_CR);
	expect("a\r.\r\r\n.\r\n", "a\r.\r\r\n", 9, 1, SMTP_DATA_BARE_CR);
	expect("a\n\r\n.\r\n", "a\n\r\n", 7, 1, SMTP_DATA_BARE_LF);
	/* a bare LF or CR does not start a line: no unstuffing after it */
	expect("a\n..b\r\n.\r\n", "a\n..b\r\n", 10, 1, SMTP_DATA_BARE_LF);
	/* ".\r" then more CRs */
	expect(".\r\r\n.\r\n", "\r\r\n", 7, 1, SMTP_DATA_BARE_CR);
	expect(".\r\r\r\n.\r\n", "\r\r\r\n", 8, 1, SMTP_DATA_BARE_CR);
}

static void test_flags(void **state)
{
	(void)state;
	expect_n("a\0b\r\n.\r\n", 8, "a\0b\r\n", 5, 8, 1, SMTP_DATA_NUL);
	expect("caf\xc3\xa9\r\n.\r\n", "caf\xc3\xa9\r\n", 10, 1, SMTP_DATA_8BIT);
	expect("a\nb\rc\r\n.\r\n", "a\nb\rc\r\n", 10, 1,
	    SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR);
}

static void test_long_lines(void **state)
{
	char *in = malloc(2100), *want = malloc(2100);
	size_t n;

	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	/* 998 octets + CRLF is fine */
	memset(in, 'x', 998);
	memcpy(in + 998, "\r\n.\r\n", 5);
	memcpy(want, in, 1000);
	expect_n(in, 1003, want, 1000, 1003, 1, 0);
	/* 999 is too long */
	memset(in, 'x', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	memcpy(want, in, 1001);
	expect_n(in, 1004, want, 1001, 1004, 1, SMTP_DATA_LONG_LINE);
	/* the stuffing dot does not count */
	in[0] = '.';
	memset(in + 1, '.', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	memcpy(want, in + 1, 1000);
	expect_n(in, 1004, want, 1000, 1004, 1, 0);
	/* many short lines never add up */
	for (n = 0; n + 4 < 2000; n += 4)
		memcpy(in + n, "ab\r\n", 4);
	memcpy(in + n, "\r\n.\r\n", 5);
	{
		struct result r = decode1(in, n + 5);

		assert_int_equal(r.done, 1);
		assert_int_equal(r.flags, 0);
		result_free(&r);
	}
	free(in);
	free(want);
}

static void test_split_points(void **state)
{
	static const char *const in[] = {
		"From: a@b\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
		".\r\n",
		"\r\n.\r\n",
		"a\r\n.\r\r\n.\r\nX",
		"a\n.\n.\r\n.\r\n",
		"..\r\n...\r\n.x\r\n.\r\n",
		"\r\r\n\n\r.\r\n.\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		check_splits(in[i], strlen(in[i]));
}

/* ref_decode - whole-buffer reference: find the first "\r\n.\r\n" in
 * "\r\n" + in, unstuff the CRLF-separated lines before it, and compute
 * the flags from the result */
static struct result ref_decode(const char *in, size_t len)
{
	struct result r;
	char *p = malloc(len + 3);
	size_t i, end = len, ls, seg;

	memset(&r, 0, sizeof(r));
	assert_non_null(p);
	r.out = malloc(len + 2);
	assert_non_null(r.out);
	memcpy(p, "\r\n", 2);
	memcpy(p + 2, in, len);
	for (i = 0; i + 5 <= len + 2; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0) {
			r.done = 1;
			end = i;	/* content is in[0..i) */
			r.consumed = i + 3;
			break;
		}
	assert_true(r.done);
	/* lines of in[0..end) separated by CRLF, each unstuffed */
	for (ls = 0; ls < end;) {
		size_t le;

		for (le = ls; le < end && !(in[le] == '\r' && le + 1 < len &&
		    in[le + 1] == '\n'); le++)
			;
		if (le > ls && in[ls] == '.')
			ls++;
		memcpy(r.out + r.outlen, in + ls, le - ls);
		r.outlen += le - ls;
		if (le < end) {
			memcpy(r.out + r.outlen, "\r\n", 2);
			r.outlen += 2;
		}
		ls = le + 2;
	}
	for (i = 0, seg = 0; i < r.outlen; i++) {
		unsigned char c = (unsigned char)r.out[i];

		if (c == '\n') {
			if (i == 0 || r.out[i - 1] != '\r')
				r.flags |= SMTP_DATA_BARE_LF;
			else
				seg--;	/* the CR of CRLF */
			if (seg > 998)
				r.flags |= SMTP_DATA_LONG_LINE;
			seg = 0;
			continue;
		}
		if (c == '\r' && (i + 1 == r.outlen || r.out[i + 1] != '\n'))
			r.flags |= SMTP_DATA_BARE_CR;
		if (c == '\0')
			r.flags |= SMTP_DATA_NUL;
		if (c >= 0x80)
			r.flags |= SMTP_DATA_8BIT;
		seg++;
	}
	free(p);
	return r;
}

static void test_random(void **state)
{
	static const char alphabet[] = "\r\n.a\0\x80";
	uint64_t seed = 12345;	/* 64-bit LCG: unsigned long is 32 bits on mipsel, armhf */
	char in[80];
	int round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		size_t n, i, k, cut[4];
		struct result one, ref, other;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (seed >> 33) % 60;
		for (i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			in[i] = alphabet[(seed >> 33) % 6];
		}
		memcpy(in + n, "\r\n.\r\nZ", 6);
		n += 6;
		one = decode1(in, n);
		ref = ref_decode(in, n);
		assert_same(&one, &ref, "reference");
		for (k = 0; k < 4; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			cut[k] = (seed >> 33) % (n + 1);
		}
		for (k = 1; k < 4; k++) {	/* sort the cuts */
			size_t v = cut[k], j = k;

			while (j > 0 && cut[j - 1] > v) {
				cut[j] = cut[j - 1];
				j--;
			}
			cut[j] = v;
		}
		other = decode(in, n, cut, 4);
		assert_same(&one, &other, "random chunks");
		result_free(&one);
		result_free(&ref);
		result_free(&other);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_split_points),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests_name("smtp_data", tests, NULL, NULL);
}
