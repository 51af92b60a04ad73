#include "net/publicnet.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cmd.h"
#include "lib/log.h"
#include "lib/util.h"

static int run_in(const char *const *argv, const char *input)
{
	struct cmd_opts o = { .input = input, .input_len = input ? strlen(input) : 0 };
	struct buf err = BUF_INIT;
	int r = cmd_run_ex(argv, &o, NULL, &err);

	if (r != 0) {
		struct buf line = BUF_INIT;

		for (size_t i = 0; argv[i]; i++)
			buf_printf(&line, "%s%s", i ? " " : "", argv[i]);
		log_err("net", "%s: %s", line.data, r < 0 ? strerror(-r) : cmd_last_line(&err));
		buf_free(&line);
		r = r < 0 ? r : -EIO;
	}
	buf_free(&err);
	return r;
}

static int run(const char *const *argv)
{
	return run_in(argv, NULL);
}

static bool ok(const char *const *argv)
{
	return cmd_run(argv, NULL, NULL) == 0;
}

static bool ns_exists(const char *ns)
{
	char path[300];
	struct stat sb;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return stat(path, &sb) == 0;
}

int net_nat_render(const struct net_nat *map, size_t n, bool hook, struct buf *out)
{
	uint32_t a;

	for (size_t i = 0; i < n; i++)
		if (ip_parse(map[i].public_ip, &a) < 0 || ip_parse(map[i].private_ip, &a) < 0)
			return -EINVAL;
	buf_adds(out, "*nat\n:hd-pre - [0:0]\n:hd-post - [0:0]\n");
	if (hook) {
		buf_adds(out, "-A PREROUTING -j hd-pre\n");
		buf_adds(out, "-A POSTROUTING -j hd-post\n");
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "-A hd-pre -d %s/32 -j DNAT --to-destination %s\n", map[i].public_ip,
			   map[i].private_ip);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "-A hd-post -s %s/32 -o " NET_PUBLIC_VPC_DEV " -j SNAT --to-source %s\n",
			   map[i].private_ip, map[i].public_ip);
	buf_adds(out, "COMMIT\n");
	return 0;
}

int net_public_ensure(const struct cidr *pool)
{
	char gw[16], addr[24];
	int r;

	ip_format(pool->base + 1, gw);
	snprintf(addr, sizeof(addr), "%s/%d", gw, pool->prefix);
	if (!ns_exists(NET_PUBLIC_NS)) {
		const char *add[] = { "ip", "netns", "add", NET_PUBLIC_NS, NULL };

		if ((r = run(add)) < 0 && !ns_exists(NET_PUBLIC_NS))
			return r;
		log_info("net", "namespace %s created for public addresses", NET_PUBLIC_NS);
	}
	{
		const char *show[] = { "ip", "-n", NET_PUBLIC_NS, "link", "show", "dev", NET_PUBLIC_BR, NULL };
		const char *br[] = { "ip", "-n", NET_PUBLIC_NS, "link", "add", NET_PUBLIC_BR, "type", "bridge", NULL };
		const char *lo[] = { "ip", "-n", NET_PUBLIC_NS, "link", "set", "lo", "up", NULL };
		const char *up[] = { "ip", "-n", NET_PUBLIC_NS, "link", "set", NET_PUBLIC_BR, "up", NULL };
		const char *ad[] = { "ip", "-n", NET_PUBLIC_NS, "addr", "replace", addr, "dev", NET_PUBLIC_BR, NULL };
		const char *fwd[] = { "ip", "netns", "exec", NET_PUBLIC_NS, "sysctl", "-qw", "net.ipv4.ip_forward=1",
				      NULL };

		if (!ok(show) && (r = run(br)) < 0)
			return r;
		if ((r = run(lo)) < 0 || (r = run(up)) < 0 || (r = run(ad)) < 0 || (r = run(fwd)) < 0)
			return r;
	}
	return 0;
}

static int peer_name(const char *vpc_id, char out[16])
{
	const char *dash = strchr(vpc_id, '-');
	size_t n;

	if (!dash)
		return -EINVAL;
	n = strlen(dash + 1);
	if (n < 8)
		return -EINVAL;
	snprintf(out, 16, "pb-%s", dash + 1 + (n > 12 ? n - 12 : 0));
	return 0;
}

