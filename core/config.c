/*
 * config.c - read tern.conf into a struct config (config.h).
 *
 * File format: INI. `[section]` or `[router NAME]`/`[transport NAME]`
 * headers; `name = value` lines; `;` or `#` start a comment at the start
 * of a line or after white space; a value in double quotes keeps `;`, `#`
 * and surrounding space (\" and \\ escape). Lines before any header belong
 * to [main]. Routers keep file order.
 *
 * alias_file names a file in the traditional /etc/aliases format, read
 * at load time (so again on every reload) after tern.conf; see the
 * "alias_file" part below for what of aliases(5) is understood.
 *
 * The option table (config_options.def) gives every option its type,
 * default and bounds; config_show() prints from the same table. Parsing
 * collects up to CFG_MAX_ERRORS errors before giving up so that a user
 * fixes a file in one pass. Ownership: config_load returns a heap struct;
 * every string and list in it is freed by config_free.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "core/kconfig.h"

#define CFG_MAX_ERRORS 20
#define CFG_MAX_FILE (1024 * 1024)

enum cfg_type {
	CFG_T_STR, CFG_T_PATH, CFG_T_BOOL, CFG_T_INT, CFG_T_SIZE,
	CFG_T_DURATION, CFG_T_DURATIONS, CFG_T_ADDRS, CFG_T_HOSTS
};

struct cfg_option {
	const char *name;
	enum cfg_type type;
	const char *def;
	long long min, max;
	int available;
	size_t off;
	const char *help;
};

#define CFG_ROW(st, name, type, def, min, max, needs, help) \
	{ #name, CFG_T_##type, def, min, max, needs, offsetof(st, name), help },

static const struct cfg_option cfg_main_opts[] = {
#define CFG_MAIN(...) CFG_ROW(struct config_main, __VA_ARGS__)
#include "core/config_options.def"
#undef CFG_MAIN
	{ NULL, CFG_T_STR, NULL, 0, 0, 0, 0, NULL }
};

static const struct cfg_option cfg_router_opts[] = {
#define CFG_ROUTER(...) CFG_ROW(struct config_router, __VA_ARGS__)
#include "core/config_options.def"
#undef CFG_ROUTER
	{ NULL, CFG_T_STR, NULL, 0, 0, 0, 0, NULL }
};

static const struct cfg_option cfg_transport_opts[] = {
#define CFG_TRANSPORT(...) CFG_ROW(struct config_transport, __VA_ARGS__)
#include "core/config_options.def"
#undef CFG_TRANSPORT
	{ NULL, CFG_T_STR, NULL, 0, 0, 0, 0, NULL }
};

#define CFG_N_MAIN (sizeof(cfg_main_opts) / sizeof(cfg_main_opts[0]) - 1)
#define CFG_N_ROUTER (sizeof(cfg_router_opts) / sizeof(cfg_router_opts[0]) - 1)
#define CFG_N_TRANSPORT (sizeof(cfg_transport_opts) / sizeof(cfg_transport_opts[0]) - 1)

enum cfg_section { SEC_MAIN, SEC_ALIASES, SEC_ROUTER, SEC_TRANSPORT, SEC_BAD };

/* Parser state: where we are and which options each section has set. */
struct cfg_parse {
	struct config *cfg;
	FILE *errors;
	const char *file;
	int line;
	int nerr;
	enum cfg_section sec;
	size_t idx;			/* router/transport index */
	int main_set[CFG_N_MAIN];
	int *router_set;		/* CFG_N_ROUTER per router */
	int *transport_set;
	int oom;			/* an error was "out of memory" */
};

