/*
 * smtp_session.c - SMTP server state machine (smtp_session.h). Pure: no
 * I/O; replies go to s->out.
 *
 * Reads like a table: smtp_cmds[] gives each verb the states it is
 * allowed in and its handler; smtp_sess_line() checks the state (503 when
 * out of sequence), then calls the handler, which validates (smtp_check_*)
 * before it acts. Relay control (RFC 5321 3.6, no open relay): a
 * recipient in local_domains must be an alias; any other domain needs a
 * client in relay_from_hosts or a local submission; else 550 5.7.1.
 */
#include "core/smtp_session.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/mailhdr.h"
#include "core/smtp_parse.h"
#include "core/spool_env.h"

#define SMTP_OUT_MAX (256 * 1024)

/* ------------------------------------------------------------ output */

void smtp_out_reset(struct smtp_out *o)
{
	o->len = 0;
}

void smtp_out_printf(struct smtp_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n + 2 < room) {
			o->len += (size_t)n;
			o->buf[o->len++] = '\r';
			o->buf[o->len++] = '\n';
			return;
		}
		{
			size_t cap = o->cap ? o->cap * 2 : 1024;
			char *b;

			while (cap < o->len + (size_t)n + 3)
				cap *= 2;
			if (cap > SMTP_OUT_MAX || !(b = realloc(o->buf, cap))) {
				o->oom = 1;
				return;
			}
			o->buf = b;
			o->cap = cap;
		}
	}
}

/* ------------------------------------------------------------ helpers */

static void smtp_txn_reset(struct smtp_sess *s)
{
	spool_env_free(s->env);
	s->env = NULL;
	s->utf8 = 0;
	s->declared_size = 0;
	if (s->state == SMTP_ST_MAIL || s->state == SMTP_ST_RCPT ||
	    s->state == SMTP_ST_DATA)
		s->state = SMTP_ST_READY;
}

/* smtp_error - a syntax or protocol error; closes after too many */
static enum smtp_action smtp_error(struct smtp_sess *s, const char *reply)
{
	unsigned max = (unsigned)s->cfg->main.smtp_max_synprot_errors;

	smtp_out_printf(&s->out, "%s", reply);
	if (++s->synprot_errors > max && max > 0) {
		smtp_out_printf(&s->out, "421 4.7.0 %s Too many syntax or protocol errors",
		    s->cfg->main.primary_hostname);
		s->state = SMTP_ST_CLOSED;
		return SMTP_A_CLOSE;
	}
	return SMTP_A_NONE;
}

/* smtp_domain_is_local - domain (not NUL-terminated) in local_domains */
static int smtp_domain_is_local(const struct config *cfg, const char *d, size_t len)
{
	char dom[256];

	if (len >= sizeof(dom))
		return 0;
	memcpy(dom, d, len);
	dom[len] = '\0';
	return hostlist_match(cfg->main.local_domains, dom, NULL,
	    cfg->main.primary_hostname);
}

/* smtp_xtext_ok - RFC 3461 4 xtext: printable ASCII but '+' and '=' */
static int smtp_xtext_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 33 || c > 126 || c == '=')
			return 0;
		if (c == '+' && (i + 2 >= n || !isxdigit((unsigned char)v[i + 1]) ||
		    !isxdigit((unsigned char)v[i + 2])))
			return 0;
	}
	return 1;
}

static int smtp_kw(const struct smtp_param *p, const char *key)
{
	return p->klen == strlen(key) && strncasecmp(p->key, key, p->klen) == 0;
}

static int smtp_val(const struct smtp_param *p, const char *v)
{
	return p->val && p->vlen == strlen(v) && strncasecmp(p->val, v, p->vlen) == 0;
}

/* ------------------------------------------------------------ commands */

static enum smtp_action smtp_do_helo(struct smtp_sess *s, const struct smtp_cmd *c)
{
	size_t n = c->arglen < sizeof(s->helo) - 1 ? c->arglen : sizeof(s->helo) - 1;
	const struct config_main *m = &s->cfg->main;
	size_t i;

