/*
 * test_bounce.c - delivery status notifications: each report is parsed
 * back with simple checks (every line ends in CRLF and is at most 998
 * octets, the boundary opens three parts and closes once, the RFC 3464
 * section 2 fields are there), headers-only against RET=FULL, the body
 * cap, header injection through every input field, long diagnostics and
 * addresses, several recipients, delay warnings and success reports,
 * defaults for bad values, a boundary that the original already holds,
 * 8-bit content, the loop-free rule of bounce_recipients_for and NOTIFY.
 * When /usr/bin/python3 is there, its email parser reads reports too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/bounce.h"
#include "core/mailhdr.h"
#include "core/spool_env.h"

#define T0 1764064800LL

static const char orig_hdrs[] =
    "Received: from client.example ([192.0.2.7])\r\n"
    "\tby router.example.net with esmtp id 0abcde-000001-0001\r\n"
    "From: Alice <alice@example.net>\r\n"
    "To: bob@example.org, carol@example.org\r\n"
    "Subject: hello\r\n"
    "Message-ID: <orig.1@client.example>\r\n"
    "\r\n";
static const char orig_body[] = "Hi Bob,\r\n\r\nthe body line.\r\n";

static struct bounce_rcpt rcpt_bob = {
	"bob@example.org", "rfc822;bob+2Bx@example.org", "5.1.1", "failed",
	"dns; mx.example.org", "smtp; 550 5.1.1 <bob@example.org>: user unknown",
	T0 + 60
};

static void sample(struct bounce_msg *b, struct bounce_rcpt *r, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->reporting_mta = "router.example.net";
	b->id = "0abcde-000001-0001";
	b->arrival = T0;
	b->envid = "env+2Bid";
	b->orig_sender = "alice@example.net";
	b->rcpt = r;
	b->n_rcpt = n;
	b->orig_headers = orig_hdrs;
	b->orig_headers_len = sizeof(orig_hdrs) - 1;
	b->orig_body = orig_body;
	b->orig_body_len = sizeof(orig_body) - 1;
	b->now = T0 + 120;
	b->boundary_seed = b->id;
}

/* a report cut into what the checks need */
struct rep {
	char *p;
	size_t len;
	size_t hdr_len;		/* header section, with its empty line */
	char boundary[128];
	int delims, closes;
	const char *part[3];	/* part i: its header fields and content */
	size_t part_len[3];
	const char *content[3];	/* after the part's empty line */
	size_t content_len[3];
};

/* check_lines - CRLF everywhere, no bare CR or LF, no NUL, <= 998 */
static void check_lines(const char *p, size_t len)
{
	size_t i, col = 0;

	assert_true(len >= 2);
	assert_memory_equal(p + len - 2, "\r\n", 2);
	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			fail_msg("NUL at %zu", i);
		if (p[i] == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n')
				fail_msg("bare CR at %zu", i);
			if (col > BOUNCE_LINE_MAX)
				fail_msg("line of %zu octets before %zu", col, i);
			col = 0;
			i++;
			continue;
		}
		if (p[i] == '\n')
			fail_msg("bare LF at %zu", i);
		col++;
	}
}

/* field - the unfolded value of the first field name in a header block
 * (stops at its empty line) into out; 1 when found */
static int field(const char *blk, size_t len, const char *name, char *out,
    size_t outlen)
{
	struct mailhdr_field f;
	size_t pos = 0, i, k = 0;
	int r;

	while ((r = mailhdr_next(blk, len, &pos, &f)) == 1) {
		if (!mailhdr_is(&f, name))
			continue;
		for (i = 0; i < f.valuelen && k + 1 < outlen; i++) {
			if (f.value[i] == '\r' || f.value[i] == '\n')
				continue;	/* unfold */
			out[k++] = f.value[i];
		}
		out[k] = '\0';
		/* drop the space after the colon */
		if (out[0] == ' ')
			memmove(out, out + 1, k);
		return 1;
	}
	assert_int_not_equal(r, -1);
	return 0;
}

