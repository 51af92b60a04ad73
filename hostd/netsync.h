/* The seam between the EC2 network API and the host's network: the
 * account's default VPC, and a VPC's firewall (net/firewall.h) rebuilt
 * from the store after every committed change to its subnets, ACLs,
 * groups, rules, ENIs or memberships. All with h->lock held. */
#pragma once
#include <stdbool.h>

struct hostd;

/* 1 with the account's default VPC id in out (ID_MAX bytes; made on first
 * use), 0 when it has none, -errno on store errors. Outside a transaction. */
int netsync_default_vpc(struct hostd *h, const char *account, char *out);
/* Compiles the VPC's model from the store and loads it into its namespace.
 * A failure is logged and the VPC remembered for netsync_retry(). */
int netsync_firewall(struct hostd *h, const char *vpc_id);
/* The same for API handlers after their commit: the API change stands
 * whatever the host says; the reconciler retries. */
void netsync_vpc(struct hostd *h, const char *vpc_id);
/* netsync_vpc for every VPC the instance has an ENI in. */
void netsync_instance(struct hostd *h, const char *instance_id);
/* Whether the VPC's last apply failed (and has not been retried since):
 * its rules may not match the store. */
bool netsync_failed(const char *vpc_id);
/* Re-applies the VPCs whose last apply failed (the reconciler's tick). */
void netsync_retry(struct hostd *h);
