/*
 * main.c - entry point: global options, then one subcommand (cli.h).
 *
 *   tern [-C FILE] COMMAND [ARGS...]
 * The default config file is SYSCONFDIR/tern.conf. Called as sendmail or
 * mailq (argv[0]), tern speaks the sendmail command line instead.
 */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/kconfig.h"
#ifdef TERN_ALLOC_FAULT
#include "tests/unit/alloc_fail.h"	/* the fault injector (make oom-check) */
#endif

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	int built;
	const char *symbol;	/* the Kconfig symbol when not built */
};

static const struct cli_cmd cli_cmds[] = {
	{ "version", cmd_version, 1, NULL },
	{ "config", cmd_config, 1, NULL },
	{ "serve", cmd_serve, 1, NULL },
	{ "send", cmd_send, 1, NULL },
	{ "queue", cmd_queue, 1, NULL },
	{ "route", cmd_route, 1, NULL },
	{ "dane", cmd_dane, 1, NULL },	/* a stub says when it is not built */
};

static void cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: tern [-C FILE] serve\n"
	    "       tern [-C FILE] send [-odb|-odi|-odq] [-f SENDER] [-F NAME] [-t] [-i] [RCPT...]\n"
	    "       tern [-C FILE] queue [list] | run | remove ID...\n"
	    "       tern [-C FILE] route ADDRESS...\n"
	    "       tern [-C FILE] config check|show | from-uci [FILE]\n"
	    "       tern dane verify --name NAME... --tlsa \"U S M HEX\"... --chain FILE.pem [--time T]\n"
	    "       tern [-C FILE] dane probe HOST [PORT]\n"
	    "       tern version [-v]\n"
	    "Config file: -C FILE, default %s/tern.conf. See tern(8).\n",
	    TERN_SYSCONFDIR);
}

struct config *cli_config_load(const struct cli *cli)
{
	return config_load(cli->config_file, stderr);
}

int main(int argc, char **argv)
{
	struct cli cli = { TERN_SYSCONFDIR "/tern.conf", 0, 0 };
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	size_t i;
	int a = 1;

#ifdef TERN_ALLOC_FAULT
	/* make oom-check: TERN_ALLOC_FAIL_CLI=N fails a command's Nth allocation */
	(void)alloc_fail_env("TERN_ALLOC_FAIL_CLI");	/* -1: not set, nothing fails */
#endif

	/* sendmail and mailq: the sendmail command line */
	if (strcmp(prog, "sendmail") == 0 || strcmp(prog, "mailq") == 0) {
		if (!IS_ENABLED(CONFIG_SENDMAIL)) {
			fprintf(stderr, "%s: not in this build (CONFIG_SENDMAIL is off); "
			    "use tern send\n", prog);
			return EX_UNAVAILABLE_;
		}
		return cmd_sendmail(&cli, argc, argv);
	}
	while (a < argc && argv[a][0] == '-') {
		if (strcmp(argv[a], "-C") == 0 && a + 1 < argc) {
			cli.config_file = argv[a + 1];
			cli.config_given = 1;
			a += 2;
		} else if (strcmp(argv[a], "-v") == 0) {
			cli.verbose = 1;
			a++;
		} else if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
			cli_usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[a], "--version") == 0) {
			char *v[] = { "version", NULL };

			return cmd_version(&cli, 1, v);
		} else {
			fprintf(stderr, "tern: unknown option %s\n", argv[a]);
			cli_usage(stderr);
			return EX_USAGE_;
		}
	}
	if (a >= argc) {
		cli_usage(stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[a], "help") == 0) {
		cli_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++) {
		if (strcmp(argv[a], cli_cmds[i].name) != 0)
			continue;
		if (!cli_cmds[i].built) {
			fprintf(stderr, "tern: %s: not in this build (%s is off)\n",
			    argv[a], cli_cmds[i].symbol);
			return EX_UNAVAILABLE_;
		}
		return cli_cmds[i].run(&cli, argc - a, argv + a);
	}
	fprintf(stderr, "tern: unknown command '%s'\n", argv[a]);
	cli_usage(stderr);
	return EX_USAGE_;
}
