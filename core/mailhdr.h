/*
 * mailhdr.h - RFC 5322 message headers as `sendmail -t` and the sendmail
 * interface need them: find the end of the header section, walk its
 * fields, pull the addr-specs out of an address list, and build the Date
 * and Message-ID fields tern adds when they are missing.
 *
 * Everything here is pure: bytes in, results out, no allocation. Field
 * structs and callback arguments point into the caller's buffers (the
 * header text, or the caller's scratch buffer), so copy what must live
 * longer than those.
 *
 * Line ends: CRLF or a bare LF, mixed freely. A CR not followed by LF is an
 * ordinary byte.
 */
#ifndef TERN_MAILHDR_H
#define TERN_MAILHDR_H

#include <stddef.h>

#define MAILHDR_MAX (1024 * 1024)	/* header section cap */
#define MAILHDR_DATE_LEN 40		/* enough for mailhdr_date() */

/* mailhdr_end - length of the header section of buf[0..len): the offset
 * just after the empty line that ends it. Returns > 0 when the end was
 * found (1 or 2 when the message starts with the empty line, i.e. has no
 * header fields), 0 when it was not found yet (need more input). At most
 * MAILHDR_MAX bytes are looked at: 0 with len >= MAILHDR_MAX means the
 * section is too long. A message with no empty line at all is the caller's
 * case at EOF (the whole input is then the header section). */
size_t mailhdr_end(const char *buf, size_t len);

struct mailhdr_field {
	const char *name;	/* field name, without the colon or the */
	size_t namelen;		/* obsolete white space before it */
	const char *value;	/* raw value after the colon, including */
	size_t valuelen;	/* folded continuation lines, excluding the
				 * final line end */
	size_t off, len;	/* the whole field in hdr, including its
				 * final line end (if it has one) */
};

/* mailhdr_next - iterate the fields of hdr[0..len) (a header section, with
 * or without its ending empty line). *pos starts at 0. Returns 1 and fills
 * f (moving *pos past the field); 0 at the end of the section (the empty
 * line, or len); -1 on a malformed line: one that is neither "name:" nor a
 * continuation of a field (a line starting with SP or HTAB). On 0 and -1,
 * *pos is left at the start of the empty or malformed line, so the caller
 * can treat it as the start of the body, as sendmail and Postfix do.
 * Field names are printable ASCII 33..126 except ':' (RFC 5322 2.2);
 * white space between the name and the colon is accepted (4.5). */
int mailhdr_next(const char *hdr, size_t len, size_t *pos,
    struct mailhdr_field *f);

/* mailhdr_is - 1 when the field's name is name, ignoring ASCII case */
int mailhdr_is(const struct mailhdr_field *f, const char *name);

/* mailhdr_addresses - the addr-specs of an address-list field value (To,
 * Cc, Bcc, Resent-*: RFC 5322 3.4 and the obsolete syntax of 4.4).
 * Understands display names, quoted strings, nested comments, quoted
 * pairs, groups ("undisclosed-recipients:;", "team: a@b, c@d;"), angle
 * addresses, obsolete routes ("<@a,@b:x@y>"), empty list elements and
 * folding white space. For each address calls cb(ctx, addr, addrlen) with
 * the bare addr-spec: no angle brackets or route, comments and white space
 * removed, quoted local parts kept quoted as written. addr is in scratch,
 * NUL-terminated, and is overwritten by the next address; scratchlen
 * >= len + 1 is always enough. A local part without a domain ("root") is
 * passed as is for the caller to qualify. Empty addresses ("<>", ",,")
 * give no call. cb may be NULL to only count.
 *
 * Returns the number of addresses, or -1 on a syntax error that leaves
 * the recipients unclear: unbalanced quotes, comments, brackets or angle
 * brackets; words with nothing between them outside a display name
 * ("John Doe", "a@b c@d"); a nested group; more than one '@'; an empty
 * local part or domain; a NUL or control character; scratch too small.
 * cb may have been called for the addresses before the error. A ';'
 * outside a group is taken as a separator, and a group left open at the
 * end is accepted. Never reads past value + len. */
int mailhdr_addresses(const char *value, size_t len, char *scratch,
    size_t scratchlen, void (*cb)(void *ctx, const char *addr, size_t addrlen),
    void *ctx);

/* mailhdr_date - t as an RFC 5322 date-time in local time ("Wed, 25 Nov
 * 2026 10:00:00 +0000", 3.3) into buf (MAILHDR_DATE_LEN is enough);
 * English names whatever the locale. Returns buf; buf is "" when t cannot
 * be represented. */
char *mailhdr_date(long long t, char *buf, size_t len);

/* mailhdr_message_id - "<id@hostname>" into buf (RFC 5322 3.6.4); a NULL
 * or empty hostname is "localhost". Returns buf, or NULL when buf is too
 * small, id is NULL or empty, or id or hostname holds anything but
 * printable ASCII (33..126) or one of '<', '>', '@'. */
char *mailhdr_message_id(const char *id, const char *hostname, char *buf,
    size_t len);

#endif
