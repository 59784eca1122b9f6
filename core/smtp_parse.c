/*
 * smtp_parse.c - server side SMTP command lines and commands (smtp_parse.h).
 *
 * Public: smtp_line_find, smtp_cmd_parse, smtp_path_utf8, smtp_param_find,
 * smtp_verb_name.
 *
 * Pure: no I/O, no globals but const tables, no logging, no allocation.
 * A parsed struct smtp_cmd borrows the caller's line; error replies are
 * static strings.
 *
 * Implements RFC 5321 2.4 (verbs are case-insensitive), 4.1.1 (command
 * syntax), 4.1.2 (Path, Mailbox, Local-part, Domain, address literals),
 * 4.1.3 (IPv4/IPv6 address literals), 4.1.4 and Appendix C (source routes
 * are accepted and ignored), 4.5.3.1 (size limits); RFC 3030 (BDAT);
 * RFC 6531 3.3 (UTF-8 in paths and parameters under SMTPUTF8).
 *
 * Liberal where real clients need it: a bare LF ends a command line (the
 * caller is told, so it can count them), one space may follow the colon of
 * "MAIL FROM:" / "RCPT TO:", trailing white space is ignored, parameters
 * may be separated by several spaces. Strict everywhere else: paths need
 * their angle brackets, control characters end the command with 500.
 */
#include "core/smtp_parse.h"
#include "core/ascii.h"

#include <arpa/inet.h>
#include <string.h>

enum smtp_argk {
	SMTP_ARG_NONE,		/* no argument allowed */
	SMTP_ARG_OPT,		/* optional free text */
	SMTP_ARG_REQ,		/* required free text */
	SMTP_ARG_PATH,		/* MAIL FROM:<...> / RCPT TO:<...> [params] */
	SMTP_ARG_BDAT		/* chunk-size [LAST] */
};

struct smtp_verb_def {
	const char *name;
	enum smtp_verb verb;
	enum smtp_argk arg;
	const char *syntax;	/* reply when the argument is wrong */
};

static const struct smtp_verb_def smtp_verbs[] = {
	{ "HELO", SMTP_V_HELO, SMTP_ARG_REQ, "501 5.5.4 Syntax: HELO hostname" },
	{ "EHLO", SMTP_V_EHLO, SMTP_ARG_REQ, "501 5.5.4 Syntax: EHLO hostname" },
	{ "MAIL", SMTP_V_MAIL, SMTP_ARG_PATH, "501 5.5.4 Syntax: MAIL FROM:<address>" },
	{ "RCPT", SMTP_V_RCPT, SMTP_ARG_PATH, "501 5.5.4 Syntax: RCPT TO:<address>" },
	{ "DATA", SMTP_V_DATA, SMTP_ARG_NONE, "501 5.5.4 Syntax: DATA" },
	{ "RSET", SMTP_V_RSET, SMTP_ARG_NONE, "501 5.5.4 Syntax: RSET" },
	{ "NOOP", SMTP_V_NOOP, SMTP_ARG_OPT, NULL },
	{ "QUIT", SMTP_V_QUIT, SMTP_ARG_NONE, "501 5.5.4 Syntax: QUIT" },
	{ "VRFY", SMTP_V_VRFY, SMTP_ARG_REQ, "501 5.5.4 Syntax: VRFY address" },
	{ "EXPN", SMTP_V_EXPN, SMTP_ARG_REQ, "501 5.5.4 Syntax: EXPN list" },
	{ "HELP", SMTP_V_HELP, SMTP_ARG_OPT, NULL },
	{ "STARTTLS", SMTP_V_STARTTLS, SMTP_ARG_NONE, "501 5.5.4 Syntax: STARTTLS" },
	{ "AUTH", SMTP_V_AUTH, SMTP_ARG_REQ, "501 5.5.4 Syntax: AUTH mechanism [initial-response]" },
	{ "BDAT", SMTP_V_BDAT, SMTP_ARG_BDAT, "501 5.5.4 Syntax: BDAT chunk-size [LAST]" },
};
#define SMTP_NVERBS (sizeof(smtp_verbs) / sizeof(smtp_verbs[0]))

