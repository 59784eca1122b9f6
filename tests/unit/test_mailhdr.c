/*
 * test_mailhdr.c - RFC 5322 headers: the end of the header section (every
 * prefix, both line ends), walking fields (folding, odd names, malformed
 * lines), address lists (display names, comments, quoted strings, groups,
 * obsolete routes and lists, folding), hostile input, Date and Message-ID.
 *
 * Inputs are copied into heap buffers of their exact size, without a NUL,
 * so a read past the end shows under ASan (make sanitize-check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/mailhdr.h"

/* exact - a heap copy of s[0..len) with nothing after it */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static size_t end_of(const char *s)
{
	char *p = exact(s, strlen(s));
	size_t r = mailhdr_end(p, strlen(s));

	free(p);
	return r;
}

struct got {
	char buf[8192];
	size_t used;
	int calls;
};

/* collect - "a|b|c" of the addresses, checking what cb is promised */
static void collect(void *ctx, const char *addr, size_t addrlen)
{
	struct got *g = ctx;

	assert_int_equal(strlen(addr), addrlen);
	assert_true(addrlen > 0);
	assert_null(memchr(addr, '\r', addrlen));
	assert_null(memchr(addr, '\n', addrlen));
	if (g->used + addrlen + 2 < sizeof(g->buf)) {
		if (g->calls)
			g->buf[g->used++] = '|';
		memcpy(g->buf + g->used, addr, addrlen);
		g->used += addrlen;
		g->buf[g->used] = '\0';
	}
	g->calls++;
}

/* addrs_len - mailhdr_addresses on an exact copy; the list into g */
static int addrs_len(const char *v, size_t len, struct got *g)
{
	char *value = exact(v, len), *scratch = malloc(len + 1);
	int n;

	assert_non_null(scratch);
	memset(g, 0, sizeof(*g));
	n = mailhdr_addresses(value, len, scratch, len + 1, collect, g);
	if (n >= 0)
		assert_int_equal(n, g->calls);
	free(scratch);
	free(value);
	return n;
}

static int addrs(const char *v, struct got *g)
{
	return addrs_len(v, strlen(v), g);
}

/* expect_addrs - v gives exactly the addresses in want ("a|b") */
static void expect_addrs(const char *v, int n, const char *want)
{
	struct got g;
	int r = addrs(v, &g);

	if (r != n || strcmp(g.buf, want) != 0)
		fail_msg("'%s': got %d '%s', want %d '%s'", v, r, g.buf, n, want);
}

static void expect_bad(const char *v, size_t len)
{
	struct got g;

	if (addrs_len(v, len, &g) != -1)
		fail_msg("'%s' was accepted as '%s'", v, g.buf);
}

/* ---------------------------------------------------------------- end */

static void test_end(void **state)
{
	(void)state;
	assert_int_equal(end_of("To: a@b\r\nSubject: x\r\n\r\nbody\r\n"), 23);
	assert_int_equal(end_of("To: a@b\nSubject: x\n\nbody\n"), 20);
	assert_int_equal(end_of("To: a@b\r\n\nbody"), 10);	/* mixed */
	assert_int_equal(end_of("To: a@b\n\r\nbody"), 10);
	assert_int_equal(end_of("\r\nbody"), 2);		/* no fields */
	assert_int_equal(end_of("\nbody"), 1);
	assert_int_equal(end_of("To: a@b\r\nSubject: x\r\n"), 0);
	assert_int_equal(end_of("To: a@b\r\n\r"), 0);		/* need more */
	assert_int_equal(end_of("To: a@b\r\n \r\n\tx\r\n\r\n"), 18);
	assert_int_equal(end_of("To: a@b\r\r\n"), 0);		/* "\r" is no line */
	assert_int_equal(end_of(""), 0);
	assert_int_equal(end_of("no line end at all"), 0);
}

/* test_end_prefixes - every prefix of a message says "need more" until
 * the empty line is complete, then the same answer */
