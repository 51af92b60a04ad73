/* Internet gateways and Elastic IPs: CreateInternetGateway,
 * Attach/DetachInternetGateway, DeleteInternetGateway,
 * DescribeInternetGateways, AllocateAddress, AssociateAddress,
 * DisassociateAddress, ReleaseAddress, DescribeAddresses.
 *
 * An Elastic IP is a row in addresses; associated, it names an ENI and one
 * of its private addresses, and netsync maps it 1:1 (net/publicnet.h). An
 * instance's automatic public IP gives way to an Elastic IP and comes back
 * (a new one) when the Elastic IP leaves, as on EC2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/netsync.h"
#include "hostd/publicips.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "lib/ids.h"
#include "lib/util.h"
#include "net/cidr.h"

#define ADDRESSES_PER_ACCOUNT 5

/* One region, one border group: its name. */
static int check_border_group(struct api_req *r)
{
	const char *g = api_str(r, "NetworkBorderGroup");

	if (g && *g && strcmp(g, r->h->cfg->region))
		return api_err(r, 400, "InvalidParameterValue", "Network border group %.64s is not %s's.", g,
			       r->h->cfg->region);
	return 0;
}

/* 0 and the row's VPC ("" when detached), or an EC2 error. */
static int find_igw(struct api_req *r, const char *id, char vpc[ID_MAX])
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("igw", id))
		return api_err(r, 400, "InvalidInternetGatewayID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"igw-...\")", id);
	st = store_stmt(r->h->store, "SELECT vpc_id FROM internet_gateways WHERE id = ? AND account_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(vpc, ID_MAX, "%s", store_text(st, 0));
		return 0;
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	return api_err(r, 400, "InvalidInternetGatewayID.NotFound", "The internetGateway ID '%.64s' does not exist",
		       id);
}

static int check_vpc(struct api_req *r, const char *vpc)
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("vpc", vpc))
		return api_err(r, 400, "InvalidVpcID.Malformed", "Invalid id: \"%.64s\" (expecting \"vpc-...\")", vpc);
	st = store_stmt(r->h->store, "SELECT 1 FROM vpcs WHERE id = ? AND account_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	return api_err(r, 400, "InvalidVpcID.NotFound", "The vpc ID '%.64s' does not exist", vpc);
}

static void write_igw(struct api_req *r, const char *id, const char *vpc)
{
	xml_open(&r->x, "attachmentSet");
	if (vpc[0]) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "state", "available");
		xml_text(&r->x, "vpcId", vpc);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	xml_text(&r->x, "internetGatewayId", id);
	xml_text(&r->x, "ownerId", r->account_id);
}

