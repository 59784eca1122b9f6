/*
 * submit.h - turn what a local program writes to `sendmail` into a
 * message fit for SMTP: pure, no I/O.
 *
 * submit_headers() takes the header section as the program wrote it (LF
 * or CRLF line ends), and returns it with CRLF line ends, without Bcc,
 * with Date, Message-ID and From added when missing (RFC 5322 3.6), and,
 * for -t, reports the recipients of To, Cc and Bcc (and of the Resent-
 * fields when there are any, as sendmail does). Unqualified addresses get
 * "@" qualify_domain.
 *
 * submit_body_feed() converts the body in chunks: every LF, CR or CRLF
 * becomes CRLF (so that nothing tern sends on can be read as an end of
 * data by a downstream server: no SMTP smuggling), and without -i a line
 * holding a single "." ends the input, as sendmail does.
 */
#ifndef TERN_SUBMIT_H
#define TERN_SUBMIT_H

#include <stddef.h>

struct submit_opts {
	int extract;			/* -t */
	const char *qualify_domain;	/* for addresses without a domain */
	const char *from;		/* "Name <user@host>" for a missing From */
	const char *message_id;		/* "<...>" for a missing Message-ID */
	const char *date;		/* RFC 5322 date for a missing Date */
};

/* submit_headers - hdr[0..len) is the start of the input, up to and
 * including the empty line that ends the headers (mailhdr_end), or all of
 * it when there is none. Returns a heap buffer (caller frees) with the new
 * header section including its ending empty line, or NULL with err and
 * errno ENOMEM (out of memory: try again) or EINVAL (a bad address).
 * *consumed is how much of hdr was header: a line that is not a header
 * field ends the section (sendmail's and Postfix's reading), and the rest
 * belongs to the body. rcpt_cb is called with each -t recipient,
 * qualified, NUL-terminated. */
char *submit_headers(const char *hdr, size_t len, const struct submit_opts *o,
    void (*rcpt_cb)(void *ctx, const char *addr), void *ctx, size_t *consumed,
    size_t *outlen, char *err, size_t errlen);

/* submit_qualify - addr, or addr@domain when addr has no '@', into buf;
 * NULL when it does not fit */
char *submit_qualify(const char *addr, const char *domain, char *buf, size_t len);

struct submit_body {
	int dot_ends;		/* without -i */
	int state;		/* internal */
	int done;
	unsigned long long bytes;
};

void submit_body_init(struct submit_body *b, int dot_ends);
/* submit_body_feed - convert in[0..len) into out (room for 2 * len + 3
 * bytes); returns bytes of out. At the end of input call it with len 0
 * (final) to end the last line. */
size_t submit_body_feed(struct submit_body *b, const char *in, size_t len,
    int final, char *out);

#endif
