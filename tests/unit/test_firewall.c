/* net/firewall: the generated ipset/iptables/ebtables text for representative
 * models (golden files tests/unit/golden/fw-*.txt; set UPDATE_GOLDEN=1 to
 * rewrite them after a deliberate change), fw_apply's commands in dry run,
 * and the refusal of bad models. No root needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/firewall.h"

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

/* ---- a small VPC: subnets a (10.0.1.0/24) and b (10.0.2.0/24) ---- */

static const struct fw_nacl_entry default_nacl[] = {
	{ 100, false, "-1", true, "0.0.0.0/0", -1, -1, -1, -1 },
	{ 100, true, "-1", true, "0.0.0.0/0", -1, -1, -1, -1 },
};

static struct fw_subnet subnets[] = {
	{ "subnet-0a", "br-0a", "10.0.1.0/24", "10.0.1.1", NULL, NULL, 0 },
	{ "subnet-0b", "br-0b", "10.0.2.0/24", "10.0.2.1", "acl-00", default_nacl, 2 },
};

static const struct fw_sg_rule self_ref[] = { { "-1", -1, -1, NULL, "sg-0d" } };
static const struct fw_sg_rule all_out[] = { { "-1", -1, -1, "0.0.0.0/0", NULL } };

static const char *const ips1[] = { "10.0.1.10" };
static const char *const ips2[] = { "10.0.1.11", "10.0.1.200" };
static const char *const ips3[] = { "10.0.2.10" };
static const char *const g_default[] = { "sg-0d" };

static int render(const struct fw_vpc *m, struct buf *all)
{
	struct buf s = BUF_INIT, r = BUF_INIT, e = BUF_INIT;
	int ret = fw_render(m, &s, &r, &e);

	if (ret == 0) {
		buf_printf(all, "# ipset restore\n%s# iptables-restore --noflush\n%s# ebtables-restore --noflush\n%s",
			   s.data ? s.data : "", r.data, e.data);
		/* every chain name fits iptables' 28 characters */
		for (const char *l = r.data; (l = strstr(l, "\n:")); l++)
			assert_true(strcspn(l + 2, " ") <= 28);
	}
	buf_free(&s);
	buf_free(&r);
	buf_free(&e);
	return ret;
}

static void check(const struct fw_vpc *m, const char *name)
{
	struct buf b = BUF_INIT, again = BUF_INIT;

	assert_int_equal(render(m, &b), 0);
	golden(name, b.data);
	/* deterministic */
	assert_int_equal(render(m, &again), 0);
	assert_string_equal(b.data, again.data);
	buf_free(&b);
	buf_free(&again);
}

static void test_default_group(void **state)
{
	struct fw_group g = { "sg-0d", self_ref, 1, all_out, 1 };
	struct fw_eni e = { "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, g_default, 1, true };
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 1, &g, 1, &e, 1 };

	(void)state;
	check(&m, "fw-default.txt");
}

static void test_cidr_rules(void **state)
{
	static const struct fw_sg_rule in[] = {
		{ "tcp", 8000, 8099, "10.0.0.0/16", NULL },   /* port range */
		{ "tcp", 22, 22, "203.0.113.7/32", NULL },    /* one port */
		{ "udp", 53, 53, "0.0.0.0/0", NULL },
		{ "icmp", 3, 4, "10.0.0.0/8", NULL },         /* type and code */
		{ "icmp", 8, -1, "10.0.0.0/8", NULL },        /* any code */
		{ "icmp", -1, -1, "192.168.0.0/16", NULL },   /* any icmp */
		{ "6", 0, 65535, "172.16.0.99/12", NULL },    /* all tcp ports, host bits */
		{ "47", -1, -1, "10.0.0.0/16", NULL },        /* GRE */
		{ "all", -1, -1, "10.0.1.0/24", NULL },
	};
	const char *gs[] = { "sg-0c" };
	struct fw_group g = { "sg-0c", in, sizeof(in) / sizeof(in[0]), all_out, 1 };
	struct fw_eni e = { "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, gs, 1, true };
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 1, &g, 1, &e, 1 };

	(void)state;
	check(&m, "fw-cidr-rules.txt");
}

static void test_group_reference(void **state)
{
	/* web admits tcp 443 from members of lb; lb is a member-less source */
	static const struct fw_sg_rule web_in[] = { { "tcp", 443, 443, NULL, "sg-0b" } };
	struct fw_group gs[] = {
		{ "sg-0e", web_in, 1, all_out, 1 },
		{ "sg-0b", NULL, 0, all_out, 1 },
	};
	const char *web[] = { "sg-0e" }, *lb[] = { "sg-0b" };
	struct fw_eni es[] = {
		{ "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, web, 1, true },
		{ "eni-03", "subnet-0b", "tap-03", "02:00:00:00:02:0a", ips3, 1, lb, 1, true },
	};
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 2, gs, 2, es, 2 };

	(void)state;
	check(&m, "fw-group-ref.txt");
}

