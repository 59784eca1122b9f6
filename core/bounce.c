/*
 * bounce.c - delivery status notifications (bounce.h).
 *
 * Public functions: bounce_build (the whole report message, in a heap
 * buffer the caller frees), bounce_recipients_for (who gets it: the
 * loop-free rule), bounce_rcpt_wanted (NOTIFY bits against an action).
 *
 * Pure: no I/O, no globals, no logging; the only allocations are the
 * growing output buffer and four scratch buffers (the three parts and
 * one for composing values) freed before return. Every input string is
 * borrowed from the caller. Dates are written in the local time zone
 * by mailhdr_date().
 *
 * RFC 3464 (the message/delivery-status fields: 2.1 format, 2.2
 * per-message fields Reporting-MTA, Original-Envelope-Id, Arrival-Date,
 * 2.3 per-recipient fields Original-Recipient, Final-Recipient, Action,
 * Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date,
 * Will-Retry-Until; 3 the text part and the returned content), RFC 6522
 * (multipart/report, text/rfc822-headers), RFC 3461 4.1 (NOTIFY), 4.2
 * and 4.4 (ORCPT and ENVID are xtext: decoded for the report), RFC 3463
 * (status codes), RFC 3834 5 (Auto-Submitted: auto-replied), RFC 5321
 * 4.5.5 (reports go out with the null reverse-path, and are never sent
 * about a message with a null reverse-path: here only the one postmaster
 * copy), RFC 5322 2.1.1 (998-octet lines), 2.2.3 (folding), 3.6.4
 * (Message-ID, References), RFC 2045/2046 (MIME headers, boundary
 * delimiters that occur in no part, 5.2.1 message/rfc822 in 7bit or
 * 8bit).
 *
 * Layout: the three parts are built apart, then a boundary is picked
 * that is the prefix of no line in them (it hashes their contents, and
 * is checked), then the header section and the parts are put together.
 * Every field value goes through bounce_wrap(), which turns control
 * characters (CR, LF, TAB, ...) into spaces, collapses white space and
 * folds; the returned original goes through bounce_lines(), which makes
 * every line end in CRLF and breaks lines longer than 998 octets.
 */
#include "core/bounce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mailhdr.h"
#include "core/spool_env.h"

#define BOUNCE_FOLD 78		/* fold our fields here when we can */
#define BOUNCE_TEXT_WIDTH 76	/* wrap the text part here */
#define BOUNCE_HOST_MAX 255
#define BOUNCE_ID_MAX 64
#define BOUNCE_SEED_MAX 32
#define BOUNCE_BOUNDARY_MAX (2 + BOUNCE_SEED_MAX + 1 + 16)

enum bounce_kind { BOUNCE_K_SUCCESS, BOUNCE_K_DELAY, BOUNCE_K_FAIL };

/* a growing buffer; after a failed allocation every append does nothing
 * and oom stays set */
