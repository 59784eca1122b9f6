/*
 * test_smtp_parse.c - command lines (CRLF, bare LF, too long) and
 * commands: verbs, arguments, MAIL/RCPT paths and parameters, SMTPUTF8,
 * BDAT, bad characters, and the replies chosen for each error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/smtp_parse.h"

/* Each line is parsed from an exact-size heap copy, so a sanitizer sees
 * any read past its end; the copy lives until the next parse. */
static char *line_copy;

static int parse_n(const char *s, size_t n, int utf8, struct smtp_cmd *cmd,
    const char **reply)
{
	free(line_copy);
	line_copy = malloc(n ? n : 1);
	assert_non_null(line_copy);
	memcpy(line_copy, s, n);
	return smtp_cmd_parse(line_copy, n, utf8, cmd, reply);
}

static int parse(const char *s, int utf8, struct smtp_cmd *cmd,
    const char **reply)
{
	return parse_n(s, strlen(s), utf8, cmd, reply);
}

static int teardown(void **state)
{
	(void)state;
	free(line_copy);
	line_copy = NULL;
	return 0;
}

static void assert_span(const char *p, size_t n, const char *want)
{
	if (!p || n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("got '%.*s' (%zu), want '%s'", p ? (int)n : 6,
		    p ? p : "(null)", n, want);
}

/* parse_ok - s parses; returns the command */
static struct smtp_cmd parse_ok(const char *s, int utf8)
{
	struct smtp_cmd cmd;
	const char *reply;
	int rc = parse(s, utf8, &cmd, &reply);

	if (rc != 0)
		fail_msg("'%s': %d %s", s, rc, reply ? reply : "");
	assert_null(reply);
	return cmd;
}

/* parse_bad - s fails with rc and a reply that starts with want */
static void parse_bad(const char *s, int utf8, int rc, const char *want)
{
	struct smtp_cmd cmd;
	const char *reply;
	int got = parse(s, utf8, &cmd, &reply);

	if (got != rc)
		fail_msg("'%s': rc %d, want %d (%s)", s, got, rc,
		    reply ? reply : "no reply");
	assert_non_null(reply);
	if (strncmp(reply, want, strlen(want)) != 0)
		fail_msg("'%s': reply '%s', want '%s...'", s, reply, want);
	assert_null(strpbrk(reply, "\r\n"));
}

static void test_line_find(void **state)
{
	size_t ll;
	int bare;

	(void)state;
	assert_int_equal(smtp_line_find("QUIT\r\nNOOP\r\n", 12, 512, &ll, &bare), 6);
	assert_int_equal(ll, 4);
	assert_int_equal(bare, 0);
	assert_int_equal(smtp_line_find("QUIT\nNOOP", 9, 512, &ll, &bare), 5);
	assert_int_equal(ll, 4);
	assert_int_equal(bare, 1);
	assert_int_equal(smtp_line_find("\r\n", 2, 512, &ll, &bare), 2);
	assert_int_equal(ll, 0);
	assert_int_equal(smtp_line_find("\n", 1, 512, &ll, NULL), 1);
	assert_int_equal(ll, 0);
	assert_int_equal(smtp_line_find("QUIT\r", 5, 512, &ll, &bare), 0);
	assert_int_equal(smtp_line_find("QUIT", 4, 512, &ll, &bare), 0);
	assert_int_equal(smtp_line_find("", 0, 512, &ll, &bare), 0);
	/* a CR inside is part of the line; the parser rejects it */
	assert_int_equal(smtp_line_find("A\rB\r\n", 5, 512, &ll, &bare), 5);
	assert_int_equal(ll, 3);
}

static void test_line_too_long(void **state)
{
	char buf[40];
	size_t ll;
	int bare;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	/* max counts the terminator: 10 bytes with CRLF is the longest */
	buf[8] = '\r';
	buf[9] = '\n';
	assert_int_equal(smtp_line_find(buf, 20, 10, &ll, &bare), 10);
	assert_int_equal(ll, 8);
	buf[8] = 'x';
	buf[9] = 'x';
	assert_int_equal(smtp_line_find(buf, 9, 10, &ll, &bare), 0);
	assert_int_equal(smtp_line_find(buf, 10, 10, &ll, &bare), -1);
	assert_int_equal(smtp_line_find(buf, 40, 10, &ll, &bare), -1);
	/* the LF just past the limit does not count */
	buf[10] = '\n';
	assert_int_equal(smtp_line_find(buf, 40, 10, &ll, &bare), -1);
	buf[9] = '\n';
	assert_int_equal(smtp_line_find(buf, 40, 10, &ll, &bare), 10);
	assert_int_equal(ll, 9);
	assert_int_equal(bare, 1);
}

static void test_verbs(void **state)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
		const char *name;
	} t[] = {
		{ "HELO a", SMTP_V_HELO, "HELO" },
		{ "ehlo a", SMTP_V_EHLO, "EHLO" },
		{ "MaIl FROM:<>", SMTP_V_MAIL, "MAIL" },
		{ "rcpt to:<a@b>", SMTP_V_RCPT, "RCPT" },
		{ "data", SMTP_V_DATA, "DATA" },
		{ "RSET", SMTP_V_RSET, "RSET" },
		{ "NOOP", SMTP_V_NOOP, "NOOP" },
		{ "Quit", SMTP_V_QUIT, "QUIT" },
		{ "VRFY root", SMTP_V_VRFY, "VRFY" },
		{ "EXPN staff", SMTP_V_EXPN, "EXPN" },
		{ "HELP", SMTP_V_HELP, "HELP" },
		{ "StartTLS", SMTP_V_STARTTLS, "STARTTLS" },
		{ "AUTH PLAIN", SMTP_V_AUTH, "AUTH" },
		{ "BDAT 0 LAST", SMTP_V_BDAT, "BDAT" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct smtp_cmd cmd = parse_ok(t[i].line, 0);

		assert_int_equal(cmd.verb, t[i].verb);
		assert_string_equal(smtp_verb_name(cmd.verb), t[i].name);
		assert_non_null(cmd.arg);
	}
	assert_string_equal(smtp_verb_name(SMTP_V_UNKNOWN), "UNKNOWN");
}

