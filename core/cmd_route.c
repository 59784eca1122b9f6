/*
 * cmd_route.c - `tern route ADDRESS`: how an address would be routed, as
 * an operator asks when mail does not flow: alias expansion, the router
 * and transport that take each final address, and the hosts in order with
 * their addresses; for MX delivery the MX, AAAA, A and TLSA answers with
 * their DNSSEC state, and the TLS policy RFC 7672 would apply.
 *
 * Exit status: 0 when every final address is routable, 2 when one fails
 * (as exim -bt), 64/78 for usage and config errors.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <uv.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/hostlist.h"
#include "core/kconfig.h"
#include "core/router.h"
#include "core/submit.h"
#include "dns/dns_resolver.h"

struct route_ctx {
	const struct config *cfg;
	int failed;
	uv_loop_t loop;
	struct dns_resolver *dns;
	const struct config_transport *tr;	/* of the address at hand */
};

/* What `tern route` keeps of one answer (the result is only lent to the
 * callback). */
struct route_answer {
	enum dns_status status;
	enum dns_sec sec;
	char error[160];
	char final_name[DNS_NAME_MAX];
	size_t n;
	char item[DNS_MX_MAX][DNS_NAME_MAX + 16];
	unsigned pref[DNS_MX_MAX];
	int null_mx;
};

static void route_answer_cb(void *arg, const struct dns_result *res)
{
	struct route_answer *a = arg;
	size_t i;

	a->status = res->status;
	a->sec = res->sec;
	a->null_mx = res->null_mx;
	snprintf(a->error, sizeof(a->error), "%s", res->error);
	snprintf(a->final_name, sizeof(a->final_name), "%s", res->final_name);
	for (i = 0; i < res->n_mx && a->n < DNS_MX_MAX; i++) {
		a->pref[a->n] = res->mx[i].pref;
		snprintf(a->item[a->n++], sizeof(a->item[0]), "%s", res->mx[i].host);
	}
	for (i = 0; i < res->n_a && a->n < DNS_MX_MAX; i++)
		uv_inet_ntop(AF_INET, res->a[i], a->item[a->n++], sizeof(a->item[0]));
	for (i = 0; i < res->n_aaaa && a->n < DNS_MX_MAX; i++)
		uv_inet_ntop(AF_INET6, res->aaaa[i], a->item[a->n++], sizeof(a->item[0]));
	for (i = 0; i < res->n_tlsa && a->n < DNS_MX_MAX; i++) {
		const struct dns_tlsa *t = &res->tlsa[i];
		char *o = a->item[a->n++];
		size_t k, room = sizeof(a->item[0]), off;

		off = (size_t)snprintf(o, room, "%u %u %u ", t->usage, t->selector, t->mtype);
		for (k = 0; k < t->len && off + 3 < room; k++)
			off += (size_t)snprintf(o + off, room - off, "%02x", t->data[k]);
		if (k < t->len && off + 4 < room)
			snprintf(o + off, room - off, "...");
	}
}

/* route_ask - one lookup, waited for (a CLI may block) */
static void route_ask(struct route_ctx *c, const char *name, int type,
    struct route_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (dns_lookup_wait(c->dns, &c->loop, name, type, route_answer_cb, a) < 0) {
		a->status = DNS_ST_TEMPFAIL;
		snprintf(a->error, sizeof(a->error), "cannot start the lookup");
	}
}

static const char *route_state(const struct route_answer *a)
{
	static char buf[220];

	if (a->status == DNS_ST_TEMPFAIL)
		snprintf(buf, sizeof(buf), "%s, %s: %s", dns_status_name(a->status),
		    dns_sec_name(a->sec), a->error);
	else
		snprintf(buf, sizeof(buf), "%s, %s", dns_status_name(a->status),
		    dns_sec_name(a->sec));
	return buf;
}

/* route_host - a host's addresses and TLSA records, with their DNSSEC
 * state, and the TLS policy RFC 7672 gives it */
