/*
 * test_smtp_session.c - the SMTP server state machine, line by line: every
 * state transition, the replies of each command in each state, relay
 * control, limits, error counting, and the envelope it builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/smtp_session.h"
#include "core/spool_env.h"

static struct config *cfg_load(const char *extra)
{
	char text[2048];
	struct config *cfg;

	snprintf(text, sizeof(text),
	    "primary_hostname = mx.test\n"
	    "relay_from_hosts = 192.0.2.0/24 : ::1\n"
	    "recipients_max = 3\n"
	    "message_size_limit = 10K\n"
	    "smtp_max_unknown_commands = 2\n"
	    "%s\n"
	    "[aliases]\nroot = admin@example.net\n", extra);
	cfg = config_load_string("t.conf", text, stderr);
	assert_non_null(cfg);
	return cfg;
}

/* send a line; return the replies it produced (static buffer) */
static const char *say(struct smtp_sess *s, const char *line, enum smtp_action *a)
{
	static char buf[4096];
	enum smtp_action act;

	smtp_out_reset(&s->out);
	act = smtp_sess_line(s, line, strlen(line));
	if (a)
		*a = act;
	snprintf(buf, sizeof(buf), "%.*s", (int)s->out.len, s->out.buf ? s->out.buf : "");
	return buf;
}

#define EXPECT(s, line, prefix) do { \
	const char *r_ = say(s, line, NULL); \
	if (strncmp(r_, prefix, strlen(prefix)) != 0) \
		fail_msg("'%s' -> '%s', wanted '%s'", line, r_, prefix); \
} while (0)

static void start(struct smtp_sess *s, struct config *cfg, const char *addr)
{
	assert_int_equal(smtp_sess_init(s, cfg, addr, 4000, 0, 0), 0);
	assert_true(strncmp(s->out.buf, "220 mx.test ESMTP", 17) == 0);
	assert_int_equal(s->state, SMTP_ST_FRESH);
}