int act_create_internet_gateway(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	char id[ID_MAX];
	sqlite3_stmt *st;
	int ret;

	if ((ret = tags_from_specs(r, "internet-gateway", &tags)) < 0)
		return ret;
	if (id_new("igw", id) < 0 || store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "INSERT INTO internet_gateways(id, account_id, created_ms) VALUES (?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "internet-gateway", &tags) < 0 ||
	    store_commit(s) < 0)
		goto internal;
	xml_open(&r->x, "internetGateway");
	write_igw(r, id, "");
	ret = tags_write(s, &r->x, r->account_id, id) < 0 ? api_err_internal(r) : 0;
	xml_close(&r->x);
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

/* Public addresses mapped in the VPC (automatic or Elastic). */
static int vpc_has_public(struct store *s, const char *vpc)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM enis WHERE vpc_id = ?1 AND public_ip IS NOT NULL UNION ALL "
					 "SELECT 1 FROM addresses a JOIN enis e ON e.id = a.eni_id WHERE e.vpc_id = ?1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int igw_attach(struct api_req *r, bool attach)
{
	struct store *s = r->h->store;
	const char *igw, *vpc;
	char cur[ID_MAX];
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "InternetGatewayId", &igw)) < 0 || (ret = api_need_str(r, "VpcId", &vpc)) < 0 ||
	    (ret = find_igw(r, igw, cur)) < 0 || (ret = check_vpc(r, vpc)) < 0)
		return ret;
	if (attach) {
		if (cur[0])
			return api_err(r, 400, "Resource.AlreadyAssociated",
				       "resource %s is already attached to network %s", igw, cur);
		st = store_stmt(s, "SELECT id FROM internet_gateways WHERE vpc_id = ?");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			return api_err(r, 400, "Resource.AlreadyAssociated",
				       "network %s already has an internet gateway attached", vpc);
		if (rc != SQLITE_DONE)
			return api_err_internal(r);
	} else {
		if (strcmp(cur, vpc))
			return api_err(r, 400, "Gateway.NotAttached", "resource %s is not attached to network %s", igw,
				       vpc);
		rc = vpc_has_public(s, vpc);
		if (rc < 0)
			return api_err_internal(r);
		if (rc)
			return api_err(r, 400, "DependencyViolation",
				       "Network %s has some mapped public address(es). Please unmap those public "
				       "address(es) before detaching the gateway.", vpc);
	}
	st = store_stmt(s, "UPDATE internet_gateways SET vpc_id = ?2 WHERE id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, igw, -1, SQLITE_STATIC);
	if (attach)
		sqlite3_bind_text(st, 2, vpc, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	netsync_vpc(r->h, vpc);
	xml_bool(&r->x, "return", true);
	return 0;
}

int act_attach_internet_gateway(struct api_req *r) { return igw_attach(r, true); }
int act_detach_internet_gateway(struct api_req *r) { return igw_attach(r, false); }

int act_delete_internet_gateway(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *igw;
	char cur[ID_MAX];
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "InternetGatewayId", &igw)) < 0 || (ret = find_igw(r, igw, cur)) < 0)
		return ret;
	if (cur[0])
		return api_err(r, 400, "DependencyViolation",
			       "The internetGateway '%s' has dependencies and cannot be deleted.", igw);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "DELETE FROM internet_gateways WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, igw, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, igw) < 0 || store_commit(s) < 0)
		goto internal;
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

static const char *const igw_filters[] = {
	"attachment.state", "attachment.vpc-id", "internet-gateway-id", "owner-id", NULL,
};