static void test_end_prefixes(void **state)
{
	static const char *const msgs[] = {
		"From: a@b\r\nTo: c@d,\r\n e@f\r\n\r\nbody\r\n\r\nmore\r\n",
		"From: a@b\nTo: c@d,\n e@f\n\nbody\n\nmore\n",
	};
	size_t m, i;

	(void)state;
	for (m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]), want = end_of(msgs[m]);

		assert_true(want > 0);
		for (i = 0; i <= len; i++) {
			char *p = exact(msgs[m], i);
			size_t r = mailhdr_end(p, i);

			free(p);
			if (i < want)
				assert_int_equal(r, 0);
			else
				assert_int_equal(r, want);
		}
	}
}

static void test_end_cap(void **state)
{
	size_t len = MAILHDR_MAX + 100;
	char *big = malloc(len);
	size_t i;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = i % 70 == 69 ? '\n' : 'x';
	assert_int_equal(mailhdr_end(big, len), 0);	/* too long */
	big[MAILHDR_MAX - 1] = '\n';
	big[MAILHDR_MAX - 2] = '\n';
	assert_int_equal(mailhdr_end(big, len), MAILHDR_MAX);
	big[MAILHDR_MAX - 2] = 'x';
	big[MAILHDR_MAX] = '\n';		/* just past the cap */
	assert_int_equal(mailhdr_end(big, len), 0);
	free(big);
}

/* ---------------------------------------------------------------- fields */

static void expect_field(const struct mailhdr_field *f, const char *name,
    const char *value)
{
	if (f->namelen != strlen(name) || memcmp(f->name, name, f->namelen) ||
	    f->valuelen != strlen(value) || memcmp(f->value, value, f->valuelen))
		fail_msg("field '%.*s': '%.*s', want '%s': '%s'",
		    (int)f->namelen, f->name, (int)f->valuelen, f->value, name,
		    value);
}

static void test_next_crlf_folded(void **state)
{
	static const char msg[] =
	    "Subject: a long\r\n subject\r\n\tfolded\r\n"
	    "To: a@b\r\n"
	    "X-Empty:\r\n"
	    "\r\n"
	    "Body: not a field\r\n";
	size_t len = mailhdr_end(msg, sizeof(msg) - 1), pos = 0;
	char *hdr = exact(msg, len);
	struct mailhdr_field f;

	(void)state;
	assert_int_equal(len, 57);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "Subject", " a long\r\n subject\r\n\tfolded");
	assert_int_equal(f.off, 0);
	assert_int_equal(f.len, 36);
	assert_int_equal(pos, 36);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "To", " a@b");
	assert_int_equal(f.off, 36);
	assert_int_equal(f.len, 9);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "X-Empty", "");
	assert_int_equal(pos, 55);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 0);
	assert_int_equal(pos, 55);			/* at the empty line */
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 0);
	free(hdr);
}

static void test_next_lf_and_eof(void **state)
{
	/* no empty line: the caller passes the whole input at EOF */
	static const char msg[] = "From: x@y\nSubject: one\n  two\nTo: z@w";
	size_t len = sizeof(msg) - 1, pos = 0;
	char *hdr = exact(msg, len);
	struct mailhdr_field f;

	(void)state;
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "From", " x@y");
	assert_int_equal(f.len, 10);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "Subject", " one\n  two");
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "To", " z@w");
	assert_int_equal(f.off + f.len, len);
	assert_int_equal(pos, len);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 0);
	free(hdr);

	/* a half CRLF at EOF is not part of the value */
	hdr = exact("To: a@b\r", 8);
	pos = 0;
	assert_int_equal(mailhdr_next(hdr, 8, &pos, &f), 1);
	expect_field(&f, "To", " a@b");
	assert_int_equal(pos, 8);
	free(hdr);
}

