/*
 * send_socket.c - hand a locally submitted message to the running daemon
 * over its local_socket (send_socket.h), for users who may not write the
 * private spool. The daemon speaks plain SMTP there, knows the user from
 * the socket's peer credentials, and lets local users relay.
 *
 * Blocking I/O: this runs in the short-lived sendmail process, never in
 * the daemon. Data is dot-stuffed here (RFC 5321 4.5.2); what comes in is
 * already CRLF text from submit.c.
 */
#include "core/send_socket.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/smtp_reply.h"

struct send_sock {
	int fd;
	int line_start;			/* the next data byte starts a line */
	char buf[SMTP_REPLY_MAX];
	size_t len;
};

static int sock_write(struct send_sock *k, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(k->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* sock_reply - read one reply; its code, or a negative errno */
static int sock_reply(struct send_sock *k, char *text, size_t textlen)
{
	for (;;) {
		struct smtp_reply r;
		const char *why;
		long n = smtp_reply_parse(k->buf, k->len, &r, &why);
		ssize_t got;

		if (n > 0) {
			int code = r.code;

			snprintf(text, textlen, "%d %.*s", r.code, (int)r.textlen, r.text);
			memmove(k->buf, k->buf + n, k->len - (size_t)n);
			k->len -= (size_t)n;
			return code;
		}
		if (n < 0) {
			snprintf(text, textlen, "bad reply from the daemon: %s", why);
			return -EPROTO;
		}
		if (k->len == sizeof(k->buf)) {
			snprintf(text, textlen, "reply from the daemon too long");
			return -EPROTO;
		}
		got = read(k->fd, k->buf + k->len, sizeof(k->buf) - k->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			snprintf(text, textlen, "the daemon closed the connection");
			return got < 0 ? -errno : -ECONNRESET;
		}
		k->len += (size_t)got;
	}
}

/* sock_cmd - send a command, read its reply; the code or -errno */
static int sock_cmd(struct send_sock *k, char *text, size_t textlen,
    const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		snprintf(text, textlen, "command too long");
		return -E2BIG;
	}
	memcpy(line + n, "\r\n", 2);
	if ((r = sock_write(k, line, (size_t)n + 2)) < 0) {
		snprintf(text, textlen, "cannot write to the daemon: %s", strerror(-r));
		return r;
	}
	return sock_reply(k, text, textlen);
}

int send_sock_open(const char *path, struct send_sock **out, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct send_sock *k;
	int code;

	*out = NULL;
	if (!path[0] || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "no usable local_socket");
		return -EINVAL;
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	k->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (k->fd < 0 || connect(k->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot reach the daemon at %s: %s", path, strerror(e));
		send_sock_close(k);
		return -e;
	}
	k->line_start = 1;
	if ((code = sock_reply(k, err, errlen)) != 220 ||
	    (code = sock_cmd(k, err, errlen, "EHLO localhost")) != 250) {
		send_sock_close(k);
		return code < 0 ? code : -EPROTO;
	}
	*out = k;
	return 0;
}

int send_sock_envelope(struct send_sock *k, const char *sender,
    char *const *rcpts, size_t n, char *err, size_t errlen)
{
	size_t i;
	int code;

	if ((code = sock_cmd(k, err, errlen, "MAIL FROM:<%s>", sender)) != 250)
		return code < 0 ? code : code;
	for (i = 0; i < n; i++)
		if ((code = sock_cmd(k, err, errlen, "RCPT TO:<%s>", rcpts[i])) != 250)
			return code;
	code = sock_cmd(k, err, errlen, "DATA");
	return code == 354 ? 0 : code;
}

int send_sock_write(struct send_sock *k, const char *p, size_t n)
{
	size_t i, start = 0;
	int r;

	for (i = 0; i < n; i++) {
		if (k->line_start && p[i] == '.') {
			/* dot-stuffing: the dot is sent twice */
			if ((r = sock_write(k, p + start, i - start)) < 0 ||
			    (r = sock_write(k, ".", 1)) < 0)
				return r;
			start = i;
		}
		k->line_start = p[i] == '\n';
	}
	return sock_write(k, p + start, n - start);
}

int send_sock_finish(struct send_sock *k, char *err, size_t errlen)
{
	int code, r;

	r = sock_write(k, k->line_start ? ".\r\n" : "\r\n.\r\n", k->line_start ? 3 : 5);
	if (r < 0) {
		snprintf(err, errlen, "cannot write to the daemon: %s", strerror(-r));
		return r;
	}
	if ((code = sock_reply(k, err, errlen)) != 250)
		return code;
	{
		char bye[256];

		(void)sock_cmd(k, bye, sizeof(bye), "QUIT");
	}
	return 0;
}

void send_sock_close(struct send_sock *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}
