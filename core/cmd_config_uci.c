/*
 * cmd_config_uci.c - `tern config from-uci [FILE]` (CONFIG_UCI): translate
 * the output of `uci show tern` (OpenWrt) into tern.conf on stdout.
 *
 * Input, one assignment per line, as uci(1) prints it:
 *   tern.main=tern                          a section: NAME=TYPE
 *   tern.main.primary_hostname='router.lan' an option
 *   tern.main.listen='127.0.0.1:25' '[::1]:25'   a list (one word each)
 *   tern.@router[0]=router                  an anonymous section
 *   tern.cfg0a1b2c=router                   the same, from `uci show -X`
 * Values are shell words: '...' quoted, '\'' for a quote, bare otherwise.
 *
 * Sections by type:
 *   tern (or main)   -> [main]
 *   router, transport -> [router NAME], [transport NAME]; NAME is the
 *                      section's `name` option, else its uci name, else
 *                      TYPE + index for an anonymous one (router0)
 *   aliases          -> [aliases], each option is LOCAL = TARGET, ...
 *   alias            -> one line of [aliases]: option name, list target
 * Any other type becomes a [TYPE NAME] header and any unknown option a
 * `name = value` line, so that `tern config check` reports them with the
 * line number. What belongs to the OpenWrt init script is not copied:
 * the option `enabled` of the tern section and sections of type `init`
 * (e.g. its `flush_on_ifup` list for the hotplug script). A list is joined as the option's type wants it (hosts
 * with " : ", addresses with ", ", durations with spaces). A value is
 * written in double quotes (\" and \\ escaped) when it would not read
 * back as itself otherwise.
 *
 * Exit: 0, EX_DATAERR for input that is not `uci show` output (FILE:LINE
 * on stderr), EX_NOINPUT when FILE cannot be opened.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/kconfig.h"

enum uci_list { UL_WORDS, UL_HOSTS, UL_ADDRS, UL_COMMA };

/* how each known option joins a list, from the one option table */
struct uci_opt {
	const char *sect, *name;
	enum uci_list join;
};

#define UCI_J_STR UL_WORDS
#define UCI_J_PATH UL_WORDS
#define UCI_J_BOOL UL_WORDS
#define UCI_J_INT UL_WORDS
#define UCI_J_SIZE UL_WORDS
#define UCI_J_DURATION UL_WORDS
#define UCI_J_DURATIONS UL_WORDS
#define UCI_J_ADDRS UL_ADDRS
#define UCI_J_HOSTS UL_HOSTS

static const struct uci_opt uci_opts[] = {
#define CFG_MAIN(n, t, d, lo, hi, need, help) { "main", #n, UCI_J_##t },
#define CFG_ROUTER(n, t, d, lo, hi, need, help) { "router", #n, UCI_J_##t },
#define CFG_TRANSPORT(n, t, d, lo, hi, need, help) { "transport", #n, UCI_J_##t },
#include "core/config_options.def"
#undef CFG_MAIN
#undef CFG_ROUTER
#undef CFG_TRANSPORT
};

struct uci_option {
	char *name;
	char **vals;
	size_t n;
};

struct uci_section {
	char *name;	/* uci name; NULL when anonymous (@type[i]) */
	char *type;
	long index;	/* of @type[index], -1 else */
	struct uci_option *opts;
	size_t n_opts;
	unsigned line;
};

struct uci_doc {
	struct uci_section *s;
	size_t n;
	const char *file;
	unsigned line;
	int err;
};

static void *uci_xrealloc(void *p, size_t n, size_t size)
{
	void *q = n ? realloc(p, n * size) : p;

	if (n && !q) {
		fprintf(stderr, "tern: config from-uci: out of memory\n");
		exit(EX_OSERR_);
	}
	return q;
}

