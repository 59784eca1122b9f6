/*
 * smtp_client.h - the SMTP client's protocol state machine (delivery
 * side), without any I/O: RFC 5321 with RFC 2920 PIPELINING, RFC 1870
 * SIZE, RFC 6152 8BITMIME, RFC 3207 STARTTLS, RFC 4954 AUTH (RFC 4616
 * PLAIN and LOGIN), RFC 3461 DSN parameters and RFC 6531 SMTPUTF8.
 *
 * The glue (deliver.c) connects, reads bytes, cuts replies with
 * smtp_reply_parse() and hands each complete reply to smtp_client_reply().
 * The machine appends the commands to send to its output buffer and
 * returns what to do next:
 *   SC_SEND_READ  send the output (it may be empty), then read a reply
 *   SC_STARTTLS   220 to STARTTLS came: do the handshake, then
 *                 smtp_client_tls_done()
 *   SC_DATA       354 came: send the message through smtp_dotstuff(),
 *                 then smtp_dotstuff_end(), then smtp_client_data_sent()
 *   SC_READY      greeted (TLS and AUTH done) or a transaction ended; the
 *                 output is empty; smtp_client_msg_start() for a message
 *                 or smtp_client_quit()
 *   SC_CLOSE      finished or unusable: send the output if any (QUIT),
 *                 then close; every later call answers SC_CLOSE
 *
 * Ownership: struct smtp_client is embedded by the caller and holds no
 * heap memory (no _fini). The options' strings are borrowed for the
 * life of the connection; a message and its results array are borrowed
 * from smtp_client_msg_start() until it or a later call returns
 * SC_READY or SC_CLOSE. When that happens every recipient of the
 * message is OK, DEFER or FAIL: none is left PENDING.
 *
 * The output buffer holds AUTH credentials while they are being sent:
 * never log it. smtp_client_output_reset() wipes it.
 *
 * Policy (decided here, so that every caller gets the same):
 * - Host-level failures end the connection with SC_CLOSE and
 *   smtp_client_error() set: a banner other than 220, EHLO 4yz, HELO
 *   refused, TLS required but not offered/refused/failed, AUTH refused
 *   (4yz or 5yz) or impossible. Pending recipients DEFER: a wrong
 *   password or a missing mechanism never bounces mail, the
 *   caller tries the next host or later. 421 closes without QUIT.
 * - Credentials set means AUTH is required: a server without PLAIN or
 *   LOGIN, or a connection without TLS (unless auth_over_plain), is a
 *   host-level failure; mail is never sent unauthenticated instead.
 * - Opportunistic STARTTLS (tls_required 0): a refusal goes on in
 *   clear text; a failed handshake closes (the caller may connect again
 *   with tls_possible 0). With tls_required never in clear text.
 * - An 8-bit body to a server without 8BITMIME is sent as it is,
 *   without BODY= (no conversion to 7 bit, as Postfix does by default).
 *   A non-ASCII address makes the message need SMTPUTF8 even when
 *   smtputf8 is 0.
 * - Recipients settled locally (bad address, SIZE, SMTPUTF8, abort,
 *   QUIT) have code 0; their text starts with an RFC 3463 code or is
 *   the reason given to smtp_client_abort().
 * - RSET is sent only before the next MAIL, and only when the last
 *   transaction did not end with a reply to the end of data.
 * - A DATA reply other than 354, or a 4yz/5yz to the end of data, applies
 *   to every recipient accepted by RCPT. A 452 to RCPT ("too many
 *   recipients") defers that one only: the caller should send at most
 *   100 recipients per message (RFC 5321 4.5.3.1.8).
 */
#ifndef TERN_SMTP_CLIENT_H
#define TERN_SMTP_CLIENT_H

#include <stddef.h>

#include "core/smtp_reply.h"	/* SMTP_CAP_* */

#define SMTP_CLIENT_OUT_MAX 8192	/* output buffer: one pipelined batch */
#define SMTP_CLIENT_ADDR_MAX 256	/* RFC 5321 4.5.3.1.3: a path */
#define SMTP_CLIENT_NAME_MAX 255	/* helo_name, RFC 5321 4.5.3.1.2 */
#define SMTP_CLIENT_CRED_MAX 255	/* auth_user, auth_pass each */
#define SMTP_CLIENT_ENVID_MAX 100	/* RFC 3461 4.4 */
#define SMTP_CLIENT_ORCPT_MAX 500	/* RFC 3461 4.2 */
#define SMTP_CLIENT_TEXT_MAX 512	/* a result or error text, NUL included */

