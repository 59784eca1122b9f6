/*
 * test_addrlist.c - endpoint lists as written in tern.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/addrlist.h"

static void test_forms(void **state)
{
	char err[256], buf[512];
	struct addrlist *al = addrlist_parse(
	    "127.0.0.1:25, [::1]:2525 192.0.2.9\t[2001:db8::1] fe80::1 mail.example.net:587",
	    53, err, sizeof(err));

	(void)state;
	if (!al)
		fail_msg("%s", err);
	assert_int_equal(al->n, 6);
	assert_string_equal(al->item[0].host, "127.0.0.1");
	assert_int_equal(al->item[0].port, 25);
	assert_string_equal(al->item[1].host, "::1");
	assert_int_equal(al->item[1].port, 2525);
	assert_true(al->item[1].is_ip6);
	assert_int_equal(al->item[2].port, 53);
	assert_string_equal(al->item[3].host, "2001:db8::1");
	assert_int_equal(al->item[3].port, 53);
	assert_string_equal(al->item[4].host, "fe80::1");
	assert_string_equal(al->item[5].host, "mail.example.net");
	assert_int_equal(al->item[5].port, 587);
	assert_string_equal(addrlist_format(al, buf, sizeof(buf)),
	    "127.0.0.1:25, [::1]:2525, 192.0.2.9:53, [2001:db8::1]:53, "
	    "[fe80::1]:53, mail.example.net:587");
	addrlist_free(al);
}

static void test_empty(void **state)
{
	char err[64];
	struct addrlist *al = addrlist_parse(" , ", 25, err, sizeof(err));

	(void)state;
	assert_non_null(al);
	assert_int_equal(al->n, 0);
	addrlist_free(al);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "[::1", "[::1]x",
		"[::1]:", "[host]:25", "a$b", ":25", "[]:25", "1.2.3.4:123456",
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct addrlist *al = addrlist_parse(bad[i], 25, err, sizeof(err));

		if (al)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("addrlist", tests, NULL, NULL);
}
