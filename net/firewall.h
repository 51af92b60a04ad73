/* Security groups, network ACLs and anti-spoofing for one VPC namespace.
 *
 * A pure compiler (fw_render: plain-data model -> ipset-restore,
 * iptables-restore and ebtables-restore text) plus an applier (fw_apply:
 * loads that text into the VPC's namespace atomically). Knows nothing of the
 * store: the caller fills the model, every string borrowed for the call.
 *
 * What gets enforced (EC2 semantics):
 * - security groups: stateful (ESTABLISHED,RELATED pass first, so replies
 *   and connections open before a rule change keep working), allow-only,
 *   ingress and egress as separate gates per ENI, the union of the ENI's
 *   groups, default deny. Group references match the members' IPs through
 *   one ipset (hash:ip) per group.
 * - DHCP, DNS to the namespace and 169.254.169.254:80 are always allowed
 *   (EC2 filters them with neither groups nor NACLs).
 * - NACLs: stateless, lowest rule number first, on traffic entering or
 *   leaving a subnet (never within it); implicit deny after the last entry.
 * - anti-spoofing (ebtables, bridge family): frames from a tap must carry the
 *   ENI's MAC, IPv4 from one of its IPs (any source when source_dest_check is
 *   off; 0.0.0.0 DHCP discover/request always), ARP naming its MAC and IPs;
 *   anything else (IPv6, other ethertypes) is dropped.
 *
 * Ids must look like "<prefix>-<1..17 lowercase hex>" (sg-, eni-, subnet-):
 * chain and set names are built from the hex part, which must therefore be
 * unique among the model's subnets, among its groups and among its ENIs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* protocol strings everywhere: "-1" (or "all"), "tcp", "udp", "icmp", or an
 * IP protocol number "0".."255" (6, 17 and 1 mean tcp, udp, icmp). */

struct fw_nacl_entry {
	int rule_number;           /* 1..32766, unique per direction */
	bool egress;               /* false: traffic entering the subnet */
	const char *protocol;
	bool allow;                /* false: deny */
	const char *cidr;          /* source (ingress) or destination (egress) */
	int from_port, to_port;    /* tcp/udp: 0..65535 */
	int icmp_type, icmp_code;  /* icmp: -1 means any */
};

struct fw_subnet {
	const char *id;            /* subnet-... */
	const char *bridge;        /* bridge device in the namespace */
	const char *cidr;          /* inside the VPC's CIDR */
	const char *gateway;       /* the router's address on the bridge */
	/* The NACL associated; NULL: none enforced (all traffic allowed).
	 * With an id, only the entries given are allowed, in rule order, the
	 * rest denied (EC2's default NACL is entries 100 allow all). */
	const char *nacl_id;
	const struct fw_nacl_entry *nacl;
	size_t nnacl;
};

struct fw_sg_rule {
	const char *protocol;
	int from_port, to_port;    /* tcp/udp: port range; icmp: type and code, -1 any */
	const char *cidr;          /* exactly one of cidr and group_id */
	const char *group_id;      /* a group of the same model (may be its own) */
};

struct fw_group {
	const char *id;            /* sg-... */
	const struct fw_sg_rule *ingress;
	size_t ningress;
	const struct fw_sg_rule *egress;
	size_t negress;
};

struct fw_eni {
	const char *id;            /* eni-... */
	const char *subnet_id;     /* gives the bridge and the CIDR its IPs are in */
	const char *tap;           /* bridge port; NULL while not attached */
	const char *mac;           /* aa:bb:cc:dd:ee:ff */
	const char *const *ips;    /* primary first; all are group members */
	size_t nips;
	const char *const *group_ids;
	size_t ngroups;
	bool source_dest_check;
};

struct fw_vpc {
	const char *ns;            /* network namespace name */
	const char *cidr;
	const struct fw_subnet *subnets;
	size_t nsubnets;
	const struct fw_group *groups;
	size_t ngroups;
	const struct fw_eni *enis;
	size_t nenis;
};

/* 0, or -EINVAL with a reason in why (may be NULL) for any model that is not
 * well formed: bad names, CIDRs, ports, protocols, unknown references. */
int fw_validate(const struct fw_vpc *m, char *why, size_t whylen);

/* Validates, then appends to the three buffers the complete ipset-restore
 * text (sets hd-<sg hex>, built as hd-<hex>-n and swapped in), the
 * iptables-restore text of hostd's filter chains (hd-*) and the
 * ebtables-restore text of its bridge chains. Deterministic: the same model
 * gives the same bytes. Returns 0 or -EINVAL (buffers then unspecified). */
int fw_render(const struct fw_vpc *m, struct buf *ipsets, struct buf *rules, struct buf *ebrules);

/* How fw_apply runs its commands: argv (NULL-terminated, starting with "ip",
 * "netns", "exec", ns) with input as stdin (NULL: none); out receives stdout.
 * Returns the exit status or -errno. NULL runner: run them for real. Tests
 * capture argv and input instead (dry run) and answer the two *-save and the
 * `ipset list -n` queries with what they want the namespace to hold. */
struct fw_runner {
	int (*run)(void *arg, const char *const *argv, const char *input, struct buf *out);
	void *arg;
};

/* Loads the model into its namespace: the sets (each swapped in whole),
 * then one iptables-restore --noflush and one ebtables-restore --noflush
 * transaction that redeclare (flush and refill) hostd's chains only, delete
 * its chains the model no longer has and hook hd-fwd/hd-in (and the bridge
 * chains) into FORWARD/INPUT once; bridge-nf-call-iptables on; finally sets
 * no longer used are destroyed. Never touches conntrack. Applying the
 * same model twice leaves the same rules. Returns 0, -EINVAL (bad model) or
 * -EIO (a command failed; why says which). */
int fw_apply(const struct fw_vpc *m, const struct fw_runner *r, char *why, size_t whylen);
