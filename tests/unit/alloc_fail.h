/*
 * alloc_fail.h - a fault-injecting allocator for tests (libuv's
 * test-loop-oom.c idea): the program is linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 *   --wrap=strdup,--wrap=strndup
 * so that tern's own calls (not those inside shared libraries such as
 * libuv, mbedTLS or libc) come here. Within a window opened by
 * alloc_fail_at(n) allocations are counted from 1 and the nth one fails
 * (returns NULL with errno ENOMEM); the blocks allocated in the window
 * and not yet freed are tracked, so that a leak shows as
 * alloc_fail_outstanding() > 0 at the end of the window.
 *
 * Thread-safe (one mutex), so that code run in libuv's thread pool may
 * allocate too.
 */
#ifndef TERN_TESTS_ALLOC_FAIL_H
#define TERN_TESTS_ALLOC_FAIL_H

#include <stddef.h>

/* alloc_fail_at - open a window: reset the count and the tracked set;
 * the nth allocation fails (n == 0: none); with sticky, the nth and
 * every later one fail */
void alloc_fail_at(unsigned long n, int sticky);
/* alloc_fail_off - close the window: nothing more fails or is counted
 * (frees of tracked blocks are still noted) */
void alloc_fail_off(void);
/* alloc_fail_count - allocations counted in the window so far */
unsigned long alloc_fail_count(void);
/* alloc_fail_failed - how many allocations were made to fail */
unsigned long alloc_fail_failed(void);
/* alloc_fail_outstanding - blocks allocated in the window, not freed */
size_t alloc_fail_outstanding(void);
/* alloc_fail_env - for a whole program: var=N in the environment opens
 * a window failing the Nth allocation from now (with
 * TERN_ALLOC_FAIL_STICKY=1, every one from the Nth), and at exit
 * "alloc_fail: C allocations counted, F failed" goes to stderr; 0, or -1
 * when var is not set (nothing fails) */
int alloc_fail_env(const char *var);

#endif
