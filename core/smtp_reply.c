/*
 * smtp_reply.c - parse SMTP replies on the client side (smtp_reply.h).
 *
 * Public: smtp_reply_parse, smtp_reply_ehlo_caps.
 *
 * Pure, in the manner of OpenSMTPD's parse_smtp_response: it returns an
 * error string and never logs; no globals, no allocation; r->text borrows
 * the caller's buffer. Implements RFC 5321 4.2 (reply lines, multiline
 * replies, codes 2yz..5yz), 4.2.1 (the second digit is 0..5), 4.5.3.1.5
 * (reply line length: we accept whole replies up to SMTP_REPLY_MAX bytes),
 * RFC 3463 and RFC 2034 (enhanced status codes), and the EHLO keywords of
 * RFC 5321 4.1.1.1 with the extensions named in smtp_reply.h.
 */
#include "core/smtp_reply.h"
#include "core/ascii.h"

#include <string.h>

static const char smtp_e_code[] = "reply line without a valid code";
static const char smtp_e_sep[] = "reply code not followed by space, hyphen or end of line";
static const char smtp_e_ctl[] = "control character in reply";
static const char smtp_e_differ[] = "codes differ between lines of one reply";
static const char smtp_e_long[] = "reply too long";

static int smtp_reply_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* smtp_reply_ctl - a control character that may not appear in a line */
static int smtp_reply_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* smtp_reply_check - is line[0..n) (complete, or the start of a line when
 * partial) a valid reply line, or the start of one? NULL when it is,
 * else the error. A partial line may end with the CR of its CRLF. */
static const char *smtp_reply_check(const char *line, size_t n, int partial,
    int code)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i, m = n;

	if ((n >= 1 && (s[0] < '2' || s[0] > '5')) ||
	    (n >= 2 && (s[1] < '0' || s[1] > '5')) ||
	    (n >= 3 && !smtp_reply_digit(s[2])) || (!partial && n < 3))
		return smtp_e_code;
	if (n >= 3 && code && (s[0] - '0') * 100 + (s[1] - '0') * 10 +
	    (s[2] - '0') != code)
		return smtp_e_differ;
	if (partial && m > 0 && s[m - 1] == '\r')
		m--;
	if (m >= 4 && s[3] != ' ' && s[3] != '-')
		return smtp_e_sep;
	for (i = 3; i < m; i++)
		if (smtp_reply_ctl(s[i]))
			return smtp_e_ctl;
	return NULL;
}

/* smtp_reply_enh - an RFC 3463 code "c.sss.ddd" followed by space or the
 * end at s[0..n); returns the octets it takes (with the space), 0 if
 * there is none */