static void test_egress_restricted(void **state)
{
	static const struct fw_sg_rule out[] = {
		{ "tcp", 443, 443, "0.0.0.0/0", NULL },
		{ "udp", 123, 123, "10.0.0.0/16", NULL },
		{ "tcp", 5432, 5432, NULL, "sg-0db" },
	};
	struct fw_group gs[] = {
		{ "sg-0a", NULL, 0, out, 3 },
		{ "sg-0db", NULL, 0, NULL, 0 },   /* no egress at all */
	};
	const char *app[] = { "sg-0a" }, *db[] = { "sg-0db" };
	struct fw_eni es[] = {
		{ "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, app, 1, true },
		{ "eni-02", "subnet-0a", "tap-02", "02:00:00:00:01:0b", ips2, 2, db, 1, true },
	};
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 1, gs, 2, es, 2 };

	(void)state;
	check(&m, "fw-egress.txt");
}

static void test_two_enis_several_groups(void **state)
{
	static const struct fw_sg_rule ssh[] = { { "tcp", 22, 22, "10.0.0.0/16", NULL } };
	static const struct fw_sg_rule web[] = { { "tcp", 80, 80, "0.0.0.0/0", NULL }, { "tcp", 443, 443, "0.0.0.0/0", NULL } };
	struct fw_group gs[] = {
		{ "sg-0d", self_ref, 1, all_out, 1 },
		{ "sg-05", ssh, 1, NULL, 0 },
		{ "sg-0e", web, 2, NULL, 0 },
	};
	const char *g1[] = { "sg-0d", "sg-05" }, *g2[] = { "sg-0d", "sg-05", "sg-0e" };
	struct fw_eni es[] = {
		{ "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, g1, 2, true },
		/* a secondary IP: both in the ipsets and the anti-spoofing */
		{ "eni-02", "subnet-0a", "tap-02", "02:00:00:00:01:0b", ips2, 2, g2, 3, true },
		/* not attached: no chains, still a group member */
		{ "eni-03", "subnet-0b", NULL, "02:00:00:00:02:0a", ips3, 1, g1, 1, true },
	};
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 2, gs, 3, es, 3 };

	(void)state;
	check(&m, "fw-two-enis.txt");
}

static void test_source_dest_check_off(void **state)
{
	struct fw_group g = { "sg-0d", self_ref, 1, all_out, 1 };
	struct fw_eni e = { "eni-0a7", "subnet-0a", "tap-0a7", "02:00:00:00:01:0a", ips2, 2, g_default, 1, false };
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 1, &g, 1, &e, 1 };

	(void)state;
	check(&m, "fw-sdc-off.txt");
}

static void test_nacl_deny_before_allow(void **state)
{
	/* given out of order: rendered by rule number */
	static const struct fw_nacl_entry acl[] = {
		{ 200, false, "-1", true, "10.0.0.0/16", -1, -1, -1, -1 },
		{ 100, false, "tcp", false, "10.0.1.0/24", 22, 22, -1, -1 },
		{ 110, false, "udp", true, "0.0.0.0/0", 1024, 65535, -1, -1 },
		{ 120, false, "icmp", false, "0.0.0.0/0", -1, -1, 8, -1 },
		{ 100, true, "tcp", true, "0.0.0.0/0", 1024, 65535, -1, -1 },
		{ 50, true, "icmp", true, "10.0.1.0/24", -1, -1, 0, 0 },
	};
	struct fw_subnet sn[] = {
		subnets[0],
		{ "subnet-0b", "br-0b", "10.0.2.0/24", "10.0.2.1", "acl-0123456789abcdef0", acl, 6 },
		{ "subnet-0c", "br-0c", "10.0.3.0/24", "10.0.3.1", "acl-0e", NULL, 0 },   /* new NACL: deny all */
	};
	struct fw_group g = { "sg-0d", self_ref, 1, all_out, 1 };
	struct fw_eni e = { "eni-03", "subnet-0b", "tap-03", "02:00:00:00:02:0a", ips3, 1, g_default, 1, true };
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", sn, 3, &g, 1, &e, 1 };

	(void)state;
	check(&m, "fw-nacl.txt");
}