static void test_happy_path(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;
	enum smtp_action a;
	const char *r;
	char *head;
	size_t len;

	(void)state;
	start(&s, cfg, "192.0.2.9");
	r = say(&s, "EHLO client.test", NULL);
	assert_non_null(strstr(r, "250-mx.test Hello client.test [192.0.2.9]\r\n"));
	assert_non_null(strstr(r, "250-SIZE 10240\r\n"));
	assert_non_null(strstr(r, "250-PIPELINING\r\n"));
	assert_null(strstr(r, "STARTTLS"));
	assert_int_equal(s.state, SMTP_ST_READY);
	EXPECT(&s, "MAIL FROM:<alice@example.net> BODY=8BITMIME SIZE=100", "250 2.1.0");
	assert_int_equal(s.state, SMTP_ST_MAIL);
	assert_true(s.env->body_8bit);
	EXPECT(&s, "RCPT TO:<bob@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.org",
	    "250 2.1.5");
	assert_int_equal(s.state, SMTP_ST_RCPT);
	EXPECT(&s, "RCPT TO:<root@MX.TEST>", "250 2.1.5");
	r = say(&s, "DATA", &a);
	assert_int_equal(a, SMTP_A_DATA);
	assert_true(strncmp(r, "354 ", 4) == 0);
	assert_int_equal(s.state, SMTP_ST_DATA);
	head = smtp_sess_spool_head(&s, "abcdef-ghijkl-mnop", 1764064800, &len);
	assert_non_null(head);
	assert_non_null(strstr(head, "sender: <alice@example.net>\n"));
	assert_non_null(strstr(head, "rcpt: <bob@example.org> notify=failure,delay orcpt=rfc822;bob@example.org\n"));
	assert_non_null(strstr(head, "protocol: esmtp\n"));
	assert_non_null(strstr(head, "\n\nReceived: from client.test ([192.0.2.9] port=4000)\r\n"));
	/* two recipients: no "for" clause */
	assert_null(strstr(head, "\tfor <"));
	free(head);
	smtp_out_reset(&s.out);
	smtp_sess_data_done(&s, SMTP_DR_OK, "abcdef-ghijkl-mnop");
	assert_true(strncmp(s.out.buf, "250 2.0.0 OK id=abcdef-ghijkl-mnop", 34) == 0);
	assert_int_equal(s.state, SMTP_ST_READY);
	assert_null(s.env);
	r = say(&s, "QUIT", &a);
	assert_int_equal(a, SMTP_A_CLOSE);
	assert_true(strncmp(r, "221 ", 4) == 0);
	assert_int_equal(s.state, SMTP_ST_CLOSED);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_sequence_errors(void **state)
{
	struct config *cfg = cfg_load("smtp_max_synprot_errors = 0");
	struct smtp_sess s;

	(void)state;
	start(&s, cfg, "192.0.2.9");
	EXPECT(&s, "MAIL FROM:<a@example.net>", "503 5.5.1 Send EHLO or HELO first");
	EXPECT(&s, "RCPT TO:<b@example.org>", "503");
	EXPECT(&s, "DATA", "503");
	EXPECT(&s, "NOOP", "250");
	EXPECT(&s, "RSET", "250");
	EXPECT(&s, "VRFY root", "252 2.5.2");
	EXPECT(&s, "HELP", "214");
	EXPECT(&s, "HELO c", "250 mx.test Hello c");
	EXPECT(&s, "RCPT TO:<b@example.org>", "503 5.5.1 MAIL first");
	EXPECT(&s, "DATA", "503 5.5.1 MAIL first");
	EXPECT(&s, "MAIL FROM:<>", "250");
	EXPECT(&s, "MAIL FROM:<>", "503 5.5.1 Nested MAIL");
	EXPECT(&s, "DATA", "554 5.5.1 No valid recipients");
	EXPECT(&s, "RCPT TO:<>", "553 5.1.3");
	EXPECT(&s, "RSET", "250");
	assert_int_equal(s.state, SMTP_ST_READY);
	EXPECT(&s, "STARTTLS", "502 5.5.1");
	EXPECT(&s, "AUTH PLAIN", "502 5.5.1");
	EXPECT(&s, "EXPN list", "502 5.5.1");
	/* HELO again resets the transaction */
	EXPECT(&s, "MAIL FROM:<a@example.net>", "250");
	EXPECT(&s, "EHLO again", "250-");
	assert_int_equal(s.state, SMTP_ST_READY);
	assert_null(s.env);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_relay_control(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;

	(void)state;
	/* a stranger: local aliases only */
	start(&s, cfg, "198.51.100.7");
	EXPECT(&s, "EHLO x", "250");
	EXPECT(&s, "MAIL FROM:<spammer@example.com>", "250");
	EXPECT(&s, "RCPT TO:<victim@example.org>", "550 5.7.1 <victim@example.org>: relay not permitted");
	EXPECT(&s, "RCPT TO:<root@mx.test>", "250");
	EXPECT(&s, "RCPT TO:<nobody@mx.test>", "550 5.1.1");
	EXPECT(&s, "RCPT TO:<\"root\"@mx.test>", "550 5.1.1");
	EXPECT(&s, "RCPT TO:<postmaster>", "250");	/* falls back to root's alias */
	smtp_sess_fini(&s);
	/* a relay client */
	start(&s, cfg, "192.0.2.200");
	EXPECT(&s, "EHLO x", "250");
	EXPECT(&s, "MAIL FROM:<a@example.com>", "250");
	EXPECT(&s, "RCPT TO:<anyone@example.org>", "250");
	smtp_sess_fini(&s);
	/* IPv6 loopback from the list */
	start(&s, cfg, "::1");
	EXPECT(&s, "EHLO x", "250");
	EXPECT(&s, "MAIL FROM:<a@example.com>", "250");
	EXPECT(&s, "RCPT TO:<anyone@example.org>", "250");
	smtp_sess_fini(&s);
	/* a local submission may relay */
	assert_int_equal(smtp_sess_init(&s, cfg, "127.0.0.1", 0, 1, 0), 0);
	EXPECT(&s, "HELO x", "250");
	EXPECT(&s, "MAIL FROM:<a@example.com>", "250");
	EXPECT(&s, "RCPT TO:<anyone@example.org>", "250");
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_limits(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	EXPECT(&s, "EHLO x", "250");
	EXPECT(&s, "MAIL FROM:<a@example.net> SIZE=20000", "552 5.3.4");
	assert_int_equal(s.state, SMTP_ST_READY);
	EXPECT(&s, "MAIL FROM:<a@example.net> SIZE=x", "501");
	EXPECT(&s, "MAIL FROM:<a@example.net> FOO=BAR", "555 5.5.4");
	EXPECT(&s, "MAIL FROM:<a@example.net> SIZE=10240", "250");
	EXPECT(&s, "RCPT TO:<a@example.org>", "250");
	EXPECT(&s, "RCPT TO:<b@example.org>", "250");
	EXPECT(&s, "RCPT TO:<c@example.org>", "250");
	EXPECT(&s, "RCPT TO:<d@example.org>", "452 4.5.3");
	EXPECT(&s, "RCPT TO:<e@example.org> NOTIFY=NEVER,SUCCESS", "501");
	EXPECT(&s, "RCPT TO:<e@example.org> BOGUS", "555");
	assert_int_equal(s.env->n_rcpt, 3);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_error_counting(void **state)
{
	struct config *cfg = cfg_load("smtp_max_synprot_errors = 3");
	struct smtp_sess s;
	enum smtp_action a;
	const char *r;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	EXPECT(&s, "FOO", "500 5.5.1");
	EXPECT(&s, "BAR", "500 5.5.1");
	r = say(&s, "BAZ", &a);
	assert_int_equal(a, SMTP_A_CLOSE);
	assert_non_null(strstr(r, "421 4.7.0"));
	smtp_sess_fini(&s);

	start(&s, cfg, "192.0.2.1");
	EXPECT(&s, "MAIL FROM:<a@b>", "503");
	EXPECT(&s, "RCPT TO:<a@b>", "503");
	EXPECT(&s, "DATA", "503");
	r = say(&s, "DATA", &a);
	assert_int_equal(a, SMTP_A_CLOSE);
	assert_non_null(strstr(r, "421 4.7.0"));
	assert_int_equal(s.state, SMTP_ST_CLOSED);
	/* nothing is answered after the close */
	assert_int_equal(smtp_sess_line(&s, "NOOP", 4), SMTP_A_CLOSE);
	smtp_sess_fini(&s);

	start(&s, cfg, "192.0.2.1");
	r = (smtp_out_reset(&s.out), smtp_sess_line_too_long(&s), s.out.buf);
	assert_true(strncmp(r, "500 5.5.2", 9) == 0);
	r = (smtp_out_reset(&s.out), smtp_sess_timeout(&s), s.out.buf);
	assert_true(strncmp(r, "421 4.4.2", 9) == 0);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_data_outcomes(void **state)
{
	static const struct {
		enum smtp_data_result r;
		const char *reply;
	} cases[] = {
		{ SMTP_DR_BARE_EOL, "550 5.6.0" },
		{ SMTP_DR_TOO_BIG, "552 5.3.4" },
		{ SMTP_DR_NO_SPACE, "452 4.3.1" },
		{ SMTP_DR_LOCAL_ERROR, "451 4.3.0" },
	};
	struct config *cfg = cfg_load("");
	struct smtp_sess s;
	size_t i;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	EXPECT(&s, "EHLO x", "250");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT(&s, "MAIL FROM:<a@example.net>", "250");
		EXPECT(&s, "RCPT TO:<b@example.org>", "250");
		EXPECT(&s, "DATA", "354");
		smtp_out_reset(&s.out);
		smtp_sess_data_done(&s, cases[i].r, "");
		assert_true(strncmp(s.out.buf, cases[i].reply, strlen(cases[i].reply)) == 0);
		assert_int_equal(s.state, SMTP_ST_READY);
		assert_null(s.env);
	}
	assert_int_equal(s.messages, 0);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_single_rcpt_received_for(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;
	char *head;
	size_t len;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	EXPECT(&s, "HELO old.client", "250");
	EXPECT(&s, "MAIL FROM:<a@example.net>", "250");
	EXPECT(&s, "RCPT TO:<b@example.org>", "250");
	EXPECT(&s, "DATA", "354");
	head = smtp_sess_spool_head(&s, "abcdef-ghijkl-mnop", 1764064800, &len);
	assert_non_null(strstr(head, "protocol: smtp\n"));
	assert_non_null(strstr(head, "\tid abcdef-ghijkl-mnop\r\n\tfor <b@example.org>;\r\n"));
	free(head);
	smtp_sess_fini(&s);
	config_release(cfg);
}

static void test_shutdown(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	smtp_out_reset(&s.out);
	assert_int_equal(smtp_sess_shutdown(&s), SMTP_A_CLOSE);
	assert_true(strncmp(s.out.buf, "421 4.3.2", 9) == 0);
	smtp_sess_fini(&s);
	config_release(cfg);
}

/* the glue's free space check: MAIL gets 452 4.3.1, with SIZE= passed */
static long long space_asked;

static int space_low_cb(void *arg, long long size)
{
	space_asked = size;
	return size > *(long long *)arg;
}

static void test_space_low(void **state)
{
	struct config *cfg = cfg_load("");
	long long room = 1000;
	struct smtp_sess s;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	s.space_low = space_low_cb;
	s.space_arg = &room;
	EXPECT(&s, "EHLO client.test", "250-");
	EXPECT(&s, "MAIL FROM:<a@example.net> SIZE=2000", "452 4.3.1 Insufficient system storage");
	assert_int_equal(space_asked, 2000);
	assert_int_equal(s.state, SMTP_ST_READY);
	EXPECT(&s, "RCPT TO:<b@example.org>", "503");
	EXPECT(&s, "MAIL FROM:<a@example.net>", "250 ");
	assert_int_equal(space_asked, 0);
	EXPECT(&s, "RSET", "250 ");
	EXPECT(&s, "MAIL FROM:<a@example.net> SIZE=500", "250 ");
	assert_int_equal(space_asked, 500);
	smtp_sess_fini(&s);
	config_release(cfg);
}

/* found by tests/fuzz/fuzz_smtp_session */
static void test_fuzz_findings(void **state)
{
	struct config *cfg = cfg_load("");
	struct smtp_sess s;
	char *head;
	size_t len;

	(void)state;
	start(&s, cfg, "192.0.2.1");
	/* 8-bit HELO names are not echoed as they are (replies are ASCII) */
	EXPECT(&s, "EHLO caf\xc3\xa9.test", "250-mx.test Hello caf??.test [192.0.2.1]\r\n");
	EXPECT(&s, "MAIL FROM:<a@example.net>", "250");
	/* a recipient the spool could not write is refused, not the message */
	EXPECT(&s, "RCPT TO:<\"b c\"@example.org>", "553 5.1.3");
	EXPECT(&s, "RCPT TO:<\"b>\"@example.org>", "553 5.1.3");
	EXPECT(&s, "DATA", "554");
	/* postmaster@ a local domain goes to root, as the router does */
	EXPECT(&s, "RCPT TO:<PostMaster@mx.test>", "250");
	EXPECT(&s, "RCPT TO:<\"b.c\"@example.org>", "250");
	EXPECT(&s, "DATA", "354");
	head = smtp_sess_spool_head(&s, "abcdef-ghijkl-mnop", 1764064800, &len);
	assert_non_null(head);
	assert_non_null(strstr(head, "helo: caf??.test\n"));
	free(head);
	smtp_sess_fini(&s);
	config_release(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_space_low),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_sequence_errors),
		cmocka_unit_test(test_relay_control),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_error_counting),
		cmocka_unit_test(test_data_outcomes),
		cmocka_unit_test(test_single_rcpt_received_for),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_fuzz_findings),
	};

	return cmocka_run_group_tests_name("smtp_session", tests, NULL, NULL);
}