struct smtp_client_opts {
	const char *helo_name;	/* our name for EHLO/HELO */
	int tls_possible;	/* the caller can do STARTTLS */
	/* hosts_require_tls or DANE: STARTTLS not offered or refused, or a
	 * failed handshake closes the connection; never on in clear text */
	int tls_required;
	int tls_on_connect;	/* port 465: TLS is up before the banner */
	const char *auth_user, *auth_pass;	/* NULL: no AUTH */
	int auth_over_plain;	/* allow AUTH without TLS (explicit opt-in) */
};

/* one message; everything is borrowed from the caller */
struct smtp_client_msg {
	const char *sender;		/* "" for <> */
	const char *const *rcpt;
	size_t n_rcpt;
	const unsigned *notify;		/* per rcpt, SPOOL_NOTIFY_* bits, or NULL */
	const char *const *orcpt;	/* per rcpt (entries may be NULL), or NULL */
	const char *envid;		/* RFC 3461 ENVID (xtext), or NULL */
	int ret_full;			/* RET=FULL (else RET is not sent) */
	unsigned long long size;	/* for SIZE=; 0: unknown, not sent */
	int body_8bit, smtputf8;
};

enum smtp_client_action {
	SC_SEND_READ,
	SC_STARTTLS,
	SC_DATA,
	SC_READY,
	SC_CLOSE
};

enum smtp_rcpt_status { SC_RCPT_PENDING, SC_RCPT_OK, SC_RCPT_DEFER, SC_RCPT_FAIL };

struct smtp_rcpt_result {
	enum smtp_rcpt_status status;
	/* the reply code the status comes from (for OK: the end of data);
	 * 0 when tern decided locally (bad address, SIZE, SMTPUTF8,
	 * connection lost): then text starts with an RFC 3463 code or is
	 * the abort reason. While PENDING: the RCPT reply code, 0 before. */
	int code;
	/* "550 5.1.1 user unknown" as received: code, enhanced code, then
	 * the text of every line joined by spaces; one line, control
	 * characters removed, cut at 511 octets. May hold octets >= 0x80. */
	char text[SMTP_CLIENT_TEXT_MAX];
};

/* private: the fields below belong to smtp_client.c */
struct smtp_client {
	int state;			/* SC_ST_* */
	struct smtp_client_opts o;
	unsigned caps;			/* SMTP_CAP_* of the last EHLO */
	unsigned long long size_limit;	/* SIZE of the last EHLO, 0: none */
	int esmtp, tls, tls_tried, authed, auth_step;
	int need_rset;			/* the server may hold a transaction */
	/* the transaction */
	const struct smtp_client_msg *msg;
	struct smtp_rcpt_result *res;
	int utf8, rset_sent, mail_st, data_st, dummy_dot;
	size_t rcpt_next;		/* next recipient to send */
	size_t rcpt_reply;		/* recipient the next RCPT reply is for */
	size_t rcpt_inflight;		/* RCPTs sent, reply not yet read */
	size_t n_accepted;
	int err_code;
	char err[SMTP_CLIENT_TEXT_MAX];
	size_t outlen;
	char out[SMTP_CLIENT_OUT_MAX];
};

/* smtp_client_init - a new connection; the banner is expected next (on
 * port 465, tls_on_connect: after the TLS handshake) */
void smtp_client_init(struct smtp_client *c, const struct smtp_client_opts *o);

/* smtp_client_reply - raw[0..rawlen) is exactly one complete reply as
 * smtp_reply_parse() consumed it. Bytes that do not parse as exactly one
 * reply abort the connection with the parser's error. */
enum smtp_client_action smtp_client_reply(struct smtp_client *c,
    const char *raw, size_t rawlen);

/* smtp_client_msg_start - start a transaction (only after SC_READY).
 * results[0..m->n_rcpt) are reset to PENDING and filled in as replies
 * come. Addresses with CR, LF, other controls, '<', '>' or spaces, or
 * longer than SMTP_CLIENT_ADDR_MAX, fail locally; so does every
 * recipient when the size exceeds the server's SIZE (5.3.4) or the
 * message needs SMTPUTF8 and the server lacks it (5.6.7). Returns
 * SC_READY at once when nothing is left to send. */
enum smtp_client_action smtp_client_msg_start(struct smtp_client *c,
    const struct smtp_client_msg *m, struct smtp_rcpt_result *results);

