/*
 * event.c - the compiled-in event table (events.def) as const data, and
 * lookups in it (event.h). Dispatch and actions arrive with the events
 * issue.
 */
#include "events/event.h"

#include <string.h>

static const struct event_def event_table[EV__COUNT] = {
#define EVENT(id, name, when, where, per, forces) \
	[EV_##id] = { name, EV_WHEN_##when, EV_WHERE_##where, EV_PER_##per, \
	    EV_FORCES_##forces },
#include "events/events.def"
#undef EVENT
};

const struct event_def *event_def_get(enum event_id id)
{
	if ((int)id < 0 || id >= EV__COUNT)
		return NULL;
	return &event_table[id];
}

int event_find(const char *name)
{
	int i;

	for (i = 0; i < EV__COUNT; i++)
		if (strcmp(event_table[i].name, name) == 0)
			return i;
	return -1;
}
