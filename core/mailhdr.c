/*
 * mailhdr.c - RFC 5322 message headers for `sendmail -t` (mailhdr.h).
 *
 * Public functions: mailhdr_end (where the header section ends),
 * mailhdr_next / mailhdr_is (walk the fields), mailhdr_addresses (the
 * addr-specs of an address list), mailhdr_date and mailhdr_message_id
 * (the Date and Message-ID fields tern adds).
 *
 * Pure: no I/O, no globals, no allocation, no logging. Field structs point
 * into the caller's header buffer; addresses are written into the caller's
 * scratch buffer and are valid until the next callback.
 *
 * RFC 5322: 2.2 (fields, names), 2.2.3 (folding), 3.2.2 (FWS, comments),
 * 3.2.4 (quoted strings), 3.3 (date-time), 3.4 (address lists, groups),
 * 3.4.1 (addr-spec, domain literals), 3.6.4 (msg-id), 4.4 (obsolete
 * addressing: routes, empty list elements, CFWS around dots), 4.5
 * (white space before the colon of a field name). Non-ASCII bytes are
 * taken as atom text (RFC 6532).
 *
 * mailhdr_addresses works in one pass: a lexer gives words (atoms, quoted
 * strings, domain literals) and specials, skipping white space and
 * comments; the parser copies the words and dots of the current list
 * element into scratch and throws that away when it turns out to be a
 * display name ('<' follows), a group name (':') or a route (":" inside
 * the angle brackets).
 */
#include "core/mailhdr.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* mh_fchar - a field name byte: printable ASCII except ':' */
static int mh_fchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int mh_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* mh_ctl - a byte no address may contain: controls but HTAB, and DEL */
static int mh_ctl(unsigned char c)
{
	return (c < 32 && c != '\t') || c == 127;
}

/* mh_atext - RFC 5322 atext, plus any non-ASCII byte (RFC 6532) */
static int mh_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	return c >= 33 && c <= 126 && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

static unsigned char mh_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

size_t mailhdr_end(const char *buf, size_t len)
{
	size_t n = len < MAILHDR_MAX ? len : MAILHDR_MAX, i = 0;
	const char *nl;

	/* i is always at the start of a line */
	while (i < n) {
		if (buf[i] == '\n')
			return i + 1;
		if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n')
			return i + 2;
		nl = memchr(buf + i, '\n', n - i);
		if (!nl)
			break;
		i = (size_t)(nl - buf) + 1;
	}
	return 0;
}

int mailhdr_next(const char *hdr, size_t len, size_t *pos,
    struct mailhdr_field *f)
{
	size_t p = *pos, i, colon, vend, end, e;
	const char *nl;

	if (p >= len || hdr[p] == '\n' ||
	    (hdr[p] == '\r' && p + 1 < len && hdr[p + 1] == '\n'))
		return 0;
	for (i = p; i < len && mh_fchar((unsigned char)hdr[i]); i++)
		;
	if (i == p)
		return -1;
	f->name = hdr + p;
	f->namelen = i - p;
	while (i < len && mh_wsp((unsigned char)hdr[i]))
		i++;
	if (i >= len || hdr[i] != ':')
		return -1;
	colon = i++;
	/* the field runs to the first line end not followed by SP or HTAB */
	for (;;) {
		nl = i < len ? memchr(hdr + i, '\n', len - i) : NULL;
		if (!nl) {
			/* no final line end (EOF); drop half a CRLF */
			end = vend = len;
			if (vend > colon + 1 && hdr[vend - 1] == '\r')
				vend--;
			break;
		}
		e = (size_t)(nl - hdr);
		if (e + 1 < len && mh_wsp((unsigned char)hdr[e + 1])) {
			i = e + 1;
			continue;
		}
		vend = hdr[e - 1] == '\r' ? e - 1 : e;	/* e > colon */
		end = e + 1;
		break;
	}
	f->value = hdr + colon + 1;
	f->valuelen = vend - (colon + 1);
	f->off = p;
	f->len = end - p;
	*pos = end;
	return 1;
}

int mailhdr_is(const struct mailhdr_field *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->namelen; i++)
		if (name[i] == '\0' || mh_lower((unsigned char)f->name[i]) !=
		    mh_lower((unsigned char)name[i]))
			return 0;
	return name[i] == '\0';
}

/* ---------------------------------------------------------------- addresses */

enum mh_tok { MH_T_END, MH_T_WORD, MH_T_SPECIAL, MH_T_ERR };

struct mh_lex {
	const char *s;
	size_t len, i;
};

/* mh_skip_comment - past the comment opening at lx->i (nested, with
 * quoted pairs); -1 when it is not closed or holds a NUL */