static void test_next_names(void **state)
{
	static const char msg[] =
	    "X-Odd!#$%&'*+-/=?^_`{|}~.\"(),;<>@[\\]: v\r\n"
	    "Subject \t: obsolete space\r\n"
	    "A:b\r\n"
	    "\r\n";
	size_t len = sizeof(msg) - 1, pos = 0;
	char *hdr = exact(msg, len);
	struct mailhdr_field f;

	(void)state;
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "X-Odd!#$%&'*+-/=?^_`{|}~.\"(),;<>@[\\]", " v");
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "Subject", " obsolete space");
	assert_true(mailhdr_is(&f, "subject"));
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	expect_field(&f, "A", "b");
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 0);
	free(hdr);
}

static void test_next_malformed(void **state)
{
	static const char *const bad[] = {
		"this is not a header\r\nTo: a@b\r\n\r\n",
		"Bad Name: v\r\n",
		": no name\r\n",
		" continuation first\r\nTo: a@b\r\n",
		"\tcontinuation first\r\n",
		"From user@example.com Mon Jan  1 00:00:00 2026\n",
		"No-Colon\r\n",
		"No-Colon",
		"Name\x7f: v\r\n",
		"N\xc3\xa4me: v\r\n",
		"Na\0me: v\r\n",
		"\rx: v\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 10 ? 10 : strlen(bad[i]), pos = 0;
		char *hdr = exact(bad[i], len);
		struct mailhdr_field f;

		if (mailhdr_next(hdr, len, &pos, &f) != -1)
			fail_msg("'%s' was taken as a field", bad[i]);
		assert_int_equal(pos, 0);
		free(hdr);
	}
}

/* test_next_body_start - a malformed line after good fields: pos stays
 * at it, so the caller can start the body there */
static void test_next_body_start(void **state)
{
	static const char msg[] = "To: a@b\nSubject: s\nthis is not a header\nx\n";
	size_t len = sizeof(msg) - 1, pos = 0;
	char *hdr = exact(msg, len);
	struct mailhdr_field f;

	(void)state;
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), -1);
	assert_int_equal(pos, 19);
	assert_memory_equal(hdr + pos, "this is", 7);
	free(hdr);
}

/* test_next_long - a field folded over a megabyte, a megabyte-long name
 * and a line of NULs */
static void test_next_long(void **state)
{
	size_t len = MAILHDR_MAX, pos = 0, i;
	char *hdr = malloc(len);
	struct mailhdr_field f;

	(void)state;
	assert_non_null(hdr);
	memcpy(hdr, "X:", 2);
	for (i = 2; i < len; i++)
		hdr[i] = i % 50 == 0 ? '\n' : i % 50 == 1 ? ' ' : 'v';
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	assert_int_equal(f.len, len);
	assert_int_equal(f.valuelen, len - 2);
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 0);

	memset(hdr, 'N', len);
	pos = 0;
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), -1);	/* no colon */
	hdr[len - 1] = ':';
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), 1);
	assert_int_equal(f.namelen, len - 1);
	assert_int_equal(f.valuelen, 0);

	memset(hdr, '\0', len);
	pos = 0;
	assert_int_equal(mailhdr_next(hdr, len, &pos, &f), -1);
	assert_int_equal(mailhdr_end(hdr, len), 0);
	free(hdr);
}

static void test_is(void **state)
{
	struct mailhdr_field f = { "Resent-To", 9, "", 0, 0, 0 };

	(void)state;
	assert_true(mailhdr_is(&f, "resent-to"));
	assert_true(mailhdr_is(&f, "RESENT-TO"));
	assert_false(mailhdr_is(&f, "resent-t"));
	assert_false(mailhdr_is(&f, "resent-too"));
	assert_false(mailhdr_is(&f, "To"));
	assert_false(mailhdr_is(&f, ""));
}

/* ---------------------------------------------------------------- addresses */

