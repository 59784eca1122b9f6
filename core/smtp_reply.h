/*
 * smtp_reply.h - client side SMTP: parse the server's replies.
 *
 * Pure: bytes in, a struct smtp_reply out; no I/O, no globals, no logging,
 * no allocation. r->text points into the caller's buffer; errors are
 * static strings. The reply text is the peer's: it may hold any printable
 * octet (and TAB, and octets >= 0x80), so escape it before logging.
 */
#ifndef TERN_SMTP_REPLY_H
#define TERN_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_REPLY_MAX 8192	/* bytes of one (multi-line) reply we accept */

struct smtp_reply {
	int code;		/* 200..559 */
	/* RFC 3463 enhanced status code of the last line (of the first line
	 * when the last has none); 0 when absent or when its class is not
	 * the first digit of code */
	int enh_class, enh_subject, enh_detail;
	/* text of the last line after the code and after the enhanced code
	 * if present (and the space that follows each) */
	const char *text;
	size_t textlen;
	unsigned nlines;
};

/* capabilities from an EHLO reply (RFC 5321 4.1.1.1 and the extensions) */
enum {
	SMTP_CAP_PIPELINING = 1 << 0,		/* RFC 2920 */
	SMTP_CAP_SIZE = 1 << 1,			/* RFC 1870 */
	SMTP_CAP_8BITMIME = 1 << 2,		/* RFC 6152 */
	SMTP_CAP_STARTTLS = 1 << 3,		/* RFC 3207 */
	SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 4,	/* RFC 2034 */
	SMTP_CAP_SMTPUTF8 = 1 << 5,		/* RFC 6531 */
	SMTP_CAP_AUTH_PLAIN = 1 << 6,		/* RFC 4954, RFC 4616 */
	SMTP_CAP_AUTH_LOGIN = 1 << 7,
	SMTP_CAP_CHUNKING = 1 << 8,		/* RFC 3030 */
	SMTP_CAP_DSN = 1 << 9			/* RFC 3461 */
};

/* smtp_reply_parse - look for one complete reply at the start of
 * buf[0..len). Returns the bytes it takes (> 0, line ends included) with
 * *r filled; 0 when it is not complete yet; -1 when it is malformed, with
 * *err set to a static string. Lines end with CRLF (a bare LF is taken
 * too); each starts with 3 digits (the first 2..5, the second 0..5) and
 * then '-' (more lines follow), ' ' or the end of the line (last line);
 * all lines carry the same code. A reply longer than SMTP_REPLY_MAX bytes
 * is malformed; so is a NUL or other control character (TAB aside) in a
 * line. A line that cannot become valid is reported at once, without
 * waiting for its end. */
long smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r,
    const char **err);

/* smtp_reply_ehlo_caps - SMTP_CAP_* bits of an EHLO reply given as the raw
 * bytes smtp_reply_parse consumed (the first line, the greeting, is
 * skipped). *size_limit (may be NULL) gets the SIZE value, 0 when SIZE is
 * absent or has no number (no limit). */
unsigned smtp_reply_ehlo_caps(const char *buf, size_t len,
    unsigned long long *size_limit);

#endif
