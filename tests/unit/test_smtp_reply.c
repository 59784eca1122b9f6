/*
 * test_smtp_reply.c - reply parsing: single and multi-line replies,
 * enhanced status codes, incomplete input (every prefix), pipelined
 * replies, malformed replies and size limits, EHLO capabilities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/smtp_reply.h"

/* the reply is parsed from an exact-size heap copy (sanitizers see
 * over-reads); the copy lives until the next call */
static char *copy;

static long parse_n(const char *s, size_t n, struct smtp_reply *r,
    const char **err)
{
	free(copy);
	copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, s, n);
	return smtp_reply_parse(copy, n, r, err);
}

static long parse(const char *s, struct smtp_reply *r, const char **err)
{
	return parse_n(s, strlen(s), r, err);
}

static int teardown(void **state)
{
	(void)state;
	free(copy);
	copy = NULL;
	return 0;
}

static void assert_text(const struct smtp_reply *r, const char *want)
{
	if (r->textlen != strlen(want) || memcmp(r->text, want, r->textlen))
		fail_msg("text '%.*s', want '%s'", (int)r->textlen, r->text,
		    want);
}

/* every prefix of a complete reply is incomplete, not malformed */
static void check_prefixes(const char *s, size_t n)
{
	struct smtp_reply r;
	const char *err;
	size_t i;

	for (i = 0; i < n; i++) {
		long rc = parse_n(s, i, &r, &err);

		if (rc != 0)
			fail_msg("prefix %zu of '%s': %ld %s", i, s, rc,
			    err ? err : "");
	}
}

static void test_single(void **state)
{
	struct smtp_reply r;
	const char *err;

	(void)state;
	assert_int_equal(parse("250 OK\r\n", &r, &err), 8);
	assert_null(err);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(r.enh_class, 0);
	assert_text(&r, "OK");
	assert_int_equal(parse("220 mx.example.net ESMTP ready\r\n", &r, &err), 32);
	assert_text(&r, "mx.example.net ESMTP ready");
	/* no text at all, or an empty one */
	assert_int_equal(parse("250\r\n", &r, &err), 5);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.textlen, 0);
	assert_int_equal(parse("354 \r\n", &r, &err), 6);
	assert_int_equal(r.code, 354);
	assert_int_equal(r.textlen, 0);
	/* a bare LF ends a line too */
	assert_int_equal(parse("421 bye\n", &r, &err), 8);
	assert_int_equal(r.code, 421);
	assert_text(&r, "bye");
	/* TAB and 8-bit octets are text */
	assert_int_equal(parse("550 no\tsuch \xc3\xbcser\r\n", &r, &err), 19);
	assert_text(&r, "no\tsuch \xc3\xbcser");
	check_prefixes("250 OK\r\n", 8);
}

static void test_multiline(void **state)
{
	static const char ehlo[] =
	    "250-mx.example.net Hello\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n"
	    "250 8BITMIME\r\n";
	static const char banner[] = "220-mx.example.net\r\n220-\r\n220\r\n";
	struct smtp_reply r;
	const char *err;

	(void)state;
	assert_int_equal(parse(ehlo, &r, &err), (long)strlen(ehlo));
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 4);
	assert_text(&r, "8BITMIME");
	check_prefixes(ehlo, strlen(ehlo));
	assert_int_equal(parse(banner, &r, &err), (long)strlen(banner));
	assert_int_equal(r.code, 220);
	assert_int_equal(r.nlines, 3);
	assert_int_equal(r.textlen, 0);
	check_prefixes(banner, strlen(banner));
}

static void test_pipelined(void **state)
{
	static const char in[] = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
	struct smtp_reply r;
	const char *err;
	long n, off = 0;
	int codes[3], i = 0;

	(void)state;
	while (off < (long)strlen(in)) {
		n = parse(in + off, &r, &err);
		assert_true(n > 0);
		assert_true(i < 3);
		codes[i++] = r.code;
		off += n;
	}
	assert_int_equal(i, 3);
	assert_int_equal(codes[0], 250);
	assert_int_equal(codes[2], 354);
	assert_int_equal(r.enh_class, 0);
	assert_text(&r, "End data with <CR><LF>.<CR><LF>");
	/* the first reply does not wait for the next one's line */
	assert_int_equal(parse("250 Ok\r\n25", &r, &err), 8);
}

