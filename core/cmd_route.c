/*
 * cmd_route.c - `tern route ADDRESS`: how an address would be routed, as
 * an operator asks when mail does not flow: alias expansion, the router
 * and transport that take each final address, and the hosts in order with
 * their addresses. The DNS and TLS issues add the DNSSEC state of each
 * answer, TLSA records and the TLS policy.
 *
 * Exit status: 0 when every final address is routable, 2 when one fails
 * (as exim -bt), 64/78 for usage and config errors.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/router.h"
#include "core/submit.h"

struct route_ctx {
	const struct config *cfg;
	int failed;
};

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
	if (rc.kind == ROUTER_MX) {
		printf("  hosts: the MX hosts of %s (MX delivery needs the DNS module; "
		    "until it is built such recipients are deferred)\n", router_domain(addr));
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
	struct route_ctx c = { NULL, 0 };
	struct config *cfg;
	char addr[ROUTER_ADDR_MAX];
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: tern [-C FILE] route ADDRESS...\n");
		return EX_USAGE_;
	}
	if (!(cfg = cli_config_load(cli)))
		return EX_CONFIG_;
	c.cfg = cfg;
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
	config_release(cfg);
	if (ferror(stdout))
		return EX_IOERR_;
	return c.failed ? 2 : EXIT_OK;
}