static void route_host(struct route_ctx *c, const char *host, unsigned port)
{
	struct route_answer aaaa, a, tlsa;
	char tname[DNS_NAME_MAX + 16];
	size_t i;
	int secure;

	route_ask(c, host, DNS_T_AAAA, &aaaa);
	route_ask(c, host, DNS_T_A, &a);
	printf("      AAAA (%s)", route_state(&aaaa));
	for (i = 0; i < aaaa.n; i++)
		printf(" %s", aaaa.item[i]);
	printf("\n      A    (%s)", route_state(&a));
	for (i = 0; i < a.n; i++)
		printf(" %s", a.item[i]);
	printf("\n");
	secure = (aaaa.n || a.n) && (!aaaa.n || aaaa.sec == DNS_SEC_SECURE) &&
	    (!a.n || a.sec == DNS_SEC_SECURE);
	{
		const char *self = c->cfg->main.primary_hostname;
		int req = c->tr && c->tr->hosts_require_dane &&
		    hostlist_match(c->tr->hosts_require_dane, host, NULL, self);
		int try = req || (c->tr && c->tr->hosts_try_dane &&
		    hostlist_match(c->tr->hosts_try_dane, host, NULL, self));

		if (!try) {
			printf("      TLSA: not looked up (not in hosts_try_dane)\n"
			    "      TLS policy: opportunistic TLS, no DANE\n");
			return;
		}
		if (req && !secure) {
			printf("      TLSA: not looked up (the address lookup was not secure)\n"
			    "      TLS policy: deferred: hosts_require_dane and no DANE "
			    "possible\n");
			return;
		}
	}
	if (!secure) {
		printf("      TLSA: not looked up (the address lookup was not secure)\n"
		    "      TLS policy: opportunistic TLS, no DANE\n");
		return;
	}
	if (!dns_tlsa_name(port, a.final_name[0] ? a.final_name : host, tname, sizeof(tname))) {
		printf("      TLSA: name too long\n");
		return;
	}
	route_ask(c, tname, DNS_T_TLSA, &tlsa);
	printf("      TLSA %s (%s)\n", tname, route_state(&tlsa));
	/* RFC 7672 2.2.3: the expanded name first, then the initial name */
	if ((tlsa.status == DNS_ST_NODATA || tlsa.status == DNS_ST_NXDOMAIN) &&
	    a.final_name[0] && strcasecmp(a.final_name, host) != 0 &&
	    dns_tlsa_name(port, host, tname, sizeof(tname))) {
		route_ask(c, tname, DNS_T_TLSA, &tlsa);
		printf("      TLSA %s (%s)\n", tname, route_state(&tlsa));
	}
	for (i = 0; i < tlsa.n; i++)
		printf("        %s\n", tlsa.item[i]);
	if (tlsa.status == DNS_ST_TEMPFAIL)
		printf("      TLS policy: host unusable, the TLSA lookup failed (deferred)\n");
	else if (tlsa.status == DNS_ST_OK && tlsa.sec == DNS_SEC_SECURE && tlsa.n)
		printf("      TLS policy: DANE: TLS authenticated by the TLSA records, "
		    "required\n");
	else
		printf("      TLS policy: opportunistic TLS, no DANE (%s)\n",
		    tlsa.status == DNS_ST_OK ? "TLSA records not secure" : "no TLSA records");
}

/* route_mx - the MX hosts of a domain, in order, with their details */
static void route_mx(struct route_ctx *c, const char *domain, unsigned port)
{
	struct route_answer mx;
	size_t i;

	route_ask(c, domain, DNS_T_MX, &mx);
	printf("  MX %s (%s)\n", domain, route_state(&mx));
	if (mx.status == DNS_ST_TEMPFAIL) {
		printf("  deferred: the MX lookup failed\n");
		return;
	}
	if (mx.status == DNS_ST_NXDOMAIN) {
		printf("  fails: the domain does not exist\n");
		c->failed = 1;
		return;
	}
	if (mx.null_mx) {
		printf("  fails: null MX (RFC 7505), the domain accepts no mail\n");
		c->failed = 1;
		return;
	}
	if (mx.status == DNS_ST_NODATA || mx.n == 0) {
		printf("  hosts: no MX, the domain itself (implicit MX)\n    %s:%u\n",
		    domain, port);
		route_host(c, domain, port);
		return;
	}
	printf("  hosts, in order (random among equal preferences):\n");
	for (i = 0; i < mx.n; i++) {
		size_t j, best = i;

		for (j = i + 1; j < mx.n; j++)
			if (mx.pref[j] < mx.pref[best])
				best = j;
		if (best != i) {
			char t[sizeof(mx.item[0])];
			unsigned p = mx.pref[i];

			memcpy(t, mx.item[i], sizeof(t));
			memcpy(mx.item[i], mx.item[best], sizeof(t));
			memcpy(mx.item[best], t, sizeof(t));
			mx.pref[i] = mx.pref[best];
			mx.pref[best] = p;
		}
		printf("    %u %s:%u\n", mx.pref[i], mx.item[i], port);
		route_host(c, mx.item[i], port);
	}
}

