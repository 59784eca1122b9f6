/*
 * log.h - the main log, in Exim's form so existing log tools work:
 * "2026-11-25 10:00:00 <id> <= sender H=... P=esmtp S=123".
 *
 * One process-wide log (like syslog itself): log_open() chooses a file path,
 * "syslog" or "stderr"; log_reopen() reopens a file after rotation
 * (SIGHUP). Each line goes out in one write() to an O_APPEND file, so the
 * lines of concurrent tern processes never interleave.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

enum log_level { LOG_L_INFO, LOG_L_WARN, LOG_L_ERR };

/* log_open - target is a path, "syslog", "stderr" or "none";
 * 0, or -errno with nothing changed */
int log_open(const char *target);
int log_reopen(void);
void log_close(void);
/* log_target - what log_open was given ("stderr" before any open) */
const char *log_target(void);

void log_msg(enum log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
#define log_info(...) log_msg(LOG_L_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_L_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_L_ERR, __VA_ARGS__)

#endif
