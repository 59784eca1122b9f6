/*
 * cmd_queue.c - `tern queue [list]`, `tern queue remove ID...` (and mailq,
 * sendmail -bp). The listing reads the spool without locking, like mailq:
 *
 *    5m   1.2K 1xW4IE-0008At-2XuG <alice@example.net>
 *             bob@example.org
 *               (451 4.3.0 try later; next try in 10m)
 *
 * Age, size, ID, sender, then each recipient still pending with its last
 * error, as Exim's mailq shows them.
 *
 * `tern queue run` (sendmail -q) tries every queued message now, whatever
 * its retry time, and returns when the attempts are over; it runs its own
 * delivery engine, so it works with or without a daemon (the message
 * locks keep the two from delivering one message twice at once).
 * queue_deliver_ids() does the same for a list of IDs (sendmail -odi).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/deliver.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/spool.h"
#include "tls/tls.h"

/* queue_age - "45s", "12m", "3h", "2d" */
static void queue_age(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, len, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%lldm", secs / 60);
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%lldh", secs / 3600);
	else
		snprintf(buf, len, "%lldd", secs / 86400);
}

static void queue_size(long long n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%lld", n);
	else if (n < 10 * 1024)
		snprintf(buf, len, "%lld.%lldK", n / 1024, (n % 1024) * 10 / 1024);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%lldK", n / 1024);
	else
		snprintf(buf, len, "%lld.%lldM", n / (1024 * 1024),
		    (n % (1024 * 1024)) * 10 / (1024 * 1024));
}

static int queue_open(struct cli *cli, struct config **cfg, struct spool **sp)
{
	char err[512];
	int r;

	*sp = NULL;
	*cfg = cli_config_load(cli);
	if (!*cfg)
		return EX_CONFIG_;
	if ((r = spool_owner_check((*cfg)->main.spool_directory, (*cfg)->main.user, err,
	    sizeof(err))) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		config_release(*cfg);
		return EX_NOPERM_;
	}
	if ((r = spool_owner_become((*cfg)->main.spool_directory)) < 0) {
		fprintf(stderr, "tern: cannot act as the spool's owner: %s\n", strerror(-r));
		config_release(*cfg);
		return EX_OSERR_;
	}
	r = spool_open((*cfg)->main.spool_directory, 0, sp, err, sizeof(err));
	if (r == -ENOENT) {
		/* no spool yet: an empty queue */
		return EXIT_OK;
	}
	if (r < 0) {
		fprintf(stderr, "tern: %s\n", err);
		config_release(*cfg);
		return r == -EACCES || r == -EPERM ? EX_NOPERM_ : EX_TEMPFAIL_;
	}
	return EXIT_OK;
}

static int queue_list(struct cli *cli)
{
	struct config *cfg;
	struct spool *sp;
	char **ids = NULL;
	size_t n = 0, i, shown = 0;
	long long now = (long long)time(NULL);
	int rc;

	if ((rc = queue_open(cli, &cfg, &sp)) != EXIT_OK)
		return rc;
	if (sp && spool_list(sp, &ids, &n) < 0) {
		fprintf(stderr, "tern: cannot read the queue: %s\n", strerror(errno));
		rc = EX_TEMPFAIL_;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct spool_msg *m;
		char err[256], age[32], size[32];
		size_t k;

		if (spool_msg_open(sp, ids[i], 0, &m, err, sizeof(err)) < 0) {
			if (!strstr(err, "No such file"))
				printf("%30s %s: unreadable: %s\n", "", ids[i], err);
			continue;
		}
		queue_age(now - m->env->arrival, age, sizeof(age));
		queue_size(m->data_size, size, sizeof(size));
		printf("%4s %6s %s <%s>%s\n", age, size, m->id, m->env->sender,
		    m->bounced ? " (bounce sent)" : "");
		for (k = 0; k < m->env->n_rcpt; k++) {
			const struct spool_rcpt *r = &m->env->rcpt[k];

			if (r->state != SPOOL_RCPT_PENDING)
				continue;
			printf("            %s\n", r->addr);
			if (r->last_error) {
				char next[32] = "";

				if (r->next_retry > now)
					queue_age(r->next_retry - now, next, sizeof(next));
				printf("              (%s%s%s)\n", r->last_error,
				    next[0] ? "; next try in " : "", next);
			}
		}
		printf("\n");
		shown++;
		spool_msg_close(m);
	}
	if (shown == 0)
		printf("Mail queue is empty\n");
	else
		printf("%zu message%s in the queue\n", shown, shown == 1 ? "" : "s");
	rc = ferror(stdout) ? EX_IOERR_ : EXIT_OK;
out:
	spool_list_free(ids, n);
	spool_close(sp);
	config_release(cfg);
	return rc;
}

