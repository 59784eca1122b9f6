/*
 * cmd_dane.c - `tern dane`: `verify`, the offline DANE check of a
 * certificate chain against TLSA records, with the verifier deliveries
 * use (tls/dane.h); `probe` is handed to dane_probe_main (cli.h).
 *
 *   tern dane verify --name NAME... --tlsa "U S M HEX"... --chain FILE.pem
 *       [--time T]
 *
 * Options repeat; "--opt=value" works too. FILE.pem holds the chain as
 * the server would send it, leaf first. T is seconds since the epoch
 * (default: now). Prints the verdict, then one line per certificate of
 * the file. Exit status: 0 verified, 1 not verified, 64 bad usage or
 * input that cannot be read or parsed (a message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "core/cli.h"
#include "tls/dane.h"
#include "tls/tls.h"

#define DANE_CLI_CHAIN_MAX 32		/* certificates read from the file */
#define DANE_CLI_FILE_MAX (1 << 20)	/* size of the PEM file */

static const char dane_pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char dane_pem_end[] = "-----END CERTIFICATE-----";

/* what `dane verify` collects from its command line; all on the heap,
 * freed by dane_cli_free */
struct dane_cli {
	const char **names;
	size_t n_names;
	struct dane_tlsa *tlsa;
	size_t n_tlsa;
	const char *chain_file;
	long long now;
	struct dane_cert certs[DANE_CLI_CHAIN_MAX];
	size_t n_certs;
};

static void dane_cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: tern dane verify --name NAME... --tlsa \"U S M HEX\"... "
	    "--chain FILE.pem [--time T]\n"
	    "       tern [-C FILE] dane probe HOST [PORT]\n");
}

static void dane_cli_free(struct dane_cli *d)
{
	size_t i;

	for (i = 0; i < d->n_tlsa; i++)
		free((void *)d->tlsa[i].data);
	for (i = 0; i < d->n_certs; i++)
		free((void *)d->certs[i].der);
	free(d->tlsa);
	free(d->names);
}

/* dane_cli_tlsa - one --tlsa argument into the next record; 0 or -1 */
static int dane_cli_tlsa(struct dane_cli *d, const char *text)
{
	size_t cap = strlen(text) / 2 + 1;
	unsigned char *buf = malloc(cap);

	if (buf == NULL) {
		fprintf(stderr, "tern: dane verify: out of memory\n");
		return -1;
	}
	if (dane_tlsa_parse(text, &d->tlsa[d->n_tlsa], buf, cap) != 0) {
		free(buf);
		fprintf(stderr, "tern: dane verify: bad --tlsa \"%s\": want "
		    "\"USAGE SELECTOR MTYPE HEX\", e.g. \"3 1 1 ab12...\"\n", text);
		return -1;
	}
	d->n_tlsa++;
	return 0;
}

/* dane_cli_time - --time T: seconds since the epoch; 0 or -1 */
static int dane_cli_time(struct dane_cli *d, const char *text)
{
	char *end;

	errno = 0;
	d->now = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || d->now < 0) {
		fprintf(stderr, "tern: dane verify: bad --time \"%s\": want "
		    "seconds since 1970-01-01 UTC\n", text);
		return -1;
	}
	return 0;
}

/* dane_cli_value - the value of option opt at argv[*i] ("--opt V" or
 * "--opt=V"), moving *i past it; NULL when argv[*i] is not opt */
static const char *dane_cli_value(int argc, char **argv, int *i,
    const char *opt, int *missing)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[(*i)++] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	*i += 2;
	return argv[*i - 1];
}

/* dane_cli_args - the options of `dane verify`; 0, 1 for help, -1 */
static int dane_cli_args(struct dane_cli *d, int argc, char **argv)
{
	const char *v;
	int i = 1, missing = 0, have_time = 0;

	d->names = calloc((size_t)argc, sizeof(*d->names));
	d->tlsa = calloc((size_t)argc, sizeof(*d->tlsa));
	if (d->names == NULL || d->tlsa == NULL) {
		fprintf(stderr, "tern: dane verify: out of memory\n");
		return -1;
	}
	while (i < argc) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
		if ((v = dane_cli_value(argc, argv, &i, "--name", &missing)) != NULL) {
			d->names[d->n_names++] = v;
		} else if ((v = dane_cli_value(argc, argv, &i, "--tlsa",
		    &missing)) != NULL) {
			if (dane_cli_tlsa(d, v) != 0)
				return -1;
		} else if ((v = dane_cli_value(argc, argv, &i, "--chain",
		    &missing)) != NULL) {
			d->chain_file = v;
		} else if ((v = dane_cli_value(argc, argv, &i, "--time",
		    &missing)) != NULL) {
			if (dane_cli_time(d, v) != 0)
				return -1;
			have_time = 1;
		} else {
			fprintf(stderr, "tern: dane verify: %s %s\n", missing ?
			    "no value after" : "unknown argument", argv[i]);
			return -1;
		}
	}
	if (d->n_names == 0 || d->n_tlsa == 0 || d->chain_file == NULL) {
		fprintf(stderr, "tern: dane verify: --name, --tlsa and --chain "
		    "are needed\n");
		return -1;
	}
	if (!have_time)
		d->now = (long long)time(NULL);
	return 0;
}