/* smtp_client_tls_done - after SC_STARTTLS (ok: the handshake worked).
 * A failure closes the connection (SC_CLOSE, no QUIT): the caller may
 * connect again without TLS when TLS was not required. */
enum smtp_client_action smtp_client_tls_done(struct smtp_client *c, int ok);

/* smtp_client_data_sent - after SC_DATA, once the message and its end
 * (smtp_dotstuff_end) are handed to the transport */
enum smtp_client_action smtp_client_data_sent(struct smtp_client *c);

/* smtp_client_reuse - after SC_READY, before smtp_client_msg_start: the
 * connection comes back from the cache, so the next transaction starts
 * with RSET (RFC 5321 4.1.1.5), which also proves the server is still
 * there */
void smtp_client_reuse(struct smtp_client *c);

/* smtp_client_quit - QUIT goes to the output; pending recipients (there
 * are none after SC_READY) DEFER. Returns SC_CLOSE. */
enum smtp_client_action smtp_client_quit(struct smtp_client *c);

/* smtp_client_abort - timeout, connection lost, local error: whatever is
 * pending DEFERs with why, nothing more is sent. Returns SC_CLOSE; a
 * no-op on a closed connection. */
enum smtp_client_action smtp_client_abort(struct smtp_client *c, const char *why);

/* smtp_client_error - why the connection failed, at host level, or NULL:
 * "banner: 554 5.7.1 go away", "STARTTLS not offered and TLS is
 * required", "AUTH: 535 5.7.8 ...". Never holds credentials. Also set
 * when a reply ends the connection within a transaction (421). */
const char *smtp_client_error(const struct smtp_client *c);
/* smtp_client_error_code - the server's reply code behind the error, 0
 * when there is none or the error is local */
int smtp_client_error_code(const struct smtp_client *c);

/* smtp_client_output - the bytes to send; smtp_client_output_reset()
 * once they are handed to the transport (it wipes them) */
const char *smtp_client_output(const struct smtp_client *c, size_t *len);
void smtp_client_output_reset(struct smtp_client *c);

/* after the (last) EHLO: SMTP_CAP_* bits, the server's SIZE (0: none),
 * whether TLS is on and whether AUTH succeeded */
unsigned smtp_client_caps(const struct smtp_client *c);
unsigned long long smtp_client_size_limit(const struct smtp_client *c);
int smtp_client_tls_active(const struct smtp_client *c);
/* smtp_client_awaits_ehlo - the next reply answers EHLO */
int smtp_client_awaits_ehlo(const struct smtp_client *c);
int smtp_client_authenticated(const struct smtp_client *c);

/* smtp_client_timeout - seconds to wait for what comes next, per RFC
 * 5321 4.5.3.2 (banner 300, MAIL 300, RCPT 300, DATA 120, end of data
 * 600, others 300); during SC_DATA, the limit for each block sent (180) */
unsigned smtp_client_timeout(const struct smtp_client *c);

/* base64 (RFC 4648 4, with padding), used by AUTH; pure helpers.
 * _encode writes 4 * ((len + 2) / 3) octets and a NUL to out and returns
 * the length; _decode takes exactly that form (no spaces) and returns
 * the decoded length, or -1 when in is not base64 or out (cap octets)
 * is too small. */
size_t smtp_client_b64_encode(const unsigned char *in, size_t len, char *out);
long smtp_client_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t cap);

/* Dot-stuffing for the data phase (RFC 5321 4.5.2), pure, any chunking:
 * a '.' at the start of a line is doubled. The input is the message as
 * CRLF text; a bare LF or CR also counts as a line end and goes out as
 * CRLF, so the output has CRLF line ends only (no peer can read a line
 * "." that we did not mean, RFC 5321 2.3.8). */
struct smtp_dotstuff {
	int line_start;		/* the next octet starts a line */
	int crlf;		/* the output so far is empty or ends with CRLF */
	int cr;			/* the last octet was CR (sent as CRLF) */
};
void smtp_dotstuff_init(struct smtp_dotstuff *d);
/* smtp_dotstuff - in[0..len) to out, which holds 2 * len octets; returns
 * the octets written */
size_t smtp_dotstuff(struct smtp_dotstuff *d, const char *in, size_t len,
    char *out);
/* smtp_dotstuff_end - the end of data to out (5 octets at most):
 * ".\r\n", or "\r\n.\r\n" when the text did not end with CRLF */
size_t smtp_dotstuff_end(struct smtp_dotstuff *d, char *out);

#endif