static void test_addr_basic(void **state)
{
	(void)state;
	expect_addrs(" a@b, (comment) c@d, \"Doe, John\" <j@d>", 3, "a@b|c@d|j@d");
	expect_addrs("a@b", 1, "a@b");
	expect_addrs(" John Doe <john.doe@example.com>", 1, "john.doe@example.com");
	expect_addrs("<x@y>", 1, "x@y");
	expect_addrs("x@[192.0.2.1], y@[IPv6:2001:db8::1]", 2,
	    "x@[192.0.2.1]|y@[IPv6:2001:db8::1]");
	expect_addrs("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc.example>", 1,
	    "j\xc3\xb6rg@b\xc3\xbc.example");
	expect_addrs("=?utf-8?q?J=C3=B6rg?= <j@d>", 1, "j@d");
	expect_addrs("a+tag@b.example, o'brien@c.example", 2,
	    "a+tag@b.example|o'brien@c.example");
}

static void test_addr_comments(void **state)
{
	(void)state;
	expect_addrs("(a (nested (deeply)) comment) a@b", 1, "a@b");
	expect_addrs("a@b (Name \\) with \\( quoted pairs)", 1, "a@b");
	expect_addrs("j(left)@(right)d(end)", 1, "j@d");
	expect_addrs("Name (x) <(in)a@b(in)> (after)", 1, "a@b");
	expect_addrs("a@b (comment, with; specials: <x@y>)", 1, "a@b");
	expect_addrs("(only a comment)", 0, "");
	expect_addrs("a@b(\"not a quote)", 1, "a@b");
}

static void test_addr_quoted(void **state)
{
	(void)state;
	expect_addrs("\"john doe\"@example.com", 1, "\"john doe\"@example.com");
	expect_addrs("\"a\\\"b\"@c", 1, "\"a\\\"b\"@c");
	expect_addrs("\"Doe \\\"JD\\\" John\" <j@d>", 1, "j@d");
	expect_addrs("\"a,b;c:<d>\"@e, f@g", 2, "\"a,b;c:<d>\"@e|f@g");
	expect_addrs("\"(not a comment)\" <a@b>", 1, "a@b");
	expect_addrs("\"\"@b", 1, "\"\"@b");
}

static void test_addr_groups(void **state)
{
	(void)state;
	expect_addrs("undisclosed-recipients:;", 0, "");
	expect_addrs(" undisclosed-recipients: ;", 0, "");
	expect_addrs("team: a@b, c@d;", 2, "a@b|c@d");
	expect_addrs("team: a@b, c@d;, e@f", 3, "a@b|c@d|e@f");
	expect_addrs("g1: a@b; g2: Name <c@d>;", 2, "a@b|c@d");
	expect_addrs("x@y, \"The Team\" (comment): a@b (c);", 2, "x@y|a@b");
	expect_addrs("team: a@b, c@d", 2, "a@b|c@d");	/* ';' missing */
	expect_addrs("Team Members: a@b;", 1, "a@b");
	expect_addrs("empty:;, x@y", 1, "x@y");
}

static void test_addr_obsolete(void **state)
{
	(void)state;
	expect_addrs("<@a,@b:x@y>", 1, "x@y");
	expect_addrs("Name <@a.example, @b.example : x@y>", 1, "x@y");
	expect_addrs("<@a:x@y>, <@a , , @b:z@w>", 2, "x@y|z@w");
	expect_addrs("john . doe @ example . com", 1, "john.doe@example.com");
	expect_addrs("\"john\".doe@example.com", 1, "\"john\".doe@example.com");
	expect_addrs(",, a@b ,, c@d,", 2, "a@b|c@d");
	expect_addrs("Joe Q. Public <jqp@x>", 1, "jqp@x");
	expect_addrs("a@b; c@d", 2, "a@b|c@d");	/* ';' as a separator */
	expect_addrs("x@y <x@y>", 1, "x@y");	/* '@' in a display name */
}

