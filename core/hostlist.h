/*
 * hostlist.h - Exim-style host and domain lists, parsed once, matched often.
 *
 * Items: `*` (anything), `name` (exact, case-insensitive), `*.example.net`
 * or `*example.net` (suffix), `@` (the primary host name), an IPv4 or IPv6
 * address, `addr/bits` (CIDR); `!item` negates. The first item that matches
 * decides; no match means "not in the list".
 *
 * Separators: `:` as in Exim (`::` stands for a literal colon), or `<X` at
 * the start to choose X. When the list contains a colon with white space on
 * both sides ("127.0.0.0/8 : ::1") only those colons separate, so IPv6
 * addresses need no doubling.
 *
 * hostlist_parse() returns a list the caller frees with hostlist_free(), or
 * NULL with a message in err. The list owns a copy of its text.
 */
#ifndef TERN_HOSTLIST_H
#define TERN_HOSTLIST_H

#include <stddef.h>

struct hostlist;

struct hostlist *hostlist_parse(const char *text, char *err, size_t errlen);
void hostlist_free(struct hostlist *hl);
/* hostlist_text - the list as written (for config show) */
const char *hostlist_text(const struct hostlist *hl);
int hostlist_is_empty(const struct hostlist *hl);

/* hostlist_match - 1 when name (may be NULL) or addr (text, may be NULL)
 * matches; self is what `@` stands for (may be NULL). */
int hostlist_match(const struct hostlist *hl, const char *name,
    const char *addr, const char *self);

#endif
