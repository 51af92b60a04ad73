/* IPv4 CIDR arithmetic for VPCs and subnets, and the names hostd derives
 * from ids and addresses (namespaces, bridges, taps, DNS names, MACs).
 * Pure functions: unit tested without root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	uint32_t base;   /* host byte order, host bits zero */
	int prefix;      /* 0..32 */
};

/* "a.b.c.d" into host byte order; -EINVAL unless four decimal octets. */
int ip_parse(const char *s, uint32_t *out);
/* out needs 16 bytes. */
void ip_format(uint32_t ip, char out[16]);
/* "a.b.c.d/n" with no host bits set; -EINVAL otherwise. */
int cidr_parse(const char *s, struct cidr *out);
/* out needs 19 bytes. */
void cidr_format(const struct cidr *c, char out[19]);
uint32_t cidr_mask(int prefix);
uint64_t cidr_size(const struct cidr *c);
bool cidr_contains_ip(const struct cidr *c, uint32_t ip);
/* inner lies wholly inside outer. */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);
/* EC2 reserves five addresses per subnet: network, .1 router, .2 DNS,
 * .3 future use and the broadcast address. */
#define CIDR_RESERVED 5
/* true when ip is one of those five in subnet c. */
bool cidr_reserved(const struct cidr *c, uint32_t ip);
/* Addresses a subnet can hand out (size minus the reserved five). */
int64_t cidr_available(const struct cidr *c);
/* The first address of c not reserved and for which used(ip, arg) is
 * false; -ENOSPC when the subnet is full. */
int cidr_alloc(const struct cidr *c, bool (*used)(uint32_t ip, void *arg), void *arg, uint32_t *out);

/* "ip-10-0-1-5" (out needs 20 bytes). */
void ip_hostname(uint32_t ip, char out[20]);
/* The private DNS domain of a region, as EC2 names it: ec2.internal for
 * us-east-1, <region>.compute.internal elsewhere. */
int ip_domain(const char *region, char *out, size_t len);

/* Device and namespace names (Linux: interface names at most 15 chars).
 * All derive from the resource's 17 hex digits, so they are stable across
 * restarts; -EINVAL when id is not "<prefix>-<hex>". */
int net_ns_name(const char *vpc_id, char *out, size_t len);       /* hostd-vpc-0123... */
int net_bridge_name(const char *subnet_id, char *out, size_t len); /* br-<12 hex> */
int net_tap_name(const char *eni_id, char *out, size_t len);       /* tap-<11 hex> */
/* A locally administered unicast MAC "02:xx:xx:xx:xx:xx" from 5 random
 * bytes (out needs 18 bytes). */
void net_mac_from(const unsigned char rnd[5], char out[18]);
