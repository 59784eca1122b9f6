/*
 * router.h - where a recipient goes: aliases, then the routers of
 * tern.conf in file order (DESIGN.md), pure (no I/O, no DNS).
 *
 * router_expand() turns an envelope recipient into the final addresses:
 * a local part of a local domain is replaced by its alias targets,
 * recursively (a loop or more than ROUTER_ALIAS_DEPTH levels is an error);
 * a local address without an alias fails ("no such user here").
 * router_pick() chooses the router for a final address: the first whose
 * `domains` matches; with no [router], the default MX delivery.
 */
#ifndef TERN_ROUTER_H
#define TERN_ROUTER_H

#include <stddef.h>

struct config;
struct config_router;
struct config_transport;

#define ROUTER_ALIAS_DEPTH 10
#define ROUTER_TARGETS_MAX 64
#define ROUTER_ADDR_MAX 320

/* router_expand callback: a final address, or (why != NULL) a failure of
 * the address that could not be expanded */
typedef void (*router_expand_cb)(void *ctx, const char *addr, const char *why);

/* router_expand - returns the number of final addresses, or -1 when the
 * expansion failed as a whole (loop, too deep, too many targets: cb got
 * the reason) */
int router_expand(const struct config *cfg, const char *addr,
    router_expand_cb cb, void *ctx);

enum router_kind {
	ROUTER_SMARTHOST,	/* manualroute: the router's hosts */
	ROUTER_MX,		/* dnslookup: the domain's MX hosts */
	ROUTER_NONE		/* no router takes the domain */
};

struct router_choice {
	enum router_kind kind;
	const char *name;	/* router name ("dnslookup" for the default) */
	const struct config_router *router;	/* NULL for the default */
	const struct config_transport *transport;
};

/* router_pick - the router for a final address (domain after the '@') */
int router_pick(const struct config *cfg, const char *addr,
    struct router_choice *out);

/* router_domain - the domain part of addr, or "" */
const char *router_domain(const char *addr);

#endif
