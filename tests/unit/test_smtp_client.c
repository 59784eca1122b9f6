/*
 * test_smtp_client.c - the SMTP client state machine, driven through
 * whole conversations of scripted server replies: every byte it sends
 * and every recipient's outcome are checked. Also the reply texts, the
 * base64 helpers and dot-stuffing on every 1- and 2-chunk split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/kconfig.h"
#include "core/smtp_client.h"
#include "core/spool_env.h"

#define BANNER "220 mx.test ESMTP ready\r\n"
#define EHLO_LINE "EHLO client.test\r\n"
#define EHLO_PIPE "250-mx.test hello\r\n250-PIPELINING\r\n250-SIZE 10000\r\n" \
	"250-8BITMIME\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
#define EHLO_PLAIN "250-mx.test hello\r\n250 ENHANCEDSTATUSCODES\r\n"
#define EHLO_TLS "250-mx.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n" \
	"250 STARTTLS\r\n"
#define EHLO_AUTH "250-mx.test hello\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n"

/* take - the output as a string, then empty it as the glue does */
static const char *take(struct smtp_client *c)
{
	static char buf[SMTP_CLIENT_OUT_MAX + 1];
	const char *p;
	size_t n;

	p = smtp_client_output(c, &n);
	assert_true(n <= SMTP_CLIENT_OUT_MAX);
	memcpy(buf, p, n);
	buf[n] = '\0';
	smtp_client_output_reset(c);
	return buf;
}

static const char *act_name(enum smtp_client_action a)
{
	static const char *const names[] = { "SEND_READ", "STARTTLS", "DATA",
		"READY", "CLOSE" };

	return (unsigned)a < 5 ? names[a] : "?";
}

#define STEP(c, call, want_act, want_out) do { \
	enum smtp_client_action a_ = (call); \
	const char *o_ = take(c); \
	if (a_ != (want_act) || strcmp(o_, (want_out)) != 0) \
		fail_msg("line %d: %s -> %s '%s', wanted %s '%s' (error: %s)", \
		    __LINE__, #call, act_name(a_), o_, act_name(want_act), \
		    (want_out), smtp_client_error(c) ? smtp_client_error(c) : "none"); \
} while (0)

/* R - the server sends one reply */
#define R(c, reply, want_act, want_out) \
	STEP(c, smtp_client_reply(c, reply, strlen(reply)), want_act, want_out)

#define RES(res, i, st, cd, txt) do { \
	if ((res)[i].status != (st) || (res)[i].code != (cd) || \
	    strcmp((res)[i].text, (txt)) != 0) \
		fail_msg("line %d: result %d: %d %d '%s', wanted %d %d '%s'", \
		    __LINE__, (int)(i), (res)[i].status, (res)[i].code, \
		    (res)[i].text, (st), (cd), (txt)); \
} while (0)

#define RES_PREFIX(res, i, st, cd, txt) do { \
	if ((res)[i].status != (st) || (res)[i].code != (cd) || \
	    strncmp((res)[i].text, (txt), strlen(txt)) != 0) \
		fail_msg("line %d: result %d: %d %d '%s', wanted %d %d '%s...'", \
		    __LINE__, (int)(i), (res)[i].status, (res)[i].code, \
		    (res)[i].text, (st), (cd), (txt)); \
} while (0)

static struct smtp_client_opts opts(void)
{
	struct smtp_client_opts o;

	memset(&o, 0, sizeof(o));
	o.helo_name = "client.test";
	return o;
}

/* greet - banner and EHLO with the given EHLO reply; SC_READY */
static void greet(struct smtp_client *c, const struct smtp_client_opts *o,
    const char *ehlo_reply)
{
	smtp_client_init(c, o);
	assert_int_equal(smtp_client_timeout(c), 300);
	R(c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(c, ehlo_reply, SC_READY, "");
}

static struct smtp_client_msg msg(const char *sender, const char *const *rcpt,
    size_t n)
{
	struct smtp_client_msg m;

	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.rcpt = rcpt;
	m.n_rcpt = n;
	return m;
}

/* ------------------------------------------------------------ transactions */

static void test_pipelining(void **state)
{
	static const char *const rcpt[] = { "bob@example.org", "carol@example.org" };
	static const unsigned notify[] = { SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE,
		SPOOL_NOTIFY_NEVER };
	static const char *const orcpt[] = { "rfc822;bob@example.org", NULL };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("alice@example.net", rcpt, 2);
	struct smtp_rcpt_result res[2];

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	assert_int_equal(smtp_client_caps(&c), SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
	    SMTP_CAP_8BITMIME | SMTP_CAP_DSN | SMTP_CAP_ENHANCEDSTATUSCODES |
	    SMTP_CAP_SMTPUTF8);
	assert_true(smtp_client_size_limit(&c) == 10000);
	assert_false(smtp_client_tls_active(&c));
	m.notify = notify;
	m.orcpt = orcpt;
	m.envid = "QQ314159";
	m.ret_full = 1;
	m.size = 1234;
	m.body_8bit = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<alice@example.net> SIZE=1234 BODY=8BITMIME RET=FULL ENVID=QQ314159\r\n"
	    "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org\r\n"
	    "RCPT TO:<carol@example.org> NOTIFY=NEVER\r\n"
	    "DATA\r\n");
	assert_int_equal(smtp_client_timeout(&c), 300);
	RES(res, 0, SC_RCPT_PENDING, 0, "");
	R(&c, "250 2.1.0 sender ok\r\n", SC_SEND_READ, "");
	R(&c, "250 2.1.5 bob ok\r\n", SC_SEND_READ, "");
	RES(res, 0, SC_RCPT_PENDING, 250, "250 2.1.5 bob ok");
	R(&c, "250 2.1.5 carol ok\r\n", SC_SEND_READ, "");
	assert_int_equal(smtp_client_timeout(&c), 120);
	R(&c, "354 go ahead\r\n", SC_DATA, "");
	assert_int_equal(smtp_client_timeout(&c), 180);
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	assert_int_equal(smtp_client_timeout(&c), 600);
	R(&c, "250 2.0.0 OK id=1abc\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_OK, 250, "250 2.0.0 OK id=1abc");
	RES(res, 1, SC_RCPT_OK, 250, "250 2.0.0 OK id=1abc");
	assert_null(smtp_client_error(&c));
	assert_int_equal(smtp_client_error_code(&c), 0);
	STEP(&c, smtp_client_quit(&c), SC_CLOSE, "QUIT\r\n");
	/* closed: everything answers SC_CLOSE and sends nothing */
	R(&c, "221 bye\r\n", SC_CLOSE, "");
	STEP(&c, smtp_client_quit(&c), SC_CLOSE, "");
	STEP(&c, smtp_client_abort(&c, "late"), SC_CLOSE, "");
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 0, "connection closed");
	RES(res, 1, SC_RCPT_DEFER, 0, "connection closed");
}

