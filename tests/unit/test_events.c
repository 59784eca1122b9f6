/*
 * test_events.c - the compiled-in event table matches DESIGN.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "events/event.h"

static void test_seed_events(void **state)
{
	static const struct {
		const char *name;
		enum event_when when;
		enum event_where where;
		enum event_per per;
		enum event_forces forces;
	} want[] = {
		{ "msg:complete", EV_WHEN_AFTER, EV_WHERE_MAIN, EV_PER_MESSAGE, EV_FORCES_IGNORED },
		{ "msg:delivery", EV_WHEN_AFTER, EV_WHERE_TRANSPORT, EV_PER_RECIPIENT, EV_FORCES_IGNORED },
		{ "msg:host:defer", EV_WHEN_AFTER, EV_WHERE_TRANSPORT, EV_PER_ATTEMPT, EV_FORCES_IGNORED },
		{ "msg:fail:delivery", EV_WHEN_AFTER, EV_WHERE_MAIN, EV_PER_RECIPIENT, EV_FORCES_IGNORED },
		{ "msg:fail:internal", EV_WHEN_AFTER, EV_WHERE_MAIN, EV_PER_RECIPIENT, EV_FORCES_IGNORED },
		{ "tcp:connect", EV_WHEN_BEFORE, EV_WHERE_TRANSPORT, EV_PER_CONNECTION, EV_FORCES_NO_CONNECT },
		{ "tcp:close", EV_WHEN_AFTER, EV_WHERE_TRANSPORT, EV_PER_CONNECTION, EV_FORCES_IGNORED },
		{ "tls:cert", EV_WHEN_BEFORE, EV_WHERE_BOTH, EV_PER_CERTIFICATE, EV_FORCES_REFUSE_CERT },
		{ "smtp:connect", EV_WHEN_AFTER, EV_WHERE_TRANSPORT, EV_PER_CONNECTION, EV_FORCES_CLOSE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int id = event_find(want[i].name);
		const struct event_def *d;

		if (id < 0)
			fail_msg("%s missing", want[i].name);
		d = event_def_get((enum event_id)id);
		assert_string_equal(d->name, want[i].name);
		assert_int_equal(d->when, want[i].when);
		assert_int_equal(d->where, want[i].where);
		assert_int_equal(d->per, want[i].per);
		assert_int_equal(d->forces, want[i].forces);
	}
}

static void test_lookup(void **state)
{
	int i;

	(void)state;
	assert_int_equal(event_find("no:such:event"), -1);
	assert_non_null(event_def_get(EV_DANE_FAIL));
	assert_null(event_def_get(EV__COUNT));
	/* names are unique */
	for (i = 0; i < EV__COUNT; i++)
		assert_int_equal(event_find(event_def_get((enum event_id)i)->name), i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_events),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
