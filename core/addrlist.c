/*
 * addrlist.c - parse and print endpoint lists (addrlist.h). Pure.
 */
#include "core/addrlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* addr_port_parse - decimal 1..65535 or -1 */
static long addr_port_parse(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* addr_item_parse - one token into it; 0 or -1 with err */
static int addr_item_parse(const char *tok, size_t len, unsigned defport,
    struct addr_item *it, char *err, size_t errlen)
{
	const char *host = tok, *port = NULL;
	size_t hlen = len, plen = 0, i;
	unsigned char bin[16];
	long p;

	if (tok[0] == '[') {
		const char *close = memchr(tok, ']', len);

		if (!close)
			goto bad;
		host = tok + 1;
		hlen = (size_t)(close - host);
		if ((size_t)(close + 1 - tok) < len) {
			if (close[1] != ':')
				goto bad;
			port = close + 2;
			plen = len - (size_t)(port - tok);
		}
	} else {
		const char *colon = memchr(tok, ':', len);

		if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - tok)) == NULL) {
			hlen = (size_t)(colon - tok);
			port = colon + 1;
			plen = len - hlen - 1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(it->host))
		goto bad;
	memcpy(it->host, host, hlen);
	it->host[hlen] = '\0';
	it->is_ip6 = inet_pton(AF_INET6, it->host, bin) == 1;
	if (!it->is_ip6) {
		if (strchr(it->host, ':') || tok[0] == '[')
			goto bad;
		for (i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)it->host[i]) &&
			    !strchr(".-_", it->host[i]))
				goto bad;
	}
	it->port = defport;
	if (port) {
		if ((p = addr_port_parse(port, plen)) < 0) {
			snprintf(err, errlen, "bad port in '%.*s'", (int)len, tok);
			return -1;
		}
		it->port = (unsigned)p;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad address '%.*s'", (int)len, tok);
	return -1;
}

struct addrlist *addrlist_parse(const char *text, unsigned default_port,
    char *err, size_t errlen)
{
	struct addrlist *al;
	const char *p;
	size_t n = 0, max = 0;

	for (p = text; *p; p++)
		if (*p == ',' || isspace((unsigned char)*p))
			max++;
	max++;
	al = calloc(1, sizeof(*al) + max * sizeof(al->item[0]));
	if (!al) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (p = text; *p;) {
		size_t len;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		len = strcspn(p, ", \t\r\n");
		if (addr_item_parse(p, len, default_port, &al->item[n], err, errlen) < 0) {
			free(al);
			return NULL;
		}
		n++;
		p += len;
	}
	al->n = n;
	return al;
}

void addrlist_free(struct addrlist *al)
{
	free(al);
}

char *addrlist_format(const struct addrlist *al, char *buf, size_t len)
{
	size_t i, off = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; al && i < al->n && off < len; i++) {
		const struct addr_item *it = &al->item[i];
		int w;

		if (it->port == 0)	/* "the transport's port" */
			w = snprintf(buf + off, len - off, it->is_ip6 ? "%s[%s]" : "%s%s",
			    i ? ", " : "", it->host);
		else
			w = snprintf(buf + off, len - off, it->is_ip6 ? "%s[%s]:%u" : "%s%s:%u",
			    i ? ", " : "", it->host, it->port);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

void addr_sockaddr(struct sockaddr_storage *ss, int family, const void *bytes,
    unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, bytes, 4);
		((struct sockaddr_in *)ss)->sin_port = htons((unsigned short)port);
	} else {
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, bytes, 16);
		((struct sockaddr_in6 *)ss)->sin6_port = htons((unsigned short)port);
	}
}