static size_t smtp_reply_enh(const char *s, size_t n, int *cl, int *sub,
    int *det)
{
	int v[3] = { 0, 0, 0 };
	size_t i = 0;
	int k;

	for (k = 0; k < 3; k++) {
		size_t nd = 0;

		if (k > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		while (i < n && smtp_reply_digit((unsigned char)s[i]) &&
		    nd < 3) {
			v[k] = v[k] * 10 + (s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || (k == 0 && nd != 1))
			return 0;
	}
	if (v[0] != 2 && v[0] != 4 && v[0] != 5)
		return 0;
	if (i < n) {
		if (s[i] != ' ')
			return 0;
		i++;
	}
	*cl = v[0];
	*sub = v[1];
	*det = v[2];
	return i;
}

long smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r,
    const char **err)
{
	size_t pos = 0, lim = len < SMTP_REPLY_MAX ? len : SMTP_REPLY_MAX;
	int first[3] = { 0, 0, 0 };

	memset(r, 0, sizeof(*r));
	*err = NULL;
	for (;;) {
		const char *line = buf + pos, *lf, *e;
		size_t n, eol, skip;
		int last;

		lf = pos < lim ? memchr(line, '\n', lim - pos) : NULL;
		if (!lf) {
			e = smtp_reply_check(line, lim - pos, 1, r->code);
			if (!e && len >= SMTP_REPLY_MAX)
				e = smtp_e_long;
			if (e) {
				*err = e;
				return -1;
			}
			memset(r, 0, sizeof(*r));
			return 0;
		}
		eol = (size_t)(lf - buf);
		n = eol - pos;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		e = smtp_reply_check(line, n, 0, r->code);
		if (e) {
			*err = e;
			return -1;
		}
		r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		r->nlines++;
		pos = eol + 1;
		last = n == 3 || line[3] == ' ';
		r->text = n > 3 ? line + 4 : line + 3;
		r->textlen = n > 3 ? n - 4 : 0;
		skip = smtp_reply_enh(r->text, r->textlen, &r->enh_class,
		    &r->enh_subject, &r->enh_detail);
		if (skip && r->enh_class != r->code / 100) {
			skip = 0;
			r->enh_class = r->enh_subject = r->enh_detail = 0;
		}
		r->text += skip;
		r->textlen -= skip;
		if (r->nlines == 1) {
			first[0] = r->enh_class;
			first[1] = r->enh_subject;
			first[2] = r->enh_detail;
		}
		if (last)
			break;
		r->enh_class = r->enh_subject = r->enh_detail = 0;
	}
	if (!r->enh_class) {
		r->enh_class = first[0];
		r->enh_subject = first[1];
		r->enh_detail = first[2];
	}
	return (long)pos;
}

/* smtp_reply_auth - AUTH mechanisms in s[0..n), space separated */
static unsigned smtp_reply_auth(const char *s, size_t n)
{
	unsigned caps = 0;
	size_t i = 0;

	while (i < n) {
		size_t w;

		while (i < n && s[i] == ' ')
			i++;
		for (w = i; w < n && s[w] != ' '; w++)
			;
		if (w - i == 5 && ascii_caseeq(s + i, "PLAIN", 5))
			caps |= SMTP_CAP_AUTH_PLAIN;
		else if (w - i == 5 && ascii_caseeq(s + i, "LOGIN", 5))
			caps |= SMTP_CAP_AUTH_LOGIN;
		i = w;
	}
	return caps;
}

/* smtp_reply_size - the SIZE parameter: decimal, saturating; 0 if none */
static unsigned long long smtp_reply_size(const char *s, size_t n)
{
	unsigned long long v = 0;
	size_t i = 0;

	while (i < n && s[i] == ' ')
		i++;
	for (; i < n && smtp_reply_digit((unsigned char)s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (~0ULL - d) / 10)
			return ~0ULL;
		v = v * 10 + d;
	}
	return v;
}

unsigned smtp_reply_ehlo_caps(const char *buf, size_t len,
    unsigned long long *size_limit)
{
	static const struct {
		const char *kw;
		unsigned cap;
	} kws[] = {
		{ "PIPELINING", SMTP_CAP_PIPELINING },
		{ "SIZE", SMTP_CAP_SIZE },
		{ "8BITMIME", SMTP_CAP_8BITMIME },
		{ "STARTTLS", SMTP_CAP_STARTTLS },
		{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES },
		{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
		{ "CHUNKING", SMTP_CAP_CHUNKING },
		{ "DSN", SMTP_CAP_DSN },
	};
	unsigned caps = 0, lineno = 0;
	size_t pos = 0;

	if (size_limit)
		*size_limit = 0;
	while (pos < len) {
		const char *line = buf + pos, *lf, *t;
		size_t n, tl, kl, k;

		lf = memchr(line, '\n', len - pos);
		n = lf ? (size_t)(lf - line) : len - pos;
		pos += lf ? n + 1 : n;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (lineno++ == 0 || n <= 4)
			continue;
		t = line + 4;
		tl = n - 4;
		for (kl = 0; kl < tl && t[kl] != ' ' && t[kl] != '='; kl++)
			;
		if (kl == 4 && ascii_caseeq(t, "AUTH", 4)) {
			/* "AUTH PLAIN LOGIN", or the old "AUTH=PLAIN LOGIN" */
			if (kl < tl)
				caps |= smtp_reply_auth(t + kl + 1, tl - kl - 1);
			continue;
		}
		if (kl < tl && t[kl] == '=')
			continue;
		for (k = 0; k < sizeof(kws) / sizeof(kws[0]); k++) {
			if (strlen(kws[k].kw) != kl ||
			    !ascii_caseeq(t, kws[k].kw, kl))
				continue;
			caps |= kws[k].cap;
			if (kws[k].cap == SMTP_CAP_SIZE && size_limit)
				*size_limit = smtp_reply_size(t + kl, tl - kl);
		}
	}
	return caps;
}
