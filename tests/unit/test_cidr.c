/* net/cidr: CIDR parsing and arithmetic, EC2's reserved addresses, address
 * allocation, and the names derived from ids and addresses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/cidr.h"

static void test_parse(void **state)
{
	struct cidr c;
	char out[19];
	uint32_t ip;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/16", &c), 0);
	assert_int_equal(c.base, 0x0a000000u);
	assert_int_equal(c.prefix, 16);
	cidr_format(&c, out);
	assert_string_equal(out, "10.0.0.0/16");
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(cidr_parse("255.255.255.255/32", &c), 0);
	/* host bits, junk, out of range */
	static const char *const bad[] = {
		"10.0.0.1/16", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0/16", "10.0.0.0.0/16", "256.0.0.0/8",
		"10.0.0.0/016", "a.b.c.d/8", "10.0.0.0/1x", "/8", "", "10..0.0/16", " 10.0.0.0/16", "1000.0.0.0/8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cidr_parse(bad[i], &c), -EINVAL);
	assert_int_equal(ip_parse("192.168.1.20", &ip), 0);
	assert_int_equal(ip, 0xc0a80114u);
	ip_format(ip, out);
	assert_string_equal(out, "192.168.1.20");
	assert_int_equal(ip_parse("1.2.3", &ip), -EINVAL);
	assert_int_equal(ip_parse("1.2.3.4 ", &ip), -EINVAL);
	assert_int_equal(ip_parse(NULL, &ip), -EINVAL);
}

static void test_contains_overlaps(void **state)
{
	struct cidr vpc, a, b, c;

	(void)state;
	cidr_parse("10.0.0.0/16", &vpc);
	cidr_parse("10.0.1.0/24", &a);
	cidr_parse("10.0.1.128/25", &b);
	cidr_parse("10.1.0.0/24", &c);
	assert_true(cidr_contains(&vpc, &a));
	assert_true(cidr_contains(&vpc, &b));
	assert_false(cidr_contains(&vpc, &c));
	assert_false(cidr_contains(&a, &vpc));
	assert_true(cidr_overlaps(&a, &b));
	assert_true(cidr_overlaps(&b, &a));
	assert_false(cidr_overlaps(&a, &c));
	assert_true(cidr_contains_ip(&a, 0x0a0001ffu));
	assert_false(cidr_contains_ip(&a, 0x0a000200u));
}

static void test_reserved_available(void **state)
{
	struct cidr c;

	(void)state;
	cidr_parse("10.0.0.0/24", &c);
	assert_int_equal(cidr_available(&c), 251);
	cidr_parse("10.0.0.0/28", &c);
	assert_int_equal(cidr_available(&c), 11);
	cidr_parse("172.31.0.0/20", &c);
	assert_int_equal(cidr_available(&c), 4091);
	cidr_parse("10.0.0.0/16", &c);
	assert_int_equal(cidr_available(&c), 65531);
	cidr_parse("10.0.0.16/28", &c);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(cidr_reserved(&c, c.base + i), i <= 3 || i == 15);
}

static bool used_below(uint32_t ip, void *arg)
{
	return ip < *(uint32_t *)arg;
}

static void test_alloc(void **state)
{
	struct cidr c;
	uint32_t ip, limit;

	(void)state;
	cidr_parse("10.0.0.0/28", &c);
	assert_int_equal(cidr_alloc(&c, NULL, NULL, &ip), 0);
	assert_int_equal(ip, 0x0a000004u);          /* .0-.3 are AWS's */
	limit = 0x0a00000au;
	assert_int_equal(cidr_alloc(&c, used_below, &limit, &ip), 0);
	assert_int_equal(ip, 0x0a00000au);
	limit = 0x0a00000eu;
	assert_int_equal(cidr_alloc(&c, used_below, &limit, &ip), 0);
	assert_int_equal(ip, 0x0a00000eu);          /* .14: the last usable */
	limit = 0x0a00000fu;                       /* .15 is the broadcast */
	assert_int_equal(cidr_alloc(&c, used_below, &limit, &ip), -ENOSPC);
	cidr_parse("10.0.0.0/30", &c);
	assert_int_equal(cidr_alloc(&c, NULL, NULL, &ip), -ENOSPC);
}

static void test_names(void **state)
{
	char out[64];

	(void)state;
	ip_hostname(0x0a000105u, out);
	assert_string_equal(out, "ip-10-0-1-5");
	assert_int_equal(ip_domain("us-east-1", out, sizeof(out)), 0);
	assert_string_equal(out, "ec2.internal");
	assert_int_equal(ip_domain("eu-west-1", out, sizeof(out)), 0);
	assert_string_equal(out, "eu-west-1.compute.internal");
	assert_int_equal(ip_domain("eu-west-1", out, 8), -ENAMETOOLONG);
	assert_int_equal(net_ns_name("vpc-0123456789abcdef0", out, sizeof(out)), 0);
	assert_string_equal(out, "hostd-vpc-0123456789abcdef0");
	assert_int_equal(net_bridge_name("subnet-0123456789abcdef0", out, sizeof(out)), 0);
	assert_string_equal(out, "br-56789abcdef0");
	assert_true(strlen(out) <= 15);
	assert_int_equal(net_tap_name("eni-0123456789abcdef0", out, sizeof(out)), 0);
	assert_string_equal(out, "tap-6789abcdef0");
	assert_true(strlen(out) <= 15);
	assert_int_equal(net_tap_name("eni-01234567", out, sizeof(out)), 0);
	assert_string_equal(out, "tap-01234567");
	assert_int_equal(net_tap_name("vpc-0123456789abcdef0", out, sizeof(out)), -EINVAL);
	assert_int_equal(net_tap_name("eni-0123456789ABCDEF0", out, sizeof(out)), -EINVAL);
	assert_int_equal(net_bridge_name("subnet-xyz", out, sizeof(out)), -EINVAL);
	{
		const unsigned char r[5] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };

		net_mac_from(r, out);
		assert_string_equal(out, "02:de:ad:be:ef:01");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_contains_overlaps),
		cmocka_unit_test(test_reserved_available),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