static void test_no_pipelining_mixed(void **state)
{
	static const char *const rcpt[] = { "a@example.org", "b@example.org",
		"c@example.org" };
	static const unsigned notify[] = { SPOOL_NOTIFY_DELAY, 0, 0 };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("", rcpt, 3);
	struct smtp_rcpt_result res[3];

	(void)state;
	greet(&c, &o, EHLO_PLAIN);
	m.notify = notify;	/* no DSN offered: no NOTIFY, RET, ENVID */
	m.ret_full = 1;
	m.envid = "x";
	m.size = 5000;		/* no SIZE offered: no SIZE= */
	m.body_8bit = 1;	/* no 8BITMIME: sent as is, without BODY= */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ, "MAIL FROM:<>\r\n");
	R(&c, "250 OK\r\n", SC_SEND_READ, "RCPT TO:<a@example.org>\r\n");
	R(&c, "550 5.1.1 <a@example.org>: no such user\r\n", SC_SEND_READ,
	    "RCPT TO:<b@example.org>\r\n");
	R(&c, "250 OK\r\n", SC_SEND_READ, "RCPT TO:<c@example.org>\r\n");
	R(&c, "451-4.7.1 greylisted,\r\n451 4.7.1 try later\r\n", SC_SEND_READ,
	    "DATA\r\n");
	R(&c, "354 go on\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 queued as X\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 550, "550 5.1.1 <a@example.org>: no such user");
	RES(res, 1, SC_RCPT_OK, 250, "250 queued as X");
	RES(res, 2, SC_RCPT_DEFER, 451, "451 4.7.1 greylisted, try later");
	/* the transaction ended cleanly: the next MAIL needs no RSET */
	m.n_rcpt = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ, "MAIL FROM:<>\r\n");
	R(&c, "250 OK\r\n", SC_SEND_READ, "RCPT TO:<a@example.org>\r\n");
	/* every recipient rejected: no DATA, and RSET before the next MAIL */
	R(&c, "550 no\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 550, "550 no");
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ, "RSET\r\n");
	R(&c, "250 reset\r\n", SC_SEND_READ, "MAIL FROM:<>\r\n");
	R(&c, "250 OK\r\n", SC_SEND_READ, "RCPT TO:<a@example.org>\r\n");
	R(&c, "250 OK\r\n", SC_SEND_READ, "DATA\r\n");
	R(&c, "354 go on\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_OK, 250, "250 ok");
	/* a MAIL refused (4yz): all defer at once, RSET next time */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ, "MAIL FROM:<>\r\n");
	R(&c, "451 4.3.0 try later\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_DEFER, 451, "451 4.3.0 try later");
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ, "RSET\r\n");
	/* RSET refused: the connection is given up */
	R(&c, "500 what\r\n", SC_CLOSE, "QUIT\r\n");
	RES(res, 0, SC_RCPT_DEFER, 500, "500 what");
	assert_string_equal(smtp_client_error(&c), "RSET: 500 what");
	assert_int_equal(smtp_client_error_code(&c), 500);
}

