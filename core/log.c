/*
 * log.c - main log to a file, syslog or standard error (log.h).
 *
 * Time stamps are local time, "YYYY-MM-DD HH:MM:SS", as Exim writes them;
 * syslog adds its own, so it gets the text alone. Lines are capped at
 * LOG_LINE_MAX bytes; control characters from peers are written as "?" so
 * no input can forge a log line.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/kconfig.h"

#define LOG_LINE_MAX 4096

enum log_kind { LOG_K_STDERR, LOG_K_FILE, LOG_K_SYSLOG, LOG_K_NONE };

static struct {
	enum log_kind kind;
	int fd;
	char target[1024];
} log_state = { LOG_K_STDERR, 2, "stderr" };

/* log_file_open - open path for appending, close-on-exec */
static int log_file_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	return fd < 0 ? -errno : fd;
}

int log_open(const char *target)
{
	int fd;

	if (strlen(target) >= sizeof(log_state.target))
		return -ENAMETOOLONG;
	if (strcmp(target, "stderr") == 0) {
		log_close();
		log_state.kind = LOG_K_STDERR;
		log_state.fd = 2;
	} else if (strcmp(target, "none") == 0) {
		log_close();
		log_state.kind = LOG_K_NONE;
		log_state.fd = -1;
	} else if (strcmp(target, "syslog") == 0) {
		if (!IS_ENABLED(CONFIG_LOG_SYSLOG))
			return -ENOTSUP;
		log_close();
		openlog("tern", LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_state.kind = LOG_K_SYSLOG;
		log_state.fd = -1;
	} else {
		if (target[0] != '/')
			return -EINVAL;
		if ((fd = log_file_open(target)) < 0)
			return fd;
		log_close();
		log_state.kind = LOG_K_FILE;
		log_state.fd = fd;
	}
	memcpy(log_state.target, target, strlen(target) + 1);
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (log_state.kind != LOG_K_FILE)
		return 0;
	if ((fd = log_file_open(log_state.target)) < 0)
		return fd;	/* keep writing to the old file */
	close(log_state.fd);
	log_state.fd = fd;
	return 0;
}

void log_close(void)
{
	if (log_state.kind == LOG_K_FILE && log_state.fd >= 0)
		close(log_state.fd);
	if (log_state.kind == LOG_K_SYSLOG)
		closelog();
	log_state.kind = LOG_K_STDERR;
	log_state.fd = 2;
	memcpy(log_state.target, "stderr", sizeof("stderr"));
}

const char *log_target(void)
{
	return log_state.target;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t off = 0, i, start;
	va_list ap;
	int n;

	if (log_state.kind != LOG_K_SYSLOG) {
		time_t now = time(NULL);
		struct tm tm;

		if (localtime_r(&now, &tm))
			off = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
	}
	start = off;
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || log_state.kind == LOG_K_NONE)
		return;
	off += (size_t)n < sizeof(line) - off - 1 ? (size_t)n : sizeof(line) - off - 2;
	for (i = start; i < off; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (log_state.kind == LOG_K_SYSLOG) {
		line[off] = '\0';
		syslog(lvl == LOG_L_ERR ? LOG_ERR : lvl == LOG_L_WARN ? LOG_WARNING :
		    LOG_INFO, "%s", line);
		return;
	}
	line[off++] = '\n';
	/* One write per line; a short write to a log is not worth a retry loop
	 * that could block the event loop, but EINTR is retried. */
	while (write(log_state.fd, line, off) < 0 && errno == EINTR)
		;
}
