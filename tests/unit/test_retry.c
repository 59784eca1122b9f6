/*
 * test_retry.c - retry timing: the schedule and its repeating last
 * interval, jitter bounds and spread, the bounce_after edge (one last try
 * at the deadline), a clock going backwards, huge and zero attempts and
 * times at the ends of long long (no overflow); the dead-host table:
 * backoff, forgetting on success, LRU eviction, odd keys.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/retry.h"

#define MID (UINT_MAX / 2)	/* jitter that moves nothing */
#define T0 1764064800LL		/* some arrival time */

static const struct cfg_durations def_iv = { 4, { 300, 900, 3600, 14400 } };

static void test_schedule(void **state)
{
	long long now = T0, next;
	unsigned a;

	(void)state;
	/* a failure at arrival, and then at each scheduled time */
	next = retry_next(T0, 1, now, &def_iv, 5 * 86400, MID);
	assert_int_equal(next, T0 + 300);
	now = next;
	assert_int_equal(retry_next(T0, 2, now, &def_iv, 5 * 86400, MID),
	    now + 900);
	now += 900;
	assert_int_equal(retry_next(T0, 3, now, &def_iv, 5 * 86400, MID),
	    now + 3600);
	now += 3600;
	assert_int_equal(retry_next(T0, 4, now, &def_iv, 5 * 86400, MID),
	    now + 14400);
	/* the last interval repeats */
	for (a = 5; a < 40; a++)
		assert_int_equal(retry_next(T0, a, T0 + 7200, &def_iv,
		    5 * 86400, MID), T0 + 7200 + 14400);
	/* the wait is from now, not from the previous schedule: a late queue
	 * run does not make the next try come sooner */
	assert_int_equal(retry_next(T0, 1, T0 + 1000, &def_iv, 86400, MID),
	    T0 + 1300);
	/* a whole life: count the tries of a 5-day message */
	now = T0;
	for (a = 1;; a++) {
		next = retry_next(T0, a, now, &def_iv, 5 * 86400, MID);
		if (next < 0)
			break;
		assert_true(next > now);
		assert_true(next <= T0 + 5 * 86400);
		now = next;
	}
	assert_int_equal(now, T0 + 5 * 86400);	/* last try at the deadline */
	/* tries at +300, +1200, +4800, +19200, then 28 4h steps to
	 * +422400, the last at +432000; the 34th failure gives up */
	assert_int_equal(a, 34);
}

static void test_single_and_empty_intervals(void **state)
{
	struct cfg_durations one = { 1, { 600 } };
	struct cfg_durations bad = { 2, { 0, -5 } };
	struct cfg_durations big = { 1, { LLONG_MAX } };

	(void)state;
	assert_int_equal(retry_next(T0, 1, T0, &one, 86400, MID), T0 + 600);
	assert_int_equal(retry_next(T0, 9, T0, &one, 86400, MID), T0 + 600);
	/* none given: the default */
	assert_int_equal(retry_next(T0, 1, T0, NULL, 86400, MID),
	    T0 + RETRY_INTERVAL_DEFAULT);
	one.n = 0;
	assert_int_equal(retry_next(T0, 3, T0, &one, 86400, MID),
	    T0 + RETRY_INTERVAL_DEFAULT);
	/* nonsense intervals are clamped to 1 second */
	assert_int_equal(retry_next(T0, 1, T0, &bad, 86400, MID), T0 + 1);
	assert_int_equal(retry_next(T0, 2, T0, &bad, 86400, 0), T0 + 1);
	/* n larger than the array is not read past it */
	bad.n = 1000;
	assert_true(retry_next(T0, 900, T0, &bad, 86400, MID) > T0);
	/* a huge interval: capped, then cut at the deadline */
	assert_int_equal(retry_next(T0, 1, T0, &big, 86400, UINT_MAX),
	    T0 + 86400);
	assert_int_equal(retry_next(T0, 1, T0, &big, LLONG_MAX, UINT_MAX),
	    T0 + RETRY_INTERVAL_MAX + RETRY_INTERVAL_MAX / 10);
	/* attempts 0 is taken as 1 */
	assert_int_equal(retry_next(T0, 0, T0, &def_iv, 86400, MID), T0 + 300);
}