static void test_two_messages_pipelined(void **state)
{
	static const char *const rcpt1[] = { "a@example.org", "b@example.org" };
	static const char *const rcpt2[] = { "c@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m1 = msg("s@example.net", rcpt1, 2);
	struct smtp_client_msg m2 = msg("s@example.net", rcpt2, 1);
	struct smtp_rcpt_result res1[2], res2[1];

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	/* all recipients rejected; DATA's 554 is ignored */
	STEP(&c, smtp_client_msg_start(&c, &m1, res1), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "550 5.1.1 unknown a\r\n", SC_SEND_READ, "");
	R(&c, "550 5.1.1 unknown b\r\n", SC_SEND_READ, "");
	R(&c, "554 5.5.1 no valid recipients\r\n", SC_READY, "");
	RES(res1, 0, SC_RCPT_FAIL, 550, "550 5.1.1 unknown a");
	RES(res1, 1, SC_RCPT_FAIL, 550, "550 5.1.1 unknown b");
	/* second message: RSET first, in the same batch */
	STEP(&c, smtp_client_msg_start(&c, &m2, res2), SC_SEND_READ,
	    "RSET\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n");
	R(&c, "250 reset\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 go\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	/* 452 at the end of data: the accepted recipient defers */
	R(&c, "452 4.3.1 insufficient storage\r\n", SC_READY, "");
	RES(res2, 0, SC_RCPT_DEFER, 452, "452 4.3.1 insufficient storage");
	/* that ended the transaction: no RSET; a 354 to DATA although no
	 * recipient was accepted gets a lone dot (RFC 2920) */
	STEP(&c, smtp_client_msg_start(&c, &m1, res1), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "450 4.2.0 busy\r\n", SC_SEND_READ, "");
	R(&c, "550 5.1.1 unknown b\r\n", SC_SEND_READ, "");
	R(&c, "354 go\r\n", SC_SEND_READ, ".\r\n");
	R(&c, "554 5.5.1 no recipients\r\n", SC_READY, "");
	RES(res1, 0, SC_RCPT_DEFER, 450, "450 4.2.0 busy");
	RES(res1, 1, SC_RCPT_FAIL, 550, "550 5.1.1 unknown b");
	/* MAIL rejected: the pipelined RCPT and DATA replies are ignored */
	STEP(&c, smtp_client_msg_start(&c, &m1, res1), SC_SEND_READ,
	    "RSET\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 reset\r\n", SC_SEND_READ, "");
	R(&c, "553 5.1.8 bad sender\r\n", SC_SEND_READ, "");
	RES(res1, 0, SC_RCPT_FAIL, 553, "553 5.1.8 bad sender");
	RES(res1, 1, SC_RCPT_FAIL, 553, "553 5.1.8 bad sender");
	R(&c, "503 5.5.1 MAIL first\r\n", SC_SEND_READ, "");
	R(&c, "354 odd\r\n", SC_SEND_READ, "");	/* drained, whatever it says */
	R(&c, "503 5.5.1 MAIL first\r\n", SC_READY, "");
	STEP(&c, smtp_client_quit(&c), SC_CLOSE, "QUIT\r\n");
}

static void test_data_rejected(void **state)
{
	static const char *const rcpt[] = { "a@example.org", "b@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("s@example.net", rcpt, 2);
	struct smtp_rcpt_result res[2];

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "550 no b\r\n", SC_SEND_READ, "");
	R(&c, "554 5.7.1 no data for you\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 554, "554 5.7.1 no data for you");
	RES(res, 1, SC_RCPT_FAIL, 550, "550 no b");
	/* not a clean end: RSET comes first next time */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "RSET\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 go\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "554-5.6.0 message refused:\r\n554-5.6.0 it looks like spam\r\n"
	    "554 5.6.0 see http://x.test/\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 554,
	    "554 5.6.0 message refused: it looks like spam see http://x.test/");
	RES(res, 1, SC_RCPT_FAIL, 554,
	    "554 5.6.0 message refused: it looks like spam see http://x.test/");
	/* clean end: no RSET */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	STEP(&c, smtp_client_abort(&c, "timeout waiting for MAIL"), SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 0, "timeout waiting for MAIL");
	RES(res, 1, SC_RCPT_DEFER, 0, "timeout waiting for MAIL");
	assert_string_equal(smtp_client_error(&c), "timeout waiting for MAIL");
}

static void test_helo_fallback(void **state)
{
	static const char *const rcpt[] = { "b@example.org" };
	static const char *const rcpt_u[] = { "b\xc3\xa9@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("a@example.net", rcpt, 1);
	struct smtp_rcpt_result res[1];

	(void)state;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "502 5.5.2 EHLO not implemented\r\n", SC_SEND_READ, "HELO client.test\r\n");
	R(&c, "250 mx.test\r\n", SC_READY, "");
	assert_int_equal(smtp_client_caps(&c), 0);
	m.size = 99999;
	m.body_8bit = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<a@example.net>\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "RCPT TO:<b@example.org>\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "DATA\r\n");
	R(&c, "354 ok\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_OK, 250, "250 ok");
	/* SMTPUTF8 needed (flag, or a non-ASCII address) but not offered */
	m.smtputf8 = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
	RES_PREFIX(res, 0, SC_RCPT_FAIL, 0, "5.6.7 ");
	m.smtputf8 = 0;
	m.rcpt = rcpt_u;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
	RES_PREFIX(res, 0, SC_RCPT_FAIL, 0, "5.6.7 ");
	STEP(&c, smtp_client_quit(&c), SC_CLOSE, "QUIT\r\n");

	/* HELO refused as well: host-level failure */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "500 what\r\n", SC_SEND_READ, "HELO client.test\r\n");
	R(&c, "550 go away\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "HELO: 550 go away");
	/* EHLO with a 4yz (not 421) */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "451 4.3.0 later\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "EHLO: 451 4.3.0 later");
	/* a bad helo_name is never sent */
	o.helo_name = "bad name";
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_CLOSE, "QUIT\r\n");
	assert_non_null(strstr(smtp_client_error(&c), "helo_name"));
	o.helo_name = "evil\r\nRSET";
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_CLOSE, "QUIT\r\n");
}

static void test_smtputf8_size(void **state)
{
	static const char *const rcpt[] = { "b\xc3\xa9@example.org", "c@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("a@example.net", rcpt, 2);
	struct smtp_rcpt_result res[2];

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	/* over the server's SIZE: nothing sent */
	m.size = 10001;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 0, "5.3.4 message size 10001 exceeds the "
	    "server's SIZE limit of 10000; not sent");
	RES(res, 1, SC_RCPT_FAIL, 0, "5.3.4 message size 10001 exceeds the "
	    "server's SIZE limit of 10000; not sent");
	/* at the limit: sent, with SMTPUTF8 for the non-ASCII address */
	m.size = 10000;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<a@example.net> SIZE=10000 SMTPUTF8\r\n"
	    "RCPT TO:<b\xc3\xa9@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 ok\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 2.0.0 r\xc3\xa9sum\xc3\xa9 ok\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_OK, 250, "250 2.0.0 r\xc3\xa9sum\xc3\xa9 ok");
}

static void test_bad_addresses(void **state)
{
	static const char *const rcpt[] = { "ok@example.org", "bad\r\nRSET@x",
		"a b@example.org", "<x@example.org>", "", "ok2@example.org" };
	static const char *const orcpt[] = { "rfc822;ok@example.org", NULL, NULL,
		NULL, NULL, "rfc822;bad=value" };
	char long_addr[SMTP_CLIENT_ADDR_MAX + 2];
	const char *rcpt_long[1];
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("a@example.net", rcpt, 6);
	struct smtp_rcpt_result res[6];
	size_t i;

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	m.orcpt = orcpt;
	m.envid = "bad envid";	/* not xtext: left out */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<a@example.net>\r\n"
	    "RCPT TO:<ok@example.org> ORCPT=rfc822;ok@example.org\r\n"
	    "RCPT TO:<ok2@example.org>\r\nDATA\r\n");
	for (i = 1; i < 5; i++)
		RES_PREFIX(res, i, SC_RCPT_FAIL, 0, "5.1.3 invalid recipient address");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "550 no\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 ok\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 done\r\n", SC_READY, "");
	RES(res, 0, SC_RCPT_FAIL, 550, "550 no");
	RES(res, 5, SC_RCPT_OK, 250, "250 done");
	/* a bad sender fails everyone, nothing is sent */
	m.sender = "a@example.net>\r\nRCPT TO:<evil@x";
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
	for (i = 0; i < 6; i++)
		RES_PREFIX(res, i, SC_RCPT_FAIL, 0, "5.1.7 invalid sender address");
	/* too long */
	memset(long_addr, 'a', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	rcpt_long[0] = long_addr;
	m = msg("a@example.net", rcpt_long, 1);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
	RES_PREFIX(res, 0, SC_RCPT_FAIL, 0, "5.1.3 ");
	/* no recipients at all */
	m.n_rcpt = 0;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_READY, "");
}

