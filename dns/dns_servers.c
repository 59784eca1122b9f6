/*
 * dns_servers.c - which resolvers tern asks (dns.h). Pure: the caller
 * reads /etc/resolv.conf and hands over its text.
 *
 * A resolver is trusted to set the AD bit only when it is on loopback
 * (RFC 6698 section 1.1 and RFC 7672 section 2.1 leave the channel to the
 * resolver to local policy; loopback is the only channel tern can vouch
 * for without TSIG or TLS).
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "core/addrlist.h"

const char *dns_library_version(void)
{
	return ldns_version();
}

int dns_server_is_loopback(const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) == 1) {
		static const unsigned char one[16] = { [15] = 1 };

		return memcmp(a, one, 16) == 0;
	}
	return 0;
}

/* dns_server_add - a numeric address; 0, or -1 when not numeric/full */
static int dns_server_add(struct dns_servers *out, const char *addr,
    unsigned port)
{
	unsigned char a[16];
	struct dns_server *s;

	if (out->n >= DNS_SERVERS_MAX || strlen(addr) >= sizeof(s->addr))
		return -1;
	if (inet_pton(AF_INET, addr, a) != 1 && inet_pton(AF_INET6, addr, a) != 1)
		return -1;
	s = &out->s[out->n++];
	memcpy(s->addr, addr, strlen(addr) + 1);
	s->port = port;
	s->trusted = dns_server_is_loopback(addr);
	return 0;
}

size_t dns_servers_from_resolvconf(const char *text, struct dns_servers *out)
{
	const char *p = text;

	out->n = 0;
	while (*p) {
		size_t len = strcspn(p, "\n");
		char line[256], addr[64];

		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			/* "nameserver ADDR"; a %scope suffix is not usable here */
			if (sscanf(line, " nameserver %63s", addr) == 1) {
				char *pct = strchr(addr, '%');

				if (!pct)
					(void)dns_server_add(out, addr, 53);
			}
		}
		p += len;
		if (*p)
			p++;
	}
	return out->n;
}

int dns_servers_from_list(const struct addrlist *al, struct dns_servers *out,
    char *err, size_t errlen)
{
	size_t i;

	out->n = 0;
	for (i = 0; al && i < al->n; i++)
		if (dns_server_add(out, al->item[i].host, al->item[i].port) < 0) {
			if (out->n >= DNS_SERVERS_MAX)
				snprintf(err, errlen, "more than %d servers",
				    DNS_SERVERS_MAX);
			else
				snprintf(err, errlen, "'%s' is not an IP address",
				    al->item[i].host);
			return -1;
		}
	return 0;
}