static void test_addr_folding(void **state)
{
	(void)state;
	expect_addrs(" a@b,\r\n\tc@d,\r\n e@f", 3, "a@b|c@d|e@f");
	expect_addrs(" a@b,\n c@d", 2, "a@b|c@d");
	expect_addrs(" \"John\r\n Doe\"@x", 1, "\"John Doe\"@x");
	expect_addrs(" Doe\r\n <j@d>", 1, "j@d");
	expect_addrs(" x@[192.0.2.1\r\n ]", 1, "x@[192.0.2.1 ]");
	expect_addrs(" (a\r\n comment) a@b", 1, "a@b");
}

static void test_addr_bare_and_empty(void **state)
{
	struct got g;

	(void)state;
	expect_addrs(" root", 1, "root");
	expect_addrs("root, admin (Admin)", 2, "root|admin");
	expect_addrs("Super User <root>", 1, "root");
	expect_addrs("", 0, "");			/* "Bcc:" */
	expect_addrs(" \r\n ", 0, "");
	expect_addrs("<>", 0, "");
	expect_addrs("Nobody <>, a@b", 1, "a@b");
	/* counting only */
	assert_int_equal(mailhdr_addresses("a@b, c@d", 8, g.buf, sizeof(g.buf),
	    NULL, NULL), 2);
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
		"\"unbalanced@b",
		"a@b, \"x",
		"(unbalanced a@b",
		"((a) a@b",
		"a@b)",
		"<a@b",
		"Name <a@b, c@d>",
		"a@b>",
		"<<a@b>>",
		"x@[192.0.2.1",
		"x@192.0.2.1]",
		"x@[a[b]",
		"John Doe",
		"a@b c@d",
		"a(c)b@d",
		"\"a\"b@c",
		"a@@b",
		"a@b@c",
		"@b",
		"a@",
		"<@a>",
		"<a@b> junk",
		"<a@b> <c@d>",
		"<a@b>@c",
		"<x:y@z>",
		"<a,b@c>",
		"a@b: c@d;",
		"g: h: a@b;;",
		"g: <a@b>: c;",
		"<a@b;>",
		"a\\b@c",
		"a@b\x01",
		"\"a\x7f\"@b",
		"\"a\\\r\n b\"@c",
		"a@b\\",
		"(a\\",
		"\"a\\",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], strlen(bad[i]));
	/* NULs, anywhere */
	expect_bad("a@b\0, c@d", 9);
	expect_bad("\"a\0\"@b", 6);
	expect_bad("(a\0) a@b", 8);
	expect_bad("(a\\\0) a@b", 9);
	expect_bad("\0", 1);
}

static void test_addr_scratch(void **state)
{
	static const char v[] = "a@b, ccc@d";
	char scratch[16];

	(void)state;
	assert_int_equal(mailhdr_addresses(v, 10, scratch, 11, NULL, NULL), 2);
	assert_int_equal(mailhdr_addresses(v, 10, scratch, 6, NULL, NULL), 2);
	assert_int_equal(mailhdr_addresses(v, 10, scratch, 5, NULL, NULL), -1);
	assert_int_equal(mailhdr_addresses(v, 3, scratch, 4, NULL, NULL), 1);
	assert_int_equal(mailhdr_addresses(v, 3, scratch, 3, NULL, NULL), -1);
	assert_int_equal(mailhdr_addresses(v, 10, NULL, 0, NULL, NULL), -1);
	assert_int_equal(mailhdr_addresses(v, 0, NULL, 0, NULL, NULL), 0);
	/* only the given length is read */
	assert_int_equal(mailhdr_addresses("a@b, \"", 4, scratch, 5, NULL, NULL), 1);
}

/* fill - len bytes of the pattern */
static char *fill(const char *pat, size_t len)
{
	size_t plen = strlen(pat), i;
	char *p = malloc(len);

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = pat[i % plen];
	return p;
}

