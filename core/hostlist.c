/*
 * hostlist.c - parse and match Exim-style host/domain lists (hostlist.h).
 *
 * Pure: no I/O, no globals. Memory: one allocation for the list header and
 * its items, one for the copy of the text; hostlist_free releases both.
 */
#include "core/hostlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum hl_kind { HL_ANY, HL_NAME, HL_SUFFIX, HL_SELF, HL_NET4, HL_NET6 };

struct hl_item {
	enum hl_kind kind;
	int negate;
	const char *name;		/* HL_NAME, HL_SUFFIX: into hl->buf */
	unsigned char net[16];		/* HL_NET4 (4 bytes), HL_NET6 */
	unsigned bits;
};

struct hostlist {
	char *text;			/* as written */
	char *buf;			/* items, NUL-separated */
	size_t n;
	struct hl_item item[];
};

/* hl_trim - strip leading and trailing white space in place */
static char *hl_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* hl_parse_net - "addr" or "addr/bits" into item; 0 or -1 */
static int hl_parse_net(char *s, struct hl_item *it)
{
	char *slash = strchr(s, '/');
	unsigned long bits;
	char *end;
	int v6;

	if (slash)
		*slash = '\0';
	v6 = strchr(s, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, s, it->net) != 1)
		return -1;
	it->kind = v6 ? HL_NET6 : HL_NET4;
	it->bits = v6 ? 128 : 32;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || bits > it->bits)
			return -1;
		it->bits = (unsigned)bits;
	}
	return 0;
}

/* hl_looks_numeric - the item is meant as an address (digits, dots,
 * colons, hex, a slash), so a parse failure is an error, not a name */
static int hl_looks_numeric(const char *s)
{
	int colon = 0, dotdigit = 1;

	for (; *s; s++) {
		if (*s == ':')
			colon = 1;
		else if (*s == '/')
			return 1;
		else if (!isdigit((unsigned char)*s) && *s != '.')
			dotdigit = 0;
	}
	return colon || dotdigit;
}

/* hl_split - cut text (modified in place) into items; returns count */
static size_t hl_split(char *s, char **items, size_t max)
{
	char sep = ':';
	int spaced = 0;
	size_t n = 0;
	char *p, *w, *start;

	s = hl_trim(s);
	if (s[0] == '<' && s[1] && !isspace((unsigned char)s[1])) {
		sep = s[1];
		s += 2;
	} else {
		for (p = s; *p; p++)
			if (*p == ':' && p > s && isspace((unsigned char)p[-1])
			    && isspace((unsigned char)p[1]))
				spaced = 1;
	}
	start = w = s;
	for (p = s;; p++) {
		int cut = 0;

		if (*p == '\0')
			cut = 1;
		else if (*p == sep && sep == ':' && !spaced && p[1] == ':') {
			*w++ = ':';	/* "::" is a literal colon */
			p++;
			continue;
		} else if (*p == sep && (sep != ':' || !spaced ||
		    (p > s && isspace((unsigned char)p[-1]) &&
		    isspace((unsigned char)p[1]))))
			cut = 1;
		if (!cut) {
			*w++ = *p;
			continue;
		}
		{
			int end = (*p == '\0');
			char *item;

			*w = '\0';
			item = hl_trim(start);
			if (*item && n < max)
				items[n++] = item;
			if (end)
				break;
			start = w = p + 1;
		}
	}
	return n;
}

struct hostlist *hostlist_parse(const char *text, char *err, size_t errlen)
{
	struct hostlist *hl = NULL;
	char **items = NULL;
	char *buf = NULL;
	size_t n, i, max;

	buf = strdup(text);
	max = strlen(text) / 1 + 1;
	items = calloc(max, sizeof(*items));
	if (!buf || !items) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = hl_split(buf, items, max);
	hl = calloc(1, sizeof(*hl) + n * sizeof(hl->item[0]));
	if (!hl || !(hl->text = strdup(text))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	hl->buf = buf;
	buf = NULL;
	hl->n = n;
	for (i = 0; i < n; i++) {
		struct hl_item *it = &hl->item[i];
		char *s = items[i];

		if (*s == '!') {
			it->negate = 1;
			s = hl_trim(s + 1);
		}
		if (*s == '\0') {
			snprintf(err, errlen, "empty item after '!'");
			goto fail;
		}
		if (strcmp(s, "*") == 0)
			it->kind = HL_ANY;
		else if (strcmp(s, "@") == 0)
			it->kind = HL_SELF;
		else if (*s == '*') {
			it->kind = HL_SUFFIX;
			it->name = s + 1;
		} else if (hl_looks_numeric(s)) {
			if (hl_parse_net(s, it) < 0) {
				snprintf(err, errlen, "bad address or network '%s'", items[i]);
				goto fail;
			}
		} else {
			const char *c;

			for (c = s; *c; c++)
				if (!isalnum((unsigned char)*c) && !strchr(".-_", *c)) {
					snprintf(err, errlen, "bad host name '%s'", s);
					goto fail;
				}
			it->kind = HL_NAME;
			it->name = s;
		}
	}
	free(items);
	return hl;
fail:
	free(items);
	free(buf);
	hostlist_free(hl);
	return NULL;
}

void hostlist_free(struct hostlist *hl)
{
	if (!hl)
		return;
	free(hl->text);
	free(hl->buf);
	free(hl);
}

const char *hostlist_text(const struct hostlist *hl)
{
	return hl ? hl->text : "";
}

int hostlist_is_empty(const struct hostlist *hl)
{
	return !hl || hl->n == 0;
}

/* hl_name_eq - compare host names ignoring case and one trailing dot */
static int hl_name_eq(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);

	if (alen && a[alen - 1] == '.')
		alen--;
	if (blen && b[blen - 1] == '.')
		blen--;
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* hl_net_match - does address text fall in the item's network? */
static int hl_net_match(const struct hl_item *it, const char *addr)
{
	unsigned char a[16];
	unsigned full, rest;
	int v6 = it->kind == HL_NET6;

	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, a) != 1) {
		/* An IPv4-mapped IPv6 address matches IPv4 items. */
		static const unsigned char mapped[12] =
		    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (v6 || inet_pton(AF_INET6, addr, a) != 1 ||
		    memcmp(a, mapped, 12) != 0)
			return 0;
		memmove(a, a + 12, 4);
	}
	full = it->bits / 8;
	rest = it->bits % 8;
	if (memcmp(a, it->net, full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((a[full] & mask) != (it->net[full] & mask))
			return 0;
	}
	return 1;
}

int hostlist_match(const struct hostlist *hl, const char *name,
    const char *addr, const char *self)
{
	size_t i;

	if (!hl)
		return 0;
	for (i = 0; i < hl->n; i++) {
		const struct hl_item *it = &hl->item[i];
		int m = 0;

		switch (it->kind) {
		case HL_ANY:
			m = 1;
			break;
		case HL_SELF:
			m = name && self && hl_name_eq(name, self, strlen(self));
			break;
		case HL_NAME:
			m = name && hl_name_eq(name, it->name, strlen(it->name));
			break;
		case HL_SUFFIX:
			if (name) {
				size_t nl = strlen(name), sl = strlen(it->name);

				if (nl && name[nl - 1] == '.')
					nl--;
				m = nl >= sl && strncasecmp(name + nl - sl,
				    it->name, sl) == 0;
			}
			break;
		case HL_NET4:
		case HL_NET6:
			m = addr && hl_net_match(it, addr);
			break;
		}
		if (m)
			return !it->negate;
	}
	return 0;
}
