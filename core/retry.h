/*
 * retry.h - when to try again after a temporary failure.
 *
 * Pure: no I/O, no globals, no logging, no allocation. Time is a Unix time
 * in seconds passed in by the caller, so every decision can be tested.
 *
 * Two parts:
 *
 * retry_next() schedules a recipient: a function of (first seen, attempts,
 * now) and the configured retry_intervals and bounce_after, nothing else.
 *
 * struct retry_hosts remembers which destinations failed recently so that a
 * dead host is not hammered by every message queued for it: a fixed table
 * of RETRY_HOSTS_MAX entries that the caller owns (embed it or allocate it
 * once; about 22 KiB), evicting the least recently used entry when full.
 * Only failing hosts are kept: retry_host_ok() forgets a host.
 *
 * Caller rules (the queue runner):
 *  - After a temporary failure of a recipient, attempts is the number of
 *    failures so far including this one; store retry_next()'s result as the
 *    recipient's next_retry, or bounce the recipient when it is -1.
 *  - Draw jitter at random for every call (e.g. from arc4random or
 *    /dev/urandom); a constant is allowed but gives up the spreading.
 *  - Before connecting to a host, ask retry_host_allowed(); when it says
 *    no, the attempt is not made and does NOT count as a failure of the
 *    recipient (defer it to *until without touching attempts).
 */
#ifndef TERN_RETRY_H
#define TERN_RETRY_H

#include "core/config.h"

#define RETRY_INTERVAL_DEFAULT 900		/* when intervals is empty */
#define RETRY_INTERVAL_MAX (10LL * 366 * 86400)	/* intervals are clamped */
#define RETRY_JITTER_PERCENT 10

/* retry_next - when to try a recipient again after a temporary failure.
 *
 * intervals: retry_intervals; failure k (1-based) waits intervals->v[k-1],
 * and the last interval repeats. NULL or empty means one interval of
 * RETRY_INTERVAL_DEFAULT; each interval is clamped to
 * 1..RETRY_INTERVAL_MAX. attempts: failures so far (0 is taken as 1; any
 * value up to UINT_MAX is fine). first: arrival time. now: time of this
 * failure. bounce_after: how long the message may stay queued; <= 0 means
 * no retries at all.
 *
 * jitter: a random value 0..UINT_MAX drawn by the caller; it moves the
 * wait by up to +/- RETRY_JITTER_PERCENT of the interval (0 is -10%,
 * UINT_MAX is +10%, UINT_MAX / 2 about 0), so that messages deferred
 * together do not come back together.
 *
 * Returns the absolute time of the next try, always > now; or -1 when it
 * is time to give up (then bounce): when now >= first + bounce_after.
 * A next try that would fall after first + bounce_after is moved to
 * exactly first + bounce_after: one last try at the deadline, and when
 * that fails too, -1.
 *
 * Clock going backwards (now < first): the time spent is taken as 0, so a
 * wrong clock never makes a message bounce early; the next try is still
 * relative to now, so the message is not stuck until the clock catches
 * up. (Its life is then longer by the amount the clock went back.)
 * Sums saturate: no overflow for any input. */
long long retry_next(long long first, unsigned attempts, long long now,
    const struct cfg_durations *intervals, long long bounce_after,
    unsigned jitter);

/* ---------------------------------------------------------------- hosts */

#define RETRY_HOSTS_MAX 64
/* a host key: "name[address]:port"; 253 + 2 + 45 + 6 fit */
#define RETRY_HOST_KEY_MAX 320

struct retry_host {
	char key[RETRY_HOST_KEY_MAX];	/* "" = free slot */
	unsigned failures;		/* in a row, saturating */
	long long last;			/* time of the last failure */
	long long next;			/* not to be tried before this */
	unsigned long long used;	/* LRU stamp; larger = more recent */
};

struct retry_hosts {
	struct retry_host h[RETRY_HOSTS_MAX];
	unsigned long long clock;	/* last LRU stamp given */
};

/* retry_hosts_init - an empty table (no allocation, now or later) */
void retry_hosts_init(struct retry_hosts *t);

/* retry_host_failed - record a failure (connection refused or timed out,
 * 421 greeting, TLS or DANE failure, ...) of the host named key at now.
 * The host is then not to be tried before now plus the interval of its
 * failure count in a row, jittered as retry_next() does (no bounce_after:
 * hosts are never given up). A host not in the table takes a free slot,
 * or the least recently used one's. Returns that time, or -1 when key is
 * NULL, empty or not shorter than RETRY_HOST_KEY_MAX (nothing recorded). */
long long retry_host_failed(struct retry_hosts *t, const char *key,
    long long now, const struct cfg_durations *intervals, unsigned jitter);

/* retry_host_ok - the host answered well: forget it (its failure count
 * starts again from 0) */
void retry_host_ok(struct retry_hosts *t, const char *key);

/* retry_host_allowed - may the host be tried at now? 1 yes, 0 no; when 0
 * and until is not NULL, *until is the time it may be tried again. An
 * unknown host is allowed. A host whose last failure is later than now
 * (the clock went backwards) is allowed. A hit counts as a use (LRU). */
int retry_host_allowed(struct retry_hosts *t, const char *key, long long now,
    long long *until);

#endif
