/*
 * dns.h - the asynchronous DNSSEC-aware stub resolver (ldns packets over
 * libuv). This file holds what exists so far: the list of servers to ask,
 * from `dns_servers` or /etc/resolv.conf, and which of them are trusted to
 * set the AD bit.
 *
 * When CONFIG_DNS is off the functions are inline stubs.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stddef.h>

#include "core/kconfig.h"

struct addrlist;

#define DNS_SERVERS_MAX 8

struct dns_server {
	char addr[46];		/* numeric IPv4 or IPv6 */
	unsigned port;
	int trusted;		/* its AD bit is believed (loopback) */
};

struct dns_servers {
	size_t n;
	struct dns_server s[DNS_SERVERS_MAX];
};

#ifdef CONFIG_DNS
const char *dns_library_version(void);
/* dns_servers_from_resolvconf - the "nameserver" lines of resolv.conf text
 * (pure); returns the count (0: none, the caller may default to loopback) */
size_t dns_servers_from_resolvconf(const char *text, struct dns_servers *out);
/* dns_servers_from_list - the dns_servers option; 0, or -1 with err */
int dns_servers_from_list(const struct addrlist *al, struct dns_servers *out,
    char *err, size_t errlen);
/* dns_server_is_loopback - 127.0.0.0/8 or ::1 */
int dns_server_is_loopback(const char *addr);
#else
static inline const char *dns_library_version(void) { return ""; }
#endif

#endif
