/*
 * counters.h - debug counters (CONFIG_DEBUG_COUNTERS): how many fsyncs,
 * spool commits and sessions this process made, for benchmarks that compare
 * tern's disk work with other MTAs'. Off: every call compiles to nothing.
 */
#ifndef TERN_COUNTERS_H
#define TERN_COUNTERS_H

#include <stdio.h>

#include "core/kconfig.h"

#define COUNTERS_LIST(X) \
	X(FSYNC, "fsync") \
	X(SPOOL_COMMIT, "spool_commit") \
	X(SMTP_SESSION, "smtp_session") \
	X(MESSAGE_ACCEPTED, "message_accepted") \
	X(CONN_REUSED, "conn_reused")

enum counter_id {
#define COUNTER_ENUM(id, name) CNT_##id,
	COUNTERS_LIST(COUNTER_ENUM)
#undef COUNTER_ENUM
	CNT__COUNT
};

#ifdef CONFIG_DEBUG_COUNTERS
void counter_add(enum counter_id id, unsigned long n);
unsigned long counter_get(enum counter_id id);
/* counters_print - "name=value ..." on one line */
void counters_print(FILE *out);
#else
static inline void counter_add(enum counter_id id, unsigned long n) { (void)id; (void)n; }
static inline unsigned long counter_get(enum counter_id id) { (void)id; return 0; }
static inline void counters_print(FILE *out) { (void)out; }
#endif

#endif