static int mh_skip_comment(struct mh_lex *lx)
{
	size_t depth = 0;

	while (lx->i < lx->len) {
		unsigned char c = (unsigned char)lx->s[lx->i++];

		if (c == '\0')
			return -1;
		if (c == '\\') {
			if (lx->i >= lx->len || lx->s[lx->i] == '\0')
				return -1;
			lx->i++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return 0;
		}
	}
	return -1;
}

/* mh_skip_quoted - past the quoted string or domain literal opening at
 * lx->i and ending with close; CR and LF (folding) are allowed, other
 * controls are not; -1 when it is not closed */
static int mh_skip_quoted(struct mh_lex *lx, char close)
{
	lx->i++;
	while (lx->i < lx->len) {
		unsigned char c = (unsigned char)lx->s[lx->i++];

		if (c == (unsigned char)close)
			return 0;
		if (c == '\\') {
			if (lx->i >= lx->len)
				return -1;
			c = (unsigned char)lx->s[lx->i++];
			if (mh_ctl(c))
				return -1;
		} else if (c == '\r' || c == '\n') {
			continue;
		} else if (mh_ctl(c) || (close == ']' && c == '[')) {
			return -1;
		}
	}
	return -1;
}

/* mh_lex_next - the next token: [*start, *end) is a word or one special
 * out of "<>@,;:."; white space, line ends and comments are skipped */
static enum mh_tok mh_lex_next(struct mh_lex *lx, size_t *start, size_t *end)
{
	unsigned char c;

	for (;;) {
		if (lx->i >= lx->len)
			return MH_T_END;
		c = (unsigned char)lx->s[lx->i];
		if (mh_wsp(c) || c == '\r' || c == '\n')
			lx->i++;
		else if (c == '(') {
			if (mh_skip_comment(lx) < 0)
				return MH_T_ERR;
		} else
			break;
	}
	*start = lx->i;
	if (c == '"' || c == '[') {
		if (mh_skip_quoted(lx, c == '"' ? '"' : ']') < 0)
			return MH_T_ERR;
		*end = lx->i;
		return MH_T_WORD;
	}
	if (c != '\0' && strchr("<>@,;:.", c)) {
		*end = ++lx->i;
		return MH_T_SPECIAL;
	}
	if (!mh_atext(c))
		return MH_T_ERR;	/* ')', ']', '\\', controls, NUL */
	while (lx->i < lx->len && mh_atext((unsigned char)lx->s[lx->i]))
		lx->i++;
	*end = lx->i;
	return MH_T_WORD;
}

/* the list element being read */
struct mh_elem {
	size_t out;		/* bytes in scratch */
	int angle;		/* 0 no '<' yet, 1 inside <...>, 2 after '>' */
	int route;		/* inside <...>, an obsolete route is being read */
	int ats;		/* '@' in the addr-spec so far */
	int first, last;	/* first and last token: 'w', '.', '@' or 0 */
	int adjacent;		/* two words with nothing between them */
};

/* mh_elem_restart - forget the addr-spec read so far (it was a display
 * name, a group name or a route) */
static void mh_elem_restart(struct mh_elem *el)
{
	el->out = 0;
	el->ats = 0;
	el->first = el->last = 0;
	el->adjacent = 0;
}

/* mh_append - add a token to the addr-spec in scratch, leaving out the
 * CR and LF of folding inside quoted strings and domain literals */
static int mh_append(struct mh_elem *el, int kind, const char *tok,
    size_t n, char *scratch, size_t scratchlen)
{
	size_t k;

	if (el->angle == 2)
		return -1;		/* something after "<addr>" */
	if (kind == 'w' && el->last == 'w')
		el->adjacent = 1;
	if (!el->first)
		el->first = kind;
	el->last = kind;
	if (kind == '@')
		el->ats++;
	for (k = 0; k < n; k++) {
		if (tok[k] == '\r' || tok[k] == '\n')
			continue;
		if (el->out + 1 >= scratchlen)
			return -1;
		scratch[el->out++] = tok[k];
	}
	return 0;
}

/* mh_emit - hand the element's address to cb; 0 (also when the element is
 * empty) or -1 when it is not an addr-spec */
static int mh_emit(struct mh_elem *el, char *scratch, int *count,
    void (*cb)(void *ctx, const char *addr, size_t addrlen), void *ctx)
{
	if (el->out == 0)
		return 0;
	if (el->adjacent || el->ats > 1 || el->first == '@' ||
	    el->last == '@' || *count == INT_MAX)
		return -1;
	scratch[el->out] = '\0';
	if (cb)
		cb(ctx, scratch, el->out);
	(*count)++;
	return 0;
}

