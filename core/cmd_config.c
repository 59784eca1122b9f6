/*
 * cmd_config.c - `tern config check|show`: validate tern.conf (errors name
 * file:line, exit 78 = EX_CONFIG) or print the effective configuration.
 */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"

int cmd_config(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;

	if (argc >= 2 && strcmp(argv[1], "from-uci") == 0)
		return cmd_config_uci(argc - 1, argv + 1);
	if (argc != 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "show") != 0)) {
		fprintf(stderr, "usage: tern [-C FILE] config check|show | from-uci [FILE]\n");
		return EX_USAGE_;
	}
	cfg = cli_config_load(cli);
	if (!cfg)
		return EX_CONFIG_;
	if (strcmp(argv[1], "show") == 0)
		config_show(cfg, stdout);
	else
		printf("%s: ok\n", cli->config_file);
	config_free(cfg);
	return ferror(stdout) ? EX_IOERR_ : EXIT_OK;
}