/* The addresses on pub0 now, as "a.b.c.d" strings in addrs (malloc'd). */
static int current_addrs(const char *ns, char ***addrs, size_t *n)
{
	const char *argv[] = { "ip", "-n", ns, "-o", "-4", "addr", "show", "dev", NET_PUBLIC_VPC_DEV, NULL };
	struct buf out = BUF_INIT;
	char *save = NULL;
	int r = cmd_run(argv, &out, NULL);

	*addrs = NULL;
	*n = 0;
	if (r != 0) {
		buf_free(&out);
		return r < 0 ? r : -EIO;
	}
	for (char *line = strtok_r(out.data ? out.data : (char *)"", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, " inet "), *slash;

		if (!p)
			continue;
		p += 6;
		slash = strchr(p, '/');
		if (!slash)
			continue;
		*slash = '\0';
		*addrs = realloc(*addrs, (*n + 1) * sizeof(**addrs));
		if (!*addrs)
			abort();
		(*addrs)[(*n)++] = xstrdup(p);
	}
	buf_free(&out);
	return 0;
}

int net_public_vpc(const char *vpc_ns, const char *vpc_id, const struct cidr *pool, const struct net_nat *map,
		   size_t n)
{
	char peer[16], gw[16], poolstr[19];
	struct buf nat = BUF_INIT, saved = BUF_INIT;
	char **have = NULL;
	size_t nhave = 0;
	int r;

	if ((r = peer_name(vpc_id, peer)) < 0 || (r = net_public_ensure(pool)) < 0)
		return r;
	ip_format(pool->base + 1, gw);
	cidr_format(pool, poolstr);
	{
		const char *show[] = { "ip", "-n", vpc_ns, "link", "show", "dev", NET_PUBLIC_VPC_DEV, NULL };
		/* Made in the public namespace, one end then moved into the VPC's. */
		const char *add[] = { "ip", "-n", NET_PUBLIC_NS, "link", "add", peer, "type", "veth", "peer", "name",
				      NET_PUBLIC_VPC_DEV, "netns", vpc_ns, NULL };
		const char *master[] = { "ip", "-n", NET_PUBLIC_NS, "link", "set", peer, "master", NET_PUBLIC_BR, "up",
					 NULL };
		const char *up[] = { "ip", "-n", vpc_ns, "link", "set", NET_PUBLIC_VPC_DEV, "up", NULL };

		if (!ok(show)) {
			const char *del[] = { "ip", "-n", NET_PUBLIC_NS, "link", "del", peer, NULL };

			ok(del); /* a half-made pair from an interrupted run */
			if ((r = run(add)) < 0)
				goto out;
			log_info("net", "%s: linked to %s", vpc_ns, NET_PUBLIC_NS);
		}
		if ((r = run(master)) < 0 || (r = run(up)) < 0)
			goto out;
	}
	/* Exactly the mapped public addresses on pub0: add the new ones first,
	 * then drop the stale. */
	if ((r = current_addrs(vpc_ns, &have, &nhave)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char a[24];
		bool present = false;
		const char *argv[] = { "ip", "-n", vpc_ns, "addr", "add", a, "dev", NET_PUBLIC_VPC_DEV, NULL };

		for (size_t j = 0; j < nhave && !present; j++)
			present = !strcmp(have[j], map[i].public_ip);
		snprintf(a, sizeof(a), "%s/32", map[i].public_ip);
		if (!present && (r = run(argv)) < 0)
			goto out;
	}
	for (size_t j = 0; j < nhave; j++) {
		char a[24];
		bool wanted = false;
		const char *argv[] = { "ip", "-n", vpc_ns, "addr", "del", a, "dev", NET_PUBLIC_VPC_DEV, NULL };

		for (size_t i = 0; i < n && !wanted; i++)
			wanted = !strcmp(have[j], map[i].public_ip);
		snprintf(a, sizeof(a), "%s/32", have[j]);
		if (!wanted && (r = run(argv)) < 0)
			goto out;
	}
	if (n) {
		const char *rp[] = { "ip", "-n", vpc_ns, "route", "replace", poolstr, "dev", NET_PUBLIC_VPC_DEV, NULL };
		const char *rd[] = { "ip", "-n", vpc_ns, "route", "replace", "default", "via", gw, "dev",
				     NET_PUBLIC_VPC_DEV, NULL };

		if ((r = run(rp)) < 0 || (r = run(rd)) < 0)
			goto out;
	}
	{
		const char *save_argv[] = { "ip", "netns", "exec", vpc_ns, "iptables-save", "-t", "nat", NULL };
		const char *restore[] = { "ip", "netns", "exec", vpc_ns, "iptables-restore", "--noflush", NULL };
		bool hooked;

		if ((r = cmd_run(save_argv, &saved, NULL)) != 0) {
			r = r < 0 ? r : -EIO;
			goto out;
		}
		hooked = saved.data && strstr(saved.data, "-A PREROUTING -j hd-pre");
		if ((r = net_nat_render(map, n, !hooked, &nat)) < 0 || (r = run_in(restore, nat.data)) < 0)
			goto out;
	}
out:
	for (size_t j = 0; j < nhave; j++)
		free(have[j]);
	free(have);
	buf_free(&nat);
	buf_free(&saved);
	return r;
}

int net_public_vpc_remove(const char *vpc_ns, const char *vpc_id)
{
	char peer[16];
	int r;

	if ((r = peer_name(vpc_id, peer)) < 0)
		return r;
	if (ns_exists(NET_PUBLIC_NS)) {
		const char *del[] = { "ip", "-n", NET_PUBLIC_NS, "link", "del", peer, NULL };

		if (ok(del))
			log_info("net", "%s: unlinked from %s", vpc_ns, NET_PUBLIC_NS);
	}
	if (ns_exists(vpc_ns)) {
		const char *restore[] = { "ip", "netns", "exec", vpc_ns, "iptables-restore", "--noflush", NULL };
		const char *save_argv[] = { "ip", "netns", "exec", vpc_ns, "iptables-save", "-t", "nat", NULL };
		struct buf saved = BUF_INIT, nat = BUF_INIT;

		/* Empty chains stay hooked: harmless, and the next attach reuses them. */
		if (cmd_run(save_argv, &saved, NULL) == 0 && saved.data && strstr(saved.data, ":hd-pre")) {
			net_nat_render(NULL, 0, false, &nat);
			r = run_in(restore, nat.data);
		}
		buf_free(&saved);
		buf_free(&nat);
	}
	return r;
}

/* The transfer link between the host and hostd-public (RFC 6598 space,
 * never routed on the internet). */
#define UPLINK_HOST_DEV "hd-pubup"
#define UPLINK_PUB_DEV "up0"
#define UPLINK_HOST_ADDR "100.64.255.253"
#define UPLINK_PUB_ADDR "100.64.255.254"

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 15)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ' ' || *s == ':' || (unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

bool net_public_uplink_present(void)
{
	const char *show[] = { "ip", "-n", NET_PUBLIC_NS, "link", "show", "dev", UPLINK_PUB_DEV, NULL };

	return ok(show);
}

int net_uplink_render(const char *uplink, const struct cidr *pool, bool hook, struct buf *out)
{
	char p[19];

	if (!ifname_ok(uplink))
		return -EINVAL;
	cidr_format(pool, p);
	buf_adds(out, "*nat\n:hd-uplink - [0:0]\n");
	if (hook)
		buf_adds(out, "-A POSTROUTING -j hd-uplink\n");
	buf_printf(out, "-A hd-uplink -s %s -o %s -j MASQUERADE\nCOMMIT\n", p, uplink);
	buf_adds(out, "*filter\n:hd-uplink-fwd - [0:0]\n");
	if (hook)
		buf_adds(out, "-I FORWARD 1 -j hd-uplink-fwd\n");
	buf_printf(out, "-A hd-uplink-fwd -i " UPLINK_HOST_DEV " -o %s -s %s -j ACCEPT\n", uplink, p);
	buf_printf(out, "-A hd-uplink-fwd -i %s -o " UPLINK_HOST_DEV " -m conntrack --ctstate RELATED,ESTABLISHED "
			"-j ACCEPT\n", uplink);
	buf_printf(out, "-A hd-uplink-fwd -o " UPLINK_HOST_DEV " -j DROP\n");
	buf_adds(out, "COMMIT\n");
	return 0;
}

int net_public_uplink(const char *host_ns, const char *uplink, const struct cidr *pool)
{
	struct buf rules = BUF_INIT, saved = BUF_INIT;
	char poolstr[19];
	int r;

	if (!ifname_ok(uplink))
		return -EINVAL;
	if ((r = net_public_ensure(pool)) < 0)
		return r;
	cidr_format(pool, poolstr);
	{
		/* argv prefixes: the host's own namespace or the one playing it */
		const char *hn = host_ns ? host_ns : "";
		const char *show[] = { "ip", "-n", NET_PUBLIC_NS, "link", "show", "dev", UPLINK_PUB_DEV, NULL };
		const char *add_ns[] = { "ip", "-n", NET_PUBLIC_NS, "link", "add", UPLINK_PUB_DEV, "type", "veth", "peer",
					 "name", UPLINK_HOST_DEV, "netns", hn, NULL };
		const char *add_host[] = { "ip", "-n", NET_PUBLIC_NS, "link", "add", UPLINK_PUB_DEV, "type", "veth",
					   "peer", "name", UPLINK_HOST_DEV, "netns", "1", NULL };
		const char *pa[] = { "ip", "-n", NET_PUBLIC_NS, "addr", "replace", UPLINK_PUB_ADDR "/30", "dev",
				     UPLINK_PUB_DEV, NULL };
		const char *pu[] = { "ip", "-n", NET_PUBLIC_NS, "link", "set", UPLINK_PUB_DEV, "up", NULL };
		const char *pr[] = { "ip", "-n", NET_PUBLIC_NS, "route", "replace", "default", "via", UPLINK_HOST_ADDR,
				     NULL };
		const char *ha_ns[] = { "ip", "-n", hn, "addr", "replace", UPLINK_HOST_ADDR "/30", "dev",
					UPLINK_HOST_DEV, NULL };
		const char *ha[] = { "ip", "addr", "replace", UPLINK_HOST_ADDR "/30", "dev", UPLINK_HOST_DEV, NULL };
		const char *hu_ns[] = { "ip", "-n", hn, "link", "set", UPLINK_HOST_DEV, "up", NULL };
		const char *hu[] = { "ip", "link", "set", UPLINK_HOST_DEV, "up", NULL };
		const char *hr_ns[] = { "ip", "-n", hn, "route", "replace", poolstr, "via", UPLINK_PUB_ADDR, NULL };
		const char *hr[] = { "ip", "route", "replace", poolstr, "via", UPLINK_PUB_ADDR, NULL };
		const char *fw_ns[] = { "ip", "netns", "exec", hn, "sysctl", "-qw", "net.ipv4.ip_forward=1", NULL };
		const char *fw[] = { "sysctl", "-qw", "net.ipv4.ip_forward=1", NULL };
		const char *save_ns[] = { "ip", "netns", "exec", hn, "iptables-save", NULL };
		const char *save[] = { "iptables-save", NULL };
		const char *restore_ns[] = { "ip", "netns", "exec", hn, "iptables-restore", "--noflush", NULL };
		const char *restore[] = { "iptables-restore", "--noflush", NULL };
		bool hooked;

		if (!ok(show)) {
			if ((r = run(host_ns ? add_ns : add_host)) < 0)
				goto out;
			log_info("net", "%s linked to %s for outbound traffic through %s", NET_PUBLIC_NS,
				 host_ns ? host_ns : "the host", uplink);
		}
		if ((r = run(pa)) < 0 || (r = run(pu)) < 0 || (r = run(pr)) < 0 ||
		    (r = run(host_ns ? ha_ns : ha)) < 0 || (r = run(host_ns ? hu_ns : hu)) < 0 ||
		    (r = run(host_ns ? hr_ns : hr)) < 0 || (r = run(host_ns ? fw_ns : fw)) < 0)
			goto out;
		if ((r = cmd_run(host_ns ? save_ns : save, &saved, NULL)) != 0) {
			r = r < 0 ? r : -EIO;
			goto out;
		}
		hooked = saved.data && strstr(saved.data, "-A POSTROUTING -j hd-uplink");
		if ((r = net_uplink_render(uplink, pool, !hooked, &rules)) < 0 ||
		    (r = run_in(host_ns ? restore_ns : restore, rules.data)) < 0)
			goto out;
	}
out:
	buf_free(&rules);
	buf_free(&saved);
	return r;
}
