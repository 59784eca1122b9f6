/*
 * smtp_data.h - server side SMTP: decode the DATA phase.
 *
 * Pure and incremental: feed whatever the socket delivered, get message
 * content out; no I/O, no allocation. Only <CRLF>.<CRLF> ends the data
 * (RFC 5321 4.1.1.4), so bare LF or CR tricks ("\n.\n", "\r\n.\n", ...)
 * can never end a message here while a downstream peer reads them as the
 * end (SMTP smuggling). Such input is passed through, flagged, and the
 * caller rejects the message when it ends with flags set.
 */
#ifndef TERN_SMTP_DATA_H
#define TERN_SMTP_DATA_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.6: 1000 octets per text line including the CRLF */
#define SMTP_DATA_LINE_MAX 998

/* flags: what was seen in the data so far */
enum {
	SMTP_DATA_BARE_LF = 1,		/* LF not preceded by CR */
	SMTP_DATA_BARE_CR = 2,		/* CR not followed by LF */
	SMTP_DATA_LONG_LINE = 4,	/* a line longer than 998 octets + CRLF */
	SMTP_DATA_NUL = 8,		/* a NUL octet */
	SMTP_DATA_8BIT = 16		/* an octet >= 0x80 (for BODY=7BIT) */
};

struct smtp_data {
	int state;			/* internal: SMTP_DS_* in smtp_data.c */
	unsigned long linelen;		/* decoded octets since the last LF */
	unsigned flags;			/* SMTP_DATA_* */
	unsigned long long bytes;	/* decoded bytes so far */
};

void smtp_data_init(struct smtp_data *d);

/* smtp_data_feed - decode in[0..len) into out, which holds at least
 * len + 2 bytes and does not overlap in. Returns the number of input bytes
 * consumed and sets *outlen to the bytes written. *done becomes 1 when the
 * end-of-data sequence <CRLF>.<CRLF> was consumed; the bytes after it are
 * not consumed (they are pipelined commands), and later calls consume
 * nothing. Output: the content with dot-stuffing removed; every line ends
 * CRLF, the CRLF before the final dot included; the first line of data
 * counts as following a CRLF, so ".\r\n" at once is an empty message.
 * Any split of the input into chunks gives the same result. */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    char *out, size_t *outlen, int *done);

#endif
