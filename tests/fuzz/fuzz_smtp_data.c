/*
 * fuzz_smtp_data.c - libFuzzer target for core/smtp_data.c: the input is
 * what a client sends after DATA.
 *
 * Invariants checked (abort on violation): decoding in one piece, in two
 * pieces split where the first byte says, and byte by byte gives the same
 * output, consumed count, done and flags; one call writes at most its
 * input + 2 bytes (out buffers are exact-size, so ASan sees overflows);
 * the data ends only after <CRLF>.<CRLF> (or ".\r\n" at the start); a
 * clean decoded message, dot-stuffed again and terminated, decodes to
 * itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct res {
	char *out;
	size_t outlen, consumed;
	int done;
	unsigned flags;
};

/* run - decode in[0..len) in chunks of step bytes (step > 0), except
 * that the first chunk is first bytes long (it may be empty) */
static int run(const char *in, size_t len, size_t first, size_t step,
    struct res *r)
{
	struct smtp_data d;
	size_t pos = 0;
	int k = 0;

	memset(r, 0, sizeof(*r));
	r->out = malloc(len + 2);
	if (!r->out)
		return -1;
	smtp_data_init(&d);
	do {
		size_t n = k++ == 0 ? first : step, used, ol;
		char *chunk, *o;
		int done;

		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n ? n : 1);
		o = malloc(n + 2);
		if (!chunk || !o) {
			free(chunk);
			free(o);
			free(r->out);
			return -1;
		}
		memcpy(chunk, in + pos, n);
		used = smtp_data_feed(&d, chunk, n, o, &ol, &done);
		CHECK(used <= n && ol <= n + 2);
		CHECK(done || used == n);
		CHECK(r->outlen + ol <= len + 2);
		memcpy(r->out + r->outlen, o, ol);
		r->outlen += ol;
		r->consumed += used;
		free(chunk);
		free(o);
		if (done) {
			r->done = 1;
			break;
		}
		pos += n;
	} while (pos < len);
	CHECK(d.bytes == r->outlen);
	r->flags = d.flags;
	return 0;
}

static void same(const struct res *a, const struct res *b)
{
	CHECK(a->outlen == b->outlen && a->consumed == b->consumed &&
	    a->done == b->done && a->flags == b->flags);
	CHECK(memcmp(a->out, b->out, a->outlen) == 0);
}

/* restuff - the transparency procedure of RFC 5321 4.5.2 on a decoded
 * clean message, with the terminator */
static char *restuff(const char *m, size_t n, size_t *outlen)
{
	char *e = malloc(2 * n + 3);
	size_t i, o = 0;
	int bol = 1;

	if (!e)
		return NULL;
	for (i = 0; i < n; i++) {
		if (bol && m[i] == '.')
			e[o++] = '.';
		e[o++] = m[i];
		bol = m[i] == '\n';
	}
	memcpy(e + o, ".\r\n", 3);
	*outlen = o + 3;
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct res one, two, bytes;
	size_t split = size ? data[0] % (size + 1) : 0;

	if (run(in, size, size, size ? size : 1, &one) < 0)
		return 0;
	if (run(in, size, split, size ? size : 1, &two) == 0) {
		same(&one, &two);
		free(two.out);
	}
	if (run(in, size, 1, 1, &bytes) == 0) {
		same(&one, &bytes);
		free(bytes.out);
	}
	CHECK(one.outlen <= one.consumed);
	if (one.done) {
		const char *c = in + one.consumed;

		CHECK(one.consumed >= 3 && memcmp(c - 3, ".\r\n", 3) == 0);
		CHECK(one.consumed == 3 || memcmp(c - 5, "\r\n", 2) == 0);
		CHECK(one.outlen == 0 || (one.outlen >= 2 &&
		    memcmp(one.out + one.outlen - 2, "\r\n", 2) == 0));
	} else {
		CHECK(one.consumed == size);
	}
	if (one.done && !(one.flags & (SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF))) {
		size_t elen;
		char *enc = restuff(one.out, one.outlen, &elen);
		struct res again;

		if (enc && run(enc, elen, elen, elen, &again) == 0) {
			CHECK(again.done && again.consumed == elen);
			CHECK(again.outlen == one.outlen &&
			    memcmp(again.out, one.out, one.outlen) == 0);
			CHECK(again.flags == one.flags);
			free(again.out);
		}
		free(enc);
	}
	free(one.out);
	return 0;
}