static const char smtp_r_empty[] = "500 5.5.2 Syntax error: empty command";
static const char smtp_r_unknown[] = "500 5.5.1 Unknown command";
static const char smtp_r_long[] = SMTP_REPLY_LINE_TOO_LONG;
static const char smtp_r_char[] = "500 5.5.2 Syntax error: control character in command";
static const char smtp_r_param[] = "501 5.5.4 Syntax error in parameters";
static const char smtp_r_nparam[] = "501 5.5.4 Too many parameters";
static const char smtp_r_param8[] = "501 5.6.7 Non-ASCII parameter requires SMTPUTF8";
static const char smtp_r_sender[] = "501 5.1.7 Bad sender address syntax";
static const char smtp_r_sender_long[] = "501 5.1.7 Sender address too long";
static const char smtp_r_sender8[] = "553 5.6.7 Non-ASCII sender address requires SMTPUTF8";
static const char smtp_r_rcpt[] = "553 5.1.3 Bad recipient address syntax";
static const char smtp_r_rcpt_long[] = "553 5.1.3 Recipient address too long";
static const char smtp_r_rcpt_null[] = "553 5.1.3 Null recipient address not allowed";
static const char smtp_r_rcpt8[] = "553 5.6.7 Non-ASCII recipient address requires SMTPUTF8";

long smtp_line_find(const char *buf, size_t len, size_t max, size_t *linelen,
    int *bare_lf)
{
	const char *lf;
	size_t i;

	if (bare_lf)
		*bare_lf = 0;
	*linelen = 0;
	if (len == 0)
		return 0;
	lf = memchr(buf, '\n', len < max ? len : max);
	if (!lf)
		return len >= max ? -1 : 0;
	i = (size_t)(lf - buf);
	if (i > 0 && buf[i - 1] == '\r') {
		*linelen = i - 1;
	} else {
		*linelen = i;
		if (bare_lf)
			*bare_lf = 1;
	}
	return (long)(i + 1);
}

static int smtp_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int smtp_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int smtp_is_alnum(unsigned char c)
{
	return smtp_is_alpha(c) || smtp_is_digit(c);
}

/* smtp_is_atext - RFC 5321 4.1.2 atext (RFC 5322 3.2.3) */
static int smtp_is_atext(unsigned char c)
{
	return smtp_is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* smtp_utf8_valid - RFC 3629 UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF */
static int smtp_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t k, more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (n - i - 1 < more)
			return 0;
		for (k = 1; k <= more; k++) {
			unsigned char cc = s[i + k];

			if (cc < lo || cc > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
		i += more + 1;
	}
	return 1;
}

/* smtp_domain_ok - RFC 5321 Domain: labels of letters, digits and inner
 * hyphens (U-labels too when utf8: their octets were checked as UTF-8
 * before), each label <= 63 octets, the whole <= 255 */
static int smtp_domain_ok(const unsigned char *s, size_t n, int utf8)
{
	size_t i, lab = 0;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (c == '-') {
			if (lab == 0)
				return 0;
		} else if (!smtp_is_alnum(c) && !(utf8 && c >= 0x80)) {
			return 0;
		}
		if (++lab > SMTP_LABEL_MAX)
			return 0;
	}
	return lab > 0 && s[n - 1] != '-';
}

/* smtp_ipv4_ok - RFC 5321 4.1.3 IPv4-address-literal: Snum "." x4, each
 * 1-3 digits and <= 255 */
static int smtp_ipv4_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		while (i < n && smtp_is_digit(s[i]) && nd < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return 0;
	}
	return i == n;
}

/* smtp_literal_ok - "[...]" address literal: IPv4, or "IPv6:" and an
 * address inet_pton accepts (RFC 5321 4.1.3); General-address-literal
 * tags are not accepted */