static char *uci_strndup(const char *s, size_t n)
{
	char *d = uci_xrealloc(NULL, n + 1, 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void uci_error(struct uci_doc *d, const char *msg, const char *arg)
{
	fprintf(stderr, "%s:%u: %s%s%s\n", d->file, d->line, msg,
	    arg ? ": " : "", arg ? arg : "");
	d->err = 1;
}

/* uci_words - split a uci value into its shell words; -1 on a bad quote */
static int uci_words(const char *s, char ***out, size_t *n)
{
	char **v = NULL, *w;
	size_t cnt = 0, wl;

	*out = NULL;
	*n = 0;
	w = uci_xrealloc(NULL, strlen(s) + 1, 1);
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		wl = 0;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				for (s++; *s && *s != '\''; s++)
					w[wl++] = *s;
				if (*s != '\'')
					goto bad;
				s++;
			} else if (*s == '\\' && s[1]) {
				w[wl++] = s[1];
				s += 2;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && s[1])
						s++;
					w[wl++] = *s;
				}
				if (*s != '"')
					goto bad;
				s++;
			} else {
				w[wl++] = *s++;
			}
		}
		v = uci_xrealloc(v, cnt + 1, sizeof(*v));
		v[cnt++] = uci_strndup(w, wl);
	}
	free(w);
	*out = v;
	*n = cnt;
	return 0;
bad:
	free(w);
	while (cnt)
		free(v[--cnt]);
	free(v);
	return -1;
}

static int uci_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* uci_section_ref - the section "main" or "@type[i]" names; created (with
 * type NULL) when an option comes before its section line */
static struct uci_section *uci_section_ref(struct uci_doc *d, const char *ref, size_t n)
{
	char *type = NULL, *name = NULL;
	long index = -1;
	size_t i;

	if (n > 1 && ref[0] == '@') {
		const char *br = memchr(ref, '[', n);
		char *end;

		if (!br || ref[n - 1] != ']' || !uci_name_ok(ref + 1, (size_t)(br - ref - 1)))
			return NULL;
		errno = 0;
		index = strtol(br + 1, &end, 10);
		if (end != ref + n - 1 || end == br + 1 || errno || index < 0)
			return NULL;
		type = uci_strndup(ref + 1, (size_t)(br - ref - 1));
	} else if (uci_name_ok(ref, n)) {
		name = uci_strndup(ref, n);
	} else {
		return NULL;
	}
	for (i = 0; i < d->n; i++) {
		struct uci_section *s = &d->s[i];

		if ((name && s->name && strcmp(s->name, name) == 0) ||
		    (type && !s->name && s->type && strcmp(s->type, type) == 0 &&
		     s->index == index)) {
			free(name);
			free(type);
			return s;
		}
	}
	d->s = uci_xrealloc(d->s, d->n + 1, sizeof(*d->s));
	memset(&d->s[d->n], 0, sizeof(d->s[d->n]));
	d->s[d->n].name = name;
	d->s[d->n].type = type;
	d->s[d->n].index = index;
	d->s[d->n].line = d->line;
	return &d->s[d->n++];
}

/* uci_line - one line of `uci show` output */
static void uci_line(struct uci_doc *d, char *l)
{
	char *eq, *dot, *key, **vals;
	size_t n, klen;
	struct uci_section *s;
	struct uci_option *o;

	while (*l == ' ' || *l == '\t')
		l++;
	n = strlen(l);
	while (n && (l[n - 1] == '\n' || l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
		l[--n] = '\0';
	if (!n || l[0] == '#')
		return;
	if (!(eq = strchr(l, '='))) {
		uci_error(d, "not a uci assignment (PACKAGE.SECTION[.OPTION]=VALUE)", l);
		return;
	}
	*eq = '\0';
	if (strncmp(l, "tern.", 5) != 0) {
		uci_error(d, "not the tern package", l);
		return;
	}
	key = l + 5;
	dot = strchr(key, '.');
	klen = dot ? (size_t)(dot - key) : strlen(key);
	if (!(s = uci_section_ref(d, key, klen))) {
		uci_error(d, "bad section name", key);
		return;
	}
	if (uci_words(eq + 1, &vals, &n) < 0) {
		uci_error(d, "unterminated quote in the value of", l);
		return;
	}
	if (!dot) {			/* tern.NAME=TYPE */
		if (n != 1 || !uci_name_ok(vals[0], strlen(vals[0])) ||
		    (s->type && strcmp(s->type, vals[0]) != 0)) {
			uci_error(d, "bad section type for", key);
		} else if (!s->type) {
			s->type = vals[0];
			vals[0] = NULL;
			s->line = d->line;
		}
		while (n)
			free(vals[--n]);
		free(vals);
		return;
	}
	if (!uci_name_ok(dot + 1, strlen(dot + 1))) {
		uci_error(d, "bad option name", dot + 1);
		while (n)
			free(vals[--n]);
		free(vals);
		return;
	}
	s->opts = uci_xrealloc(s->opts, s->n_opts + 1, sizeof(*s->opts));
	o = &s->opts[s->n_opts++];
	o->name = uci_strndup(dot + 1, strlen(dot + 1));
	o->vals = vals;
	o->n = n;
}

static const struct uci_opt *uci_opt_find(const char *sect, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(uci_opts) / sizeof(uci_opts[0]); i++)
		if (strcmp(uci_opts[i].sect, sect) == 0 && strcmp(uci_opts[i].name, name) == 0)
			return &uci_opts[i];
	return NULL;
}

/* uci_put_value - a value as tern.conf reads it back unchanged */
static void uci_put_value(FILE *f, const char *v)
{
	size_t n = strlen(v);
	int quote = n == 0 || isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[n - 1]) || v[0] == '"';
	const char *p;

	for (p = v; *p && !quote; p++)
		if (*p == ';' || *p == '#' || *p == '\\' || *p == '"')
			quote = 1;
	if (!quote) {
		fputs(v, f);
		return;
	}
	putc('"', f);
	for (p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			putc('\\', f);
		putc(*p, f);
	}
	putc('"', f);
}