struct bounce_buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void bounce_put(struct bounce_buf *o, const char *s, size_t n)
{
	if (o->oom || n == 0)
		return;
	if (n >= o->cap - o->len || !o->p) {
		size_t cap = o->cap ? o->cap : 1024;
		char *np;

		while (cap - o->len <= n) {
			if (cap > ((size_t)-1) / 2) {
				o->oom = 1;
				return;
			}
			cap *= 2;
		}
		np = realloc(o->p, cap);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void bounce_str(struct bounce_buf *o, const char *s)
{
	bounce_put(o, s, strlen(s));
}

static void bounce_crlf(struct bounce_buf *o)
{
	bounce_put(o, "\r\n", 2);
}

/* bounce_num - v in decimal */
static void bounce_num(struct bounce_buf *o, unsigned long long v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	bounce_put(o, d + i, sizeof(d) - i);
}

/* bounce_hex - v in lower case hex, width digits (at most 16) */
static void bounce_hex(struct bounce_buf *o, unsigned long long v, int width)
{
	char d[16];
	int i;

	for (i = width - 1; i >= 0; i--) {
		d[i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
	bounce_put(o, d, (size_t)width);
}

/* bounce_space - a byte that separates words: white space and every
 * control character, so CR, LF and NUL can never reach the output
 * inside a field value */
static int bounce_space(unsigned char c)
{
	return c <= ' ' || c == 127;
}

/* bounce_wrap - the words of s[0..n) (see bounce_space) joined by single
 * spaces, starting at column col (a space before the first word when
 * sep_first), folded before a word that would pass BOUNCE_FOLD - or
 * width - onto a new line starting with indent; a word too long for
 * any line is broken at BOUNCE_LINE_MAX. Writes no final line end. */
static void bounce_wrap(struct bounce_buf *o, const char *s, size_t n,
    size_t col, size_t width, const char *indent, int sep_first)
{
	size_t i = 0, ilen = strlen(indent);
	int words = 0, sep = sep_first;

	while (i < n) {
		size_t w = 0;

		while (i < n && bounce_space((unsigned char)s[i]))
			i++;
		while (i + w < n && !bounce_space((unsigned char)s[i + w]))
			w++;
		if (w == 0)
			break;
		if (words > 0 && col + 1 + w > width) {
			bounce_crlf(o);
			bounce_str(o, indent);
			col = ilen;
			words = 0;
			sep = 0;
		}
		if (sep) {
			bounce_put(o, " ", 1);
			col++;
		}
		while (w > 0) {
			size_t room = col < BOUNCE_LINE_MAX ?
			    BOUNCE_LINE_MAX - col : 0;
			size_t take = w < room ? w : room;

			bounce_put(o, s + i, take);
			col += take;
			i += take;
			w -= take;
			if (w > 0) {
				bounce_crlf(o);
				bounce_str(o, indent);
				col = ilen;
			}
		}
		words++;
		sep = 1;
	}
}

/* bounce_field - "Name: value" CRLF, value cleaned and folded */
static void bounce_field(struct bounce_buf *o, const char *name,
    const char *value, size_t n)
{
	bounce_str(o, name);
	bounce_put(o, ":", 1);
	bounce_wrap(o, value, n, strlen(name) + 1, BOUNCE_FOLD, " ", 1);
	bounce_crlf(o);
}

static void bounce_field_str(struct bounce_buf *o, const char *name,
    const char *value)
{
	bounce_field(o, name, value, strlen(value));
}

/* bounce_date_field - "Name: date" when t can be written */
static void bounce_date_field(struct bounce_buf *o, const char *name,
    long long t)
{
	char d[MAILHDR_DATE_LEN];

	if (t > 0 && *mailhdr_date(t, d, sizeof(d)))
		bounce_field_str(o, name, d);
}

static int bounce_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int bounce_caseeq(const char *a, const char *b)
{
	while (*a && bounce_lower((unsigned char)*a) ==
	    bounce_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* bounce_token - s reduced to letters, digits and the bytes of allow,
 * at most max of them, into dst (max + 1 octets); def when nothing is
 * left */
static void bounce_token(char *dst, size_t max, const char *s,
    const char *allow, const char *def)
{
	size_t k = 0;

	for (; s && *s && k < max; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(allow, c))
			dst[k++] = (char)c;
	}
	dst[k] = '\0';
	if (k == 0)
		memcpy(dst, def, strlen(def) + 1);
}

/* bounce_typed - s has an RFC 3464 type prefix ("smtp;", "dns;",
 * "rfc822;"): an atom then ';' */
static size_t bounce_typed(const char *s)
{
	size_t i = 0;

	while (s[i] == ' ')
		i++;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || s[i] == '-')
		i++;
	return i > 0 && s[i] == ';' ? i + 1 : 0;
}

static int bounce_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = bounce_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* bounce_xtext - s decoded from RFC 3461 xtext ("+2B" is '+'); a '+'
 * not followed by two hex digits is kept as it is */
static void bounce_xtext(struct bounce_buf *o, const char *s)
{
	for (; *s; s++) {
		int h, l;

		if (*s == '+' && (h = bounce_hexval((unsigned char)s[1])) >= 0 &&
		    (l = bounce_hexval((unsigned char)s[2])) >= 0) {
			char c = (char)(h * 16 + l);

			bounce_put(o, &c, 1);
			s += 2;
		} else {
			bounce_put(o, s, 1);
		}
	}
}

/* bounce_status_ok - an RFC 3463 code: class.subject.detail */
static int bounce_status_ok(const char *s)
{
	int part, n;

	if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			n++;
		if (n < 1 || n > 3 || (part == 0 && *s++ != '.'))
			return 0;
	}
	return *s == '\0';
}

/* bounce_action - the action in its RFC 3464 spelling, "failed" for
 * anything unknown */
static const char *bounce_action(const char *a)
{
	static const char *const known[] = {
		"failed", "delayed", "delivered", "relayed", "expanded",
	};
	size_t i;

	for (i = 0; a && i < sizeof(known) / sizeof(known[0]); i++)
		if (bounce_caseeq(a, known[i]))
			return known[i];
	return known[0];
}

static enum bounce_kind bounce_kind_of(const char *action)
{
	action = bounce_action(action);
	if (strcmp(action, "failed") == 0)
		return BOUNCE_K_FAIL;
	if (strcmp(action, "delayed") == 0)
		return BOUNCE_K_DELAY;
	return BOUNCE_K_SUCCESS;
}

static unsigned long long bounce_fnv(unsigned long long h, const char *s,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int bounce_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static int bounce_8bit_str(const char *s)
{
	return s && bounce_8bit(s, strlen(s));
}

/* bounce_lines - s[0..n) as CRLF lines of at most BOUNCE_LINE_MAX octets:
 * a line ends at LF (with or without CR before it); any other CR becomes
 * a space and NUL is dropped. Longer lines are broken; in a header
 * section (hdr) the rest continues after a space, as folding, and the
 * copy stops at the empty line that ends the section. At most cap input
 * octets are used, in whole lines unless the first line alone is longer;
 * returns 1 when something was left out for that reason. */
static int bounce_lines(struct bounce_buf *o, const char *s, size_t n,
    int hdr, size_t cap)
{
	size_t i = 0;
	int cut = 0;

	while (i < n) {
		size_t e = i, next, end, col = 0, k;

		while (e < n && s[e] != '\n')
			e++;
		next = e < n ? e + 1 : e;
		end = e > i && s[e - 1] == '\r' && e < n ? e - 1 : e;
		if (hdr) {
			for (k = i; k < end && s[k] == '\0'; k++)
				;
			if (k == end)
				return 0;	/* the empty line */
		}
		if (next > cap) {
			if (i > 0)
				return 1;
			if (end > cap)
				end = cap;	/* one huge first line */
			cut = 1;
		}
		for (k = i; k < end; k++) {
			char c = s[k] == '\r' ? ' ' : s[k];

			if (c == '\0')
				continue;
			if (col == BOUNCE_LINE_MAX) {
				bounce_put(o, hdr ? "\r\n " : "\r\n", hdr ? 3 : 2);
				col = hdr ? 1 : 0;
			}
			bounce_put(o, &c, 1);
			col++;
		}
		bounce_crlf(o);
		if (cut)
			return 1;
		i = next;
	}
	return 0;
}

/* bounce_starts_line - does any line of s[0..n) start with p[0..m)? */
static int bounce_starts_line(const char *s, size_t n, const char *p,
    size_t m)
{
	size_t i = 0;

	while (i < n) {
		const char *nl;

		if (n - i >= m && memcmp(s + i, p, m) == 0)
			return 1;
		nl = memchr(s + i, '\n', n - i);
		if (!nl)
			break;
		i = (size_t)(nl - s) + 1;
	}
	return 0;
}

/* bounce_postmaster - is addr's local part "postmaster", in any case,
 * with any domain or none? */
static int bounce_postmaster(const char *addr)
{
	static const char pm[] = "postmaster";
	const char *at;
	size_t i, n;

	if (!addr)
		return 0;
	at = strrchr(addr, '@');
	n = at ? (size_t)(at - addr) : strlen(addr);
	if (n != sizeof(pm) - 1)
		return 0;
	for (i = 0; i < n; i++)
		if (bounce_lower((unsigned char)addr[i]) != pm[i])
			return 0;
	return 1;
}

/* what bounce_build works out before it writes */
struct bounce_ctx {
	const struct bounce_msg *b;
	enum bounce_kind kind;
	int has[3];			/* recipients of each kind */
	int eight;			/* some octet >= 0x80 */
	int hdr_cut, body_cut;
	char host[BOUNCE_HOST_MAX + 1];
	char id[BOUNCE_ID_MAX + 1];
	struct bounce_buf t;		/* scratch */
};

/* bounce_para - a paragraph of the text part from the scratch buffer,
 * wrapped, then an empty line */
static void bounce_para(struct bounce_buf *o, struct bounce_ctx *c)
{
	if (c->t.oom)
		o->oom = 1;
	bounce_wrap(o, c->t.p ? c->t.p : "", c->t.len, 0, BOUNCE_TEXT_WIDTH,
	    "", 0);
	bounce_put(o, "\r\n\r\n", 4);
	c->t.len = 0;
}

/* bounce_duration - "N minutes", "N hours" or "N days" */
static void bounce_duration(struct bounce_buf *o, long long secs)
{
	long long n;
	const char *unit;

	if (secs < 2 * 3600) {
		n = secs / 60;
		unit = "minute";
	} else if (secs < 2 * 86400) {
		n = secs / 3600;
		unit = "hour";
	} else {
		n = secs / 86400;
		unit = "day";
	}
	if (n < 1)
		n = 1;
	bounce_num(o, (unsigned long long)n);
	bounce_put(o, " ", 1);
	bounce_str(o, unit);
	if (n != 1)
		bounce_put(o, "s", 1);
}

/* bounce_list - the recipients of one kind, each with its reason */
static void bounce_list(struct bounce_buf *o, struct bounce_ctx *c,
    enum bounce_kind kind)
{
	const struct bounce_msg *b = c->b;
	size_t i;

	for (i = 0; i < b->n_rcpt; i++) {
		const struct bounce_rcpt *r = &b->rcpt[i];

		if (bounce_kind_of(r->action) != kind)
			continue;
		bounce_put(o, "  ", 2);
		bounce_wrap(o, r->addr, strlen(r->addr), 2, BOUNCE_TEXT_WIDTH,
		    "    ", 0);
		bounce_crlf(o);
		c->t.len = 0;
		if (r->remote_mta && *r->remote_mta) {
			bounce_str(&c->t, "host ");
			bounce_str(&c->t, r->remote_mta +
			    bounce_typed(r->remote_mta));
			bounce_str(&c->t, ":");
		}
		if (r->diagnostic)
			bounce_str(&c->t, r->diagnostic +
			    bounce_typed(r->diagnostic));
		if (c->t.oom)
			o->oom = 1;
		if (c->t.len) {
			bounce_put(o, "    ", 4);
			bounce_wrap(o, c->t.p, c->t.len, 4, BOUNCE_TEXT_WIDTH,
			    "    ", 0);
			bounce_crlf(o);
		}
		c->t.len = 0;
	}
	bounce_crlf(o);
}

/* bounce_text - part 1, for people (RFC 3464 3, RFC 6522 3) */
static void bounce_text(struct bounce_buf *o, struct bounce_ctx *c)
{
	const struct bounce_msg *b = c->b;
	struct bounce_buf *t = &c->t;

	bounce_str(t, "This message was created automatically by mail "
	    "delivery software on ");
	bounce_str(t, c->host);
	bounce_str(t, ".");
	bounce_para(o, c);

	if (c->has[BOUNCE_K_FAIL]) {
		if (b->to_postmaster)
			bounce_str(t, "A message with the null sender <> (a "
			    "bounce or another notification) could not be "
			    "delivered to one or more of its recipients. It "
			    "cannot be returned to <>, so this report goes to "
			    "the postmaster. The message identifier is ");
		else
			bounce_str(t, "A message that you sent could not be "
			    "delivered to one or more of its recipients. This "
			    "is a permanent error. The message identifier is ");
		bounce_str(t, c->id);
		bounce_str(t, ". The following address(es) failed:");
		bounce_para(o, c);
		bounce_list(o, c, BOUNCE_K_FAIL);
	}
	if (c->has[BOUNCE_K_DELAY]) {
		if (c->kind == BOUNCE_K_DELAY) {
			bounce_str(t, "A message that you sent has not yet been "
			    "delivered to one or more of its recipients");
			if (b->arrival > 0 && b->now > b->arrival) {
				bounce_str(t, " after more than ");
				bounce_duration(t, b->now - b->arrival);
				bounce_str(t, " on the queue on ");
				bounce_str(t, c->host);
			}
			bounce_str(t, ". The message identifier is ");
			bounce_str(t, c->id);
			bounce_str(t, ". The address(es) to which delivery "
			    "has not yet been possible:");
		} else {
			bounce_str(t, "Delivery to the following address(es) "
			    "has not yet been possible; attempts continue:");
		}
		bounce_para(o, c);
		bounce_list(o, c, BOUNCE_K_DELAY);
		if (c->kind == BOUNCE_K_DELAY) {
			char d[MAILHDR_DATE_LEN];

			bounce_str(t, "No action is required on your part. ");
			if (b->retry_until > 0 &&
			    *mailhdr_date(b->retry_until, d, sizeof(d))) {
				bounce_str(t, "Delivery attempts will continue "
				    "until ");
				bounce_str(t, d);
				bounce_str(t, "; if the message is still "
				    "undelivered then, it will be returned to "
				    "you.");
			} else {
				bounce_str(t, "Delivery attempts will continue "
				    "for some time, and this warning may be "
				    "repeated at intervals if the message "
				    "remains undelivered. Eventually the mail "
				    "delivery software will give up, and when "
				    "that happens, the message will be returned "
				    "to you.");
			}
			bounce_para(o, c);
		}
	}
	if (c->has[BOUNCE_K_SUCCESS]) {
		if (c->kind == BOUNCE_K_SUCCESS)
			bounce_str(t, "Your message was successfully delivered "
			    "to the following address(es):");
		else
			bounce_str(t, "Delivery to the following address(es) "
			    "succeeded:");
		bounce_para(o, c);
		bounce_list(o, c, BOUNCE_K_SUCCESS);
	}

	if (b->ret_full)
		bounce_str(t, "A copy of the original message is attached.");
	else
		bounce_str(t, "The header section of the original message is "
		    "attached.");
	if (c->hdr_cut) {
		bounce_str(t, " Its header section was cut to the first ");
		bounce_num(t, BOUNCE_HDRS_MAX / 1024);
		bounce_str(t, " KiB.");
	}
	if (c->body_cut) {
		bounce_str(t, " Its body was cut to the first ");
		bounce_num(t, BOUNCE_BODY_MAX / 1024);
		bounce_str(t, " KiB.");
	}
	bounce_wrap(o, t->p, t->len, 0, BOUNCE_TEXT_WIDTH, "", 0);
	bounce_crlf(o);
	t->len = 0;
}

/* bounce_dsn - part 2, for programs (RFC 3464 2) */
static void bounce_dsn(struct bounce_buf *o, struct bounce_ctx *c)
{
	const struct bounce_msg *b = c->b;
	struct bounce_buf *t = &c->t;
	size_t i;

	t->len = 0;
	bounce_str(t, "dns; ");
	bounce_str(t, c->host);
	bounce_field(o, "Reporting-MTA", t->p, t->len);
	bounce_field_str(o, "X-Tern-Queue-ID", c->id);
	if (b->envid && *b->envid) {
		t->len = 0;
		bounce_xtext(t, b->envid);
		bounce_field(o, "Original-Envelope-Id", t->p ? t->p : "",
		    t->len);
	}
	bounce_date_field(o, "Arrival-Date", b->arrival);

	for (i = 0; i < b->n_rcpt; i++) {
		const struct bounce_rcpt *r = &b->rcpt[i];
		const char *action = bounce_action(r->action);
		enum bounce_kind k = bounce_kind_of(action);

		bounce_crlf(o);
		t->len = 0;
		bounce_str(t, "rfc822; ");
		bounce_str(t, r->addr);
		bounce_field(o, "Final-Recipient", t->p, t->len);
		if (r->orcpt && *r->orcpt) {
			size_t ty = bounce_typed(r->orcpt);

			t->len = 0;
			if (ty) {
				bounce_put(t, r->orcpt, ty);
				bounce_put(t, " ", 1);
			} else {
				bounce_str(t, "rfc822; ");
			}
			bounce_xtext(t, r->orcpt + ty);
			bounce_field(o, "Original-Recipient", t->p, t->len);
		}
		bounce_field_str(o, "Action", action);
		t->len = 0;
		if (bounce_status_ok(r->status))
			bounce_str(t, r->status);
		else
			bounce_str(t, k == BOUNCE_K_FAIL ? "5.0.0" :
			    k == BOUNCE_K_DELAY ? "4.0.0" : "2.0.0");
		bounce_field(o, "Status", t->p, t->len);
		if (r->remote_mta && *r->remote_mta) {
			t->len = 0;
			if (!bounce_typed(r->remote_mta))
				bounce_str(t, "dns; ");
			bounce_str(t, r->remote_mta);
			bounce_field(o, "Remote-MTA", t->p, t->len);
		}
		if (r->diagnostic && *r->diagnostic) {
			t->len = 0;
			if (!bounce_typed(r->diagnostic))
				bounce_str(t, "X-Tern; ");
			bounce_str(t, r->diagnostic);
			bounce_field(o, "Diagnostic-Code", t->p, t->len);
		}
		bounce_date_field(o, "Last-Attempt-Date", r->last_attempt);
		if (k == BOUNCE_K_DELAY)
			bounce_date_field(o, "Will-Retry-Until", b->retry_until);
	}
	if (t->oom)
		o->oom = 1;
	t->len = 0;
}

/* bounce_msgid - the original's Message-ID, when it looks like one */
static int bounce_msgid(const char *hdr, size_t len, const char **v,
    size_t *vlen)
{
	struct mailhdr_field f;
	size_t pos = 0, i, s, e;

	if (!hdr)
		return 0;
	while (mailhdr_next(hdr, len, &pos, &f) == 1) {
		if (!mailhdr_is(&f, "message-id"))
			continue;
		for (s = 0; s < f.valuelen && bounce_space(
		    (unsigned char)f.value[s]); s++)
			;
		for (e = f.valuelen; e > s && bounce_space(
		    (unsigned char)f.value[e - 1]); e--)
			;
		if (e - s < 3 || e - s > 250 || f.value[s] != '<' ||
		    f.value[e - 1] != '>')
			return 0;
		for (i = s; i < e; i++)
			if ((unsigned char)f.value[i] <= ' ' ||
			    (unsigned char)f.value[i] >= 127)
				return 0;
		*v = f.value + s;
		*vlen = e - s;
		return 1;
	}
	return 0;
}

/* bounce_head - the header section of the report, without its empty
 * line */
static void bounce_head(struct bounce_buf *o, struct bounce_ctx *c,
    const char *boundary, size_t hdrlen)
{
	static const char *const subject[] = {
		[BOUNCE_K_SUCCESS] = "Successful mail delivery report",
		[BOUNCE_K_DELAY] = "Warning: message ",
		[BOUNCE_K_FAIL] = "Mail delivery failed: returning message to sender",
	};
	static const char *const idkind[] = {
		[BOUNCE_K_SUCCESS] = "report",
		[BOUNCE_K_DELAY] = "delay",
		[BOUNCE_K_FAIL] = "bounce",
	};
	const struct bounce_msg *b = c->b;
	struct bounce_buf *t = &c->t;
	unsigned long long h = 0xcbf29ce484222325ULL;
	const char *ref;
	size_t i, reflen;

	t->len = 0;
	bounce_str(t, "Mail Delivery System <MAILER-DAEMON@");
	bounce_str(t, c->host);
	bounce_str(t, ">");
	bounce_field(o, "From", t->p, t->len);
	t->len = 0;
	bounce_str(t, "<");
	bounce_str(t, b->orig_sender);
	if (!strchr(b->orig_sender, '@')) {
		bounce_str(t, "@");
		bounce_str(t, c->host);
	}
	bounce_str(t, ">");
	bounce_field(o, "To", t->p, t->len);
	t->len = 0;
	bounce_str(t, subject[c->kind]);
	if (c->kind == BOUNCE_K_DELAY) {
		bounce_str(t, c->id);
		bounce_str(t, " delayed");
		if (b->arrival > 0 && b->now > b->arrival) {
			bounce_str(t, " ");
			bounce_duration(t, b->now - b->arrival);
		}
	}
	bounce_field(o, "Subject", t->p, t->len);
	bounce_date_field(o, "Date", b->now);

	/* unique per original, kind, time and recipients */
	for (i = 0; i < b->n_rcpt; i++) {
		h = bounce_fnv(h, b->rcpt[i].addr, strlen(b->rcpt[i].addr) + 1);
		h = bounce_fnv(h, bounce_action(b->rcpt[i].action), 1);
	}
	t->len = 0;
	bounce_str(t, "<");
	bounce_str(t, c->id);
	bounce_str(t, "-");
	bounce_str(t, idkind[c->kind]);
	bounce_str(t, "-");
	bounce_hex(t, (unsigned long long)b->now, 8);
	bounce_str(t, "-");
	bounce_hex(t, h, 8);
	bounce_str(t, "@");
	bounce_str(t, c->host);
	bounce_str(t, ">");
	bounce_field(o, "Message-ID", t->p, t->len);
	if (bounce_msgid(b->orig_headers, hdrlen, &ref, &reflen))
		bounce_field(o, "References", ref, reflen);
	bounce_field_str(o, "Auto-Submitted", "auto-replied");
	if (c->kind == BOUNCE_K_FAIL) {
		int n = 0;

		t->len = 0;
		for (i = 0; i < b->n_rcpt; i++) {
			if (bounce_kind_of(b->rcpt[i].action) != BOUNCE_K_FAIL)
				continue;
			if (n++)
				bounce_str(t, ", ");
			bounce_str(t, b->rcpt[i].addr);
		}
		bounce_field(o, "X-Failed-Recipients", t->p, t->len);
	}
	if (b->to_postmaster)
		bounce_field_str(o, BOUNCE_NOTICE_FIELD, "postmaster");
	bounce_field_str(o, "MIME-Version", "1.0");
	t->len = 0;
	bounce_str(t, "multipart/report; report-type=delivery-status; "
	    "boundary=\"");
	bounce_str(t, boundary);
	bounce_str(t, "\"");
	bounce_field(o, "Content-Type", t->p, t->len);
	if (c->eight)
		bounce_field_str(o, "Content-Transfer-Encoding", "8bit");
	if (t->oom)
		o->oom = 1;
	t->len = 0;
}

/* bounce_part - a delimiter line, the part's header fields, its
 * content */
static void bounce_part(struct bounce_buf *o, const char *boundary,
    const char *type, const char *desc, int eight,
    const struct bounce_buf *body)
{
	bounce_str(o, "\r\n--");
	bounce_str(o, boundary);
	bounce_crlf(o);
	bounce_field_str(o, "Content-Type", type);
	bounce_field_str(o, "Content-Description", desc);
	if (eight)
		bounce_field_str(o, "Content-Transfer-Encoding", "8bit");
	bounce_crlf(o);
	if (body->oom)
		o->oom = 1;
	bounce_put(o, body->p, body->len);
}

/* bounce_boundary - "--=_SEED_HASH" into d (BOUNCE_BOUNDARY_MAX + 3
 * octets): the seed's safe characters and 16 hex digits of h; returns
 * its length. The boundary itself is d + 2, at most 51 octets of
 * bcharsnospace (RFC 2046 5.1.1 allows 70). */
static size_t bounce_boundary(char *d, const char *seed, unsigned long long h)
{
	size_t n;
	int i;

	memcpy(d, "--=_", 4);
	bounce_token(d + 4, BOUNCE_SEED_MAX, seed, ".-_", "tern");
	n = strlen(d);
	d[n++] = '_';
	for (i = 60; i >= 0; i -= 4)
		d[n++] = "0123456789abcdef"[(h >> i) & 15];
	d[n] = '\0';
	return n;
}

char *bounce_build(const struct bounce_msg *b, size_t *len)
{
	struct bounce_ctx c;
	struct bounce_buf o = { NULL, 0, 0, 0 }, text = o, dsn = o, att = o;
	char dashes[BOUNCE_BOUNDARY_MAX + 3];
	const char *boundary;
	unsigned long long h = 0xcbf29ce484222325ULL;
	size_t i, hdrlen = 0, bodylen = 0;
	unsigned k;
	int eight_att;

	if (!b || !b->orig_sender || !*b->orig_sender || !b->rcpt ||
	    b->n_rcpt == 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < b->n_rcpt; i++)
		if (!b->rcpt[i].addr) {
			errno = EINVAL;
			return NULL;
		}
	memset(&c, 0, sizeof(c));
	c.b = b;
	c.kind = BOUNCE_K_SUCCESS;
	for (i = 0; i < b->n_rcpt; i++) {
		enum bounce_kind k1 = bounce_kind_of(b->rcpt[i].action);

		c.has[k1] = 1;
		if (k1 > c.kind)
			c.kind = k1;
	}
	bounce_token(c.host, BOUNCE_HOST_MAX, b->reporting_mta, ".-:[]",
	    "localhost");
	bounce_token(c.id, BOUNCE_ID_MAX, b->id, ".-_", "unknown");
	if (b->orig_headers)
		hdrlen = b->orig_headers_len;
	if (b->ret_full && b->orig_body)
		bodylen = b->orig_body_len;

	/* part 3 first: what it holds decides the 8-bit marks */
	c.hdr_cut = bounce_lines(&att, b->orig_headers, hdrlen, 1,
	    BOUNCE_HDRS_MAX);
	if (b->ret_full) {
		bounce_crlf(&att);
		c.body_cut = bounce_lines(&att, b->orig_body, bodylen, 0,
		    BOUNCE_BODY_MAX);
	}
	eight_att = bounce_8bit(att.p, att.len);
	c.eight = eight_att || bounce_8bit_str(b->orig_sender) ||
	    bounce_8bit_str(b->envid);
	for (i = 0; i < b->n_rcpt; i++) {
		const struct bounce_rcpt *r = &b->rcpt[i];

		c.eight |= bounce_8bit_str(r->addr) ||
		    bounce_8bit_str(r->orcpt) ||
		    bounce_8bit_str(r->remote_mta) ||
		    bounce_8bit_str(r->diagnostic);
	}
	bounce_text(&text, &c);
	bounce_dsn(&dsn, &c);
	if (text.oom || dsn.oom || att.oom || c.t.oom)
		goto nomem;

	/* a boundary that starts no line of any part (RFC 2046 5.1.1) */
	h = bounce_fnv(h, text.p, text.len);
	h = bounce_fnv(h, dsn.p, dsn.len);
	h = bounce_fnv(h, att.p, att.len);
	for (k = 0;; k++) {
		size_t n;

		if (k == 1000) {
			errno = EINVAL;	/* the parts defeat every boundary */
			goto fail;
		}
		n = bounce_boundary(dashes, b->boundary_seed ?
		    b->boundary_seed : b->id, h + k * 0x9e3779b97f4a7c15ULL);
		if (!bounce_starts_line(text.p, text.len, dashes, n) &&
		    !bounce_starts_line(dsn.p, dsn.len, dashes, n) &&
		    !bounce_starts_line(att.p, att.len, dashes, n))
			break;
	}
	boundary = dashes + 2;

	bounce_head(&o, &c, boundary, hdrlen < BOUNCE_HDRS_MAX ? hdrlen :
	    BOUNCE_HDRS_MAX);
	bounce_crlf(&o);
	bounce_str(&o, "This is a MIME-formatted message. If you see this "
	    "text, your mail\r\nprogram does not read delivery reports "
	    "(RFC 3464).\r\n");
	bounce_part(&o, boundary, c.eight ? "text/plain; charset=utf-8" :
	    "text/plain; charset=us-ascii", "Notification", c.eight, &text);
	bounce_part(&o, boundary, "message/delivery-status",
	    "Delivery report", c.eight, &dsn);
	bounce_part(&o, boundary, b->ret_full ? "message/rfc822" :
	    "text/rfc822-headers", c.kind == BOUNCE_K_FAIL ?
	    (b->ret_full ? "Undelivered Message" :
	    "Undelivered Message Headers") : (b->ret_full ?
	    "Original Message" : "Original Message Headers"), eight_att, &att);
	bounce_str(&o, "\r\n--");
	bounce_str(&o, boundary);
	bounce_str(&o, "--\r\n");
	if (o.oom)
		goto nomem;
	free(text.p);
	free(dsn.p);
	free(att.p);
	free(c.t.p);
	if (len)
		*len = o.len;
	return o.p;
nomem:
	errno = ENOMEM;
fail:
	free(o.p);
	free(text.p);
	free(dsn.p);
	free(att.p);
	free(c.t.p);
	return NULL;
}

int bounce_recipients_for(const char *sender, const char *hdr,
    size_t hdrlen, const struct bounce_rcpt *failed, size_t n_failed,
    const char **to)
{
	struct mailhdr_field f;
	size_t pos = 0, i;

	if (!failed || n_failed == 0)
		return BOUNCE_TO_NONE;
	if (sender && *sender) {
		*to = sender;
		return BOUNCE_TO_SENDER;
	}
	/* a bounce that failed: never back to <>; our own postmaster
	 * notice that failed: nobody */
	while (hdr && mailhdr_next(hdr, hdrlen, &pos, &f) == 1)
		if (mailhdr_is(&f, BOUNCE_NOTICE_FIELD))
			return BOUNCE_TO_NONE;
	for (i = 0; i < n_failed; i++)
		if (!bounce_postmaster(failed[i].addr))
			break;
	if (i == n_failed)
		return BOUNCE_TO_NONE;
	*to = "postmaster";
	return BOUNCE_TO_POSTMASTER;
}

int bounce_rcpt_wanted(unsigned notify, const char *action)
{
	enum bounce_kind k = bounce_kind_of(action);

	if (notify & SPOOL_NOTIFY_NEVER)
		return 0;
	switch (k) {
	case BOUNCE_K_FAIL:
		return notify == 0 || (notify & SPOOL_NOTIFY_FAILURE) != 0;
	case BOUNCE_K_DELAY:
		return notify == 0 || (notify & SPOOL_NOTIFY_DELAY) != 0;
	case BOUNCE_K_SUCCESS:
		break;
	}
	return (notify & SPOOL_NOTIFY_SUCCESS) != 0;
}