static int smtp_literal_ok(const unsigned char *s, size_t n)
{
	char tmp[64];
	unsigned char a6[16];

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	s++;
	n -= 2;
	if (n > 5 && ascii_caseeq((const char *)s, "IPv6:", 5)) {
		size_t i;

		s += 5;
		n -= 5;
		if (n >= sizeof(tmp))
			return 0;
		for (i = 0; i < n; i++)
			if (!smtp_is_alnum(s[i]) && s[i] != ':' && s[i] != '.')
				return 0;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		return inet_pton(AF_INET6, tmp, a6) == 1;
	}
	return smtp_ipv4_ok(s, n);
}

/* smtp_local_end - length of the Local-part at s[0..n) (a Dot-string or a
 * Quoted-string, RFC 5321 4.1.2), or 0 when there is none */
static size_t smtp_local_end(const unsigned char *s, size_t n, int utf8)
{
	size_t i;

	if (n == 0)
		return 0;
	if (s[0] == '"') {
		for (i = 1; i < n; i++) {
			unsigned char c = s[i];

			if (c == '"')
				return i + 1;
			if (c == '\\') {
				/* quoted-pairSMTP: %d92 %d32-126 */
				if (++i >= n || s[i] < 32 || s[i] > 126)
					return 0;
			} else if (c < 32 || (c > 126 && !(utf8 && c >= 0x80))) {
				return 0;
			}
		}
		return 0;
	}
	for (i = 0; i < n && s[i] != '@'; i++) {
		unsigned char c = s[i];

		if (c == '.') {
			if (i == 0 || s[i - 1] == '.')
				return 0;
		} else if (!smtp_is_atext(c) && !(utf8 && c >= 0x80)) {
			return 0;
		}
	}
	if (i == 0 || s[i - 1] == '.')
		return 0;
	return i;
}

/* smtp_path_check - validate the text between < and > and fill the path
 * fields of cmd; 0 or an SMTP_E_* code with *reply set */
static int smtp_path_check(const char *path, size_t n, int utf8, int rcpt,
    struct smtp_cmd *cmd, const char **reply)
{
	const unsigned char *s = (const unsigned char *)path;
	const char *bad = rcpt ? smtp_r_rcpt : smtp_r_sender;
	size_t i, loc, start = 0;

	cmd->path = path;
	cmd->pathlen = n;
	if (n + 2 > SMTP_PATH_MAX) {
		*reply = rcpt ? smtp_r_rcpt_long : smtp_r_sender_long;
		return SMTP_E_PATH;
	}
	if (n == 0) {
		if (!rcpt)
			return 0;
		*reply = smtp_r_rcpt_null;
		return SMTP_E_PATH;
	}
	for (i = 0; i < n; i++)
		if (s[i] >= 0x80)
			break;
	if (i < n && !utf8) {
		*reply = rcpt ? smtp_r_rcpt8 : smtp_r_sender8;
		return SMTP_E_UTF8;
	}
	if (i < n && !smtp_utf8_valid(s, n))
		goto bad;

	/* A-d-l ":" - a source route, checked and dropped */
	if (s[0] == '@') {
		const unsigned char *colon = memchr(s, ':', n);
		size_t adl, d;

		if (!colon)
			goto bad;
		adl = (size_t)(colon - s);
		for (i = 0; i < adl; i = d + 1) {
			if (s[i] != '@')
				goto bad;
			for (d = i + 1; d < adl && s[d] != ','; d++)
				;
			if (!smtp_domain_ok(s + i + 1, d - i - 1, utf8))
				goto bad;
		}
		start = adl + 1;
	}