/* dane_cli_read - the whole file into a new NUL-terminated buffer */
static char *dane_cli_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL) {
		fprintf(stderr, "tern: dane verify: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(DANE_CLI_FILE_MAX + 1)) != NULL)
		n = fread(buf, 1, DANE_CLI_FILE_MAX + 1, f);
	if (buf == NULL || ferror(f) || n > DANE_CLI_FILE_MAX) {
		fprintf(stderr, "tern: dane verify: %s: %s\n", path, buf == NULL ?
		    "out of memory" : ferror(f) ? "read error" : "too big");
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* dane_cli_pem - decode the base64 between p and end into the next
 * certificate; 0 or -1 */
static int dane_cli_pem(struct dane_cli *d, const char *p, const char *end)
{
	size_t n = 0, len = (size_t)(end - p);
	unsigned char *der;

	if (mbedtls_base64_decode(NULL, 0, &n, (const unsigned char *)p, len) ==
	    MBEDTLS_ERR_BASE64_INVALID_CHARACTER || n == 0)
		return -1;
	if ((der = malloc(n)) == NULL)
		return -1;
	if (mbedtls_base64_decode(der, n, &n, (const unsigned char *)p, len) != 0) {
		free(der);
		return -1;
	}
	d->certs[d->n_certs].der = der;
	d->certs[d->n_certs].len = n;
	d->n_certs++;
	return 0;
}

/* dane_cli_chain - the certificates of the PEM file, in its order */
static int dane_cli_chain(struct dane_cli *d)
{
	char *text = dane_cli_read(d->chain_file), *p, *body, *end;
	int r = -1;

	if (text == NULL)
		return -1;
	for (p = text; (p = strstr(p, dane_pem_begin)) != NULL; p = end) {
		body = p + sizeof(dane_pem_begin) - 1;
		if ((end = strstr(body, dane_pem_end)) == NULL) {
			fprintf(stderr, "tern: dane verify: %s: certificate %zu has "
			    "no END line\n", d->chain_file, d->n_certs + 1);
			goto out;
		}
		if (d->n_certs == DANE_CLI_CHAIN_MAX) {
			fprintf(stderr, "tern: dane verify: %s: more than %d "
			    "certificates\n", d->chain_file, DANE_CLI_CHAIN_MAX);
			goto out;
		}
		if (dane_cli_pem(d, body, end) != 0) {
			fprintf(stderr, "tern: dane verify: %s: certificate %zu is "
			    "not valid base64\n", d->chain_file, d->n_certs + 1);
			goto out;
		}
	}
	if (d->n_certs == 0) {
		fprintf(stderr, "tern: dane verify: %s: no PEM certificate in it\n",
		    d->chain_file);
		goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

/* dane_cli_report - the verdict and the chain on stdout */
static void dane_cli_report(const struct dane_cli *d,
    const struct dane_result *res)
{
	char line[1024];
	size_t i;

	if (res->verified)
		printf("verified: %s (depth %d, record %d)\n", res->reason,
		    res->depth, res->tlsa_index + 1);
	else
		printf("not verified: %s\n", res->reason);
	for (i = 0; i < d->n_certs; i++)
		printf("depth %zu: %s\n", i,
		    tls_cert_describe(&d->certs[i], line, sizeof(line)));
}

/* dane_verify_main - `tern dane verify ...` (argv[0] is "verify") */
static int dane_verify_main(int argc, char **argv)
{
	struct dane_cli d;
	struct dane_input in;
	struct dane_result res;
	int r;

	memset(&d, 0, sizeof(d));
	r = dane_cli_args(&d, argc, argv);
	if (r != 0) {
		dane_cli_usage(r > 0 ? stdout : stderr);
		r = r > 0 ? EXIT_OK : EX_USAGE_;
		goto out;
	}
	if (dane_cli_chain(&d) != 0) {
		r = EX_USAGE_;
		goto out;
	}
	in.tlsa = d.tlsa;
	in.n_tlsa = d.n_tlsa;
	in.chain = d.certs;
	in.n_chain = d.n_certs;
	in.names = d.names;
	in.n_names = d.n_names;
	in.now = d.now;
	if ((r = dane_verify(&in, &res)) < 0) {
		fprintf(stderr, "tern: dane verify: %s: %s\n", d.chain_file,
		    res.reason);
		r = EX_USAGE_;
	} else {
		dane_cli_report(&d, &res);
		r = r == 1 ? EXIT_OK : 1;
	}
out:
	dane_cli_free(&d);
	return r;
}

int cmd_dane(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return dane_verify_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return dane_probe_main(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		dane_cli_usage(stdout);
		return EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "tern: dane: unknown subcommand '%s'\n", argv[1]);
	dane_cli_usage(stderr);
	return EX_USAGE_;
}
