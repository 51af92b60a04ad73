/* The public side of VPCs: public and Elastic IPs through 1:1 NAT.
 *
 * The host has one "public" network namespace, hostd-public, whose bridge
 * br-public holds the pool's first address (the internet's router as seen
 * from VPCs). A VPC with an internet gateway gets a veth pair: "pub0" in
 * the VPC's namespace and "pb-<12 hex of the VPC id>" enslaved to
 * br-public. The VPC's public addresses live on pub0 as /32s, so the
 * public segment reaches them directly; in the VPC namespace DNAT maps each
 * to its private address and SNAT maps the private address back when it
 * leaves through pub0. Security groups and NACLs (net/firewall) see the
 * private addresses in FORWARD, after DNAT.
 *
 * Nothing leaves the host: hostd-public has no uplink. A test plays the
 * internet by plugging its own namespace into br-public. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "net/cidr.h"

#define NET_PUBLIC_NS "hostd-public"
#define NET_PUBLIC_BR "br-public"
#define NET_PUBLIC_VPC_DEV "pub0"

struct net_nat {
	const char *public_ip;
	const char *private_ip;
};

/* The nat table text (iptables-restore --noflush) for a VPC: chains
 * hd-pre/hd-post redeclared with one DNAT and one SNAT per pair, hooked
 * into PREROUTING/POSTROUTING when hook is set. Deterministic. -EINVAL for
 * an address that does not parse. */
int net_nat_render(const struct net_nat *map, size_t n, bool hook, struct buf *out);

/* Namespace, bridge and router address for the pool; idempotent. */
int net_public_ensure(const struct cidr *pool);
/* The VPC's side: the veth pair, exactly map's public addresses on pub0,
 * routes (the pool on-link, default via the pool's router) and the nat
 * rules. Idempotent; established connections keep their NAT. */
int net_public_vpc(const char *vpc_ns, const char *vpc_id, const struct cidr *pool, const struct net_nat *map,
		   size_t n);
/* Outbound to a real network (opt-in): a veth from hostd-public to the
 * host namespace (host_ns, or the host's own when NULL), the pool routed
 * back through it, and in the host namespace forwarding on and hostd's
 * chains (nat hd-uplink: MASQUERADE of the pool out of `uplink`; filter
 * hd-uplink-fwd: out allowed, only replies back in, so nothing on the real
 * network can open a connection to a public address). Idempotent. */
int net_public_uplink(const char *host_ns, const char *uplink, const struct cidr *pool);
/* true when hostd-public still has its end of the uplink link. */
bool net_public_uplink_present(void);
/* The host namespace's rules text for it (iptables-restore --noflush),
 * hooks included when hook. Deterministic; -EINVAL on bad names. */
int net_uplink_render(const char *uplink, const struct cidr *pool, bool hook, struct buf *out);

/* The VPC has no internet gateway (any more): veth and nat rules go. */
int net_public_vpc_remove(const char *vpc_ns, const char *vpc_id);