/* route_addresses - the host's addresses, as getaddrinfo gives them */
static void route_addresses(const char *host)
{
	struct addrinfo hints, *res = NULL, *ai;
	int r, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0) {
		printf("      (lookup failed: %s)\n", gai_strerror(r));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		char buf[64] = "";

		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
			    buf, sizeof(buf));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			    buf, sizeof(buf));
		if (buf[0])
			printf("      %s\n", buf);
		n++;
	}
	freeaddrinfo(res);
	if (!n)
		printf("      (no addresses)\n");
}

static void route_cb(void *arg, const char *addr, const char *why)
{
	struct route_ctx *c = arg;
	struct router_choice rc;
	size_t i;

	printf("%s\n", addr);
	if (why) {
		printf("  fails: %s\n", why);
		c->failed = 1;
		return;
	}
	if (router_pick(c->cfg, addr, &rc) < 0) {
		printf("  fails: no router takes domain '%s'\n", router_domain(addr));
		c->failed = 1;
		return;
	}
	printf("  router: %s (%s)\n", rc.name,
	    rc.kind == ROUTER_MX ? "dnslookup" : "manualroute");
	if (rc.transport)
		printf("  transport: %s, port %lld\n", rc.transport->name, rc.transport->port);
	c->tr = rc.transport;
	if (rc.kind == ROUTER_MX) {
		if (c->dns)
			route_mx(c, router_domain(addr),
			    (unsigned)(rc.transport ? rc.transport->port : 25));
		return;
	}
	printf("  hosts, in order:\n");
	for (i = 0; rc.router && rc.router->hosts && i < rc.router->hosts->n; i++) {
		const struct addr_item *h = &rc.router->hosts->item[i];
		unsigned port = h->port ? h->port :
		    (unsigned)(rc.transport ? rc.transport->port : 25);

		printf("    %s%s%s:%u\n", h->is_ip6 ? "[" : "", h->host, h->is_ip6 ? "]" : "",
		    port);
		route_addresses(h->host);
	}
}

int cmd_route(struct cli *cli, int argc, char **argv)
{
	struct route_ctx c;
	struct config *cfg;
	char addr[ROUTER_ADDR_MAX];
	int i;

	memset(&c, 0, sizeof(c));
	if (argc < 2) {
		fprintf(stderr, "usage: tern [-C FILE] route ADDRESS...\n");
		return EX_USAGE_;
	}
	if (!(cfg = cli_config_load(cli)))
		return EX_CONFIG_;
	c.cfg = cfg;
	if (uv_loop_init(&c.loop) < 0) {
		config_release(cfg);
		return EX_OSERR_;
	}
	if (IS_ENABLED(CONFIG_DNS)) {
		char err[256], servers[512];

		if (dns_resolver_new(&c.loop, cfg, &c.dns, err, sizeof(err)) < 0) {
			fprintf(stderr, "tern: DNS: %s\n", err);
			(void)uv_loop_close(&c.loop);
			config_release(cfg);
			return EX_UNAVAILABLE_;
		}
		dns_resolver_describe(c.dns, servers, sizeof(servers));
		printf("DNS servers: %s\n", servers);
	}
	for (i = 1; i < argc; i++) {
		if (!submit_qualify(argv[i], cfg->main.primary_hostname, addr, sizeof(addr)) ||
		    strpbrk(addr, " <>\r\n")) {
			fprintf(stderr, "tern: bad address '%s'\n", argv[i]);
			config_release(cfg);
			return EX_USAGE_;
		}
		if (strcmp(addr, argv[i]) != 0)
			printf("%s is %s\n", argv[i], addr);
		router_expand(cfg, addr, route_cb, &c);
	}
	dns_resolver_free(c.dns);
	while (uv_run(&c.loop, UV_RUN_DEFAULT))
		;
	(void)uv_loop_close(&c.loop);
	config_release(cfg);
	if (ferror(stdout))
		return EX_IOERR_;
	return c.failed ? 2 : EXIT_OK;
}