static void test_pipelining_batches(void **state)
{
	enum { N = 60 };
	static char addr[N][SMTP_CLIENT_ADDR_MAX + 1];
	const char *rcpt[N];
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m;
	struct smtp_rcpt_result res[N];
	const char *out;
	size_t i, lines = 0, batch1;

	(void)state;
	for (i = 0; i < N; i++) {
		memset(addr[i], 'x', SMTP_CLIENT_ADDR_MAX);
		snprintf(addr[i], 12, "%03zu", i);
		addr[i][3] = 'x';
		memcpy(addr[i] + SMTP_CLIENT_ADDR_MAX - 12, "@example.org", 12);
		addr[i][SMTP_CLIENT_ADDR_MAX] = '\0';
		rcpt[i] = addr[i];
	}
	m = msg("s@example.net", rcpt, N);
	greet(&c, &o, EHLO_PIPE);
	assert_int_equal(smtp_client_msg_start(&c, &m, res), SC_SEND_READ);
	out = take(&c);
	assert_true(strncmp(out, "MAIL FROM:<s@example.net>\r\n", 27) == 0);
	for (i = 0; out[i]; i++)
		lines += out[i] == '\n';
	assert_null(strstr(out, "DATA"));
	batch1 = lines - 1;
	assert_true(batch1 > 10 && batch1 < N);
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	for (i = 0; i + 1 < batch1; i++)
		R(&c, "250 ok\r\n", SC_SEND_READ, "");
	/* the last reply of the batch: the rest and DATA */
	assert_int_equal(smtp_client_reply(&c, "452 4.5.3 too many\r\n", 20), SC_SEND_READ);
	out = take(&c);
	lines = 0;
	for (i = 0; out[i]; i++)
		lines += out[i] == '\n';
	assert_int_equal(lines, N - batch1 + 1);
	assert_true(strlen(out) >= 6 && strcmp(out + strlen(out) - 6, "DATA\r\n") == 0);
	for (i = batch1; i < N; i++)
		R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 go\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_READY, "");
	for (i = 0; i < N; i++)
		if (i == batch1 - 1)
			RES(res, i, SC_RCPT_DEFER, 452, "452 4.5.3 too many");
		else
			RES(res, i, SC_RCPT_OK, 250, "250 ok");
}

