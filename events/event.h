/*
 * event.h - the event table as C data (events.def) and lookups in it.
 *
 * When CONFIG_EVENTS is off nothing of this is compiled; callers use the
 * inline stubs and the compiler drops the calls.
 */
#ifndef TERN_EVENT_H
#define TERN_EVENT_H

#include <stddef.h>

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

#ifdef CONFIG_EVENTS
/* event_def_get - the row of an id; NULL for an id out of range */
const struct event_def *event_def_get(enum event_id id);
/* event_find - by name ("msg:delivery"); -1 when unknown */
int event_find(const char *name);
#else
static inline const struct event_def *event_def_get(enum event_id id)
{ (void)id; return NULL; }
static inline int event_find(const char *name) { (void)name; return -1; }
#endif

#endif
