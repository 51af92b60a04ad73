/* Public IPv4 addresses: the pool (config public_cidr), the automatic
 * public IP an instance gets while running in a subnet that maps them
 * (lost on stop, a new one on start, as on EC2), and the NAT map of a VPC
 * that net/publicnet.h realises. All with h->lock held. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct hostd;
struct net_nat;

/* A free address of the pool (neither an Elastic IP nor an automatic one);
 * -ENOSPC when the pool is exhausted. out needs 16 bytes. */
int pubip_pick(struct hostd *h, char *out);
/* The instance goes pending: its primary ENI gets an automatic public IP
 * when its subnet maps them and no Elastic IP is associated. Inside the
 * caller's transaction. */
int pubip_assign(struct hostd *h, const char *instance_id);
/* The instance stopped or terminated: automatic public IPs are released
 * (Elastic IPs stay associated). */
int pubip_release(struct hostd *h, const char *instance_id);
/* The VPC's (public, private) pairs, automatic and Elastic, strings owned
 * by the returned array (free with pubip_map_free). 1 when the VPC has an
 * internet gateway attached, 0 when not (*n is then 0). */
int pubip_map(struct hostd *h, const char *vpc_id, struct net_nat **map, size_t *n);
void pubip_map_free(struct net_nat *map, size_t n);
/* "ec2-198-51-100-7.compute-1.amazonaws.com" (us-east-1) or
 * "ec2-...<region>.compute.amazonaws.com". */
void pubip_dns_name(const struct hostd *h, const char *ip, char *out, size_t len);
/* The instance's public address (Elastic or automatic) into out (16
 * bytes); 0 when it has one, -ENOENT when not. */
int pubip_of_instance(struct hostd *h, const char *instance_id, char *out);
/* The same for one ENI's primary address; owner (16 bytes) gets "amazon"
 * for an automatic address, the account for an Elastic IP. */
int pubip_of_eni(struct hostd *h, const char *eni_id, char *out, char *owner);
