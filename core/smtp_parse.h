/*
 * smtp_parse.h - server side SMTP: find command lines, parse commands.
 *
 * Pure: bytes in, a struct smtp_cmd (or a ready SMTP reply) out; no I/O,
 * no globals, no logging, no allocation. Every pointer in a struct
 * smtp_cmd points into the line the caller passed in (it borrows that
 * buffer): copy what must outlive it.
 *
 * The usual loop in the session:
 *
 *	n = smtp_line_find(buf, len, SMTP_CMD_LINE_MAX, &linelen, &bare);
 *	n == 0: read more; n < 0: reply SMTP_REPLY_LINE_TOO_LONG and drop
 *	input up to the next LF; n > 0: smtp_cmd_parse(buf, linelen, ...),
 *	then drop n bytes.
 */
#ifndef TERN_SMTP_PARSE_H
#define TERN_SMTP_PARSE_H

#include <stddef.h>

/* We accept command lines up to this, CRLF included (RFC 5321 4.5.3.1.4
 * requires at least 512). */
#define SMTP_CMD_LINE_MAX 2048
/* RFC 5321 4.5.3.1: path with its angle brackets, local part, domain */
#define SMTP_PATH_MAX 256
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_LABEL_MAX 63
#define SMTP_PARAMS_MAX 16

/* what the caller answers when smtp_line_find returns -1 */
#define SMTP_REPLY_LINE_TOO_LONG "500 5.5.2 Line too long"

/* smtp_cmd_parse results: 0 or one of these (reply set for each) */
enum {
	SMTP_E_SYNTAX = -1,	/* 500/501: malformed command or arguments */
	SMTP_E_UNKNOWN = -2,	/* 500 5.5.1: not a command we know */
	SMTP_E_PATH = -3,	/* 501 5.1.7 (MAIL) / 553 5.1.3 (RCPT): bad address */
	SMTP_E_LONG = -4,	/* 500 5.5.2: line longer than SMTP_CMD_LINE_MAX */
	SMTP_E_CHAR = -5,	/* 500 5.5.2: NUL or control character */
	SMTP_E_PARAM = -6,	/* 501 5.5.4: bad or too many MAIL/RCPT parameters */
	SMTP_E_UTF8 = -7	/* 553 5.6.7: non-ASCII address without SMTPUTF8 */
};

enum smtp_verb {
	SMTP_V_UNKNOWN, SMTP_V_HELO, SMTP_V_EHLO, SMTP_V_MAIL, SMTP_V_RCPT,
	SMTP_V_DATA, SMTP_V_RSET, SMTP_V_NOOP, SMTP_V_QUIT, SMTP_V_VRFY,
	SMTP_V_EXPN, SMTP_V_HELP, SMTP_V_STARTTLS, SMTP_V_AUTH, SMTP_V_BDAT
};

/* one ESMTP parameter; val is NULL when "KEY" has no "=value" */
struct smtp_param {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

struct smtp_cmd {
	enum smtp_verb verb;
	/* the text after the verb, trimmed (HELO/EHLO domain, VRFY, EXPN,
	 * HELP, NOOP, AUTH argument; for MAIL/RCPT "FROM:<...> ..."); never
	 * NULL, arglen 0 when there is none */
	const char *arg;
	size_t arglen;
	/* MAIL/RCPT: the mailbox inside <...> with any source route removed,
	 * as written (a quoted local part keeps its quotes); pathlen 0 for
	 * the null path <>. NULL for other commands. */
	const char *path;
	size_t pathlen;
	/* parts of path: the local part, and the domain (or address literal
	 * with its brackets) after the '@'; domain NULL for <> and
	 * <postmaster> */
	size_t locallen;
	const char *domain;
	size_t domainlen;
	/* MAIL/RCPT ESMTP parameters, in order */
	struct smtp_param param[SMTP_PARAMS_MAX];
	size_t nparam;
	/* BDAT: chunk size and whether LAST was given */
	unsigned long long chunk;
	int last;
};

/* smtp_line_find - look for one complete line in buf[0..len). Returns the
 * length of the line including its terminator (> 0) and sets *linelen to
 * the length without it; 0 when no complete line is there yet; -1 when max
 * bytes arrived without a line end (the longest line accepted is max bytes,
 * terminator included). The terminator is CRLF; a bare LF also ends a
 * command line (liberal, as most MTAs) and then *bare_lf is set to 1 (0
 * otherwise; bare_lf may be NULL). */
long smtp_line_find(const char *buf, size_t len, size_t max, size_t *linelen,
    int *bare_lf);

/* smtp_cmd_parse - parse one command line (without its terminator).
 * Returns 0 and fills cmd, or a negative SMTP_E_* code and sets *reply to
 * a static string holding the full SMTP reply to send (no CRLF). utf8:
 * nonzero when SMTPUTF8 was given on this transaction's MAIL; it matters
 * for RCPT only: a MAIL is read with UTF-8 allowed exactly when it carries
 * the SMTPUTF8 parameter itself, whatever utf8 says (so stale session
 * state cannot leak into a new transaction). Without SMTPUTF8 an octet
 * >= 0x80 in a path is SMTP_E_UTF8 (in a parameter value SMTP_E_PARAM);
 * with it, the path must be valid UTF-8 (RFC 6531 3.3). */
int smtp_cmd_parse(const char *line, size_t len, int utf8,
    struct smtp_cmd *cmd, const char **reply);

/* smtp_path_utf8 - 1 when a parsed MAIL carries the SMTPUTF8 parameter
 * (the caller keeps that for the transaction's RCPT commands) */
int smtp_path_utf8(const struct smtp_cmd *cmd);

/* smtp_param_find - the parameter named key (case-insensitive) or NULL */
const struct smtp_param *smtp_param_find(const struct smtp_cmd *cmd,
    const char *key);

/* smtp_verb_name - "MAIL" etc.; "UNKNOWN" for SMTP_V_UNKNOWN */
const char *smtp_verb_name(enum smtp_verb verb);

#endif
