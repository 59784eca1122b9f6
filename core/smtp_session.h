/*
 * smtp_session.h - the SMTP server's protocol state machine (RFC 5321,
 * RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 2034
 * ENHANCEDSTATUSCODES, RFC 6531 SMTPUTF8), without any I/O.
 *
 * The glue (smtp_server.c) hands it complete command lines and it answers
 * by appending replies to an output buffer and returning an action:
 *   SMTP_A_NONE      keep going
 *   SMTP_A_DATA      354 sent: the glue decodes the data (smtp_data.h),
 *                    spools it under the envelope smtp_sess_env() and
 *                    reports the outcome with smtp_sess_data_done()
 *   SMTP_A_STARTTLS  220 sent: the glue starts TLS, then smtp_sess_tls_on()
 *   SMTP_A_CLOSE     flush the output, then close
 * Replies are only appended, never sent, so pipelined commands get their
 * replies in one write.
 *
 * Policy comes from the config (borrowed, must outlive the session):
 * limits, relay_from_hosts, local_domains and the aliases. The session
 * owns its envelope (struct spool_env) and output buffer.
 */
#ifndef TERN_SMTP_SESSION_H
#define TERN_SMTP_SESSION_H

#include <stddef.h>

struct config;
struct spool_env;

enum smtp_state {
	SMTP_ST_FRESH,		/* banner sent, no HELO yet */
	SMTP_ST_READY,		/* HELO/EHLO done, no transaction */
	SMTP_ST_MAIL,		/* MAIL accepted */
	SMTP_ST_RCPT,		/* at least one RCPT accepted */
	SMTP_ST_DATA,		/* 354 sent, receiving data */
	SMTP_ST_CLOSED
};

enum smtp_action { SMTP_A_NONE, SMTP_A_DATA, SMTP_A_STARTTLS, SMTP_A_CLOSE };

/* outcomes of the DATA phase, reported by the glue */
enum smtp_data_result {
	SMTP_DR_OK,		/* committed to stable storage */
	SMTP_DR_BARE_EOL,	/* bare CR or LF seen: rejected (smuggling) */
	SMTP_DR_TOO_BIG,	/* over message_size_limit */
	SMTP_DR_NO_SPACE,	/* ENOSPC / EDQUOT */
	SMTP_DR_LOCAL_ERROR	/* any other spool or memory error */
};

struct smtp_out {
	char *buf;
	size_t len, cap;
	int oom;		/* an append failed: the glue closes */
};

struct smtp_sess {
	enum smtp_state state;
	const struct config *cfg;
	char client_addr[64];
	unsigned client_port;
	int local;		/* a local submission: may relay */
	char ident[64];		/* local submitter's login name, or "" */
	int tls;		/* TLS is on */
	int tls_offer;		/* STARTTLS may be offered */
	int esmtp;
	char helo[256];
	struct spool_env *env;	/* the transaction's envelope, or NULL */
	int utf8;		/* SMTPUTF8 on this transaction */
	long long declared_size;
	unsigned synprot_errors, unknown_commands;
	unsigned nonmail;	/* non-mail commands since the last accepted MAIL */
	int discard_line;	/* an over-long line is dropped up to its LF */
	unsigned messages;	/* accepted in this session */
	struct smtp_out out;
	/* space_low - set by the glue after init: nonzero when the spool
	 * cannot take a message of size bytes (then MAIL gets 452 4.3.1);
	 * NULL: no check */
	int (*space_low)(void *arg, long long size);
	void *space_arg;
};

/* smtp_sess_init - start a session: the 220 banner goes to out. Returns
 * 0, or -1 when out of memory. */
int smtp_sess_init(struct smtp_sess *s, const struct config *cfg,
    const char *client_addr, unsigned client_port, int local, int tls_offer);
void smtp_sess_fini(struct smtp_sess *s);

/* smtp_sess_trusted - a local submission or a client in relay_from_hosts:
 * it may relay, and smtp_min_data_rate does not apply to it */
int smtp_sess_trusted(const struct smtp_sess *s);
/* smtp_sess_input - take the next command line from in[0..len), as
 * smtp_line_find() cuts it, and run it. An over-long line is answered
 * (500 5.5.2) and dropped up to its LF; when the LF has not come yet, the
 * rest of the line is dropped as it arrives, while the commands pipelined
 * after it are kept. *used: octets taken (0: the line is not complete,
 * read more). Every receiving loop (the listener, sendmail -bs, the
 * fuzz target) goes through here. */
enum smtp_action smtp_sess_input(struct smtp_sess *s, const char *in, size_t len,
    size_t *used);
/* smtp_sess_line - one command line (without CRLF) */
enum smtp_action smtp_sess_line(struct smtp_sess *s, const char *line, size_t len);
/* smtp_sess_line_too_long - the glue dropped an over-long line */
enum smtp_action smtp_sess_line_too_long(struct smtp_sess *s);

/* smtp_sess_spool_head - envelope text followed by the Received: header
 * for the message id, to be written before the data; heap, caller frees.
 * NULL when out of memory or the envelope cannot be written. */
char *smtp_sess_spool_head(struct smtp_sess *s, const char *id, long long now,
    size_t *len);
/* smtp_sess_data_done - the reply to the end of data; resets the
 * transaction (the envelope is freed) */
enum smtp_action smtp_sess_data_done(struct smtp_sess *s,
    enum smtp_data_result r, const char *id);
/* smtp_sess_timeout - 421 for an idle client; returns SMTP_A_CLOSE */
enum smtp_action smtp_sess_timeout(struct smtp_sess *s);
/* smtp_sess_shutdown - 421 when the daemon stops */
enum smtp_action smtp_sess_shutdown(struct smtp_sess *s);
void smtp_sess_tls_on(struct smtp_sess *s);

/* smtp_out_take - the glue takes the output bytes; out becomes empty */
void smtp_out_reset(struct smtp_out *o);
/* smtp_out_printf - append a reply line; CRLF is added */
void smtp_out_printf(struct smtp_out *o, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

#endif
