/*
 * test_config.c - tern.conf parsing: the DESIGN.md example, every value
 * type, errors that name file:line, duplicates, and `config show` reading
 * back to the same configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/kconfig.h"

/* load text; returns the config (or NULL) and the error output in *errs */
static struct config *load(const char *text, char **errs)
{
	size_t len = 0;
	FILE *f = open_memstream(errs, &len);
	struct config *cfg;

	assert_non_null(f);
	cfg = config_load_string("t.conf", text, f);
	fclose(f);
	return cfg;
}

static void expect_error(const char *text, const char *msg)
{
	char *errs = NULL;
	struct config *cfg = load(text, &errs);

	if (cfg || !strstr(errs, msg))
		fail_msg("config:\n%s\nwanted error containing \"%s\", got \"%s\"",
		    text, msg, errs);
	free(errs);
}

static const char design_example[] =
    "[main]\n"
    "primary_hostname = router.example.net\n"
    "spool_directory = /var/spool/tern\n"
    "log_file = /var/log/tern/main.log       ; or syslog, or stderr\n"
    "listen = 127.0.0.1:25, [::1]:25\n"
    "relay_from_hosts = 127.0.0.0/8 : ::1\n"
    "dns_servers = 127.0.0.1                 ; optional :port, [v6]:port; default /etc/resolv.conf\n"
    "dnssec_request_domains = *\n"
    "event_action = /usr/libexec/tern/event-hook\n"
    "retry_intervals = 5m 15m 1h 4h\n"
    "queue_run_interval = 5m\n"
    "bounce_after = 5d\n"
    "\n"
    "[aliases]\n"
    "root = admin@example.net\n"
    "\n"
    "[router smarthost]                      ; routers run in file order; with none, the\n"
    "                                        ; default is MX delivery (dnslookup -> remote_smtp)\n"
    "hosts = mail.example.net:587           ; a port here overrides the transport's\n"
    "transport = remote_smtp\n"
    "\n"
    "[transport remote_smtp]\n"
    "port = 25\n"
    "hosts_try_dane = *\n"
    "hosts_require_dane =\n"
    "event_action = /usr/libexec/tern/transport-hook\n";

static void test_design_example(void **state)
{
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	if (!IS_ENABLED(CONFIG_SMTP_SERVER) || !IS_ENABLED(CONFIG_DNS) ||
	    !IS_ENABLED(CONFIG_EVENTS) || !IS_ENABLED(CONFIG_TLS_DANE)) {
		/* the example uses options of the listener, DNS, events and
		 * DANE: a smaller build must refuse them by name */
		cfg = load(design_example, &errs);
		assert_null(cfg);
		assert_non_null(strstr(errs, "needs a module"));
		free(errs);
		return;
	}
	cfg = load(design_example, &errs);
	if (!cfg)
		fail_msg("%s", errs);
	assert_string_equal(cfg->main.primary_hostname, "router.example.net");
	assert_string_equal(cfg->main.log_file, "/var/log/tern/main.log");
	assert_int_equal(cfg->main.listen->n, 2);
	assert_string_equal(cfg->main.listen->item[1].host, "::1");
	assert_int_equal(cfg->main.listen->item[1].port, 25);
	assert_true(hostlist_match(cfg->main.relay_from_hosts, NULL, "127.3.4.5", NULL));
	assert_true(hostlist_match(cfg->main.relay_from_hosts, NULL, "::1", NULL));
	assert_false(hostlist_match(cfg->main.relay_from_hosts, NULL, "10.0.0.1", NULL));
	assert_int_equal(cfg->main.retry_intervals.n, 4);
	assert_int_equal(cfg->main.retry_intervals.v[2], 3600);
	assert_int_equal(cfg->main.bounce_after, 5 * 86400);
	assert_int_equal(cfg->n_alias, 1);
	assert_string_equal(cfg->alias[0].targets, "admin@example.net");
	assert_int_equal(cfg->n_router, 1);
	assert_string_equal(cfg->router[0].driver, "manualroute");
	assert_string_equal(cfg->router[0].hosts->item[0].host, "mail.example.net");
	assert_int_equal(cfg->router[0].hosts->item[0].port, 587);
	assert_int_equal(cfg->n_transport, 1);
	assert_true(hostlist_is_empty(cfg->transport[0].hosts_require_dane));
	config_free(cfg);
	free(errs);
}

static void test_defaults(void **state)
{
	char *errs = NULL;
	struct config *cfg = load("", &errs);

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->main.log_file, "syslog");
	assert_true(cfg->main.primary_hostname[0] != '\0');
	assert_int_equal(cfg->main.message_size_limit, 50LL * 1024 * 1024);
	assert_int_equal(cfg->main.queue_only, 0);
	assert_int_equal(cfg->main.queue_run_interval, 300);
	/* loopback only */
	assert_int_equal(cfg->main.listen->n, 2);
	assert_string_equal(cfg->main.listen->item[0].host, "127.0.0.1");
	assert_true(hostlist_match(cfg->main.relay_from_hosts, NULL, "127.0.0.1", NULL));
	assert_false(hostlist_match(cfg->main.relay_from_hosts, NULL, "192.0.2.1", NULL));
	/* the implicit transport exists */
	assert_non_null(config_transport_find(cfg, "remote_smtp"));
	/* local_domains = @ means primary_hostname */
	assert_true(hostlist_match(cfg->main.local_domains,
	    cfg->main.primary_hostname, NULL, cfg->main.primary_hostname));
	config_free(cfg);
	free(errs);
}

