/*
 * alloc_fail.c - the fault-injecting allocator of alloc_fail.h: the
 * __wrap_ functions GNU ld and lld route tern's malloc, calloc, realloc,
 * free, strdup and strndup to (-Wl,--wrap=...), counting, failing the
 * chosen one and tracking the blocks of the window in a hash set.
 */
#include "tests/unit/alloc_fail.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

#define SET_BITS 18
#define SET_SIZE ((size_t)1 << SET_BITS)
#define TOMB ((void *)1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int active;		/* the window is open: count and fail */
static int sticky;
static unsigned long fail_at, count, failed;
static size_t live, used;	/* tracked blocks; slots used (with tombs) */
static void *set[SET_SIZE];

static size_t set_hash(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(v >> 7) & (SET_SIZE - 1);
}

static void set_add(void *p)
{
	size_t i = set_hash(p);

	if (used + 1 > SET_SIZE / 4 * 3) {
		fprintf(stderr, "alloc_fail: more than %zu blocks tracked\n",
		    SET_SIZE / 4 * 3);
		abort();
	}
	while (set[i] && set[i] != TOMB)
		i = (i + 1) & (SET_SIZE - 1);
	if (!set[i])
		used++;
	set[i] = p;
	live++;
}

static void set_del(void *p)
{
	size_t i = set_hash(p);

	while (set[i]) {
		if (set[i] == p) {
			set[i] = TOMB;
			live--;
			return;
		}
		i = (i + 1) & (SET_SIZE - 1);
	}
}

/* alloc_check - count one allocation; 0: go on, -1: fail it */
static int alloc_check(void)
{
	if (!active)
		return 0;
	count++;
	if (fail_at && (count == fail_at || (sticky && count > fail_at))) {
		failed++;
		return -1;
	}
	return 0;
}

void alloc_fail_at(unsigned long n, int stick)
{
	pthread_mutex_lock(&lock);
	memset(set, 0, sizeof(set));
	live = used = 0;
	count = failed = 0;
	fail_at = n;
	sticky = stick;
	active = 1;
	pthread_mutex_unlock(&lock);
}

void alloc_fail_off(void)
{
	pthread_mutex_lock(&lock);
	active = 0;
	pthread_mutex_unlock(&lock);
}

unsigned long alloc_fail_count(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = count;
	pthread_mutex_unlock(&lock);
	return n;
}

unsigned long alloc_fail_failed(void)
{
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = failed;
	pthread_mutex_unlock(&lock);
	return n;
}

size_t alloc_fail_outstanding(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = live;
	pthread_mutex_unlock(&lock);
	return n;
}

static void alloc_fail_report(void)
{
	fprintf(stderr, "alloc_fail: %lu allocations counted, %lu failed\n",
	    alloc_fail_count(), alloc_fail_failed());
}

int alloc_fail_env(const char *var)
{
	const char *v = getenv(var), *s;
	char *end;
	unsigned long n;

	if (!v || !*v)
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end)
		return -1;
	s = getenv("TERN_ALLOC_FAIL_STICKY");
	if (atexit(alloc_fail_report) != 0)
		return -1;
	alloc_fail_at(n, s && strcmp(s, "1") == 0);
	return 0;
}

void *__wrap_malloc(size_t n)
{
	void *p = NULL;

	pthread_mutex_lock(&lock);
	if (alloc_check() == 0 && (p = __real_malloc(n)) != NULL && active)
		set_add(p);
	pthread_mutex_unlock(&lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = NULL;

	pthread_mutex_lock(&lock);
	if (alloc_check() == 0 && (p = __real_calloc(n, size)) != NULL && active)
		set_add(p);
	pthread_mutex_unlock(&lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q = NULL;

	pthread_mutex_lock(&lock);
	if (alloc_check() == 0 && (q = __real_realloc(p, n)) != NULL) {
		if (p)
			set_del(p);
		if (active)
			set_add(q);
	}
	pthread_mutex_unlock(&lock);
	if (!q)
		errno = ENOMEM;
	return q;
}

void __wrap_free(void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&lock);
	set_del(p);
	__real_free(p);
	pthread_mutex_unlock(&lock);
}

char *__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = __wrap_malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
	size_t len = 0;
	char *p;

	while (len < n && s[len])
		len++;
	if (!(p = __wrap_malloc(len + 1)))
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
