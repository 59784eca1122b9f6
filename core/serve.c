/*
 * serve.c - `tern serve`: the daemon in the foreground (for procd, systemd,
 * s6). One libuv loop; SIGTERM and SIGINT stop it, SIGHUP re-reads the
 * config (keeping the old one when the new one has errors) and reopens
 * the log file.
 *
 * struct serve owns the loop, the signal handles and the config; the
 * handles are closed before the loop is, as libuv requires.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/counters.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/smtp_server.h"
#include "core/spool.h"
#include "tls/tls.h"

struct serve {
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	struct config *cfg;
	const struct cli *cli;
	struct spool *spool;
	struct smtp_server *smtp;
	int stop_signal;
};

static void serve_close_cb(uv_handle_t *h)
{
	(void)h;
}

static void serve_close_signals(struct serve *s)
{
	uv_close((uv_handle_t *)&s->sig_term, serve_close_cb);
	uv_close((uv_handle_t *)&s->sig_int, serve_close_cb);
	uv_close((uv_handle_t *)&s->sig_hup, serve_close_cb);
}

static void serve_smtp_stopped(void *arg)
{
	struct serve *s = arg;

	s->smtp = NULL;
	serve_close_signals(s);
}

/* serve_stop - stop accepting; the loop ends when the last session has
 * finished its commit and closed */
static void serve_stop(struct serve *s)
{
	if (s->smtp)
		smtp_server_stop(s->smtp, serve_smtp_stopped, s);
	else
		serve_close_signals(s);
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
		if (s->smtp)
			smtp_server_reload(s->smtp, cfg);
		config_release(s->cfg);
		s->cfg = cfg;
		log_info("SIGHUP: reloaded %s", s->cli->config_file);
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

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct serve s;
	char err[512];
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
		config_free(s.cfg);
		return EX_CANTCREAT_;
	}
	if ((r = spool_open(s.cfg->main.spool_directory, 1, &s.spool, err, sizeof(err))) < 0) {
		log_err("spool: %s", err);
		fprintf(stderr, "tern: spool: %s\n", err);
		rc = EX_CANTCREAT_;
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
	if ((r = uv_loop_init(&s.loop)) < 0) {
		log_err("cannot start the event loop: %s", uv_strerror(r));
		goto out_cfg;
	}
	if ((r = serve_signal_start(&s, &s.sig_term, SIGTERM)) < 0 ||
	    (r = serve_signal_start(&s, &s.sig_int, SIGINT)) < 0 ||
	    (r = serve_signal_start(&s, &s.sig_hup, SIGHUP)) < 0) {
		log_err("cannot watch signals: %s", uv_strerror(r));
		uv_walk(&s.loop, (uv_walk_cb)uv_close, NULL);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		goto out_loop;
	}
	if (IS_ENABLED(CONFIG_SMTP_SERVER) &&
	    (r = smtp_server_start(&s.loop, s.cfg, s.spool, NULL, NULL, &s.smtp,
	    err, sizeof(err))) < 0) {
		log_err("%s", err);
		fprintf(stderr, "tern: %s\n", err);
		serve_close_signals(&s);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		rc = EX_UNAVAILABLE_;
		goto out_loop;
	}
	log_info("tern %s daemon started: pid %ld, config %s", TERN_VERSION,
	    (long)getpid(), cli->config_file);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	if (IS_ENABLED(CONFIG_DEBUG_COUNTERS)) {
		char buf[512];
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		if (f) {
			counters_print(f);
			fclose(f);
			buf[sizeof(buf) - 1] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			log_info("counters: %s", buf);
		}
	}
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