	smtp_txn_reset(s);
	/* echoed in the reply and the Received: header, which are ASCII:
	 * octets >= 0x80 (the parser lets them through) become '?' */
	for (i = 0; i < n; i++)
		s->helo[i] = (unsigned char)c->arg[i] < 0x80 ? c->arg[i] : '?';
	s->helo[n] = '\0';
	s->esmtp = c->verb == SMTP_V_EHLO;
	s->state = SMTP_ST_READY;
	if (!s->esmtp) {
		smtp_out_printf(&s->out, "250 %s Hello %s [%s]", m->primary_hostname,
		    s->helo, s->client_addr);
		return SMTP_A_NONE;
	}
	smtp_out_printf(&s->out, "250-%s Hello %s [%s]", m->primary_hostname,
	    s->helo, s->client_addr);
	smtp_out_printf(&s->out, "250-SIZE %lld", m->message_size_limit);
	smtp_out_printf(&s->out, "250-8BITMIME");
	smtp_out_printf(&s->out, "250-PIPELINING");
	smtp_out_printf(&s->out, "250-ENHANCEDSTATUSCODES");
	smtp_out_printf(&s->out, "250-SMTPUTF8");
	if (s->tls_offer && !s->tls)
		smtp_out_printf(&s->out, "250-STARTTLS");
	smtp_out_printf(&s->out, "250 HELP");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_mail(struct smtp_sess *s, const struct smtp_cmd *c)
{
	const struct config_main *m = &s->cfg->main;
	struct spool_env *env;
	char addr[SMTP_PATH_MAX + 1];
	size_t i;

	s->utf8 = smtp_path_utf8(c);
	env = spool_env_new();
	if (!env) {
		smtp_out_printf(&s->out, "451 4.3.0 Out of memory, try later");
		return SMTP_A_NONE;
	}
	for (i = 0; i < c->nparam; i++) {
		const struct smtp_param *p = &c->param[i];

		if (smtp_kw(p, "SIZE")) {
			unsigned long long v = 0;
			size_t k;

			for (k = 0; p->val && k < p->vlen && k < 19 &&
			    isdigit((unsigned char)p->val[k]); k++)
				v = v * 10 + (unsigned)(p->val[k] - '0');
			if (!p->val || k != p->vlen || k == 0 || k >= 19) {
				spool_env_free(env);
				return smtp_error(s, "501 5.5.4 Bad SIZE parameter");
			}
			if ((long long)v > m->message_size_limit) {
				spool_env_free(env);
				smtp_out_printf(&s->out, "552 5.3.4 Message size exceeds "
				    "fixed maximum message size (%lld)", m->message_size_limit);
				return SMTP_A_NONE;
			}
			s->declared_size = (long long)v;
		} else if (smtp_kw(p, "BODY")) {
			if (smtp_val(p, "8BITMIME"))
				env->body_8bit = 1;
			else if (!smtp_val(p, "7BIT")) {
				spool_env_free(env);
				return smtp_error(s, "501 5.5.4 BODY must be 7BIT or 8BITMIME");
			}
		} else if (smtp_kw(p, "SMTPUTF8") && !p->val) {
			env->smtputf8 = 1;
		} else if (smtp_kw(p, "RET") && (smtp_val(p, "FULL") || smtp_val(p, "HDRS"))) {
			env->ret_full = smtp_val(p, "FULL");
		} else if (smtp_kw(p, "ENVID") && p->val && p->vlen <= 100 &&
		    smtp_xtext_ok(p->val, p->vlen)) {
			char v[101];

			memcpy(v, p->val, p->vlen);
			v[p->vlen] = '\0';
			if (spool_env_set(&env->envid, v) < 0) {
				spool_env_free(env);
				smtp_out_printf(&s->out, "451 4.3.0 Out of memory, try later");
				return SMTP_A_NONE;
			}
		} else if (smtp_kw(p, "AUTH")) {
			/* RFC 4954 5: ignored when we did not authenticate */
		} else {
			spool_env_free(env);
			smtp_out_printf(&s->out, "555 5.5.4 Unsupported parameter %.*s",
			    (int)(p->klen > 40 ? 40 : p->klen), p->key);
			return SMTP_A_NONE;
		}
	}
	if (s->space_low && s->space_low(s->space_arg, s->declared_size)) {
		spool_env_free(env);
		s->declared_size = 0;
		smtp_out_printf(&s->out, "452 4.3.1 Insufficient system storage");
		return SMTP_A_NONE;
	}
	memcpy(addr, c->path, c->pathlen);
	addr[c->pathlen] = '\0';
	if (spool_env_set(&env->sender, addr) < 0) {
		spool_env_free(env);
		smtp_out_printf(&s->out, "451 4.3.0 Out of memory, try later");
		return SMTP_A_NONE;
	}
	s->env = env;
	s->state = SMTP_ST_MAIL;
	s->nonmail = 0;
	smtp_out_printf(&s->out, "250 2.1.0 OK");
	return SMTP_A_NONE;
}

/* smtp_check_rcpt - may this client send to that address? NULL or reply */
static const char *smtp_check_rcpt(struct smtp_sess *s, const struct smtp_cmd *c,
    char *reply, size_t rlen)
{
	const struct config *cfg = s->cfg;

	if (!c->domain) {
		/* <postmaster> (RFC 5321 4.5.1): an alias must take it */
		if (config_alias_find(cfg, "postmaster", 10) || config_alias_find(cfg, "root", 4))
			return NULL;
		snprintf(reply, rlen, "550 5.1.1 <postmaster>: no alias for postmaster here");
		return reply;
	}
	if (smtp_domain_is_local(cfg, c->domain, c->domainlen)) {
		/* postmaster@ falls back on root as in the router (RFC 5321
		 * 4.5.1: postmaster of every domain) */
		if (c->path[0] != '"' && (config_alias_find(cfg, c->path, c->locallen) ||
		    (c->locallen == 10 && strncasecmp(c->path, "postmaster", 10) == 0 &&
		    config_alias_find(cfg, "root", 4))))
			return NULL;
		snprintf(reply, rlen, "550 5.1.1 <%.*s>: no such user here",
		    (int)c->pathlen, c->path);
		return reply;
	}
	if (smtp_sess_trusted(s))
		return NULL;
	snprintf(reply, rlen, "550 5.7.1 <%.*s>: relay not permitted",
	    (int)c->pathlen, c->path);
	return reply;
}

int smtp_sess_trusted(const struct smtp_sess *s)
{
	return s->local || hostlist_match(s->cfg->main.relay_from_hosts, NULL,
	    s->client_addr, NULL);
}

static enum smtp_action smtp_do_rcpt(struct smtp_sess *s, const struct smtp_cmd *c)
{
	struct spool_rcpt *r;
	char reply[400], addr[SMTP_PATH_MAX + 1];
	const char *why;
	unsigned notify = 0;
	const char *orcpt = NULL;
	size_t orcptlen = 0, i;