static void test_addr_hostile(void **state)
{
	size_t big = MAILHDR_MAX;
	char *scratch = malloc(big + 1), *v;
	struct got g;
	int r;

	(void)state;
	assert_non_null(scratch);
	v = fill("a", big);			/* one long local part */
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), 1);
	free(v);
	v = fill("(", big);			/* never closed */
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	memset(v + big / 2, ')', big / 2);	/* deep but balanced */
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), 0);
	free(v);
	v = fill("\"", big);			/* empty quoted strings, adjacent */
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	free(v);
	v = fill("a@b,", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL),
	    (int)(big / 4));
	free(v);
	v = fill(",", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), 0);
	free(v);
	v = fill("<", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	free(v);
	v = fill("x:", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	free(v);
	v = fill("\\", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	free(v);
	v = fill(" \r\n", big);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), 0);
	free(v);
	v = calloc(1, big);			/* all NUL */
	assert_non_null(v);
	assert_int_equal(mailhdr_addresses(v, big, scratch, big + 1, NULL, NULL), -1);
	free(v);
	free(scratch);
	/* random bytes from a small alphabet of specials: no crash, and
	 * every address is a NUL-terminated string without line ends */
	{
		static const char alpha[] = "a@b.<>,;:()\"[]\\ \r\n\t\0x\x80";
		unsigned long seed = 12345;
		char buf[64];
		int i;
		size_t k, n;

		for (i = 0; i < 20000; i++) {
			seed = seed * 1103515245UL + 12345UL;
			n = (seed >> 16) % sizeof(buf);
			for (k = 0; k < n; k++) {
				seed = seed * 1103515245UL + 12345UL;
				buf[k] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
			}
			r = addrs_len(buf, n, &g);
			assert_true(r >= -1);
		}
	}
}

/* test_header_flow - what sendmail -t does: walk the fields, take the
 * recipients of To, Cc and Bcc, note where Bcc is to be cut out */
static void test_header_flow(void **state)
{
	static const char msg[] =
	    "From: me@here\r\n"
	    "To: a@b,\r\n \"Doe, John\" <j@d>\r\n"
	    "Bcc:\r\n"
	    "cc: undisclosed-recipients:;\r\n"
	    "BCC: hidden@x (secret)\r\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "To: not@header\r\n";
	size_t len = mailhdr_end(msg, sizeof(msg) - 1), pos = 0, bcc = 0;
	char *hdr = exact(msg, len);
	struct mailhdr_field f;
	struct got g;
	char scratch[256];
	int r, n = 0;

	(void)state;
	memset(&g, 0, sizeof(g));
	while ((r = mailhdr_next(hdr, len, &pos, &f)) == 1) {
		if (!mailhdr_is(&f, "to") && !mailhdr_is(&f, "cc") &&
		    !mailhdr_is(&f, "bcc"))
			continue;
		if (mailhdr_is(&f, "bcc"))
			bcc += f.len;
		r = mailhdr_addresses(f.value, f.valuelen, scratch,
		    sizeof(scratch), collect, &g);
		assert_true(r >= 0);
		n += r;
	}
	assert_int_equal(r, 0);
	assert_int_equal(pos, len - 2);
	assert_int_equal(n, 3);
	assert_string_equal(g.buf, "a@b|j@d|hidden@x");
	assert_int_equal(bcc, strlen("Bcc:\r\n") + strlen("BCC: hidden@x (secret)\r\n"));
	free(hdr);
}

/* ---------------------------------------------------------------- date, id */

static void date_in(const char *tz, long long t, const char *want)
{
	char buf[MAILHDR_DATE_LEN];

	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
	assert_ptr_equal(mailhdr_date(t, buf, sizeof(buf)), buf);
	if (strcmp(buf, want) != 0)
		fail_msg("TZ=%s %lld: '%s', want '%s'", tz ? tz : "", t, buf, want);
}