static void test_long_ids(void **state)
{
	static const struct fw_sg_rule in[] = { { "tcp", 22, 22, NULL, "sg-0123456789abcdef0" } };
	struct fw_subnet sn = { "subnet-0123456789abcdef0", "br-0123456789ab", "10.0.1.0/24", "10.0.1.1",
				"acl-0123456789abcdef0", NULL, 0 };
	struct fw_group g = { "sg-0123456789abcdef0", in, 1, all_out, 1 };
	const char *gs[] = { "sg-0123456789abcdef0" };
	struct fw_eni e = { "eni-0123456789abcdef0", "subnet-0123456789abcdef0", "tap0123456789ab",
			    "02:00:00:00:01:0a", ips1, 1, gs, 1, true };
	struct fw_vpc m = { "hostd-vpc-0123456789abcdef0", "10.0.0.0/16", &sn, 1, &g, 1, &e, 1 };
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(render(&m, &b), 0);   /* render() checks the 28 characters */
	assert_non_null(strstr(b.data, ":hd-ni-0123456789abcdef0 - [0:0]"));
	buf_free(&b);
}

/* ---- fw_apply in dry run ---- */

struct capture {
	struct buf log;
	const char *ipt_saved, *eb_saved, *sets;
	int fail_at;   /* the call number that fails (1-based), 0 none */
	int calls;
};

static int fake_run(void *arg, const char *const *argv, const char *input, struct buf *out)
{
	struct capture *c = arg;
	const char *answer = NULL;

	c->calls++;
	buf_adds(&c->log, "$");
	for (size_t i = 0; argv[i]; i++)
		buf_printf(&c->log, " %s", argv[i]);
	buf_adds(&c->log, "\n");
	if (input)
		buf_adds(&c->log, input);
	assert_string_equal(argv[0], "ip");
	assert_string_equal(argv[3], "hostd-vpc-01");
	if (!strcmp(argv[4], "iptables-save"))
		answer = c->ipt_saved;
	else if (!strcmp(argv[4], "ebtables-save"))
		answer = c->eb_saved;
	else if (!strcmp(argv[4], "ipset") && !strcmp(argv[5], "list"))
		answer = c->sets;
	if (answer && out)
		buf_adds(out, answer);
	return c->calls == c->fail_at ? 1 : 0;
}