	loc = smtp_local_end(s + start, n - start, utf8);
	if (loc == 0)
		goto bad;
	cmd->path = path + start;
	cmd->pathlen = n - start;
	cmd->locallen = loc;
	if (loc > SMTP_LOCAL_MAX) {
		*reply = rcpt ? smtp_r_rcpt_long : smtp_r_sender_long;
		return SMTP_E_PATH;
	}
	i = start + loc;
	if (i == n) {
		/* RFC 5321 4.5.1: <postmaster> without a domain, RCPT only */
		if (rcpt && start == 0 && loc == 10 &&
		    ascii_caseeq(path, "postmaster", 10))
			return 0;
		goto bad;
	}
	if (s[i] != '@')
		goto bad;
	i++;
	cmd->domain = path + i;
	cmd->domainlen = n - i;
	if (i < n && s[i] == '[') {
		if (!smtp_literal_ok(s + i, n - i))
			goto bad;
	} else if (!smtp_domain_ok(s + i, n - i, utf8)) {
		goto bad;
	}
	return 0;
bad:
	cmd->domain = NULL;
	cmd->domainlen = 0;
	*reply = bad;
	return SMTP_E_PATH;
}

/* smtp_params_parse - "KEY[=VALUE]" words separated by spaces in
 * s[0..n) (RFC 5321 4.1.2 Mail-parameters / Rcpt-parameters). Values are
 * esmtp-value: octets 33..126 except '='; octets >= 0x80 are noted in
 * *eight (the caller decides whether SMTPUTF8 allows them). */
static int smtp_params_parse(const char *p, size_t n, struct smtp_cmd *cmd,
    int *eight, const char **reply)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	*eight = 0;
	for (;;) {
		struct smtp_param *pm;
		size_t k;

		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			return 0;
		if (cmd->nparam == SMTP_PARAMS_MAX) {
			*reply = smtp_r_nparam;
			return SMTP_E_PARAM;
		}
		pm = &cmd->param[cmd->nparam++];
		pm->key = p + i;
		if (!smtp_is_alnum(s[i]))
			goto bad;
		for (k = i; k < n && (smtp_is_alnum(s[k]) || s[k] == '-'); k++)
			;
		pm->klen = k - i;
		i = k;
		if (i == n || s[i] == ' ')
			continue;
		if (s[i] != '=')
			goto bad;
		i++;
		pm->val = p + i;
		for (k = i; k < n && s[k] != ' '; k++) {
			if (s[k] >= 0x80)
				*eight = 1;
			else if (s[k] < 33 || s[k] > 126 || s[k] == '=')
				goto bad;
		}
		pm->vlen = k - i;
		if (pm->vlen == 0)
			goto bad;
		i = k;
	}
bad:
	*reply = smtp_r_param;
	return SMTP_E_PARAM;
}

/* smtp_mailrcpt_parse - "FROM:<path> params" or "TO:<path> params" at
 * s[0..n), with n already trimmed of trailing white space */
static int smtp_mailrcpt_parse(const struct smtp_verb_def *def,
    const char *p, size_t n, int utf8, struct smtp_cmd *cmd,
    const char **reply)
{
	const char *kw = def->verb == SMTP_V_MAIL ? "FROM:" : "TO:";
	size_t kwlen = strlen(kw), i, open, close;
	int rcpt = def->verb == SMTP_V_RCPT, inq = 0, eight, rc;

	if (n < kwlen || !ascii_caseeq(p, kw, kwlen))
		goto syntax;
	i = kwlen;
	if (i < n && p[i] == ' ')
		i++;
	if (i == n || p[i] != '<')
		goto syntax;
	open = i;
	for (close = open + 1; close < n; close++) {
		if (p[close] == '"')
			inq = !inq;
		else if (inq && p[close] == '\\' && close + 1 < n)
			close++;
		else if (!inq && p[close] == '>')
			break;
	}
	if (close >= n)
		goto syntax;
	if (close + 1 < n && p[close + 1] != ' ')
		goto syntax;

	rc = smtp_params_parse(p + close + 1, n - close - 1, cmd, &eight, reply);
	if (rc < 0)
		return rc;
	/* MAIL itself says whether its path may be UTF-8 (RFC 6531 3.4) */
	if (!rcpt)
		utf8 = smtp_path_utf8(cmd);
	if (eight && !utf8) {
		*reply = smtp_r_param8;
		return SMTP_E_PARAM;
	}
	for (i = 0; eight && i < cmd->nparam; i++)
		if (cmd->param[i].val && !smtp_utf8_valid((const unsigned char *)
		    cmd->param[i].val, cmd->param[i].vlen)) {
			*reply = smtp_r_param;
			return SMTP_E_PARAM;
		}
	return smtp_path_check(p + open + 1, close - open - 1, utf8, rcpt,
	    cmd, reply);
syntax:
	*reply = def->syntax;
	return SMTP_E_SYNTAX;
}

