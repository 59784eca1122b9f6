/*
 * retry.c - retry timing and the dead-host table (retry.h).
 *
 * Public functions: retry_next (when a recipient is tried again, or -1 to
 * bounce), retry_hosts_init, retry_host_failed, retry_host_ok and
 * retry_host_allowed (which destinations are resting after failures).
 *
 * Pure: no I/O, no globals, no logging, no allocation. The caller owns the
 * struct retry_hosts; keys are copied into it.
 *
 * The schedule follows the Exim retry rule of one fixed-interval list
 * where the last interval repeats, measured from the arrival, with a last
 * try at the give-up time. RFC 5321 4.5.4.1: "the sender MUST delay
 * retrying a particular destination after one attempt has failed", the
 * retry interval SHOULD be at least 30 minutes and the give-up time at
 * least 4-5 days; the default configuration (5m 15m 1h 4h, 5d) keeps that
 * after two quick first tries. The jitter spreads the retries of messages
 * deferred together, and the host table applies the "delay retrying a
 * destination" rule across all messages queued for that host.
 */
#include "core/retry.h"

#include <limits.h>
#include <string.h>

/* retry_add - a + b, saturating at the ends of long long */
static long long retry_add(long long a, long long b)
{
	if (b > 0 && a > LLONG_MAX - b)
		return LLONG_MAX;
	if (b < 0 && a < LLONG_MIN - b)
		return LLONG_MIN;
	return a + b;
}

/* retry_interval - the wait after failure number attempts (>= 1) */
static long long retry_interval(const struct cfg_durations *iv,
    unsigned attempts)
{
	unsigned n, i;
	long long v;

	if (!iv || iv->n == 0)
		return RETRY_INTERVAL_DEFAULT;
	n = iv->n < CFG_DURATIONS_MAX ? iv->n : CFG_DURATIONS_MAX;
	i = attempts == 0 ? 0 : attempts - 1;
	if (i >= n)
		i = n - 1;
	v = iv->v[i];
	if (v < 1)
		v = 1;
	if (v > RETRY_INTERVAL_MAX)
		v = RETRY_INTERVAL_MAX;
	return v;
}

/* retry_jitter - interval moved by jitter within +/- 10% of it; >= 1.
 * span <= RETRY_INTERVAL_MAX / 10, so (2 * span + 1) * 2^32 fits in 64
 * bits. */
static long long retry_jitter(long long interval, unsigned jitter)
{
	unsigned long long span = (unsigned long long)interval *
	    RETRY_JITTER_PERCENT / 100;
	unsigned long long pick = ((unsigned long long)jitter *
	    (2 * span + 1)) / ((unsigned long long)UINT_MAX + 1);
	long long v = interval + (long long)pick - (long long)span;

	return v < 1 ? 1 : v;
}

long long retry_next(long long first, unsigned attempts, long long now,
    const struct cfg_durations *intervals, long long bounce_after,
    unsigned jitter)
{
	long long deadline, next;

	if (bounce_after <= 0)
		return -1;
	deadline = retry_add(first, bounce_after);
	/* now < first: the clock went back; spent time counts as 0 */
	if (now >= first && now >= deadline)
		return -1;
	next = retry_add(now, retry_jitter(retry_interval(intervals, attempts),
	    jitter));
	if (next > deadline && deadline > now)
		next = deadline;	/* the last try, at the deadline */
	return next;
}

/* ---------------------------------------------------------------- hosts */

void retry_hosts_init(struct retry_hosts *t)
{
	memset(t, 0, sizeof(*t));
}

/* retry_host_key_ok - a key we can store */
static int retry_host_key_ok(const char *key)
{
	size_t n;

	if (!key || !*key)
		return 0;
	n = strlen(key);
	return n < RETRY_HOST_KEY_MAX;
}

static struct retry_host *retry_host_find(struct retry_hosts *t,
    const char *key)
{
	size_t i;

	for (i = 0; i < RETRY_HOSTS_MAX; i++)
		if (t->h[i].key[0] && strcmp(t->h[i].key, key) == 0)
			return &t->h[i];
	return NULL;
}

/* retry_host_touch - mark h as the most recently used entry */
static void retry_host_touch(struct retry_hosts *t, struct retry_host *h)
{
	if (t->clock == ULLONG_MAX) {
		/* after 2^64 uses: restart the stamps; the order of the
		 * others is lost once, which only affects one eviction */
		size_t i;

		for (i = 0; i < RETRY_HOSTS_MAX; i++)
			t->h[i].used = 0;
		t->clock = 0;
	}
	h->used = ++t->clock;
}

/* retry_host_slot - a free slot, or the least recently used entry,
 * emptied */
static struct retry_host *retry_host_slot(struct retry_hosts *t)
{
	struct retry_host *lru = &t->h[0];
	size_t i;

	for (i = 0; i < RETRY_HOSTS_MAX; i++) {
		if (!t->h[i].key[0]) {
			lru = &t->h[i];
			break;
		}
		if (t->h[i].used < lru->used)
			lru = &t->h[i];
	}
	memset(lru, 0, sizeof(*lru));
	return lru;
}

long long retry_host_failed(struct retry_hosts *t, const char *key,
    long long now, const struct cfg_durations *intervals, unsigned jitter)
{
	struct retry_host *h;

	if (!retry_host_key_ok(key))
		return -1;
	h = retry_host_find(t, key);
	if (!h) {
		h = retry_host_slot(t);
		memcpy(h->key, key, strlen(key) + 1);
	}
	if (h->failures < UINT_MAX)
		h->failures++;
	h->last = now;
	h->next = retry_add(now, retry_jitter(retry_interval(intervals,
	    h->failures), jitter));
	retry_host_touch(t, h);
	return h->next;
}

void retry_host_ok(struct retry_hosts *t, const char *key)
{
	struct retry_host *h;

	if (!retry_host_key_ok(key))
		return;
	h = retry_host_find(t, key);
	if (h)
		memset(h, 0, sizeof(*h));
}

int retry_host_allowed(struct retry_hosts *t, const char *key, long long now,
    long long *until)
{
	struct retry_host *h;

	if (!retry_host_key_ok(key))
		return 1;
	h = retry_host_find(t, key);
	if (!h)
		return 1;
	retry_host_touch(t, h);
	if (now >= h->next || now < h->last)
		return 1;
	if (until)
		*until = h->next;
	return 0;
}