static void test_apply_dry_run(void **state)
{
	static const struct fw_sg_rule web[] = { { "tcp", 80, 80, "0.0.0.0/0", NULL } };
	struct fw_group gs[] = { { "sg-0d", self_ref, 1, all_out, 1 }, { "sg-0e", web, 1, NULL, 0 } };
	const char *g2[] = { "sg-0d", "sg-0e" };
	struct fw_eni es[] = {
		{ "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips1, 1, g_default, 1, true },
		{ "eni-02", "subnet-0a", "tap-02", "02:00:00:00:01:0b", ips2, 2, g2, 2, true },
	};
	struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", subnets, 2, gs, 2, es, 2 };
	/* a first apply: nothing of hostd's there yet */
	struct capture c = { BUF_INIT, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n",
			     "*filter\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n", "", 0, 0 };
	struct fw_runner r = { fake_run, &c };
	char why[200];

	(void)state;
	assert_int_equal(fw_apply(&m, &r, why, sizeof(why)), 0);
	golden("fw-apply-first.txt", c.log.data);

	/* later: hooked already, an ENI (eni-09) and a group (sg-09) gone, a
	 * leftover temporary set: their chains and sets are deleted, the hooks
	 * not added twice */
	buf_reset(&c.log);
	c.ipt_saved = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:hd-fwd - [0:0]\n:hd-i-01 - [0:0]\n"
		      ":hd-i-09 - [0:0]\n:hd-o-09 - [0:0]\n:other - [0:0]\n-A INPUT -j hd-in\n-A FORWARD -j hd-fwd\n"
		      "-A FORWARD -j other\nCOMMIT\n";
	c.eb_saved = "*filter\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n:hd-as-09 RETURN\n:hd-eb-fwd RETURN\n"
		     "-A FORWARD -j hd-eb-fwd\n-A INPUT -j hd-eb-in\n";
	c.sets = "hd-0d\nhd-09\nhd-0e-n\nother\nhd-0e\n";
	assert_int_equal(fw_apply(&m, &r, why, sizeof(why)), 0);
	golden("fw-apply-again.txt", c.log.data);

	/* a failing command stops the apply with -EIO */
	for (int at = 1; at <= 7; at++) {
		c.calls = 0;
		c.fail_at = at;
		assert_int_equal(fw_apply(&m, &r, why, sizeof(why)), -EIO);
		assert_int_equal(c.calls, at);
	}
	buf_free(&c.log);
}

/* ---- bad models ---- */

static int calls;

static int count_run(void *arg, const char *const *argv, const char *input, struct buf *out)
{
	calls++;
	return 0;
}

#define BAD(setup)                                                                                        \
	do {                                                                                                  \
		struct fw_subnet sn[3] = { subnets[0], subnets[1] };                                          \
		struct fw_sg_rule in[2] = { { "tcp", 22, 22, "10.0.0.0/16", NULL }, { "-1", -1, -1, NULL, "sg-0d" } }; \
		struct fw_nacl_entry acl[2] = { default_nacl[0], default_nacl[1] };                           \
		struct fw_group g[2] = { { "sg-0d", in, 2, all_out, 1 }, { "sg-0e", NULL, 0, NULL, 0 } };     \
		const char *ips[2] = { "10.0.1.10", "10.0.1.11" };                                            \
		const char *ips_b[1] = { "10.0.2.10" };                                                      \
		const char *gids[2] = { "sg-0d", "sg-0e" };                                                   \
		struct fw_eni e[2] = {                                                                        \
			{ "eni-01", "subnet-0a", "tap-01", "02:00:00:00:01:0a", ips, 2, gids, 2, true },      \
			{ "eni-02", "subnet-0b", "tap-02", "02:00:00:00:02:0a", ips_b, 1, gids, 1, true },    \
		};                                                                                            \
		struct fw_vpc m = { "hostd-vpc-01", "10.0.0.0/16", sn, 2, g, 2, e, 2 };                       \
		struct fw_runner r = { count_run, NULL };                                                     \
		struct buf b1 = BUF_INIT, b2 = BUF_INIT, b3 = BUF_INIT;                                       \
		char why[200] = "";                                                                           \
		sn[1].nacl = acl;                                                                             \
		assert_int_equal(fw_validate(&m, why, sizeof(why)), 0);                                       \
		setup;                                                                                        \
		calls = 0;                                                                                    \
		if (fw_validate(&m, why, sizeof(why)) != -EINVAL)                                             \
			fail_msg("accepted: %s", #setup);                                                     \
		assert_true(why[0] != '\0');                                                                  \
		assert_int_equal(fw_render(&m, &b1, &b2, &b3), -EINVAL);                                      \
		assert_int_equal(fw_apply(&m, &r, why, sizeof(why)), -EINVAL);                                \
		assert_int_equal(calls, 0);                                                                   \
		buf_free(&b1);                                                                                \
		buf_free(&b2);                                                                                \
		buf_free(&b3);                                                                                \
	} while (0)

static void test_bad_models(void **state)
{
	char reason[100];

	(void)state;
	assert_int_equal(fw_validate(NULL, reason, sizeof(reason)), -EINVAL);
	assert_int_equal(fw_apply(NULL, NULL, NULL, 0), -EINVAL);
	/* the VPC */
	BAD(m.ns = NULL);
	BAD(m.ns = "");
	BAD(m.ns = "a b");
	BAD(m.ns = "../x");
	BAD(m.ns = "x;reboot");
	BAD(m.cidr = "10.0.0.0/33");
	BAD(m.cidr = "10.0.0.0");
	BAD(m.cidr = "10.0.0/16");
	BAD(m.cidr = "10.0.0.0/016");
	BAD(m.cidr = "10.0.0.0/-1");
	BAD(m.cidr = "10.0.0.0/16x");
	BAD(m.cidr = "hello/8");
	BAD(m.subnets = NULL);
	BAD(m.groups = NULL);
	BAD(m.enis = NULL);
	/* subnets */
	BAD(sn[0].id = NULL);
	BAD(sn[0].id = "subnet_0a");
	BAD(sn[0].id = "subnet-0A");
	BAD(sn[0].id = "subnet-0123456789abcdef01");
	BAD(sn[0].id = "subnet-");
	BAD(sn[0].id = "-0a");
	BAD(sn[0].id = "Subnet-0a");
	BAD(sn[0].id = "sub-net-0a");
	BAD(sn[0].bridge = NULL);
	BAD(sn[0].bridge = "br-0123456789abc");   /* 16 characters */
	BAD(sn[0].bridge = "br 0");
	BAD(sn[0].bridge = "br\n0");
	BAD(sn[0].bridge = "..");
	BAD(sn[1].bridge = "br-0a");
	BAD(sn[1].id = "subnet-0a");
	BAD(sn[1].id = "vpc-0a");                /* the same chain names */
	BAD(sn[0].cidr = "10.1.1.0/24");         /* outside the VPC */
	BAD(sn[0].cidr = "10.0.0.0/8");          /* larger than the VPC */
	BAD(sn[0].cidr = NULL);
	BAD(sn[0].gateway = "10.0.2.1");
	BAD(sn[0].gateway = "10.0.1.256");
	BAD(sn[0].gateway = NULL);
	BAD(sn[0].nacl_id = "acl 1");
	BAD(sn[0].nnacl = 1);                    /* entries but no NACL */
	BAD(sn[1].nacl = NULL);
	BAD(acl[0].rule_number = 0);
	BAD(acl[0].rule_number = 32767);
	BAD(acl[1].egress = false);              /* rule 100 twice in one direction */
	BAD(acl[0].protocol = "tcpx");
	BAD(acl[0].protocol = "256");
	BAD(acl[0].protocol = NULL);
	BAD(acl[0].cidr = "0.0.0.0/40");
	BAD(acl[0].cidr = NULL);
	BAD((acl[0].protocol = "tcp", acl[0].from_port = 10, acl[0].to_port = 70000));
	BAD((acl[0].protocol = "udp", acl[0].from_port = 20, acl[0].to_port = 10));
	BAD((acl[0].protocol = "icmp", acl[0].icmp_type = 256));
	BAD((acl[0].protocol = "icmp", acl[0].icmp_type = -1, acl[0].icmp_code = 3));
	/* groups and rules */
	BAD(g[0].id = NULL);
	BAD(g[0].id = "sg-xyz");
	BAD(g[1].id = "sg-0d");
	BAD(g[1].id = "sgx-0d");
	BAD(g[0].ingress = NULL);
	BAD(g[0].egress = NULL);
	BAD(in[0].protocol = NULL);
	BAD(in[0].protocol = "");
	BAD(in[0].protocol = "tcp ");
	BAD(in[0].protocol = "-2");
	BAD(in[0].protocol = "999");
	BAD(in[0].from_port = 70000);
	BAD(in[0].to_port = 65536);
	BAD(in[0].from_port = -5);
	BAD(in[0].from_port = 23);               /* from > to */
	BAD(in[0].from_port = -1);               /* -1 only as -1/-1 */
	BAD((in[0].protocol = "icmp", in[0].from_port = 300));
	BAD((in[0].protocol = "icmp", in[0].from_port = -1, in[0].to_port = 0));
	BAD((in[0].protocol = "icmp", in[0].to_port = -2));
	BAD(in[0].cidr = NULL);                  /* neither */
	BAD(in[1].cidr = "10.0.0.0/8");          /* both */
	BAD(in[0].cidr = "10.0.0.0/8/8");
	BAD(in[1].group_id = "sg-0f");           /* not in this model (another VPC) */
	BAD(in[1].group_id = "sg-");
	/* ENIs */
	BAD(e[0].id = "eni-0g");
	BAD(e[1].id = "eni-01");
	BAD(e[1].id = "i-01");
	BAD(e[0].subnet_id = "subnet-0c");
	BAD(e[0].subnet_id = NULL);
	BAD(e[0].tap = "tap-0123456789ab");
	BAD(e[0].tap = "tap/0");
	BAD(e[1].tap = "tap-01");
	BAD(e[0].tap = "br-0a");
	BAD(e[0].mac = NULL);
	BAD(e[0].mac = "02:00:00:00:01:0A");
	BAD(e[0].mac = "03:00:00:00:01:0a");      /* multicast */
	BAD(e[0].mac = "02:00:00:00:01");
	BAD(e[0].mac = "02-00-00-00-01-0a");
	BAD(e[1].mac = "02:00:00:00:01:0a");
	BAD(e[0].nips = 0);
	BAD(e[0].ips = NULL);
	BAD(ips[1] = NULL);
	BAD(ips[1] = "10.0.2.11");               /* not in its subnet */
	BAD(ips[1] = "10.0.1.011");
	BAD(ips[1] = "::1");
	BAD(ips_b[0] = "10.0.1.10");             /* shared with eni-01 (and outside b) */
	BAD(gids[1] = NULL);
	BAD(gids[1] = "sg-0f");
	BAD(e[0].group_ids = NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_group),
		cmocka_unit_test(test_cidr_rules),
		cmocka_unit_test(test_group_reference),
		cmocka_unit_test(test_egress_restricted),
		cmocka_unit_test(test_two_enis_several_groups),
		cmocka_unit_test(test_source_dest_check_off),
		cmocka_unit_test(test_nacl_deny_before_allow),
		cmocka_unit_test(test_long_ids),
		cmocka_unit_test(test_apply_dry_run),
		cmocka_unit_test(test_bad_models),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
