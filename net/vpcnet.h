/* The kernel side of VPCs: a network namespace per VPC acting as its
 * router, a bridge per subnet inside it, dnsmasq processes for DHCP (one
 * per subnet) and DNS (one per VPC, at base+2), taps for ENIs. Everything
 * runs `ip`, `sysctl` and `dnsmasq` from argv (lib/cmd.h) and is
 * idempotent: ensuring what exists changes nothing, so a restarted hostd
 * re-runs the same calls to reconcile. Only net/ touches these. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "net/cidr.h"

#define NET_IMDS_IP 0xa9fea9feu /* 169.254.169.254 */

struct buf;
/* Dry run (golden-file tests, no root): commands that change something are
 * appended to log, one line each, and succeed; queries (does this link or
 * namespace exist, is dnsmasq running) answer no. NULL: real runs again. */
void net_dry_run(struct buf *log);

bool net_ns_exists(const char *ns);
/* The namespace with lo up, forwarding on, the VPC's DNS address
 * (dns_ip/32) and 169.254.169.254/32 on lo. */
int net_vpc_ensure(const char *ns, uint32_t dns_ip);
/* Deletes the namespace (0 when it was already gone). */
int net_vpc_destroy(const char *ns);

/* A bridge with the subnet's router address (base+1) on it, up. */
int net_subnet_ensure(const char *ns, const char *bridge, const struct cidr *subnet);
int net_subnet_destroy(const char *ns, const char *bridge);

/* dnsmasq, daemonised with a pid file. A process counts as running when
 * the file names a live dnsmasq whose command line mentions the file. */
bool net_dnsmasq_running(const char *pidfile);
/* DHCP only (no DNS), static leases from hostsfile (MAC,IP,hostname lines)
 * on the bridge; clients get router base+1, DNS dns_ip and domain. */
struct net_dhcp {
	const char *ns, *bridge, *pidfile, *logfile, *hostsfile, *domain;
	struct cidr subnet;
	uint32_t dns_ip;
};
int net_dhcp_start(const struct net_dhcp *d);
/* DNS only, on dns_ip: names from addn_hosts, no upstream, NXDOMAIN for
 * the rest of domain. */
struct net_dns {
	const char *ns, *pidfile, *logfile, *addn_hosts, *domain;
	uint32_t dns_ip;
};
int net_dns_start(const struct net_dns *d);
/* SIGHUP (reread the host files); -ESRCH when not running. */
int net_dnsmasq_reload(const char *pidfile);
/* SIGTERM, waits up to 2 s; 0 also when it was not running. */
int net_dnsmasq_stop(const char *pidfile);

/* A persistent tap in the host namespace, owned by user (NULL: root),
 * deleted first if a stale one of that name exists anywhere we look. */
int net_tap_create(const char *tap, const char *user);
/* Moves the tap (host namespace, opened by QEMU) into ns, enslaves it to
 * bridge and sets it up. Idempotent: a tap already in ns is just
 * (re)enslaved. */
int net_tap_plug(const char *tap, const char *ns, const char *bridge);
/* Deletes the tap from ns and from the host namespace. */
int net_tap_delete(const char *tap, const char *ns);
