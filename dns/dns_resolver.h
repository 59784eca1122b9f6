/*
 * dns_resolver.h - the asynchronous stub resolver: queries go out over
 * uv_udp (TCP when the answer is truncated) to the servers of
 * dns_servers or /etc/resolv.conf; answers are read by dns_answer.c.
 *
 * dns_lookup() never calls its callback before it returns; a lookup
 * that cannot start returns a negative error and never calls it. The
 * callback gets a result it borrows for the duration of the call.
 * dns_lookup_cancel() stops a lookup: its callback is not called.
 * dns_resolver_free() cancels everything and frees the resolver once its
 * handles are closed (the loop must run).
 */
#ifndef TERN_DNS_RESOLVER_H
#define TERN_DNS_RESOLVER_H

#include <stddef.h>

#include <uv.h>

#include "dns/dns_answer.h"

struct config;
struct dns_resolver;
struct dns_lookup;

typedef void (*dns_lookup_cb)(void *arg, const struct dns_result *res);

#ifdef CONFIG_DNS
/* dns_resolver_new - servers from cfg's dns_servers, else resolv.conf
 * (else 127.0.0.1); the resolver holds cfg (config_hold) for
 * dns_trusted_servers, dnssec_request_domains and dnssec_require_domains.
 * 0 or -errno with err set */
int dns_resolver_new(uv_loop_t *loop, struct config *cfg,
    struct dns_resolver **out, char *err, size_t errlen);
void dns_resolver_free(struct dns_resolver *r);
/* dns_resolver_retire - no new lookups will come (a reload made another
 * resolver): the ones under way finish and get their callbacks, then r is
 * freed (the loop must run) */
void dns_resolver_retire(struct dns_resolver *r);
/* dns_resolver_describe - "127.0.0.1:53 (trusted)" ... for logs */
void dns_resolver_describe(const struct dns_resolver *r, char *buf, size_t len);

int dns_lookup(struct dns_resolver *r, const char *name, int type,
    dns_lookup_cb cb, void *arg, struct dns_lookup **out);
void dns_lookup_cancel(struct dns_lookup *q);
/* dns_lookup_wait - dns_lookup, then run loop (the resolver's) until cb
 * has been called: for command-line tools, which may block. 0, or the
 * error of dns_lookup (cb not called). */
int dns_lookup_wait(struct dns_resolver *r, uv_loop_t *loop, const char *name,
    int type, dns_lookup_cb cb, void *arg);

#else
static inline int dns_resolver_new(uv_loop_t *loop, struct config *cfg,
    struct dns_resolver **out, char *err, size_t errlen)
{ (void)loop; (void)cfg; *out = NULL; if (errlen) err[0] = '\0'; return -1; }
static inline void dns_resolver_free(struct dns_resolver *r) { (void)r; }
static inline void dns_resolver_retire(struct dns_resolver *r) { (void)r; }
static inline void dns_resolver_describe(const struct dns_resolver *r, char *buf,
    size_t len)
{ (void)r; if (len) buf[0] = '\0'; }
static inline int dns_lookup(struct dns_resolver *r, const char *name, int type,
    dns_lookup_cb cb, void *arg, struct dns_lookup **out)
{ (void)r; (void)name; (void)type; (void)cb; (void)arg; if (out) *out = NULL; return -1; }
static inline void dns_lookup_cancel(struct dns_lookup *q) { (void)q; }
static inline int dns_lookup_wait(struct dns_resolver *r, uv_loop_t *loop,
    const char *name, int type, dns_lookup_cb cb, void *arg)
{ (void)r; (void)loop; (void)name; (void)type; (void)cb; (void)arg; return -1; }
#endif

#endif