static void test_jitter(void **state)
{
	long long lo = LLONG_MAX, hi = LLONG_MIN, sum = 0;
	int seen_lo = 0, seen_hi = 0;
	unsigned j, i;
	int buckets[21] = { 0 };

	(void)state;
	/* the ends: exactly -10% and +10% */
	assert_int_equal(retry_next(T0, 3, T0, &def_iv, 86400, 0),
	    T0 + 3600 - 360);
	assert_int_equal(retry_next(T0, 3, T0, &def_iv, 86400, UINT_MAX),
	    T0 + 3600 + 360);
	assert_int_equal(retry_next(T0, 3, T0, &def_iv, 86400, MID), T0 + 3600);
	/* a sweep over the whole range stays inside and covers it evenly */
	for (i = 0; i < 100000; i++) {
		long long w;

		j = (unsigned)(((unsigned long long)i * 2654435761u) %
		    ((unsigned long long)UINT_MAX + 1));
		w = retry_next(T0, 3, T0, &def_iv, 86400, j) - T0;
		assert_true(w >= 3240 && w <= 3960);
		if (w < lo)
			lo = w;
		if (w > hi)
			hi = w;
		seen_lo |= w == 3240;
		seen_hi |= w == 3960;
		sum += w;
		buckets[(w - 3240) / 36]++;
	}
	assert_true(seen_lo && seen_hi);
	assert_true(sum / 100000 > 3590 && sum / 100000 < 3610);
	for (i = 0; i < 20; i++)
		assert_true(buckets[i] > 4000 && buckets[i] < 6000);
	/* monotonic in jitter */
	{
		long long prev = 0;

		for (i = 0; i < 1000; i++) {
			long long w = retry_next(T0, 4, T0, &def_iv, 86400 * 5,
			    (unsigned)((unsigned long long)UINT_MAX * i / 999));

			assert_true(w >= prev);
			prev = w;
		}
		assert_int_equal(prev, T0 + 14400 + 1440);
	}
	/* short intervals: no room for jitter, never 0 or negative */
	{
		struct cfg_durations tiny = { 1, { 5 } };

		assert_int_equal(retry_next(T0, 1, T0, &tiny, 86400, 0), T0 + 5);
		assert_int_equal(retry_next(T0, 1, T0, &tiny, 86400, UINT_MAX),
		    T0 + 5);
		tiny.v[0] = 1;
		assert_int_equal(retry_next(T0, 1, T0, &tiny, 86400, 0), T0 + 1);
		tiny.v[0] = 10;
		assert_int_equal(retry_next(T0, 1, T0, &tiny, 86400, 0), T0 + 9);
		assert_int_equal(retry_next(T0, 1, T0, &tiny, 86400, UINT_MAX),
		    T0 + 11);
	}
}

static void test_bounce_after_edge(void **state)
{
	const long long ba = 5 * 86400, dl = T0 + 5 * 86400;

	(void)state;
	/* just before the deadline: one more try, exactly at it */
	assert_int_equal(retry_next(T0, 30, dl - 1, &def_iv, ba, MID), dl);
	assert_int_equal(retry_next(T0, 30, dl - 14400, &def_iv, ba, MID), dl);
	assert_int_equal(retry_next(T0, 30, dl - 14401, &def_iv, ba, MID),
	    dl - 1);
	/* jitter does not push it past the deadline */
	assert_int_equal(retry_next(T0, 30, dl - 14000, &def_iv, ba, UINT_MAX),
	    dl);
	/* at and after the deadline: give up */
	assert_int_equal(retry_next(T0, 31, dl, &def_iv, ba, MID), -1);
	assert_int_equal(retry_next(T0, 31, dl + 1, &def_iv, ba, MID), -1);
	assert_int_equal(retry_next(T0, 1, dl + 86400 * 365, &def_iv, ba, MID),
	    -1);
	/* no retries at all */
	assert_int_equal(retry_next(T0, 1, T0, &def_iv, 0, MID), -1);
	assert_int_equal(retry_next(T0, 1, T0, &def_iv, -1, MID), -1);
	/* bounce_after shorter than the first interval: a try at the
	 * deadline, then give up */
	assert_int_equal(retry_next(T0, 1, T0, &def_iv, 60, MID), T0 + 60);
	assert_int_equal(retry_next(T0, 2, T0 + 60, &def_iv, 60, MID), -1);
}