static void test_unknown(void **state)
{
	struct smtp_cmd cmd;
	const char *reply;

	(void)state;
	parse_bad("FOO", 0, SMTP_E_UNKNOWN, "500 5.5.1 ");
	parse_bad("MAILFROM:<>", 0, SMTP_E_UNKNOWN, "500 5.5.1 ");
	parse_bad("GET / HTTP/1.1", 0, SMTP_E_UNKNOWN, "500 5.5.1 ");
	parse_bad("HEL", 0, SMTP_E_UNKNOWN, "500 5.5.1 ");
	parse_bad("HELO\tx", 0, SMTP_E_UNKNOWN, "500 5.5.1 ");
	parse_bad("", 0, SMTP_E_SYNTAX, "500 5.5.2 ");
	parse_bad("   ", 0, SMTP_E_SYNTAX, "500 5.5.2 ");
	parse_bad(" QUIT", 0, SMTP_E_SYNTAX, "500 5.5.2 ");
	assert_int_equal(parse("FOO bar", 0, &cmd, &reply), SMTP_E_UNKNOWN);
	assert_int_equal(cmd.verb, SMTP_V_UNKNOWN);
}

static void test_arguments(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	cmd = parse_ok("HELO  client.example.org  ", 0);
	assert_span(cmd.arg, cmd.arglen, "client.example.org");
	assert_null(cmd.path);
	cmd = parse_ok("EHLO [192.0.2.1]", 0);
	assert_span(cmd.arg, cmd.arglen, "[192.0.2.1]");
	/* EHLO takes what clients send; policy is the session's */
	cmd = parse_ok("EHLO my_pc local\tnet", 0);
	assert_span(cmd.arg, cmd.arglen, "my_pc local\tnet");
	parse_bad("HELO", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: HELO");
	parse_bad("EHLO   ", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: EHLO");
	parse_bad("VRFY", 0, SMTP_E_SYNTAX, "501 5.5.4 ");
	parse_bad("EXPN", 0, SMTP_E_SYNTAX, "501 5.5.4 ");
	parse_bad("AUTH", 0, SMTP_E_SYNTAX, "501 5.5.4 ");
	cmd = parse_ok("AUTH PLAIN AGZvbwBiYXI=", 0);
	assert_span(cmd.arg, cmd.arglen, "PLAIN AGZvbwBiYXI=");
	cmd = parse_ok("NOOP", 0);
	assert_int_equal(cmd.arglen, 0);
	cmd = parse_ok("NOOP anything at all", 0);
	assert_span(cmd.arg, cmd.arglen, "anything at all");
	cmd = parse_ok("HELP mail", 0);
	assert_span(cmd.arg, cmd.arglen, "mail");
	cmd = parse_ok("VRFY <postmaster@example.net>", 0);
	assert_span(cmd.arg, cmd.arglen, "<postmaster@example.net>");

	/* commands without arguments: trailing space is fine, words not */
	cmd = parse_ok("DATA ", 0);
	assert_int_equal(cmd.arglen, 0);
	cmd = parse_ok("QUIT\t", 0);
	assert_int_equal(cmd.verb, SMTP_V_QUIT);
	parse_bad("DATA now", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: DATA");
	parse_bad("RSET x", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: RSET");
	parse_bad("QUIT please", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: QUIT");
	parse_bad("STARTTLS x", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: STARTTLS");
}

static void test_bad_chars(void **state)
{
	struct smtp_cmd cmd;
	const char *reply;

	(void)state;
	assert_int_equal(parse_n("NOOP\0x", 6, 0, &cmd, &reply), SMTP_E_CHAR);
	assert_string_equal(reply, "500 5.5.2 Syntax error: control character in command");
	assert_int_equal(parse_n("\0", 1, 0, &cmd, &reply), SMTP_E_CHAR);
	parse_bad("MAIL FROM:<a@b>\rRCPT TO:<c@d>", 0, SMTP_E_CHAR, "500 5.5.2 ");
	parse_bad("HELO a\x7f", 0, SMTP_E_CHAR, "500 5.5.2 ");
	parse_bad("HELO \x1b[31m", 0, SMTP_E_CHAR, "500 5.5.2 ");
	parse_bad("NOOP \n", 0, SMTP_E_CHAR, "500 5.5.2 ");
	/* TAB is allowed where free text is */
	parse_ok("NOOP a\tb", 0);
}

static void test_long(void **state)
{
	char buf[SMTP_CMD_LINE_MAX + 8];
	struct smtp_cmd cmd;
	const char *reply;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "NOOP ", 5);
	assert_int_equal(parse_n(buf, SMTP_CMD_LINE_MAX - 2, 0, &cmd, &reply), 0);
	assert_int_equal(parse_n(buf, SMTP_CMD_LINE_MAX - 1, 0, &cmd, &reply),
	    SMTP_E_LONG);
	assert_string_equal(reply, SMTP_REPLY_LINE_TOO_LONG);
	assert_int_equal(parse_n(buf, sizeof(buf), 0, &cmd, &reply), SMTP_E_LONG);
}

static void test_mail_paths(void **state)
{
	static const struct {
		const char *line, *path, *domain;
	} ok[] = {
		{ "MAIL FROM:<user@example.net>", "user@example.net", "example.net" },
		{ "MAIL FROM: <user@example.net>", "user@example.net", "example.net" },
		{ "mail from:<a.b+c@mx-1.Example.NET>", "a.b+c@mx-1.Example.NET", "mx-1.Example.NET" },
		{ "MAIL FROM:<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~@x", "x" },
		{ "MAIL FROM:<\"john doe\"@example.net>", "\"john doe\"@example.net", "example.net" },
		{ "MAIL FROM:<\"a@b>c\\\"d\"@example.net>", "\"a@b>c\\\"d\"@example.net", "example.net" },
		{ "MAIL FROM:<\"\"@example.net>", "\"\"@example.net", "example.net" },
		{ "MAIL FROM:<u@[192.0.2.1]>", "u@[192.0.2.1]", "[192.0.2.1]" },
		{ "MAIL FROM:<u@[255.255.255.255]>", "u@[255.255.255.255]", "[255.255.255.255]" },
		{ "MAIL FROM:<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]" },
		{ "MAIL FROM:<u@[ipv6:::ffff:192.0.2.1]>", "u@[ipv6:::ffff:192.0.2.1]", "[ipv6:::ffff:192.0.2.1]" },
		{ "MAIL FROM:<@relay.example:user@example.net>", "user@example.net", "example.net" },
		{ "MAIL FROM:<@a.example,@b.example:user@example.net>", "user@example.net", "example.net" },
		{ "MAIL FROM:<u@localhost>", "u@localhost", "localhost" },
		{ "MAIL FROM:<u@1.2.3.4>", "u@1.2.3.4", "1.2.3.4" },
		{ "MAIL FROM:<u@xn--bcher-kva.example>", "u@xn--bcher-kva.example", "xn--bcher-kva.example" },
	};
	struct smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cmd = parse_ok(ok[i].line, 0);
		assert_int_equal(cmd.verb, SMTP_V_MAIL);
		assert_span(cmd.path, cmd.pathlen, ok[i].path);
		assert_span(cmd.domain, cmd.domainlen, ok[i].domain);
		assert_int_equal(cmd.locallen,
		    strlen(ok[i].path) - strlen(ok[i].domain) - 1);
		assert_true(cmd.path >= line_copy &&
		    cmd.path + cmd.pathlen <= line_copy + strlen(ok[i].line));
		assert_int_equal(cmd.nparam, 0);
	}

	cmd = parse_ok("MAIL FROM:<>", 0);
	assert_non_null(cmd.path);
	assert_int_equal(cmd.pathlen, 0);
	assert_null(cmd.domain);
	cmd = parse_ok("MAIL FROM: <> SIZE=0", 0);
	assert_int_equal(cmd.pathlen, 0);
	assert_int_equal(cmd.nparam, 1);
}

static void test_mail_bad(void **state)
{
	static const char *const syntax[] = {
		"MAIL", "MAIL FROM", "MAIL FROM:", "MAIL FROM:user@example.net",
		"MAIL FROM:  <a@b>", "MAIL  FROM:<a@b>", "MAIL FROM :<a@b>",
		"MAIL TO:<a@b>", "MAIL FROM:<a@b", "MAIL FROM:<a@b>x",
		"MAIL FROM:<a@b>,<c@d>", "MAIL FROM:<\"a@b>", "MAIL FROM:\t<a@b>",
		"MAIL FROM:<<a@b>>", "MAIL FROM:<a@b>>", "MAIL FROM:<\"a\\\"@example.net>",
	};
	static const char *const path[] = {
		"MAIL FROM:<user>", "MAIL FROM:<postmaster>", "MAIL FROM:<@>",
		"MAIL FROM:<user@>", "MAIL FROM:<@example.net>",
		"MAIL FROM:<.user@example.net>", "MAIL FROM:<user.@example.net>",
		"MAIL FROM:<us..er@example.net>", "MAIL FROM:<us er@example.net>",
		"MAIL FROM:<a@b@example.net>", "MAIL FROM:<a(b)@example.net>",
		"MAIL FROM:<a@-example.net>", "MAIL FROM:<a@example-.net>",
		"MAIL FROM:<a@example..net>", "MAIL FROM:<a@.example.net>",
		"MAIL FROM:<a@example.net.>", "MAIL FROM:<a@exa_mple.net>",
		"MAIL FROM:<a@[192.0.2.256]>", "MAIL FROM:<a@[192.0.2]>",
		"MAIL FROM:<a@[1.2.3.4.5]>", "MAIL FROM:<a@[0001.2.3.4]>",
		"MAIL FROM:<a@[IPv6:2001:db8::g]>", "MAIL FROM:<a@[IPv6:1.2.3.4]>",
		"MAIL FROM:<a@[x-tag:foo]>", "MAIL FROM:<a@[192.0.2.1]x>",
		"MAIL FROM:<a@[]>", "MAIL FROM:<a@192.0.2.1]>",
		"MAIL FROM:<@a.example user@example.net>",
		"MAIL FROM:<@a.example,b.example:user@example.net>",
		"MAIL FROM:<@a..example:user@example.net>",
		"MAIL FROM:<@[192.0.2.1]:user@example.net>",
		"MAIL FROM:<@a.example:>", "MAIL FROM:<@a.example:@b>",
		"MAIL FROM:<\"a\"b@example.net>",
		"MAIL FROM:<a\\b@example.net>", "MAIL FROM:<a@b >",
		"MAIL FROM:< a@b>", "MAIL FROM:<a@b\t>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
		parse_bad(syntax[i], 0, SMTP_E_SYNTAX,
		    "501 5.5.4 Syntax: MAIL FROM:<address>");
	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++)
		parse_bad(path[i], 0, SMTP_E_PATH, "501 5.1.7 ");
}

static void test_rcpt(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	cmd = parse_ok("RCPT TO:<user@example.net>", 0);
	assert_int_equal(cmd.verb, SMTP_V_RCPT);
	assert_span(cmd.path, cmd.pathlen, "user@example.net");
	cmd = parse_ok("RCPT TO: <user@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user+40example.net", 0);
	assert_int_equal(cmd.nparam, 2);
	assert_span(cmd.param[1].val, cmd.param[1].vlen, "rfc822;user+40example.net");
	/* RFC 5321 4.5.1: postmaster without a domain, in any case */
	cmd = parse_ok("RCPT TO:<postmaster>", 0);
	assert_span(cmd.path, cmd.pathlen, "postmaster");
	assert_null(cmd.domain);
	cmd = parse_ok("RCPT TO:<PostMaster>", 0);
	assert_span(cmd.path, cmd.pathlen, "PostMaster");
	cmd = parse_ok("RCPT TO:<@hop.example:user@example.net>", 0);
	assert_span(cmd.path, cmd.pathlen, "user@example.net");

	parse_bad("RCPT TO:<>", 0, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<postmasters>", 0, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<@hop.example:postmaster>", 0, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<user>", 0, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<a@b..c>", 0, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:user@example.net", 0, SMTP_E_SYNTAX,
	    "501 5.5.4 Syntax: RCPT TO:<address>");
	parse_bad("RCPT FROM:<user@example.net>", 0, SMTP_E_SYNTAX,
	    "501 5.5.4 Syntax: RCPT TO:<address>");
	parse_bad("RCPT", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: RCPT TO:<address>");
}

/* mk_path - "<local@domain>" with the given lengths */
static void mk_path(char *buf, const char *verb, size_t local, size_t label,
    size_t labels)
{
	size_t i, j;

	strcpy(buf, verb);
	buf += strlen(buf);
	*buf++ = '<';
	for (i = 0; i < local; i++)
		*buf++ = 'l';
	*buf++ = '@';
	for (i = 0; i < labels; i++) {
		if (i)
			*buf++ = '.';
		for (j = 0; j < label; j++)
			*buf++ = 'd';
	}
	*buf++ = '>';
	*buf = '\0';
}

static void test_lengths(void **state)
{
	char buf[1024];

	(void)state;
	mk_path(buf, "MAIL FROM:", 64, 10, 1);
	parse_ok(buf, 0);
	mk_path(buf, "MAIL FROM:", 65, 10, 1);
	parse_bad(buf, 0, SMTP_E_PATH, "501 5.1.7 Sender address too long");
	mk_path(buf, "RCPT TO:", 65, 10, 1);
	parse_bad(buf, 0, SMTP_E_PATH, "553 5.1.3 Recipient address too long");
	mk_path(buf, "MAIL FROM:", 1, 63, 2);
	parse_ok(buf, 0);
	mk_path(buf, "MAIL FROM:", 1, 64, 2);
	parse_bad(buf, 0, SMTP_E_PATH, "501 5.1.7 Bad sender");
	/* the path with its brackets: 256 octets at most
	 * (2 + 1 + 1 + 4 * 63 + 3 dots = 259; 61-octet last label: 257) */
	mk_path(buf, "MAIL FROM:", 1, 63, 4);
	parse_bad(buf, 0, SMTP_E_PATH, "501 5.1.7 Sender address too long");
	mk_path(buf, "RCPT TO:", 60, 60, 3);	/* 2 + 60 + 1 + 182 = 245 */
	parse_ok(buf, 0);
	/* 2 + 64 + 1 + 189 = 256 */
	strcpy(buf, "MAIL FROM:<");
	memset(buf + 11, 'l', 64);
	strcpy(buf + 75, "@");
	memset(buf + 76, 'd', 63);
	buf[139] = '.';
	memset(buf + 140, 'd', 63);
	buf[203] = '.';
	memset(buf + 204, 'd', 61);
	strcpy(buf + 265, ">");
	parse_ok(buf, 0);
	buf[265] = 'd';
	strcpy(buf + 266, ">");
	parse_bad(buf, 0, SMTP_E_PATH, "501 5.1.7 Sender address too long");
}

static void test_params(void **state)
{
	char buf[1024];
	struct smtp_cmd cmd;
	const struct smtp_param *pm;
	size_t i;

	(void)state;
	cmd = parse_ok("MAIL FROM:<a@b.c> SIZE=12345  BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 ", 0);
	assert_int_equal(cmd.nparam, 5);
	assert_span(cmd.param[0].key, cmd.param[0].klen, "SIZE");
	assert_span(cmd.param[0].val, cmd.param[0].vlen, "12345");
	assert_span(cmd.param[1].key, cmd.param[1].klen, "BODY");
	assert_span(cmd.param[1].val, cmd.param[1].vlen, "8BITMIME");
	assert_span(cmd.param[2].key, cmd.param[2].klen, "SMTPUTF8");
	assert_null(cmd.param[2].val);
	assert_int_equal(cmd.param[2].vlen, 0);
	assert_span(cmd.param[4].val, cmd.param[4].vlen, "QQ314159");
	pm = smtp_param_find(&cmd, "body");
	assert_ptr_equal(pm, &cmd.param[1]);
	assert_null(smtp_param_find(&cmd, "BOD"));
	assert_null(smtp_param_find(&cmd, "AUTH"));
	assert_true(smtp_path_utf8(&cmd));
	cmd = parse_ok("MAIL FROM:<a@b.c> XTEXT=a+2Bb~!\"#$%&'()*,-./:;<>?@[\\]^_`{|}", 0);
	assert_span(cmd.param[0].val, cmd.param[0].vlen,
	    "a+2Bb~!\"#$%&'()*,-./:;<>?@[\\]^_`{|}");
	assert_false(smtp_path_utf8(&cmd));
	cmd = parse_ok("MAIL FROM:<a@b.c> X-Y-1=v", 0);
	assert_span(cmd.param[0].key, cmd.param[0].klen, "X-Y-1");

	parse_bad("MAIL FROM:<a@b.c> SIZE=", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("MAIL FROM:<a@b.c> =1", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("MAIL FROM:<a@b.c> -X=1", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("MAIL FROM:<a@b.c> A_B=1", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("MAIL FROM:<a@b.c> A=1=2", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("MAIL FROM:<a@b.c> A=1\tB=2", 0, SMTP_E_PARAM, "501 5.5.4 ");
	parse_bad("RCPT TO:<a@b.c> NOTIFY=\xc3\xa9", 0, SMTP_E_PARAM, "501 5.6.7 ");

	/* SMTP_PARAMS_MAX parameters, and one more */
	strcpy(buf, "MAIL FROM:<a@b.c>");
	for (i = 0; i < SMTP_PARAMS_MAX; i++)
		strcat(buf, " K=V");
	cmd = parse_ok(buf, 0);
	assert_int_equal(cmd.nparam, SMTP_PARAMS_MAX);
	strcat(buf, " K");
	parse_bad(buf, 0, SMTP_E_PARAM, "501 5.5.4 Too many parameters");
	/* SMTPUTF8 with a value is not the SMTPUTF8 parameter */
	cmd = parse_ok("MAIL FROM:<a@b.c> SMTPUTF8=yes", 0);
	assert_false(smtp_path_utf8(&cmd));
}

static void test_utf8(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	/* without SMTPUTF8, 8-bit paths are refused */
	parse_bad("MAIL FROM:<j\xc3\xb6rg@example.net>", 0, SMTP_E_UTF8, "553 5.6.7 ");
	parse_bad("RCPT TO:<j\xc3\xb6rg@example.net>", 0, SMTP_E_UTF8, "553 5.6.7 ");
	parse_bad("MAIL FROM:<jorg@b\xc3\xbc" "cher.example>", 0, SMTP_E_UTF8, "553 5.6.7 ");
	/* the MAIL that carries SMTPUTF8 is read with it */
	cmd = parse_ok("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8", 0);
	assert_span(cmd.path, cmd.pathlen, "j\xc3\xb6rg@b\xc3\xbc" "cher.example");
	assert_true(smtp_path_utf8(&cmd));
	cmd = parse_ok("MAIL FROM:<a@b.example> smtputf8 ENVID=\xe2\x82\xac", 0);
	assert_span(cmd.param[1].val, cmd.param[1].vlen, "\xe2\x82\xac");
	/* for MAIL only its own parameter counts, not the caller's flag */
	parse_bad("MAIL FROM:<j\xc3\xb6rg@example.net>", 1, SMTP_E_UTF8, "553 5.6.7 ");
	parse_bad("MAIL FROM:<a@b.example> ENVID=\xe2\x82\xac", 1, SMTP_E_PARAM, "501 5.6.7 ");
	/* later RCPTs get utf8 from the caller */
	cmd = parse_ok("RCPT TO:<\"\xe4\xbd\xa0 \xe5\xa5\xbd\"@example.net>", 1);
	cmd = parse_ok("RCPT TO:<\xf0\x9f\x93\xa7@example.net>", 1);
	assert_int_equal(cmd.locallen, 4);
	/* and it must be UTF-8 */
	parse_bad("RCPT TO:<j\xf6rg@example.net>", 1, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<\xc0\xafx@example.net>", 1, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<\xed\xa0\x80x@example.net>", 1, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<\xf4\x90\x80\x80@example.net>", 1, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("RCPT TO:<x@example.net\xc3>", 1, SMTP_E_PATH, "553 5.1.3 ");
	parse_bad("MAIL FROM:<a@b.example> SMTPUTF8 ENVID=\xff", 0, SMTP_E_PARAM, "501 5.5.4 ");
	/* 8-bit free text is the session's business */
	parse_ok("HELP \xc3\xa9", 0);
}

static void test_bdat(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	cmd = parse_ok("BDAT 1000", 0);
	assert_int_equal(cmd.chunk, 1000);
	assert_int_equal(cmd.last, 0);
	cmd = parse_ok("bdat 0 last", 0);
	assert_int_equal(cmd.chunk, 0);
	assert_int_equal(cmd.last, 1);
	cmd = parse_ok("BDAT 18446744073709551615  LAST ", 0);
	assert_true(cmd.chunk == 18446744073709551615ULL);
	assert_int_equal(cmd.last, 1);
	parse_bad("BDAT", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT x", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT -1", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT 10x", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT 10 MORE", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT 10 LAST x", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
	parse_bad("BDAT 18446744073709551616", 0, SMTP_E_SYNTAX, "501 5.5.4 Syntax: BDAT");
}

/* every prefix of a command line parses or fails cleanly, and a reply
 * always comes with a failure */
static void test_prefixes(void **state)
{
	static const char *const lines[] = {
		"MAIL FROM:<@a.example,@b.example:\"x y\"@[IPv6:2001:db8::1]> SIZE=10 BODY=8BITMIME",
		"RCPT TO:<j\303\266rg@b\303\274cher.example> NOTIFY=NEVER",
		"BDAT 123 LAST",
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		for (n = 0; n <= strlen(lines[i]); n++) {
			struct smtp_cmd cmd;
			const char *reply;
			int rc = parse_n(lines[i], n, 1, &cmd, &reply);

			if (rc == 0) {
				assert_null(reply);
			} else {
				assert_true(rc < 0);
				assert_non_null(reply);
				assert_true(reply[0] == '5');
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_find),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_bad_chars),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_mail_paths),
		cmocka_unit_test(test_mail_bad),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests_name("smtp_parse", tests, NULL, teardown);
}