/* uci_join - the words of a list as one tern.conf value (heap) */
static char *uci_join(const struct uci_option *o, enum uci_list how)
{
	const char *sep = how == UL_HOSTS ? " : " : how == UL_WORDS ? " " : ", ";
	size_t i, len = 1;
	char *s;

	for (i = 0; i < o->n; i++)
		len += strlen(o->vals[i]) + strlen(sep);
	s = uci_xrealloc(NULL, len, 1);
	s[0] = '\0';
	for (i = 0; i < o->n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, o->vals[i]);
	}
	/* a one-item host list with a colon ("::1", "fe80::/10") would be
	 * read as colon-separated: say the separator instead */
	if (how == UL_HOSTS && o->n == 1 && strchr(s, ':')) {
		char *t = uci_xrealloc(NULL, len + 3, 1);

		snprintf(t, len + 3, "<; %s", s);
		free(s);
		s = t;
	}
	return s;
}

static void uci_put_option(FILE *f, const char *sect, const struct uci_option *o)
{
	const struct uci_opt *k = uci_opt_find(sect, o->name);
	char *v = uci_join(o, k ? k->join : UL_WORDS);

	fprintf(f, "%s = ", o->name);
	uci_put_value(f, v);
	putc('\n', f);
	free(v);
}

static const struct uci_option *uci_get(const struct uci_section *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_opts; i++)
		if (strcmp(s->opts[i].name, name) == 0)
			return &s->opts[i];
	return NULL;
}

/* uci_put_alias - one [aliases] line: NAME = TARGET, ... */
static void uci_put_alias(FILE *f, const char *name, const struct uci_option *t)
{
	char *v = t ? uci_join(t, UL_COMMA) : NULL;
	const char *p;
	int quote = 0;

	for (p = name; *p; p++)
		if (isspace((unsigned char)*p) || strchr("@<>()[],;:\"\\#=", *p))
			quote = 1;
	if (quote) {
		putc('"', f);
		for (p = name; *p; p++) {
			if (*p == '"' || *p == '\\')
				putc('\\', f);
			putc(*p, f);
		}
		fputs("\" = ", f);
	} else {
		fprintf(f, "%s = ", name);
	}
	/* targets are addresses: written as they are, so that config check
	 * judges them (it refuses quoted ones) */
	fprintf(f, "%s\n", v ? v : "");
	free(v);
}

/* uci_section_name - the tern name of a router or transport section */
static void uci_section_name(const struct uci_section *s, char *buf, size_t len)
{
	const struct uci_option *o = uci_get(s, "name");

	if (o && o->n == 1)
		snprintf(buf, len, "%s", o->vals[0]);
	else if (s->name)
		snprintf(buf, len, "%s", s->name);
	else
		snprintf(buf, len, "%s%ld", s->type, s->index);
}

