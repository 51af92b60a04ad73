/* The seam between the EC2 network API and the host's network: the
 * account's default VPC, and recompiling a VPC's firewall after a
 * committed change to its groups, rules, memberships or ACLs. */
#pragma once

struct hostd;

/* 1 with the account's default VPC id in out (ID_MAX bytes), 0 when it
 * has none, -errno on store errors. Called with h->lock held. */
int netsync_default_vpc(struct hostd *h, const char *account, char *out);
/* Recompiles and applies the VPC's firewall (called with h->lock held,
 * after the change committed). Failures are logged and retried by the
 * reconciler: the API change itself stands. */
void netsync_vpc(struct hostd *h, const char *vpc_id);