static void cfg_error(struct cfg_parse *p, int line, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static void cfg_error(struct cfg_parse *p, int line, const char *fmt, ...)
{
	char msg[1024];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* want of memory fails the load with ENOMEM (try again), not as a
	 * bad file */
	n = strlen(msg);
	if (n >= 13 && strcmp(msg + n - 13, "out of memory") == 0)
		p->oom = 1;
	if (p->nerr++ >= CFG_MAX_ERRORS)
		return;
	if (!p->errors)
		return;
	if (line > 0)
		fprintf(p->errors, "%s:%d: %s\n", p->file, line, msg);
	else
		fprintf(p->errors, "%s: %s\n", p->file, msg);
}

/* ------------------------------------------------------------ values */

int config_parse_bool(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

/* cfg_number - a decimal number and a unit from table (or none); -1 bad */
static int cfg_number_units(const char *s, const char *units,
    const long long *mult, int sum, long long *out)
{
	long long total = 0;
	int any = 0;

	while (*s) {
		long long v = 0, m = 1;
		const char *u;

		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			if (v > (LLONG_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		if (*s && (u = strchr(units, tolower((unsigned char)*s))) != NULL) {
			m = mult[u - units];
			s++;
		} else if (*s) {
			return -1;
		}
		if (v > LLONG_MAX / m || total > LLONG_MAX - v * m)
			return -1;
		total += v * m;
		any = 1;
		if (!sum && *s)
			return -1;
	}
	if (!any)
		return -1;
	*out = total;
	return 0;
}

int config_parse_duration(const char *s, long long *secs)
{
	static const long long mult[] = { 1, 60, 3600, 86400, 604800 };

	return cfg_number_units(s, "smhdw", mult, 1, secs);
}

int config_parse_size(const char *s, long long *bytes)
{
	static const long long mult[] = { 1024LL, 1024LL * 1024,
	    1024LL * 1024 * 1024 };

	return cfg_number_units(s, "kmg", mult, 0, bytes);
}

/* cfg_format_duration - largest units first: 90 -> "1m30s" */
static void cfg_format_duration(long long v, char *buf, size_t len)
{
	static const struct { char u; long long s; } units[] = {
	    { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
	    { 's', 1 } };
	size_t i, off = 0;

	buf[0] = '\0';
	if (v == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && off < len; i++) {
		if (v >= units[i].s) {
			int w = snprintf(buf + off, len - off, "%lld%c",
			    v / units[i].s, units[i].u);

			if (w < 0)
				return;
			off += (size_t)w;
			v %= units[i].s;
		}
	}
}

static void cfg_format_size(long long v, char *buf, size_t len)
{
	if (v && v % (1024LL * 1024 * 1024) == 0)
		snprintf(buf, len, "%lldG", v / (1024LL * 1024 * 1024));
	else if (v && v % (1024LL * 1024) == 0)
		snprintf(buf, len, "%lldM", v / (1024LL * 1024));
	else if (v && v % 1024 == 0)
		snprintf(buf, len, "%lldK", v / 1024);
	else
		snprintf(buf, len, "%lld", v);
}

/* cfg_value_free - release what an option's field owns */
static void cfg_value_free(const struct cfg_option *o, void *base)
{
	char *field = (char *)base + o->off;

	switch (o->type) {
	case CFG_T_STR:
	case CFG_T_PATH:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CFG_T_ADDRS:
		addrlist_free(*(struct addrlist **)field);
		*(struct addrlist **)field = NULL;
		break;
	case CFG_T_HOSTS:
		hostlist_free(*(struct hostlist **)field);
		*(struct hostlist **)field = NULL;
		break;
	default:
		break;
	}
}

/* cfg_value_set - parse text into the option's field; 0 or -1 with err */
static int cfg_value_set(const struct cfg_option *o, void *base,
    const char *text, char *err, size_t errlen)
{
	char *field = (char *)base + o->off;
	long long v;

	switch (o->type) {
	case CFG_T_STR:
	case CFG_T_PATH: {
		char *s;

		if (o->type == CFG_T_PATH && text[0] && text[0] != '/') {
			snprintf(err, errlen, "must be an absolute path");
			return -1;
		}
		if (!(s = strdup(text))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cfg_value_free(o, base);
		*(char **)field = s;
		return 0;
	}
	case CFG_T_BOOL:
		if (config_parse_bool(text, (int *)(void *)field) < 0) {
			snprintf(err, errlen, "'%s' is not true or false", text);
			return -1;
		}
		return 0;
	case CFG_T_INT:
	case CFG_T_SIZE:
	case CFG_T_DURATION: {
		int r;

		if (o->type == CFG_T_INT) {
			char *end;

			errno = 0;
			v = strtoll(text, &end, 10);
			r = (errno || end == text || *end) ? -1 : 0;
		} else if (o->type == CFG_T_SIZE) {
			r = config_parse_size(text, &v);
		} else {
			r = config_parse_duration(text, &v);
		}
		if (r < 0) {
			snprintf(err, errlen, "'%s' is not %s", text,
			    o->type == CFG_T_INT ? "a number" :
			    o->type == CFG_T_SIZE ? "a size (like 512K, 10M)" :
			    "a duration (like 30s, 5m, 4h, 5d)");
			return -1;
		}
		if (v < o->min || v > o->max) {
			snprintf(err, errlen, "'%s' is out of range %lld..%lld%s",
			    text, o->min, o->max,
			    o->type == CFG_T_DURATION ? " seconds" :
			    o->type == CFG_T_SIZE ? " bytes" : "");
			return -1;
		}
		*(long long *)(void *)field = v;
		return 0;
	}
	case CFG_T_DURATIONS: {
		struct cfg_durations d = { 0, { 0 } };
		const char *p = text;

		while (*p) {
			char item[64];
			size_t n;

			while (*p == ',' || isspace((unsigned char)*p))
				p++;
			if (!*p)
				break;
			n = strcspn(p, ", \t");
			if (n >= sizeof(item) || d.n >= CFG_DURATIONS_MAX) {
				snprintf(err, errlen, "too long (at most %d intervals)",
				    CFG_DURATIONS_MAX);
				return -1;
			}
			memcpy(item, p, n);
			item[n] = '\0';
			if (config_parse_duration(item, &v) < 0 ||
			    v < o->min || v > o->max) {
				snprintf(err, errlen, "'%s' is not a duration in %lld..%lld seconds",
				    item, o->min, o->max);
				return -1;
			}
			d.v[d.n++] = v;
			p += n;
		}
		if (d.n == 0) {
			snprintf(err, errlen, "needs at least one interval");
			return -1;
		}
		*(struct cfg_durations *)(void *)field = d;
		return 0;
	}
	case CFG_T_ADDRS: {
		struct addrlist *al = addrlist_parse(text, (unsigned)o->min, err, errlen);

		if (!al)
			return -1;
		cfg_value_free(o, base);
		*(struct addrlist **)(void *)field = al;
		return 0;
	}
	case CFG_T_HOSTS: {
		struct hostlist *hl = hostlist_parse(text, err, errlen);

		if (!hl)
			return -1;
		cfg_value_free(o, base);
		*(struct hostlist **)(void *)field = hl;
		return 0;
	}
	}
	snprintf(err, errlen, "unknown option type");
	return -1;
}

/* cfg_value_format - the field as it would be written in the file */
static void cfg_value_format(const struct cfg_option *o, const void *base,
    char *buf, size_t len)
{
	const char *field = (const char *)base + o->off;

	buf[0] = '\0';
	switch (o->type) {
	case CFG_T_STR:
	case CFG_T_PATH: {
		const char *s = *(char *const *)(const void *)field;

		snprintf(buf, len, "%s", s ? s : "");
		break;
	}
	case CFG_T_BOOL:
		snprintf(buf, len, "%s", *(const int *)(const void *)field ? "true" : "false");
		break;
	case CFG_T_INT:
		snprintf(buf, len, "%lld", *(const long long *)(const void *)field);
		break;
	case CFG_T_SIZE:
		cfg_format_size(*(const long long *)(const void *)field, buf, len);
		break;
	case CFG_T_DURATION:
		cfg_format_duration(*(const long long *)(const void *)field, buf, len);
		break;
	case CFG_T_DURATIONS: {
		const struct cfg_durations *d = (const void *)field;
		size_t off = 0;
		unsigned i;

		for (i = 0; i < d->n && off + 1 < len; i++) {
			if (i)
				buf[off++] = ' ';
			cfg_format_duration(d->v[i], buf + off, len - off);
			off += strlen(buf + off);
		}
		break;
	}
	case CFG_T_ADDRS:
		addrlist_format(*(struct addrlist *const *)(const void *)field, buf, len);
		break;
	case CFG_T_HOSTS:
		snprintf(buf, len, "%s",
		    hostlist_text(*(struct hostlist *const *)(const void *)field));
		break;
	}
}

/* cfg_defaults - fill every option of a table with its default */
static int cfg_defaults(const struct cfg_option *opts, void *base)
{
	char err[256];
	const struct cfg_option *o;

	for (o = opts; o->name; o++)
		if (cfg_value_set(o, base, o->def, err, sizeof(err)) < 0)
			return -1;
	return 0;
}

static void cfg_values_free(const struct cfg_option *opts, void *base)
{
	const struct cfg_option *o;

	for (o = opts; o->name; o++)
		cfg_value_free(o, base);
}

/* ------------------------------------------------------------ lines */

/* cfg_value_text - the value part of a line: trimmed, comment removed,
 * quotes resolved, in place. NULL with err on a bad quoted string. */
static char *cfg_value_text(char *s, char *err, size_t errlen)
{
	char *e, *w, *r;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		for (r = s + 1, w = s; *r && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		if (*r != '"') {
			snprintf(err, errlen, "unterminated quoted value");
			return NULL;
		}
		*w = '\0';
		for (r++; isspace((unsigned char)*r); r++)
			;
		if (*r && *r != ';' && *r != '#') {
			snprintf(err, errlen, "text after the closing quote");
			return NULL;
		}
		return s;
	}
	for (e = s; *e; e++)
		if ((*e == ';' || *e == '#') &&
		    (e == s || isspace((unsigned char)e[-1]))) {
			*e = '\0';
			break;
		}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct cfg_option *cfg_find(const struct cfg_option *opts,
    const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; opts[i].name; i++)
		if (strcmp(opts[i].name, name) == 0) {
			*idx = i;
			return &opts[i];
		}
	return NULL;
}

static int cfg_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* cfg_header - a "[...]" line */
static void cfg_header(struct cfg_parse *p, char *s)
{
	struct config *cfg = p->cfg;
	char *end = strchr(s, ']'), *kind, *name;
	size_t i;

	p->sec = SEC_BAD;
	if (end) {
		const char *t = end + 1;

		while (isspace((unsigned char)*t))
			t++;
		if (*t && *t != ';' && *t != '#')
			end = NULL;
	}
	if (!end) {
		cfg_error(p, p->line, "bad section header (want [main], [aliases], "
		    "[router NAME] or [transport NAME])");
		return;
	}
	*end = '\0';
	kind = s + 1;
	while (isspace((unsigned char)*kind))
		kind++;
	name = kind + strcspn(kind, " \t");
	if (*name) {
		*name++ = '\0';
		while (isspace((unsigned char)*name))
			name++;
		end = name + strlen(name);
		while (end > name && isspace((unsigned char)end[-1]))
			*--end = '\0';
	}
	if (strcmp(kind, "main") == 0 && !*name) {
		p->sec = SEC_MAIN;
	} else if (strcmp(kind, "aliases") == 0 && !*name) {
		p->sec = SEC_ALIASES;
	} else if (strcmp(kind, "router") == 0 || strcmp(kind, "transport") == 0) {
		int router = kind[0] == 'r';
		size_t n = router ? cfg->n_router : cfg->n_transport;
		void *arr;
		int *set;

		if (!cfg_name_ok(name)) {
			cfg_error(p, p->line, "[%s] needs a name of letters, digits, _ or -",
			    kind);
			return;
		}
		for (i = 0; i < n; i++) {
			const char *other = router ? cfg->router[i].name : cfg->transport[i].name;
			int line = router ? cfg->router[i].line : cfg->transport[i].line;

			if (strcmp(other, name) == 0) {
				cfg_error(p, p->line, "[%s %s] defined twice (first at line %d)",
				    kind, name, line);
				return;
			}
		}
		if (router) {
			arr = realloc(cfg->router, (n + 1) * sizeof(*cfg->router));
			set = arr ? realloc(p->router_set, (n + 1) * CFG_N_ROUTER * sizeof(int)) : NULL;
		} else {
			arr = realloc(cfg->transport, (n + 1) * sizeof(*cfg->transport));
			set = arr ? realloc(p->transport_set, (n + 1) * CFG_N_TRANSPORT * sizeof(int)) : NULL;
		}
		if (arr) {
			if (router)
				cfg->router = arr;
			else
				cfg->transport = arr;
		}
		if (!set) {
			cfg_error(p, p->line, "out of memory");
			return;
		}
		if (router) {
			struct config_router *r = &cfg->router[n];

			p->router_set = set;
			memset(r, 0, sizeof(*r));
			memset(set + n * CFG_N_ROUTER, 0, CFG_N_ROUTER * sizeof(int));
			r->line = p->line;
			if (!(r->name = strdup(name)) || cfg_defaults(cfg_router_opts, r) < 0) {
				cfg_values_free(cfg_router_opts, r);
				free(r->name);
				cfg_error(p, p->line, "out of memory");
				return;
			}
			cfg->n_router++;
			p->sec = SEC_ROUTER;
		} else {
			struct config_transport *t = &cfg->transport[n];

			p->transport_set = set;
			memset(t, 0, sizeof(*t));
			memset(set + n * CFG_N_TRANSPORT, 0, CFG_N_TRANSPORT * sizeof(int));
			t->line = p->line;
			if (!(t->name = strdup(name)) || cfg_defaults(cfg_transport_opts, t) < 0) {
				cfg_values_free(cfg_transport_opts, t);
				free(t->name);
				cfg_error(p, p->line, "out of memory");
				return;
			}
			cfg->n_transport++;
			p->sec = SEC_TRANSPORT;
		}
		p->idx = n;
	} else {
		cfg_error(p, p->line, "unknown section [%s%s%s]", kind, *name ? " " : "", name);
	}
}

/* cfg_alias - a line of [aliases]: local_part = address, address ... */
static const char *cfg_alias_needs_local(const char *t);

static void cfg_alias(struct cfg_parse *p, const char *key, const char *value)
{
	struct config *cfg = p->cfg;
	struct config_alias *a;
	char *lp;
	size_t i;

	for (i = 0; key[i]; i++)
		if (isspace((unsigned char)key[i]) || strchr("@<>()[],;:\"\\", key[i])) {
			cfg_error(p, p->line, "alias '%s': not a local part", key);
			return;
		}
	if (!*value) {
		cfg_error(p, p->line, "alias '%s' has no target", key);
		return;
	}
	/* the same refusals as in alias_file: no local delivery here */
	for (i = 0; value[i]; ) {
		size_t n = strcspn(value + i, ", \t");
		char t[64];
		const char *why;

		snprintf(t, sizeof(t), "%.*s", (int)(n < 63 ? n : 63), value + i);
		if (n && (why = cfg_alias_needs_local(t)) != NULL) {
			cfg_error(p, p->line, "alias '%s': '%s': %s", key, t, why);
			return;
		}
		i += n;
		i += strspn(value + i, ", \t");
	}
	for (i = 0; i < cfg->n_alias; i++)
		if (strcasecmp(cfg->alias[i].local_part, key) == 0) {
			cfg_error(p, p->line, "alias '%s' defined twice (first at line %d)",
			    key, cfg->alias[i].line);
			return;
		}
	a = realloc(cfg->alias, (cfg->n_alias + 1) * sizeof(*a));
	if (!a) {
		cfg_error(p, p->line, "out of memory");
		return;
	}
	cfg->alias = a;
	a = &cfg->alias[cfg->n_alias];
	a->line = p->line;
	a->file = NULL;
	a->local_part = strdup(key);
	a->targets = strdup(value);
	if (!a->local_part || !a->targets) {
		free(a->local_part);
		free(a->targets);
		cfg_error(p, p->line, "out of memory");
		return;
	}
	for (lp = a->local_part; *lp; lp++)
		*lp = (char)tolower((unsigned char)*lp);
	cfg->n_alias++;
}

/* cfg_refused - options tern knows and will not pretend to support;
 * 1 when name is one (the error is reported) */
static int cfg_refused(struct cfg_parse *p, const char *name)
{
	static const struct {
		const char *name, *why;
	} refused[] = {
		{ "hosts_request_ocsp", "OCSP stapling is not available with "
		    "mbedTLS, so tern cannot request or check OCSP responses; "
		    "remove the option (DANE or PKIX with tls_crl instead)" },
		{ "hosts_require_ocsp", "OCSP stapling is not available with "
		    "mbedTLS; remove the option" },
		{ "tls_ocsp_file", "OCSP stapling is not available with mbedTLS; "
		    "remove the option" },
	};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strcmp(refused[i].name, name) == 0) {
			cfg_error(p, p->line, "option '%s' is not supported: %s", name,
			    refused[i].why);
			return 1;
		}
	return 0;
}

/* cfg_option_line - "name = value" in the current section */
static void cfg_option_line(struct cfg_parse *p, char *s)
{
	const struct cfg_option *opts, *o;
	const char *secname;
	char err[256], *eq, *name, *value, *e;
	void *base;
	int *set;
	size_t idx;

	eq = strchr(s, '=');
	if (!eq) {
		cfg_error(p, p->line, "expected 'name = value'");
		return;
	}
	*eq = '\0';
	name = s;
	e = eq;
	while (e > name && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!*name) {
		cfg_error(p, p->line, "missing option name before '='");
		return;
	}
	value = cfg_value_text(eq + 1, err, sizeof(err));
	if (!value) {
		cfg_error(p, p->line, "%s: %s", name, err);
		return;
	}
	switch (p->sec) {
	case SEC_BAD:
		return;		/* the header was reported already */
	case SEC_ALIASES:
		cfg_alias(p, name, value);
		return;
	case SEC_MAIN:
		opts = cfg_main_opts;
		base = &p->cfg->main;
		set = p->main_set;
		secname = "[main]";
		break;
	case SEC_ROUTER:
		opts = cfg_router_opts;
		base = &p->cfg->router[p->idx];
		set = p->router_set + p->idx * CFG_N_ROUTER;
		secname = "[router]";
		break;
	case SEC_TRANSPORT:
	default:
		opts = cfg_transport_opts;
		base = &p->cfg->transport[p->idx];
		set = p->transport_set + p->idx * CFG_N_TRANSPORT;
		secname = "[transport]";
		break;
	}
	if (cfg_refused(p, name))
		return;
	o = cfg_find(opts, name, &idx);
	if (!o) {
		cfg_error(p, p->line, "unknown option '%s' in %s", name, secname);
		return;
	}
	if (!o->available) {
		cfg_error(p, p->line, "option '%s' needs a module this tern was "
		    "built without (see `tern version`)", name);
		return;
	}
	if (set[idx]) {
		cfg_error(p, p->line, "option '%s' set twice (first at line %d)",
		    name, set[idx]);
		return;
	}
	set[idx] = p->line;
	if (cfg_value_set(o, base, value, err, sizeof(err)) < 0)
		cfg_error(p, p->line, "%s: %s", name, err);
}

/* ------------------------------------------------------------ alias_file */

/*
 * The traditional aliases(5) format of sendmail and Postfix:
 *
 *   name: target, target	a new entry starts at the start of a line
 *   <white space>target	continues the entry above
 *   # comment, blank line	ignored (also between continuation lines)
 *
 * A name is a local part, compared without regard to case; it may be in
 * double quotes ("x y": ...; \" and \\ escape). A target is an address
 * (name@domain, maybe in <>) or a bare local name, which the router
 * qualifies with primary_hostname and looks up again. Targets that need
 * local delivery, which tern does not have (|program, /file, :include:
 * and \name), are errors with file:line, as are quoted addresses,
 * "Name <addr>" phrases, a '#' after a target and a name defined twice
 * in the file. A name that [aliases] defines is skipped: tern.conf wins.
 */

/* cfg_slurp - a whole file as a NUL-terminated string (its length in
 * *lenp; a NUL inside is the caller's to find); NULL with err */
static char *cfg_slurp(const char *file, size_t *lenp, char *err, size_t errlen)
{
	char *text = NULL, *t;
	size_t len = 0, cap = 0, n;
	FILE *f;

	f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if (!(t = realloc(text, cap + 1))) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (len > CFG_MAX_FILE) {
			snprintf(err, errlen, "larger than %d bytes", CFG_MAX_FILE);
			goto fail;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		goto fail;
	}
	fclose(f);
	text[len] = '\0';
	*lenp = len;
	return text;
fail:
	free(text);
	fclose(f);
	return NULL;
}

/* cfg_nul_line - the line of the first NUL byte in text[0..len) */
static int cfg_nul_line(const char *text, size_t len)
{
	size_t i;
	int line = 1;

	for (i = 0; i < len && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

/* the entry being read; name points into the file's text */
struct cfg_aentry {
	int active;		/* a name line was seen (good or not) */
	char *name;		/* NULL when the name line was bad */
	int line;
	int bad;		/* an error was reported: not stored */
	char *targets;		/* "a, b, c" */
	size_t len, cap;
};

static int cfg_aentry_add(struct cfg_aentry *e, const char *t, size_t n)
{
	size_t need = e->len + n + 3;

	if (need > e->cap) {
		size_t cap = e->cap ? e->cap : 64;
		char *s;

		while (cap < need)
			cap *= 2;
		if (!(s = realloc(e->targets, cap)))
			return -1;
		e->targets = s;
		e->cap = cap;
	}
	if (e->len) {
		e->targets[e->len++] = ',';
		e->targets[e->len++] = ' ';
	}
	memcpy(e->targets + e->len, t, n);
	e->len += n;
	e->targets[e->len] = '\0';
	return 0;
}

/* cfg_alias_needs_local - why a target that needs local delivery cannot
 * be honoured, or NULL when t is not one */
static const char *cfg_alias_needs_local(const char *t)
{
	if (*t == '|')
		return "tern has no local delivery: pipe to a program is not supported";
	if (*t == '/')
		return "tern has no local delivery: delivery to a file is not supported";
	if (strncasecmp(t, ":include:", 9) == 0)
		return "tern has no local delivery: :include: lists are not supported "
		    "(write the addresses in the alias)";
	if (*t == '\\')
		return "tern has no local delivery: \\name (a local mailbox) is not supported";
	return NULL;
}

/* cfg_alias_refuse - report target t[0..n) as refused */
static void cfg_alias_refuse(struct cfg_parse *p, struct cfg_aentry *e,
    const char *t, size_t n, const char *why)
{
	while (n && isspace((unsigned char)t[n - 1]))
		n--;
	cfg_error(p, p->line, "alias '%s': '%.*s': %s", e->name,
	    (int)(n > 60 ? 60 : n), t, why);
	e->bad = 1;
}

/* cfg_alias_targets - the targets on one line (after "name:" or a
 * continuation line's white space) */
static void cfg_alias_targets(struct cfg_parse *p, struct cfg_aentry *e, char *s)
{
	while (*s) {
		const char *why;
		char *t, *end;
		size_t n, i;
		int at = 0;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (*s == '"') {
			/* quoted: in practice a program or file with spaces */
			for (end = s + 1; *end && *end != '"'; end++)
				if (*end == '\\' && end[1])
					end++;
			if (*end != '"') {
				cfg_error(p, p->line, "alias '%s': unterminated quoted target",
				    e->name);
				e->bad = 1;
				return;
			}
			why = cfg_alias_needs_local(s + 1);
			n = (size_t)(end + 1 - s);
			n += strcspn(s + n, ",");
			cfg_alias_refuse(p, e, s, n, why ? why :
			    "quoted addresses are not supported (write name@domain "
			    "without quotes)");
			s += n;
			continue;
		}
		if ((why = cfg_alias_needs_local(s)) != NULL) {
			/* a command or path may hold spaces: skip to the comma */
			n = strcspn(s, ",");
			cfg_alias_refuse(p, e, s, n, why);
			s += n;
			continue;
		}
		t = s;
		n = strcspn(s, ", \t\r\v\f");
		s += n;
		for (end = s; *end == ' ' || *end == '\t'; end++)
			;
		if (*end == '<') {
			/* Name <addr>: no phrases, the router takes plain words */
			n = (size_t)(end - t) + strcspn(end, ",");
			cfg_alias_refuse(p, e, t, n, "a name before <address> is not "
			    "supported (write the bare address)");
			s = t + n;
			continue;
		}
		if (*t == '#') {
			cfg_alias_refuse(p, e, t, strlen(t), "'#' starts a "
			    "comment only at the start of a line");
			break;
		}
		if (n > 2 && t[0] == '<' && t[n - 1] == '>') {
			t++;
			n -= 2;
		}
		for (i = 0; i < n; i++) {
			if (t[i] == '@')
				at++;
			if (iscntrl((unsigned char)t[i]) || strchr("\"()<>[]\\;:", t[i]))
				break;
		}
		if (i < n || at > 1 || t[0] == '@' || t[n - 1] == '@') {
			cfg_error(p, p->line, "alias '%s': '%.*s' is not an address "
			    "(want name@domain or a local name)", e->name,
			    (int)(n > 60 ? 60 : n), t);
			e->bad = 1;
			continue;
		}
		if (cfg_aentry_add(e, t, n) < 0) {
			cfg_error(p, p->line, "out of memory");
			e->bad = 1;
			return;
		}
	}
}

/* cfg_alias_end - store the entry read so far, if it is good */
static void cfg_alias_end(struct cfg_parse *p, struct cfg_aentry *e)
{
	struct config *cfg = p->cfg;
	struct config_alias *a;
	size_t i;

	if (e->name && !e->bad && !e->len) {
		cfg_error(p, e->line, "alias '%s' has no target", e->name);
		e->bad = 1;
	}
	if (!e->name || e->bad)
		goto out;
	for (i = 0; i < cfg->n_alias; i++) {
		if (strcmp(cfg->alias[i].local_part, e->name) != 0)
			continue;
		if (cfg->alias[i].file)
			cfg_error(p, e->line, "alias '%s' defined twice (first at line %d)",
			    e->name, cfg->alias[i].line);
		goto out;	/* else [aliases] in tern.conf wins */
	}
	a = realloc(cfg->alias, (cfg->n_alias + 1) * sizeof(*a));
	if (!a) {
		cfg_error(p, e->line, "out of memory");
		goto out;
	}
	cfg->alias = a;
	a = &cfg->alias[cfg->n_alias];
	a->file = cfg->main.alias_file;
	a->line = e->line;
	a->local_part = strdup(e->name);
	a->targets = realloc(e->targets, e->len + 1);	/* shrink, hand over */
	if (a->targets)
		e->targets = NULL;
	if (!a->local_part || !a->targets) {
		free(a->local_part);
		free(a->targets);
		cfg_error(p, e->line, "out of memory");
		goto out;
	}
	cfg->n_alias++;
out:
	free(e->targets);
	memset(e, 0, sizeof(*e));
}

/* cfg_alias_name - the "name:" that starts line l; the rest of the line
 * (the targets) or NULL when it is reported bad */
static char *cfg_alias_name(struct cfg_parse *p, struct cfg_aentry *e, char *l)
{
	char *name = l, *rest, *c;

	if (*l == '"') {
		char *w = l, *r;

		for (r = l + 1; *r && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		if (*r != '"') {
			cfg_error(p, p->line, "unterminated quoted name");
			return NULL;
		}
		*w = '\0';
		for (rest = r + 1; isspace((unsigned char)*rest); rest++)
			;
		if (*rest != ':') {
			cfg_error(p, p->line, "expected ':' after the quoted name");
			return NULL;
		}
		rest++;
		for (c = name; *c; c++)
			if (iscntrl((unsigned char)*c)) {
				cfg_error(p, p->line, "control character in the name");
				return NULL;
			}
	} else {
		rest = strchr(l, ':');
		if (!rest) {
			cfg_error(p, p->line, "expected 'name: target, ...'");
			return NULL;
		}
		*rest++ = '\0';
		c = rest - 1;
		while (c > name && isspace((unsigned char)c[-1]))
			*--c = '\0';
		for (c = name; *c; c++)
			if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) ||
			    strchr("@<>()[],;\"\\", *c)) {
				cfg_error(p, p->line, "alias '%s': not a local part%s", name,
				    strchr(name, '@') ? " (no @domain here)" :
				    isspace((unsigned char)*c) ? " (quote a name with spaces)" : "");
				return NULL;
			}
	}
	if (!*name) {
		cfg_error(p, p->line, "missing alias name before ':'");
		return NULL;
	}
	for (c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	e->name = name;
	return rest;
}

/* cfg_alias_parse - every entry of text (modified in place) */
static void cfg_alias_parse(struct cfg_parse *p, char *text)
{
	struct cfg_aentry e;
	char *s = text;

	memset(&e, 0, sizeof(e));
	p->line = 0;
	while (*s) {
		char *l = s, *nl = strchr(s, '\n'), *t, *rest;
		size_t n;

		if (nl) {
			*nl = '\0';
			s = nl + 1;
		} else {
			s += strlen(s);
		}
		p->line++;
		n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[n - 1] = '\0';
		for (t = l; isspace((unsigned char)*t); t++)
			;
		if (!*t || *t == '#')
			continue;
		if (t != l) {
			if (!e.active)
				cfg_error(p, p->line, "continuation line (starts with "
				    "white space) without a name before it");
			else if (e.name)
				cfg_alias_targets(p, &e, t);
			continue;
		}
		cfg_alias_end(p, &e);
		e.active = 1;
		e.line = p->line;
		rest = cfg_alias_name(p, &e, l);
		if (rest)
			cfg_alias_targets(p, &e, rest);
	}
	cfg_alias_end(p, &e);
}

/* cfg_alias_file - read alias_file; its errors name it and its lines */
static void cfg_alias_file(struct cfg_parse *p)
{
	const char *file = p->cfg->main.alias_file, *conf = p->file;
	char err[256], *text;
	size_t idx = 0, len = 0;
	int line;

	line = cfg_find(cfg_main_opts, "alias_file", &idx) ? p->main_set[idx] : 0;
	text = cfg_slurp(file, &len, err, sizeof(err));
	if (!text) {
		cfg_error(p, line, "alias_file %s: %s", file, err);
		return;
	}
	p->file = file;
	if (strlen(text) != len)
		cfg_error(p, cfg_nul_line(text, len), "NUL byte in line");
	else
		cfg_alias_parse(p, text);
	p->file = conf;
	free(text);
}

/* ------------------------------------------------------------ checks */

/* cfg_finish_tls - TLS options that only make sense together */
static void cfg_finish_tls(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	size_t i, cert = 0, key = 0;

	/* the error names the line of the one that is set */
	cfg_find(cfg_main_opts, "tls_certificate", &cert);
	cfg_find(cfg_main_opts, "tls_privatekey", &key);
	if (!cfg->main.tls_certificate != !cfg->main.tls_privatekey ||
	    (cfg->main.tls_certificate && !cfg->main.tls_certificate[0] !=
	    !cfg->main.tls_privatekey[0]))
		cfg_error(p, p->main_set[cert] > p->main_set[key] ? p->main_set[cert] :
		    p->main_set[key], "tls_certificate and tls_privatekey go together: "
		    "set both or neither");
	for (i = 0; i < cfg->n_transport; i++) {
		const struct config_transport *t = &cfg->transport[i];

		if (t->auth_username && t->auth_password_file &&
		    !t->auth_username[0] != !t->auth_password_file[0])
			cfg_error(p, t->line, "[transport %s]: auth_username and "
			    "auth_password_file go together", t->name);
	}
}

/* cfg_finish - defaults that depend on other options, cross checks */
static void cfg_finish(struct cfg_parse *p)
{
	struct config *cfg = p->cfg;
	size_t i;

	if (!cfg->main.primary_hostname[0]) {
		struct utsname u;
		char *h;

		if (uname(&u) < 0 || !u.nodename[0] || !(h = strdup(u.nodename))) {
			cfg_error(p, 0, "primary_hostname is not set and the system has no host name");
		} else {
			free(cfg->main.primary_hostname);
			cfg->main.primary_hostname = h;
		}
	}
	if (!config_transport_find(cfg, "remote_smtp")) {
		struct config_transport *t = realloc(cfg->transport,
		    (cfg->n_transport + 1) * sizeof(*t));

		if (!t) {
			cfg_error(p, 0, "out of memory");
			return;
		}
		cfg->transport = t;
		t = &t[cfg->n_transport];
		memset(t, 0, sizeof(*t));
		if (!(t->name = strdup("remote_smtp")) ||
		    cfg_defaults(cfg_transport_opts, t) < 0) {
			cfg_values_free(cfg_transport_opts, t);
			free(t->name);
			cfg_error(p, 0, "out of memory");
			return;
		}
		cfg->n_transport++;
	}
	for (i = 0; i < cfg->n_router; i++) {
		struct config_router *r = &cfg->router[i];
		int has_hosts = r->hosts && r->hosts->n > 0;

		if (!r->driver[0]) {
			char *d = strdup(has_hosts ? "manualroute" : "dnslookup");

			if (!d) {
				cfg_error(p, r->line, "out of memory");
				continue;
			}
			free(r->driver);
			r->driver = d;
		}
		if (strcmp(r->driver, "manualroute") == 0) {
			if (!has_hosts)
				cfg_error(p, r->line, "[router %s]: manualroute needs hosts",
				    r->name);
		} else if (strcmp(r->driver, "dnslookup") == 0) {
			if (has_hosts)
				cfg_error(p, r->line, "[router %s]: dnslookup takes no hosts "
				    "(use driver = manualroute)", r->name);
			else if (!IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP))
				cfg_error(p, r->line, "[router %s]: this tern was built "
				    "without MX delivery (CONFIG_ROUTER_DNSLOOKUP)", r->name);
		} else {
			cfg_error(p, r->line, "[router %s]: unknown driver '%s' "
			    "(manualroute or dnslookup)", r->name, r->driver);
		}
		if (!config_transport_find(cfg, r->transport))
			cfg_error(p, r->line, "[router %s]: no [transport %s]",
			    r->name, r->transport);
	}
	cfg_finish_tls(p);
	if (cfg->n_router == 0 && !IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP))
		cfg_error(p, 0, "no router: this tern was built without MX delivery, "
		    "so it needs a [router NAME] with hosts = your smarthost");
}

/* ------------------------------------------------------------ public */

struct config *config_load_string(const char *file, const char *text,
    FILE *errors)
{
	struct cfg_parse p;
	struct config *cfg;
	const char *s = text;
	char *line;

	memset(&p, 0, sizeof(p));
	p.errors = errors;
	p.file = file;
	p.sec = SEC_MAIN;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->file = strdup(file)) ||
	    cfg_defaults(cfg_main_opts, &cfg->main) < 0) {
		cfg_error(&p, 0, "out of memory");
		config_free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	p.cfg = cfg;
	/* no limit on a line (the file has one): what config_show()
	 * prints, lists with ports and spaces added, must read back */
	if (!(line = malloc(strlen(text) + 1))) {
		cfg_error(&p, 0, "out of memory");
		config_free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	while (*s) {
		char *l;
		size_t n = strcspn(s, "\n");

		p.line++;
		memcpy(line, s, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		for (l = line; isspace((unsigned char)*l); l++)
			;
		if (*l == '[')
			cfg_header(&p, l);
		else if (*l && *l != ';' && *l != '#')
			cfg_option_line(&p, l);
		s += n;
		if (*s == '\n')
			s++;
	}
	free(line);
	cfg->refs = 1;
	if (cfg->main.alias_file && cfg->main.alias_file[0])
		cfg_alias_file(&p);
	if (p.nerr == 0)
		cfg_finish(&p);
	free(p.router_set);
	free(p.transport_set);
	if (p.nerr) {
		if (p.nerr > CFG_MAX_ERRORS && errors)
			fprintf(errors, "%s: %d more errors\n", file, p.nerr - CFG_MAX_ERRORS);
		config_free(cfg);
		errno = p.oom ? ENOMEM : EINVAL;
		return NULL;
	}
	return cfg;
}

struct config *config_load(const char *file, FILE *errors)
{
	struct config *cfg;
	char err[256], *text;
	size_t len = 0;

	text = cfg_slurp(file, &len, err, sizeof(err));
	if (!text) {
		int e = strcmp(err, "out of memory") == 0 ? ENOMEM : errno;

		if (errors)
			fprintf(errors, "%s: %s\n", file, err);
		errno = e;
		return NULL;
	}
	if (strlen(text) != len) {
		/* a NUL inside: name its line */
		if (errors)
			fprintf(errors, "%s:%d: NUL byte in line\n", file,
			    cfg_nul_line(text, len));
		free(text);
		errno = EINVAL;
		return NULL;
	}
	cfg = config_load_string(file, text, errors);
	free(text);
	return cfg;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	cfg_values_free(cfg_main_opts, &cfg->main);
	for (i = 0; i < cfg->n_router; i++) {
		cfg_values_free(cfg_router_opts, &cfg->router[i]);
		free(cfg->router[i].name);
	}
	for (i = 0; i < cfg->n_transport; i++) {
		cfg_values_free(cfg_transport_opts, &cfg->transport[i]);
		free(cfg->transport[i].name);
	}
	for (i = 0; i < cfg->n_alias; i++) {
		free(cfg->alias[i].local_part);
		free(cfg->alias[i].targets);
	}
	free(cfg->router);
	free(cfg->transport);
	free(cfg->alias);
	free(cfg->file);
	free(cfg);
}

const struct config_alias *config_alias_find(const struct config *cfg,
    const char *lp, size_t len)
{
	char buf[256];
	size_t i;

	if (len >= 2 && lp[0] == '"' && lp[len - 1] == '"') {
		/* "x y"@host: the quotes are not part of the name */
		size_t k, n = 0;

		for (k = 1; k + 1 < len; k++) {
			if (lp[k] == '\\' && k + 2 < len)
				k++;
			if (n + 1 >= sizeof(buf))
				return NULL;
			buf[n++] = lp[k];
		}
		buf[n] = '\0';
		lp = buf;
		len = n;
	}
	for (i = 0; i < cfg->n_alias; i++)
		if (strlen(cfg->alias[i].local_part) == len &&
		    strncasecmp(cfg->alias[i].local_part, lp, len) == 0)
			return &cfg->alias[i];
	return NULL;
}

struct config *config_hold(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void config_release(struct config *cfg)
{
	if (cfg && --cfg->refs == 0)
		config_free(cfg);
}

const struct config_transport *config_transport_find(const struct config *cfg,
    const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_transport; i++)
		if (strcmp(cfg->transport[i].name, name) == 0)
			return &cfg->transport[i];
	return NULL;
}

/* cfg_show_value - "name = value", the value quoted when it would not
 * read back as written */
static void cfg_show_value(const char *name, const char *v, FILE *out)
{
	int quote = strpbrk(v, ";#\"") != NULL || (v[0] &&
	    (isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1])));

	if (!quote) {
		fprintf(out, "%s = %s\n", name, v);
		return;
	}
	fprintf(out, "%s = \"", name);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputs("\"\n", out);
}

/* cfg_value_room - room for the field as cfg_value_format writes it */
static size_t cfg_value_room(const struct cfg_option *o, const void *base)
{
	const char *field = (const char *)base + o->off;

	switch (o->type) {
	case CFG_T_STR:
	case CFG_T_PATH: {
		const char *s = *(char *const *)(const void *)field;

		return (s ? strlen(s) : 0) + 1;
	}
	case CFG_T_ADDRS: {
		const struct addrlist *al = *(struct addrlist *const *)(const void *)field;

		/* ", [host]:65535" each */
		return (al ? al->n : 0) * (sizeof(al->item[0].host) + 12) + 1;
	}
	case CFG_T_HOSTS:
		return strlen(hostlist_text(*(struct hostlist *const *)(const void *)field)) + 1;
	default:
		return 64 * (CFG_DURATIONS_MAX + 1);
	}
}

static void cfg_show_options(const struct cfg_option *opts, const void *base,
    FILE *out)
{
	const struct cfg_option *o;

	for (o = opts; o->name; o++) {
		size_t room = cfg_value_room(o, base);
		char *buf;

		if (!o->available)
			continue;	/* a module this build has not */
		if (!(buf = malloc(room))) {
			fprintf(out, "; %s: out of memory\n", o->name);
			continue;
		}
		cfg_value_format(o, base, buf, room);
		cfg_show_value(o->name, buf, out);
		free(buf);
	}
}

void config_show(const struct config *cfg, FILE *out)
{
	size_t i;

	fprintf(out, "; %s as tern reads it, defaults included\n[main]\n", cfg->file);
	cfg_show_options(cfg_main_opts, &cfg->main, out);
	/* [aliases] only: alias_file's entries stay in that file */
	for (i = 0; i < cfg->n_alias && !cfg->alias[i].file; i++) {
		if (i == 0)
			fputs("\n[aliases]\n", out);
		cfg_show_value(cfg->alias[i].local_part, cfg->alias[i].targets, out);
	}
	if (cfg->n_router == 0)
		fputs("\n; no [router]: MX delivery (dnslookup -> remote_smtp)\n", out);
	for (i = 0; i < cfg->n_router; i++) {
		fprintf(out, "\n[router %s]\n", cfg->router[i].name);
		cfg_show_options(cfg_router_opts, &cfg->router[i], out);
	}
	for (i = 0; i < cfg->n_transport; i++) {
		fprintf(out, "\n[transport %s]\n", cfg->transport[i].name);
		cfg_show_options(cfg_transport_opts, &cfg->transport[i], out);
	}
}
