/*
 * serve.c - `tern serve`: the daemon in the foreground (for procd, systemd,
 * s6). One libuv loop carries the SMTP listener and the delivery engine.
 *
 * Signals: SIGTERM and SIGINT stop it (listeners close, commits and
 * deliveries under way finish), SIGHUP re-reads the config (keeping the
 * old one when the new one has errors; listen, local_socket,
 * spool_directory and user wait for a restart, which is logged; the DNS
 * resolver is made anew) and reopens the log file, SIGUSR1
 * runs the queue now, every message, whatever its retry time (a link-up
 * hotplug script sends it).
 *
 * Delivery starts: for each message the listener commits; for each
 * message another process (sendmail, tern send) renames into queue/ (a
 * uv_fs_event watch on the directory); on the queue_run_interval timer for
 * messages whose retry time has come; and once at start. queue_only keeps
 * new messages for the queue runs.
 *
 * struct serve owns the loop, the handles, the spool and the config; the
 * handles are closed before the loop is, as libuv requires.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core/addrlist.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/deliver.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/smtp_server.h"
#include "core/spool.h"
#include "ports/port.h"
#include "tls/tls.h"
#ifdef TERN_ALLOC_FAULT
#include "tests/unit/alloc_fail.h"	/* the fault injector (make oom-check) */
#endif

struct serve {
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
	uv_timer_t qtimer;
	uv_fs_event_t qwatch;
	int qwatch_on;
	struct config *cfg;
	const struct cli *cli;
	struct spool *spool;
	struct smtp_server *smtp;
	struct deliver *deliver;
	int stop_signal;
	int parts;		/* smtp server and engine still stopping */
};

static void serve_close_cb(uv_handle_t *h)
{
	(void)h;
}

static void serve_close_handles(struct serve *s)
{
	uv_close((uv_handle_t *)&s->sig_term, serve_close_cb);
	uv_close((uv_handle_t *)&s->sig_int, serve_close_cb);
	uv_close((uv_handle_t *)&s->sig_hup, serve_close_cb);
	uv_close((uv_handle_t *)&s->sig_usr1, serve_close_cb);
	uv_close((uv_handle_t *)&s->qtimer, serve_close_cb);
	if (s->qwatch_on)
		uv_close((uv_handle_t *)&s->qwatch, serve_close_cb);
}

static void serve_part_stopped(void *arg)
{
	struct serve *s = arg;

	if (--s->parts == 0)
		serve_close_handles(s);
}

static void serve_smtp_stopped(void *arg)
{
	struct serve *s = arg;

	s->smtp = NULL;
	serve_part_stopped(s);
}

static void serve_deliver_stopped(void *arg)
{
	struct serve *s = arg;

	s->deliver = NULL;
	serve_part_stopped(s);
}

/* serve_stop - stop accepting and starting deliveries; the loop ends when
 * the last session and delivery have finished */
static void serve_stop(struct serve *s)
{
	s->parts = 1;
	uv_timer_stop(&s->qtimer);
	if (s->qwatch_on)
		uv_fs_event_stop(&s->qwatch);
	if (s->smtp) {
		s->parts++;
		smtp_server_stop(s->smtp, serve_smtp_stopped, s);
	}
	if (s->deliver) {
		s->parts++;
		deliver_stop(s->deliver, serve_deliver_stopped, s);
	}
	serve_part_stopped(s);
}

/* serve_new_message - a message is in the queue: deliver it now */
static void serve_new_message(void *arg, const char *id)
{
	struct serve *s = arg;

	if (s->deliver && !s->stop_signal && !s->cfg->main.queue_only)
		deliver_message(s->deliver, id);
}

static void serve_qwatch_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct serve *s = h->data;

	(void)events;
	if (status < 0 || !name || !spool_id_valid(name))
		return;
	serve_new_message(s, name);
}

static void serve_qtimer_cb(uv_timer_t *t)
{
	struct serve *s = t->data;

	if (s->deliver)
		deliver_queue_run(s->deliver, 0);
}

/* serve_restart_only - log the options a reload cannot apply: the
 * listeners were bound and the privileges dropped at start */
static void serve_restart_only(const struct config *old, const struct config *cfg)
{
	const struct config_main *o = &old->main, *n = &cfg->main;
	char a[1024], b[1024];
	const char *what[4];
	size_t k = 0, i;

	if (strcmp(addrlist_format(o->listen, a, sizeof(a)),
	    addrlist_format(n->listen, b, sizeof(b))) != 0)
		what[k++] = "listen";
	if (strcmp(o->local_socket, n->local_socket) != 0)
		what[k++] = "local_socket";
	if (strcmp(o->spool_directory, n->spool_directory) != 0)
		what[k++] = "spool_directory";
	if (strcmp(o->user, n->user) != 0)
		what[k++] = "user";
	for (i = 0; i < k; i++)
		log_warn("SIGHUP: %s changed; it takes effect when tern serve is "
		    "restarted", what[i]);
}

