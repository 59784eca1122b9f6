/*
 * test_dns_servers.c - resolvers from resolv.conf and from dns_servers;
 * only loopback ones are trusted with the AD bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/addrlist.h"
#include "dns/dns.h"

static void test_resolvconf(void **state)
{
	struct dns_servers s;

	(void)state;
	assert_int_equal(dns_servers_from_resolvconf(
	    "# comment\nsearch example.net\nnameserver 127.0.0.53\n"
	    "nameserver   192.0.2.53\nnameserver fe80::1%eth0\n"
	    "nameserver ::1\nnameserver not-an-ip\noptions edns0", &s), 3);
	assert_string_equal(s.s[0].addr, "127.0.0.53");
	assert_int_equal(s.s[0].port, 53);
	assert_true(s.s[0].trusted);
	assert_false(s.s[1].trusted);
	assert_string_equal(s.s[2].addr, "::1");
	assert_true(s.s[2].trusted);
	assert_int_equal(dns_servers_from_resolvconf("", &s), 0);
}

static void test_list(void **state)
{
	char err[128];
	struct addrlist *al = addrlist_parse("127.0.0.1:5353, [::1]", 53, err, sizeof(err));
	struct addrlist *named = addrlist_parse("dns.example.net", 53, err, sizeof(err));
	struct dns_servers s;

	(void)state;
	assert_int_equal(dns_servers_from_list(al, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.s[0].port, 5353);
	assert_int_equal(s.s[1].port, 53);
	assert_int_equal(dns_servers_from_list(named, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "'dns.example.net' is not an IP address");
	addrlist_free(al);
	addrlist_free(named);
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(dns_server_is_loopback("127.1.2.3"));
	assert_true(dns_server_is_loopback("::1"));
	assert_false(dns_server_is_loopback("::2"));
	assert_false(dns_server_is_loopback("128.0.0.1"));
	assert_false(dns_server_is_loopback("localhost"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolvconf),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests_name("dns_servers", tests, NULL, NULL);
}
