/*
 * send.h - local submission, shared by `tern send` (cmd_send.c) and the
 * sendmail command line (cmd_sendmail.c).
 */
#ifndef TERN_SEND_H
#define TERN_SEND_H

struct cli;

struct send_opts {
	int extract;		/* -t */
	int dot_ends;		/* not -i */
	char mode;		/* 'b', 'i', 'q' of -od */
	const char *sender;	/* -f, -r */
	const char *fullname;	/* -F */
	int smtp_stdio;		/* -bs */
};

/* send_run - queue one message read from stdin; a sysexits code */
int send_run(struct cli *cli, const struct send_opts *o, char **rcpts, int n);
/* send_smtp_stdio - sendmail -bs */
int send_smtp_stdio(struct cli *cli);
/* send_opt_arg - the argument of -fX or -f X; NULL when missing */
const char *send_opt_arg(int argc, char **argv, int *i, const char *rest);

#endif
