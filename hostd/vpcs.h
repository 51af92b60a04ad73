/* VPCs, subnets and ENIs as rows (schema 3) and their realisation on the
 * host through net/: the default VPC of an account, the default security
 * group and network ACL every VPC gets, ENI allocation, the per-VPC files
 * dnsmasq reads, and the reconciler's repairs. Every function here expects
 * the caller to hold h->lock. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/ids.h"
#include "net/cidr.h"

struct hostd;
struct store;

#define DEFAULT_VPC_CIDR "172.31.0.0/16"
#define DEFAULT_SUBNET_CIDR "172.31.0.0/20"

struct subnet_info {
	char id[ID_MAX], vpc_id[ID_MAX], az[72];
	char ns[64], bridge[16];
	struct cidr cidr, vpc_cidr;
};

/* Inserts a VPC with its default security group (self-referencing ingress,
 * allow-all egress) and default network ACL (100 allow, 32767 deny, both
 * ways). Inside the caller's transaction. */
int vpc_insert(struct store *s, const char *account, const struct cidr *c, bool is_default, char id_out[ID_MAX]);
/* Inserts a subnet and associates it with the VPC's default ACL. Inside
 * the caller's transaction. */
int subnet_insert(struct store *s, const char *account, const char *vpc_id, const struct cidr *c, const char *az,
		  bool is_default, char id_out[ID_MAX]);

/* The account's default VPC and default subnet, created (rows and host
 * side) on first use. Runs its own transaction: call outside one. */
int vpc_ensure_default(struct hostd *h, const char *account);
/* The id of the account's default VPC (ensured) into out. */
int vpc_default_id(struct hostd *h, const char *account, char out[ID_MAX]);
/* The subnet (account's); -ENOENT when it does not exist. */
int subnet_lookup(struct hostd *h, const char *account, const char *subnet_id, struct subnet_info *out);
/* The account's default subnet in the host's zone (ensured). */
int subnet_default(struct hostd *h, const char *account, struct subnet_info *out);
/* The id of the VPC's security group named name ("default"); -ENOENT. */
int vpc_group_by_name(struct store *s, const char *vpc_id, const char *name, char out[ID_MAX]);
/* 1 when group_id is a group of the account in vpc_id, 0 when not. */
int vpc_group_in(struct store *s, const char *account, const char *vpc_id, const char *group_id);

/* A new ENI in the subnet with a fresh MAC and ip (NULL: the first free
 * address), attached to instance (NULL: available) at device_index.
 * Inside the caller's transaction. -EADDRINUSE when ip is taken, -EINVAL
 * when ip is outside the subnet or reserved, -ENOSPC when it is full. */
struct eni_new {
	const struct subnet_info *sn;
	const char *ip;
	const char *const *groups;
	size_t ngroups;
	const char *instance_id;
	int device_index;
	bool delete_on_termination;
	const char *description;
};
int eni_insert(struct hostd *h, const char *account, const struct eni_new *e, char id_out[ID_MAX], char ip_out[16]);

/* An ENI as Describe* print it. */
struct eni_view {
	char id[ID_MAX], subnet[ID_MAX], vpc[ID_MAX], account[16], az[72], mac[18], ip[16], desc[256];
	char status[16], instance[ID_MAX], attach_id[ID_MAX + 8], attach_state[16];
	int device_index;
	bool dot, sdc;
	int64_t created_ms;
	size_t ngroups;
	char (*group_ids)[ID_MAX];
	char (*group_names)[256];
	size_t nsec;               /* secondary private addresses */
	char (*sec)[16];
};
void eni_views_free(struct eni_view *v, size_t n);
/* The instance's ENIs (device index order), or the account's (instance
 * NULL), or one ENI (eni_id). */
int eni_views(struct store *s, const char *account, const char *instance, const char *eni_id, struct eni_view **out,
	      size_t *n);
