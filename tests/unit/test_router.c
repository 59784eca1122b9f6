/*
 * test_router.c - aliases (qualification, nesting, loops, postmaster; of
 * [aliases] and of alias_file) and the choice of router by domain, in
 * file order.
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
#include "core/router.h"

struct got {
	char addr[16][ROUTER_ADDR_MAX];
	char why[16][400];
	int n;
};

static void got_cb(void *ctx, const char *addr, const char *why)
{
	struct got *g = ctx;

	if (g->n >= 16)
		return;
	snprintf(g->addr[g->n], sizeof(g->addr[0]), "%s", addr);
	snprintf(g->why[g->n], sizeof(g->why[0]), "%s", why ? why : "");
	g->n++;
}

static struct config *load(const char *text)
{
	struct config *cfg = config_load_string("t.conf", text, stderr);

	assert_non_null(cfg);
	return cfg;
}

static const char base[] =
    "primary_hostname = box.test\n"
    "local_domains = @ : localhost\n"
    "[aliases]\n"
    "root = admin@example.net, ops\n"
    "ops = team@example.org, oncall\n"
    "oncall = pager@example.org\n"
    "loop1 = loop2\n"
    "loop2 = loop1@localhost\n"
    "[router special]\n"
    "domains = *.special.test\n"
    "hosts = 192.0.2.1:2525\n"
    "[router smarthost]\n"
    "hosts = mail.example.net:587 192.0.2.2\n";

static void test_aliases(void **state)
{
	struct config *cfg = load(base);
	struct got g;
	int n;

	(void)state;
	memset(&g, 0, sizeof(g));
	n = router_expand(cfg, "ROOT@box.test", got_cb, &g);
	assert_int_equal(n, 3);
	assert_string_equal(g.addr[0], "admin@example.net");
	assert_string_equal(g.addr[1], "team@example.org");
	assert_string_equal(g.addr[2], "pager@example.org");
	assert_string_equal(g.why[0], "");

	/* a bare postmaster goes to root's alias */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "postmaster", got_cb, &g), 3);

	/* remote addresses pass through */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "x@example.com", got_cb, &g), 1);
	assert_string_equal(g.addr[0], "x@example.com");

	/* a local address without an alias fails */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "nobody@localhost", got_cb, &g), 0);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.why[0], "550 5.1.1"));

	/* a loop is an error */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "loop1@box.test", got_cb, &g), -1);
	assert_non_null(strstr(g.why[g.n - 1], "alias loop"));
	config_release(cfg);
}

static void test_pick(void **state)
{
	struct config *cfg = load(base);
	struct router_choice rc;

	(void)state;
	assert_int_equal(router_pick(cfg, "a@x.special.test", &rc), 0);
	assert_string_equal(rc.name, "special");
	assert_int_equal(rc.kind, ROUTER_SMARTHOST);
	assert_int_equal(rc.router->hosts->item[0].port, 2525);
	assert_non_null(rc.transport);
	assert_string_equal(rc.transport->name, "remote_smtp");
	assert_int_equal(router_pick(cfg, "a@example.org", &rc), 0);
	assert_string_equal(rc.name, "smarthost");
	assert_string_equal(rc.router->hosts->item[0].host, "mail.example.net");
	assert_string_equal(router_domain("a@b.c"), "b.c");
	assert_string_equal(router_domain("nodomain"), "");
	config_release(cfg);
}

static void test_default_router(void **state)
{
	struct config *cfg;
	struct router_choice rc;

	(void)state;
	if (!IS_ENABLED(CONFIG_ROUTER_DNSLOOKUP))
		return;		/* without MX delivery a router is required */
	cfg = load("primary_hostname = box.test\n");
	assert_int_equal(router_pick(cfg, "a@example.org", &rc), 0);
	assert_int_equal(rc.kind, ROUTER_MX);
	assert_string_equal(rc.name, "dnslookup");
	config_release(cfg);
}

static void test_no_router_for_domain(void **state)
{
	struct config *cfg = load("primary_hostname = box.test\n"
	    "[router only]\ndomains = example.org\nhosts = 192.0.2.9\n");
	struct router_choice rc;

	(void)state;
	assert_int_equal(router_pick(cfg, "a@example.com", &rc), -1);
	assert_int_equal(rc.kind, ROUTER_NONE);
	config_release(cfg);
}

/* alias_file entries expand like [aliases] ones, loops included */
static void test_alias_file_loops(void **state)
{
	char path[] = "/tmp/tern-aliases-XXXXXX", conf[512];
	struct config *cfg;
	struct got g;
	FILE *f;
	int fd;

	(void)state;
	if (!IS_ENABLED(CONFIG_ROUTER_ALIASES))
		skip();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("# loops\n"
	    "a: b\n"
	    "b: a@localhost\n"
	    "self: x@example.org, SELF\n"
	    "root: ops, admin@example.net\n"
	    "ops: team@example.org\n"
	    "via-conf: c\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(conf, sizeof(conf), "primary_hostname = box.test\n"
	    "local_domains = @ : localhost\nalias_file = %s\n"
	    "[aliases]\nc = via-conf\n"
	    "[router smarthost]\nhosts = 192.0.2.2\n", path);
	cfg = load(conf);

	/* bare names are qualified with primary_hostname, then expanded */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "Root@box.test", got_cb, &g), 2);
	assert_string_equal(g.addr[0], "team@example.org");
	assert_string_equal(g.addr[1], "admin@example.net");

	/* a: b, b: a is a loop, named with the file and line */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "a@box.test", got_cb, &g), -1);
	assert_non_null(strstr(g.why[g.n - 1], "550 5.4.6 alias loop at 'a'"));
	assert_non_null(strstr(g.why[g.n - 1], path));
	assert_non_null(strstr(g.why[g.n - 1], " line 2)"));

	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "self@localhost", got_cb, &g), -1);
	assert_non_null(strstr(g.why[g.n - 1], "alias loop at 'self'"));

	/* a loop through [aliases] and the file */
	memset(&g, 0, sizeof(g));
	assert_int_equal(router_expand(cfg, "c@box.test", got_cb, &g), -1);
	assert_non_null(strstr(g.why[g.n - 1], "alias loop at 'c' (tern.conf line 5)"));
	config_release(cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_alias_file_loops),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_default_router),
		cmocka_unit_test(test_no_router_for_domain),
	};

	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