static void serve_signal_cb(uv_signal_t *h, int signum)
{
	struct serve *s = h->data;

	if (signum == SIGHUP) {
		struct config *cfg;
		int r;

		if ((r = log_reopen()) < 0)
			log_err("SIGHUP: cannot reopen %s: %s", log_target(), uv_strerror(r));
		cfg = cli_config_load(s->cli);
		if (!cfg) {
			log_err("SIGHUP: %s has errors; keeping the running config",
			    s->cli->config_file);
			return;
		}
		serve_restart_only(s->cfg, cfg);
		if (s->smtp)
			smtp_server_reload(s->smtp, cfg);
		if (s->deliver)
			deliver_reload(s->deliver, cfg);
		config_release(s->cfg);
		s->cfg = cfg;
		uv_timer_start(&s->qtimer, serve_qtimer_cb,
		    (uint64_t)cfg->main.queue_run_interval * 1000,
		    (uint64_t)cfg->main.queue_run_interval * 1000);
		log_info("SIGHUP: reloaded %s", s->cli->config_file);
		return;
	}
	if (signum == SIGUSR1) {
		log_info("SIGUSR1 received: running the queue");
		if (s->deliver && !s->stop_signal)
			deliver_queue_run(s->deliver, 1);
		return;
	}
	if (s->stop_signal)
		return;
	s->stop_signal = signum;
	log_info("%s received: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	serve_stop(s);
}

static int serve_signal_start(struct serve *s, uv_signal_t *h, int signum)
{
	int r = uv_signal_init(&s->loop, h);

	if (r < 0)
		return r;
	h->data = s;
	return uv_signal_start(h, serve_signal_cb, signum);
}

/* serve_log_counters - the debug counters at exit */
static void serve_log_counters(void)
{
	char buf[512];
	FILE *f;

	if (!IS_ENABLED(CONFIG_DEBUG_COUNTERS) || !(f = fmemopen(buf, sizeof(buf), "w")))
		return;
	counters_print(f);
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	log_info("counters: %s", buf);
}

/* serve_drop - started as root, the listeners bound: the spool (and
 * the log file) become user's and the process becomes user, for good.
 * 0, or -1 (logged) when that failed and the daemon must stop. */
static int serve_drop(struct serve *s)
{
	const struct config_main *m = &s->cfg->main;
	char err[512];
	long uid = -1, gid = -1;
	int r;

	if (geteuid() != 0)
		return 0;	/* started unprivileged (systemd User=) */
	if (!m->user[0] || strcmp(m->user, "root") == 0) {
		log_warn("running as root (user = %s): set user to an unprivileged "
		    "account", m->user[0] ? m->user : "\"\"");
		return 0;
	}
	if (port_user_lookup(m->user, &uid, &gid) < 0 || uid == 0) {
		log_warn("user %s %s: still running as root; create the account "
		    "(useradd --system --no-create-home %s) or set user", m->user,
		    uid == 0 ? "is root" : "does not exist", m->user);
		return 0;
	}
	if ((r = port_chown_tree(m->spool_directory, uid, gid, err, sizeof(err))) < 0) {
		log_err("%s", err);
		return -1;
	}
	if (m->log_file[0] == '/' && chown(m->log_file, (uid_t)uid, (gid_t)gid) < 0)
		log_warn("cannot give the log %s to %s: %s (reopening it after a "
		    "rotation may fail)", m->log_file, m->user, strerror(errno));
	if ((r = port_become(uid, gid)) < 0) {
		log_err("cannot become %s: %s", m->user, strerror(-r));
		return -1;
	}
	log_info("running as %s (uid %ld)", m->user, uid);
	return 0;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct serve s;
	char err[512], qdir[4096];
	unsigned removed;
	int r, rc = EX_SOFTWARE_;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tern [-C FILE] serve\n");
		return EX_USAGE_;
	}
	memset(&s, 0, sizeof(s));
	s.cli = cli;
	s.cfg = cli_config_load(cli);
	if (!s.cfg)
		return EX_CONFIG_;
	if ((r = log_open(s.cfg->main.log_file)) < 0) {
		fprintf(stderr, "tern: cannot open log %s: %s\n",
		    s.cfg->main.log_file, uv_strerror(r));
		config_release(s.cfg);
		return EX_CANTCREAT_;
	}
	if ((r = spool_owner_check(s.cfg->main.spool_directory, s.cfg->main.user, err,
	    sizeof(err))) < 0) {
		log_err("%s", err);
		fprintf(stderr, "tern: %s\n", err);
		rc = EX_NOPERM_;
		goto out_cfg;
	}
	if ((r = spool_open(s.cfg->main.spool_directory, 1, &s.spool, err, sizeof(err))) < 0) {
		log_err("spool: %s", err);
		fprintf(stderr, "tern: spool: %s\n", err);
		rc = EX_CANTCREAT_;
		goto out_cfg;
	}
	if ((r = spool_daemon_lock(s.spool)) < 0) {
		const char *why = r == -EAGAIN ? "another tern serve uses this spool" :
		    uv_strerror(r);

		log_err("spool %s: %s", s.cfg->main.spool_directory, why);
		fprintf(stderr, "tern: spool %s: %s\n", s.cfg->main.spool_directory, why);
		rc = EX_UNAVAILABLE_;
		goto out_cfg;
	}
	if ((r = spool_recover(s.spool, &removed)) < 0)
		log_warn("spool recovery: %s", uv_strerror(r));
	else if (removed)
		log_info("spool recovery: removed %u unfinished file%s", removed,
		    removed == 1 ? "" : "s");
	if (IS_ENABLED(CONFIG_TLS) && (r = tls_rng_init()) != 0) {
		log_err("cannot seed the random generator (mbedTLS error -0x%04x)",
		    (unsigned)-r);
		goto out_cfg;
	}
	signal(SIGPIPE, SIG_IGN);
	{
		/* every SMTP session is a descriptor: take what the hard
		 * limit allows (smtp_server.c keeps the sessions under it) */
		long nofile = port_fd_limit_raise();

		if (nofile < 0)
			log_info("open files limit: unlimited");
		else
			log_info("open files limit: %ld", nofile);
	}
	if ((r = uv_loop_init(&s.loop)) < 0) {
		log_err("cannot start the event loop: %s", uv_strerror(r));
		goto out_cfg;
	}
	uv_timer_init(&s.loop, &s.qtimer);
	s.qtimer.data = &s;
	if ((r = serve_signal_start(&s, &s.sig_term, SIGTERM)) < 0 ||
	    (r = serve_signal_start(&s, &s.sig_int, SIGINT)) < 0 ||
	    (r = serve_signal_start(&s, &s.sig_hup, SIGHUP)) < 0 ||
	    (r = serve_signal_start(&s, &s.sig_usr1, SIGUSR1)) < 0) {
		log_err("cannot watch signals: %s", uv_strerror(r));
		uv_walk(&s.loop, (uv_walk_cb)uv_close, NULL);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	if ((r = deliver_new(&s.loop, s.cfg, s.spool, &s.deliver)) < 0) {
		log_err("cannot start delivery: %s", uv_strerror(r));
		serve_close_handles(&s);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	if (IS_ENABLED(CONFIG_SMTP_SERVER) &&
	    (r = smtp_server_start(&s.loop, s.cfg, s.spool, serve_new_message, &s,
	    &s.smtp, err, sizeof(err))) < 0) {
		log_err("%s", err);
		fprintf(stderr, "tern: %s\n", err);
		s.stop_signal = SIGTERM;
		serve_stop(&s);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		rc = EX_UNAVAILABLE_;
		goto out_loop;
	}
	if (serve_drop(&s) < 0) {
		s.stop_signal = SIGTERM;
		serve_stop(&s);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		rc = EX_OSERR_;
		goto out_loop;
	}
	/* messages renamed into queue/ by sendmail and tern send */
	snprintf(qdir, sizeof(qdir), "%s/queue", s.cfg->main.spool_directory);
	if (uv_fs_event_init(&s.loop, &s.qwatch) == 0) {
		s.qwatch.data = &s;
		s.qwatch_on = 1;
		if ((r = uv_fs_event_start(&s.qwatch, serve_qwatch_cb, qdir, 0)) < 0)
			log_warn("cannot watch %s (%s): local submissions wait for the "
			    "next queue run", qdir, uv_strerror(r));
	}
	uv_timer_start(&s.qtimer, serve_qtimer_cb,
	    (uint64_t)s.cfg->main.queue_run_interval * 1000,
	    (uint64_t)s.cfg->main.queue_run_interval * 1000);
	log_info("tern %s daemon started: pid %ld, config %s", TERN_VERSION,
	    (long)getpid(), cli->config_file);
#ifdef TERN_ALLOC_FAULT
	/* make oom-check: TERN_ALLOC_FAIL=N fails the Nth allocation from here */
	(void)alloc_fail_env("TERN_ALLOC_FAIL");	/* -1: not set, nothing fails */
#endif
	deliver_queue_run(s.deliver, 0);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	serve_log_counters();
#ifdef TERN_ALLOC_FAULT
	log_info("alloc_fail: %lu allocations counted, %lu failed",
	    alloc_fail_count(), alloc_fail_failed());
	alloc_fail_off();
#endif
	log_info("tern daemon stopped");
	rc = EXIT_OK;
out_loop:
	if (uv_loop_close(&s.loop) < 0)
		log_err("event loop closed with handles still open");
out_cfg:
	tls_rng_fini();
	spool_close(s.spool);
	config_release(s.cfg);
	log_close();
	return rc;
}
