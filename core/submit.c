/*
 * submit.c - prepare a locally submitted message (submit.h). Pure.
 *
 * RFC 5322 3.6: Date and From are required, Message-ID should be there;
 * a submission agent adds them (RFC 6409 8.2, 8.3). Bcc is removed
 * (3.6.3). With -t the recipients come from To, Cc and Bcc, or from the
 * Resent- fields when the message has any (a resent message goes to
 * them, not to the original recipients).
 */
#include "core/submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mailhdr.h"

enum { SB_LINE_START, SB_MID, SB_CR, SB_DOT };

char *submit_qualify(const char *addr, const char *domain, char *buf, size_t len)
{
	int n;

	if (strchr(addr, '@'))
		n = snprintf(buf, len, "%s", addr);
	else
		n = snprintf(buf, len, "%s@%s", addr, domain);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

struct sub_out {
	char *p;
	size_t len, cap;
	int oom;
};

static void so_add(struct sub_out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (!(p = realloc(o->p, cap))) {
			o->oom = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* so_add_crlf - copy text turning every line end (LF, CR, CRLF) into CRLF */
static void so_add_crlf(struct sub_out *o, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			continue;
		so_add(o, s + start, i - start);
		so_add(o, "\r\n", 2);
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	so_add(o, s + start, n - start);
}

struct sub_rcpts {
	const char *domain;
	void (*cb)(void *, const char *);
	void *ctx;
	int bad;
};

static void sub_rcpt_cb(void *ctx, const char *addr, size_t len)
{
	struct sub_rcpts *r = ctx;
	char q[600];

	(void)len;
	if (!submit_qualify(addr, r->domain, q, sizeof(q))) {
		r->bad = 1;
		return;
	}
	if (r->cb)
		r->cb(r->ctx, q);
}

static int sub_is_any(const struct mailhdr_field *f, const char *const *names)
{
	for (; *names; names++)
		if (mailhdr_is(f, *names))
			return 1;
	return 0;
}

char *submit_headers(const char *hdr, size_t len, const struct submit_opts *o,
    void (*rcpt_cb)(void *ctx, const char *addr), void *ctx, size_t *consumed,
    size_t *outlen, char *err, size_t errlen)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", NULL };
	struct sub_rcpts rc = { o->qualify_domain, rcpt_cb, ctx, 0 };
	struct sub_out out = { NULL, 0, 0, 0 };
	struct mailhdr_field f;
	const char *const *from_fields = plain;
	int have_date = 0, have_id = 0, have_from = 0, r;
	char *scratch = NULL;
	size_t pos = 0;

	/* first pass: which fields are there */
	while ((r = mailhdr_next(hdr, len, &pos, &f)) == 1) {
		if (sub_is_any(&f, resent))
			from_fields = resent;
		have_date |= mailhdr_is(&f, "Date");
		have_id |= mailhdr_is(&f, "Message-ID");
		have_from |= mailhdr_is(&f, "From");
	}
	*consumed = pos;
	/* the empty line that ends the section belongs to the headers */
	if (r == 0 && pos < len) {
		if (hdr[pos] == '\r' && pos + 1 < len && hdr[pos + 1] == '\n')
			*consumed = pos + 2;
		else if (hdr[pos] == '\n' || hdr[pos] == '\r')
			*consumed = pos + 1;
	}
	if (o->extract && !(scratch = malloc(len + 1))) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pos = 0;
	while (mailhdr_next(hdr, len, &pos, &f) == 1) {
		if (o->extract && sub_is_any(&f, from_fields)) {
			if (mailhdr_addresses(f.value, f.valuelen, scratch, len + 1,
			    sub_rcpt_cb, &rc) < 0 || rc.bad) {
				snprintf(err, errlen, "bad address in the %.*s: header",
				    (int)(f.namelen > 40 ? 40 : f.namelen), f.name);
				free(scratch);
				free(out.p);
				errno = EINVAL;
				return NULL;
			}
		}
		if (mailhdr_is(&f, "Bcc") || mailhdr_is(&f, "Resent-Bcc"))
			continue;
		so_add_crlf(&out, hdr + f.off, f.len);
		/* a last field without its line end */
		if (f.len == 0 || (hdr[f.off + f.len - 1] != '\n' &&
		    hdr[f.off + f.len - 1] != '\r'))
			so_add(&out, "\r\n", 2);
	}
	free(scratch);
	if (!have_from && o->from) {
		so_add(&out, "From: ", 6);
		so_add(&out, o->from, strlen(o->from));
		so_add(&out, "\r\n", 2);
	}
	if (!have_date && o->date) {
		so_add(&out, "Date: ", 6);
		so_add(&out, o->date, strlen(o->date));
		so_add(&out, "\r\n", 2);
	}
	if (!have_id && o->message_id) {
		so_add(&out, "Message-ID: ", 12);
		so_add(&out, o->message_id, strlen(o->message_id));
		so_add(&out, "\r\n", 2);
	}
	so_add(&out, "\r\n", 2);
	if (out.oom) {
		free(out.p);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	*outlen = out.len;
	return out.p;
}

void submit_body_init(struct submit_body *b, int dot_ends)
{
	memset(b, 0, sizeof(*b));
	b->dot_ends = dot_ends;
	b->state = SB_LINE_START;
}

size_t submit_body_feed(struct submit_body *b, const char *in, size_t len,
    int final, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len && !b->done; i++) {
		char c = in[i];

		switch (b->state) {
		case SB_CR:
			out[o++] = '\r';
			out[o++] = '\n';
			b->state = SB_LINE_START;
			if (c == '\n')
				continue;
			/* FALLTHROUGH */
		case SB_LINE_START:
			if (c == '.' && b->dot_ends) {
				b->state = SB_DOT;
				continue;
			}
			b->state = SB_MID;
			break;
		case SB_DOT:
			if (c == '\n' || c == '\r') {
				b->done = 1;	/* "." alone on a line */
				continue;
			}
			out[o++] = '.';
			b->state = SB_MID;
			break;
		default:
			break;
		}
		if (c == '\r') {
			b->state = SB_CR;
		} else if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			b->state = SB_LINE_START;
		} else {
			out[o++] = c;
		}
	}
	if (final && !b->done) {
		/* a "." line cut short by the end of input still ends it */
		if (b->state != SB_LINE_START && b->state != SB_DOT) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		b->done = 1;
	}
	b->bytes += o;
	return o;
}
