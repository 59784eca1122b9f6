/*
 * fuzz_smtp_reply.c - libFuzzer target for core/smtp_reply.c: the input
 * is what a server sends; replies are taken off it one by one as the
 * client does, and the EHLO capability reader runs on each.
 *
 * Invariants checked (abort on violation): 0 < consumed <= len; the code
 * is 200..559; the text lies inside the reply; an enhanced code has the
 * reply's class; the reply alone parses to the same result, and every
 * prefix of it is incomplete (0); a failure sets an error string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* parse_copy - parse an exact-size copy of buf[0..len) */
static long parse_copy(const char *buf, size_t len, struct smtp_reply *r)
{
	char *c = malloc(len ? len : 1);
	const char *err;
	long n;

	if (!c)
		abort();
	memcpy(c, buf, len);
	n = smtp_reply_parse(c, len, r, &err);
	CHECK(n >= -1 && (n != -1 || err != NULL));
	if (n > 0)
		r->text = buf + (r->text - c);
	free(c);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t pos = 0;
	unsigned long long sz;

	(void)smtp_reply_ehlo_caps(buf, size, &sz);
	while (pos < size) {
		struct smtp_reply r, r2;
		const char *err = NULL;
		long n = smtp_reply_parse(buf + pos, size - pos, &r, &err);
		size_t i;

		if (n <= 0) {
			CHECK(n == 0 || (n == -1 && err != NULL));
			CHECK(n != 0 || size - pos < SMTP_REPLY_MAX);
			break;
		}
		CHECK(err == NULL);
		CHECK((size_t)n <= size - pos && (size_t)n <= SMTP_REPLY_MAX);
		CHECK(buf[pos + (size_t)n - 1] == '\n');
		CHECK(r.code >= 200 && r.code <= 559 && r.nlines >= 1);
		CHECK(r.text >= buf + pos && r.text + r.textlen <= buf + pos + (size_t)n);
		CHECK(r.enh_class == 0 || r.enh_class == r.code / 100);
		CHECK(memchr(r.text, '\n', r.textlen) == NULL);
		/* the reply on its own: same answer; any prefix: incomplete */
		CHECK(parse_copy(buf + pos, (size_t)n, &r2) == n);
		CHECK(r2.code == r.code && r2.nlines == r.nlines &&
		    r2.text == r.text && r2.textlen == r.textlen &&
		    r2.enh_class == r.enh_class &&
		    r2.enh_subject == r.enh_subject &&
		    r2.enh_detail == r.enh_detail);
		for (i = 0; i < (size_t)n && i < 64; i++)
			CHECK(parse_copy(buf + pos, (size_t)n - 1 - i, &r2) == 0);
		(void)smtp_reply_ehlo_caps(buf + pos, (size_t)n, &sz);
		if (!(smtp_reply_ehlo_caps(buf + pos, (size_t)n, NULL) &
		    SMTP_CAP_SIZE))
			CHECK(sz == 0);
		pos += (size_t)n;
	}
	return 0;
}