static void test_clock_backwards(void **state)
{
	long long r;

	(void)state;
	/* now before arrival: never give up because of it, retry from now */
	r = retry_next(T0, 3, T0 - 86400 * 30, &def_iv, 86400, MID);
	assert_int_equal(r, T0 - 86400 * 30 + 3600);
	/* a little back, the deadline still caps the next try */
	r = retry_next(T0, 1, T0 - 10, &def_iv, 60, MID);
	assert_int_equal(r, T0 + 60);
	/* a clock reset to 0 */
	r = retry_next(T0, 40, 0, &def_iv, 5 * 86400, MID);
	assert_int_equal(r, 14400);
	/* negative times are just times */
	r = retry_next(-1000, 1, -900, &def_iv, 86400, MID);
	assert_int_equal(r, -600);
}

static void test_no_overflow(void **state)
{
	long long r;

	(void)state;
	assert_int_equal(retry_next(T0, UINT_MAX, T0, &def_iv, 86400, MID),
	    T0 + 14400);
	assert_int_equal(retry_next(T0, UINT_MAX, T0 + 86400, &def_iv, 86400,
	    MID), -1);
	/* deadline beyond the end of time: saturates, keeps retrying */
	r = retry_next(LLONG_MAX - 10, 1, LLONG_MAX - 5, &def_iv, LLONG_MAX,
	    UINT_MAX);
	assert_int_equal(r, LLONG_MAX);
	assert_int_equal(retry_next(LLONG_MAX, 1, LLONG_MAX, &def_iv, 60, MID),
	    -1);
	/* the far past */
	r = retry_next(LLONG_MIN, 1, LLONG_MIN + 5, &def_iv, LLONG_MAX, 0);
	assert_int_equal(r, LLONG_MIN + 5 + 270);
	r = retry_next(LLONG_MIN, 2, LLONG_MAX, &def_iv, LLONG_MAX, 0);
	assert_int_equal(r, -1);
	r = retry_next(LLONG_MAX, 2, LLONG_MIN, &def_iv, 86400, 0);
	assert_int_equal(r, LLONG_MIN + 810);
}

static void test_hosts_backoff(void **state)
{
	static struct retry_hosts t;
	const char *k = "mx.example.net[192.0.2.1]:25";
	long long until = 0, r;

	(void)state;
	retry_hosts_init(&t);
	assert_int_equal(retry_host_allowed(&t, k, T0, &until), 1);
	r = retry_host_failed(&t, k, T0, &def_iv, MID);
	assert_int_equal(r, T0 + 300);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1, &until), 0);
	assert_int_equal(until, T0 + 300);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 299, NULL), 0);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 300, NULL), 1);
	/* failures in a row lengthen the rest, up to the last interval */
	assert_int_equal(retry_host_failed(&t, k, T0 + 300, &def_iv, MID),
	    T0 + 300 + 900);
	assert_int_equal(retry_host_failed(&t, k, T0 + 1200, &def_iv, MID),
	    T0 + 1200 + 3600);
	assert_int_equal(retry_host_failed(&t, k, T0 + 4800, &def_iv, MID),
	    T0 + 4800 + 14400);
	assert_int_equal(retry_host_failed(&t, k, T0 + 20000, &def_iv, 0),
	    T0 + 20000 + 14400 - 1440);
	/* other hosts are not affected; keys are exact */
	assert_int_equal(retry_host_allowed(&t, "mx.example.net[192.0.2.1]:587",
	    T0 + 20001, NULL), 1);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 20001, NULL), 0);
	/* the clock went back past the last failure: allowed */
	assert_int_equal(retry_host_allowed(&t, k, T0 + 19999, NULL), 1);
	/* success forgets the host: the next failure is a first one again */
	retry_host_ok(&t, k);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 20001, NULL), 1);
	assert_int_equal(retry_host_failed(&t, k, T0 + 30000, &def_iv, MID),
	    T0 + 30000 + 300);
	retry_host_ok(&t, "unknown[192.0.2.9]:25");
	retry_host_ok(&t, NULL);
}

