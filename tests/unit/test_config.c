/*
 * test_config.c - tern.conf parsing: the DESIGN.md example, every value
 * type, errors that name file:line, duplicates, `config show` reading
 * back to the same configuration, and alias_file (/etc/aliases format:
 * continuations, comments, quoted names, refused targets, precedence).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	/* a cross check names the line of the option that is set */
	expect_error("\ntls_privatekey = /k.pem\n",
	    "t.conf:2: tls_certificate and tls_privatekey go together");
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
	    "odd = \"a@example.org ;b@example.org\"\n"
	    "[router hub]\nhosts = 192.0.2.1 [2001:db8::1]:587\n", &errs);
	if (!cfg)
		fail_msg("%s", errs);
	f = open_memstream(&out1, &len1);
	config_show(cfg, f);
	fclose(f);
	/* an alias is quoted as an option is (found by fuzz_config) */
	assert_non_null(strstr(out1, "\nodd = \"a@example.org ;b@example.org\"\n"));
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

/* a list that config show writes longer than it was (ports, spaces)
 * still reads back: no limit on a line (found by fuzz_config) */
static void test_show_long_list(void **state)
{
	char *text = malloc(3 * 2000 + 64), *errs = NULL, *out = NULL;
	size_t len = 0, off, i;
	struct config *cfg, *cfg2;
	FILE *f;

	(void)state;
	assert_non_null(text);
	off = (size_t)sprintf(text, "listen = ::");
	for (i = 1; i < 2000; i++)
		off += (size_t)sprintf(text + off, ",::");
	sprintf(text + off, "\n");
	cfg = load(text, &errs);
	if (!cfg)
		fail_msg("%s", errs);
	assert_int_equal(cfg->main.listen->n, 2000);
	f = open_memstream(&out, &len);
	config_show(cfg, f);
	fclose(f);
	assert_non_null(strstr(out, "\nlisten = [::]:25, [::]:25, "));
	free(errs);
	errs = NULL;
	cfg2 = load(strchr(out, '\n') + 1, &errs);
	if (!cfg2)
		fail_msg("show output does not load: %s", errs);
	assert_int_equal(cfg2->main.listen->n, 2000);
	config_free(cfg);
	config_free(cfg2);
	free(text);
	free(out);
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

/* ------------------------------------------------------------ alias_file */

/* alias file: text written to a temporary file, named in path */
struct afile {
	char path[64];
	char conf[1024];	/* "alias_file = path\n" + extra */
};

static void afile_make(struct afile *a, const char *text, const char *extra)
{
	FILE *f;
	int fd;

	snprintf(a->path, sizeof(a->path), "/tmp/tern-aliases-XXXXXX");
	fd = mkstemp(a->path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_true((size_t)snprintf(a->conf, sizeof(a->conf), "alias_file = %s\n%s",
	    a->path, extra) < sizeof(a->conf));
}

static void afile_done(struct afile *a)
{
	unlink(a->path);
}

/* wanted: "LINE: message" in the alias file (LINE 0: anywhere) */
static void expect_afile_error(const char *text, int line, const char *msg)
{
	struct afile a;
	char *errs = NULL, want[512];
	struct config *cfg;

	afile_make(&a, text, "");
	cfg = load(a.conf, &errs);
	if (line)
		snprintf(want, sizeof(want), "%s:%d: %s", a.path, line, msg);
	else
		snprintf(want, sizeof(want), "%s", msg);
	if (cfg || !strstr(errs, want))
		fail_msg("aliases:\n%s\nwanted error containing \"%s\", got \"%s\"",
		    text, want, errs);
	free(errs);
	afile_done(&a);
}

static const char aliases_good[] =
    "# /etc/aliases: a comment, then a blank line\n"
    "\n"
    "mailer-daemon: postmaster\n"
    "postmaster: root\n"
    "Root: admin@example.net,\n"
    "\tops\n"
    "  # a comment between continuation lines\n"
    "   , <boss@example.org>\n"
    "\"list x\" : a@example.org b@example.org\r\n"
    "\"q\\\"t\": c@example.org\n"
    "ops :team@example.org,,oncall\n"
    "   \n"
    "oncall:pager@example.org\n";

static void test_alias_file(void **state)
{
	const struct config_alias *al;
	struct afile a;
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	afile_make(&a, aliases_good, "");
	cfg = load(a.conf, &errs);
	if (!cfg)
		fail_msg("%s", errs);
	assert_string_equal(cfg->main.alias_file, a.path);
	assert_int_equal(cfg->n_alias, 7);

	al = config_alias_find(cfg, "ROOT", 4);
	assert_non_null(al);
	assert_string_equal(al->local_part, "root");
	assert_string_equal(al->targets, "admin@example.net, ops, boss@example.org");
	assert_ptr_equal(al->file, cfg->main.alias_file);
	assert_int_equal(al->line, 5);

	al = config_alias_find(cfg, "postmaster", 10);
	assert_non_null(al);
	assert_string_equal(al->targets, "root");
	assert_int_equal(al->line, 4);

	/* a quoted name, found by a quoted local part too */
	al = config_alias_find(cfg, "list x", 6);
	assert_non_null(al);
	assert_string_equal(al->targets, "a@example.org, b@example.org");
	assert_int_equal(al->line, 9);
	assert_ptr_equal(config_alias_find(cfg, "\"List X\"", 8), al);
	al = config_alias_find(cfg, "\"q\\\"t\"", 6);
	assert_non_null(al);
	assert_string_equal(al->local_part, "q\"t");
	assert_ptr_equal(config_alias_find(cfg, "\"root\"", 6),
	    config_alias_find(cfg, "root", 4));

	al = config_alias_find(cfg, "ops", 3);
	assert_non_null(al);
	assert_string_equal(al->targets, "team@example.org, oncall");
	assert_int_equal(al->line, 11);
	al = config_alias_find(cfg, "oncall", 6);
	assert_non_null(al);
	assert_int_equal(al->line, 13);
	assert_null(config_alias_find(cfg, "nobody", 6));
	config_free(cfg);
	free(errs);
	afile_done(&a);
}

/* Debian's default /etc/aliases: bare names only, root not aliased */
static void test_alias_file_debian(void **state)
{
	struct afile a;
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	afile_make(&a, "# See man 5 aliases for format\npostmaster:    root\n", "");
	cfg = load(a.conf, &errs);
	if (!cfg)
		fail_msg("%s", errs);
	assert_int_equal(cfg->n_alias, 1);
	assert_string_equal(cfg->alias[0].targets, "root");
	config_free(cfg);
	free(errs);
	afile_done(&a);

	/* an empty file is fine too */
	afile_make(&a, "", "");
	cfg = load(a.conf, &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_alias, 0);
	config_free(cfg);
	free(errs);
	afile_done(&a);
}

/* [aliases] of tern.conf wins over the file, wherever the section is */
static void test_alias_file_precedence(void **state)
{
	const struct config_alias *al;
	struct afile a;
	char *errs = NULL, *out = NULL;
	size_t len = 0;
	struct config *cfg;
	FILE *f;

	(void)state;
	afile_make(&a, "root: file@example.org\nops: ops@example.org\n",
	    "[aliases]\nROOT = conf@example.org\n");
	cfg = load(a.conf, &errs);
	if (!cfg)
		fail_msg("%s", errs);
	assert_int_equal(cfg->n_alias, 2);
	al = config_alias_find(cfg, "root", 4);
	assert_string_equal(al->targets, "conf@example.org");
	assert_null(al->file);
	assert_int_equal(al->line, 3);
	al = config_alias_find(cfg, "ops", 3);
	assert_string_equal(al->targets, "ops@example.org");
	assert_int_equal(al->line, 2);

	/* show names the file, and lists [aliases] only */
	f = open_memstream(&out, &len);
	config_show(cfg, f);
	fclose(f);
	assert_non_null(strstr(out, "\nalias_file = /tmp/tern-aliases-"));
	assert_non_null(strstr(out, "[aliases]\nroot = conf@example.org\n"));
	assert_null(strstr(out, "ops@example.org"));
	assert_null(strstr(out, "file@example.org"));
	config_free(cfg);
	free(errs);
	errs = NULL;
	/* ... and reads back as the same aliases */
	cfg = load(strchr(out, '\n') + 1, &errs);
	if (!cfg)
		fail_msg("show output does not load:\n%s\n%s", out, errs);
	assert_int_equal(cfg->n_alias, 2);
	assert_null(config_alias_find(cfg, "root", 4)->file);
	assert_non_null(config_alias_find(cfg, "ops", 3)->file);
	config_free(cfg);
	free(out);
	free(errs);
	afile_done(&a);
}

static void test_alias_file_refused(void **state)
{
	(void)state;
	expect_afile_error("a: b@example.org\nroot: |/bin/cat\n", 2,
	    "alias 'root': '|/bin/cat': tern has no local delivery: pipe to a "
	    "program is not supported");
	expect_afile_error("root: x@example.org, \"|/usr/bin/procmail -d x\"\n", 1,
	    "alias 'root': '\"|/usr/bin/procmail -d x\"': tern has no local delivery: pipe to a "
	    "program is not supported");
	expect_afile_error("nobody: /dev/null\n", 1,
	    "alias 'nobody': '/dev/null': tern has no local delivery: delivery to "
	    "a file is not supported");
	expect_afile_error("staff: a@example.org,\n  :include:/etc/mail/staff\n", 2,
	    "alias 'staff': ':include:/etc/mail/staff': tern has no local delivery: "
	    ":include: lists are not supported");
	expect_afile_error("\n\nroot: \\root, a@example.org\n", 3,
	    "alias 'root': '\\root': tern has no local delivery: \\name");
	expect_afile_error("v: \"q r\"@example.org\n", 1,
	    "alias 'v': '\"q r\"@example.org': quoted addresses are not supported");
}

static void test_alias_file_syntax(void **state)
{
	struct afile a;
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	expect_afile_error(" a@example.org\n", 1,
	    "continuation line (starts with white space) without a name before it");
	expect_afile_error("root admin@example.org\n", 1, "expected 'name: target, ...'");
	expect_afile_error("root:\n", 1, "alias 'root' has no target");
	expect_afile_error("# x\nroot:\n\n# y\n", 2, "alias 'root' has no target");
	expect_afile_error(": a@example.org\n", 1, "missing alias name before ':'");
	expect_afile_error("x y: a@example.org\n", 1, "alias 'x y': not a local part");
	expect_afile_error("root@example.org: a@example.org\n", 1,
	    "alias 'root@example.org': not a local part (no @domain here)");
	expect_afile_error("\"open: a@example.org\n", 1, "unterminated quoted name");
	expect_afile_error("\"x\" a@example.org\n", 1, "expected ':' after the quoted name");
	expect_afile_error("root: \"|open\n", 1, "alias 'root': unterminated quoted target");
	expect_afile_error("root: a@example.org # admin\n", 1,
	    "alias 'root': '# admin': '#' starts a comment only at the start of a line");
	expect_afile_error("root: a@@example.org\n", 1, "alias 'root': 'a@@example.org' is not an address");
	expect_afile_error("root: x@\n", 1, "alias 'root': 'x@' is not an address");
	expect_afile_error("root: (x)\n", 1, "alias 'root': '(x)' is not an address");
	expect_afile_error("root: a@example.org,\n  Big Boss <boss@example.org>\n", 2,
	    "alias 'root': 'Boss <boss@example.org>': a name before <address> is not "
	    "supported (write the bare address)");
	expect_afile_error("root: a@example.org\nRoot: b@example.org\n", 2,
	    "alias 'root' defined twice (first at line 1)");

	/* every error of the file in one pass, lines counted across
	 * continuations */
	afile_make(&a, "a: |x\n  /y\nb: ok\n  \\z\n", "");
	cfg = load(a.conf, &errs);
	assert_null(cfg);
	assert_non_null(strstr(errs, ":1: alias 'a': '|x'"));
	assert_non_null(strstr(errs, ":2: alias 'a': '/y'"));
	assert_non_null(strstr(errs, ":4: alias 'b': '\\z'"));
	free(errs);
	afile_done(&a);

	/* an unreadable file names the option and the file */
	expect_error("\nalias_file = /nonexistent/aliases\n",
	    "t.conf:2: alias_file /nonexistent/aliases: cannot open: No such file");
	expect_error("alias_file = etc/aliases\n", "t.conf:1: alias_file: must be an absolute path");
}

/* a NUL byte in the alias file is reported with its line */
static void test_alias_file_nul(void **state)
{
	char path[] = "/tmp/tern-aliases-XXXXXX", conf[100], *errs = NULL;
	static const char text[] = "a: b\nc: d\0e\n";
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	snprintf(conf, sizeof(conf), "alias_file = %s\n", path);
	assert_null(load(conf, &errs));
	assert_non_null(strstr(errs, ":2: NUL byte in line"));
	free(errs);
	unlink(path);
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
		cmocka_unit_test(test_show_long_list),
		cmocka_unit_test(test_durations_sizes),
		cmocka_unit_test(test_alias_file),
		cmocka_unit_test(test_alias_file_debian),
		cmocka_unit_test(test_alias_file_precedence),
		cmocka_unit_test(test_alias_file_refused),
		cmocka_unit_test(test_alias_file_syntax),
		cmocka_unit_test(test_alias_file_nul),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
