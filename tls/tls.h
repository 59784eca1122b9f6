/*
 * tls.h - TLS for tern on mbedTLS: the random generator now; the engine
 * over libuv streams and the DANE verifier arrive with the TLS issue.
 *
 * When CONFIG_TLS is off these are inline stubs, so callers need no #ifdef.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>

#include "core/kconfig.h"

#ifdef CONFIG_TLS
/* tls_library_version - "2.28.3" (static storage) */
const char *tls_library_version(void);
/* tls_rng_init - seed the process's DRBG once from the system entropy;
 * 0 or a negative mbedTLS error. Later calls do nothing. */
int tls_rng_init(void);
/* tls_rng_fill - len random bytes; 0 or a negative error */
int tls_rng_fill(void *buf, size_t len);
void tls_rng_fini(void);
#else
static inline const char *tls_library_version(void) { return ""; }
static inline int tls_rng_init(void) { return 0; }
static inline int tls_rng_fill(void *buf, size_t len) { (void)buf; (void)len; return -1; }
static inline void tls_rng_fini(void) { }
#endif

#endif