int act_describe_internet_gateways(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL, vpc[ID_MAX], def[ID_MAX];
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "InternetGatewayId", &ids, &nids)) < 0 ||
	    (ret = api_filters(r, igw_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	/* the default VPC and its gateway exist from the account's first look */
	if (netsync_default_vpc(r->h, r->account_id, def) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < nids; i++)
		if ((ret = find_igw(r, ids[i], vpc)) < 0)
			goto out;
	xml_open(&r->x, "internetGatewaySet");
	st = store_stmt(s, "SELECT id, vpc_id FROM internet_gateways WHERE account_id = ?1 AND "
			   "(?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[ID_MAX];

		snprintf(id, sizeof(id), "%s", store_text(st, 0));
		snprintf(vpc, sizeof(vpc), "%s", store_text(st, 1));
		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "internet-gateway-id", id);
			fbag_add(&bag, "owner-id", r->account_id);
			if (vpc[0]) {
				fbag_add(&bag, "attachment.vpc-id", vpc);
				fbag_add(&bag, "attachment.state", "available");
			}
			if (tags_fbag(s, &bag, r->account_id, id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(&r->x);
			api_next_token(r, id);
			goto done;
		}
		xml_open(&r->x, "item");
		write_igw(r, id, vpc);
		if (tags_write(s, &r->x, r->account_id, id) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		xml_close(&r->x);
		emitted++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
done:
	ret = 0;
out:
	free(ids);
	free(from);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* ---- Elastic IPs ------------------------------------------------------- */

struct eip {
	char id[ID_MAX], ip[16], assoc[ID_MAX + 8], eni[ID_MAX], private_ip[16];
};

/* By AllocationId or PublicIp (one is required). */
static int find_eip(struct api_req *r, struct eip *e)
{
	const char *alloc = api_str(r, "AllocationId"), *ip = api_str(r, "PublicIp");
	sqlite3_stmt *st;
	int rc;

	if ((!alloc || !*alloc) && (!ip || !*ip))
		return api_err_missing(r, "AllocationId");
	if (alloc && *alloc && !id_valid("eipalloc", alloc))
		return api_err(r, 400, "InvalidAllocationID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"eipalloc-...\")", alloc);
	st = store_stmt(r->h->store, alloc && *alloc
					     ? "SELECT id, public_ip, association_id, eni_id, private_ip FROM addresses "
					       "WHERE id = ?1 AND account_id = ?2"
					     : "SELECT id, public_ip, association_id, eni_id, private_ip FROM addresses "
					       "WHERE public_ip = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, alloc && *alloc ? alloc : ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(e->id, sizeof(e->id), "%s", store_text(st, 0));
		snprintf(e->ip, sizeof(e->ip), "%s", store_text(st, 1));
		snprintf(e->assoc, sizeof(e->assoc), "%s", store_text(st, 2));
		snprintf(e->eni, sizeof(e->eni), "%s", store_text(st, 3));
		snprintf(e->private_ip, sizeof(e->private_ip), "%s", store_text(st, 4));
		return 0;
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	if (alloc && *alloc)
		return api_err(r, 400, "InvalidAllocationID.NotFound", "The allocation ID '%.64s' does not exist",
			       alloc);
	return api_err(r, 400, "InvalidAddress.NotFound", "Address '%.64s' not found.", ip);
}

int act_allocate_address(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *domain = api_str(r, "Domain"), *want = api_str(r, "Address");
	const char *pool = api_str(r, "PublicIpv4Pool");
	struct tag_list tags = { 0 };
	char id[ID_MAX], ip[16];
	sqlite3_stmt *st;
	int ret;

	if ((ret = check_border_group(r)) < 0)
		return ret;
	if (domain && strcmp(domain, "vpc") && strcmp(domain, "standard"))
		return api_err_value(r, "Domain", domain, "Valid values: vpc, standard.");
	if (domain && !strcmp(domain, "standard"))
		return api_err(r, 400, "UnsupportedOperation", "EC2-Classic addresses do not exist; use Domain vpc.");
	if (pool && *pool && strcmp(pool, "amazon"))
		return api_err(r, 400, "InvalidPublicIpv4Pool.NotFound", "The pool '%.64s' does not exist", pool);
	if ((ret = tags_from_specs(r, "elastic-ip", &tags)) < 0)
		return ret;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "SELECT count(*) FROM addresses WHERE account_id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto internal;
	if (sqlite3_column_int(st, 0) >= ADDRESSES_PER_ACCOUNT) {
		store_rollback(s);
		ret = api_err(r, 400, "AddressLimitExceeded", "The maximum number of addresses has been reached.");
		goto out;
	}
	if (want && *want) {
		struct cidr pc;
		uint32_t a;
		sqlite3_stmt *u = store_stmt(s, "SELECT 1 FROM addresses WHERE public_ip = ?1 UNION ALL "
						"SELECT 1 FROM enis WHERE public_ip = ?1");

		if (cidr_parse(r->h->cfg->public_cidr, &pc) < 0 || ip_parse(want, &a) < 0 ||
		    !cidr_contains_ip(&pc, a) || a <= pc.base + 1 || a == pc.base + (uint32_t)(cidr_size(&pc) - 1)) {
			store_rollback(s);
			ret = api_err(r, 400, "InvalidAddress.NotFound", "Address '%.64s' not found.", want);
			goto out;
		}
		if (!u)
			goto internal;
		sqlite3_bind_text(u, 1, want, -1, SQLITE_STATIC);
		if (sqlite3_step(u) == SQLITE_ROW) {
			store_rollback(s);
			ret = api_err(r, 400, "InvalidAddress.InUse", "Address %.64s is in use.", want);
			goto out;
		}
		ip_format(a, ip);
	} else {
		int e = pubip_pick(r->h, ip);

		if (e == -ENOSPC) {
			store_rollback(s);
			ret = api_err(r, 400, "InsufficientAddressCapacity",
				      "There are not enough free addresses in the host's public pool (%s).",
				      r->h->cfg->public_cidr);
			goto out;
		}
		if (e < 0)
			goto internal;
	}
	if (id_new("eipalloc", id) < 0)
		goto internal;
	st = store_stmt(s, "INSERT INTO addresses(id, account_id, public_ip, created_ms) VALUES (?, ?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "elastic-ip", &tags) < 0 ||
	    store_commit(s) < 0)
		goto internal;
	xml_text(&r->x, "publicIp", ip);
	xml_text(&r->x, "domain", "vpc");
	xml_text(&r->x, "allocationId", id);
	xml_text(&r->x, "publicIpv4Pool", "amazon");
	xml_text(&r->x, "networkBorderGroup", r->h->cfg->region);
	ret = 0;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

/* The ENI an association targets: NetworkInterfaceId, or the instance's
 * primary ENI. */
static int target_eni(struct api_req *r, char eni[ID_MAX], char vpc[ID_MAX], char instance[ID_MAX])
{
	const char *iid = api_str(r, "InstanceId"), *nid = api_str(r, "NetworkInterfaceId");
	sqlite3_stmt *st;
	int rc;

	if ((!iid || !*iid) && (!nid || !*nid))
		return api_err_missing(r, "InstanceId");
	if (nid && *nid) {
		if (!id_valid("eni", nid))
			return api_err(r, 400, "InvalidNetworkInterfaceID.Malformed",
				       "Invalid id: \"%.64s\" (expecting \"eni-...\")", nid);
		st = store_stmt(r->h->store, "SELECT id, vpc_id, instance_id FROM enis WHERE id = ? AND account_id = ?");
	} else {
		if (!id_valid("i", iid))
			return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", iid);
		st = store_stmt(r->h->store, "SELECT e.id, e.vpc_id, e.instance_id FROM enis e JOIN instances i ON "
					     "i.id = e.instance_id WHERE e.instance_id = ? AND e.account_id = ? AND "
					     "e.device_index = 0 AND i.state != 'terminated'");
	}
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, nid && *nid ? nid : iid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(eni, ID_MAX, "%s", store_text(st, 0));
		snprintf(vpc, ID_MAX, "%s", store_text(st, 1));
		snprintf(instance, ID_MAX, "%s", store_text(st, 2));
		return 0;
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	if (nid && *nid)
		return api_err(r, 400, "InvalidNetworkInterfaceID.NotFound",
			       "The networkInterface ID '%.64s' does not exist", nid);
	return api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%.64s' does not exist", iid);
}

static int set_assoc(struct store *s, const char *alloc, const char *assoc, const char *eni, const char *ip)
{
	sqlite3_stmt *st = store_stmt(s, "UPDATE addresses SET association_id = ?2, eni_id = ?3, private_ip = ?4 "
					 "WHERE id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, alloc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, assoc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, eni, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ip, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int act_associate_address(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *pip = api_str(r, "PrivateIpAddress");
	char eni[ID_MAX], vpc[ID_MAX], inst[ID_MAX], old_vpc[ID_MAX] = "", ip[16], assoc[ID_MAX + 8];
	bool realloc_ok;
	struct eip e;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_bool(r, "AllowReassociation", false, &realloc_ok)) < 0 || (ret = find_eip(r, &e)) < 0 ||
	    (ret = target_eni(r, eni, vpc, inst)) < 0)
		return ret;
	st = store_stmt(s, "SELECT 1 FROM internet_gateways WHERE vpc_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "Gateway.NotAttached", "Network %s is not attached to any internet gateway", vpc);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	st = store_stmt(s, pip && *pip ? "SELECT ip FROM eni_ips WHERE eni_id = ? AND ip = ?"
				       : "SELECT ip FROM eni_ips WHERE eni_id = ? AND is_primary = 1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
	if (pip && *pip)
		sqlite3_bind_text(st, 2, pip, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidParameterValue",
			       "The private IP address %.64s is not assigned to network interface %s",
			       pip && *pip ? pip : "(primary)", eni);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	snprintf(ip, sizeof(ip), "%s", store_text(st, 0));
	if (e.assoc[0] && !realloc_ok && !(strcmp(e.eni, eni) == 0 && strcmp(e.private_ip, ip) == 0))
		return api_err(r, 400, "Resource.AlreadyAssociated",
			       "resource %s is already associated with associate-id %s", e.id, e.assoc);
	if (e.eni[0]) {
		st = store_stmt(s, "SELECT vpc_id FROM enis WHERE id = ?");
		if (st) {
			sqlite3_bind_text(st, 1, e.eni, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				snprintf(old_vpc, sizeof(old_vpc), "%s", store_text(st, 0));
		}
	}
	if (id_new("eipassoc", assoc) < 0 || store_begin(s) < 0)
		return api_err_internal(r);
	/* One Elastic IP per private address: a previous one is disassociated,
	 * and the automatic public IP gives way. */
	st = store_stmt(s, "UPDATE addresses SET association_id = NULL, eni_id = NULL, private_ip = NULL "
			   "WHERE eni_id = ? AND private_ip = ? AND id != ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e.id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || set_assoc(s, e.id, assoc, eni, ip) < 0)
		goto internal;
	st = store_stmt(s, "UPDATE enis SET public_ip = NULL WHERE id = ? AND "
			   "(SELECT ip FROM eni_ips WHERE eni_id = enis.id AND is_primary = 1) = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ip, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || store_commit(s) < 0)
		goto internal;
	if (old_vpc[0] && strcmp(old_vpc, vpc))
		netsync_vpc(r->h, old_vpc);
	netsync_vpc(r->h, vpc);
	if (inst[0])
		(void)imdstree_refresh(r->h, inst); /* public-ipv4 in its metadata */
	xml_text(&r->x, "associationId", assoc);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

int act_disassociate_address(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *assoc = api_str(r, "AssociationId"), *pip = api_str(r, "PublicIp");
	char id[ID_MAX], eni[ID_MAX], vpc[ID_MAX] = "", inst[ID_MAX] = "";
	sqlite3_stmt *st;
	int rc;

	if ((!assoc || !*assoc) && (!pip || !*pip))
		return api_err_missing(r, "AssociationId");
	if (assoc && *assoc && !id_valid("eipassoc", assoc))
		return api_err(r, 400, "InvalidAssociationID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"eipassoc-...\")", assoc);
	st = store_stmt(s, assoc && *assoc
				   ? "SELECT a.id, a.eni_id, e.vpc_id, e.instance_id FROM addresses a LEFT JOIN enis e ON "
				     "e.id = a.eni_id WHERE a.association_id = ?1 AND a.account_id = ?2"
				   : "SELECT a.id, a.eni_id, e.vpc_id, e.instance_id FROM addresses a LEFT JOIN enis e ON "
				     "e.id = a.eni_id WHERE a.public_ip = ?1 AND a.account_id = ?2 AND "
				     "a.association_id IS NOT NULL");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, assoc && *assoc ? assoc : pip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidAssociationID.NotFound", "The association ID '%.64s' does not exist",
			       assoc && *assoc ? assoc : pip);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	snprintf(id, sizeof(id), "%s", store_text(st, 0));
	snprintf(eni, sizeof(eni), "%s", store_text(st, 1));
	snprintf(vpc, sizeof(vpc), "%s", store_text(st, 2));
	snprintf(inst, sizeof(inst), "%s", store_text(st, 3));
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "UPDATE addresses SET association_id = NULL, eni_id = NULL, private_ip = NULL WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	/* A running instance gets a new automatic public IP, as on EC2. */
	if (inst[0]) {
		st = store_stmt(s, "SELECT 1 FROM instances WHERE id = ? AND state IN ('pending', 'running')");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && pubip_assign(r->h, inst) < 0)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	if (vpc[0])
		netsync_vpc(r->h, vpc);
	if (inst[0])
		(void)imdstree_refresh(r->h, inst);
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

int act_release_address(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eip e;
	sqlite3_stmt *st;
	int ret;

	if ((ret = check_border_group(r)) < 0 || (ret = find_eip(r, &e)) < 0)
		return ret;
	if (e.assoc[0])
		return api_err(r, 400, "InvalidIPAddress.InUse", "Address %s is in use.", e.id);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "DELETE FROM addresses WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, e.id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, e.id) < 0 || store_commit(s) < 0)
		goto internal;
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

static const char *const addr_filters[] = {
	"allocation-id", "association-id", "domain", "instance-id", "network-interface-id",
	"network-interface-owner-id", "private-ip-address", "public-ip", "network-border-group", NULL,
};

int act_describe_addresses(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL, **ips = NULL;
	size_t nids = 0, nips = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "AllocationId", &ids, &nids)) < 0 || (ret = api_list(r, "PublicIp", &ips, &nips)) < 0 ||
	    (ret = api_filters(r, addr_filters, true, &fs)) < 0)
		goto out;
	for (size_t i = 0; i < nids + nips; i++) {
		bool by_id = i < nids;
		const char *v = by_id ? ids[i] : ips[i - nids];

		if (by_id && !id_valid("eipalloc", v)) {
			ret = api_err(r, 400, "InvalidAllocationID.Malformed",
				      "Invalid id: \"%.64s\" (expecting \"eipalloc-...\")", v);
			goto out;
		}
		st = store_stmt(s, by_id ? "SELECT 1 FROM addresses WHERE id = ? AND account_id = ?"
					 : "SELECT 1 FROM addresses WHERE public_ip = ? AND account_id = ?");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			ret = by_id ? api_err(r, 400, "InvalidAllocationID.NotFound",
					      "The allocation ID '%.64s' does not exist", v)
				    : api_err(r, 400, "InvalidAddress.NotFound", "Address '%.64s' not found.", v);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	xml_open(&r->x, "addressesSet");
	st = store_stmt(s, "SELECT a.id, a.public_ip, a.association_id, a.eni_id, a.private_ip, e.instance_id, "
			   "e.subnet_id FROM addresses a LEFT JOIN enis e ON e.id = a.eni_id WHERE a.account_id = ? "
			   "ORDER BY a.id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[ID_MAX], ip[16], assoc[ID_MAX + 8], eni[ID_MAX], pip[16], inst[ID_MAX], subnet[ID_MAX];

		snprintf(id, sizeof(id), "%s", store_text(st, 0));
		snprintf(ip, sizeof(ip), "%s", store_text(st, 1));
		snprintf(assoc, sizeof(assoc), "%s", store_text(st, 2));
		snprintf(eni, sizeof(eni), "%s", store_text(st, 3));
		snprintf(pip, sizeof(pip), "%s", store_text(st, 4));
		snprintf(inst, sizeof(inst), "%s", store_text(st, 5));
		snprintf(subnet, sizeof(subnet), "%s", store_text(st, 6));
		if ((nids || nips) && !strv_contains(ids, nids, id) && !strv_contains(ips, nips, ip))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "allocation-id", id);
			fbag_add(&bag, "public-ip", ip);
			fbag_add(&bag, "domain", "vpc");
			fbag_add(&bag, "network-border-group", r->h->cfg->region);
			if (assoc[0]) {
				fbag_add(&bag, "association-id", assoc);
				fbag_add(&bag, "network-interface-id", eni);
				fbag_add(&bag, "network-interface-owner-id", r->account_id);
				fbag_add(&bag, "private-ip-address", pip);
				if (inst[0])
					fbag_add(&bag, "instance-id", inst);
			}
			if (tags_fbag(s, &bag, r->account_id, id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		xml_open(&r->x, "item");
		xml_text(&r->x, "publicIp", ip);
		xml_text(&r->x, "allocationId", id);
		xml_text(&r->x, "domain", "vpc");
		if (assoc[0]) {
			if (inst[0])
				xml_text(&r->x, "instanceId", inst);
			xml_text(&r->x, "associationId", assoc);
			xml_text(&r->x, "networkInterfaceId", eni);
			xml_text(&r->x, "networkInterfaceOwnerId", r->account_id);
			xml_text(&r->x, "privateIpAddress", pip);
			if (subnet[0])
				xml_text(&r->x, "subnetId", subnet);
		}
		if (tags_write(s, &r->x, r->account_id, id) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		xml_text(&r->x, "publicIpv4Pool", "amazon");
		xml_text(&r->x, "networkBorderGroup", r->h->cfg->region);
		xml_close(&r->x);
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(ids);
	free(ips);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}
