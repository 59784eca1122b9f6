/*
 * router.c - aliases and router choice (router.h). Pure.
 *
 * Aliases ([aliases] of tern.conf, then alias_file: config.h) apply to
 * local parts of local_domains (and to a bare "postmaster", RFC 5321
 * 4.5.1, which falls back to root's alias).
 * Targets are comma-separated; one without a domain is qualified with
 * primary_hostname. Local parts compare without regard to case, and a
 * target equal to an address already on the path is a loop.
 */
#include "core/router.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/kconfig.h"

const char *router_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* router_is_local - no domain, or a domain in local_domains */
static int router_is_local(const struct config *cfg, const char *addr)
{
	const char *d = router_domain(addr);

	if (!strchr(addr, '@'))
		return 1;
	return hostlist_match(cfg->main.local_domains, d, NULL,
	    cfg->main.primary_hostname);
}

struct router_walk {
	const struct config *cfg;
	router_expand_cb cb;
	void *ctx;
	const char *path[ROUTER_ALIAS_DEPTH + 1];
	int depth;
	int count;
	int failed;
};

static void router_walk(struct router_walk *w, const char *addr)
{
	const struct config *cfg = w->cfg;
	const struct config_alias *al;
	const char *at = strrchr(addr, '@');
	size_t lplen = at ? (size_t)(at - addr) : strlen(addr);
	char why[400];
	int i;

	if (w->failed)
		return;
	if (!router_is_local(cfg, addr)) {
		if (++w->count > ROUTER_TARGETS_MAX) {
			w->cb(w->ctx, addr, "alias expansion gives too many addresses");
			w->failed = 1;
			return;
		}
		w->cb(w->ctx, addr, NULL);
		return;
	}
	al = IS_ENABLED(CONFIG_ROUTER_ALIASES) ? config_alias_find(cfg, addr, lplen) : NULL;
	if (!al && lplen == 10 && strncasecmp(addr, "postmaster", 10) == 0)
		al = IS_ENABLED(CONFIG_ROUTER_ALIASES) ? config_alias_find(cfg, "root", 4) : NULL;
	if (!al) {
		snprintf(why, sizeof(why), "550 5.1.1 <%s>: no such user here", addr);
		w->cb(w->ctx, addr, why);
		return;
	}
	for (i = 0; i < w->depth; i++)
		if (strcasecmp(w->path[i], al->local_part) == 0) {
			snprintf(why, sizeof(why), "550 5.4.6 alias loop at '%s' (%s line %d)",
			    al->local_part, al->file ? al->file : "tern.conf", al->line);
			w->cb(w->ctx, addr, why);
			w->failed = 1;
			return;
		}
	if (w->depth >= ROUTER_ALIAS_DEPTH) {
		snprintf(why, sizeof(why), "550 5.4.6 aliases nested deeper than %d",
		    ROUTER_ALIAS_DEPTH);
		w->cb(w->ctx, addr, why);
		w->failed = 1;
		return;
	}
	w->path[w->depth++] = al->local_part;
	{
		const char *p = al->targets;

		while (*p && !w->failed) {
			char t[ROUTER_ADDR_MAX], q[ROUTER_ADDR_MAX];
			size_t n;

			while (*p == ',' || *p == ' ' || *p == '\t')
				p++;
			n = strcspn(p, ", \t");
			if (n == 0)
				break;
			if (n >= sizeof(t) - 1) {
				w->cb(w->ctx, addr, "550 5.1.3 alias target too long");
				w->failed = 1;
				break;
			}
			memcpy(t, p, n);
			t[n] = '\0';
			p += n;
			if (!strchr(t, '@')) {
				int k = snprintf(q, sizeof(q), "%s@%s", t,
				    cfg->main.primary_hostname);

				if (k < 0 || (size_t)k >= sizeof(q)) {
					w->cb(w->ctx, addr, "550 5.1.3 alias target too long");
					w->failed = 1;
					break;
				}
				router_walk(w, q);
			} else {
				router_walk(w, t);
			}
		}
	}
	w->depth--;
}

int router_expand(const struct config *cfg, const char *addr,
    router_expand_cb cb, void *ctx)
{
	struct router_walk w;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.cb = cb;
	w.ctx = ctx;
	router_walk(&w, addr);
	return w.failed ? -1 : w.count;
}

int router_pick(const struct config *cfg, const char *addr,
    struct router_choice *out)
{
	const char *dom = router_domain(addr);
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < cfg->n_router; i++) {
		const struct config_router *r = &cfg->router[i];

		if (!hostlist_match(r->domains, dom, NULL, cfg->main.primary_hostname))
			continue;
		out->router = r;
		out->name = r->name;
		out->kind = strcmp(r->driver, "dnslookup") == 0 ? ROUTER_MX : ROUTER_SMARTHOST;
		out->transport = config_transport_find(cfg, r->transport);
		return 0;
	}
	if (cfg->n_router == 0 && IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP)) {
		out->kind = ROUTER_MX;
		out->name = "dnslookup";
		out->transport = config_transport_find(cfg, "remote_smtp");
		return 0;
	}
	out->kind = ROUTER_NONE;
	return -1;
}
