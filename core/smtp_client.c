/*
 * smtp_client.c - SMTP client state machine (smtp_client.h). Pure: no
 * I/O, no globals, no logging, no allocation; commands go to c->out.
 *
 * Public: smtp_client_init, _reply, _msg_start, _tls_done, _data_sent,
 * _quit, _abort, _error, _error_code, _output, _output_reset, _caps,
 * _size_limit, _tls_active, _authenticated, _timeout, _b64_encode,
 * _b64_decode; smtp_dotstuff_init, smtp_dotstuff, smtp_dotstuff_end.
 * Nothing returned is allocated; texts live in the struct or the
 * caller's results.
 *
 * Reads like a table: sc_steps[] gives each reply we can wait for its
 * name (for error texts), its timeout and its handler. smtp_client_reply
 * parses the reply, finds what it answers (sc_expect: replies come in
 * the order of the commands, pipelined or not), handles 421 at any step,
 * then calls the handler, which checks the reply class before it acts.
 * A message is checked (sc_check_msg) before anything is sent for it.
 * The transaction is driven by sc_txn_pump(): with PIPELINING it writes
 * [RSET] MAIL, the RCPTs and DATA as one batch (as many RCPTs as the
 * output buffer holds, the rest in further batches once every reply of
 * the batch came), without it one command per reply.
 *
 * RFC 5321 3.3 (mail transactions), 4.1.1 (commands; HELO when EHLO
 * gets 5yz), 4.2 (replies; 421 at any time), 4.5.2 (dot-stuffing),
 * 4.5.3.1 (size limits of paths and lines), 4.5.3.2 (timeouts, told to
 * the caller); RFC 2920 3.1 (command groups; a lone dot when DATA gets
 * 354 but no recipient was accepted); RFC 1870 (SIZE=; not sending over
 * the server's limit, 5.3.4); RFC 6152 (BODY=8BITMIME); RFC 3207
 * (STARTTLS, forgetting the EHLO reply after it, 4.2); RFC 4954 with
 * RFC 4616 PLAIN (initial response) and LOGIN (334 challenges, "*" to
 * cancel); RFC 3461 4 (RET, ENVID, NOTIFY, ORCPT, only if DSN is
 * offered); RFC 6531 (the SMTPUTF8 parameter; a message that needs it
 * is not sent to a server without it: 5.6.7);
 * RFC 4648 4 (base64).
 */
#include "core/smtp_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/kconfig.h"
#include "core/spool_env.h"

enum sc_state {
	SC_ST_BANNER,		/* connected, waiting for 220 */
	SC_ST_EHLO,
	SC_ST_HELO,
	SC_ST_STARTTLS,		/* STARTTLS sent */
	SC_ST_TLS,		/* the caller does the handshake */
	SC_ST_AUTH,
	SC_ST_READY,		/* no transaction */
	SC_ST_TXN,		/* [RSET] MAIL RCPT.. DATA under way */
	SC_ST_DATA,		/* 354 came, the caller sends the message */
	SC_ST_DOT,		/* waiting for the reply to the end of data */
	SC_ST_CLOSED
};

/* what the next reply answers */
enum sc_expect {
	SC_X_NONE, SC_X_BANNER, SC_X_EHLO, SC_X_HELO, SC_X_STARTTLS,
	SC_X_AUTH, SC_X_RSET, SC_X_MAIL, SC_X_RCPT, SC_X_DATA, SC_X_DOT
};

enum { SC_MS_UNSENT, SC_MS_SENT, SC_MS_OK, SC_MS_FAILED };	/* MAIL */
enum { SC_DS_UNSENT, SC_DS_SENT, SC_DS_DONE };			/* DATA */
enum {
	SC_AUTH_PLAIN,		/* AUTH PLAIN <initial response> sent */
	SC_AUTH_LOGIN,		/* AUTH LOGIN sent */
	SC_AUTH_LOGIN_USER,	/* user name sent */
	SC_AUTH_LOGIN_PASS,	/* password sent */
	SC_AUTH_CANCEL		/* "*" sent */
};

#define SC_LINE_MAX 1200	/* longest command we build, CRLF aside */

struct sc_reply {
	const char *raw;
	size_t rawlen;
	struct smtp_reply r;
	char text[SMTP_CLIENT_TEXT_MAX];	/* "550 5.1.1 ..." */
};