static void uci_write(const struct uci_doc *d, FILE *f)
{
	size_t i, j;
	int aliases_open = 0, main_open = 0;

	fprintf(f, "; generated by `tern config from-uci` from %s; edit /etc/config/tern\n",
	    d->file);
	/* [main] first: lines before any header would belong to it anyway */
	for (i = 0; i < d->n; i++) {
		const struct uci_section *s = &d->s[i];

		if (strcmp(s->type, "tern") != 0 && strcmp(s->type, "main") != 0)
			continue;
		if (!main_open)
			fputs("[main]\n", f);
		main_open = 1;
		for (j = 0; j < s->n_opts; j++)
			if (strcmp(s->opts[j].name, "enabled") != 0)
				uci_put_option(f, "main", &s->opts[j]);
	}
	for (i = 0; i < d->n; i++) {
		const struct uci_section *s = &d->s[i];
		char name[256];

		if (strcmp(s->type, "tern") == 0 || strcmp(s->type, "main") == 0 ||
		    strcmp(s->type, "init") == 0)
			continue;
		if (strcmp(s->type, "aliases") == 0 || strcmp(s->type, "alias") == 0) {
			if (!aliases_open)
				fputs("\n[aliases]\n", f);
			aliases_open = 1;
			if (strcmp(s->type, "alias") == 0) {
				const struct uci_option *n = uci_get(s, "name");
				const struct uci_option *t = uci_get(s, "target");

				if (!t)
					t = uci_get(s, "targets");
				uci_put_alias(f, n && n->n == 1 ? n->vals[0] :
				    s->name ? s->name : "", t);
				continue;
			}
			for (j = 0; j < s->n_opts; j++)
				uci_put_alias(f, s->opts[j].name, &s->opts[j]);
			continue;
		}
		uci_section_name(s, name, sizeof(name));
		fprintf(f, "\n[%s %s]\n", s->type, name);
		for (j = 0; j < s->n_opts; j++)
			if (strcmp(s->opts[j].name, "name") != 0 ||
			    (strcmp(s->type, "router") != 0 && strcmp(s->type, "transport") != 0))
				uci_put_option(f, s->type, &s->opts[j]);
	}
}

int cmd_config_uci(int argc, char **argv)
{
	struct uci_doc d = { NULL, 0, "-", 0, 0 };
	FILE *in = stdin;
	char *line = NULL;
	size_t cap = 0, i, j, k;

	if (argc > 2) {
		fprintf(stderr, "usage: tern config from-uci [FILE]\n");
		return EX_USAGE_;
	}
	if (argc == 2 && strcmp(argv[1], "-") != 0) {
		d.file = argv[1];
		if (!(in = fopen(d.file, "r"))) {
			fprintf(stderr, "tern: %s: %s\n", d.file, strerror(errno));
			return EX_NOINPUT_;
		}
	}
	while (getline(&line, &cap, in) >= 0) {
		d.line++;
		uci_line(&d, line);
	}
	free(line);
	if (ferror(in)) {
		fprintf(stderr, "tern: %s: %s\n", d.file, strerror(errno));
		d.err = 1;
	}
	if (in != stdin)
		fclose(in);
	for (i = 0; i < d.n; i++) {
		if (!d.s[i].type) {
			d.line = d.s[i].line;
			uci_error(&d, "options of a section that has no NAME=TYPE line",
			    d.s[i].name);
		}
	}
	if (!d.err) {
		/* a stable partition: [main], then one [aliases] for the alias
		 * sections wherever they are, then routers and the rest in
		 * uci order (routers are tried in file order) */
		struct uci_section *sorted = uci_xrealloc(NULL, d.n, sizeof(*sorted));
		int pass;

		k = 0;
		for (pass = 0; pass < 3; pass++) {
			for (j = 0; j < d.n; j++) {
				const char *t = d.s[j].type;
				int cls = strcmp(t, "tern") == 0 || strcmp(t, "main") == 0 ? 0 :
				    strcmp(t, "aliases") == 0 || strcmp(t, "alias") == 0 ? 1 : 2;

				if (cls == pass)
					sorted[k++] = d.s[j];
			}
		}
		free(d.s);
		d.s = sorted;
		uci_write(&d, stdout);
	}
	for (i = 0; i < d.n; i++) {
		for (j = 0; j < d.s[i].n_opts; j++) {
			for (k = 0; k < d.s[i].opts[j].n; k++)
				free(d.s[i].opts[j].vals[k]);
			free(d.s[i].opts[j].vals);
			free(d.s[i].opts[j].name);
		}
		free(d.s[i].opts);
		free(d.s[i].name);
		free(d.s[i].type);
	}
	free(d.s);
	if (d.err)
		return EX_DATAERR_;
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EX_IOERR_;
}
