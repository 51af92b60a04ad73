#include "net/vpcnet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cmd.h"
#include "lib/log.h"

static struct buf *dry;

void net_dry_run(struct buf *log) { dry = log; }

/* Runs argv; logs stderr's last line once on failure. */
static int run(const char *const *argv)
{
	struct buf err = BUF_INIT;
	int r;

	if (dry) {
		for (size_t i = 0; argv[i]; i++)
			buf_printf(dry, "%s%s", i ? " " : "", argv[i]);
		buf_addc(dry, '\n');
		return 0;
	}
	r = cmd_run(argv, NULL, &err);

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

/* Runs argv quietly; 0 when it exited 0. */
static bool ok(const char *const *argv)
{
	return !dry && cmd_run(argv, NULL, NULL) == 0;
}

bool net_ns_exists(const char *ns)
{
	char path[300];
	struct stat sb;

	if (dry || snprintf(path, sizeof(path), "/run/netns/%s", ns) >= (int)sizeof(path))
		return false;
	return stat(path, &sb) == 0;
}

static bool link_exists(const char *ns, const char *dev)
{
	const char *argv[] = { "ip", "-n", ns, "link", "show", "dev", dev, NULL };
	const char *host[] = { "ip", "link", "show", "dev", dev, NULL };

	return ok(ns ? argv : host);
}

int net_vpc_ensure(const char *ns, uint32_t dns_ip)
{
	char dns[24], ipbuf[16];
	int r;

	if (!net_ns_exists(ns)) {
		const char *add[] = { "ip", "netns", "add", ns, NULL };

		if ((r = run(add)) < 0 && !net_ns_exists(ns))
			return r;
		log_info("net", "namespace %s created", ns);
	}
	ip_format(dns_ip, ipbuf);
	snprintf(dns, sizeof(dns), "%s/32", ipbuf);
	{
		const char *lo[] = { "ip", "-n", ns, "link", "set", "lo", "up", NULL };
		const char *fwd[] = { "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", NULL };
		const char *a1[] = { "ip", "-n", ns, "addr", "replace", dns, "dev", "lo", NULL };
		const char *a2[] = { "ip", "-n", ns, "addr", "replace", "169.254.169.254/32", "dev", "lo", NULL };

		if ((r = run(lo)) < 0 || (r = run(fwd)) < 0 || (r = run(a1)) < 0 || (r = run(a2)) < 0)
			return r;
	}
	return 0;
}

int net_vpc_destroy(const char *ns)
{
	const char *del[] = { "ip", "netns", "del", ns, NULL };

	if (!net_ns_exists(ns))
		return 0;
	return run(del);
}

int net_subnet_ensure(const char *ns, const char *bridge, const struct cidr *subnet)
{
	char gw[16], addr[24];
	int r;

	ip_format(subnet->base + 1, gw);
	snprintf(addr, sizeof(addr), "%s/%d", gw, subnet->prefix);
	if (!link_exists(ns, bridge)) {
		const char *add[] = { "ip", "-n", ns, "link", "add", bridge, "type", "bridge", NULL };

		if ((r = run(add)) < 0)
			return r;
		log_info("net", "bridge %s in %s created", bridge, ns);
	}
	{
		const char *a[] = { "ip", "-n", ns, "addr", "replace", addr, "dev", bridge, NULL };
		const char *up[] = { "ip", "-n", ns, "link", "set", bridge, "up", NULL };

		if ((r = run(a)) < 0 || (r = run(up)) < 0)
			return r;
	}
	return 0;
}

int net_subnet_destroy(const char *ns, const char *bridge)
{
	const char *del[] = { "ip", "-n", ns, "link", "del", bridge, NULL };

	if (!net_ns_exists(ns) || !link_exists(ns, bridge))
		return 0;
	return run(del);
}

/* The pid in pidfile when it is a live dnsmasq started with that file. */
static pid_t dnsmasq_pid(const char *pidfile)
{
	char buf[32], path[64], cmd[8192];
	int fd;
	ssize_t n;
	long pid;

	if (dry)
		return 0;
	fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	cmd[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	if (!strstr(cmd, "dnsmasq") || !strstr(cmd, pidfile))
		return 0;
	return (pid_t)pid;
}

bool net_dnsmasq_running(const char *pidfile) { return dnsmasq_pid(pidfile) > 0; }

int net_dhcp_start(const struct net_dhcp *d)
{
	char pidopt[4200], hosts[4200], logopt[4200], range[80], lo[16], mask[16], router[48], dns[48],
		dom[300], iface[40];
	const struct cidr *c = &d->subnet;

	if (net_dnsmasq_running(d->pidfile))
		return 0;
	ip_format(c->base + 4, lo);
	ip_format(cidr_mask(c->prefix), mask);
	snprintf(range, sizeof(range), "--dhcp-range=%s,static,%s,1h", lo, mask);
	ip_format(c->base + 1, lo);
	snprintf(router, sizeof(router), "--dhcp-option=option:router,%s", lo);
	ip_format(d->dns_ip, lo);
	snprintf(dns, sizeof(dns), "--dhcp-option=option:dns-server,%s", lo);
	if (snprintf(dom, sizeof(dom), "--dhcp-option=option:domain-name,%s", d->domain) >= (int)sizeof(dom) ||
	    snprintf(pidopt, sizeof(pidopt), "--pid-file=%s", d->pidfile) >= (int)sizeof(pidopt) ||
	    snprintf(logopt, sizeof(logopt), "--log-facility=%s", d->logfile) >= (int)sizeof(logopt) ||
	    snprintf(hosts, sizeof(hosts), "--dhcp-hostsfile=%s", d->hostsfile) >= (int)sizeof(hosts))
		return -ENAMETOOLONG;
	snprintf(iface, sizeof(iface), "--interface=%s", d->bridge);
	{
		const char *argv[] = { "ip", "netns", "exec", d->ns, "dnsmasq", "--conf-file=/dev/null", pidopt,
				       "--port=0", iface, "--bind-dynamic", "--except-interface=lo", range, hosts,
				       router, dns, dom, "--dhcp-authoritative", "--leasefile-ro", "--no-hosts",
				       "--no-resolv", logopt, "--quiet-dhcp", NULL };
		int r = run(argv);

		if (r == 0)
			log_info("net", "dnsmasq (DHCP) on %s in %s started", d->bridge, d->ns);
		return r;
	}
}

int net_dns_start(const struct net_dns *d)
{
	char pidopt[4200], hosts[4200], logopt[4200], listen[48], local[300], ip[16];

	if (net_dnsmasq_running(d->pidfile))
		return 0;
	ip_format(d->dns_ip, ip);
	snprintf(listen, sizeof(listen), "--listen-address=%s", ip);
	if (snprintf(local, sizeof(local), "--local=/%s/", d->domain) >= (int)sizeof(local) ||
	    snprintf(pidopt, sizeof(pidopt), "--pid-file=%s", d->pidfile) >= (int)sizeof(pidopt) ||
	    snprintf(logopt, sizeof(logopt), "--log-facility=%s", d->logfile) >= (int)sizeof(logopt) ||
	    snprintf(hosts, sizeof(hosts), "--addn-hosts=%s", d->addn_hosts) >= (int)sizeof(hosts))
		return -ENAMETOOLONG;
	{
		const char *argv[] = { "ip", "netns", "exec", d->ns, "dnsmasq", "--conf-file=/dev/null", pidopt,
				       listen, "--bind-interfaces", "--no-dhcp-interface=lo", "--no-resolv", "--no-hosts",
				       hosts, local, "--domain-needed", logopt, NULL };
		int r = run(argv);

		if (r == 0)
			log_info("net", "dnsmasq (DNS %s) in %s started", ip, d->ns);
		return r;
	}
}

int net_dnsmasq_reload(const char *pidfile)
{
	pid_t pid = dnsmasq_pid(pidfile);

	if (pid <= 0)
		return -ESRCH;
	return kill(pid, SIGHUP) < 0 ? -errno : 0;
}

int net_dnsmasq_stop(const char *pidfile)
{
	pid_t pid = dnsmasq_pid(pidfile);

	if (pid <= 0) {
		unlink(pidfile);
		return 0;
	}
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -errno;
	for (int i = 0; i < 200 && dnsmasq_pid(pidfile) == pid; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (dnsmasq_pid(pidfile) == pid)
		kill(pid, SIGKILL);
	unlink(pidfile);
	return 0;
}

int net_tap_create(const char *tap, const char *user)
{
	const char *del[] = { "ip", "link", "del", tap, NULL };
	const char *add_user[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", user, NULL };
	const char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap", NULL };

	if (link_exists(NULL, tap))
		(void)run(del);
	return run(user ? add_user : add);
}

int net_tap_plug(const char *tap, const char *ns, const char *bridge)
{
	int r;

	if (link_exists(NULL, tap)) {
		const char *mv[] = { "ip", "link", "set", "dev", tap, "netns", ns, NULL };

		if ((r = run(mv)) < 0)
			return r;
	}
	{
		const char *m[] = { "ip", "-n", ns, "link", "set", "dev", tap, "master", bridge, "up", NULL };

		return run(m);
	}
}

int net_tap_delete(const char *tap, const char *ns)
{
	int r = 0;

	if (ns && net_ns_exists(ns) && link_exists(ns, tap)) {
		const char *del[] = { "ip", "-n", ns, "link", "del", "dev", tap, NULL };

		r = run(del);
	}
	if (link_exists(NULL, tap)) {
		const char *del[] = { "ip", "link", "del", "dev", tap, NULL };

		r = run(del);
	}
	return r;
}
