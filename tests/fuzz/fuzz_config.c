/*
 * fuzz_config.c - libFuzzer target for core/config.c (with the option
 * value parsers of core/addrlist.c and core/hostlist.c): the input is a
 * tern.conf, read with config_load_string(). What follows the first NUL
 * octet is the content of an alias_file: a line that sets alias_file
 * (whatever its value) is rewritten to name a scratch file holding it, so
 * the target never reads a file of the system.
 *
 * Invariants checked (abort on violation): a config that fails has
 * written errors, and every error line names the file (fz.conf or the
 * alias file) as "file:line: " with the line inside that file, or "file: "
 * for the few checks of the whole file (no host name, out of memory) and
 * the "N more errors" line; a config that loads has written nothing;
 * what config_show() prints of it loads again, without errors, and
 * prints the same (so every value reads back as it was);
 * config_alias_find() finds every alias by its name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define FZ_FILE "fz.conf"

static char alias_path[64];

/* lines - how many lines text[0..len) has for the parser */
static int lines(const char *text, size_t len)
{
	int n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len > 0 && text[len - 1] != '\n');
}

/* lineless_ok - the errors about the whole file, which have no line */
static int lineless_ok(const char *m, size_t n)
{
	static const char *const whole[] = { "primary_hostname is not set",
		"out of memory", "no router:" };
	size_t i;

	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (n >= strlen(whole[i]) && strncmp(m, whole[i], strlen(whole[i])) == 0)
			return 1;
	/* "N more errors" */
	for (i = 0; i < n && m[i] >= '0' && m[i] <= '9'; i++)
		;
	return i > 0 && n - i == 12 && strncmp(m + i, " more errors", 12) == 0;
}

/* check_errors - every line "file:N: ...", "file: ..." */
static void check_errors(const char *err, size_t len, int conf_lines,
    int alias_lines)
{
	const char *p = err, *end = err + len;

	CHECK(len > 0 && err[len - 1] == '\n');
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t flen;
		int max;

		CHECK(nl != NULL);
		if ((size_t)(nl - p) > strlen(FZ_FILE) &&
		    strncmp(p, FZ_FILE ":", strlen(FZ_FILE) + 1) == 0) {
			flen = strlen(FZ_FILE);
			max = conf_lines;
		} else {
			flen = strlen(alias_path);
			CHECK((size_t)(nl - p) > flen && strncmp(p, alias_path, flen) == 0 &&
			    p[flen] == ':');
			max = alias_lines;
		}
		p += flen + 1;
		if (*p >= '0' && *p <= '9') {
			long line = strtol(p, (char **)&p, 10);

			CHECK(line >= 1 && line <= max && *p == ':');
			p++;
		} else if (!lineless_ok(p + 1, (size_t)(nl - p - 1))) {
			fprintf(stderr, "error without a line: %.*s\n", (int)(nl - p), p);
			abort();
		}
		CHECK(*p == ' ' && p + 1 < nl);
		p = nl + 1;
	}
}

/* show - config_show() into a heap string */
static char *show(const struct config *cfg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	CHECK(f != NULL);
	config_show(cfg, f);
	CHECK(fclose(f) == 0);
	return buf;
}

/* fix_alias_file - a line setting alias_file gets the scratch file's
 * name instead (the parser's view: leading space, name before '=') */
static char *fix_alias_file(const char *text, size_t len, int *any)
{
	size_t cap = len + 1, n = 0, i = 0;
	char *out = malloc(cap);

	CHECK(out != NULL);
	*any = 0;
	while (i < len) {
		size_t e = i, s = i, k;

		while (e < len && text[e] != '\n')
			e++;
		while (s < e && (text[s] == ' ' || (text[s] >= '\t' && text[s] <= '\r')))
			s++;
		k = s;
		while (k < e && text[k] != '=')
			k++;
		if (k < e && k - s >= 10 && strncmp(text + s, "alias_file", 10) == 0) {
			size_t j = s + 10;

			while (j < k && (text[j] == ' ' || (text[j] >= '\t' && text[j] <= '\r')))
				j++;
			if (j == k) {
				char line[128];
				int m = snprintf(line, sizeof(line), "alias_file = %s", alias_path);

				cap += (size_t)m;
				out = realloc(out, cap);
				CHECK(out != NULL);
				memcpy(out + n, line, (size_t)m);
				n += (size_t)m;
				*any = 1;
				i = e;
				continue;
			}
		}
		memcpy(out + n, text + i, e - i);
		n += e - i;
		i = e;
		if (i < len)
			out[n++] = text[i++];	/* the LF */
	}
	out[n] = '\0';
	return out;
}

static void alias_cleanup(void)
{
	unlink(alias_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	size_t clen = nul ? (size_t)(nul - in) : size;
	char *text, *err = NULL, *s1, *s2;
	size_t elen = 0, l1, l2, i;
	struct config *cfg, *again;
	FILE *ef;
	int any, alias_lines = 0;

	if (!alias_path[0]) {
		snprintf(alias_path, sizeof(alias_path), "/tmp/fuzz_config.%ld.aliases",
		    (long)getpid());
		atexit(alias_cleanup);
	}
	text = fix_alias_file(in, clen, &any);
	if (any) {
		FILE *af = fopen(alias_path, "w");
		size_t alen = nul ? size - clen - 1 : 0;

		CHECK(af != NULL);
		CHECK(fwrite(nul ? nul + 1 : "", 1, alen, af) == alen);
		CHECK(fclose(af) == 0);
		alias_lines = lines(nul ? nul + 1 : "", alen);
	}

	ef = open_memstream(&err, &elen);
	CHECK(ef != NULL);
	cfg = config_load_string(FZ_FILE, text, ef);
	CHECK(fclose(ef) == 0);
	if (!cfg) {
		check_errors(err, elen, lines(text, strlen(text)), alias_lines);
		free(err);
		free(text);
		return 0;
	}
	CHECK(elen == 0);
	free(err);
	for (i = 0; i < cfg->n_alias; i++) {
		const struct config_alias *a = cfg->alias[i].local_part[0] == '"' ? NULL :
		    config_alias_find(cfg, cfg->alias[i].local_part,
		    strlen(cfg->alias[i].local_part));

		CHECK(a == NULL || a == &cfg->alias[i] ||
		    strcmp(a->local_part, cfg->alias[i].local_part) == 0);
	}

	/* config show reads back as the same configuration */
	s1 = show(cfg, &l1);
	err = NULL;
	elen = 0;
	ef = open_memstream(&err, &elen);
	CHECK(ef != NULL);
	again = config_load_string(FZ_FILE, s1, ef);
	CHECK(fclose(ef) == 0);
	if (!again || elen != 0) {
		fprintf(stderr, "config show does not load again:\n%s\n--- errors:\n%.*s\n",
		    s1, (int)elen, err ? err : "");
		abort();
	}
	free(err);
	s2 = show(again, &l2);
	if (l1 != l2 || memcmp(s1, s2, l1) != 0) {
		fprintf(stderr, "config show differs after a reload:\n%s\n--- again:\n%s\n",
		    s1, s2);
		abort();
	}
	free(s1);
	free(s2);
	config_free(again);
	config_release(cfg);
	free(text);
	return 0;
}