static void parse_report(struct rep *r, char *p, size_t len)
{
	char ct[1024], *q, *e;
	size_t i, n;
	int part = -1;

	memset(r, 0, sizeof(*r));
	r->p = p;
	r->len = len;
	assert_non_null(p);
	assert_int_equal(strlen(p), len);	/* NUL-terminated, no NUL */
	check_lines(p, len);
	q = strstr(p, "\r\n\r\n");
	assert_non_null(q);
	r->hdr_len = (size_t)(q - p) + 4;
	assert_true(field(p, r->hdr_len, "Content-Type", ct, sizeof(ct)));
	assert_non_null(strstr(ct, "multipart/report"));
	assert_non_null(strstr(ct, "report-type=delivery-status"));
	q = strstr(ct, "boundary=\"");
	assert_non_null(q);
	q += 10;
	e = strchr(q, '"');
	assert_non_null(e);
	n = (size_t)(e - q);
	assert_true(n >= 1 && n <= 70);
	memcpy(r->boundary, q, n);
	r->boundary[n] = '\0';

	/* walk the body's lines */
	n = strlen(r->boundary);
	for (i = r->hdr_len; i < len;) {
		const char *line = p + i, *nl = strstr(line, "\r\n");
		size_t ll = (size_t)(nl - line);

		if (ll >= 2 + n && line[0] == '-' && line[1] == '-' &&
		    memcmp(line + 2, r->boundary, n) == 0) {
			if (part >= 0 && part < 3)	/* ends before CRLF-- */
				r->part_len[part] = (size_t)(line - 2 -
				    r->part[part]);
			if (ll == 2 + n) {
				r->delims++;
				part++;
				if (part < 3)
					r->part[part] = nl + 2;
			} else if (ll == 4 + n && line[2 + n] == '-' &&
			    line[3 + n] == '-') {
				r->closes++;
				part = 99;
			} else {
				fail_msg("line starts with the boundary: %.*s",
				    (int)ll, line);
			}
		}
		i += ll + 2;
	}
	assert_int_equal(r->delims, 3);
	assert_int_equal(r->closes, 1);
	for (i = 0; i < 3; i++) {
		q = strstr(r->part[i], "\r\n\r\n");
		assert_non_null(q);
		assert_true(q < r->part[i] + r->part_len[i] + 2);
		r->content[i] = q + 4;
		r->content_len[i] = r->part_len[i] - (size_t)(q + 4 -
		    r->part[i]);
	}
}

static int part_has(const struct rep *r, int i, const char *s)
{
	size_t n = strlen(s), k;

	for (k = 0; k + n <= r->part_len[i]; k++)
		if (memcmp(r->part[i] + k, s, n) == 0)
			return 1;
	return 0;
}

/* text_has - part i holds s, reading its line ends and the white space
 * around them as one space (the text part is wrapped) */
static int text_has(const struct rep *r, int i, const char *s)
{
	char *t = malloc(r->part_len[i] + 1);
	size_t k, n = 0;
	int found;

	assert_non_null(t);
	for (k = 0; k < r->part_len[i]; k++) {
		char c = r->part[i][k];

		if (c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && t[n - 1] == ' ')
			continue;
		t[n++] = c;
	}
	t[n] = '\0';
	found = strstr(t, s) != NULL;
	free(t);
	return found;
}

/* field_any - field() in any block of a delivery-status part */
static int field_any(const char *blk, size_t len, const char *name,
    char *out, size_t outlen)
{
	const char *end = blk + len, *s = blk;

	while (s < end) {
		const char *e = strstr(s, "\r\n\r\n");

		if (!e || e > end)
			e = end;
		if (field(s, (size_t)(e - s) + (e < end ? 2 : 0), name, out,
		    outlen))
			return 1;
		s = e + 4;
	}
	return 0;
}

/* has_line - some line of p (from off) is exactly s */
static int has_line(const char *p, const char *s)
{
	size_t n = strlen(s);
	const char *q = p;

	while ((q = strstr(q, s)) != NULL) {
		if ((q == p || q[-1] == '\n') && q[n] == '\r')
			return 1;
		q++;
	}
	return 0;
}

/* starts_line - some line of p starts with s */
static int starts_line(const char *p, const char *s)
{
	const char *q = p;

	while ((q = strstr(q, s)) != NULL) {
		if (q == p || q[-1] == '\n')
			return 1;
		q++;
	}
	return 0;
}

static char *build(const struct bounce_msg *b, struct rep *r)
{
	size_t len = 0;
	char *p = bounce_build(b, &len);

	parse_report(r, p, len);
	return p;
}