/* smtp_bdat_parse - RFC 3030: "chunk-size [LAST]" */
static int smtp_bdat_parse(const char *p, size_t n, struct smtp_cmd *cmd)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (n == 0 || !smtp_is_digit((unsigned char)p[0]))
		return -1;
	for (; i < n && smtp_is_digit((unsigned char)p[i]); i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (v > (~0ULL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	cmd->chunk = v;
	if (i == n)
		return 0;
	if (p[i] != ' ')
		return -1;
	while (i < n && p[i] == ' ')
		i++;
	if (n - i != 4 || !ascii_caseeq(p + i, "LAST", 4))
		return -1;
	cmd->last = 1;
	return 0;
}

int smtp_cmd_parse(const char *line, size_t len, int utf8,
    struct smtp_cmd *cmd, const char **reply)
{
	const struct smtp_verb_def *def = NULL;
	size_t i, vlen, end, a;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = SMTP_V_UNKNOWN;
	cmd->arg = line;
	*reply = NULL;
	if (len > SMTP_CMD_LINE_MAX - 2) {
		*reply = smtp_r_long;
		return SMTP_E_LONG;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*reply = smtp_r_char;
			return SMTP_E_CHAR;
		}
	}
	end = len;
	while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	for (vlen = 0; vlen < end && line[vlen] != ' '; vlen++)
		;
	if (vlen == 0) {
		*reply = smtp_r_empty;
		return SMTP_E_SYNTAX;
	}
	for (i = 0; i < SMTP_NVERBS; i++)
		if (strlen(smtp_verbs[i].name) == vlen &&
		    ascii_caseeq(smtp_verbs[i].name, line, vlen)) {
			def = &smtp_verbs[i];
			break;
		}
	if (!def) {
		*reply = smtp_r_unknown;
		return SMTP_E_UNKNOWN;
	}
	cmd->verb = def->verb;
	for (a = vlen; a < end && (line[a] == ' ' || line[a] == '\t'); a++)
		;
	cmd->arg = line + a;
	cmd->arglen = end - a;

	switch (def->arg) {
	case SMTP_ARG_NONE:
		if (cmd->arglen)
			goto syntax;
		return 0;
	case SMTP_ARG_OPT:
		return 0;
	case SMTP_ARG_REQ:
		if (!cmd->arglen)
			goto syntax;
		return 0;
	case SMTP_ARG_BDAT:
		if (smtp_bdat_parse(cmd->arg, cmd->arglen, cmd) < 0)
			goto syntax;
		return 0;
	case SMTP_ARG_PATH:
		/* exactly one space between the verb and FROM:/TO: */
		if (a != vlen + 1)
			goto syntax;
		return smtp_mailrcpt_parse(def, cmd->arg, cmd->arglen, utf8,
		    cmd, reply);
	}
syntax:
	*reply = def->syntax;
	return SMTP_E_SYNTAX;
}

int smtp_path_utf8(const struct smtp_cmd *cmd)
{
	const struct smtp_param *pm;

	if (cmd->verb != SMTP_V_MAIL)
		return 0;
	pm = smtp_param_find(cmd, "SMTPUTF8");
	return pm && !pm->val;
}

const struct smtp_param *smtp_param_find(const struct smtp_cmd *cmd,
    const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < cmd->nparam; i++)
		if (cmd->param[i].klen == kl &&
		    ascii_caseeq(cmd->param[i].key, key, kl))
			return &cmd->param[i];
	return NULL;
}

const char *smtp_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < SMTP_NVERBS; i++)
		if (smtp_verbs[i].verb == verb)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}