/* ------------------------------------------------------------ TLS */

static void test_starttls(void **state)
{
	static const char *const rcpt[] = { "b@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("a@example.net", rcpt, 1);
	struct smtp_rcpt_result res[1];

	(void)state;
	/* required, offered, done; the capabilities are read again */
	o.tls_possible = 1;
	o.tls_required = 1;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	assert_true(smtp_client_size_limit(&c) == 1000);
	R(&c, "220 2.0.0 go ahead\r\n", SC_STARTTLS, "");
	STEP(&c, smtp_client_tls_done(&c, 1), SC_SEND_READ, EHLO_LINE);
	assert_int_equal(smtp_client_caps(&c), 0);
	assert_true(smtp_client_size_limit(&c) == 0);
	R(&c, "250-mx.test\r\n250 STARTTLS\r\n", SC_READY, "");	/* not again */
	assert_true(smtp_client_tls_active(&c));
	m.size = 5000;	/* the old SIZE 1000 is forgotten */
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<a@example.net>\r\n");
	STEP(&c, smtp_client_quit(&c), SC_CLOSE, "QUIT\r\n");
	RES(res, 0, SC_RCPT_DEFER, 0, "local error: connection closed (QUIT) "
	    "before the transaction ended");

	/* required, not offered */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_PIPE, SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "STARTTLS not offered and TLS is required");
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 0, "STARTTLS not offered and TLS is required");

	/* required, after a HELO fallback: nothing offered */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "500 no\r\n", SC_SEND_READ, "HELO client.test\r\n");
	R(&c, "250 ok\r\n", SC_CLOSE, "QUIT\r\n");

	/* required, refused */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(&c, "454 4.7.0 TLS not available\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c),
	    "STARTTLS refused and TLS is required: 454 4.7.0 TLS not available");

	/* required, handshake failed: no QUIT (not in clear) */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(&c, "220 go\r\n", SC_STARTTLS, "");
	STEP(&c, smtp_client_tls_done(&c, 0), SC_CLOSE, "");
	assert_string_equal(smtp_client_error(&c), "TLS handshake failed");

	/* required but this caller cannot do TLS */
	o.tls_possible = 0;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_CLOSE, "QUIT\r\n");

	/* opportunistic: refused -> on in clear; failed -> close */
	o.tls_possible = 1;
	o.tls_required = 0;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(&c, "502 5.5.1 no\r\n", SC_READY, "");
	assert_false(smtp_client_tls_active(&c));
	assert_true(smtp_client_size_limit(&c) == 1000);
	assert_null(smtp_client_error(&c));
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(&c, "220 go\r\n", SC_STARTTLS, "");
	STEP(&c, smtp_client_tls_done(&c, 0), SC_CLOSE, "");
	/* a 250 to STARTTLS is no 220: given up */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(&c, "250 sure\r\n", SC_CLOSE, "QUIT\r\n");

	/* the caller cannot do TLS: STARTTLS offered, not used */
	o.tls_possible = 0;
	greet(&c, &o, EHLO_TLS);
	/* TLS on connect (port 465): no STARTTLS, TLS counts as on */
	o.tls_possible = 1;
	o.tls_required = 1;
	o.tls_on_connect = 1;
	greet(&c, &o, EHLO_TLS);
	assert_true(smtp_client_tls_active(&c));
	/* tls_done out of sequence */
	STEP(&c, smtp_client_tls_done(&c, 1), SC_CLOSE, "");
	assert_non_null(strstr(smtp_client_error(&c), "out of sequence"));
}

/* ------------------------------------------------------------ AUTH */

