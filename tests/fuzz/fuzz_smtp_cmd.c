/*
 * fuzz_smtp_cmd.c - libFuzzer target for core/smtp_parse.c: the input is
 * what a client sends; it is cut into lines with smtp_line_find as the
 * session does, and each line goes through smtp_cmd_parse with and
 * without SMTPUTF8.
 *
 * Invariants checked (abort on violation): line lengths stay inside the
 * input; a success has no reply and every pointer lies inside the line,
 * within the RFC 5321 limits; a failure has a "5yz " reply without CR/LF;
 * whatever parses without SMTPUTF8 parses the same with it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int inside(const char *p, size_t n, const char *base, size_t len)
{
	return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static void check_reply(const char *reply)
{
	CHECK(reply != NULL);
	CHECK(reply[0] == '5' && reply[1] >= '0' && reply[1] <= '5' &&
	    reply[2] >= '0' && reply[2] <= '9' && reply[3] == ' ');
	CHECK(strpbrk(reply, "\r\n") == NULL);
}

static void check_cmd(const struct smtp_cmd *c, const char *line, size_t n)
{
	size_t i;

	CHECK(c->verb != SMTP_V_UNKNOWN);
	CHECK(c->arg && inside(c->arg, c->arglen, line, n));
	CHECK(strcmp(smtp_verb_name(c->verb), "UNKNOWN") != 0);
	if (c->verb != SMTP_V_MAIL && c->verb != SMTP_V_RCPT) {
		CHECK(c->path == NULL && c->nparam == 0);
		return;
	}
	CHECK(c->path && inside(c->path, c->pathlen, line, n));
	CHECK(c->pathlen + 2 <= SMTP_PATH_MAX);
	CHECK(c->locallen <= SMTP_LOCAL_MAX && c->locallen <= c->pathlen);
	if (c->pathlen == 0)
		CHECK(c->verb == SMTP_V_MAIL && c->domain == NULL);
	if (c->domain) {
		CHECK(inside(c->domain, c->domainlen, c->path, c->pathlen));
		CHECK(c->domainlen > 0 && c->domainlen <= SMTP_DOMAIN_MAX);
		CHECK(c->domain == c->path + c->locallen + 1);
		CHECK(c->domain[-1] == '@');
	}
	CHECK(memchr(c->path, '<', c->pathlen) == NULL || c->path[0] == '"');
	CHECK(c->nparam <= SMTP_PARAMS_MAX);
	for (i = 0; i < c->nparam; i++) {
		const struct smtp_param *p = &c->param[i];

		CHECK(p->klen > 0 && inside(p->key, p->klen, line, n));
		CHECK(!p->val || (p->vlen > 0 && inside(p->val, p->vlen, line, n)));
		CHECK(memchr(p->key, ' ', p->klen) == NULL);
	}
}

static void parse_line(const char *src, size_t n)
{
	/* an exact-size copy, so reading past the line is caught */
	char *line = malloc(n ? n : 1);
	struct smtp_cmd c0, c1;
	const char *r0, *r1;
	int rc0, rc1;

	if (!line)
		return;
	memcpy(line, src, n);
	rc0 = smtp_cmd_parse(line, n, 0, &c0, &r0);
	rc1 = smtp_cmd_parse(line, n, 1, &c1, &r1);
	if (rc0 == 0) {
		CHECK(r0 == NULL);
		check_cmd(&c0, line, n);
		CHECK(rc1 == 0);
		CHECK(c0.verb == c1.verb && c0.path == c1.path &&
		    c0.pathlen == c1.pathlen && c0.nparam == c1.nparam &&
		    c0.domain == c1.domain);
		if (smtp_path_utf8(&c0))
			CHECK(smtp_param_find(&c0, "smtputf8") != NULL);
	} else {
		CHECK(rc0 < 0);
		check_reply(r0);
	}
	if (rc1 == 0) {
		CHECK(r1 == NULL);
		check_cmd(&c1, line, n);
	} else {
		CHECK(rc1 < 0);
		check_reply(r1);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t pos = 0;

	while (pos < size) {
		size_t ll;
		int bare;
		long n = smtp_line_find(buf + pos, size - pos,
		    SMTP_CMD_LINE_MAX, &ll, &bare);

		if (n < 0) {
			const char *lf;

			CHECK(size - pos >= SMTP_CMD_LINE_MAX);
			CHECK(memchr(buf + pos, '\n', SMTP_CMD_LINE_MAX) == NULL);
			lf = memchr(buf + pos, '\n', size - pos);
			if (!lf)
				break;
			pos = (size_t)(lf - buf) + 1;
			continue;
		}
		if (n == 0) {
			/* an unterminated tail: parse it anyway */
			CHECK(memchr(buf + pos, '\n', size - pos) == NULL);
			parse_line(buf + pos, size - pos);
			break;
		}
		CHECK((size_t)n <= size - pos && (size_t)n <= SMTP_CMD_LINE_MAX);
		CHECK(ll + 1 + (bare ? 0 : 1) == (size_t)n);
		CHECK(buf[pos + (size_t)n - 1] == '\n');
		CHECK(memchr(buf + pos, '\n', ll) == NULL);
		parse_line(buf + pos, ll);
		pos += (size_t)n;
	}
	return 0;
}
