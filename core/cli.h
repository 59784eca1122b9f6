/*
 * cli.h - the subcommands of the tern binary (DESIGN.md "Command line").
 *
 * main() parses the global options (-C FILE), then calls one command with
 * the remaining arguments (argv[0] is the command name). Each command
 * returns a sysexits.h code.
 */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include <stdio.h>

#include "core/kconfig.h"

struct config;

/* sysexits.h values, spelled out so the code does not depend on the header */
enum {
	EXIT_OK = 0, EX_USAGE_ = 64, EX_DATAERR_ = 65, EX_NOINPUT_ = 66,
	EX_UNAVAILABLE_ = 69, EX_SOFTWARE_ = 70, EX_OSERR_ = 71,
	EX_CANTCREAT_ = 73, EX_IOERR_ = 74, EX_TEMPFAIL_ = 75, EX_NOPERM_ = 77,
	EX_CONFIG_ = 78
};

struct cli {
	const char *config_file;	/* -C, or the default */
	int config_given;		/* -C was on the command line */
	int verbose;
};

/* cli_config_load - load cli->config_file, printing errors; NULL on error */
struct config *cli_config_load(const struct cli *cli);

int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_send(struct cli *cli, int argc, char **argv);
int cmd_queue(struct cli *cli, int argc, char **argv);
int cmd_route(struct cli *cli, int argc, char **argv);
/* cmd_sendmail - tern called as sendmail or mailq (argv[0]) */
#ifdef CONFIG_SENDMAIL
int cmd_sendmail(struct cli *cli, int argc, char **argv);
#else
static inline int cmd_sendmail(struct cli *cli, int argc, char **argv)
{ (void)cli; (void)argc; (void)argv; return EX_UNAVAILABLE_; }
#endif

/* cmd_config_uci - `tern config from-uci [FILE]` (CONFIG_UCI); argv[0]
 * is "from-uci" */
#ifdef CONFIG_UCI
int cmd_config_uci(int argc, char **argv);
#else
static inline int cmd_config_uci(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "tern: config from-uci is not in this build (CONFIG_UCI)\n");
	return EX_UNAVAILABLE_;
}
#endif

/* cmd_dane - `tern dane verify|probe` (CONFIG_TLS_DANE) */
#ifdef CONFIG_TLS_DANE
int cmd_dane(struct cli *cli, int argc, char **argv);
#else
static inline int cmd_dane(struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "tern: dane is not in this build (CONFIG_TLS_DANE)\n");
	return EX_UNAVAILABLE_;
}
#endif
/* dane_probe_main - `tern dane probe HOST [PORT]`, called by cmd_dane
 * with argv[0] "probe" (CONFIG_TLS_DANE_PROBE) */
#ifdef CONFIG_TLS_DANE_PROBE
int dane_probe_main(struct cli *cli, int argc, char **argv);
#else
static inline int dane_probe_main(struct cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	fprintf(stderr, "tern: dane probe is not in this build\n");
	return EX_UNAVAILABLE_;
}
#endif

/* queue_deliver - run a delivery engine in this process until the given
 * messages (ids NULL: the whole queue, retry times ignored) have had
 * their attempt; a sysexits code */
int queue_deliver(const struct config *cfg, char *const *ids, size_t n);

/* version_modules - "sendmail smtp-server ..." of this build */
const char *version_modules(char *buf, size_t len);

#endif