static enum smtp_client_action sc_on_banner(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_ehlo(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_helo(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_starttls(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_auth(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_rset(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_mail(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_rcpt(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_data(struct smtp_client *,
    const struct sc_reply *);
static enum smtp_client_action sc_on_dot(struct smtp_client *,
    const struct sc_reply *);

static const struct sc_step {
	const char *name;	/* in error texts */
	unsigned timeout;	/* RFC 5321 4.5.3.2, seconds */
	enum smtp_client_action (*on_reply)(struct smtp_client *,
	    const struct sc_reply *);
} sc_steps[] = {
	[SC_X_NONE] = { "unsolicited", 300, NULL },
	[SC_X_BANNER] = { "banner", 300, sc_on_banner },
	[SC_X_EHLO] = { "EHLO", 300, sc_on_ehlo },
	[SC_X_HELO] = { "HELO", 300, sc_on_helo },
	[SC_X_STARTTLS] = { "STARTTLS", 300, sc_on_starttls },
	[SC_X_AUTH] = { "AUTH", 300, sc_on_auth },
	[SC_X_RSET] = { "RSET", 300, sc_on_rset },
	[SC_X_MAIL] = { "MAIL", 300, sc_on_mail },
	[SC_X_RCPT] = { "RCPT", 300, sc_on_rcpt },
	[SC_X_DATA] = { "DATA", 120, sc_on_data },
	[SC_X_DOT] = { "end of data", 600, sc_on_dot },
};

/* ------------------------------------------------------------ helpers */

/* sc_wipe - zero memory the compiler may not skip (credentials) */
static void sc_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

/* sc_out - append one command line and CRLF; -1 (nothing appended) when
 * it does not fit. Lines are built from checked input only. */
static int sc_out(struct smtp_client *c, const char *line, size_t n)
{
	if (n + 2 > sizeof(c->out) - c->outlen)
		return -1;
	memcpy(c->out + c->outlen, line, n);
	c->outlen += n;
	c->out[c->outlen++] = '\r';
	c->out[c->outlen++] = '\n';
	return 0;
}

static int sc_outs(struct smtp_client *c, const char *line)
{
	return sc_out(c, line, strlen(line));
}

/* a command being built; ovf when it would not fit (cannot happen with
 * checked input, but is checked anyway) */
struct sc_line {
	char b[SC_LINE_MAX];
	size_t n;
	int ovf;
};

static void sc_cat(struct sc_line *l, const char *s)
{
	size_t k = strlen(s);

	if (l->ovf || k > sizeof(l->b) - l->n) {
		l->ovf = 1;
		return;
	}
	memcpy(l->b + l->n, s, k);
	l->n += k;
}

static void sc_catf(struct sc_line *l, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void sc_catf(struct sc_line *l, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (l->ovf)
		return;
	va_start(ap, fmt);
	k = vsnprintf(l->b + l->n, sizeof(l->b) - l->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(l->b) - l->n)
		l->ovf = 1;
	else
		l->n += (size_t)k;
}

/* sc_enh_len - length of an RFC 3463 code "c.s.d" (and the space after
 * it) at the start of s[0..n), 0 when there is none */
static size_t sc_enh_len(const char *s, size_t n)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 3; part++) {
		size_t d = 0;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 3) {
			i++;
			d++;
		}
		if (d == 0)
			return 0;
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i < n ? i + 1 : i;
}

/* sc_reply_text - "550 5.1.1 text of line 1 text of line 2": the code,
 * the enhanced code, and the text of every line (without its own codes)
 * joined by spaces; controls removed, TAB as space, cut at cap - 1
 * octets without splitting a UTF-8 sequence */
static void sc_reply_text(const char *raw, size_t len, const struct smtp_reply *r,
    char *out, size_t cap)
{
	size_t o, pos = 0;
	int k;

	if (r->enh_class)
		k = snprintf(out, cap, "%03d %d.%d.%d", r->code, r->enh_class,
		    r->enh_subject, r->enh_detail);
	else
		k = snprintf(out, cap, "%03d", r->code);
	if (k < 0)
		k = 0;
	o = (size_t)k < cap ? (size_t)k : cap - 1;
	while (pos < len && o < cap - 1) {
		const char *line = raw + pos, *lf;
		size_t n, i;

		lf = memchr(line, '\n', len - pos);
		n = lf ? (size_t)(lf - line) : len - pos;
		pos += lf ? n + 1 : n;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n <= 4)
			continue;
		line += 4;
		n -= 4;
		i = sc_enh_len(line, n);
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == n)
			continue;
		out[o++] = ' ';
		for (; i < n && o < cap - 1; i++) {
			unsigned char ch = (unsigned char)line[i];

			if (ch == '\t')
				ch = ' ';
			if (ch < 0x20 || ch == 0x7f)
				continue;
			out[o++] = (char)ch;
		}
		if (i < n) {
			/* cut: do not leave half a UTF-8 sequence */
			size_t b = o, need;

			while (b > 0 && o - b < 4 &&
			    ((unsigned char)out[b - 1] & 0xc0) == 0x80)
				b--;
			if (b > 0 && ((unsigned char)out[b - 1] & 0xc0) == 0xc0) {
				unsigned char lead = (unsigned char)out[b - 1];

				need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
				if (o - (b - 1) < need)
					o = b - 1;
			}
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* sc_textf - format a text of SMTP_CLIENT_TEXT_MAX octets; cutting it
 * is intended */
static void sc_textf(char *dst, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void sc_textf(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(dst, SMTP_CLIENT_TEXT_MAX, fmt, ap) < 0)
		dst[0] = '\0';
	va_end(ap);
}

static void sc_text_set(char *dst, const char *src)
{
	sc_textf(dst, "%s", src);
}

/* sc_error - record why the connection failed; the first reason stays */
static void sc_error(struct smtp_client *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static void sc_error(struct smtp_client *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (!c->err[0])
		sc_text_set(c->err, "error");
	c->err_code = code;
}

/* sc_settle - recipients still PENDING get st, code and text; with
 * accepted_only, only those whose RCPT was accepted */
static void sc_settle(struct smtp_client *c, enum smtp_rcpt_status st, int code,
    const char *text, int accepted_only)
{
	size_t i;

	if (!c->msg)
		return;
	for (i = 0; i < c->msg->n_rcpt; i++) {
		struct smtp_rcpt_result *r = &c->res[i];

		if (r->status != SC_RCPT_PENDING || (accepted_only && r->code == 0))
			continue;
		r->status = st;
		r->code = code;
		sc_text_set(r->text, text);
	}
}

static enum smtp_rcpt_status sc_class_status(int code)
{
	return code < 300 ? SC_RCPT_OK : code < 500 ? SC_RCPT_DEFER : SC_RCPT_FAIL;
}

static void sc_txn_clear(struct smtp_client *c)
{
	c->msg = NULL;
	c->res = NULL;
	c->utf8 = c->rset_sent = c->dummy_dot = 0;
	c->mail_st = SC_MS_UNSENT;
	c->data_st = SC_DS_UNSENT;
	c->rcpt_next = c->rcpt_reply = c->rcpt_inflight = c->n_accepted = 0;
}

/* sc_close - end the connection: pending recipients DEFER with text (the
 * error when NULL); QUIT is queued when quit is set and a command can be
 * sent (not amid data or a TLS handshake) */
static enum smtp_client_action sc_close(struct smtp_client *c, int quit,
    int code, const char *text)
{
	sc_settle(c, SC_RCPT_DEFER, code, text ? text : c->err, 0);
	sc_txn_clear(c);
	if (quit && c->state != SC_ST_DATA && c->state != SC_ST_TLS &&
	    c->state != SC_ST_CLOSED)
		(void)sc_outs(c, "QUIT");
	c->state = SC_ST_CLOSED;
	return SC_CLOSE;
}

/* sc_fail_host - a host-level failure with a local reason: error set,
 * pending DEFER with it, QUIT, close */
static enum smtp_client_action sc_fail_host(struct smtp_client *c, const char *why)
{
	sc_error(c, 0, "%s", why);
	return sc_close(c, 1, 0, why);
}

/* sc_fail_reply - a host-level failure the server's reply gave */
static enum smtp_client_action sc_fail_reply(struct smtp_client *c,
    const char *step, const struct sc_reply *rp)
{
	sc_error(c, rp->r.code, "%s: %s", step, rp->text);
	return sc_close(c, 1, rp->r.code, rp->text);
}

/* sc_unexpected - a reply of the wrong class for the step: the two ends
 * no longer agree, so the connection is given up */
static enum smtp_client_action sc_unexpected(struct smtp_client *c,
    const char *step, const struct sc_reply *rp)
{
	char why[SMTP_CLIENT_TEXT_MAX];

	sc_textf(why, "unexpected reply %s: %s", step, rp->text);
	sc_error(c, rp->r.code, "%s", why);
	if (c->state == SC_ST_AUTH && rp->r.code == 334)
		(void)sc_outs(c, "*");	/* RFC 4954 4: cancel first */
	return sc_close(c, 1, 0, why);
}

/* sc_local_error - misuse by the caller or a full output buffer */
static enum smtp_client_action sc_local_error(struct smtp_client *c, const char *why)
{
	sc_error(c, 0, "local error: %s", why);
	return sc_close(c, 0, 0, c->err);
}

/* sc_name_ok - an EHLO/HELO argument: printable ASCII, no space */
static int sc_name_ok(const char *s)
{
	size_t i;

	if (!s || !s[0])
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= SMTP_CLIENT_NAME_MAX || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* sc_addr_ok - a path we may put between < and >: no controls, spaces,
 * '<' or '>', at most SMTP_CLIENT_ADDR_MAX octets; *utf8 is set when
 * it holds octets >= 0x80 */
static int sc_addr_ok(const char *s, int *utf8)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= SMTP_CLIENT_ADDR_MAX || ch <= ' ' || ch == 0x7f ||
		    ch == '<' || ch == '>')
			return 0;
		if (ch >= 0x80)
			*utf8 = 1;
	}
	return 1;
}

static int sc_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') ||
	    (ch >= 'a' && ch <= 'f');
}

/* sc_xtext_ok - RFC 3461 4 xtext of at most max octets */
static int sc_xtext_ok(const char *s, size_t max)
{
	size_t i, n;

	if (!s || !s[0] || (n = strlen(s)) > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 33 || ch > 126 || ch == '=')
			return 0;
		if (ch == '+' && (i + 2 >= n || !sc_hex((unsigned char)s[i + 1]) ||
		    !sc_hex((unsigned char)s[i + 2])))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ base64 */

static const char sc_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t smtp_client_b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
		    (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = sc_b64[v >> 18 & 63];
		out[o++] = sc_b64[v >> 12 & 63];
		out[o++] = sc_b64[v >> 6 & 63];
		out[o++] = sc_b64[v & 63];
	}
	if (i < len) {
		unsigned long v = (unsigned long)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		out[o++] = sc_b64[v >> 18 & 63];
		out[o++] = sc_b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? sc_b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int sc_b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

long smtp_client_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t cap)
{
	size_t i, o = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;
		unsigned long w;

		for (k = 0; k < 4; k++) {
			unsigned char ch = (unsigned char)in[i + (size_t)k];

			if (ch == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = sc_b64_val(ch)) < 0)
				return -1;	/* data after '=' or not base64 */
		}
		w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
		    (unsigned long)v[2] << 6 | (unsigned long)v[3];
		if ((size_t)(3 - pad) > cap - o)
			return -1;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8 & 0xff);
		if (pad < 1)
			out[o++] = (unsigned char)(w & 0xff);
	}
	return (long)o;
}

/* ------------------------------------------------------------ greeting */

static enum smtp_client_action sc_send_helo(struct smtp_client *c, const char *verb,
    int state)
{
	struct sc_line l = { .n = 0 };

	if (!sc_name_ok(c->o.helo_name))
		return sc_fail_host(c, "local error: helo_name is empty, too long "
		    "or holds spaces or control characters");
	sc_catf(&l, "%s %s", verb, c->o.helo_name);
	if (l.ovf || sc_out(c, l.b, l.n) < 0)
		return sc_local_error(c, "output buffer full");
	c->state = state;
	return SC_SEND_READ;
}

/* sc_auth_start - AUTH PLAIN when offered, else LOGIN (RFC 4954) */
static enum smtp_client_action sc_auth_start(struct smtp_client *c)
{
	const char *user = c->o.auth_user, *pass = c->o.auth_pass ? c->o.auth_pass : "";
	size_t ul = strlen(user), pl = strlen(pass);
	unsigned char raw[2 * SMTP_CLIENT_CRED_MAX + 2];
	char b64[4 * ((sizeof(raw) + 2) / 3) + 1];
	struct sc_line l = { .n = 0 };
	int r;

	if (!IS_ENABLED(CONFIG_SMTP_CLIENT_AUTH))
		return sc_fail_host(c, "AUTH credentials are set, but AUTH is not "
		    "built in (CONFIG_SMTP_CLIENT_AUTH)");
	if (!c->tls && !c->o.auth_over_plain)
		return sc_fail_host(c, "AUTH needs TLS: the connection is not "
		    "encrypted and auth_over_plain is not set");
	if (ul == 0 || ul > SMTP_CLIENT_CRED_MAX || pl > SMTP_CLIENT_CRED_MAX)
		return sc_fail_host(c, "local error: AUTH user name empty or "
		    "credentials too long");
	if (c->caps & SMTP_CAP_AUTH_PLAIN) {
		/* RFC 4616 2: authzid (empty) NUL authcid NUL passwd */
		raw[0] = '\0';
		memcpy(raw + 1, user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, pass, pl);
		smtp_client_b64_encode(raw, ul + pl + 2, b64);
		sc_cat(&l, "AUTH PLAIN ");
		sc_cat(&l, b64);
		r = l.ovf ? -1 : sc_out(c, l.b, l.n);
		sc_wipe(raw, sizeof(raw));
		sc_wipe(b64, sizeof(b64));
		sc_wipe(l.b, sizeof(l.b));
		c->auth_step = SC_AUTH_PLAIN;
	} else if (c->caps & SMTP_CAP_AUTH_LOGIN) {
		r = sc_outs(c, "AUTH LOGIN");
		c->auth_step = SC_AUTH_LOGIN;
	} else {
		return sc_fail_host(c, c->esmtp ? "AUTH credentials are set, but the "
		    "server offers neither AUTH PLAIN nor AUTH LOGIN" :
		    "AUTH credentials are set, but the server does not speak ESMTP");
	}
	if (r < 0)
		return sc_local_error(c, "output buffer full");
	c->state = SC_ST_AUTH;
	return SC_SEND_READ;
}

/* sc_greeted - EHLO or HELO accepted: STARTTLS, AUTH, or ready */
static enum smtp_client_action sc_greeted(struct smtp_client *c)
{
	if (!c->tls && !c->tls_tried && c->o.tls_possible &&
	    (c->caps & SMTP_CAP_STARTTLS)) {
		c->tls_tried = 1;
		if (sc_outs(c, "STARTTLS") < 0)
			return sc_local_error(c, "output buffer full");
		c->state = SC_ST_STARTTLS;
		return SC_SEND_READ;
	}
	if (!c->tls && c->o.tls_required)
		return sc_fail_host(c, c->o.tls_possible ?
		    "STARTTLS not offered and TLS is required" :
		    "TLS is required but this connection cannot do TLS");
	if (c->o.auth_user && !c->authed)
		return sc_auth_start(c);
	c->state = SC_ST_READY;
	return SC_READY;
}

static enum smtp_client_action sc_on_banner(struct smtp_client *c,
    const struct sc_reply *rp)
{
	if (rp->r.code != 220)
		return sc_fail_reply(c, "banner", rp);
	return sc_send_helo(c, "EHLO", SC_ST_EHLO);
}

static enum smtp_client_action sc_on_ehlo(struct smtp_client *c,
    const struct sc_reply *rp)
{
	if (rp->r.code / 100 == 5)
		return sc_send_helo(c, "HELO", SC_ST_HELO);	/* RFC 5321 4.1.4 */
	if (rp->r.code / 100 != 2)
		return sc_fail_reply(c, "EHLO", rp);
	c->esmtp = 1;
	c->caps = smtp_reply_ehlo_caps(rp->raw, rp->rawlen, &c->size_limit);
	return sc_greeted(c);
}

static enum smtp_client_action sc_on_helo(struct smtp_client *c,
    const struct sc_reply *rp)
{
	if (rp->r.code / 100 != 2)
		return sc_fail_reply(c, "HELO", rp);
	c->esmtp = 0;
	c->caps = 0;
	c->size_limit = 0;
	return sc_greeted(c);
}

static enum smtp_client_action sc_on_starttls(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;

	if (rp->r.code == 220) {
		c->state = SC_ST_TLS;
		return SC_STARTTLS;
	}
	if (c->o.tls_required)
		return sc_fail_reply(c, "STARTTLS refused and TLS is required", rp);
	if (cls == 4 || cls == 5)
		return sc_greeted(c);	/* opportunistic: on in clear */
	return sc_unexpected(c, "to STARTTLS", rp);
}

static enum smtp_client_action sc_on_auth(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;
	const char *cred;
	unsigned char chal[SMTP_REPLY_MAX];
	char b64[4 * ((SMTP_CLIENT_CRED_MAX + 2) / 3) + 1];
	int r;

	if (!IS_ENABLED(CONFIG_SMTP_CLIENT_AUTH))
		return sc_unexpected(c, "to AUTH", rp);	/* never sent */
	if (c->auth_step == SC_AUTH_CANCEL)
		return sc_fail_host(c, "AUTH LOGIN: the server's challenge is "
		    "not base64; cancelled");
	if (cls == 2) {
		c->authed = 1;
		c->state = SC_ST_READY;
		return SC_READY;
	}
	if (cls == 4 || cls == 5)
		return sc_fail_reply(c, "AUTH", rp);
	if (rp->r.code != 334 || (c->auth_step != SC_AUTH_LOGIN &&
	    c->auth_step != SC_AUTH_LOGIN_USER))
		return sc_unexpected(c, "to AUTH", rp);
	/* LOGIN: the challenges are "Username:" then "Password:" */
	if (smtp_client_b64_decode(rp->r.text, rp->r.textlen, chal,
	    sizeof(chal)) < 0) {
		c->auth_step = SC_AUTH_CANCEL;
		if (sc_outs(c, "*") < 0)
			return sc_local_error(c, "output buffer full");
		return SC_SEND_READ;
	}
	cred = c->auth_step == SC_AUTH_LOGIN ? c->o.auth_user :
	    c->o.auth_pass ? c->o.auth_pass : "";
	smtp_client_b64_encode((const unsigned char *)cred, strlen(cred), b64);
	r = sc_outs(c, b64);
	sc_wipe(b64, sizeof(b64));
	if (r < 0)
		return sc_local_error(c, "output buffer full");
	c->auth_step = c->auth_step == SC_AUTH_LOGIN ? SC_AUTH_LOGIN_USER :
	    SC_AUTH_LOGIN_PASS;
	return SC_SEND_READ;
}

/* ------------------------------------------------------------ transaction */

/* sc_txn_busy - a command of the transaction awaits its reply */
static int sc_txn_busy(const struct smtp_client *c)
{
	return c->rset_sent || c->mail_st == SC_MS_SENT || c->rcpt_inflight > 0 ||
	    c->data_st == SC_DS_SENT;
}

/* sc_txn_end - the transaction is over; SC_READY */
static enum smtp_client_action sc_txn_end(struct smtp_client *c, int need_rset)
{
	/* a safety net: every recipient leaves with an outcome */
	sc_settle(c, SC_RCPT_DEFER, 0, "transaction ended without an outcome", 0);
	sc_txn_clear(c);
	c->need_rset = need_rset;
	c->state = SC_ST_READY;
	return SC_READY;
}

static void sc_build_mail(const struct smtp_client *c, struct sc_line *l)
{
	const struct smtp_client_msg *m = c->msg;

	sc_cat(l, "MAIL FROM:<");
	sc_cat(l, m->sender);
	sc_cat(l, ">");
	if ((c->caps & SMTP_CAP_SIZE) && m->size > 0)
		sc_catf(l, " SIZE=%llu", m->size);
	if (m->body_8bit && (c->caps & SMTP_CAP_8BITMIME))
		sc_cat(l, " BODY=8BITMIME");
	if (c->utf8)
		sc_cat(l, " SMTPUTF8");
	if (c->caps & SMTP_CAP_DSN) {
		if (m->ret_full)
			sc_cat(l, " RET=FULL");
		if (sc_xtext_ok(m->envid, SMTP_CLIENT_ENVID_MAX)) {
			sc_cat(l, " ENVID=");
			sc_cat(l, m->envid);
		}
	}
}

static void sc_build_rcpt(const struct smtp_client *c, size_t i, struct sc_line *l)
{
	const struct smtp_client_msg *m = c->msg;

	sc_cat(l, "RCPT TO:<");
	sc_cat(l, m->rcpt[i]);
	sc_cat(l, ">");
	if (!(c->caps & SMTP_CAP_DSN))
		return;
	if (m->notify && m->notify[i]) {
		unsigned n = m->notify[i];

		if (n & SPOOL_NOTIFY_NEVER) {
			sc_cat(l, " NOTIFY=NEVER");
		} else if (n & (SPOOL_NOTIFY_SUCCESS | SPOOL_NOTIFY_FAILURE |
		    SPOOL_NOTIFY_DELAY)) {
			const char *sep = " NOTIFY=";

			if (n & SPOOL_NOTIFY_SUCCESS) {
				sc_cat(l, sep);
				sc_cat(l, "SUCCESS");
				sep = ",";
			}
			if (n & SPOOL_NOTIFY_FAILURE) {
				sc_cat(l, sep);
				sc_cat(l, "FAILURE");
				sep = ",";
			}
			if (n & SPOOL_NOTIFY_DELAY) {
				sc_cat(l, sep);
				sc_cat(l, "DELAY");
			}
		}
	}
	/* ORCPT=addr-type;xtext (RFC 3461 4.2), sent as the spool has it */
	if (m->orcpt && sc_xtext_ok(m->orcpt[i], SMTP_CLIENT_ORCPT_MAX) &&
	    strchr(m->orcpt[i], ';')) {
		sc_cat(l, " ORCPT=");
		sc_cat(l, m->orcpt[i]);
	}
}

/* sc_skip_settled - move rcpt_next past recipients failed locally */
static void sc_skip_settled(struct smtp_client *c)
{
	while (c->rcpt_next < c->msg->n_rcpt &&
	    c->res[c->rcpt_next].status != SC_RCPT_PENDING)
		c->rcpt_next++;
}

/* sc_txn_pump - send what may be sent now. Without PIPELINING one
 * command, then its reply; with it, a batch: [RSET] MAIL, as many RCPTs
 * as the output holds and, once every RCPT is out, DATA (RFC 2920 3.1:
 * DATA ends a group). A new batch starts only when the last one is
 * answered, so at most one output buffer is ever in flight. */
static enum smtp_client_action sc_txn_pump(struct smtp_client *c)
{
	int pipe = (c->caps & SMTP_CAP_PIPELINING) != 0;
	struct sc_line l;

	if (sc_txn_busy(c))
		return SC_SEND_READ;
	if (c->mail_st == SC_MS_FAILED || c->data_st == SC_DS_DONE)
		return sc_txn_end(c, 1);
	sc_skip_settled(c);
	if (c->mail_st == SC_MS_OK && c->rcpt_next == c->msg->n_rcpt &&
	    c->n_accepted == 0)
		return sc_txn_end(c, 1);	/* no recipient: no DATA */
	if (c->need_rset) {
		if (sc_outs(c, "RSET") < 0)
			goto full;
		c->need_rset = 0;
		c->rset_sent = 1;
		if (!pipe)
			return SC_SEND_READ;
	}
	if (c->mail_st == SC_MS_UNSENT) {
		memset(&l, 0, sizeof(l));
		sc_build_mail(c, &l);
		if (l.ovf || sc_out(c, l.b, l.n) < 0)
			goto full;
		c->mail_st = SC_MS_SENT;
		if (!pipe)
			return SC_SEND_READ;
	}
	for (sc_skip_settled(c); c->rcpt_next < c->msg->n_rcpt; sc_skip_settled(c)) {
		l.n = 0;
		l.ovf = 0;
		sc_build_rcpt(c, c->rcpt_next, &l);
		if (l.ovf || sc_out(c, l.b, l.n) < 0) {
			if (sc_txn_busy(c))
				return SC_SEND_READ;	/* next batch */
			goto full;
		}
		c->rcpt_next++;
		c->rcpt_inflight++;
		if (!pipe)
			return SC_SEND_READ;
	}
	if (c->data_st == SC_DS_UNSENT && (pipe || c->n_accepted > 0)) {
		if (sc_outs(c, "DATA") < 0) {
			if (sc_txn_busy(c))
				return SC_SEND_READ;
			goto full;
		}
		c->data_st = SC_DS_SENT;
	}
	return SC_SEND_READ;
full:
	/* only when the caller did not take the output */
	return sc_local_error(c, "output buffer full");
}

static enum smtp_client_action sc_on_rset(struct smtp_client *c,
    const struct sc_reply *rp)
{
	c->rset_sent = 0;
	if (rp->r.code / 100 != 2)
		return sc_fail_reply(c, "RSET", rp);
	return sc_txn_pump(c);
}

static enum smtp_client_action sc_on_mail(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;

	if (cls == 2) {
		c->mail_st = SC_MS_OK;
		return sc_txn_pump(c);
	}
	if (cls != 4 && cls != 5)
		return sc_unexpected(c, "to MAIL", rp);
	/* every recipient shares the sender's fate; pipelined RCPT and DATA
	 * replies that follow are read and ignored */
	c->mail_st = SC_MS_FAILED;
	sc_settle(c, sc_class_status(rp->r.code), rp->r.code, rp->text, 0);
	return sc_txn_pump(c);
}

static enum smtp_client_action sc_on_rcpt(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;
	struct smtp_rcpt_result *r;

	if (c->mail_st == SC_MS_FAILED) {
		c->rcpt_inflight--;	/* pipelined after a failed MAIL */
		return sc_txn_pump(c);
	}
	if (cls != 2 && cls != 4 && cls != 5)
		return sc_unexpected(c, "to RCPT", rp);
	c->rcpt_inflight--;
	/* the oldest sent, unanswered recipient: PENDING with code 0 */
	while (c->rcpt_reply < c->rcpt_next &&
	    (c->res[c->rcpt_reply].status != SC_RCPT_PENDING ||
	    c->res[c->rcpt_reply].code != 0))
		c->rcpt_reply++;
	if (c->rcpt_reply >= c->rcpt_next)
		return sc_local_error(c, "RCPT reply without a recipient");
	r = &c->res[c->rcpt_reply++];
	sc_text_set(r->text, rp->text);
	r->code = rp->r.code;
	if (cls == 2)
		c->n_accepted++;	/* stays PENDING until the end of data */
	else
		r->status = sc_class_status(rp->r.code);
	return sc_txn_pump(c);
}

static enum smtp_client_action sc_on_data(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;

	c->data_st = SC_DS_DONE;
	if (c->mail_st == SC_MS_FAILED || c->n_accepted == 0) {
		/* pipelined DATA without a recipient: 503/554 expected; if it
		 * says 354 all the same, end the empty message (RFC 2920 3.1) */
		if (rp->r.code != 354)
			return sc_txn_pump(c);
		if (sc_outs(c, ".") < 0)
			return sc_local_error(c, "output buffer full");
		c->dummy_dot = 1;
		c->state = SC_ST_DOT;
		return SC_SEND_READ;
	}
	if (rp->r.code == 354) {
		c->state = SC_ST_DATA;
		return SC_DATA;
	}
	if (cls != 4 && cls != 5)
		return sc_unexpected(c, "to DATA", rp);
	sc_settle(c, sc_class_status(rp->r.code), rp->r.code, rp->text, 1);
	return sc_txn_pump(c);
}

static enum smtp_client_action sc_on_dot(struct smtp_client *c,
    const struct sc_reply *rp)
{
	int cls = rp->r.code / 100;

	if (c->dummy_dot)
		return sc_txn_end(c, 1);
	if (cls != 2 && cls != 4 && cls != 5)
		return sc_unexpected(c, "to end of data", rp);
	sc_settle(c, sc_class_status(rp->r.code), rp->r.code, rp->text, 1);
	return sc_txn_end(c, 0);
}

/* sc_expect - what the next reply answers */
static enum sc_expect sc_expect(const struct smtp_client *c)
{
	switch (c->state) {
	case SC_ST_BANNER:
		return SC_X_BANNER;
	case SC_ST_EHLO:
		return SC_X_EHLO;
	case SC_ST_HELO:
		return SC_X_HELO;
	case SC_ST_STARTTLS:
		return SC_X_STARTTLS;
	case SC_ST_AUTH:
		return SC_X_AUTH;
	case SC_ST_TXN:
		if (c->rset_sent)
			return SC_X_RSET;
		if (c->mail_st == SC_MS_SENT)
			return SC_X_MAIL;
		if (c->rcpt_inflight > 0)
			return SC_X_RCPT;
		if (c->data_st == SC_DS_SENT)
			return SC_X_DATA;
		return SC_X_NONE;
	case SC_ST_DOT:
		return SC_X_DOT;
	default:
		return SC_X_NONE;
	}
}

/* sc_check_msg - settle locally what cannot be sent: bad addresses,
 * SMTPUTF8 the server lacks, a size over its limit */
static void sc_check_msg(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->msg;
	char why[SMTP_CLIENT_TEXT_MAX];
	int utf8 = m->smtputf8 != 0;
	size_t i;

	if (!m->rcpt || !sc_addr_ok(m->sender, &utf8)) {
		sc_settle(c, SC_RCPT_FAIL, 0, "5.1.7 invalid sender address (a control "
		    "character, space, '<' or '>', or too long); not sent", 0);
		return;
	}
	for (i = 0; i < m->n_rcpt; i++)
		if (!m->rcpt[i] || !m->rcpt[i][0] || !sc_addr_ok(m->rcpt[i], &utf8)) {
			c->res[i].status = SC_RCPT_FAIL;
			sc_text_set(c->res[i].text, "5.1.3 invalid recipient address (a "
			    "control character, space, '<' or '>', or too long); not sent");
		}
	c->utf8 = utf8;
	if (utf8 && !(c->caps & SMTP_CAP_SMTPUTF8)) {
		sc_settle(c, SC_RCPT_FAIL, 0, "5.6.7 the message needs SMTPUTF8 "
		    "(RFC 6531) and the server does not offer it", 0);
		return;
	}
	if ((c->caps & SMTP_CAP_SIZE) && c->size_limit && m->size > c->size_limit) {
		sc_textf(why, "5.3.4 message size %llu exceeds the "
		    "server's SIZE limit of %llu; not sent", m->size, c->size_limit);
		sc_settle(c, SC_RCPT_FAIL, 0, why, 0);
	}
}

/* ------------------------------------------------------------ public */

void smtp_client_init(struct smtp_client *c, const struct smtp_client_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->o = *o;
	c->tls = o->tls_on_connect != 0;
	c->tls_tried = c->tls;
	c->state = SC_ST_BANNER;
	sc_txn_clear(c);
}

enum smtp_client_action smtp_client_reply(struct smtp_client *c,
    const char *raw, size_t rawlen)
{
	struct sc_reply rp;
	const char *perr = NULL;
	enum sc_expect x;
	long n;

	if (c->state == SC_ST_CLOSED)
		return SC_CLOSE;
	n = smtp_reply_parse(raw, rawlen, &rp.r, &perr);
	if (n <= 0 || (size_t)n != rawlen) {
		char why[SMTP_CLIENT_TEXT_MAX];

		sc_textf(why, "malformed reply: %s", n < 0 && perr ?
		    perr : n == 0 ? "incomplete" : "more than one reply");
		sc_error(c, 0, "%s", why);
		return sc_close(c, 1, 0, why);
	}
	rp.raw = raw;
	rp.rawlen = rawlen;
	sc_reply_text(raw, rawlen, &rp.r, rp.text, sizeof(rp.text));
	x = sc_expect(c);
	if (rp.r.code == 421) {
		/* RFC 5321 3.8: the server is closing; no QUIT */
		sc_error(c, 421, "%s: %s", sc_steps[x].name, rp.text);
		return sc_close(c, 0, 421, rp.text);
	}
	if (x == SC_X_NONE)
		return sc_unexpected(c, "without a command", &rp);
	return sc_steps[x].on_reply(c, &rp);
}

enum smtp_client_action smtp_client_msg_start(struct smtp_client *c,
    const struct smtp_client_msg *m, struct smtp_rcpt_result *results)
{
	size_t i;

	for (i = 0; i < m->n_rcpt; i++) {
		results[i].status = SC_RCPT_PENDING;
		results[i].code = 0;
		results[i].text[0] = '\0';
	}
	if (c->state != SC_ST_READY) {
		if (c->state != SC_ST_CLOSED)
			(void)sc_local_error(c, "message started out of sequence");
		c->msg = m;
		c->res = results;
		return sc_close(c, 0, 0, c->err[0] ? c->err : "connection closed");
	}
	c->msg = m;
	c->res = results;
	sc_check_msg(c);
	c->rcpt_next = 0;
	sc_skip_settled(c);
	if (c->rcpt_next == m->n_rcpt) {
		sc_txn_clear(c);	/* nothing to send */
		return SC_READY;
	}
	c->state = SC_ST_TXN;
	return sc_txn_pump(c);
}

int smtp_client_awaits_ehlo(const struct smtp_client *c)
{
	return c->state == SC_ST_EHLO;
}

void smtp_client_reuse(struct smtp_client *c)
{
	if (c->state == SC_ST_READY)
		c->need_rset = 1;
}

enum smtp_client_action smtp_client_tls_done(struct smtp_client *c, int ok)
{
	if (c->state == SC_ST_CLOSED)
		return SC_CLOSE;
	if (c->state != SC_ST_TLS)
		return sc_local_error(c, "smtp_client_tls_done out of sequence");
	if (!ok) {
		sc_error(c, 0, "TLS handshake failed");
		return sc_close(c, 0, 0, NULL);
	}
	/* RFC 3207 4.2: forget what the server said before TLS */
	c->tls = 1;
	c->esmtp = 0;
	c->caps = 0;
	c->size_limit = 0;
	return sc_send_helo(c, "EHLO", SC_ST_EHLO);
}

enum smtp_client_action smtp_client_data_sent(struct smtp_client *c)
{
	if (c->state == SC_ST_CLOSED)
		return SC_CLOSE;
	if (c->state != SC_ST_DATA)
		return sc_local_error(c, "smtp_client_data_sent out of sequence");
	c->state = SC_ST_DOT;
	return SC_SEND_READ;
}

enum smtp_client_action smtp_client_quit(struct smtp_client *c)
{
	if (c->state == SC_ST_CLOSED)
		return SC_CLOSE;
	return sc_close(c, 1, 0, "local error: connection closed (QUIT) before the "
	    "transaction ended");
}

enum smtp_client_action smtp_client_abort(struct smtp_client *c, const char *why)
{
	if (c->state == SC_ST_CLOSED)
		return SC_CLOSE;
	if (!why || !why[0])
		why = "connection aborted";
	sc_error(c, 0, "%s", why);
	smtp_client_output_reset(c);	/* nothing more is sent */
	return sc_close(c, 0, 0, why);
}

const char *smtp_client_error(const struct smtp_client *c)
{
	return c->err[0] ? c->err : NULL;
}

int smtp_client_error_code(const struct smtp_client *c)
{
	return c->err[0] ? c->err_code : 0;
}

const char *smtp_client_output(const struct smtp_client *c, size_t *len)
{
	*len = c->outlen;
	return c->out;
}

void smtp_client_output_reset(struct smtp_client *c)
{
	sc_wipe(c->out, c->outlen);
	c->outlen = 0;
}

unsigned smtp_client_caps(const struct smtp_client *c)
{
	return c->caps;
}

unsigned long long smtp_client_size_limit(const struct smtp_client *c)
{
	return c->size_limit;
}

int smtp_client_tls_active(const struct smtp_client *c)
{
	return c->tls;
}

int smtp_client_authenticated(const struct smtp_client *c)
{
	return c->authed;
}

unsigned smtp_client_timeout(const struct smtp_client *c)
{
	if (c->state == SC_ST_DATA)
		return 180;	/* RFC 5321 4.5.3.2.5: each data block */
	return sc_steps[sc_expect(c)].timeout;
}

/* ------------------------------------------------------------ dot-stuffing */

void smtp_dotstuff_init(struct smtp_dotstuff *d)
{
	d->line_start = 1;	/* the data starts a line */
	d->crlf = 1;
	d->cr = 0;
}

size_t smtp_dotstuff(struct smtp_dotstuff *d, const char *in, size_t len,
    char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '\n' && d->cr) {
			d->cr = 0;	/* the LF of a CRLF already sent */
			continue;
		}
		if (ch == '\r' || ch == '\n') {
			/* every line end goes out as CRLF: a bare CR or LF
			 * never reaches the next hop (SMTP smuggling) */
			out[o++] = '\r';
			out[o++] = '\n';
			d->cr = ch == '\r';
			d->line_start = d->crlf = 1;
			continue;
		}
		if (d->line_start && ch == '.')
			out[o++] = '.';
		out[o++] = ch;
		d->cr = d->line_start = d->crlf = 0;
	}
	return o;
}

size_t smtp_dotstuff_end(struct smtp_dotstuff *d, char *out)
{
	size_t o = 0;

	if (!d->crlf) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	d->line_start = d->crlf = 1;
	d->cr = 0;
	return o + 3;
}
