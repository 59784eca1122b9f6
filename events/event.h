/*
 * event.h - the event table as C data (events.def) and lookups in it.
 *
 * When CONFIG_EVENTS is off nothing of this is compiled; callers use the
 * inline stubs and the compiler drops the calls.
 */
#ifndef TERN_EVENT_H
#define TERN_EVENT_H

#include <stddef.h>

#include <uv.h>

#include "core/kconfig.h"

enum event_id {
#define EVENT(id, name, when, where, per, forces) EV_##id,
#include "events/events.def"
#undef EVENT
	EV__COUNT
};

enum event_when { EV_WHEN_BEFORE, EV_WHEN_AFTER };
enum event_where { EV_WHERE_MAIN, EV_WHERE_TRANSPORT, EV_WHERE_BOTH };
enum event_per {
	EV_PER_MESSAGE, EV_PER_RECIPIENT, EV_PER_ATTEMPT, EV_PER_CONNECTION,
	EV_PER_CERTIFICATE
};
enum event_forces {
	EV_FORCES_IGNORED, EV_FORCES_NO_CONNECT, EV_FORCES_REFUSE_CERT,
	EV_FORCES_CLOSE
};

struct event_def {
	const char *name;
	enum event_when when;
	enum event_where where;
	enum event_per per;
	enum event_forces forces;
};

struct config;
struct event_runner;

/* one variable of an event, named as Exim's in upper case (EVENT_DATA,
 * HOST, ...); a NULL value is left out */
struct event_var {
	const char *name;
	const char *value;
};

#define EVENT_RESULT_MAX 1024	/* octets of an action's output kept */

/* the result of an action: its trimmed standard output, "" when it printed
 * nothing, failed, timed out or could not run */
typedef void (*event_result_cb)(void *arg, unsigned long token, const char *result);

#ifdef CONFIG_EVENTS
/* event_def_get - the row of an id; NULL for an id out of range */
const struct event_def *event_def_get(enum event_id id);
/* event_find - by name ("msg:delivery"); -1 when unknown */
int event_find(const char *name);

/* event_runner_new - the runner of actions on loop; 0 or -ENOMEM */
int event_runner_new(uv_loop_t *loop, struct event_runner **out);
/* event_runner_free - actions waiting to start are answered "" now;
 * running ones finish (within event_timeout) and the runner is freed */
void event_runner_free(struct event_runner *r);
/* event_runner_busy - actions running or waiting */
unsigned event_runner_busy(const struct event_runner *r);
/* event_fire - event id happened with vars[0..n) (borrowed for the call):
 * it goes to cfg's event_log, and to the program of action (the
 * event_action of [main] or of the transport; NULL or "": none). Returns
 * 1 when cb (may be NULL) will be called later, exactly once, with the
 * result; 0 when nothing runs (the result is ""; cb is never called). */
int event_fire(struct event_runner *r, const struct config *cfg, const char *action,
    enum event_id id, const struct event_var *vars, size_t n,
    event_result_cb cb, void *arg, unsigned long token);
#else
static inline const struct event_def *event_def_get(enum event_id id)
{ (void)id; return NULL; }
static inline int event_find(const char *name) { (void)name; return -1; }
static inline int event_runner_new(uv_loop_t *loop, struct event_runner **out)
{ (void)loop; *out = NULL; return 0; }
static inline void event_runner_free(struct event_runner *r) { (void)r; }
static inline unsigned event_runner_busy(const struct event_runner *r)
{ (void)r; return 0; }
static inline int event_fire(struct event_runner *r, const struct config *cfg,
    const char *action, enum event_id id, const struct event_var *vars, size_t n,
    event_result_cb cb, void *arg, unsigned long token)
{ (void)r; (void)cfg; (void)action; (void)id; (void)vars; (void)n; (void)cb;
  (void)arg; (void)token; return 0; }
#endif

#endif
