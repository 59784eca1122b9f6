/*
 * event_run.c - firing events (event.h): the JSON log action and the
 * exec action. A program runs directly (never through a shell) with a
 * clean environment holding the event's variables, as an unprivileged
 * user when tern runs as root, with a time limit; its trimmed standard
 * output (the first EVENT_RESULT_MAX octets; more is read and dropped) is
 * the result (an action that writes more, fails or times out has none). At most CONFIG_EVENTS_MAX_RUNNING run at once; later ones
 * wait in a bounded queue. Nothing here blocks the loop but the append
 * of one log line.
 *
 * Ownership: the runner owns its jobs; a job owns copies of its argv and
 * environment, so the caller's variables are only borrowed during
 * event_fire(). A result callback runs exactly once for every fire that
 * returned 1.
 */
#include "events/event.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/kconfig.h"
#include "core/log.h"

#define EVENT_QUEUE_MAX 256		/* actions waiting to run at most */
#define EVENT_ARGS_MAX 16

#ifndef CONFIG_EVENTS_MAX_RUNNING
#define CONFIG_EVENTS_MAX_RUNNING 4
#endif

struct event_job {
	struct event_runner *r;
	struct event_job *next;		/* in the queue */
	enum event_id id;
	char **argv, **env;		/* owned, NULL-terminated */
	uid_t uid;
	gid_t gid;
	int setid;
	long long timeout_ms;
	event_result_cb cb;
	void *arg;
	unsigned long token;
	/* running */
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int handles;			/* open handles */
	int exited, timed_out;
	long long status;
	int term_signal;
	char result[EVENT_RESULT_MAX + 1];
	size_t rlen;
	size_t dropped;			/* output beyond the result */
};

struct event_runner {
	uv_loop_t *loop;
	unsigned running;
	struct event_job *queue, **queue_tail;
	unsigned queued;
	int closing;
};

static void event_strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void event_job_free(struct event_job *j)
{
	event_strv_free(j->argv);
	event_strv_free(j->env);
	free(j);
}

/* ------------------------------------------------------------ log */