static void test_enhanced(void **state)
{
	struct smtp_reply r;
	const char *err;

	(void)state;
	assert_true(parse("250 2.0.0 Ok: queued as 4F9\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 2);
	assert_int_equal(r.enh_subject, 0);
	assert_int_equal(r.enh_detail, 0);
	assert_text(&r, "Ok: queued as 4F9");
	assert_true(parse("550 5.7.509 Access denied\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 5);
	assert_int_equal(r.enh_subject, 7);
	assert_int_equal(r.enh_detail, 509);
	assert_true(parse("452 4.5.3\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 4);
	assert_int_equal(r.enh_detail, 3);
	assert_int_equal(r.textlen, 0);
	/* per line: the last line's, else the first's */
	assert_true(parse("550-5.1.1 The email account does not exist.\r\n"
	    "550-5.1.1 Please try\r\n550 5.1.2 double-check\r\n", &r, &err) > 0);
	assert_int_equal(r.nlines, 3);
	assert_int_equal(r.enh_detail, 2);
	assert_text(&r, "double-check");
	assert_true(parse("550-5.1.1 unknown\r\n550 see https://x\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 5);
	assert_int_equal(r.enh_subject, 1);
	assert_int_equal(r.enh_detail, 1);
	assert_text(&r, "see https://x");
	/* not an enhanced code: it stays in the text */
	assert_true(parse("550 2.0.0 class differs\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
	assert_text(&r, "2.0.0 class differs");
	assert_true(parse("250 2.0 Ok\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
	assert_true(parse("250 2.0.0Ok\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
	assert_true(parse("250 2.0.1234 Ok\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
	assert_true(parse("250 3.0.0 Ok\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
	assert_true(parse("250 22.0.0 Ok\r\n", &r, &err) > 0);
	assert_int_equal(r.enh_class, 0);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} t[] = {
		{ "25 Ok\r\n", "reply line without a valid code" },
		{ "\r\n", "reply line without a valid code" },
		{ "OK\r\n", "reply line without a valid code" },
		{ "150 x\r\n", "reply line without a valid code" },
		{ "650 x\r\n", "reply line without a valid code" },
		{ "260 x\r\n", "reply line without a valid code" },
		{ "2a0 x\r\n", "reply line without a valid code" },
		{ "2500 x\r\n", "reply code not followed by space, hyphen or end of line" },
		{ "250_x\r\n", "reply code not followed by space, hyphen or end of line" },
		{ "250-a\r\n251 b\r\n", "codes differ between lines of one reply" },
		{ "250-a\r\n\r\n", "reply line without a valid code" },
		{ "250-a\r\nxyz\r\n", "reply line without a valid code" },
		{ "250 a\rb\r\n", "control character in reply" },
		{ "250 a\x1b[0m\r\n", "control character in reply" },
		{ "250 a\x7f\r\n", "control character in reply" },
		{ "250 a\r\r\n", "control character in reply" },
		/* found before the line ends */
		{ "HTTP/1.1 400 Bad Request", "reply line without a valid code" },
		{ "250-a\r\n251", "codes differ between lines of one reply" },
		{ "2500", "reply code not followed by space, hyphen or end of line" },
		{ "250 a\rb", "control character in reply" },
	};
	struct smtp_reply r;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long rc = parse(t[i].in, &r, &err);

		if (rc != -1 || !err || strcmp(err, t[i].err) != 0)
			fail_msg("'%s': %ld '%s', want '%s'", t[i].in, rc,
			    err ? err : "(null)", t[i].err);
	}
	assert_int_equal(parse_n("250 a\0b\r\n", 9, &r, &err), -1);
	assert_string_equal(err, "control character in reply");
	/* a CR that may still be followed by LF is not an error yet */
	assert_int_equal(parse("250 a\r", &r, &err), 0);
	assert_int_equal(parse("250\r", &r, &err), 0);
	assert_int_equal(parse("", &r, &err), 0);
}

static void test_limits(void **state)
{
	char *buf = malloc(SMTP_REPLY_MAX + 100);
	struct smtp_reply r;
	const char *err;
	size_t n;

	(void)state;
	assert_non_null(buf);
	/* one line of exactly SMTP_REPLY_MAX bytes */
	memcpy(buf, "250 ", 4);
	memset(buf + 4, 'x', SMTP_REPLY_MAX - 6);
	memcpy(buf + SMTP_REPLY_MAX - 2, "\r\n", 2);
	assert_int_equal(parse_n(buf, SMTP_REPLY_MAX, &r, &err), SMTP_REPLY_MAX);
	assert_int_equal(r.textlen, SMTP_REPLY_MAX - 6);
	/* one more byte: too long, whether its end has arrived or not */
	memset(buf + 4, 'x', SMTP_REPLY_MAX - 5);
	memcpy(buf + SMTP_REPLY_MAX - 1, "\r\n", 2);
	assert_int_equal(parse_n(buf, SMTP_REPLY_MAX + 1, &r, &err), -1);
	assert_string_equal(err, "reply too long");
	assert_int_equal(parse_n(buf, SMTP_REPLY_MAX, &r, &err), -1);
	assert_int_equal(parse_n(buf, SMTP_REPLY_MAX - 1, &r, &err), 0);
	/* many short lines add up */
	for (n = 0; n + 6 <= SMTP_REPLY_MAX + 60; n += 6)
		memcpy(buf + n, "250-x\n", 6);
	memcpy(buf + n, "250 x\n", 6);
	assert_int_equal(parse_n(buf, n + 6, &r, &err), -1);
	assert_string_equal(err, "reply too long");
	free(buf);
}

static unsigned ehlo(const char *s, unsigned long long *size)
{
	unsigned caps;
	char *c = malloc(strlen(s) + 1);

	assert_non_null(c);
	memcpy(c, s, strlen(s));
	caps = smtp_reply_ehlo_caps(c, strlen(s), size);
	free(c);
	return caps;
}

static void test_ehlo_caps(void **state)
{
	static const char postfix[] =
	    "250-mx.example.net\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n"
	    "250-VRFY\r\n"
	    "250-ETRN\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n"
	    "250-DSN\r\n"
	    "250-SMTPUTF8\r\n"
	    "250 CHUNKING\r\n";
	unsigned long long size = 1;
	unsigned caps;

	(void)state;
	caps = smtp_reply_ehlo_caps(postfix, strlen(postfix), &size);
	assert_int_equal(caps, SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
	    SMTP_CAP_STARTTLS | SMTP_CAP_AUTH_PLAIN | SMTP_CAP_AUTH_LOGIN |
	    SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_8BITMIME | SMTP_CAP_DSN |
	    SMTP_CAP_SMTPUTF8 | SMTP_CAP_CHUNKING);
	assert_true(size == 10240000);

	/* old AUTH= form, lower case, SIZE without a number, LF only */
	caps = ehlo("250-host\n250-auth=login\n250-size\n250 starttls\n", &size);
	assert_int_equal(caps, SMTP_CAP_AUTH_LOGIN | SMTP_CAP_SIZE | SMTP_CAP_STARTTLS);
	assert_true(size == 0);
	/* the greeting line is not a keyword; partial words do not count */
	caps = ehlo("250-PIPELINING\r\n250-STARTTLSX\r\n250-SIZEX 5\r\n"
	    "250 AUTH CRAM-MD5 PLAINX\r\n", NULL);
	assert_int_equal(caps, 0);
	caps = ehlo("250 mx.example.net\r\n", &size);
	assert_int_equal(caps, 0);
	assert_true(size == 0);
	/* a huge SIZE saturates */
	caps = ehlo("250-h\r\n250 SIZE 99999999999999999999999\r\n", &size);
	assert_int_equal(caps, SMTP_CAP_SIZE);
	assert_true(size == ~0ULL);
	assert_int_equal(ehlo("", &size), 0);
	/* the last line may come without its line end */
	caps = ehlo("250-h\r\n250-DSN\r\n250 CHUNKING", &size);
	assert_int_equal(caps, SMTP_CAP_DSN | SMTP_CAP_CHUNKING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_ehlo_caps),
	};

	return cmocka_run_group_tests_name("smtp_reply", tests, NULL, teardown);
}
