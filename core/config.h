/*
 * config.h - tern.conf: one appliance-friendly INI file (DESIGN.md).
 *
 * Sections: [main], [aliases], [router NAME] (run in file order) and
 * [transport NAME]. Options come from the table in config_options.def;
 * unknown sections and options, bad values and duplicates are errors that
 * name file:line. The file named by alias_file (/etc/aliases format) is
 * read at load time too, into the same alias table after the [aliases]
 * entries; its errors name that file and its line.
 *
 * config_load() returns a struct config the caller frees with config_free();
 * on failure it returns NULL and prints every error (up to a cap) to the
 * errors stream, one "file:line: message" per line. All strings and lists
 * in the struct belong to it.
 */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdio.h>

#include "core/addrlist.h"
#include "core/hostlist.h"

#define CFG_DURATIONS_MAX 16

struct cfg_durations {
	unsigned n;
	long long v[CFG_DURATIONS_MAX];
};

/* C types of the option types */
#define CFG_CTYPE_STR char *
#define CFG_CTYPE_PATH char *
#define CFG_CTYPE_BOOL int
#define CFG_CTYPE_INT long long
#define CFG_CTYPE_SIZE long long
#define CFG_CTYPE_DURATION long long		/* seconds */
#define CFG_CTYPE_DURATIONS struct cfg_durations
#define CFG_CTYPE_ADDRS struct addrlist *
#define CFG_CTYPE_HOSTS struct hostlist *

#define CFG_FIELD(name, type, def, min, max, needs, help) CFG_CTYPE_##type name;

struct config_main {
#define CFG_MAIN CFG_FIELD
#include "core/config_options.def"
#undef CFG_MAIN
};

struct config_router {
	char *name;
	int line;
#define CFG_ROUTER CFG_FIELD
#include "core/config_options.def"
#undef CFG_ROUTER
};

struct config_transport {
	char *name;
	int line;
#define CFG_TRANSPORT CFG_FIELD
#include "core/config_options.def"
#undef CFG_TRANSPORT
};

struct config_alias {
	char *local_part;	/* lower case, without quotes */
	char *targets;		/* comma-separated addresses, as written */
	const char *file;	/* NULL: [aliases]; else main.alias_file */
	int line;		/* of that file */
};

struct config {
	unsigned refs;		/* config_hold/config_release; 1 at load */
	char *file;
	struct config_main main;
	struct config_router *router;
	size_t n_router;
	struct config_transport *transport;
	size_t n_transport;
	struct config_alias *alias;	/* [aliases] first, then alias_file's */
	size_t n_alias;
};

/* config_load - NULL on any error (each written to errors) with errno
 * ENOMEM when memory ran out (a temporary failure), else the reason the
 * file could not be read or EINVAL (it is wrong) */
struct config *config_load(const char *file, FILE *errors);
/* config_load_string - same, from memory (file names the errors) */
struct config *config_load_string(const char *file, const char *text,
    FILE *errors);
void config_free(struct config *cfg);
/* config_hold / config_release - a session that outlives a reload holds
 * the config it started with; release frees it when the last holder
 * lets go (config_load's reference counts as one) */
struct config *config_hold(struct config *cfg);
void config_release(struct config *cfg);
/* config_show - the effective configuration, every option, as tern.conf */
void config_show(const struct config *cfg, FILE *out);
/* config_transport_find - by name, or NULL */
const struct config_transport *config_transport_find(const struct config *cfg,
    const char *name);

/* config_alias_find - the alias of local part lp[0..len) (a quoted
 * local part is unquoted first), compared without regard to case; from
 * [aliases], else from alias_file; or NULL */
const struct config_alias *config_alias_find(const struct config *cfg,
    const char *lp, size_t len);

/* parsers for single values, shared with the command line; 0 or -1 */
int config_parse_duration(const char *s, long long *secs);
int config_parse_size(const char *s, long long *bytes);
int config_parse_bool(const char *s, int *v);

#endif