int mailhdr_addresses(const char *value, size_t len, char *scratch,
    size_t scratchlen, void (*cb)(void *ctx, const char *addr, size_t addrlen),
    void *ctx)
{
	struct mh_lex lx = { value, len, 0 };
	struct mh_elem el;
	size_t ts = 0, te = 0;
	enum mh_tok t;
	int in_group = 0, count = 0;
	char c;

	memset(&el, 0, sizeof(el));
	for (;;) {
		t = mh_lex_next(&lx, &ts, &te);
		if (t == MH_T_ERR)
			return -1;
		if (t == MH_T_END)
			break;
		c = t == MH_T_WORD ? 'w' : value[ts];
		switch (c) {
		case 'w':
		case '.':
		case '@':
			if (c == '@' && el.angle == 1 && el.out == 0 &&
			    !el.route)
				el.route = 1;	/* "<@a,@b:x@y>" */
			if (mh_append(&el, c, value + ts, te - ts, scratch,
			    scratchlen) < 0)
				return -1;
			break;
		case '<':
			if (el.angle)
				return -1;
			mh_elem_restart(&el);	/* a display name */
			el.angle = 1;
			break;
		case '>':
			if (el.angle != 1 || el.route)
				return -1;
			el.angle = 2;
			break;
		case ':':
			if (el.angle == 1) {
				if (!el.route)
					return -1;
				mh_elem_restart(&el);	/* the route */
				el.route = 0;
				break;
			}
			if (el.angle || in_group || el.ats)
				return -1;
			mh_elem_restart(&el);		/* the group name */
			in_group = 1;
			break;
		case ',':
			if (el.angle == 1) {
				if (!el.route)
					return -1;
				el.last = 0;	/* "@a,@b" of a route */
				break;
			}
			if (mh_emit(&el, scratch, &count, cb, ctx) < 0)
				return -1;
			memset(&el, 0, sizeof(el));
			break;
		case ';':
			if (el.angle == 1)
				return -1;
			if (mh_emit(&el, scratch, &count, cb, ctx) < 0)
				return -1;
			memset(&el, 0, sizeof(el));
			in_group = 0;
			break;
		default:
			return -1;
		}
	}
	if (el.angle == 1)
		return -1;
	if (mh_emit(&el, scratch, &count, cb, ctx) < 0)
		return -1;
	return count;
}

/* ---------------------------------------------------------------- date, id */

/* mh_days - days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static long long mh_days(long long y, int m, int d)
{
	long long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

char *mailhdr_date(long long t, char *buf, size_t len)
{
	static const char wday[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char mon[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	time_t tt = (time_t)t;
	struct tm lt, gt;
	long long off, ly, gy;
	char sign = '+';

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if ((long long)tt != t || !localtime_r(&tt, &lt) || !gmtime_r(&tt, &gt))
		return buf;
	ly = (long long)lt.tm_year + 1900;
	gy = (long long)gt.tm_year + 1900;
	if (ly < 0 || ly > 9999 || lt.tm_mon < 0 || lt.tm_mon > 11 ||
	    lt.tm_wday < 0 || lt.tm_wday > 6)
		return buf;
	/* the zone offset is local time minus UTC (tm_gmtoff is not POSIX) */
	off = (mh_days(ly, lt.tm_mon + 1, lt.tm_mday) -
	    mh_days(gy, gt.tm_mon + 1, gt.tm_mday)) * 86400 +
	    (lt.tm_hour - gt.tm_hour) * 3600LL +
	    (lt.tm_min - gt.tm_min) * 60LL + (lt.tm_sec - gt.tm_sec);
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	off /= 60;
	if (off > 99 * 60 + 59)
		return buf;
	snprintf(buf, len, "%s, %d %s %04lld %02d:%02d:%02d %c%02lld%02lld",
	    wday[lt.tm_wday], lt.tm_mday, mon[lt.tm_mon], ly, lt.tm_hour,
	    lt.tm_min, lt.tm_sec, sign, off / 60, off % 60);
	return buf;
}

/* mh_id_ok - s is non-empty printable ASCII without '<', '>', '@' */
static int mh_id_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 33 || c > 126 || c == '<' || c == '>' || c == '@')
			return 0;
	}
	return 1;
}

char *mailhdr_message_id(const char *id, const char *hostname, char *buf,
    size_t len)
{
	int n;

	if (!hostname || *hostname == '\0')
		hostname = "localhost";
	if (!id || !mh_id_ok(id) || !mh_id_ok(hostname) || len == 0)
		return NULL;
	n = snprintf(buf, len, "<%s@%s>", id, hostname);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}
