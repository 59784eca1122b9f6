/*
 * fuzz_smtp_client.c - libFuzzer target for core/smtp_client.c: a
 * server's side of a conversation. The first three octets choose the
 * options and the messages; the rest is split on NUL octets into the
 * server's segments, each cut into replies with smtp_reply_parse() (a
 * malformed or incomplete rest goes to the machine as it is). Actions
 * are answered blindly: TLS handshakes succeed or fail as an option bit
 * says, data is sent, SC_READY starts the next message or quits.
 *
 * Invariants checked (abort on violation): the output holds at most
 * SMTP_CLIENT_OUT_MAX octets, no NUL, and every CR and LF in it belong
 * to a CRLF; results are written only within the array (ASan watches a
 * heap array of the exact size) and none is left PENDING once SC_READY
 * or SC_CLOSE ends a message; texts are terminated and free of control
 * characters; a closed machine stays closed and sends nothing; dot-
 * stuffing a part of the input in two chunks stays within 2 * len, and
 * taking one dot off every line start gives the input back, every line
 * end in it (CRLF, bare CR, bare LF) made CRLF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/smtp_client.h"
#include "core/spool_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct fz {
	struct smtp_client c;
	struct smtp_client_msg m;
	struct smtp_rcpt_result *res;	/* exactly m.n_rcpt entries */
	int in_msg;			/* a message is under way */
	int tls_ok;
	unsigned msgs_left;
	int closed;
};

static void check_text(const char *t)
{
	size_t i;

	CHECK(memchr(t, '\0', SMTP_CLIENT_TEXT_MAX) != NULL);
	for (i = 0; t[i]; i++)
		CHECK((unsigned char)t[i] >= 0x20 && t[i] != 0x7f);
}