static void test_failure_headers_only(void **state)
{
	struct bounce_msg b;
	struct bounce_rcpt rc = rcpt_bob;
	struct rep r;
	char v[1024], *p;

	(void)state;
	sample(&b, &rc, 1);
	p = build(&b, &r);
	/* the header section */
	assert_true(field(p, r.hdr_len, "From", v, sizeof(v)));
	assert_string_equal(v, "Mail Delivery System <MAILER-DAEMON@router.example.net>");
	assert_true(field(p, r.hdr_len, "To", v, sizeof(v)));
	assert_string_equal(v, "<alice@example.net>");
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Mail delivery failed: returning message to sender");
	assert_true(field(p, r.hdr_len, "Date", v, sizeof(v)));
	assert_true(field(p, r.hdr_len, "Message-ID", v, sizeof(v)));
	assert_true(v[0] == '<' && strstr(v, "0abcde-000001-0001-bounce-") == v + 1);
	assert_non_null(strstr(v, "@router.example.net>"));
	assert_true(field(p, r.hdr_len, "References", v, sizeof(v)));
	assert_string_equal(v, "<orig.1@client.example>");
	assert_true(field(p, r.hdr_len, "Auto-Submitted", v, sizeof(v)));
	assert_string_equal(v, "auto-replied");
	assert_true(field(p, r.hdr_len, "X-Failed-Recipients", v, sizeof(v)));
	assert_string_equal(v, "bob@example.org");
	assert_true(field(p, r.hdr_len, "MIME-Version", v, sizeof(v)));
	assert_string_equal(v, "1.0");
	assert_false(field(p, r.hdr_len, "Content-Transfer-Encoding", v, sizeof(v)));
	assert_false(field(p, r.hdr_len, BOUNCE_NOTICE_FIELD, v, sizeof(v)));

	/* part 1: for people */
	assert_true(field(r.part[0], r.part_len[0], "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=us-ascii");
	assert_true(part_has(&r, 0, "\r\n  bob@example.org\r\n"));
	assert_true(part_has(&r, 0, "    host mx.example.org: 550 5.1.1 <bob@example.org>: user unknown\r\n"));
	assert_true(text_has(&r, 0, "permanent error"));

	/* part 2: RFC 3464 section 2, per message and per recipient */
	assert_true(field(r.part[1], r.part_len[1], "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "message/delivery-status");
	assert_true(has_line(r.content[1], "Reporting-MTA: dns; router.example.net"));
	assert_true(has_line(r.content[1], "Original-Envelope-Id: env+id"));
	assert_true(starts_line(r.content[1], "Arrival-Date: "));
	assert_true(part_has(&r, 1, "\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\n"));
	assert_true(has_line(r.content[1], "Original-Recipient: rfc822; bob+x@example.org"));
	assert_true(has_line(r.content[1], "Action: failed"));
	assert_true(has_line(r.content[1], "Status: 5.1.1"));
	assert_true(has_line(r.content[1], "Remote-MTA: dns; mx.example.org"));
	assert_true(has_line(r.content[1], "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: user unknown"));
	assert_true(starts_line(r.content[1], "Last-Attempt-Date: "));
	assert_false(starts_line(r.content[1], "Will-Retry-Until: "));

	/* part 3: the header section only */
	assert_true(field(r.part[2], r.part_len[2], "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/rfc822-headers");
	assert_int_equal(r.content_len[2], sizeof(orig_hdrs) - 3);
	assert_memory_equal(r.content[2], orig_hdrs, sizeof(orig_hdrs) - 3);
	assert_null(strstr(p, "the body line"));
	assert_true(text_has(&r, 0, "The header section of the original message is attached."));
	free(p);
}

static void test_failure_full(void **state)
{
	struct bounce_msg b;
	struct bounce_rcpt rc = rcpt_bob;
	struct rep r;
	char v[256], *p;

	(void)state;
	sample(&b, &rc, 1);
	b.ret_full = 1;
	p = build(&b, &r);
	assert_true(field(r.part[2], r.part_len[2], "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "message/rfc822");
	assert_true(field(r.part[2], r.part_len[2], "Content-Description", v, sizeof(v)));
	assert_string_equal(v, "Undelivered Message");
	/* the whole original, as it was (it already had CRLF lines) */
	assert_int_equal(r.content_len[2], sizeof(orig_hdrs) - 1 + sizeof(orig_body) - 1);
	assert_memory_equal(r.content[2], orig_hdrs, sizeof(orig_hdrs) - 1);
	assert_memory_equal(r.content[2] + sizeof(orig_hdrs) - 1, orig_body,
	    sizeof(orig_body) - 1);
	assert_true(text_has(&r, 0, "A copy of the original message is attached."));
	assert_false(text_has(&r, 0, "cut to"));
	free(p);

	/* LF line ends, a bare CR, NUL, no empty line after the headers and
	 * no final line end: all made CRLF */
	b.orig_headers = "Subject: lf\nX-A: 1\rx\n";
	b.orig_headers_len = strlen(b.orig_headers);
	b.orig_body = "one\ntwo\0three\nlast";
	b.orig_body_len = 18;
	p = build(&b, &r);
	assert_int_equal(r.content_len[2], strlen("Subject: lf\r\nX-A: 1 x\r\n\r\none\r\ntwothree\r\nlast\r\n"));
	assert_memory_equal(r.content[2], "Subject: lf\r\nX-A: 1 x\r\n\r\none\r\ntwothree\r\nlast\r\n",
	    r.content_len[2]);
	free(p);

	/* headers with the body after them: the copy stops at the empty line */
	b.ret_full = 0;
	b.orig_headers = "Subject: x\r\n\r\nbody: not a header\r\n";
	b.orig_headers_len = strlen(b.orig_headers);
	p = build(&b, &r);
	assert_int_equal(r.content_len[2], 12);
	assert_null(strstr(p, "not a header"));
	free(p);

	/* no headers at all */
	b.orig_headers = NULL;
	b.orig_headers_len = 0;
	p = build(&b, &r);
	assert_int_equal(r.content_len[2], 0);
	assert_null(field(p, r.hdr_len, "References", v, sizeof(v)) ? "x" : NULL);
	free(p);
}

static void test_body_cap(void **state)
{
	struct bounce_msg b;
	struct bounce_rcpt rc = rcpt_bob;
	struct rep r;
	size_t n = 200 * 1024, i;
	char *body = malloc(n), *p, *hdrs;

	(void)state;
	assert_non_null(body);
	for (i = 0; i < n; i++)
		body[i] = (i % 100 == 99) ? '\n' : (char)('a' + i % 26);
	sample(&b, &rc, 1);
	b.ret_full = 1;
	b.orig_body = body;
	b.orig_body_len = n;
	p = build(&b, &r);
	/* cut at a line end, within the cap, and said so */
	assert_true(r.content_len[2] <= sizeof(orig_hdrs) - 1 +
	    BOUNCE_BODY_MAX + BOUNCE_BODY_MAX / 100 + 2);
	assert_true(r.content_len[2] > BOUNCE_BODY_MAX - 200);
	assert_true(text_has(&r, 0, "Its body was cut to the first 64 KiB."));
	assert_false(text_has(&r, 0, "header section was cut"));
	/* the last line is whole: 99 letters */
	{
		const char *end = r.content[2] + r.content_len[2] - 2, *s = end;

		while (s[-1] != '\n')
			s--;
		assert_int_equal(end - s, 99);
	}
	free(p);

	/* exactly at the cap: not cut */
	b.orig_body_len = BOUNCE_BODY_MAX;
	for (i = 0; i < BOUNCE_BODY_MAX; i++)
		body[i] = (i % 64 == 63) ? '\n' : 'x';
	p = build(&b, &r);
	assert_false(text_has(&r, 0, "cut to"));
	free(p);

	/* one line of 100 KiB: broken into 998-octet lines and cut */
	memset(body, 'y', n);
	b.orig_body_len = 100 * 1024;
	p = build(&b, &r);
	assert_true(text_has(&r, 0, "Its body was cut"));
	assert_true(r.content_len[2] < sizeof(orig_hdrs) + BOUNCE_BODY_MAX +
	    2 * (BOUNCE_BODY_MAX / 998 + 1) + 2);
	{
		char line[BOUNCE_LINE_MAX + 1];

		memset(line, 'y', BOUNCE_LINE_MAX);
		line[BOUNCE_LINE_MAX] = '\0';
		assert_true(has_line(r.content[2], line));
	}
	free(p);

	/* a header section over its cap: cut at a field, said so */
	hdrs = malloc(100 * 1024);
	assert_non_null(hdrs);
	for (i = 0; i + 20 <= 100 * 1024; i += 20)
		memcpy(hdrs + i, "X-Filler: 123456789\n", 20);
	b.orig_headers = hdrs;
	b.orig_headers_len = 100 * 1024;
	b.ret_full = 0;
	p = build(&b, &r);
	assert_true(text_has(&r, 0, "Its header section was cut to the first 64 KiB."));
	assert_int_equal(r.content_len[2] % 21, 0);
	assert_true(r.content_len[2] / 21 == BOUNCE_HDRS_MAX / 20);
	free(p);
	free(hdrs);
	free(body);
}

/* no_injection - nothing but our fields at the top, and no line of the
 * report starts with a field name that only the input holds */
static void no_injection(const struct rep *r)
{
	static const char *const ours[] = {
		"From", "To", "Subject", "Date", "Message-ID", "References",
		"Auto-Submitted", "X-Failed-Recipients", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding", BOUNCE_NOTICE_FIELD,
	};
	struct mailhdr_field f;
	size_t pos = 0, i;
	int rc;

	while ((rc = mailhdr_next(r->p, r->hdr_len, &pos, &f)) == 1) {
		for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
			if (mailhdr_is(&f, ours[i]))
				break;
		if (i == sizeof(ours) / sizeof(ours[0]))
			fail_msg("unexpected field %.*s", (int)f.namelen, f.name);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(pos, r->hdr_len - 2);
	assert_false(starts_line(r->p, "Bcc:"));
	assert_false(starts_line(r->p, "X-Injected:"));
	assert_false(starts_line(r->p, "Action: delivered"));
	assert_false(starts_line(r->p, "--evil"));
}

static void test_injection(void **state)
{
	struct bounce_msg b;
	struct bounce_rcpt rc[2] = { rcpt_bob, rcpt_bob };
	struct rep r;
	char v[2048], *p;

	(void)state;
	sample(&b, rc, 2);
	b.orig_sender = "alice@example.net>\r\nBcc: victim@example.com\r\nX-Injected: <x";
	b.reporting_mta = "router.example.net\r\nBcc: victim@example.com";
	b.id = "id\r\nX-Injected: 1";
	b.envid = "e+0D+0ABcc:+20victim@example.com";	/* xtext CRLF */
	b.boundary_seed = "\r\n--evil";
	rc[0].addr = "bob@example.org\r\nBcc: victim@example.com";
	rc[0].orcpt = "rfc822;x+0D+0AX-Injected:+20yes";
	rc[0].status = "5.1.1\r\nX-Injected: 1";
	rc[0].action = "failed\r\nAction: delivered";
	rc[0].remote_mta = "dns; mx\r\nX-Injected: 1";
	rc[0].diagnostic = "smtp; 550 no\r\n\r\n--evil\r\nX-Injected: 1\n\r\tBcc: y\r\n.\r\n";
	rc[1].addr = "carol@example.org\nX-Injected: lf";
	rc[1].diagnostic = "\r\n";	/* nothing but line ends */
	p = build(&b, &r);
	no_injection(&r);
	/* the values survive as text on their own lines */
	assert_true(field(p, r.hdr_len, "To", v, sizeof(v)));
	assert_string_equal(v, "<alice@example.net> Bcc: victim@example.com X-Injected: <x>");
	assert_true(field(r.content[1], r.content_len[1], "Reporting-MTA", v, sizeof(v)));
	assert_string_equal(v, "dns; router.example.netBcc:victimexample.com");
	assert_true(part_has(&r, 1, "Original-Envelope-Id: e Bcc: victim@example.com\r\n"));
	assert_true(part_has(&r, 1, "Original-Recipient: rfc822; x X-Injected: yes\r\n"));
	assert_true(part_has(&r, 1, "Status: 5.0.0\r\n"));
	assert_true(part_has(&r, 1, "Action: failed\r\n"));
	assert_true(part_has(&r, 1, "Diagnostic-Code: smtp; 550 no --evil X-Injected: 1 Bcc: y .\r\n"));
	assert_true(part_has(&r, 1, "Final-Recipient: rfc822; carol@example.org X-Injected: lf\r\n"));
	assert_true(field(p, r.hdr_len, "Message-ID", v, sizeof(v)));
	assert_true(strncmp(v, "<idX-Injected1-bounce-", 22) == 0);
	free(p);

	/* a dot line, as it would be for SMTP, is left to the dot-stuffer;
	 * and a body that holds the boundary we would pick gets another */
	rc[0] = rcpt_bob;
	sample(&b, rc, 1);
	b.ret_full = 1;
	p = build(&b, &r);
	{
		char body[512], first[128];
		char *p2;
		struct rep r2;

		snprintf(first, sizeof(first), "%s", r.boundary);
		snprintf(body, sizeof(body), ".\r\n--%s\r\n--%s--\r\nend\r\n",
		    first, first);
		b.orig_body = body;
		b.orig_body_len = strlen(body);
		p2 = build(&b, &r2);
		assert_string_not_equal(r2.boundary, first);
		assert_non_null(strstr(r2.content[2], body));
		free(p2);
		/* ... and in a header line of the original too */
		snprintf(body, sizeof(body), "Subject: x\r\n--%s\r\n", first);
		b.orig_headers = body;
		b.orig_headers_len = strlen(body);
		b.ret_full = 0;
		p2 = build(&b, &r2);
		assert_string_not_equal(r2.boundary, first);
		free(p2);
	}
	free(p);
}

static void test_long_values(void **state)
{
	struct bounce_msg b;
	struct bounce_rcpt rc = rcpt_bob;
	struct rep r;
	size_t i, k, n = 0;
	char *diag = malloc(9000), *addr = malloc(2100), *hdr = malloc(3100);
	char *p, *v = malloc(20000);

	(void)state;
	assert_non_null(diag);
	assert_non_null(addr);
	assert_non_null(hdr);
	assert_non_null(v);
	/* words, then one word of 3000 octets */
	n = (size_t)snprintf(diag, 9000, "smtp; 550-5.7.1");
	for (i = 0; i < 400; i++)
		n += (size_t)snprintf(diag + n, 9000 - n, " word%zu", i);
	diag[n++] = ' ';
	for (i = 0; i < 3000; i++)
		diag[n++] = 'W';
	diag[n] = '\0';
	memset(addr, 'l', 2000);
	memcpy(addr + 2000, "@example.org", 13);
	memcpy(hdr, "X-Long: ", 8);
	memset(hdr + 8, 'h', 3000);
	memcpy(hdr + 3008, "\r\n", 3);
	rc.diagnostic = diag;
	rc.addr = addr;
	sample(&b, &rc, 1);
	b.orig_headers = hdr;
	b.orig_headers_len = strlen(hdr);
	p = build(&b, &r);	/* checks every line */
	/* folded: continuation lines, and the words all come back */
	assert_true(field_any(r.content[1], r.content_len[1], "Diagnostic-Code", v, 20000));
	assert_true(strncmp(v, "smtp; 550-5.7.1 word0 word1 ", 28) == 0);
	assert_non_null(strstr(v, " word399 WWWW"));
	for (i = 0, k = 0; v[i]; i++)
		k += v[i] == 'W';
	assert_int_equal(k, 3000 + 0);
	assert_true(part_has(&r, 1, "\r\n word"));
	/* the folded lines are short where they can be */
	{
		const char *s = strstr(r.content[1], "Diagnostic-Code:");
		const char *nl = strstr(s, "\r\n");

		assert_true(nl - s <= 78);
	}
	/* the long address: in X-Failed-Recipients, Final-Recipient, text */
	assert_true(field(p, r.hdr_len, "X-Failed-Recipients", v, 20000));
	assert_int_equal(strlen(v), 2000 + 12 + 2);	/* 2 inserted spaces */
	assert_true(field_any(r.content[1], r.content_len[1], "Final-Recipient", v, 20000));
	assert_non_null(strstr(v, "@example.org"));
	/* the original's long header line: broken, as folding */
	assert_true(field(r.content[2], r.content_len[2], "X-Long", v, 20000));
	for (i = 0, k = 0; v[i]; i++)
		k += v[i] == 'h';
	assert_int_equal(k, 3000);
	free(p);
	free(diag);
	free(addr);
	free(hdr);
	free(v);
}

static void test_several_recipients(void **state)
{
	struct bounce_rcpt rc[3] = { rcpt_bob, rcpt_bob, rcpt_bob };
	struct bounce_msg b;
	struct rep r;
	char v[1024], *p;
	const char *s;
	int n;

	(void)state;
	rc[1].addr = "carol@example.org";
	rc[1].orcpt = NULL;
	rc[1].status = "5.2.2";
	rc[1].diagnostic = "smtp; 552 5.2.2 mailbox full";
	rc[2].addr = "dave@example.com";
	rc[2].orcpt = NULL;
	rc[2].action = "delayed";
	rc[2].status = "4.4.1";
	rc[2].remote_mta = NULL;
	rc[2].diagnostic = "connection refused";
	sample(&b, rc, 3);
	b.retry_until = T0 + 5 * 86400;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "X-Failed-Recipients", v, sizeof(v)));
	assert_string_equal(v, "bob@example.org, carol@example.org");
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Mail delivery failed: returning message to sender");
	for (n = 0, s = r.content[1]; (s = strstr(s, "\r\n\r\nFinal-Recipient: ")) &&
	    s < r.content[1] + r.content_len[1]; s++)
		n++;
	assert_int_equal(n, 3);
	assert_true(part_has(&r, 1, "Final-Recipient: rfc822; dave@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\nDiagnostic-Code: X-Tern; connection refused\r\n"));
	assert_true(part_has(&r, 1, "Will-Retry-Until: "));
	assert_true(part_has(&r, 0, "  carol@example.org\r\n    host mx.example.org: 552 5.2.2 mailbox full\r\n"));
	assert_true(text_has(&r, 0, "attempts continue: dave@example.com connection refused "));
	/* blocks end with CRLF and are apart by one empty line */
	assert_false(part_has(&r, 1, "\r\n\r\n\r\n"));
	free(p);
}

static void test_delayed(void **state)
{
	struct bounce_rcpt rc = rcpt_bob;
	struct bounce_msg b;
	struct rep r;
	char v[1024], fail_id[256], *p;

	(void)state;
	sample(&b, &rc, 1);
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Message-ID", fail_id, sizeof(fail_id)));
	free(p);

	rc.action = "delayed";
	rc.status = "4.4.7";
	rc.diagnostic = "smtp; 451 4.4.7 try later";
	b.now = T0 + 2 * 86400 + 5;
	b.retry_until = T0 + 5 * 86400;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Warning: message 0abcde-000001-0001 delayed 2 days");
	assert_false(field(p, r.hdr_len, "X-Failed-Recipients", v, sizeof(v)));
	assert_true(field(p, r.hdr_len, "Message-ID", v, sizeof(v)));
	assert_string_not_equal(v, fail_id);
	assert_non_null(strstr(v, "-delay-"));
	assert_true(has_line(r.content[1], "Action: delayed"));
	assert_true(has_line(r.content[1], "Status: 4.4.7"));
	assert_true(starts_line(r.content[1], "Will-Retry-Until: "));
	assert_true(text_has(&r, 0, "after more than 2 days on the queue on"));
	assert_true(text_has(&r, 0, "No action is required on your part."));
	assert_true(text_has(&r, 0, "Delivery attempts will continue until"));
	assert_true(field(r.part[2], r.part_len[2], "Content-Description", v, sizeof(v)));
	assert_string_equal(v, "Original Message Headers");
	free(p);

	/* hours, minutes; no retry_until: the general sentence */
	b.now = T0 + 5 * 3600;
	b.retry_until = 0;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Warning: message 0abcde-000001-0001 delayed 5 hours");
	assert_false(starts_line(r.content[1], "Will-Retry-Until: "));
	assert_true(text_has(&r, 0, "Eventually the mail delivery software will give up"));
	free(p);
	b.now = T0 + 60;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Warning: message 0abcde-000001-0001 delayed 1 minute");
	free(p);
	/* no arrival time: no duration */
	b.arrival = 0;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Warning: message 0abcde-000001-0001 delayed");
	assert_false(starts_line(r.content[1], "Arrival-Date:"));
	free(p);

	/* success (NOTIFY=SUCCESS) */
	rc.action = "relayed";
	rc.status = "2.0.0";
	rc.diagnostic = "smtp; 250 2.0.0 ok";
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Successful mail delivery report");
	assert_true(has_line(r.content[1], "Action: relayed"));
	assert_true(text_has(&r, 0, "successfully delivered"));
	free(p);
}

static void test_defaults(void **state)
{
	struct bounce_rcpt rc = { "root", NULL, "5.1", "bogus", "mx.example.org",
		"mailbox is over quota; try later", 0 };
	struct bounce_msg b;
	struct rep r;
	char v[1024], id1[256], *p;
	size_t len;

	(void)state;
	sample(&b, &rc, 1);
	b.reporting_mta = NULL;
	b.id = NULL;
	b.envid = "";
	b.boundary_seed = NULL;
	b.orig_sender = "root";
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "From", v, sizeof(v)));
	assert_string_equal(v, "Mail Delivery System <MAILER-DAEMON@localhost>");
	assert_true(field(p, r.hdr_len, "To", v, sizeof(v)));
	assert_string_equal(v, "<root@localhost>");
	assert_true(has_line(r.content[1], "Action: failed"));
	assert_true(has_line(r.content[1], "Status: 5.0.0"));
	assert_true(has_line(r.content[1], "Remote-MTA: dns; mx.example.org"));
	assert_true(has_line(r.content[1], "Diagnostic-Code: X-Tern; mailbox is over quota; try later"));
	assert_true(has_line(r.content[1], "X-Tern-Queue-ID: unknown"));
	assert_false(starts_line(r.content[1], "Original-Envelope-Id:"));
	assert_false(starts_line(r.content[1], "Last-Attempt-Date:"));
	assert_true(field(p, r.hdr_len, "Message-ID", id1, sizeof(id1)));
	free(p);
	/* another second, another Message-ID */
	b.now++;
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Message-ID", v, sizeof(v)));
	assert_string_not_equal(v, id1);
	free(p);
	/* another recipient, same second: another Message-ID */
	b.now--;
	rc.addr = "toor";
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Message-ID", v, sizeof(v)));
	assert_string_not_equal(v, id1);
	free(p);

	/* no report without someone to send it to, or without recipients */
	b.orig_sender = "";
	errno = 0;
	assert_null(bounce_build(&b, &len));
	assert_int_equal(errno, EINVAL);
	b.orig_sender = NULL;
	assert_null(bounce_build(&b, &len));
	b.orig_sender = "a@b";
	b.n_rcpt = 0;
	errno = 0;
	assert_null(bounce_build(&b, &len));
	assert_int_equal(errno, EINVAL);
	b.n_rcpt = 1;
	rc.addr = NULL;
	assert_null(bounce_build(&b, &len));
	assert_null(bounce_build(NULL, &len));
}

static void test_8bit(void **state)
{
	struct bounce_rcpt rc = rcpt_bob;
	struct bounce_msg b;
	struct rep r;
	char v[256], *p;

	(void)state;
	rc.addr = "j\xc3\xb6rg@example.org";
	sample(&b, &rc, 1);
	p = build(&b, &r);
	assert_true(field(p, r.hdr_len, "Content-Transfer-Encoding", v, sizeof(v)));
	assert_string_equal(v, "8bit");
	assert_true(field(r.part[0], r.part_len[0], "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=utf-8");
	/* the attached headers are ASCII: their part stays 7bit */
	assert_false(field(r.part[2], r.part_len[2], "Content-Transfer-Encoding", v, sizeof(v)));
	free(p);
	rc.addr = "bob@example.org";
	b.ret_full = 1;
	b.orig_body = "gr\xc3\xbc\xc3\x9f\r\n";
	b.orig_body_len = strlen(b.orig_body);
	p = build(&b, &r);
	assert_true(field(r.part[2], r.part_len[2], "Content-Transfer-Encoding", v, sizeof(v)));
	assert_true(field(p, r.hdr_len, "Content-Transfer-Encoding", v, sizeof(v)));
	free(p);
}

static void test_recipients_for(void **state)
{
	struct bounce_rcpt bob = rcpt_bob, pm[2] = { rcpt_bob, rcpt_bob };
	struct bounce_msg b;
	struct rep r;
	const char *to = NULL;
	char *p;

	(void)state;
	/* a: a normal sender gets it */
	assert_int_equal(bounce_recipients_for("alice@example.net", orig_hdrs,
	    sizeof(orig_hdrs) - 1, &bob, 1, &to), BOUNCE_TO_SENDER);
	assert_string_equal(to, "alice@example.net");
	/* nothing failed: nothing to say */
	assert_int_equal(bounce_recipients_for("alice@example.net", NULL, 0,
	    &bob, 0, &to), BOUNCE_TO_NONE);
	/* b: a failed bounce goes to the postmaster */
	to = NULL;
	assert_int_equal(bounce_recipients_for("", orig_hdrs,
	    sizeof(orig_hdrs) - 1, &bob, 1, &to), BOUNCE_TO_POSTMASTER);
	assert_string_equal(to, "postmaster");
	assert_int_equal(bounce_recipients_for(NULL, NULL, 0, &bob, 1, &to),
	    BOUNCE_TO_POSTMASTER);
	/* c: ... unless it failed for the postmaster itself */
	pm[0].addr = "PostMaster";
	pm[1].addr = "postmaster@example.org";
	assert_int_equal(bounce_recipients_for("", NULL, 0, pm, 2, &to),
	    BOUNCE_TO_NONE);
	pm[1].addr = "postmasterx@example.org";
	assert_int_equal(bounce_recipients_for("", NULL, 0, pm, 2, &to),
	    BOUNCE_TO_POSTMASTER);

	/* the whole loop: a bounce fails, the postmaster notice is built,
	 * it fails too (even when aliased elsewhere): nobody */
	assert_int_equal(bounce_recipients_for("", orig_hdrs,
	    sizeof(orig_hdrs) - 1, &bob, 1, &to), BOUNCE_TO_POSTMASTER);
	sample(&b, &bob, 1);
	b.orig_sender = to;
	b.to_postmaster = 1;
	p = build(&b, &r);
	assert_true(text_has(&r, 0, "goes to the postmaster"));
	{
		struct bounce_rcpt admin = rcpt_bob;
		char v[128];

		assert_true(field(p, r.hdr_len, BOUNCE_NOTICE_FIELD, v, sizeof(v)));
		assert_true(field(p, r.hdr_len, "To", v, sizeof(v)));
		assert_string_equal(v, "<postmaster@router.example.net>");
		admin.addr = "admin@example.net";	/* where the alias led */
		assert_int_equal(bounce_recipients_for("", p, r.hdr_len,
		    &admin, 1, &to), BOUNCE_TO_NONE);
		/* a notice with a sender (impossible, but) still reported */
		assert_int_equal(bounce_recipients_for("x@y", p, r.hdr_len,
		    &admin, 1, &to), BOUNCE_TO_SENDER);
	}
	free(p);
}

static void test_rcpt_wanted(void **state)
{
	(void)state;
	assert_true(bounce_rcpt_wanted(0, "failed"));
	assert_true(bounce_rcpt_wanted(0, "delayed"));
	assert_false(bounce_rcpt_wanted(0, "delivered"));
	assert_false(bounce_rcpt_wanted(SPOOL_NOTIFY_NEVER, "failed"));
	assert_false(bounce_rcpt_wanted(SPOOL_NOTIFY_NEVER, "delayed"));
	assert_true(bounce_rcpt_wanted(SPOOL_NOTIFY_FAILURE, "failed"));
	assert_false(bounce_rcpt_wanted(SPOOL_NOTIFY_FAILURE, "delayed"));
	assert_true(bounce_rcpt_wanted(SPOOL_NOTIFY_DELAY, "delayed"));
	assert_false(bounce_rcpt_wanted(SPOOL_NOTIFY_DELAY, "failed"));
	assert_true(bounce_rcpt_wanted(SPOOL_NOTIFY_SUCCESS, "relayed"));
	assert_true(bounce_rcpt_wanted(SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE,
	    "Delivered"));
	assert_false(bounce_rcpt_wanted(SPOOL_NOTIFY_SUCCESS, "failed"));
	assert_true(bounce_rcpt_wanted(0, NULL));	/* unknown = failed */
}

/* ------------------------------------------------------------ python */

static const char py_check[] =
    "import email, email.policy, sys\n"
    "m = email.message_from_binary_file(open(sys.argv[1], 'rb'),"
    " policy=email.policy.compat32)\n"
    "assert m.get_content_type() == 'multipart/report', m.get_content_type()\n"
    "assert m.get_param('report-type') == 'delivery-status'\n"
    "assert not m.defects, m.defects\n"
    "p = m.get_payload()\n"
    "assert len(p) == 3, len(p)\n"
    "assert p[0].get_content_type() == 'text/plain'\n"
    "assert p[1].get_content_type() == 'message/delivery-status'\n"
    "blocks = p[1].get_payload()\n"
    "assert len(blocks) == 1 + int(sys.argv[2]), len(blocks)\n"
    "assert blocks[0]['Reporting-MTA'].startswith('dns;')\n"
    "for b in blocks[1:]:\n"
    "    assert b['Final-Recipient'].startswith('rfc822;')\n"
    "    assert b['Action'] in ('failed', 'delayed')\n"
    "    assert b['Status'][0] in '245'\n"
    "if sys.argv[3] == 'full':\n"
    "    assert p[2].get_content_type() == 'message/rfc822'\n"
    "    assert p[2].get_payload()[0]['Subject'] == 'hello'\n"
    "else:\n"
    "    assert p[2].get_content_type() == 'text/rfc822-headers'\n"
    "for k in m.keys():\n"
    "    assert k.lower() not in ('bcc', 'x-injected'), k\n";

static int py_run(const char *file, const char *nrcpt, const char *mode)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", py_check, file, nrcpt,
		    mode, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void py_file(const char *file, const char *p, size_t len)
{
	FILE *f = fopen(file, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_python_parses(void **state)
{
	struct bounce_rcpt rc[2] = { rcpt_bob, rcpt_bob };
	struct bounce_msg b;
	char file[] = "/tmp/tern-bounce-XXXXXX";
	size_t len;
	char *p;
	int fd;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);

	sample(&b, rc, 1);
	p = bounce_build(&b, &len);
	assert_non_null(p);
	py_file(file, p, len);
	assert_int_equal(py_run(file, "1", "hdrs"), 0);
	free(p);

	rc[1].addr = "carol@example.org\r\nBcc: x@y";
	rc[1].action = "delayed";
	rc[1].diagnostic = "smtp; 451 a very long reason that goes on and on and on and on and on and on and on and on and on";
	b.n_rcpt = 2;
	b.ret_full = 1;
	p = bounce_build(&b, &len);
	assert_non_null(p);
	py_file(file, p, len);
	assert_int_equal(py_run(file, "2", "full"), 0);
	free(p);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_headers_only),
		cmocka_unit_test(test_failure_full),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_several_recipients),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_8bit),
		cmocka_unit_test(test_recipients_for),
		cmocka_unit_test(test_rcpt_wanted),
		cmocka_unit_test(test_python_parses),
	};

	return cmocka_run_group_tests_name("bounce", tests, NULL, NULL);
}