/* tls_greet - banner, EHLO, STARTTLS, EHLO again with ehlo2 */
static void tls_greet(struct smtp_client *c, const struct smtp_client_opts *o,
    const char *ehlo2, enum smtp_client_action a, const char *out)
{
	smtp_client_init(c, o);
	R(c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(c, EHLO_TLS, SC_SEND_READ, "STARTTLS\r\n");
	R(c, "220 go\r\n", SC_STARTTLS, "");
	STEP(c, smtp_client_tls_done(c, 1), SC_SEND_READ, EHLO_LINE);
	R(c, ehlo2, a, out);
}

static void test_auth(void **state)
{
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	const char *e;
	size_t i;

	(void)state;
	if (!IS_ENABLED(CONFIG_SMTP_CLIENT_AUTH))
		skip();
	o.tls_possible = 1;
	o.auth_user = "user";
	o.auth_pass = "s3cret";
	/* PLAIN preferred, over TLS; base64("\0user\0s3cret") */
	tls_greet(&c, &o, EHLO_AUTH, SC_SEND_READ, "AUTH PLAIN AHVzZXIAczNjcmV0\r\n");
	R(&c, "235 2.7.0 Authentication successful\r\n", SC_READY, "");
	assert_true(smtp_client_authenticated(&c));
	/* LOGIN when PLAIN is not offered */
	tls_greet(&c, &o, "250-mx\r\n250 AUTH LOGIN\r\n", SC_SEND_READ, "AUTH LOGIN\r\n");
	R(&c, "334 VXNlcm5hbWU6\r\n", SC_SEND_READ, "dXNlcg==\r\n");
	R(&c, "334 UGFzc3dvcmQ6\r\n", SC_SEND_READ, "czNjcmV0\r\n");
	R(&c, "235 ok\r\n", SC_READY, "");
	/* refused credentials: host-level error, no credentials in it */
	tls_greet(&c, &o, EHLO_AUTH, SC_SEND_READ, "AUTH PLAIN AHVzZXIAczNjcmV0\r\n");
	R(&c, "535 5.7.8 Authentication credentials invalid\r\n", SC_CLOSE, "QUIT\r\n");
	e = smtp_client_error(&c);
	assert_string_equal(e, "AUTH: 535 5.7.8 Authentication credentials invalid");
	assert_int_equal(smtp_client_error_code(&c), 535);
	/* a LOGIN challenge that is not base64: cancelled with "*" */
	tls_greet(&c, &o, "250-mx\r\n250 AUTH LOGIN\r\n", SC_SEND_READ, "AUTH LOGIN\r\n");
	R(&c, "334 Username?\r\n", SC_SEND_READ, "*\r\n");
	R(&c, "501 5.0.0 cancelled\r\n", SC_CLOSE, "QUIT\r\n");
	assert_non_null(strstr(smtp_client_error(&c), "not base64"));
	/* a third 334: cancel, then QUIT */
	tls_greet(&c, &o, "250-mx\r\n250 AUTH LOGIN\r\n", SC_SEND_READ, "AUTH LOGIN\r\n");
	R(&c, "334 VXNlcm5hbWU6\r\n", SC_SEND_READ, "dXNlcg==\r\n");
	R(&c, "334 UGFzc3dvcmQ6\r\n", SC_SEND_READ, "czNjcmV0\r\n");
	R(&c, "334 UGFzc3dvcmQ6\r\n", SC_CLOSE, "*\r\nQUIT\r\n");
	/* no mechanism we know */
	tls_greet(&c, &o, "250-mx\r\n250 AUTH CRAM-MD5\r\n", SC_CLOSE, "QUIT\r\n");
	assert_non_null(strstr(smtp_client_error(&c), "neither AUTH PLAIN nor AUTH LOGIN"));
	/* without TLS: refused unless auth_over_plain */
	o.tls_possible = 0;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, EHLO_AUTH, SC_CLOSE, "QUIT\r\n");
	e = smtp_client_error(&c);
	assert_non_null(strstr(e, "AUTH needs TLS"));
	assert_null(strstr(e, "s3cret"));
	assert_int_equal(smtp_client_error_code(&c), 0);
	o.auth_over_plain = 1;
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "250-mx\r\n250 AUTH=LOGIN\r\n", SC_SEND_READ, "AUTH LOGIN\r\n");
	R(&c, "334 VXNlcm5hbWU6\r\n", SC_SEND_READ, "dXNlcg==\r\n");
	R(&c, "334 UGFzc3dvcmQ6\r\n", SC_SEND_READ, "czNjcmV0\r\n");
	R(&c, "535 5.7.8 no\r\n", SC_CLOSE, "QUIT\r\n");
	for (i = 0; i < sizeof(c.err); i++)
		assert_false(strncmp(c.err + i, "czNjcmV0", 8) == 0);
	/* the output buffer is wiped on reset */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	assert_int_equal(smtp_client_reply(&c, EHLO_AUTH, strlen(EHLO_AUTH)), SC_SEND_READ);
	smtp_client_output_reset(&c);
	for (i = 0; i < 64; i++)
		assert_int_equal(c.out[i], 0);
	/* HELO only: no AUTH possible */
	smtp_client_init(&c, &o);
	R(&c, BANNER, SC_SEND_READ, EHLO_LINE);
	R(&c, "502 no\r\n", SC_SEND_READ, "HELO client.test\r\n");
	R(&c, "250 ok\r\n", SC_CLOSE, "QUIT\r\n");
	assert_non_null(strstr(smtp_client_error(&c), "does not speak ESMTP"));
}

/* ------------------------------------------------------------ failures */

