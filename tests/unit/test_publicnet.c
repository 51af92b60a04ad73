/* net/publicnet: the nat rules of a VPC's public addresses and of the
 * opt-in uplink, as exact text (no root needed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/cidr.h"
#include "net/publicnet.h"

static void test_nat(void **state)
{
	struct net_nat map[] = { { "198.51.100.7", "172.31.0.4" }, { "198.51.100.9", "172.31.0.5" } };
	struct net_nat bad[] = { { "198.51.100.7", "172.31.0" } };
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(net_nat_render(map, 2, true, &b), 0);
	assert_string_equal(b.data, "*nat\n:hd-pre - [0:0]\n:hd-post - [0:0]\n"
				    "-A PREROUTING -j hd-pre\n-A POSTROUTING -j hd-post\n"
				    "-A hd-pre -d 198.51.100.7/32 -j DNAT --to-destination 172.31.0.4\n"
				    "-A hd-pre -d 198.51.100.9/32 -j DNAT --to-destination 172.31.0.5\n"
				    "-A hd-post -s 172.31.0.4/32 -o pub0 -j SNAT --to-source 198.51.100.7\n"
				    "-A hd-post -s 172.31.0.5/32 -o pub0 -j SNAT --to-source 198.51.100.9\n"
				    "COMMIT\n");
	buf_reset(&b);
	/* hooked already: only the chains are redeclared; no pairs: empty chains */
	assert_int_equal(net_nat_render(NULL, 0, false, &b), 0);
	assert_string_equal(b.data, "*nat\n:hd-pre - [0:0]\n:hd-post - [0:0]\nCOMMIT\n");
	buf_reset(&b);
	assert_int_equal(net_nat_render(bad, 1, true, &b), -EINVAL);
	buf_free(&b);
}

static void test_uplink(void **state)
{
	struct cidr pool;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cidr_parse("198.51.100.0/24", &pool), 0);
	assert_int_equal(net_uplink_render("eth0", &pool, true, &b), 0);
	assert_string_equal(b.data,
			    "*nat\n:hd-uplink - [0:0]\n-A POSTROUTING -j hd-uplink\n"
			    "-A hd-uplink -s 198.51.100.0/24 -o eth0 -j MASQUERADE\nCOMMIT\n"
			    "*filter\n:hd-uplink-fwd - [0:0]\n-I FORWARD 1 -j hd-uplink-fwd\n"
			    "-A hd-uplink-fwd -i hd-pubup -o eth0 -s 198.51.100.0/24 -j ACCEPT\n"
			    "-A hd-uplink-fwd -i eth0 -o hd-pubup -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
			    "-A hd-uplink-fwd -o hd-pubup -j DROP\nCOMMIT\n");
	buf_reset(&b);
	/* interface names that could smuggle options or exceed IFNAMSIZ */
	assert_int_equal(net_uplink_render("", &pool, true, &b), -EINVAL);
	assert_int_equal(net_uplink_render("eth0 -j ACCEPT", &pool, true, &b), -EINVAL);
	assert_int_equal(net_uplink_render("a-very-long-interface", &pool, true, &b), -EINVAL);
	assert_int_equal(net_uplink_render("../x", &pool, true, &b), -EINVAL);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_uplink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
