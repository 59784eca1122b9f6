/*
 * fuzz_mailhdr.c - libFuzzer target for core/mailhdr.c.
 *
 * The input is a message as `sendmail -t` reads it: find the end of the
 * header section, walk the fields and run every field value through the
 * address-list parser, then the whole input too (values from elsewhere).
 * The input is copied into a buffer of its exact size so a read past the
 * end shows under ASan. Invariants that fail abort(): offsets inside the
 * buffer, fields in order, addresses NUL-terminated, no longer than the
 * value, without CR, LF or NUL.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
 *       -D_POSIX_C_SOURCE=200809L -I . tests/fuzz/fuzz_mailhdr.c \
 *       core/mailhdr.c -o fuzz_mailhdr
 *   ./fuzz_mailhdr CORPUS_COPY tests/fuzz/corpus/fuzz_mailhdr
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mailhdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_ctx {
	size_t valuelen;
	int calls;
};

static void fz_addr_cb(void *ctx, const char *addr, size_t addrlen)
{
	struct fz_ctx *c = ctx;

	if (addrlen == 0 || addrlen > c->valuelen || addr[addrlen] != '\0' ||
	    memchr(addr, '\0', addrlen) || memchr(addr, '\r', addrlen) ||
	    memchr(addr, '\n', addrlen))
		abort();
	c->calls++;
}

/* fz_addresses - the parser on value[0..len), into a scratch buffer of
 * exactly len + 1 bytes */
static void fz_addresses(const char *value, size_t len)
{
	struct fz_ctx c = { len, 0 };
	char *scratch = malloc(len + 1);
	int n;

	if (!scratch)
		return;
	n = mailhdr_addresses(value, len, scratch, len + 1, fz_addr_cb, &c);
	if (n < -1 || (n >= 0 && n != c.calls))
		abort();
	free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	size_t hlen, pos = 0, last = 0;
	struct mailhdr_field f;
	char id[128];
	int r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	hlen = mailhdr_end(buf, size);
	if (hlen > size || hlen > MAILHDR_MAX)
		abort();
	if (hlen == 0)
		hlen = size < MAILHDR_MAX ? size : MAILHDR_MAX;	/* EOF case */
	while ((r = mailhdr_next(buf, hlen, &pos, &f)) == 1) {
		if (f.off != last || f.len == 0 || f.off + f.len > hlen ||
		    pos != f.off + f.len || f.namelen == 0 ||
		    f.name != buf + f.off ||
		    f.value < f.name + f.namelen ||
		    f.value + f.valuelen > buf + f.off + f.len)
			abort();
		last = pos;
		(void)mailhdr_is(&f, "to");
		(void)mailhdr_is(&f, "resent-bcc");
		fz_addresses(f.value, f.valuelen);
	}
	if ((r != 0 && r != -1) || pos != last || pos > hlen)
		abort();

	fz_addresses(buf, size);

	/* the formatters: a time and an id taken from the input */
	if (size >= 8) {
		long long t = 0;
		char date[MAILHDR_DATE_LEN];
		size_t k;

		for (k = 0; k < 8; k++)
			t = (long long)((unsigned long long)t << 8 | data[k]);
		mailhdr_date(t, date, sizeof(date));
		if (memchr(date, '\0', sizeof(date)) == NULL)
			abort();
	}
	if (size > 0 && size < 64) {
		char idin[64];

		memcpy(idin, data, size);
		idin[size] = '\0';
		if (mailhdr_message_id(idin, "h.example", id, sizeof(id)) &&
		    (id[0] != '<' || strchr(id, '\n') || strchr(id, ' ')))
			abort();
	}
	free(buf);
	return 0;
}
