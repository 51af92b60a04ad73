/* net/vpcnet: the commands that make a VPC, a subnet, its dnsmasq
 * processes and an ENI's tap, captured in dry-run mode and compared with a
 * golden file (UPDATE_GOLDEN=1 rewrites it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "net/vpcnet.h"

static void golden(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "tests/unit/golden/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	assert_non_null(f);
	{
		static char want[65536];
		size_t n = fread(want, 1, sizeof(want) - 1, f);

		want[n] = '\0';
		fclose(f);
		assert_string_equal(text, want);
	}
}

static void test_commands(void **state)
{
	struct buf log = BUF_INIT;
	struct cidr vpc, sn;
	const char *ns = "hostd-vpc-0123456789abcdef0";

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/16", &vpc), 0);
	assert_int_equal(cidr_parse("10.0.1.0/24", &sn), 0);
	net_dry_run(&log);
	assert_int_equal(net_vpc_ensure(ns, vpc.base + 2), 0);
	assert_int_equal(net_subnet_ensure(ns, "br-456789abcdef", &sn), 0);
	{
		struct net_dhcp d = { .ns = ns, .bridge = "br-456789abcdef", .pidfile = "/s/net/v/subnet-1.pid",
				      .logfile = "/s/net/v/subnet-1.log", .hostsfile = "/run/hostd-net/x/dhcp-hosts",
				      .domain = "ec2.internal", .subnet = sn, .dns_ip = vpc.base + 2 };
		struct net_dns n = { .ns = ns, .pidfile = "/s/net/v/dns.pid", .logfile = "/s/net/v/dns.log",
				     .addn_hosts = "/run/hostd-net/x/hosts", .domain = "ec2.internal",
				     .dns_ip = vpc.base + 2 };

		assert_int_equal(net_dhcp_start(&d), 0);
		assert_int_equal(net_dns_start(&n), 0);
	}
	assert_int_equal(net_tap_create("tap-6789abcdef0", "libvirt-qemu"), 0);
	assert_int_equal(net_tap_plug("tap-6789abcdef0", ns, "br-456789abcdef"), 0);
	/* teardown of what does not exist runs nothing (idempotent) */
	assert_int_equal(net_subnet_destroy(ns, "br-456789abcdef"), 0);
	assert_int_equal(net_vpc_destroy(ns), 0);
	net_dry_run(NULL);
	golden("net-commands.txt", log.data);
	buf_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