static void test_values(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(
	    "message_size_limit = 512K\n"
	    "queue_only = yes\n"
	    "retry_intervals = 30s, 1h30m ,1d\n"
	    "smtp_receive_timeout = 1m30s\n"
	    "primary_hostname = \"host ; with # quotes \\\" \"\n",
	    &errs);

	(void)state;
	if (!cfg)
		fail_msg("%s", errs);
	assert_int_equal(cfg->main.message_size_limit, 512 * 1024);
	assert_int_equal(cfg->main.queue_only, 1);
	assert_int_equal(cfg->main.retry_intervals.n, 3);
	assert_int_equal(cfg->main.retry_intervals.v[1], 5400);
	assert_int_equal(cfg->main.smtp_receive_timeout, 90);
	assert_string_equal(cfg->main.primary_hostname, "host ; with # quotes \" ");
	config_free(cfg);
	free(errs);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[main]\nbogus_option = 1\n", "t.conf:2: unknown option 'bogus_option'");
	expect_error("queue_only = maybe\n", "t.conf:1: queue_only: 'maybe' is not true or false");
	expect_error("\n\nrecipients_max = 0\n", "t.conf:3: recipients_max: '0' is out of range");
	expect_error("message_size_limit = 10X\n", "t.conf:1: message_size_limit: '10X' is not a size");
	expect_error("queue_run_interval = soon\n", "is not a duration");
	expect_error("queue_only = 1\nqueue_only = 0\n", "t.conf:2: option 'queue_only' set twice (first at line 1)");
	expect_error("[mian]\n", "t.conf:1: unknown section [mian]");
	expect_error("[router]\n", "t.conf:1: [router] needs a name");
	expect_error("[router a]\nhosts = x\n[router a]\n", "t.conf:3: [router a] defined twice");
	expect_error("[router a]\nhosts = x\ntransport = nope\n", "[router a]: no [transport nope]");
	expect_error("[router a]\ndriver = manualroute\n", "manualroute needs hosts");
	expect_error("[router a]\nhosts = smarthost:99999\n", "t.conf:2: hosts: bad port");
	expect_error("spool_directory = relative/path\n", "must be an absolute path");
	expect_error("primary_hostname = \"open\n", "unterminated quoted value");
	expect_error("just words\n", "t.conf:1: expected 'name = value'");
	expect_error("[aliases]\nroot = a@b\nROOT = c@d\n", "t.conf:3: alias 'ROOT' defined twice");
	expect_error("[aliases]\nroot =\n", "alias 'root' has no target");
	expect_error("local_domains = 10.0.0.300\n", "bad address or network");
	if (IS_ENABLED(CONFIG_SMTP_SERVER))
		expect_error("listen = 127.0.0.1:0\n", "listen: bad port");
	else
		expect_error("listen = 127.0.0.1:25\n", "needs a module");
	if (!IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP))
		expect_error("", "no router");
}

static void test_many_errors_reported(void **state)
{
	char *errs = NULL;
	struct config *cfg = load("a = 1\nb = 2\nc = 3\n", &errs);

	(void)state;
	assert_null(cfg);
	assert_non_null(strstr(errs, "t.conf:1:"));
	assert_non_null(strstr(errs, "t.conf:2:"));
	assert_non_null(strstr(errs, "t.conf:3:"));
	free(errs);
}

/* config show prints a file that loads back to the same show output */
static void test_show_roundtrip(void **state)
{
	char *errs = NULL, *out1 = NULL, *out2 = NULL, *body;
	size_t len1 = 0, len2 = 0;
	struct config *cfg, *cfg2;
	FILE *f;

	(void)state;
	cfg = load("primary_hostname = \"odd;name\"\nretry_intervals = 90 1d\n"
	    "[aliases]\npostmaster = root@example.org\n"
	    "[router hub]\nhosts = 192.0.2.1 [2001:db8::1]:587\n", &errs);
	if (!cfg)
		fail_msg("%s", errs);
	f = open_memstream(&out1, &len1);
	config_show(cfg, f);
	fclose(f);
	assert_non_null(strstr(out1, "retry_intervals = 1m30s 1d\n"));
	assert_non_null(strstr(out1, "hosts = 192.0.2.1, [2001:db8::1]:587\n"));
	body = strchr(out1, '\n') + 1;	/* skip the comment naming the file */
	free(errs);
	errs = NULL;
	cfg2 = load(body, &errs);
	if (!cfg2)
		fail_msg("show output does not load:\n%s\n%s", out1, errs);
	f = open_memstream(&out2, &len2);
	config_show(cfg2, f);
	fclose(f);
	assert_string_equal(strchr(out2, '\n'), strchr(out1, '\n'));
	config_free(cfg);
	config_free(cfg2);
	free(out1);
	free(out2);
	free(errs);
}

static void test_durations_sizes(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(config_parse_duration("45", &v), 0);
	assert_int_equal(v, 45);
	assert_int_equal(config_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(config_parse_duration("1h1m1s", &v), 0);
	assert_int_equal(v, 3661);
	assert_int_equal(config_parse_duration("", &v), -1);
	assert_int_equal(config_parse_duration("h", &v), -1);
	assert_int_equal(config_parse_duration("99999999999999999999", &v), -1);
	assert_int_equal(config_parse_size("10M", &v), 0);
	assert_int_equal(v, 10 * 1024 * 1024);
	assert_int_equal(config_parse_size("1G", &v), 0);
	assert_int_equal(v, 1024LL * 1024 * 1024);
	assert_int_equal(config_parse_size("1M1K", &v), -1);
	assert_int_equal(config_parse_size("-1", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many_errors_reported),
		cmocka_unit_test(test_show_roundtrip),
		cmocka_unit_test(test_durations_sizes),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
