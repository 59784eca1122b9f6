/*
 * addrlist.h - lists of "host:port" endpoints as written in tern.conf:
 * `127.0.0.1:25, [::1]:25`, `192.0.2.1`, `[2001:db8::1]`, `mail.example.net:587`.
 * Items are separated by commas and/or white space; IPv6 addresses with a
 * port go in brackets. A bare IPv6 address (no brackets) takes the default
 * port.
 *
 * addrlist_parse() returns a list owned by the caller (addrlist_free), or
 * NULL with a message in err.
 */
#ifndef TERN_ADDRLIST_H
#define TERN_ADDRLIST_H

#include <stddef.h>

struct addr_item {
	char host[256];		/* address or name, no brackets */
	unsigned port;
	int is_ip6;		/* host is an IPv6 literal */
};

struct addrlist {
	size_t n;
	struct addr_item item[];
};

struct addrlist *addrlist_parse(const char *text, unsigned default_port,
    char *err, size_t errlen);
void addrlist_free(struct addrlist *al);
/* addrlist_format - "host:port, [v6]:port" into buf; returns buf */
/* addr_sockaddr - ss = the IPv4 (family AF_INET, 4 octets) or IPv6
 * (AF_INET6, 16 octets) address in network order, with port */
struct sockaddr_storage;
void addr_sockaddr(struct sockaddr_storage *ss, int family, const void *bytes,
    unsigned port);

char *addrlist_format(const struct addrlist *al, char *buf, size_t len);

#endif