static int queue_remove(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct spool *sp;
	int i, rc, bad = 0;

	if ((rc = queue_open(cli, &cfg, &sp)) != EXIT_OK)
		return rc;
	if (!sp) {
		fprintf(stderr, "tern: the queue is empty\n");
		config_release(cfg);
		return EX_DATAERR_;
	}
	if (strcmp(cfg->main.log_file, "stderr") == 0 || log_open(cfg->main.log_file) < 0)
		(void)log_open("none");
	for (i = 0; i < argc; i++) {
		struct spool_msg *m = NULL;
		char err[256] = "";
		int r = spool_msg_open(sp, argv[i], 1, &m, err, sizeof(err));
		int opened = r == 0;

		if (opened) {
			r = spool_msg_remove(m);
			spool_msg_close(m);
		}
		if (r == 0) {
			log_info("%s removed by %s", argv[i], getlogin() ? getlogin() : "root");
			printf("%s removed\n", argv[i]);
		} else {
			fprintf(stderr, "tern: %s: %s\n", argv[i], r == -EAGAIN ?
			    "being delivered now; try again" : opened ? strerror(-r) : err);
			bad = 1;
		}
	}
	log_close();
	spool_close(sp);
	config_release(cfg);
	return bad ? EX_DATAERR_ : EXIT_OK;
}

static void queue_idle_cb(void *arg)
{
	uv_stop(arg);
}

static void queue_deliver_done(void *arg)
{
	(void)arg;
}

int queue_deliver(const struct config *cfgc, char *const *ids, size_t n)
{
	struct config *cfg = (struct config *)cfgc;
	struct deliver *d = NULL;
	struct spool *sp = NULL;
	uv_loop_t loop;
	char err[512];
	size_t i;
	int r;

	if ((r = spool_owner_check(cfg->main.spool_directory, cfg->main.user, err,
	    sizeof(err))) < 0) {
		fprintf(stderr, "tern: %s\n", err);
		return EX_NOPERM_;
	}
	if ((r = spool_owner_become(cfg->main.spool_directory)) < 0 ||
	    (r = spool_open(cfg->main.spool_directory, 0, &sp, err, sizeof(err))) < 0) {
		if (r == -ENOENT)
			return EXIT_OK;	/* no spool: nothing queued */
		fprintf(stderr, "tern: %s\n", err);
		return r == -EACCES || r == -EPERM ? EX_NOPERM_ : EX_TEMPFAIL_;
	}
	if (IS_ENABLED(CONFIG_TLS) && tls_rng_init() != 0) {
		spool_close(sp);
		return EX_SOFTWARE_;
	}
	if (uv_loop_init(&loop) < 0) {
		spool_close(sp);
		return EX_OSERR_;
	}
	if (deliver_new(&loop, cfg, sp, &d) < 0) {
		/* out of memory */
		(void)uv_loop_close(&loop);
		spool_close(sp);
		return EX_TEMPFAIL_;
	}
	deliver_on_idle(d, queue_idle_cb, &loop);
	if (ids)
		for (i = 0; i < n; i++)
			deliver_message(d, ids[i]);
	else
		deliver_queue_run(d, 1);
	if (deliver_busy(d))
		uv_run(&loop, UV_RUN_DEFAULT);
	deliver_on_idle(d, NULL, NULL);
	deliver_stop(d, queue_deliver_done, NULL);
	/* a uv_stop made before uv_run ran only ends that first run */
	do
		(void)uv_run(&loop, UV_RUN_DEFAULT);
	while (uv_loop_alive(&loop));
	(void)uv_loop_close(&loop);
	spool_close(sp);
	return EXIT_OK;
}

static int queue_run(struct cli *cli)
{
	struct config *cfg = cli_config_load(cli);
	int rc;

	if (!cfg)
		return errno == ENOMEM ? EX_TEMPFAIL_ : EX_CONFIG_;
	if (strcmp(cfg->main.log_file, "stderr") != 0 && log_open(cfg->main.log_file) < 0)
		(void)log_open("none");
	rc = queue_deliver(cfg, NULL, 0);
	log_close();
	config_release(cfg);
	return rc;
}

int cmd_queue(struct cli *cli, int argc, char **argv)
{
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "list") == 0))
		return queue_list(cli);
	if (argc >= 3 && strcmp(argv[1], "remove") == 0)
		return queue_remove(cli, argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "run") == 0)
		return queue_run(cli);
	fprintf(stderr, "usage: tern [-C FILE] queue [list] | run | remove ID...\n");
	return EX_USAGE_;
}
