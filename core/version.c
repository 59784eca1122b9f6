/*
 * version.c - `tern version`: the version and the modules this build has.
 *
 * The module list comes from the Kconfig symbols (core/kconfig.h), so it
 * says what the binary can do, not what a config file asks for.
 * `tern version -v` adds the library versions.
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "core/cli.h"
#include "core/counters.h"
#include "core/kconfig.h"
#include "dns/dns.h"
#include "tls/tls.h"

static const struct {
	const char *name;
	int on;
} version_table[] = {
	{ "sendmail", IS_ENABLED(CONFIG_SENDMAIL) },
	{ "smtp-server", IS_ENABLED(CONFIG_SMTP_SERVER) },
	{ "smtp-client", 1 },
	{ "smarthost", 1 },
	{ "aliases", IS_ENABLED(CONFIG_ROUTER_ALIASES) },
	{ "dnslookup", IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP) },
	{ "auth-client", IS_ENABLED(CONFIG_SMTP_CLIENT_AUTH) },
	{ "bounce", IS_ENABLED(CONFIG_BOUNCE) },
	{ "syslog", IS_ENABLED(CONFIG_LOG_SYSLOG) },
	{ "dns", IS_ENABLED(CONFIG_DNS) },
	{ "dns-cache", IS_ENABLED(CONFIG_DNS_CACHE) },
	{ "tls", IS_ENABLED(CONFIG_TLS) },
	{ "tls-server", IS_ENABLED(CONFIG_TLS_SERVER) },
	{ "dane", IS_ENABLED(CONFIG_TLS_DANE) },
	{ "dane-probe", IS_ENABLED(CONFIG_TLS_DANE_PROBE) },
	{ "events", IS_ENABLED(CONFIG_EVENTS) },
	{ "events-exec", IS_ENABLED(CONFIG_EVENTS_EXEC) },
	{ "events-log", IS_ENABLED(CONFIG_EVENTS_LOG) },
	{ "uci", IS_ENABLED(CONFIG_UCI) },
	{ "debug-counters", IS_ENABLED(CONFIG_DEBUG_COUNTERS) },
	{ "static", IS_ENABLED(CONFIG_STATIC) },
};

const char *version_modules(char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(version_table) / sizeof(version_table[0]); i++) {
		int n;

		if (!version_table[i].on)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
		    version_table[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	char mods[512];

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "-v") != 0)) {
		fprintf(stderr, "usage: tern version [-v]\n");
		return EX_USAGE_;
	}
	printf("tern %s\nmodules: %s\n", TERN_VERSION,
	    version_modules(mods, sizeof(mods)));
	if (argc == 2 || cli->verbose) {
		printf("libuv: %s\n", uv_version_string());
		if (IS_ENABLED(CONFIG_TLS))
			printf("mbedtls: %s\n", tls_library_version());
		if (IS_ENABLED(CONFIG_DNS))
			printf("ldns: %s\n", dns_library_version());
		if (IS_ENABLED(CONFIG_DEBUG_COUNTERS)) {
			printf("counters: ");
			counters_print(stdout);
		}
	}
	return ferror(stdout) ? EX_IOERR_ : EXIT_OK;
}
