/*
 * test_hostlist.c - Exim-style host lists: items, negation, CIDR, the
 * separators, and malformed lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/hostlist.h"

static struct hostlist *parse(const char *s)
{
	char err[256];
	struct hostlist *hl = hostlist_parse(s, err, sizeof(err));

	if (!hl)
		fail_msg("'%s': %s", s, err);
	return hl;
}

static void test_names(void **state)
{
	struct hostlist *hl = parse("mail.example.net : *.example.org : !bad.example.com : *example.com");

	(void)state;
	assert_true(hostlist_match(hl, "MAIL.example.net", NULL, NULL));
	assert_true(hostlist_match(hl, "mail.example.net.", NULL, NULL));
	assert_false(hostlist_match(hl, "example.net", NULL, NULL));
	assert_true(hostlist_match(hl, "a.b.example.org", NULL, NULL));
	assert_false(hostlist_match(hl, "example.org", NULL, NULL));
	assert_false(hostlist_match(hl, "bad.example.com", NULL, NULL));
	assert_true(hostlist_match(hl, "good.example.com", NULL, NULL));
	assert_true(hostlist_match(hl, "example.com", NULL, NULL));
	assert_false(hostlist_match(hl, NULL, "192.0.2.1", NULL));
	hostlist_free(hl);
}

static void test_any_and_empty(void **state)
{
	struct hostlist *any = parse("*"), *empty = parse(""), *notall = parse("!* : x");

	(void)state;
	assert_true(hostlist_match(any, "x", NULL, NULL));
	assert_true(hostlist_match(any, NULL, "::1", NULL));
	assert_false(hostlist_match(empty, "x", "127.0.0.1", NULL));
	assert_true(hostlist_is_empty(empty));
	assert_false(hostlist_match(notall, "x", NULL, NULL));
	assert_false(hostlist_match(NULL, "x", NULL, NULL));
	hostlist_free(any);
	hostlist_free(empty);
	hostlist_free(notall);
}

static void test_networks(void **state)
{
	struct hostlist *hl = parse("127.0.0.0/8 : ::1 : !192.168.1.7 : 192.168.1.0/24 : 2001:db8::/33");

	(void)state;
	assert_true(hostlist_match(hl, NULL, "127.255.0.1", NULL));
	assert_true(hostlist_match(hl, NULL, "::ffff:127.0.0.1", NULL));
	assert_true(hostlist_match(hl, NULL, "::1", NULL));
	assert_false(hostlist_match(hl, NULL, "::2", NULL));
	assert_false(hostlist_match(hl, NULL, "192.168.1.7", NULL));
	assert_true(hostlist_match(hl, NULL, "192.168.1.8", NULL));
	assert_false(hostlist_match(hl, NULL, "192.168.2.1", NULL));
	assert_true(hostlist_match(hl, NULL, "2001:db8:7fff::1", NULL));
	assert_false(hostlist_match(hl, NULL, "2001:db8:8000::1", NULL));
	assert_false(hostlist_match(hl, NULL, "not-an-address", NULL));
	hostlist_free(hl);
}

static void test_separators(void **state)
{
	struct hostlist *exim = parse("127.0.0.1:a.example:fe80::::1");
	struct hostlist *semi = parse("<; ::1 ; 10.0.0.0/8 ; b.example");

	(void)state;
	assert_true(hostlist_match(exim, NULL, "127.0.0.1", NULL));
	assert_true(hostlist_match(exim, "a.example", NULL, NULL));
	assert_true(hostlist_match(exim, NULL, "fe80::1", NULL));
	assert_true(hostlist_match(semi, NULL, "::1", NULL));
	assert_true(hostlist_match(semi, NULL, "10.1.2.3", NULL));
	assert_true(hostlist_match(semi, "b.example", NULL, NULL));
	hostlist_free(exim);
	hostlist_free(semi);
}

static void test_self(void **state)
{
	struct hostlist *hl = parse("@ : other.example");

	(void)state;
	assert_true(hostlist_match(hl, "Router.Example.Net", NULL, "router.example.net"));
	assert_false(hostlist_match(hl, "router.example.net", NULL, NULL));
	assert_true(hostlist_match(hl, "other.example", NULL, "x"));
	hostlist_free(hl);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3.4/x", "300.1.1.1",
		"!", "a b : c", "exa$mple.com", "1.2.3.4/8/8", "fe80::zz",
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hostlist *hl = hostlist_parse(bad[i], err, sizeof(err));

		if (hl)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_any_and_empty),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("hostlist", tests, NULL, NULL);
}
