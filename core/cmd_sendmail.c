/*
 * cmd_sendmail.c - tern called as sendmail or mailq (CONFIG_SENDMAIL):
 * the sendmail command line that scripts and cron expect.
 *
 *   sendmail [flags] [RCPT...]   -t -i -oi -f -F -r -bp -bs -bV -bm -bi -q
 *                                -odb -odi -odq -oem -oee -oep -oeq -oew
 *                                -om -oo -v -B -N -R -V -U -G -h -L -C
 *   mailq                        = tern queue list
 * Flags sendmail users rely on work; flags that make no sense here (-bd,
 * -bt, -qR...) are refused with a message, never silently ignored.
 */
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/send.h"

int cmd_sendmail(struct cli *cli, int argc, char **argv)
{
	struct send_opts o = { 0, 1, 'b', NULL, NULL, 0 };
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int i;

	if (strcmp(prog, "mailq") == 0) {
		char *q[] = { "queue", "list", NULL };

		/* mailq [-C FILE] [-v] */
		for (i = 1; i < argc; i++) {
			if (strncmp(argv[i], "-C", 2) == 0) {
				const char *v = send_opt_arg(argc, argv, &i, argv[i] + 2);

				if (!v)
					goto bad_mailq;
				cli->config_file = v;
			} else if (strcmp(argv[i], "-v") != 0) {
				goto bad_mailq;
			}
		}
		return cmd_queue(cli, 2, q);
bad_mailq:
		fprintf(stderr, "usage: mailq [-C FILE]\n");
		return EX_USAGE_;
	}
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		switch (a[1]) {
		case 't':
			if (a[2])
				goto bad;
			o.extract = 1;
			break;
		case 'i':
			if (a[2])
				goto bad;
			o.dot_ends = 0;
			break;
		case 'f':
		case 'r':
		case 'F': {
			const char *v = send_opt_arg(argc, argv, &i, a + 2);

			if (!v) {
				fprintf(stderr, "sendmail: %s needs an argument\n", a);
				return EX_USAGE_;
			}
			if (a[1] == 'F')
				o.fullname = v;
			else
				o.sender = v;
			break;
		}
		case 'C': {	/* -C FILE: our config, as sendmail's */
			const char *v = send_opt_arg(argc, argv, &i, a + 2);

			if (!v)
				goto bad;
			cli->config_file = v;
			break;
		}
		case 'o':
			if (strcmp(a, "-oi") == 0)
				o.dot_ends = 0;
			else if (strcmp(a, "-odb") == 0 || strcmp(a, "-odi") == 0 ||
			    strcmp(a, "-odq") == 0)
				o.mode = a[3];
			else if (a[2] == 'e' || strcmp(a, "-om") == 0 ||
			    strcmp(a, "-oo") == 0 || a[2] == 'B' || a[2] == 'Q' ||
			    a[2] == 'L' || a[2] == 'A')
				;	/* error mode, me too, old headers: ignored */
			else
				goto bad;
			break;
		case 'b':
			if (strcmp(a, "-bm") == 0)
				break;
			if (strcmp(a, "-bp") == 0) {
				char *q[] = { "queue", "list", NULL };

				return cmd_queue(cli, 2, q);
			}
			if (strcmp(a, "-bV") == 0) {
				char *v[] = { "version", NULL };

				return cmd_version(cli, 1, v);
			}
			if (strcmp(a, "-bs") == 0) {
				o.smtp_stdio = 1;
				break;
			}
			if (strcmp(a, "-bi") == 0) {
				/* newaliases: aliases live in tern.conf */
				return EXIT_OK;
			}
			fprintf(stderr, "sendmail: %s is not supported by tern "
			    "(the daemon is `tern serve`)\n", a);
			return EX_USAGE_;
		case 'q': {
			char *q[] = { "queue", "run", NULL };

			if (a[2] && (a[2] < '0' || a[2] > '9')) {
				fprintf(stderr, "sendmail: %s is not supported by tern\n", a);
				return EX_USAGE_;
			}
			return cmd_queue(cli, 2, q);
		}
		case 'v':
		case 'U':
		case 'G':
			if (a[2])
				goto bad;
			break;
		case 'B':
		case 'N':
		case 'R':
		case 'V':
		case 'h':
		case 'L':
			/* body type, DSN notify/ret/envid, hop count, label:
			 * accepted, not used for local submissions */
			if (!send_opt_arg(argc, argv, &i, a + 2))
				goto bad;
			break;
		default:
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "sendmail: unknown or incomplete option %s (see tern(8))\n", a);
		return EX_USAGE_;
	}
	if (o.smtp_stdio)
		return send_smtp_stdio(cli);
	return send_run(cli, &o, argv + i, argc - i);
}