static void test_421_and_banner(void **state)
{
	static const char *const rcpt[] = { "a@example.org", "b@example.org",
		"c@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("s@example.net", rcpt, 3);
	struct smtp_rcpt_result res[3];

	(void)state;
	/* 421 in the middle of a pipelined transaction: no QUIT */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "550 no b\r\n", SC_SEND_READ, "");
	R(&c, "421 4.3.2 shutting down\r\n", SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 421, "421 4.3.2 shutting down");
	RES(res, 1, SC_RCPT_FAIL, 550, "550 no b");
	RES(res, 2, SC_RCPT_DEFER, 421, "421 4.3.2 shutting down");
	assert_string_equal(smtp_client_error(&c), "RCPT: 421 4.3.2 shutting down");
	assert_int_equal(smtp_client_error_code(&c), 421);
	/* 421 after the data */
	greet(&c, &o, EHLO_PIPE);
	m.n_rcpt = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 ok\r\n", SC_DATA, "");
	STEP(&c, smtp_client_data_sent(&c), SC_SEND_READ, "");
	R(&c, "421 4.4.2 timeout\r\n", SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 421, "421 4.4.2 timeout");
	assert_string_equal(smtp_client_error(&c), "end of data: 421 4.4.2 timeout");
	/* 421 while idle */
	greet(&c, &o, EHLO_PIPE);
	R(&c, "421 4.4.2 idle too long\r\n", SC_CLOSE, "");
	assert_string_equal(smtp_client_error(&c), "unsolicited: 421 4.4.2 idle too long");
	/* banners */
	smtp_client_init(&c, &o);
	R(&c, "554 5.7.1 go away\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "banner: 554 5.7.1 go away");
	assert_int_equal(smtp_client_error_code(&c), 554);
	smtp_client_init(&c, &o);
	R(&c, "421 mx.test busy\r\n", SC_CLOSE, "");
	assert_string_equal(smtp_client_error(&c), "banner: 421 mx.test busy");
	smtp_client_init(&c, &o);
	R(&c, "220-mx.test\r\n220-no UCE\r\n220 ESMTP\r\n", SC_SEND_READ, EHLO_LINE);
	smtp_client_init(&c, &o);
	R(&c, "250 mx.test\r\n", SC_CLOSE, "QUIT\r\n");
}

static void test_garbage(void **state)
{
	static const char *const rcpt[] = { "a@example.org", "b@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("s@example.net", rcpt, 2);
	struct smtp_rcpt_result res[2];

	(void)state;
	/* not a reply */
	smtp_client_init(&c, &o);
	R(&c, "SSH-2.0-OpenSSH\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "malformed reply: reply line without a valid code");
	/* incomplete, or two replies at once */
	smtp_client_init(&c, &o);
	R(&c, "220 hi", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "malformed reply: incomplete");
	smtp_client_init(&c, &o);
	R(&c, "220 hi\r\n220 hi\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "malformed reply: more than one reply");
	/* 354 to RCPT: the ends disagree; pending recipients defer */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 go\r\n", SC_CLOSE, "QUIT\r\n");
	RES(res, 0, SC_RCPT_DEFER, 0, "unexpected reply to RCPT: 354 go");
	RES(res, 1, SC_RCPT_DEFER, 0, "unexpected reply to RCPT: 354 go");
	/* 250 to DATA */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "550 no\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_CLOSE, "QUIT\r\n");
	RES(res, 0, SC_RCPT_DEFER, 0, "unexpected reply to DATA: 250 ok");
	RES(res, 1, SC_RCPT_FAIL, 550, "550 no");
	/* 354 to MAIL; a reply while idle; a reply amid the data */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\nDATA\r\n");
	R(&c, "354 ok\r\n", SC_CLOSE, "QUIT\r\n");
	greet(&c, &o, EHLO_PIPE);
	R(&c, "250 ok\r\n", SC_CLOSE, "QUIT\r\n");
	assert_string_equal(smtp_client_error(&c), "unexpected reply without a command: 250 ok");
	greet(&c, &o, EHLO_PIPE);
	m.n_rcpt = 1;
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 ok\r\n", SC_DATA, "");
	R(&c, "554 stop\r\n", SC_CLOSE, "");	/* no QUIT amid data */
	RES(res, 0, SC_RCPT_DEFER, 0, "unexpected reply without a command: 554 stop");
	/* calls out of sequence */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_data_sent(&c), SC_CLOSE, "");
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_CLOSE, "");
	RES_PREFIX(res, 0, SC_RCPT_DEFER, 0, "local error: message started out of sequence");
	/* abort during the data: accepted recipients defer */
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	R(&c, "354 ok\r\n", SC_DATA, "");
	STEP(&c, smtp_client_abort(&c, "write failed"), SC_CLOSE, "");
	RES(res, 0, SC_RCPT_DEFER, 0, "write failed");
}

static void test_reply_text(void **state)
{
	static const char *const rcpt[] = { "a@example.org" };
	struct smtp_client_opts o = opts();
	struct smtp_client c;
	struct smtp_client_msg m = msg("s@example.net", rcpt, 1);
	struct smtp_rcpt_result res[1];
	char big[1200], want[SMTP_CLIENT_TEXT_MAX];
	size_t i, n;

	(void)state;
	greet(&c, &o, EHLO_PIPE);
	STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
	    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	R(&c, "250 ok\r\n", SC_SEND_READ, "");
	/* Gmail style: the enhanced code on every line, TAB inside */
	R(&c, "550-5.1.1 The email account that you tried\r\n"
	    "550-5.1.1 to reach does not exist.\tPlease\r\n"
	    "550 5.1.1 check it. x - gsmtp\r\n", SC_SEND_READ, "");
	RES(res, 0, SC_RCPT_FAIL, 550, "550 5.1.1 The email account that you tried "
	    "to reach does not exist. Please check it. x - gsmtp");
	R(&c, "554\r\n", SC_READY, "");

	/* a long text is cut at 511 octets, never inside a UTF-8 sequence */
	for (n = 0; n < 4; n++) {
		greet(&c, &o, EHLO_PIPE);
		STEP(&c, smtp_client_msg_start(&c, &m, res), SC_SEND_READ,
		    "MAIL FROM:<s@example.net>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
		R(&c, "250 ok\r\n", SC_SEND_READ, "");
		memcpy(big, "550 ", 4);
		for (i = 4; i < 4 + n; i++)
			big[i] = 'x';
		for (; i + 1 < 1000; i += 2) {
			big[i] = '\xc3';
			big[i + 1] = '\xa9';
		}
		memcpy(big + i, "\r\n", 3);
		R(&c, big, SC_SEND_READ, "");
		assert_int_equal(res[0].status, SC_RCPT_FAIL);
		/* "550 " + n x + as many whole é as fit in 511 */
		snprintf(want, sizeof(want), "%.*s", (int)(4 + n + (511 - 4 - n) / 2 * 2), big);
		assert_string_equal(res[0].text, want);
	}
}

/* ------------------------------------------------------------ helpers */

static void test_base64(void **state)
{
	static const struct {
		const char *plain, *b64;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "\xff\xfe\x00", "//4A" },
	};
	static const char *const bad[] = { "Zg=", "Z===", "Zg=a", "Zm9v!A==",
		"=AAA", "Zg==Zg==", "Zm 9v", "A" };
	unsigned char dec[16];
	char enc[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = i == 7 ? 3 : strlen(v[i].plain);
		long d;

		assert_int_equal(smtp_client_b64_encode((const unsigned char *)v[i].plain,
		    pl, enc), strlen(v[i].b64));
		assert_string_equal(enc, v[i].b64);
		d = smtp_client_b64_decode(v[i].b64, strlen(v[i].b64), dec, sizeof(dec));
		assert_int_equal(d, (long)pl);
		assert_memory_equal(dec, v[i].plain, pl);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (smtp_client_b64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) != -1)
			fail_msg("'%s' decoded", bad[i]);
	/* out too small */
	assert_int_equal(smtp_client_b64_decode("Zm9vYmFy", 8, dec, 5), -1);
	assert_int_equal(smtp_client_b64_decode("Zm9vYmFy", 8, dec, 6), 6);
}

/* dotstuff_all - text[0..len) in one piece and in every split into two
 * pieces gives want (the end of data included) */
static void dotstuff_all(const char *text, size_t len, const char *want)
{
	char out[2 * 64 + 8];
	size_t cut, n, wl = strlen(want);
	struct smtp_dotstuff d;

	assert_true(len <= 64);
	for (cut = 0; cut <= len; cut++) {
		size_t k;

		smtp_dotstuff_init(&d);
		n = smtp_dotstuff(&d, text, cut, out);
		assert_true(n <= 2 * cut);
		k = smtp_dotstuff(&d, text + cut, len - cut, out + n);
		assert_true(k <= 2 * (len - cut));
		n += k;
		k = smtp_dotstuff_end(&d, out + n);
		assert_true(k <= 5);
		n += k;
		if (n != wl || memcmp(out, want, n) != 0)
			fail_msg("'%s' cut at %zu: '%.*s', wanted '%s'", text, cut,
			    (int)n, out, want);
	}
}

static void test_dotstuff(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", ".\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ ".", "..\r\n.\r\n" },
		{ "..x\r\n.\r\n", "...x\r\n..\r\n.\r\n" },
		{ "a.b\r\n.c\r\nd.\r\n", "a.b\r\n..c\r\nd.\r\n.\r\n" },
		{ "\r\n.\r\n", "\r\n..\r\n.\r\n" },
		/* bare LF and CR are line ends and go out as CRLF: no
		 * smuggled "." line, no bare line end downstream */
		{ "x\n.\n", "x\r\n..\r\n.\r\n" },
		{ "x\r.\r\n", "x\r\n..\r\n.\r\n" },
		{ "x\r", "x\r\n.\r\n" },
		{ "x\n", "x\r\n.\r\n" },
		{ "x\r\r\n.\r", "x\r\n\r\n..\r\n.\r\n" },
		{ "\n.\n", "\r\n..\r\n.\r\n" },
		{ "a\n\rb", "a\r\n\r\nb\r\n.\r\n" },
		{ "....", ".....\r\n.\r\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		dotstuff_all(v[i].in, strlen(v[i].in), v[i].out);
	/* an empty chunk changes nothing */
	{
		struct smtp_dotstuff d;
		char out[8];

		smtp_dotstuff_init(&d);
		assert_int_equal(smtp_dotstuff(&d, "", 0, out), 0);
		assert_int_equal(smtp_dotstuff(&d, ".", 1, out), 2);
		assert_memory_equal(out, "..", 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_no_pipelining_mixed),
		cmocka_unit_test(test_two_messages_pipelined),
		cmocka_unit_test(test_data_rejected),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_smtputf8_size),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_pipelining_batches),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_421_and_banner),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_dotstuff),
	};

	return cmocka_run_group_tests_name("smtp_client", tests, NULL, NULL);
}
