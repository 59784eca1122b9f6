/*
 * counters.c - the debug counters of this process (counters.h). The event
 * loop is single-threaded; counters touched from libuv's thread pool use
 * only counter_add from the loop thread's completion callbacks.
 */
#include "core/counters.h"

static const char *const counter_names[CNT__COUNT] = {
#define COUNTER_NAME(id, name) [CNT_##id] = name,
	COUNTERS_LIST(COUNTER_NAME)
#undef COUNTER_NAME
};

static unsigned long counter_value[CNT__COUNT];

void counter_add(enum counter_id id, unsigned long n)
{
	if (id < CNT__COUNT)
		counter_value[id] += n;
}

unsigned long counter_get(enum counter_id id)
{
	return id < CNT__COUNT ? counter_value[id] : 0;
}

void counters_print(FILE *out)
{
	int i;

	for (i = 0; i < CNT__COUNT; i++)
		fprintf(out, "%s%s=%lu", i ? " " : "", counter_names[i], counter_value[i]);
	fputc('\n', out);
}
