/*
 * fuzz_bounce.c - libFuzzer target for core/bounce.c.
 *
 * The input is the generator's inputs: a flags byte, then fields apart by
 * 0x1e: reporting_mta, id, envid, orig_sender, boundary_seed,
 * orig_headers, orig_body, then for each recipient (up to four) addr,
 * orcpt, status, action, remote_mta, diagnostic. A missing field is
 * NULL; string fields end at a NUL, the header section and the body keep
 * theirs. Each field is copied into a heap buffer of its exact size so a
 * read past the end shows under ASan.
 *
 * Invariants that fail abort(): a report whenever one is due; its length
 * is its strlen; every line ends in CRLF and has at most 998 octets, with
 * no bare CR or LF; the header section holds only the fields tern writes
 * (nothing injected) and ends with its empty line; the boundary opens
 * exactly three parts and closes once and no other line starts with it;
 * every line of the delivery-status part is a known field, a folded
 * continuation or empty. bounce_recipients_for and bounce_rcpt_wanted
 * answer in range, on the input and on the report itself.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
 *       -D_POSIX_C_SOURCE=200809L -I . tests/fuzz/fuzz_bounce.c \
 *       core/bounce.c core/mailhdr.c -o fuzz_bounce
 *   ./fuzz_bounce CORPUS_COPY tests/fuzz/corpus/fuzz_bounce
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounce.h"
#include "core/mailhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FIELDS (7 + 4 * 6)

struct fz_field {
	char *p;	/* NULL: missing */
	size_t len;	/* up to the separator */
};

static int fz_name_in(const struct mailhdr_field *f,
    const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mailhdr_is(f, names[i]))
			return 1;
	return 0;
}

/* fz_lines - CRLF everywhere, lines of at most 998 octets */
static void fz_lines(const char *p, size_t len)
{
	size_t i, col = 0;

	if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
		abort();
	for (i = 0; i < len; i++) {
		if (p[i] == '\0' || p[i] == '\n')
			abort();
		if (p[i] == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n' ||
			    col > BOUNCE_LINE_MAX)
				abort();
			col = 0;
			i++;
			continue;
		}
		col++;
	}
}

static const char fz_dsn_ct[] = "Content-Type: message/delivery-status";

