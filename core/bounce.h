/*
 * bounce.h - delivery status notifications: the report tern sends to the
 * envelope sender when recipients fail (a bounce), are delayed (a
 * warning) or, when asked with NOTIFY=SUCCESS, were delivered.
 *
 * The report is an RFC 6522 multipart/report; report-type=delivery-status
 * with the three parts of RFC 3464, laid out as Exim and Postfix send it:
 *   1. text/plain: what happened, for people, each recipient and reason;
 *   2. message/delivery-status: the same for programs (RFC 3464 2.2, 2.3);
 *   3. text/rfc822-headers (the original's header section), or with
 *      RET=FULL message/rfc822 (the whole original, body capped).
 *
 * Pure: no I/O, no globals, no logging. bounce_build() returns one heap
 * buffer the caller frees; everything else borrows the caller's data.
 *
 * Rules for the caller (the queue runner):
 *
 *  - Who gets a report: bounce_recipients_for(). A report is always sent
 *    with the null envelope sender MAIL FROM:<> (RFC 5321 4.5.5, RFC 3464
 *    2), as the data built here, dot-stuffed by the SMTP layer as any
 *    message. Loop-free rule, in full:
 *      a. sender not empty: the report goes to the sender;
 *      b. sender empty (the failed message was itself a bounce or another
 *         notification) and it was NOT tern's own postmaster notice and
 *         not all its failed recipients are postmaster: ONE report goes
 *         to "postmaster" (the caller qualifies it with primary_hostname
 *         like any unqualified address), built with to_postmaster set;
 *      c. otherwise nobody: the failure is only logged. A postmaster
 *         notice that fails is case c (it carries BOUNCE_NOTICE_FIELD,
 *         and its recipient is postmaster), so at most one report is ever
 *         made about one original message's failure: no loop whatever
 *         aliases or remote hosts do with the notice.
 *    "Once": after a report about a message's failures is queued, record
 *    SPOOL_ST_BOUNCED for it and never report those failures again.
 *  - Which recipients a report lists: those whose NOTIFY allows it,
 *    bounce_rcpt_wanted(); a report with none is not sent. Reports to the
 *    postmaster (b) list every failed recipient, whatever NOTIFY said.
 *    Delay warnings (action "delayed") go only to a non-empty sender.
 *  - Sizes: the original is attached up to BOUNCE_HDRS_MAX octets of
 *    header section and, with RET=FULL, BOUNCE_BODY_MAX octets of body,
 *    cut at a line end; the text part says so when anything was cut. The
 *    caller need not read more of the spool file than that, plus one
 *    octet (pass the whole thing, or at least BOUNCE_BODY_MAX + 1 octets
 *    of a longer body, so that the cut is seen and said). Lines of the
 *    original longer than 998 octets are broken.
 *  - 8-bit: bytes >= 0x80 (an 8BITMIME body, SMTPUTF8 addresses) are
 *    passed through and the report then says Content-Transfer-Encoding:
 *    8bit; send it with BODY=8BITMIME (and SMTPUTF8 when the original had
 *    it) exactly as the original would be sent. No RFC 6533 global DSN.
 *  - Lines: every line ends with CRLF and is at most 998 octets (RFC 5322
 *    2.1.1); our fields are folded at 78 where there is white space,
 *    longer words and lines of the original are broken. CR, LF and other
 *    control characters in any field value become spaces (TAB too), so
 *    nothing from an address or a reply text can start a header line.
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stddef.h>

#include "core/kconfig.h"

#define BOUNCE_HDRS_MAX (64 * 1024)	/* original header section attached */
#define BOUNCE_BODY_MAX (64 * 1024)	/* original body attached (RET=FULL) */
#define BOUNCE_LINE_MAX 998		/* octets before CRLF, RFC 5322 2.1.1 */
/* the header field that marks a postmaster notice (rule b above) */
#define BOUNCE_NOTICE_FIELD "X-Tern-Notice"

struct bounce_rcpt {
	const char *addr;	/* the recipient, as in RCPT TO (no <>) */
	const char *orcpt;	/* RFC 3461 ORCPT as received ("rfc822;a@b",
				 * xtext), or NULL */
	const char *status;	/* RFC 3463 "5.1.1"; NULL or malformed:
				 * 5.0.0, 4.0.0 or 2.0.0 by action */
	const char *action;	/* RFC 3464 2.3.3: "failed", "delayed",
				 * "delivered", "relayed", "expanded";
				 * NULL or anything else is "failed" */
	const char *remote_mta;	/* "dns; mx.example.org" or NULL */
	const char *diagnostic;	/* "smtp; 550 5.1.1 user unknown", or a local
				 * reason (written "X-Tern; reason"), or NULL */
	long long last_attempt;	/* Last-Attempt-Date; 0 = none */
};