static void test_date(void **state)
{
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	char small[12];

	(void)state;
	date_in("UTC0", 1795600800LL, "Wed, 25 Nov 2026 10:00:00 +0000");
	date_in("UTC0", 0, "Thu, 1 Jan 1970 00:00:00 +0000");
	date_in("UTC0", 920367873LL, "Tue, 2 Mar 1999 09:44:33 +0000");
	date_in("IST-5:30", 1783207800LL, "Sun, 5 Jul 2026 05:00:00 +0530");
	date_in("XYZ+3", 1783207800LL, "Sat, 4 Jul 2026 20:30:00 -0300");
	date_in("EST5EDT,M3.2.0,M11.1.0", 1783207800LL,
	    "Sat, 4 Jul 2026 19:30:00 -0400");
	date_in("EST5EDT,M3.2.0,M11.1.0", 1795600800LL,
	    "Wed, 25 Nov 2026 05:00:00 -0500");
	date_in("NST3:30NDT,M3.2.0,M11.1.0", 1783207800LL,
	    "Sat, 4 Jul 2026 21:00:00 -0230");
	date_in("ABC-14", 1795600800LL, "Thu, 26 Nov 2026 00:00:00 +1400");
	date_in("UTC0", 1000000000000000000LL, "");	/* beyond year 9999 */
	assert_string_equal(mailhdr_date(0, small, sizeof(small)), "Thu, 1 Jan ");
	assert_ptr_equal(mailhdr_date(0, small, 0), small);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static void test_message_id(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(mailhdr_message_id("1abcDE-000001-XY", "mx.example.net",
	    buf, sizeof(buf)), "<1abcDE-000001-XY@mx.example.net>");
	assert_string_equal(mailhdr_message_id("id", NULL, buf, sizeof(buf)),
	    "<id@localhost>");
	assert_string_equal(mailhdr_message_id("id", "", buf, sizeof(buf)),
	    "<id@localhost>");
	assert_string_equal(mailhdr_message_id("id", "[192.0.2.1]", buf,
	    sizeof(buf)), "<id@[192.0.2.1]>");
	assert_non_null(mailhdr_message_id("id", "h", buf, 7));
	assert_null(mailhdr_message_id("id", "h", buf, 6));
	assert_null(mailhdr_message_id("id", "h", buf, 0));
	assert_null(mailhdr_message_id("", "h", buf, sizeof(buf)));
	assert_null(mailhdr_message_id(NULL, "h", buf, sizeof(buf)));
	assert_null(mailhdr_message_id("a b", "h", buf, sizeof(buf)));
	assert_null(mailhdr_message_id("a>b", "h", buf, sizeof(buf)));
	assert_null(mailhdr_message_id("a@b", "h", buf, sizeof(buf)));
	assert_null(mailhdr_message_id("id", "h\r\nBcc: x@y", buf, sizeof(buf)));
	assert_null(mailhdr_message_id("id", "h\xc3\xa4", buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_end_prefixes),
		cmocka_unit_test(test_end_cap),
		cmocka_unit_test(test_next_crlf_folded),
		cmocka_unit_test(test_next_lf_and_eof),
		cmocka_unit_test(test_next_names),
		cmocka_unit_test(test_next_malformed),
		cmocka_unit_test(test_next_body_start),
		cmocka_unit_test(test_next_long),
		cmocka_unit_test(test_is),
		cmocka_unit_test(test_addr_basic),
		cmocka_unit_test(test_addr_comments),
		cmocka_unit_test(test_addr_quoted),
		cmocka_unit_test(test_addr_groups),
		cmocka_unit_test(test_addr_obsolete),
		cmocka_unit_test(test_addr_folding),
		cmocka_unit_test(test_addr_bare_and_empty),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_addr_scratch),
		cmocka_unit_test(test_addr_hostile),
		cmocka_unit_test(test_header_flow),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_message_id),
	};

	return cmocka_run_group_tests_name("mailhdr", tests, NULL, NULL);
}