/* event_json_str - s as a JSON string into f */
static void event_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* event_log_line - one JSON object for the event into a heap string */
static char *event_log_line(enum event_id id, const struct event_var *v, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "{\"time\":%lld,\"event\":", (long long)time(NULL));
	event_json_str(f, event_def_get(id)->name);
	for (i = 0; i < n; i++) {
		if (!v[i].value)
			continue;
		fputc(',', f);
		event_json_str(f, v[i].name);
		fputc(':', f);
		event_json_str(f, v[i].value);
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* event_log - the event_log action: append a line to the file, or syslog */
static void event_log(const char *where, enum event_id id, const struct event_var *v,
    size_t n)
{
	char *line;
	int fd = -1;

	if (!IS_ENABLED(CONFIG_EVENTS_LOG) || !where || !where[0])
		return;
	if (!(line = event_log_line(id, v, n))) {
		log_err("event %s: event_log: out of memory", event_def_get(id)->name);
		return;
	}
	if (strcmp(where, "syslog") == 0) {
		line[strlen(line) - 1] = '\0';
		syslog(LOG_MAIL | LOG_INFO, "%s", line);
	} else if ((fd = open(where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		log_err("event_log %s: %s", where, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	free(line);
}

/* ------------------------------------------------------------ exec */

static void event_run_next(struct event_runner *r);

/* event_job_done - every handle of a job is closed: report, free */
static void event_job_done(struct event_job *j)
{
	struct event_runner *r = j->r;
	const char *name = event_def_get(j->id)->name;
	char *s = j->result, *e;
	/* a result counts only from a program that ended well and said less
	 * than EVENT_RESULT_MAX: anything else is a broken action */
	int ok = j->exited && !j->timed_out && j->status == 0 && j->term_signal == 0 &&
	    !j->dropped;

	if (j->timed_out)
		log_warn("event %s: %s killed after %llds (event_timeout)", name,
		    j->argv[0], j->timeout_ms / 1000);
	else if (!ok)
		log_warn("event %s: %s failed (exit status %lld, signal %d): result "
		    "ignored", name, j->argv[0], j->status, j->term_signal);
	if (j->dropped)
		log_warn("event %s: %s wrote %zu octets more than the %d kept: result "
		    "ignored", name, j->argv[0], j->dropped, EVENT_RESULT_MAX);
	/* trim white space on both sides */
	j->result[j->rlen] = '\0';
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	if (j->cb)
		j->cb(j->arg, j->token, ok ? s : "");
	r->running--;
	event_job_free(j);
	if (r->closing) {
		if (r->running == 0)
			free(r);
		return;
	}
	event_run_next(r);
}

static void event_job_closed_cb(uv_handle_t *h)
{
	struct event_job *j = h->data;

	if (--j->handles == 0)
		event_job_done(j);
}

static void event_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct event_job *j = p->data;

	j->exited = 1;
	j->status = (long long)status;
	j->term_signal = sig;
	uv_timer_stop(&j->timer);
	uv_close((uv_handle_t *)&j->timer, event_job_closed_cb);
	uv_close((uv_handle_t *)p, event_job_closed_cb);
}

static void event_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char sink[4096];
	struct event_job *j = h->data;

	(void)suggested;
	if (j->rlen < EVENT_RESULT_MAX)
		*buf = uv_buf_init(j->result + j->rlen, (unsigned)(EVENT_RESULT_MAX - j->rlen));
	else
		*buf = uv_buf_init(sink, sizeof(sink));	/* read and dropped */
}

static void event_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct event_job *j = s->data;

	if (n < 0) {
		uv_close((uv_handle_t *)s, event_job_closed_cb);
		return;
	}
	if (buf->base == j->result + j->rlen)
		j->rlen += (size_t)n;
	else
		j->dropped += (size_t)n;
}

static void event_timeout_cb(uv_timer_t *t)
{
	struct event_job *j = t->data;

	j->timed_out = 1;
	(void)uv_process_kill(&j->proc, SIGKILL);
}

/* event_job_start - spawn; on failure the job is reported at once */
static void event_job_start(struct event_job *j)
{
	struct event_runner *r = j->r;
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	int e;

	r->running++;
	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	uv_pipe_init(r->loop, &j->out, 0);
	j->out.data = j->proc.data = j->timer.data = j;
	uv_timer_init(r->loop, &j->timer);
	j->handles = 2;		/* the pipe, the timer */
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&j->out;
	io[2].flags = UV_IGNORE;
	o.exit_cb = event_exit_cb;
	o.file = j->argv[0];
	o.args = j->argv;
	o.env = j->env;
	o.cwd = "/";
	o.stdio = io;
	o.stdio_count = 3;
	if (j->setid) {
		o.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
		o.uid = j->uid;
		o.gid = j->gid;
	}
	e = uv_spawn(r->loop, &j->proc, &o);
	if (e < 0) {
		log_err("event %s: cannot run %s: %s", event_def_get(j->id)->name,
		    j->argv[0], uv_strerror(e));
		j->exited = 1;
		j->status = 127;
		uv_close((uv_handle_t *)&j->out, event_job_closed_cb);
		uv_close((uv_handle_t *)&j->timer, event_job_closed_cb);
		return;
	}
	j->handles = 3;
	uv_read_start((uv_stream_t *)&j->out, event_alloc_cb, event_read_cb);
	uv_timer_start(&j->timer, event_timeout_cb, (uint64_t)j->timeout_ms, 0);
}

static void event_run_next(struct event_runner *r)
{
	while (r->queue && r->running < CONFIG_EVENTS_MAX_RUNNING) {
		struct event_job *j = r->queue;

		r->queue = j->next;
		if (!r->queue)
			r->queue_tail = &r->queue;
		r->queued--;
		event_job_start(j);
	}
}

/* event_argv - the action split at white space (no shell, no quoting) */
static char **event_argv(const char *action)
{
	char **v = calloc(EVENT_ARGS_MAX + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	while (*action && n < EVENT_ARGS_MAX) {
		size_t k;

		action += strspn(action, " \t");
		k = strcspn(action, " \t");
		if (!k)
			break;
		if (!(v[n] = strndup(action, k))) {
			event_strv_free(v);
			return NULL;
		}
		n++;
		action += k;
	}
	return v;
}

/* event_kv - "name=value" in a new string, or NULL */
static char *event_kv(const char *name, const char *value)
{
	size_t a = strlen(name), b = strlen(value);
	char *s = malloc(a + b + 2);

	if (s) {
		memcpy(s, name, a);
		s[a] = '=';
		memcpy(s + a + 1, value, b + 1);
	}
	return s;
}

/* event_env - PATH, EVENT_NAME and the variables as NAME=value */
static char **event_env(enum event_id id, const struct event_var *v, size_t n)
{
	char **e = calloc(n + 3, sizeof(*e));
	size_t k = 0, i;

	if (!e)
		return NULL;
	if (!(e[k++] = strdup("PATH=/usr/local/bin:/usr/bin:/bin")))
		goto fail;
	if (!(e[k++] = event_kv("EVENT_NAME", event_def_get(id)->name)))
		goto fail;
	for (i = 0; i < n; i++) {
		if (!v[i].value)
			continue;
		if (!(e[k++] = event_kv(v[i].name, v[i].value)))
			goto fail;
	}
	return e;
fail:
	event_strv_free(e);
	return NULL;
}

int event_fire(struct event_runner *r, const struct config *cfg, const char *action,
    enum event_id id, const struct event_var *vars, size_t n,
    event_result_cb cb, void *arg, unsigned long token)
{
	const char *name = event_def_get(id)->name;
	struct event_job *j;

	event_log(cfg->main.event_log, id, vars, n);
	if (!IS_ENABLED(CONFIG_EVENTS_EXEC) || !r || r->closing || !action || !action[0])
		return 0;
	if (action[0] != '/') {
		log_err("event %s: event_action '%s' is not an absolute path", name, action);
		return 0;
	}
	if (r->queued >= EVENT_QUEUE_MAX) {
		log_warn("event %s: %u actions waiting already: not run", name, r->queued);
		return 0;
	}
	if (!(j = calloc(1, sizeof(*j))))
		return 0;
	j->r = r;
	j->id = id;
	j->cb = cb;
	j->arg = arg;
	j->token = token;
	j->timeout_ms = cfg->main.event_timeout * 1000;
	if (geteuid() == 0) {
		/* never as root: event_user (an unprivileged account) */
		const struct passwd *pw = getpwnam(cfg->main.event_user);

		if (!pw || pw->pw_uid == 0) {
			log_err("event %s: event_user '%s' %s: action not run", name,
			    cfg->main.event_user, pw ? "is root" : "does not exist");
			free(j);
			return 0;
		}
		j->setid = 1;
		j->uid = pw->pw_uid;
		j->gid = pw->pw_gid;
	}
	if (!(j->argv = event_argv(action)) || !j->argv[0] ||
	    !(j->env = event_env(id, vars, n))) {
		log_err("event %s: out of memory: action not run", name);
		event_job_free(j);
		return 0;
	}
	*r->queue_tail = j;
	r->queue_tail = &j->next;
	r->queued++;
	event_run_next(r);
	return 1;
}

int event_runner_new(uv_loop_t *loop, struct event_runner **out)
{
	struct event_runner *r = calloc(1, sizeof(*r));

	*out = r;
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->queue_tail = &r->queue;
	return 0;
}

void event_runner_free(struct event_runner *r)
{
	struct event_job *j;

	if (!r)
		return;
	r->closing = 1;
	/* queued actions are answered "" (no result) at once; running ones
	 * are left to finish within their time limit, then the runner goes */
	while ((j = r->queue) != NULL) {
		r->queue = j->next;
		r->queued--;
		if (j->cb)
			j->cb(j->arg, j->token, "");
		event_job_free(j);
	}
	r->queue_tail = &r->queue;
	if (r->running == 0)
		free(r);
}

unsigned event_runner_busy(const struct event_runner *r)
{
	return r ? r->running + r->queued : 0;
}