struct bounce_msg {
	const char *reporting_mta;	/* primary_hostname */
	const char *id;			/* queue id of the original */
	long long arrival;		/* Arrival-Date; 0 = none */
	const char *envid;		/* RFC 3461 ENVID (xtext) or NULL */
	const char *orig_sender;	/* who gets the report: the address
					 * bounce_recipients_for() gave;
					 * NULL or "" => no report (EINVAL) */
	int to_postmaster;		/* bounce_recipients_for() returned
					 * BOUNCE_TO_POSTMASTER */
	int ret_full;			/* RET=FULL: attach the whole message
					 * (message/rfc822); else headers only
					 * (text/rfc822-headers) */
	const struct bounce_rcpt *rcpt;	/* n_rcpt >= 1 */
	size_t n_rcpt;
	const char *orig_headers;	/* the original's header section */
	size_t orig_headers_len;	/* (CRLF or LF; may hold the empty line) */
	const char *orig_body;		/* only read when ret_full; capped at */
	size_t orig_body_len;		/* BOUNCE_BODY_MAX */
	long long now;			/* Date of the report */
	long long retry_until;		/* delayed: Will-Retry-Until (the give-up
					 * time); 0 = not said */
	const char *boundary_seed;	/* something unique (the id) for the
					 * MIME boundary; NULL = id */
};

enum {
	BOUNCE_TO_NONE = 0,
	BOUNCE_TO_SENDER = 1,
	BOUNCE_TO_POSTMASTER = 2
};

#ifdef CONFIG_BOUNCE
/* bounce_build - the whole report (header section and body, CRLF lines,
 * not dot-stuffed) in a heap buffer the caller frees, NUL-terminated;
 * *len is its length. NULL with errno ENOMEM (no memory) or EINVAL
 * (orig_sender NULL or empty, no recipients).
 *
 * The kind of report is that of the worst action among the recipients:
 * any "failed" makes a bounce ("Mail delivery failed: returning message
 * to sender", X-Failed-Recipients), else any "delayed" a warning
 * ("Warning: message ID delayed N hours"), else a success report
 * ("Successful mail delivery report"). Header fields: From: Mail Delivery
 * System <MAILER-DAEMON@reporting_mta>, To, Subject, Date, Message-ID
 * (<ID-KIND-NOW-HASH@reporting_mta>), References (the original's
 * Message-ID, when it has one), Auto-Submitted: auto-replied (RFC 3834),
 * MIME-Version, Content-Type with report-type=delivery-status and a
 * boundary that occurs in no line of the parts. */
char *bounce_build(const struct bounce_msg *b, size_t *len);


/* bounce_recipients_for - who gets a report about the failure of the
 * recipients failed[0..n_failed) of a message from sender (its envelope
 * sender, "" for <>) whose header section is hdr[0..hdrlen) (may be
 * NULL). Returns BOUNCE_TO_NONE (0), or BOUNCE_TO_SENDER with *to =
 * sender, or BOUNCE_TO_POSTMASTER with *to = "postmaster": the rule a/b/c
 * at the top of this file. NULL sender is taken as "". */
int bounce_recipients_for(const char *sender, const char *hdr,
    size_t hdrlen, const struct bounce_rcpt *failed, size_t n_failed,
    const char **to);

/* bounce_rcpt_wanted - does a recipient with these SPOOL_NOTIFY_* bits
 * (RFC 3461 4.1; 0 = NOTIFY not given) want to be in a report with this
 * action? NEVER: no. Not given: failures and delays yes (Exim's default),
 * successes no. Else as the bits say. 1 or 0. */
int bounce_rcpt_wanted(unsigned notify, const char *action);

#else	/* CONFIG_BOUNCE off: failures are only logged */
static inline char *bounce_build(const struct bounce_msg *b, size_t *len)
{ (void)b; (void)len; return NULL; }
static inline int bounce_recipients_for(const char *sender, const char *hdr,
    size_t hdrlen, const struct bounce_rcpt *failed, size_t n_failed,
    const char **to)
{ (void)sender; (void)hdr; (void)hdrlen; (void)failed; (void)n_failed; *to = NULL; return 0; }
static inline int bounce_rcpt_wanted(unsigned notify, const char *action)
{ (void)notify; (void)action; return 0; }
#endif

#endif
