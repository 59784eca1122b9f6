/*
 * cmd_send.c - `tern send`, and tern called as sendmail or mailq: the
 * sendmail command line that scripts and cron expect.
 *
 *   tern send [-odb|-odi|-odq] [-f SENDER] [-F NAME] [-t] [-i] [RCPT...]
 * and, for the sendmail command line (cmd_sendmail.c), sendmail -bs: an
 * SMTP session on standard input and output.
 *
 * The message is read from standard input (a line with a single "."
 * ends it unless -i), prepared by submit.c, written to the spool and
 * committed (fdatasync, rename, directory fsync) before tern exits 0.
 * Any failure exits non-zero (sysexits.h), and EX_TEMPFAIL when the
 * spool cannot take the message, so that the caller keeps it.
 *
 * Who may write the spool: it is private to the user tern runs as (0700).
 * Root and that user write it directly. Another user gets EX_TEMPFAIL
 * with an explanation (see tern(8), "Local users"); a hand-off to the
 * daemon over a local socket is planned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/mailhdr.h"
#include "core/smtp_data.h"
#include "core/smtp_parse.h"
#include "core/smtp_session.h"
#include "core/spool.h"
#include "core/send.h"
#include "core/send_socket.h"
#include "core/submit.h"

#define SEND_CHUNK 65536


struct send_rcpts {
	char **v;
	size_t n;
	int oom;
};

static void send_rcpt_add(void *ctx, const char *addr)
{
	struct send_rcpts *r = ctx;
	char **v, *s;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i], addr) == 0)
			return;		/* once per address */
	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	s = strdup(addr);
	if (!v || !s) {
		if (v)
			r->v = v;
		free(s);
		r->oom = 1;
		return;
	}
	r->v = v;
	r->v[r->n++] = s;
}