/* check_output - CRLF-only lines within the buffer; then take them */
static void check_output(struct smtp_client *c)
{
	size_t n, i;
	const char *p = smtp_client_output(c, &n);

	CHECK(n <= SMTP_CLIENT_OUT_MAX);
	CHECK(n == 0 || (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n'));
	for (i = 0; i < n; i++) {
		CHECK(p[i] != '\0');
		if (p[i] == '\r')
			CHECK(i + 1 < n && p[i + 1] == '\n');
		if (p[i] == '\n')
			CHECK(i > 0 && p[i - 1] == '\r');
	}
	smtp_client_output_reset(c);
	CHECK(smtp_client_output(c, &n) != NULL && n == 0);
}

static void check_settled(const struct fz *f)
{
	size_t i;

	for (i = 0; i < f->m.n_rcpt; i++) {
		CHECK(f->res[i].status == SC_RCPT_OK || f->res[i].status == SC_RCPT_DEFER ||
		    f->res[i].status == SC_RCPT_FAIL);
		check_text(f->res[i].text);
	}
}

/* act - follow the action until the machine waits for a reply */
static void act(struct fz *f, enum smtp_client_action a)
{
	for (;;) {
		check_output(&f->c);
		if (smtp_client_error(&f->c))
			check_text(smtp_client_error(&f->c));
		switch (a) {
		case SC_SEND_READ:
			CHECK(!f->closed);
			return;
		case SC_STARTTLS:
			a = smtp_client_tls_done(&f->c, f->tls_ok);
			continue;
		case SC_DATA:
			CHECK(f->in_msg);
			a = smtp_client_data_sent(&f->c);
			continue;
		case SC_READY:
			CHECK(!f->closed);
			if (f->in_msg)
				check_settled(f);
			if (f->msgs_left > 0) {
				f->msgs_left--;
				f->in_msg = 1;
				a = smtp_client_msg_start(&f->c, &f->m, f->res);
			} else {
				a = smtp_client_quit(&f->c);
				CHECK(a == SC_CLOSE);
			}
			continue;
		case SC_CLOSE:
			if (f->in_msg)
				check_settled(f);
			f->closed = 1;
			return;
		default:
			abort();
		}
	}
}

/* dotstuff_check - stuff in[0..len) in two chunks, then undo it */
static void dotstuff_check(const char *in, size_t len, size_t cut)
{
	struct smtp_dotstuff d;
	char *out = malloc(2 * len + 6);
	size_t n, k, i, j = 0;
	int ls = 1;

	CHECK(out != NULL);
	smtp_dotstuff_init(&d);
	n = smtp_dotstuff(&d, in, cut, out);
	CHECK(n <= 2 * cut);
	k = smtp_dotstuff(&d, in + cut, len - cut, out + n);
	CHECK(k <= 2 * (len - cut));
	n += k;
	/* undone: the input, each line end (CRLF, bare CR, bare LF) as CRLF */
	for (i = 0; i < n; i++) {
		if (ls && out[i] == '.') {
			CHECK(i + 1 < n && out[i + 1] == '.');
			i++;
		}
		if (out[i] == '\r' || out[i] == '\n') {
			CHECK(out[i] == '\r' && i + 1 < n && out[i + 1] == '\n');
			i++;
			CHECK(j < len && (in[j] == '\r' || in[j] == '\n'));
			if (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')
				j++;
			j++;
			ls = 1;
			continue;
		}
		CHECK(j < len && out[i] == in[j]);
		j++;
		ls = 0;
	}
	CHECK(j == len);
	k = smtp_dotstuff_end(&d, out + n);
	CHECK(k == 3 || k == 5);
	CHECK(memcmp(out + n + k - 3, ".\r\n", 3) == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = { "a@example.org", "b@example.org",
		"c\xc3\xa9@example.org", "bad address", "d@example.org",
		"e@example.org", "f>@x", "g@example.org" };
	static const unsigned notify[] = { SPOOL_NOTIFY_SUCCESS, 0, SPOOL_NOTIFY_NEVER,
		SPOOL_NOTIFY_FAILURE | SPOOL_NOTIFY_DELAY, 0, SPOOL_NOTIFY_DELAY, 0, 15 };
	static const char *const orcpt[] = { "rfc822;a@example.org", NULL, "x",
		NULL, "rfc822;d+40x", NULL, NULL, "rfc822;g@example.org" };
	const char *rcpt[8];
	struct smtp_client_opts o;
	struct fz f;
	const char *buf = (const char *)data;
	size_t pos = 3, i, n_rcpt;
	uint8_t b0, b1, b2;

	if (size < 3)
		return 0;
	b0 = data[0];
	b1 = data[1];
	b2 = data[2];
	dotstuff_check(buf, size < 300 ? size : 300, (size_t)b2 % (size < 300 ? size + 1 : 301));

	memset(&o, 0, sizeof(o));
	o.helo_name = "client.test";
	o.tls_possible = b0 & 1;
	o.tls_required = (b0 >> 1) & 1;
	o.tls_on_connect = (b0 >> 2) & 1;
	if (b0 & 8) {
		o.auth_user = "user";
		o.auth_pass = "pass";
	}
	o.auth_over_plain = (b0 >> 4) & 1;

	memset(&f, 0, sizeof(f));
	f.tls_ok = (b0 >> 5) & 1;
	n_rcpt = b1 & 7;
	for (i = 0; i < n_rcpt; i++) {
		/* bit 4 lets the bad and non-ASCII addresses in */
		static const size_t good[] = { 0, 1, 4, 5, 7 };

		rcpt[i] = (b1 & 16) ? addrs[i] : addrs[good[i % 5]];
	}
	f.m.sender = (b1 & 32) ? "" : "sender@example.net";
	f.m.rcpt = rcpt;
	f.m.n_rcpt = n_rcpt;
	if (b1 & 8) {
		f.m.notify = notify;
		f.m.orcpt = orcpt;
		f.m.envid = "ENV+2Bid";
		f.m.ret_full = 1;
	}
	f.m.size = (unsigned long long)b2 * 100;
	f.m.body_8bit = (b0 >> 6) & 1;
	f.m.smtputf8 = (b0 >> 7) & 1;
	f.msgs_left = 1 + (b1 >> 6);
	/* an exact-size heap array: ASan sees any write past it */
	f.res = malloc((n_rcpt ? n_rcpt : 1) * sizeof(*f.res));
	CHECK(f.res != NULL);

	smtp_client_init(&f.c, &o);
	check_output(&f.c);
	while (pos < size && !f.closed) {
		const char *seg = buf + pos, *nul = memchr(seg, '\0', size - pos);
		size_t seglen = nul ? (size_t)(nul - seg) : size - pos, off = 0;

		pos += seglen + (nul ? 1 : 0);
		while (off < seglen && !f.closed) {
			struct smtp_reply r;
			const char *err;
			long used = smtp_reply_parse(seg + off, seglen - off, &r, &err);

			if (used <= 0)
				used = (long)(seglen - off);	/* as it is */
			act(&f, smtp_client_reply(&f.c, seg + off, (size_t)used));
			off += (size_t)used;
		}
	}
	if (!f.closed) {
		CHECK(smtp_client_abort(&f.c, "end of input") == SC_CLOSE);
		f.closed = 1;
		check_output(&f.c);
		if (f.in_msg)
			check_settled(&f);
	}
	/* closed stays closed */
	CHECK(smtp_client_reply(&f.c, "250 ok\r\n", 8) == SC_CLOSE);
	CHECK(smtp_client_abort(&f.c, "again") == SC_CLOSE);
	CHECK(smtp_client_quit(&f.c) == SC_CLOSE);
	{
		size_t n;

		(void)smtp_client_output(&f.c, &n);
		CHECK(n == 0);
	}
	if (f.in_msg)
		check_settled(&f);
	CHECK(smtp_client_msg_start(&f.c, &f.m, f.res) == SC_CLOSE);
	for (i = 0; i < n_rcpt; i++)
		CHECK(f.res[i].status == SC_RCPT_DEFER);
	check_settled(&f);
	free(f.res);
	return 0;
}