/* "ip-10-0-0-5.ec2.internal" for ip in the host's region. */
void eni_dns_name(const struct hostd *h, const char *ip, char *out, size_t len);

/* Secondary private addresses: n given ones (ips) or count new ones, into
 * the caller's transaction; out gets the addresses (16 bytes each, n or
 * count of them). -EADDRINUSE, -EINVAL (outside the subnet or reserved),
 * -ENOSPC. With reassign, an address another ENI of the subnet has as a
 * secondary moves here. */
int eni_assign_ips(struct hostd *h, const struct eni_view *e, const char *const *ips, size_t n, int count,
		   bool reassign, char (*out)[16]);

/* The host side of one VPC (namespace, bridges, dnsmasq, files) made to
 * match the rows; idempotent. */
int vpc_realize(struct hostd *h, const char *vpc_id);
/* Rewrites the VPC's DHCP/DNS host files from the ENI rows and makes its
 * dnsmasq processes reread them. removed: an ENI went away, so its
 * address may come back with another MAC; dnsmasq would keep refusing it
 * while the old in-memory lease lasts, so the DHCP servers restart (static
 * leases and dhcp-authoritative: running guests renew as before). */
int vpc_refresh_hosts(struct hostd *h, const char *vpc_id, bool removed);
/* Deferred vpc_refresh_hosts, for API handlers whose change only matters
 * once an instance launches (RunInstances, StartInstances): the launch
 * does it while libvirt starts QEMU, instead of the request waiting for
 * it. vpc_refresh_due() does every refresh asked for before its call
 * (the caller holds h->lock throughout); 0, or the first failure. The
 * reconciler's tick calls vpc_refresh_due(h, NULL) for all VPCs, so an
 * asked-for refresh happens even when no launch comes. */
void vpc_refresh_later(struct hostd *h, const char *vpc_id);
int vpc_refresh_due(struct hostd *h, const char *vpc_id);
/* The distinct VPCs the instance has ENIs in, at most max; how many. */
size_t instance_vpcs(struct hostd *h, const char *instance_id, char out[][ID_MAX], size_t max);
/* vpc_refresh_later for every VPC the instance has an ENI in. */
void vpc_refresh_later_instance(struct hostd *h, const char *instance_id);
/* Host side teardown (rows are the caller's business). */
int subnet_teardown(struct hostd *h, const char *vpc_id, const char *subnet_id);
int vpc_teardown(struct hostd *h, const char *vpc_id);

/* The reconciler's look at every VPC: cheap checks (namespace present,
 * dnsmasq alive); realises whatever is missing. all: do the full realise
 * for every VPC (at start). */
void vpcs_reconcile(struct hostd *h, bool all);

/* Tells the metadata service (net/imdsl.h) the instance's VPC, private
 * addresses and current imds/ tree, or forgets the instance when it is
 * terminated or has no address. After every rewrite of its tree. With
 * h->lock held. */
int vpcs_imds_push(struct hostd *h, const char *instance_id);
/* vpcs_imds_push for every instance that is not terminated (at start). */
int vpcs_imds_push_all(struct hostd *h);

/* An instance's ENIs as the reconciler wires them. */
struct eni_wire {
	char id[ID_MAX], vpc[ID_MAX], mac[18], tap[16], ns[64], bridge[16];
};
/* Up to max of them, device index order; also realises their VPCs when
 * realize. */
int eni_wires(struct hostd *h, const char *instance_id, struct eni_wire *out, size_t max, size_t *n, bool realize);
/* Terminated instance: its delete-on-termination ENIs go, the others
 * become available; the VPCs' host files follow. Inside the caller's
 * transaction for the rows; refresh afterwards with vpc_refresh_hosts. */
int enis_release(struct hostd *h, const char *instance_id);

/* Paths of the VPC's state directory <state>/net/<vpc-id>. */
int vpc_dir(const struct hostd *h, const char *vpc_id, char *out, size_t len);