	if (c->pathlen == 0)
		return smtp_error(s, "501 5.1.3 Bad recipient address syntax");
	for (i = 0; i < c->nparam; i++) {
		const struct smtp_param *p = &c->param[i];

		if (smtp_kw(p, "NOTIFY") && p->val) {
			const char *v = p->val, *end = p->val + p->vlen;

			while (v < end) {
				const char *e = memchr(v, ',', (size_t)(end - v));
				size_t l;

				if (!e)
					e = end;
				l = (size_t)(e - v);
				if (l == 5 && strncasecmp(v, "NEVER", 5) == 0)
					notify |= SPOOL_NOTIFY_NEVER;
				else if (l == 7 && strncasecmp(v, "SUCCESS", 7) == 0)
					notify |= SPOOL_NOTIFY_SUCCESS;
				else if (l == 7 && strncasecmp(v, "FAILURE", 7) == 0)
					notify |= SPOOL_NOTIFY_FAILURE;
				else if (l == 5 && strncasecmp(v, "DELAY", 5) == 0)
					notify |= SPOOL_NOTIFY_DELAY;
				else
					return smtp_error(s, "501 5.5.4 Bad NOTIFY parameter");
				v = e + 1;
			}
			if ((notify & SPOOL_NOTIFY_NEVER) && notify != SPOOL_NOTIFY_NEVER)
				return smtp_error(s, "501 5.5.4 NOTIFY=NEVER with other values");
		} else if (smtp_kw(p, "ORCPT") && p->val && p->vlen <= 500 &&
		    smtp_xtext_ok(p->val, p->vlen) && memchr(p->val, ';', p->vlen)) {
			orcpt = p->val;
			orcptlen = p->vlen;
		} else {
			smtp_out_printf(&s->out, "555 5.5.4 Unsupported parameter %.*s",
			    (int)(p->klen > 40 ? 40 : p->klen), p->key);
			return SMTP_A_NONE;
		}
	}
	if (s->env->n_rcpt >= (size_t)s->cfg->main.recipients_max) {
		smtp_out_printf(&s->out, "452 4.5.3 Too many recipients");
		return SMTP_A_NONE;
	}
	if (memchr(c->path, ' ', c->pathlen) || memchr(c->path, '<', c->pathlen) ||
	    memchr(c->path, '>', c->pathlen)) {
		/* "a b"@x is valid (RFC 5321 4.1.2), but the spool's rcpt:
		 * line cannot hold it: refuse it here, not the message later */
		smtp_out_printf(&s->out, "553 5.1.3 <%.*s>: quoted local part with "
		    "space or <> not supported", (int)c->pathlen, c->path);
		return SMTP_A_NONE;
	}
	if ((why = smtp_check_rcpt(s, c, reply, sizeof(reply))) != NULL) {
		smtp_out_printf(&s->out, "%s", why);
		return SMTP_A_NONE;
	}
	memcpy(addr, c->path, c->pathlen);
	addr[c->pathlen] = '\0';
	r = spool_env_add_rcpt(s->env, addr);
	if (!r) {
		smtp_out_printf(&s->out, "452 4.3.0 Out of memory, try later");
		return SMTP_A_NONE;
	}
	r->notify = notify;
	if (orcpt) {
		char v[501];

		memcpy(v, orcpt, orcptlen);
		v[orcptlen] = '\0';
		if (spool_env_set(&r->orcpt, v) < 0) {
			s->env->n_rcpt--;
			free(r->addr);
			smtp_out_printf(&s->out, "452 4.3.0 Out of memory, try later");
			return SMTP_A_NONE;
		}
	}
	s->state = SMTP_ST_RCPT;
	smtp_out_printf(&s->out, "250 2.1.5 OK");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_data(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	if (spool_env_set(&s->env->helo, s->helo[0] ? s->helo : NULL) < 0 ||
	    spool_env_set(&s->env->host_addr, s->local ? NULL : s->client_addr) < 0 ||
	    spool_env_set(&s->env->protocol, s->local ?
	    (s->esmtp ? "local-esmtp" : "local-smtp") :
	    s->esmtp ? (s->tls ? "esmtps" : "esmtp") : "smtp") < 0 ||
	    spool_env_set(&s->env->ident, s->ident[0] ? s->ident : NULL) < 0) {
		smtp_out_printf(&s->out, "451 4.3.0 Out of memory, try later");
		return SMTP_A_NONE;
	}
	s->env->host_port = s->local ? 0 : s->client_port;
	s->state = SMTP_ST_DATA;
	smtp_out_printf(&s->out, "354 Enter message, ending with \".\" on a line by itself");
	return SMTP_A_DATA;
}

static enum smtp_action smtp_do_rset(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	smtp_txn_reset(s);
	smtp_out_printf(&s->out, "250 2.0.0 OK");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_noop(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	smtp_out_printf(&s->out, "250 2.0.0 OK");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_quit(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	smtp_out_printf(&s->out, "221 2.0.0 %s closing connection",
	    s->cfg->main.primary_hostname);
	s->state = SMTP_ST_CLOSED;
	return SMTP_A_CLOSE;
}

static enum smtp_action smtp_do_vrfy(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	smtp_out_printf(&s->out, "252 2.5.2 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_help(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	smtp_out_printf(&s->out, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP");
	smtp_out_printf(&s->out, "214 2.0.0 QUIT VRFY HELP%s; see RFC 5321",
	    s->tls_offer && !s->tls ? " STARTTLS" : "");
	return SMTP_A_NONE;
}

static enum smtp_action smtp_do_starttls(struct smtp_sess *s, const struct smtp_cmd *c)
{
	(void)c;
	if (!s->tls_offer || s->tls) {
		smtp_out_printf(&s->out, "502 5.5.1 STARTTLS not available");
		return SMTP_A_NONE;
	}
	smtp_txn_reset(s);
	smtp_out_printf(&s->out, "220 2.0.0 Ready to start TLS");
	return SMTP_A_STARTTLS;
}

static enum smtp_action smtp_do_unavailable(struct smtp_sess *s, const struct smtp_cmd *c)
{
	smtp_out_printf(&s->out, "502 5.5.1 %s not implemented", smtp_verb_name(c->verb));
	return SMTP_A_NONE;
}

#define ST(x) (1u << SMTP_ST_##x)
#define ST_SESSION (ST(FRESH) | ST(READY) | ST(MAIL) | ST(RCPT))

/* nonmail: counts against smtp_accept_max_nonmail (Exim's idea: a
 * client that only chats holds a connection slot) */
static const struct smtp_cmd_row {
	enum smtp_verb verb;
	unsigned states;	/* where it is allowed */
	const char *out_of_sequence;
	enum smtp_action (*run)(struct smtp_sess *, const struct smtp_cmd *);
	int nonmail;
} smtp_cmds[] = {
	{ SMTP_V_HELO, ST_SESSION, NULL, smtp_do_helo, 1 },
	{ SMTP_V_EHLO, ST_SESSION, NULL, smtp_do_helo, 1 },
	{ SMTP_V_MAIL, ST(READY), NULL, smtp_do_mail, 0 },
	{ SMTP_V_RCPT, ST(MAIL) | ST(RCPT), "503 5.5.1 MAIL first", smtp_do_rcpt, 0 },
	{ SMTP_V_DATA, ST(RCPT), NULL, smtp_do_data, 0 },
	{ SMTP_V_RSET, ST_SESSION, NULL, smtp_do_rset, 1 },
	{ SMTP_V_NOOP, ST_SESSION, NULL, smtp_do_noop, 1 },
	{ SMTP_V_QUIT, ST_SESSION, NULL, smtp_do_quit, 0 },
	{ SMTP_V_VRFY, ST_SESSION, NULL, smtp_do_vrfy, 1 },
	{ SMTP_V_HELP, ST_SESSION, NULL, smtp_do_help, 1 },
	{ SMTP_V_STARTTLS, ST(READY) | ST(FRESH), "503 5.5.1 STARTTLS in a transaction",
	  smtp_do_starttls, 0 },
	{ SMTP_V_EXPN, ST_SESSION, NULL, smtp_do_unavailable, 1 },
	{ SMTP_V_AUTH, ST_SESSION, NULL, smtp_do_unavailable, 1 },
	{ SMTP_V_BDAT, ST_SESSION, NULL, smtp_do_unavailable, 1 },
};

/* smtp_sequence_reply - 503 text for a command in the wrong state */
static const char *smtp_sequence_reply(const struct smtp_sess *s,
    const struct smtp_cmd_row *row)
{
	if (s->state == SMTP_ST_FRESH)
		return "503 5.5.1 Send EHLO or HELO first";
	if (row->verb == SMTP_V_MAIL)
		return "503 5.5.1 Nested MAIL command";
	if (row->verb == SMTP_V_DATA)
		return s->state == SMTP_ST_MAIL ? "554 5.5.1 No valid recipients" :
		    "503 5.5.1 MAIL first";
	return row->out_of_sequence ? row->out_of_sequence : "503 5.5.1 Bad sequence of commands";
}

enum smtp_action smtp_sess_line(struct smtp_sess *s, const char *line, size_t len)
{
	const struct smtp_cmd_row *row = NULL;
	struct smtp_cmd c;
	const char *reply;
	size_t i;
	int r;

	if (s->state == SMTP_ST_CLOSED || s->state == SMTP_ST_DATA)
		return SMTP_A_CLOSE;
	r = smtp_cmd_parse(line, len, s->utf8, &c, &reply);
	if (r == SMTP_E_UNKNOWN) {
		unsigned max = (unsigned)s->cfg->main.smtp_max_unknown_commands;

		smtp_out_printf(&s->out, "%s", reply);
		if (++s->unknown_commands > max && max > 0) {
			smtp_out_printf(&s->out, "421 4.7.0 %s Too many unknown commands",
			    s->cfg->main.primary_hostname);
			s->state = SMTP_ST_CLOSED;
			return SMTP_A_CLOSE;
		}
		return SMTP_A_NONE;
	}
	if (r < 0) {
		/* a bad address on RCPT is a rejected recipient, not a
		 * protocol error, but it still counts */
		return smtp_error(s, reply);
	}
	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++)
		if (smtp_cmds[i].verb == c.verb) {
			row = &smtp_cmds[i];
			break;
		}
	if (!row) {
		smtp_out_printf(&s->out, "502 5.5.1 Command not implemented");
		return SMTP_A_NONE;
	}
	if (!(row->states & (1u << s->state)))
		return smtp_error(s, smtp_sequence_reply(s, row));
	if (row->nonmail) {
		unsigned max = (unsigned)s->cfg->main.smtp_accept_max_nonmail;

		if (++s->nonmail > max && max > 0) {
			smtp_out_printf(&s->out, "421 4.7.0 %s Too many non-mail commands",
			    s->cfg->main.primary_hostname);
			s->state = SMTP_ST_CLOSED;
			return SMTP_A_CLOSE;
		}
	}
	return row->run(s, &c);
}

enum smtp_action smtp_sess_line_too_long(struct smtp_sess *s)
{
	return smtp_error(s, SMTP_REPLY_LINE_TOO_LONG);
}

enum smtp_action smtp_sess_input(struct smtp_sess *s, const char *in, size_t len,
    size_t *used)
{
	const char *lf;
	size_t linelen;
	int bare;
	long n;

	if (s->discard_line) {
		if (!(lf = memchr(in, '\n', len))) {
			*used = len;
			return SMTP_A_NONE;
		}
		*used = (size_t)(lf - in) + 1;
		s->discard_line = 0;
		return SMTP_A_NONE;
	}
	n = smtp_line_find(in, len, SMTP_CMD_LINE_MAX, &linelen, &bare);
	if (n == 0) {
		*used = 0;
		return SMTP_A_NONE;
	}
	if (n > 0) {
		*used = (size_t)n;
		return smtp_sess_line(s, in, linelen);
	}
	if ((lf = memchr(in, '\n', len))) {
		*used = (size_t)(lf - in) + 1;
	} else {
		s->discard_line = 1;
		*used = len;
	}
	return smtp_sess_line_too_long(s);
}

/* ------------------------------------------------------------ data */

char *smtp_sess_spool_head(struct smtp_sess *s, const char *id, long long now,
    size_t *len)
{
	const struct config_main *m = &s->cfg->main;
	char date[64], *env_text, *head;
	size_t elen, hlen, cap;
	int n;

	if (!s->env)
		return NULL;
	s->env->arrival = now;
	env_text = spool_env_format(s->env, &elen);
	if (!env_text)
		return NULL;
	mailhdr_date(now, date, sizeof(date));
	cap = elen + 1024 + 2 * SMTP_PATH_MAX;
	head = realloc(env_text, cap);
	if (!head) {
		free(env_text);
		return NULL;
	}
	/* RFC 5321 4.4: FROM the client (HELO name, address), BY us, WITH
	 * the protocol, ID the queue ID; FOR only with one recipient, so
	 * that Bcc recipients do not learn of each other. */
	if (s->local)
		n = snprintf(head + elen, cap - elen, "Received: from %s\r\n\tby %s (tern %s) with %s\r\n",
		    s->env->ident ? s->env->ident : "local", m->primary_hostname,
		    TERN_VERSION, s->env->protocol);
	else
		n = snprintf(head + elen, cap - elen, "Received: from %s ([%s] port=%u)\r\n"
		    "\tby %s (tern %s) with %s\r\n",
		    s->helo[0] ? s->helo : "unknown", s->client_addr, s->client_port,
		    m->primary_hostname, TERN_VERSION, s->env->protocol);
	if (n < 0 || (size_t)n >= cap - elen) {
		free(head);
		return NULL;
	}
	hlen = elen + (size_t)n;
	if (s->env->n_rcpt == 1)
		n = snprintf(head + hlen, cap - hlen, "\tid %s\r\n\tfor <%s>;\r\n\t%s\r\n",
		    id, s->env->rcpt[0].addr, date);
	else
		n = snprintf(head + hlen, cap - hlen, "\tid %s;\r\n\t%s\r\n", id, date);
	if (n < 0 || (size_t)n >= cap - hlen) {
		free(head);
		return NULL;
	}
	*len = hlen + (size_t)n;
	return head;
}

enum smtp_action smtp_sess_data_done(struct smtp_sess *s,
    enum smtp_data_result r, const char *id)
{
	switch (r) {
	case SMTP_DR_OK:
		smtp_out_printf(&s->out, "250 2.0.0 OK id=%s", id);
		s->messages++;
		break;
	case SMTP_DR_BARE_EOL:
		smtp_out_printf(&s->out, "550 5.6.0 Message contains a bare CR or LF; "
		    "lines must end with CRLF");
		break;
	case SMTP_DR_TOO_BIG:
		smtp_out_printf(&s->out, "552 5.3.4 Message size exceeds fixed maximum "
		    "message size (%lld)", s->cfg->main.message_size_limit);
		break;
	case SMTP_DR_NO_SPACE:
		smtp_out_printf(&s->out, "452 4.3.1 Insufficient system storage");
		break;
	case SMTP_DR_LOCAL_ERROR:
		smtp_out_printf(&s->out, "451 4.3.0 Local error in processing, try later");
		break;
	}
	s->state = SMTP_ST_RCPT;	/* so that reset returns to READY */
	smtp_txn_reset(s);
	return SMTP_A_NONE;
}

enum smtp_action smtp_sess_timeout(struct smtp_sess *s)
{
	smtp_out_printf(&s->out, "421 4.4.2 %s Timeout, closing connection",
	    s->cfg->main.primary_hostname);
	s->state = SMTP_ST_CLOSED;
	return SMTP_A_CLOSE;
}

enum smtp_action smtp_sess_shutdown(struct smtp_sess *s)
{
	smtp_out_printf(&s->out, "421 4.3.2 %s Service shutting down, try later",
	    s->cfg->main.primary_hostname);
	s->state = SMTP_ST_CLOSED;
	return SMTP_A_CLOSE;
}

void smtp_sess_tls_on(struct smtp_sess *s)
{
	s->tls = 1;
	s->state = SMTP_ST_FRESH;	/* RFC 3207 4.2: forget everything */
	s->helo[0] = '\0';
}

int smtp_sess_init(struct smtp_sess *s, const struct config *cfg,
    const char *client_addr, unsigned client_port, int local, int tls_offer)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", client_addr);
	s->client_port = client_port;
	s->local = local;
	s->tls_offer = tls_offer;
	s->state = SMTP_ST_FRESH;
	smtp_out_printf(&s->out, "220 %s ESMTP tern", cfg->main.primary_hostname);
	return s->out.oom ? -1 : 0;
}

void smtp_sess_fini(struct smtp_sess *s)
{
	spool_env_free(s->env);
	s->env = NULL;
	free(s->out.buf);
	s->out.buf = NULL;
	s->out.len = s->out.cap = 0;
}