static void send_rcpts_free(struct send_rcpts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

static const char *send_login(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw && pw->pw_name ? pw->pw_name : "unknown";
}

/* send_spool_open - the spool, or an exit code with a message; with
 * quiet_eacces a permission problem only returns -1 (the caller then
 * hands the message to the daemon) */
static int send_spool_open(const struct config *cfg, struct spool **sp,
    int quiet_eacces)
{
	char err[512];
	int r;

	/* root's sendmail writes as the spool's owner: a spool the daemon
	 * would refuse is refused here too (other users go through the
	 * daemon's socket when they cannot write the spool) */
	if (geteuid() == 0 && (r = spool_owner_check(cfg->main.spool_directory,
	    cfg->main.user, err, sizeof(err))) < 0) {
		fprintf(stderr, "tern: cannot queue: %s\n", err);
		return EX_TEMPFAIL_;
	}
	r = spool_owner_become(cfg->main.spool_directory);
	if (r < 0) {
		fprintf(stderr, "tern: cannot act as the spool's owner: %s\n", strerror(-r));
		return EX_TEMPFAIL_;
	}
	r = spool_open(cfg->main.spool_directory, geteuid() == 0, sp, err, sizeof(err));
	if (r == 0)
		return EXIT_OK;
	if (quiet_eacces && (r == -EACCES || (r == -ENOENT && geteuid() != 0)))
		return -1;
	if (r == -EACCES || r == -EPERM)
		fprintf(stderr, "tern: cannot queue: %s\n"
		    "tern: the spool is private to the mail system; see tern(8), "
		    "\"Local users\"\n", err);
	else
		fprintf(stderr, "tern: cannot queue: %s\n", err);
	return EX_TEMPFAIL_;
}

/* Where the message goes: the spool file, or the daemon's socket. */
struct send_sink {
	struct spool_writer *w;
	struct send_sock *k;
};

static int send_sink_write(struct send_sink *k, const char *p, size_t n)
{
	return k->w ? spool_writer_write(k->w, p, n) : send_sock_write(k->k, p, n);
}

/* send_sock_exit - exit code for a refusal by the daemon */
static int send_sock_exit(int code, const char *text)
{
	fprintf(stderr, "tern: the mail system refused the message: %s\n", text);
	if (code >= 500 && code < 600)
		return code == 550 ? 67 /* EX_NOUSER */ : EX_DATAERR_;
	return EX_TEMPFAIL_;
}

/* send_read - read up to len bytes of stdin; returns count, -1 on error */
static long send_read(char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(0, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

static int send_errno_exit(int r, const char *what)
{
	fprintf(stderr, "tern: cannot queue: %s: %s\n", what, strerror(-r));
	return EX_TEMPFAIL_;	/* the caller keeps the message and retries */
}

/* send_deliver - after the commit: -odq leaves the message queued; -odi
 * delivers it before returning; -odb (the default) leaves it to a running
 * daemon (which sees it arrive in queue/) or, when none runs, to a
 * background process, as dma does. The exit status stays 0 either way:
 * the message is safely queued. */
static void send_deliver(const struct config *cfg, struct spool *sp, char mode,
    const char *id)
{
	char qid[SPOOL_ID_LEN + 1];
	char *ids[1];
	pid_t pid;

	snprintf(qid, sizeof(qid), "%s", id);
	ids[0] = qid;
	if (mode == 'b' && cfg->main.queue_only)
		return;		/* queue_only: queue runs deliver */
	if (mode == 'q' || (mode == 'b' && spool_daemon_running(sp)))
		return;
	if (mode == 'i') {
		(void)queue_deliver(cfg, ids, 1);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);	/* the middle child exits at once */
	if (pid != 0)
		return;		/* parent (or fork failed: a queue run finds it) */
	/* the child: detached from the caller's terminal and pipes */
	(void)setsid();
	{
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	if (fork() == 0)
		_exit(queue_deliver(cfg, ids, 1));
	_exit(0);
}

/* send_message - read, prepare, spool and commit one message */
static int send_message(const struct config *cfg, const struct send_opts *o,
    char **argv_rcpts, int n_argv)
{
	const struct config_main *m = &cfg->main;
	struct send_rcpts rc = { NULL, 0, 0 };
	struct spool_writer *w = NULL;
	struct spool_env *env = NULL;
	struct spool *sp = NULL;
	struct send_sink sink = { NULL, NULL };
	struct submit_opts so;
	struct submit_body body;
	char *in = NULL, *hdr = NULL, *out = NULL, *envtext = NULL;
	char date[MAILHDR_DATE_LEN], msgid[300], from[600], addr[600], err[256];
	char received[1024];
	size_t inlen = 0, hend, consumed, hdrlen, envlen, i;
	long long size = 0, now = (long long)time(NULL);
	const char *login = send_login();
	unsigned fsyncs = 0;
	int rcode = EX_SOFTWARE_, r, eof = 0;
	long n;

	for (i = 0; i < (size_t)n_argv; i++) {
		if (!submit_qualify(argv_rcpts[i], m->primary_hostname, addr, sizeof(addr)) ||
		    strpbrk(addr, " <>\r\n")) {
			fprintf(stderr, "tern: bad recipient address '%s'\n", argv_rcpts[i]);
			rcode = EX_USAGE_;
			goto out;
		}
		send_rcpt_add(&rc, addr);
	}
	r = send_spool_open(cfg, &sp, IS_ENABLED(CONFIG_SMTP_SERVER) &&
	    m->local_socket[0]);
	if (r > 0) {
		rcode = r;
		goto out;
	}
	/* r < 0: this user may not write the spool: the daemon takes it */
	rcode = EX_SOFTWARE_;
	if (sp) {
		long long avail;

		if (spool_space_low(sp, 0, m->spool_min_free, &avail) > 0) {
			fprintf(stderr, "tern: cannot queue: insufficient system storage: "
			    "spool %s has %lld bytes free, below spool_min_free (%lld); "
			    "try later\n", m->spool_directory, avail, m->spool_min_free);
			log_warn("U=%s refused: spool %s has %lld bytes free, below "
			    "spool_min_free (%lld)", login, m->spool_directory, avail,
			    m->spool_min_free);
			rcode = EX_TEMPFAIL_;
			goto out;
		}
	}
	/* the header section, whole, in memory (at most MAILHDR_MAX) */
	in = malloc(MAILHDR_MAX + SEND_CHUNK);
	out = malloc(2 * SEND_CHUNK + 8);
	if (!in || !out) {
		fprintf(stderr, "tern: out of memory\n");
		rcode = EX_TEMPFAIL_;
		goto out;
	}
	for (;;) {
		if ((n = send_read(in + inlen, SEND_CHUNK)) < 0) {
			fprintf(stderr, "tern: reading the message: %s\n", strerror(errno));
			rcode = EX_IOERR_;
			goto out;
		}
		inlen += (size_t)n;
		if (n < SEND_CHUNK)
			eof = 1;
		if ((hend = mailhdr_end(in, inlen)) > 0 || eof)
			break;
		if (inlen >= MAILHDR_MAX) {
			fprintf(stderr, "tern: header section longer than %d bytes\n", MAILHDR_MAX);
			rcode = EX_DATAERR_;
			goto out;
		}
	}
	if (hend == 0)
		hend = inlen;	/* no empty line: all of it is headers */
	/* with dot-termination, a "." line inside the headers ends the
	 * message there: leave that to the body reader */
	mailhdr_date(now, date, sizeof(date));
	if (o->fullname)
		snprintf(from, sizeof(from), "%s <%s@%s>", o->fullname, login, m->primary_hostname);
	else
		snprintf(from, sizeof(from), "%s@%s", login, m->primary_hostname);
	if (sp && (r = spool_writer_new(sp, now, &w)) < 0) {
		fprintf(stderr, "tern: cannot create a spool file: %s\n", strerror(-r));
		rcode = EX_TEMPFAIL_;
		goto out;
	}
	if (w) {
		if (!mailhdr_message_id(spool_writer_id(w), m->primary_hostname, msgid,
		    sizeof(msgid)))
			snprintf(msgid, sizeof(msgid), "<%s@localhost>", spool_writer_id(w));
	} else {
		char local[64];

		snprintf(local, sizeof(local), "%lld.%ld", now, (long)getpid());
		if (!mailhdr_message_id(local, m->primary_hostname, msgid, sizeof(msgid)))
			snprintf(msgid, sizeof(msgid), "<%s@localhost>", local);
	}
	so.extract = o->extract;
	so.qualify_domain = m->primary_hostname;
	so.from = from;
	so.message_id = msgid;
	so.date = date;
	hdr = submit_headers(in, hend, &so, send_rcpt_add, &rc, &consumed, &hdrlen,
	    err, sizeof(err));
	if (!hdr || rc.oom) {
		/* out of memory is temporary: sendmail's callers retry */
		rcode = hdr || errno == ENOMEM ? EX_TEMPFAIL_ : EX_DATAERR_;
		fprintf(stderr, "tern: %s\n", hdr ? "out of memory" : err);
		goto out;
	}
	if (rc.n == 0) {
		fprintf(stderr, "tern: no recipients%s\n", o->extract ?
		    " (none on the command line nor in To, Cc, Bcc)" : "");
		rcode = EX_USAGE_;
		goto out;
	}
	/* the envelope */
	if (!(env = spool_env_new())) {
		rcode = EX_TEMPFAIL_;
		goto out;
	}
	env->arrival = now;
	if (o->sender && !o->sender[0])
		addr[0] = '\0';
	else if (!submit_qualify(o->sender ? o->sender : login, m->primary_hostname,
	    addr, sizeof(addr)) || strpbrk(addr, " <>\r\n")) {
		fprintf(stderr, "tern: bad sender address '%s'\n", o->sender);
		rcode = EX_USAGE_;
		goto out;
	}
	if (spool_env_set(&env->sender, addr) < 0 ||
	    spool_env_set(&env->protocol, "local") < 0 ||
	    spool_env_set(&env->ident, login) < 0) {
		rcode = EX_TEMPFAIL_;
		goto out;
	}
	for (i = 0; i < rc.n; i++)
		if (!spool_env_add_rcpt(env, rc.v[i])) {
			rcode = EX_TEMPFAIL_;
			goto out;
		}
	sink.w = w;
	sink.k = NULL;
	if (!w) {
		/* the daemon writes the envelope and its Received: header */
		received[0] = '\0';
		if ((r = send_sock_open(m->local_socket, &sink.k, err, sizeof(err))) < 0) {
			fprintf(stderr, "tern: cannot queue: this user may not write the "
			    "spool, and %s (is tern serve running?)\n", err);
			rcode = EX_TEMPFAIL_;
			goto out;
		}
		if ((r = send_sock_envelope(sink.k, addr, rc.v, rc.n, err, sizeof(err))) != 0) {
			rcode = r < 0 ? EX_TEMPFAIL_ : send_sock_exit(r, err);
			if (r < 0)
				fprintf(stderr, "tern: cannot queue: %s\n", err);
			goto out;
		}
	} else {
		if (!(envtext = spool_env_format(env, &envlen))) {
			rcode = errno == ENOMEM ? EX_TEMPFAIL_ : EX_DATAERR_;
			fprintf(stderr, "tern: cannot write the envelope: %s\n", strerror(errno));
			goto out;
		}
		snprintf(received, sizeof(received),
		    "Received: from %s by %s (tern %s) with local\r\n\tid %s;\r\n\t%s\r\n",
		    login, m->primary_hostname, TERN_VERSION, spool_writer_id(w), date);
		if ((r = spool_writer_write(w, envtext, envlen)) < 0 ||
		    (r = spool_writer_write(w, received, strlen(received))) < 0) {
			rcode = send_errno_exit(r, "writing");
			goto out;
		}
	}
	if ((r = send_sink_write(&sink, hdr, hdrlen)) < 0) {
		rcode = send_errno_exit(r, "writing");
		goto out;
	}
	size = (long long)(strlen(received) + hdrlen);
	/* the body: what followed the headers, then the rest of stdin */
	submit_body_init(&body, o->dot_ends);
	{
		size_t off = consumed, outn;

		for (;;) {
			size_t k = 0;

			while (off < inlen && !body.done) {
				size_t piece = inlen - off > SEND_CHUNK ? SEND_CHUNK : inlen - off;

				outn = submit_body_feed(&body, in + off, piece, 0, out);
				off += piece;
				if ((r = send_sink_write(&sink, out, outn)) < 0) {
					rcode = send_errno_exit(r, "writing");
					goto out;
				}
				size += (long long)outn;
				k++;
			}
			if (body.done || eof)
				break;
			if ((n = send_read(in, SEND_CHUNK)) < 0) {
				fprintf(stderr, "tern: reading the message: %s\n", strerror(errno));
				rcode = EX_IOERR_;
				goto out;
			}
			inlen = (size_t)n;
			off = 0;
			if (n < SEND_CHUNK)
				eof = 1;
			if (size > m->message_size_limit)
				break;
			(void)k;
		}
		outn = submit_body_feed(&body, NULL, 0, 1, out);
		if (outn && (r = send_sink_write(&sink, out, outn)) < 0) {
			rcode = send_errno_exit(r, "writing");
			goto out;
		}
		size += (long long)outn;
	}
	if (size > m->message_size_limit) {
		fprintf(stderr, "tern: message larger than message_size_limit (%lld)\n",
		    m->message_size_limit);
		rcode = EX_DATAERR_;
		goto out;
	}
	if (!w) {
		if ((r = send_sock_finish(sink.k, err, sizeof(err))) != 0) {
			rcode = r < 0 ? EX_TEMPFAIL_ : send_sock_exit(r, err);
			if (r < 0)
				fprintf(stderr, "tern: cannot queue: %s\n", err);
			goto out;
		}
		/* the daemon logged the arrival */
		rcode = EXIT_OK;
		goto out;
	}
	if ((r = spool_writer_commit(w, &fsyncs)) < 0) {
		rcode = send_errno_exit(r, "committing");
		goto out;
	}
	counter_add(CNT_FSYNC, fsyncs);
	{
		char list[1024];
		size_t off = 0;

		list[0] = '\0';
		for (i = 0; i < rc.n && off < sizeof(list) - 1; i++) {
			int k = snprintf(list + off, sizeof(list) - off, " %s", rc.v[i]);

			if (k < 0)
				break;
			off += (size_t)k;
		}
		log_info("%s <= %s U=%s P=local S=%lld id=%s for%s", spool_writer_id(w),
		    addr[0] ? addr : "<>", login, size, msgid, list);
	}
	rcode = EXIT_OK;
	/* the message buffers (over a megabyte) are not needed any more:
	 * a background delivery forked from here must not carry them */
	free(in);
	free(out);
	free(hdr);
	free(envtext);
	in = out = hdr = envtext = NULL;
	send_deliver(cfg, sp, o->mode, spool_writer_id(w));
out:
	send_sock_close(sink.k);
	spool_writer_free(w);
	spool_env_free(env);
	free(envtext);
	free(hdr);
	free(in);
	free(out);
	send_rcpts_free(&rc);
	spool_close(sp);
	return rcode;
}

/* send_log_open - the main log if this user may write it, else nothing
 * (a sendmail call must not chatter on the caller's terminal) */
static void send_log_open(const struct config *cfg)
{
	if (strcmp(cfg->main.log_file, "stderr") == 0 ||
	    log_open(cfg->main.log_file) < 0)
		(void)log_open("none");
}

int send_run(struct cli *cli, const struct send_opts *o, char **rcpts, int n)
{
	struct config *cfg = cli_config_load(cli);
	int rc;

	if (!cfg)	/* out of memory: the caller keeps the message */
		return errno == ENOMEM ? EX_TEMPFAIL_ : EX_CONFIG_;
	send_log_open(cfg);
	rc = send_message(cfg, o, rcpts, n);
	log_close();
	config_release(cfg);
	return rc;
}

/* send_opt_arg - the argument of -fX / -f X */
const char *send_opt_arg(int argc, char **argv, int *i, const char *rest)
{
	if (*rest)
		return rest;
	if (*i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int cmd_send(struct cli *cli, int argc, char **argv)
{
	struct send_opts o = { 0, 1, 'b', NULL, NULL, 0 };
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-t") == 0)
			o.extract = 1;
		else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0)
			o.dot_ends = 0;
		else if (strcmp(a, "-odb") == 0 || strcmp(a, "-odi") == 0 ||
		    strcmp(a, "-odq") == 0)
			o.mode = a[3];
		else if (a[1] == 'f' || a[1] == 'F') {
			const char *v = send_opt_arg(argc, argv, &i, a + 2);

			if (!v) {
				fprintf(stderr, "tern send: %s needs an argument\n", a);
				return EX_USAGE_;
			}
			if (a[1] == 'f')
				o.sender = v;
			else
				o.fullname = v;
		} else {
			fprintf(stderr, "tern send: unknown option %s\n"
			    "usage: tern send [-odb|-odi|-odq] [-f SENDER] [-F NAME] [-t] [-i] [RCPT...]\n", a);
			return EX_USAGE_;
		}
	}
	return send_run(cli, &o, argv + i, argc - i);
}

/* ------------------------------------------------------------ -bs */


/* send_write_all - stdout, whole */
static int send_write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(1, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* send_space_low - MAIL of a -bs session: is the spool below
 * spool_min_free, counting SIZE=? (as the daemon's listener checks) */
struct send_space {
	struct spool *sp;
	const struct config *cfg;
};

static int send_space_low(void *arg, long long size)
{
	const struct send_space *k = arg;
	long long avail;

	return spool_space_low(k->sp, size, k->cfg->main.spool_min_free, &avail) > 0;
}

/* send_smtp_data - receive one message of a -bs session into the spool */
static enum smtp_data_result send_smtp_data(struct smtp_sess *s, struct spool *sp,
    char *buf, size_t *len, char *id, int *eof)
{
	enum smtp_data_result dr = SMTP_DR_OK;
	struct spool_writer *w = NULL;
	struct smtp_data dec;
	char *out = malloc(SEND_CHUNK + 2), *head = NULL;
	long long now = (long long)time(NULL), size = 0;
	size_t headlen;
	unsigned fsyncs;
	int done = 0, r;

	smtp_data_init(&dec);
	if (!out || spool_writer_new(sp, now, &w) < 0 ||
	    !(head = smtp_sess_spool_head(s, spool_writer_id(w), now, &headlen)) ||
	    spool_writer_write(w, head, headlen) < 0)
		dr = SMTP_DR_LOCAL_ERROR;
	while (!done) {
		size_t outlen = 0, used;

		if (*len == 0) {
			ssize_t n;

			/* read what the pipe has: the client waits for our reply */
			do
				n = *eof ? 0 : read(0, buf, SEND_CHUNK);
			while (n < 0 && errno == EINTR);
			if (n <= 0) {
				*eof = 1;
				dr = SMTP_DR_LOCAL_ERROR;
				break;
			}
			*len = (size_t)n;
		}
		used = smtp_data_feed(&dec, buf, *len, out, &outlen, &done);
		memmove(buf, buf + used, *len - used);
		*len -= used;
		if (dr == SMTP_DR_OK && (dec.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)))
			dr = SMTP_DR_BARE_EOL;
		size += (long long)outlen;
		if (dr == SMTP_DR_OK && size > s->cfg->main.message_size_limit)
			dr = SMTP_DR_TOO_BIG;
		if (dr == SMTP_DR_OK && (r = spool_writer_write(w, out, outlen)) < 0)
			dr = r == -ENOSPC || r == -EDQUOT ? SMTP_DR_NO_SPACE : SMTP_DR_LOCAL_ERROR;
	}
	if (dr == SMTP_DR_OK && (r = spool_writer_commit(w, &fsyncs)) < 0)
		dr = r == -ENOSPC || r == -EDQUOT ? SMTP_DR_NO_SPACE : SMTP_DR_LOCAL_ERROR;
	if (dr == SMTP_DR_OK) {
		const char *rcv = strstr(head, "\n\nReceived:");

		snprintf(id, SPOOL_ID_LEN + 1, "%s", spool_writer_id(w));
		if (rcv)	/* S= counts the Received: header */
			size += (long long)(headlen - (size_t)(rcv + 2 - head));
		log_info("%s <= %s U=%s P=%s S=%lld", id,
		    s->env->sender[0] ? s->env->sender : "<>",
		    s->env->ident ? s->env->ident : "", s->env->protocol, size);
	}
	spool_writer_free(w);
	free(head);
	free(out);
	return dr;
}

/* send_smtp_stdio - sendmail -bs: an SMTP session on stdin/stdout, as a
 * local submission (may relay) */
int send_smtp_stdio(struct cli *cli)
{
	struct config *cfg = cli_config_load(cli);
	struct spool *sp = NULL;
	struct smtp_sess s;
	struct send_space space;
	char *buf = NULL;
	size_t len = 0;
	int eof = 0, rc;

	if (!cfg)	/* out of memory: the client may try again */
		return errno == ENOMEM ? EX_TEMPFAIL_ : EX_CONFIG_;
	send_log_open(cfg);
	if ((rc = send_spool_open(cfg, &sp, 0)) != EXIT_OK)
		goto out;
	if (smtp_sess_init(&s, cfg, "127.0.0.1", 0, 1, 0) < 0 ||
	    !(buf = malloc(SEND_CHUNK + SMTP_CMD_LINE_MAX))) {
		rc = EX_TEMPFAIL_;
		goto out_sess;
	}
	space.sp = sp;
	space.cfg = cfg;
	s.space_low = send_space_low;
	s.space_arg = &space;
	for (;;) {
		size_t used;
		enum smtp_action a = smtp_sess_input(&s, buf, len, &used);

		if (used == 0) {
			ssize_t n = 0;

			/* flush before waiting: PIPELINING batches replies */
			if (s.out.len && send_write_all(s.out.buf, s.out.len) < 0)
				break;
			smtp_out_reset(&s.out);
			if (eof || (n = read(0, buf + len, SEND_CHUNK)) <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				break;
			}
			len += (size_t)n;
			continue;
		}
		memmove(buf, buf + used, len - used);
		len -= used;
		if (a == SMTP_A_DATA) {
			char id[SPOOL_ID_LEN + 1] = "";
			enum smtp_data_result dr;

			if (spool_env_set(&s.env->ident, send_login()) < 0) {
				smtp_sess_data_done(&s, SMTP_DR_LOCAL_ERROR, "");
				continue;
			}
			if (send_write_all(s.out.buf, s.out.len) < 0)
				break;
			smtp_out_reset(&s.out);
			dr = send_smtp_data(&s, sp, buf, &len, id, &eof);
			smtp_sess_data_done(&s, dr, id);
		} else if (a == SMTP_A_CLOSE || a == SMTP_A_STARTTLS) {
			break;
		}
	}
	if (s.out.len)
		(void)send_write_all(s.out.buf, s.out.len);
	rc = EXIT_OK;
out_sess:
	smtp_sess_fini(&s);
	free(buf);
out:
	spool_close(sp);
	log_close();
	config_release(cfg);
	return rc;
}