static void fz_check(const char *p, size_t len)
{
	static const char *const top[] = {
		"From", "To", "Subject", "Date", "Message-ID", "References",
		"Auto-Submitted", "X-Failed-Recipients", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding",
		BOUNCE_NOTICE_FIELD,
	};
	static const char *const dsn[] = {
		"Reporting-MTA", "X-Tern-Queue-ID", "Original-Envelope-Id",
		"Arrival-Date", "Final-Recipient", "Original-Recipient",
		"Action", "Status", "Remote-MTA", "Diagnostic-Code",
		"Last-Attempt-Date", "Will-Retry-Until",
	};
	struct mailhdr_field f;
	char bd[128];
	const char *q, *ct = NULL;
	size_t pos = 0, ctlen = 0, n, i;
	int r, delims = 0, closes = 0, in_dsn = 0, part_hdr = 0;

	if (strlen(p) != len)
		abort();
	fz_lines(p, len);
	while ((r = mailhdr_next(p, len, &pos, &f)) == 1) {
		if (!fz_name_in(&f, top, sizeof(top) / sizeof(top[0])))
			abort();
		if (mailhdr_is(&f, "Content-Type")) {
			ct = f.value;
			ctlen = f.valuelen;
		}
	}
	if (r != 0 || pos + 2 > len || memcmp(p + pos, "\r\n", 2) != 0 || !ct)
		abort();
	/* boundary="..." (never folded inside: it has no space) */
	for (q = ct; q + 10 <= ct + ctlen && memcmp(q, "boundary=\"", 10); q++)
		;
	if (q + 10 > ct + ctlen)
		abort();
	q += 10;
	for (n = 0; q + n < ct + ctlen && q[n] != '"'; n++)
		;
	if (n == 0 || n > 70 || q + n >= ct + ctlen)
		abort();
	bd[0] = bd[1] = '-';
	memcpy(bd + 2, q, n);
	n += 2;

	for (i = pos + 2; i < len;) {
		const char *line = p + i;
		size_t ll = (size_t)((const char *)memchr(line, '\r', len - i) -
		    line);

		if (ll >= n && memcmp(line, bd, n) == 0) {
			if (ll == n) {
				delims++;
				part_hdr = 1;
				in_dsn = 0;
			} else if (ll == n + 2 && line[n] == '-' &&
			    line[n + 1] == '-') {
				closes++;
			} else {
				abort();
			}
		} else if (part_hdr) {
			if (ll == 0)
				part_hdr = 0;
			else if (ll == sizeof(fz_dsn_ct) - 1 &&
			    memcmp(line, fz_dsn_ct, ll) == 0)
				in_dsn = 1;
		} else if (in_dsn && ll > 0 && line[0] != ' ') {
			const char *colon = memchr(line, ':', ll);
			struct mailhdr_field df;
			size_t dpos = 0;

			if (!colon || mailhdr_next(line, ll + 2, &dpos,
			    &df) != 1 || !fz_name_in(&df, dsn,
			    sizeof(dsn) / sizeof(dsn[0])))
				abort();
		}
		i += ll + 2;
	}
	if (delims != 3 || closes != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_field fl[FZ_FIELDS];
	struct bounce_rcpt rc[4];
	struct bounce_msg b;
	const char *to = NULL;
	size_t i, k, start, nf, n_rcpt, len = 0;
	unsigned flags;
	char *p;
	int r;

	if (size < 1)
		return 0;
	flags = data[0];
	memset(fl, 0, sizeof(fl));
	for (nf = 0, start = 1, i = 1; nf < FZ_FIELDS; i++) {
		if (i == size || data[i] == 0x1e) {
			fl[nf].len = i - start;
			fl[nf].p = malloc(fl[nf].len + 1);
			if (!fl[nf].p)
				goto out;
			memcpy(fl[nf].p, data + start, fl[nf].len);
			fl[nf].p[fl[nf].len] = '\0';
			nf++;
			start = i + 1;
			if (i == size)
				break;
		}
	}

	memset(&b, 0, sizeof(b));
	memset(rc, 0, sizeof(rc));
	b.reporting_mta = fl[0].p;
	b.id = fl[1].p;
	b.envid = fl[2].p;
	b.orig_sender = fl[3].p;
	b.boundary_seed = fl[4].p;
	b.orig_headers = fl[5].p;
	b.orig_headers_len = fl[5].len;
	b.orig_body = fl[6].p;
	b.orig_body_len = fl[6].len;
	b.ret_full = flags & 1;
	b.to_postmaster = (flags >> 1) & 1;
	b.arrival = (flags & 4) ? 1764064800 : 0;
	b.now = 1764064800 + (long long)(flags >> 3) * 40000;
	b.retry_until = (flags & 0x80) ? 1764064800 + 432000 : 0;
	for (n_rcpt = 0; n_rcpt < 4 && 7 + n_rcpt * 6 < nf; n_rcpt++) {
		struct fz_field *g = &fl[7 + n_rcpt * 6];

		rc[n_rcpt].addr = g[0].p;
		rc[n_rcpt].orcpt = g[1].p;
		rc[n_rcpt].status = g[2].p;
		rc[n_rcpt].action = g[3].p;
		rc[n_rcpt].remote_mta = g[4].p;
		rc[n_rcpt].diagnostic = g[5].p;
		rc[n_rcpt].last_attempt = (flags & 8) ? b.now : 0;
	}
	b.rcpt = rc;
	b.n_rcpt = n_rcpt;

	r = bounce_recipients_for(b.orig_sender, b.orig_headers,
	    b.orig_headers_len, rc, n_rcpt, &to);
	if (r < BOUNCE_TO_NONE || r > BOUNCE_TO_POSTMASTER ||
	    (r != BOUNCE_TO_NONE && !to))
		abort();
	for (k = 0; k < n_rcpt; k++) {
		r = bounce_rcpt_wanted(flags & 15, rc[k].action);
		if (r != 0 && r != 1)
			abort();
	}

	p = bounce_build(&b, &len);
	if (p) {
		fz_check(p, len);
		/* the report as an original: a failed report is never
		 * reported to its null sender */
		r = bounce_recipients_for("", p, len, rc, n_rcpt, &to);
		if (b.to_postmaster && r != BOUNCE_TO_NONE)
			abort();
		free(p);
	} else if (b.orig_sender && *b.orig_sender && n_rcpt > 0) {
		for (k = 0; k < n_rcpt && rc[k].addr; k++)
			;
		if (k == n_rcpt)
			abort();	/* due, and memory is not short here */
	}
out:
	for (i = 0; i < FZ_FIELDS; i++)
		free(fl[i].p);
	return 0;
}