static void test_hosts_lru(void **state)
{
	static struct retry_hosts t;
	char k[64];
	int i, n;

	(void)state;
	retry_hosts_init(&t);
	for (i = 0; i < RETRY_HOSTS_MAX; i++) {
		snprintf(k, sizeof(k), "h%d[192.0.2.%d]:25", i, i);
		assert_true(retry_host_failed(&t, k, T0, &def_iv, MID) > 0);
	}
	/* all resting */
	for (i = 0; i < RETRY_HOSTS_MAX; i++) {
		snprintf(k, sizeof(k), "h%d[192.0.2.%d]:25", i, i);
		assert_int_equal(retry_host_allowed(&t, k, T0 + 1, NULL), 0);
	}
	/* h0 and h1 were used least recently ... but touch h0 */
	assert_int_equal(retry_host_allowed(&t, "h0[192.0.2.0]:25", T0 + 2,
	    NULL), 0);
	/* one more host evicts the least recently used: h1 */
	assert_true(retry_host_failed(&t, "new[198.51.100.1]:25", T0 + 3,
	    &def_iv, MID) > 0);
	assert_int_equal(retry_host_allowed(&t, "h1[192.0.2.1]:25", T0 + 4,
	    NULL), 1);
	assert_int_equal(retry_host_allowed(&t, "h0[192.0.2.0]:25", T0 + 4,
	    NULL), 0);
	assert_int_equal(retry_host_allowed(&t, "new[198.51.100.1]:25", T0 + 4,
	    NULL), 0);
	/* the table stays at RETRY_HOSTS_MAX entries whatever comes */
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "x%d[203.0.113.%d]:25", i, i % 256);
		retry_host_failed(&t, k, T0 + 10 + i, &def_iv, MID);
	}
	for (i = 0, n = 0; i < RETRY_HOSTS_MAX; i++)
		n += t.h[i].key[0] != '\0';
	assert_int_equal(n, RETRY_HOSTS_MAX);
	/* the last RETRY_HOSTS_MAX are the ones kept */
	for (i = 1000 - RETRY_HOSTS_MAX; i < 1000; i++) {
		snprintf(k, sizeof(k), "x%d[203.0.113.%d]:25", i, i % 256);
		assert_int_equal(retry_host_allowed(&t, k, T0 + 1010, NULL), 0);
	}
	snprintf(k, sizeof(k), "x%d[203.0.113.%d]:25", 0, 0);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1010, NULL), 1);
	/* a freed slot is reused before anything is evicted */
	snprintf(k, sizeof(k), "x%d[203.0.113.%d]:25", 999, 999 % 256);
	retry_host_ok(&t, k);
	retry_host_failed(&t, "again[192.0.2.77]:25", T0 + 2000, &def_iv, MID);
	snprintf(k, sizeof(k), "x%d[203.0.113.%d]:25", 1000 - RETRY_HOSTS_MAX,
	    (1000 - RETRY_HOSTS_MAX) % 256);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1010, NULL), 0);
}

static void test_hosts_odd_keys(void **state)
{
	static struct retry_hosts t;
	char k[RETRY_HOST_KEY_MAX + 8];

	(void)state;
	retry_hosts_init(&t);
	assert_int_equal(retry_host_failed(&t, NULL, T0, &def_iv, MID), -1);
	assert_int_equal(retry_host_failed(&t, "", T0, &def_iv, MID), -1);
	assert_int_equal(retry_host_allowed(&t, NULL, T0, NULL), 1);
	assert_int_equal(retry_host_allowed(&t, "", T0, NULL), 1);
	/* the longest key that fits, and one byte more */
	memset(k, 'a', sizeof(k));
	k[RETRY_HOST_KEY_MAX - 1] = '\0';
	assert_true(retry_host_failed(&t, k, T0, &def_iv, MID) > 0);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1, NULL), 0);
	k[RETRY_HOST_KEY_MAX - 1] = 'a';
	k[RETRY_HOST_KEY_MAX] = '\0';
	assert_int_equal(retry_host_failed(&t, k, T0, &def_iv, MID), -1);
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1, NULL), 1);
	/* a longer key is not confused with its prefix */
	k[RETRY_HOST_KEY_MAX - 1] = '\0';
	k[RETRY_HOST_KEY_MAX - 2] = '\0';
	assert_int_equal(retry_host_allowed(&t, k, T0 + 1, NULL), 1);
	/* failure counts saturate */
	t.h[0].failures = UINT_MAX;
	k[RETRY_HOST_KEY_MAX - 2] = 'a';
	assert_true(retry_host_failed(&t, k, T0, &def_iv, MID) > 0);
	assert_int_equal(t.h[0].failures, UINT_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_single_and_empty_intervals),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_bounce_after_edge),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_no_overflow),
		cmocka_unit_test(test_hosts_backoff),
		cmocka_unit_test(test_hosts_lru),
		cmocka_unit_test(test_hosts_odd_keys),
	};

	return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}
