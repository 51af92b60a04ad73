/* CreateVpc, DeleteVpc, DescribeVpcs, CreateSubnet, DeleteSubnet,
 * DescribeSubnets, ModifySubnetAttribute, DescribeNetworkInterfaces.
 * Rows and host side through hostd/vpcs.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/instances.h"
#include "hostd/netsync.h"
#include "hostd/publicips.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "hostd/vpcs.h"
#include "lib/buf.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"

static void write_public_assoc(struct api_req *r, const char *eni);

static int bad_cidr(struct api_req *r, const char *v)
{
	return api_err(r, 400, "InvalidParameterValue",
		       "Value (%.64s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", v);
}

/* Every id in ids must be well formed and exist (EC2's NotFound lists the
 * first missing one). */
static int check_ids(struct api_req *r, const char *prefix, const char *malformed, const char *notfound,
		     const char *noun, const char *sql, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st;
		int rc;

		if (!id_valid(prefix, ids[i]))
			return api_err(r, 400, malformed, "Invalid id: \"%.64s\"", ids[i]);
		st = store_stmt(r->h->store, sql);
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return api_err(r, 400, notfound, "The %s ID '%.64s' does not exist", noun, ids[i]);
		if (rc != SQLITE_ROW)
			return api_err_internal(r);
	}
	return 0;
}

/* --- VPCs ---------------------------------------------------------------- */

static void vpc_assoc_id(const char *vpc_id, char *out, size_t len)
{
	snprintf(out, len, "vpc-cidr-assoc-%s", vpc_id + 4);
}

static int write_vpc(struct api_req *r, sqlite3_stmt *st)
{
	struct xml *x = &r->x;
	const char *id = store_text(st, 0);
	char assoc[ID_MAX + 16];

	vpc_assoc_id(id, assoc, sizeof(assoc));
	xml_open(x, "item");
	xml_text(x, "vpcId", id);
	xml_text(x, "ownerId", store_text(st, 1));
	xml_text(x, "state", store_text(st, 4));
	xml_text(x, "cidrBlock", store_text(st, 2));
	xml_open(x, "cidrBlockAssociationSet");
	xml_open(x, "item");
	xml_text(x, "cidrBlock", store_text(st, 2));
	xml_text(x, "associationId", assoc);
	xml_open(x, "cidrBlockState");
	xml_text(x, "state", "associated");
	xml_close(x);
	xml_close(x);
	xml_close(x);
	xml_open(x, "ipv6CidrBlockAssociationSet");
	xml_close(x);
	xml_text(x, "dhcpOptionsId", "default");
	xml_text(x, "instanceTenancy", "default");
	xml_bool(x, "isDefault", sqlite3_column_int(st, 3) != 0);
	if (tags_write(r->h->store, x, r->account_id, id) < 0)
		return -EIO;
	xml_close(x);
	return 0;
}

#define VPC_COLS "SELECT id, account_id, cidr, is_default, state FROM vpcs "

int act_create_vpc(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	struct cidr c;
	const char *cidr, *ten = api_str(r, "InstanceTenancy");
	char id[ID_MAX];
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "CidrBlock", &cidr)) < 0)
		return ret;
	if (cidr_parse(cidr, &c) < 0)
		return bad_cidr(r, cidr);
	if (c.prefix < 16 || c.prefix > 28)
		return api_err(r, 400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", cidr);
	if (ten && strcmp(ten, "default"))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter instanceTenancy is invalid. Only 'default' is supported "
			       "on this host.", ten);
	if (api_str(r, "AmazonProvidedIpv6CidrBlock") || api_str(r, "Ipv6CidrBlock") || api_str(r, "Ipv4IpamPoolId"))
		return api_err(r, 400, "UnsupportedOperation", "IPv6 and IPAM pools are not supported on this host.");
	if ((ret = tags_from_specs(r, "vpc", &tags)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (vpc_insert(s, r->account_id, &c, false, id) < 0 || tags_set(s, r->account_id, id, "vpc", &tags) < 0 ||
	    store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	if (vpc_realize(r->h, id) < 0)
		log_err("net", "%s: the host side failed; the reconciler retries", id);
	st = store_stmt(s, VPC_COLS "WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW) {
		ret = api_err_internal(r);
		goto out;
	}
	/* CreateVpc answers <vpc> (not an item). */
	{
		struct xml *x = &r->x;
		char assoc[ID_MAX + 16];

		vpc_assoc_id(id, assoc, sizeof(assoc));
		xml_open(x, "vpc");
		xml_text(x, "vpcId", id);
		xml_text(x, "ownerId", r->account_id);
		xml_text(x, "state", "pending");
		xml_text(x, "cidrBlock", store_text(st, 2));
		xml_open(x, "cidrBlockAssociationSet");
		xml_open(x, "item");
		xml_text(x, "cidrBlock", store_text(st, 2));
		xml_text(x, "associationId", assoc);
		xml_open(x, "cidrBlockState");
		xml_text(x, "state", "associated");
		xml_close(x);
		xml_close(x);
		xml_close(x);
		xml_open(x, "ipv6CidrBlockAssociationSet");
		xml_close(x);
		xml_text(x, "dhcpOptionsId", "default");
		xml_text(x, "instanceTenancy", "default");
		xml_bool(x, "isDefault", false);
		ret = tags_write(s, x, r->account_id, id) < 0 ? api_err_internal(r) : 0;
		xml_close(x);
	}
out:
	tag_list_free(&tags);
	return ret;
}

static const char *const vpc_filters[] = {
	"vpc-id", "cidr", "cidr-block-association.cidr-block", "cidr-block-association.association-id",
	"cidr-block-association.state", "dhcp-options-id", "is-default", "owner-id", "state", NULL,
};

int act_describe_vpcs(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	int64_t limit = 0, emitted = 0;
	char *from = NULL;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "VpcId", &ids, &nids)) < 0 || (ret = api_filters(r, vpc_filters, true, &fs)) < 0 ||
	    (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	if (vpc_ensure_default(r->h, r->account_id) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if ((ret = check_ids(r, "vpc", "InvalidVpcID.Malformed", "InvalidVpcID.NotFound", "vpc",
			     "SELECT 1 FROM vpcs WHERE id = ?1 AND account_id = ?2", ids, nids)) < 0)
		goto out;
	st = store_stmt(s, VPC_COLS "WHERE account_id = ?1 AND (?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	xml_open(&r->x, "vpcSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0);
		char assoc[ID_MAX + 16];

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			vpc_assoc_id(id, assoc, sizeof(assoc));
			fbag_reset(&bag);
			fbag_add(&bag, "vpc-id", id);
			fbag_add(&bag, "cidr", store_text(st, 2));
			fbag_add(&bag, "cidr-block-association.cidr-block", store_text(st, 2));
			fbag_own_pair(&bag, xstrdup("cidr-block-association.association-id"), xstrdup(assoc));
			fbag_add(&bag, "cidr-block-association.state", "associated");
			fbag_add(&bag, "dhcp-options-id", "default");
			fbag_add_bool(&bag, "is-default", sqlite3_column_int(st, 3) != 0);
			fbag_add(&bag, "owner-id", store_text(st, 1));
			fbag_add(&bag, "state", store_text(st, 4));
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
			ret = 0;
			goto out;
		}
		if (write_vpc(r, st) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		emitted++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

static int count(struct store *s, const char *sql, const char *arg)
{
	sqlite3_stmt *st = store_stmt(s, sql);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return sqlite3_column_int(st, 0);
}

static int exec1(struct store *s, const char *sql, const char *arg)
{
	sqlite3_stmt *st = store_stmt(s, sql);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int act_delete_vpc(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id;
	const char *one[1];
	int ret, n;

	if ((ret = api_need_str(r, "VpcId", &id)) < 0)
		return ret;
	one[0] = id;
	if ((ret = check_ids(r, "vpc", "InvalidVpcID.Malformed", "InvalidVpcID.NotFound", "vpc",
			     "SELECT 1 FROM vpcs WHERE id = ?1 AND account_id = ?2", one, 1)) < 0)
		return ret;
	n = count(s, "SELECT (SELECT COUNT(*) FROM subnets WHERE vpc_id = ?1) + (SELECT COUNT(*) FROM enis WHERE "
		     "vpc_id = ?1) + (SELECT COUNT(*) FROM security_groups WHERE vpc_id = ?1 AND name != 'default') + "
		     "(SELECT COUNT(*) FROM network_acls WHERE vpc_id = ?1 AND is_default = 0) + "
		     "(SELECT COUNT(*) FROM internet_gateways WHERE vpc_id = ?1)", id);
	if (n < 0)
		return api_err_internal(r);
	if (n > 0)
		return api_err(r, 400, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", id);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	if (exec1(s, "DELETE FROM sg_rules WHERE group_id IN (SELECT id FROM security_groups WHERE vpc_id = ?1)", id) < 0 ||
	    exec1(s, "DELETE FROM tags WHERE resource_id IN (SELECT id FROM security_groups WHERE vpc_id = ?1 UNION "
		     "SELECT id FROM network_acls WHERE vpc_id = ?1)", id) < 0 ||
	    exec1(s, "DELETE FROM security_groups WHERE vpc_id = ?1", id) < 0 ||
	    exec1(s, "DELETE FROM network_acls WHERE vpc_id = ?1", id) < 0 ||
	    exec1(s, "DELETE FROM vpcs WHERE id = ?1", id) < 0 || tags_delete_all(s, r->account_id, id) < 0 ||
	    store_commit(s) < 0) {
		store_rollback(s);
		return api_err_internal(r);
	}
	vpc_teardown(r->h, id);
	xml_bool(&r->x, "return", true);
	return 0;
}

/* --- subnets ------------------------------------------------------------- */

#define SUBNET_SQL_COLS                                                                                       \
	"SELECT s.id, s.account_id, s.vpc_id, s.cidr, s.az, s.is_default, s.map_public_ip, s.state, "        \
	"(SELECT COUNT(*) FROM eni_ips i WHERE i.subnet_id = s.id) FROM subnets s "

static void subnet_arn(struct api_req *r, const char *id, char *out, size_t len)
{
	snprintf(out, len, "arn:aws:ec2:%s:%s:subnet/%s", r->h->cfg->region, r->account_id, id);
}

static int64_t subnet_avail(sqlite3_stmt *st)
{
	struct cidr c;

	if (cidr_parse(store_text(st, 3), &c) < 0)
		return 0;
	return cidr_available(&c) - sqlite3_column_int64(st, 8);
}

static int write_subnet(struct api_req *r, sqlite3_stmt *st, const char *elem)
{
	struct xml *x = &r->x;
	const char *id = store_text(st, 0);
	char arn[256], zid[64];

	subnet_arn(r, id, arn, sizeof(arn));
	zone_id(r->h->cfg->region, store_text(st, 4), zid, sizeof(zid));
	xml_open(x, elem);
	xml_text(x, "subnetId", id);
	xml_text(x, "subnetArn", arn);
	xml_text(x, "state", store_text(st, 7));
	xml_text(x, "ownerId", store_text(st, 1));
	xml_text(x, "vpcId", store_text(st, 2));
	xml_text(x, "cidrBlock", store_text(st, 3));
	xml_open(x, "ipv6CidrBlockAssociationSet");
	xml_close(x);
	xml_int(x, "availableIpAddressCount", subnet_avail(st));
	xml_text(x, "availabilityZone", store_text(st, 4));
	xml_text(x, "availabilityZoneId", zid);
	xml_bool(x, "defaultForAz", sqlite3_column_int(st, 5) != 0);
	xml_bool(x, "mapPublicIpOnLaunch", sqlite3_column_int(st, 6) != 0);
	xml_bool(x, "mapCustomerOwnedIpOnLaunch", false);
	xml_bool(x, "assignIpv6AddressOnCreation", false);
	xml_bool(x, "enableDns64", false);
	xml_bool(x, "ipv6Native", false);
	xml_open(x, "privateDnsNameOptionsOnLaunch");
	xml_text(x, "hostnameType", "ip-name");
	xml_bool(x, "enableResourceNameDnsARecord", false);
	xml_bool(x, "enableResourceNameDnsAAAARecord", false);
	xml_close(x);
	if (tags_write(r->h->store, x, r->account_id, id) < 0)
		return -EIO;
	xml_close(x);
	return 0;
}

int act_create_subnet(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	const char *vpc, *cidr, *az = api_str(r, "AvailabilityZone"), *azid = api_str(r, "AvailabilityZoneId");
	const char *one[1];
	char id[ID_MAX], zid[64];
	struct cidr c, vc;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "VpcId", &vpc)) < 0 || (ret = api_need_str(r, "CidrBlock", &cidr)) < 0)
		return ret;
	one[0] = vpc;
	if ((ret = check_ids(r, "vpc", "InvalidVpcID.Malformed", "InvalidVpcID.NotFound", "vpc",
			     "SELECT 1 FROM vpcs WHERE id = ?1 AND account_id = ?2", one, 1)) < 0)
		return ret;
	if (cidr_parse(cidr, &c) < 0)
		return bad_cidr(r, cidr);
	zone_id(r->h->cfg->region, r->h->cfg->availability_zone, zid, sizeof(zid));
	if (az && strcmp(az, r->h->cfg->availability_zone))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter availabilityZone is invalid. Subnets can currently only be "
			       "created in the following availability zones: %s.", az, r->h->cfg->availability_zone);
	if (azid && strcmp(azid, zid))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter availabilityZoneId is invalid. Subnets can currently only "
			       "be created in the following availability zone ids: %s.", azid, zid);
	if (api_str(r, "Ipv6CidrBlock") || api_str(r, "OutpostArn") || api_str(r, "Ipv6Native"))
		return api_err(r, 400, "UnsupportedOperation", "IPv6 and Outposts are not supported on this host.");
	st = store_stmt(s, "SELECT cidr FROM vpcs WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW ||
	    cidr_parse(store_text(st, 0), &vc) < 0)
		return api_err_internal(r);
	if (c.prefix < 16 || c.prefix > 28 || !cidr_contains(&vc, &c))
		return api_err(r, 400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", cidr);
	st = store_stmt(s, "SELECT cidr FROM subnets WHERE vpc_id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cidr o;

		if (cidr_parse(store_text(st, 0), &o) == 0 && cidr_overlaps(&o, &c))
			return api_err(r, 400, "InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet",
				       cidr);
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	if ((ret = tags_from_specs(r, "subnet", &tags)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (subnet_insert(s, r->account_id, vpc, &c, r->h->cfg->availability_zone, false, id) < 0 ||
	    tags_set(s, r->account_id, id, "subnet", &tags) < 0 || store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	if (vpc_realize(r->h, vpc) < 0)
		log_err("net", "%s: the host side failed; the reconciler retries", id);
	st = store_stmt(s, SUBNET_SQL_COLS "WHERE s.id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW) {
		ret = api_err_internal(r);
		goto out;
	}
	ret = write_subnet(r, st, "subnet") < 0 ? api_err_internal(r) : 0;
out:
	tag_list_free(&tags);
	return ret;
}

static const char *const subnet_filters[] = {
	"subnet-id", "vpc-id", "cidr-block", "cidr", "cidrBlock", "availability-zone", "availabilityZone",
	"availability-zone-id", "available-ip-address-count", "default-for-az", "defaultForAz",
	"map-public-ip-on-launch", "owner-id", "state", "subnet-arn", NULL,
};

int act_describe_subnets(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	int64_t limit = 0, emitted = 0;
	char *from = NULL;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "SubnetId", &ids, &nids)) < 0 || (ret = api_filters(r, subnet_filters, true, &fs)) < 0 ||
	    (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	if (vpc_ensure_default(r->h, r->account_id) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if ((ret = check_ids(r, "subnet", "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound", "subnet",
			     "SELECT 1 FROM subnets WHERE id = ?1 AND account_id = ?2", ids, nids)) < 0)
		goto out;
	st = store_stmt(s, SUBNET_SQL_COLS "WHERE s.account_id = ?1 AND (?2 IS NULL OR s.id >= ?2) ORDER BY s.id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	xml_open(&r->x, "subnetSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0);

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			char arn[256], zid[64];
			bool def = sqlite3_column_int(st, 5) != 0;

			subnet_arn(r, id, arn, sizeof(arn));
			zone_id(r->h->cfg->region, store_text(st, 4), zid, sizeof(zid));
			fbag_reset(&bag);
			fbag_add(&bag, "subnet-id", id);
			fbag_add(&bag, "vpc-id", store_text(st, 2));
			fbag_add(&bag, "cidr-block", store_text(st, 3));
			fbag_add(&bag, "cidr", store_text(st, 3));
			fbag_add(&bag, "cidrBlock", store_text(st, 3));
			fbag_add(&bag, "availability-zone", store_text(st, 4));
			fbag_add(&bag, "availabilityZone", store_text(st, 4));
			fbag_own_pair(&bag, xstrdup("availability-zone-id"), xstrdup(zid));
			fbag_add_int(&bag, "available-ip-address-count", subnet_avail(st));
			fbag_add_bool(&bag, "default-for-az", def);
			fbag_add_bool(&bag, "defaultForAz", def);
			fbag_add_bool(&bag, "map-public-ip-on-launch", sqlite3_column_int(st, 6) != 0);
			fbag_add(&bag, "owner-id", store_text(st, 1));
			fbag_add(&bag, "state", store_text(st, 7));
			fbag_own_pair(&bag, xstrdup("subnet-arn"), xstrdup(arn));
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
			ret = 0;
			goto out;
		}
		if (write_subnet(r, st, "item") < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		emitted++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

int act_delete_subnet(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id, *one[1];
	char vpc[ID_MAX];
	sqlite3_stmt *st;
	int ret, n;

	if ((ret = api_need_str(r, "SubnetId", &id)) < 0)
		return ret;
	one[0] = id;
	if ((ret = check_ids(r, "subnet", "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound", "subnet",
			     "SELECT 1 FROM subnets WHERE id = ?1 AND account_id = ?2", one, 1)) < 0)
		return ret;
	n = count(s, "SELECT COUNT(*) FROM enis WHERE subnet_id = ?1", id);
	if (n < 0)
		return api_err_internal(r);
	if (n > 0)
		return api_err(r, 400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.",
			       id);
	st = store_stmt(s, "SELECT vpc_id FROM subnets WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
		return api_err_internal(r);
	snprintf(vpc, sizeof(vpc), "%s", store_text(st, 0));
	if (store_begin(s) < 0)
		return api_err_internal(r);
	if (exec1(s, "DELETE FROM nacl_assocs WHERE subnet_id = ?1", id) < 0 ||
	    exec1(s, "DELETE FROM subnets WHERE id = ?1", id) < 0 || tags_delete_all(s, r->account_id, id) < 0 ||
	    store_commit(s) < 0) {
		store_rollback(s);
		return api_err_internal(r);
	}
	subnet_teardown(r->h, vpc, id);
	xml_bool(&r->x, "return", true);
	return 0;
}

int act_modify_subnet_attribute(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id, *one[1];
	bool v = false;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "SubnetId", &id)) < 0)
		return ret;
	one[0] = id;
	if ((ret = check_ids(r, "subnet", "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound", "subnet",
			     "SELECT 1 FROM subnets WHERE id = ?1 AND account_id = ?2", one, 1)) < 0)
		return ret;
	if (!api_str(r, "MapPublicIpOnLaunch.Value")) {
		static const char *const other[] = {
			"AssignIpv6AddressOnCreation.Value", "MapCustomerOwnedIpOnLaunch.Value", "EnableDns64.Value",
			"PrivateDnsHostnameTypeOnLaunch", "EnableResourceNameDnsARecordOnLaunch.Value",
			"EnableResourceNameDnsAAAARecordOnLaunch.Value", "CustomerOwnedIpv4Pool",
			"EnableLniAtDeviceIndex", "DisableLniAtDeviceIndex.Value", NULL,
		};

		for (size_t i = 0; other[i]; i++)
			if (api_str(r, other[i]))
				return api_err(r, 400, "UnsupportedOperation",
					       "Only MapPublicIpOnLaunch can be modified on this host.");
		return api_err(r, 400, "MissingParameter",
			       "The request must contain exactly one attribute to modify (MapPublicIpOnLaunch).");
	}
	if ((ret = api_bool(r, "MapPublicIpOnLaunch.Value", false, &v)) < 0)
		return ret;
	st = store_stmt(s, "UPDATE subnets SET map_public_ip = ?2 WHERE id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, v);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	xml_bool(&r->x, "return", true);
	return 0;
}

/* --- network interfaces -------------------------------------------------- */

static void write_groups_of(struct xml *x, const struct eni_view *e)
{
	xml_open(x, "groupSet");
	for (size_t g = 0; g < e->ngroups; g++) {
		xml_open(x, "item");
		xml_text(x, "groupId", e->group_ids[g]);
		xml_text(x, "groupName", e->group_names[g]);
		xml_close(x);
	}
	xml_close(x);
}

/* privateIpAddressesSet: the primary, then the secondaries. */
static void write_ips(struct api_req *r, struct xml *x, const struct eni_view *e, const char *dns)
{
	xml_open(x, "privateIpAddressesSet");
	xml_open(x, "item");
	xml_text(x, "privateIpAddress", e->ip);
	xml_text(x, "privateDnsName", dns);
	xml_bool(x, "primary", true);
	xml_close(x);
	for (size_t i = 0; i < e->nsec; i++) {
		char d2[128];

		eni_dns_name(r->h, e->sec[i], d2, sizeof(d2));
		xml_open(x, "item");
		xml_text(x, "privateIpAddress", e->sec[i]);
		xml_text(x, "privateDnsName", d2);
		xml_bool(x, "primary", false);
		xml_close(x);
	}
	xml_close(x);
}

/* A NetworkInterface (DescribeNetworkInterfaces item, CreateNetworkInterface). */
static int write_eni(struct api_req *r, const struct eni_view *e, const char *elem)
{
	struct xml *x = &r->x;
	char dns[128];

	eni_dns_name(r->h, e->ip, dns, sizeof(dns));
	xml_open(x, elem);
	xml_text(x, "networkInterfaceId", e->id);
	xml_text(x, "subnetId", e->subnet);
	xml_text(x, "vpcId", e->vpc);
	xml_text(x, "availabilityZone", e->az);
	xml_text(x, "description", e->desc);
	xml_text(x, "ownerId", e->account);
	xml_bool(x, "requesterManaged", false);
	xml_text(x, "status", e->status);
	xml_text(x, "macAddress", e->mac);
	xml_text(x, "privateIpAddress", e->ip);
	xml_text(x, "privateDnsName", dns);
	xml_bool(x, "sourceDestCheck", e->sdc);
	write_groups_of(x, e);
	write_public_assoc(r, e->id);
	if (e->instance[0]) {
		xml_open(x, "attachment");
		xml_text(x, "attachmentId", e->attach_id);
		xml_text(x, "instanceId", e->instance);
		xml_text(x, "instanceOwnerId", e->account);
		xml_int(x, "deviceIndex", e->device_index);
		xml_int(x, "networkCardIndex", 0);
		xml_text(x, "status", e->attach_state);
		xml_time(x, "attachTime", e->created_ms);
		xml_bool(x, "deleteOnTermination", e->dot);
		xml_close(x);
	}
	if (tags_write(r->h->store, x, r->account_id, e->id) < 0)
		return -EIO;
	write_ips(r, x, e, dns);
	xml_open(x, "ipv6AddressesSet");
	xml_close(x);
	xml_text(x, "interfaceType", "interface");
	xml_close(x);
	return 0;
}

static const char *const eni_filters[] = {
	"network-interface-id", "subnet-id", "vpc-id", "private-ip-address", "addresses.private-ip-address",
	"private-dns-name", "mac-address", "status", "attachment.instance-id", "attachment.attachment-id",
	"attachment.status", "attachment.device-index", "attachment.delete-on-termination", "availability-zone",
	"group-id", "group-name", "owner-id", "description", "source-dest-check", "interface-type", NULL,
};

int act_describe_network_interfaces(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	struct eni_view *v = NULL;
	const char **ids = NULL;
	size_t nids = 0, nv = 0;
	int64_t limit = 0, emitted = 0;
	char *from = NULL;
	struct xml *x = &r->x;
	int ret;

	if ((ret = api_list(r, "NetworkInterfaceId", &ids, &nids)) < 0 ||
	    (ret = api_filters(r, eni_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	if ((ret = check_ids(r, "eni", "InvalidNetworkInterfaceID.Malformed", "InvalidNetworkInterfaceID.NotFound",
			     "network interface", "SELECT 1 FROM enis WHERE id = ?1 AND account_id = ?2", ids, nids)) < 0)
		goto out;
	if (eni_views(s, r->account_id, NULL, NULL, &v, &nv) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_open(x, "networkInterfaceSet");
	for (size_t i = 0; i < nv; i++) {
		const struct eni_view *e = &v[i];
		char dns[128];

		if (nids && !strv_contains(ids, nids, e->id))
			continue;
		if (from && strcmp(e->id, from) < 0)
			continue;
		eni_dns_name(r->h, e->ip, dns, sizeof(dns));
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "network-interface-id", e->id);
			fbag_add(&bag, "subnet-id", e->subnet);
			fbag_add(&bag, "vpc-id", e->vpc);
			fbag_add(&bag, "private-ip-address", e->ip);
			fbag_add(&bag, "addresses.private-ip-address", e->ip);
			for (size_t k = 0; k < e->nsec; k++)
				fbag_add(&bag, "addresses.private-ip-address", e->sec[k]);
			fbag_own_pair(&bag, xstrdup("private-dns-name"), xstrdup(dns));
			fbag_add(&bag, "mac-address", e->mac);
			fbag_add(&bag, "status", e->status);
			fbag_add(&bag, "availability-zone", e->az);
			fbag_add(&bag, "owner-id", e->account);
			fbag_add(&bag, "description", e->desc);
			fbag_add_bool(&bag, "source-dest-check", e->sdc);
			fbag_add(&bag, "interface-type", "interface");
			if (e->instance[0]) {
				fbag_add(&bag, "attachment.instance-id", e->instance);
				fbag_add(&bag, "attachment.attachment-id", e->attach_id);
				fbag_add(&bag, "attachment.status", e->attach_state);
				fbag_add_int(&bag, "attachment.device-index", e->device_index);
				fbag_add_bool(&bag, "attachment.delete-on-termination", e->dot);
			}
			for (size_t g = 0; g < e->ngroups; g++) {
				fbag_add(&bag, "group-id", e->group_ids[g]);
				fbag_add(&bag, "group-name", e->group_names[g]);
			}
			if (tags_fbag(s, &bag, r->account_id, e->id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(x);
			api_next_token(r, e->id);
			ret = 0;
			goto out;
		}
		if (write_eni(r, e, "item") < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		emitted++;
	}
	xml_close(x);
	ret = 0;
out:
	eni_views_free(v, nv);
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* <association> of an ENI with a public address (automatic or Elastic). */
static void write_public_assoc(struct api_req *r, const char *eni)
{
	char ip[16], owner[16], dns[128];

	if (pubip_of_eni(r->h, eni, ip, owner) < 0)
		return;
	pubip_dns_name(r->h, ip, dns, sizeof(dns));
	xml_open(&r->x, "association");
	xml_text(&r->x, "ipOwnerId", owner);
	xml_text(&r->x, "publicDnsName", dns);
	xml_text(&r->x, "publicIp", ip);
	xml_close(&r->x);
}

/* The instance's network as DescribeInstances shows it (inside the
 * instance item). Returns 1 when the instance has an ENI. */
int vpcs_write_instance_net(struct api_req *r, const char *instance_id)
{
	struct xml *x = &r->x;
	struct eni_view *v = NULL;
	size_t nv = 0;
	char dns[128];

	if (eni_views(r->h->store, r->account_id, instance_id, NULL, &v, &nv) < 0)
		return -EIO;
	if (!nv) {
		free(v);
		return 0;
	}
	eni_dns_name(r->h, v[0].ip, dns, sizeof(dns));
	xml_text(x, "privateDnsName", dns);
	xml_text(x, "privateIpAddress", v[0].ip);
	xml_text(x, "subnetId", v[0].subnet);
	xml_text(x, "vpcId", v[0].vpc);
	xml_bool(x, "sourceDestCheck", v[0].sdc);
	write_groups_of(x, &v[0]);
	xml_open(x, "networkInterfaceSet");
	for (size_t i = 0; i < nv; i++) {
		const struct eni_view *e = &v[i];

		eni_dns_name(r->h, e->ip, dns, sizeof(dns));
		xml_open(x, "item");
		xml_text(x, "networkInterfaceId", e->id);
		xml_text(x, "subnetId", e->subnet);
		xml_text(x, "vpcId", e->vpc);
		xml_text(x, "description", e->desc);
		xml_text(x, "ownerId", e->account);
		xml_text(x, "status", e->status);
		xml_text(x, "macAddress", e->mac);
		xml_text(x, "privateIpAddress", e->ip);
		xml_text(x, "privateDnsName", dns);
		xml_bool(x, "sourceDestCheck", e->sdc);
		write_groups_of(x, e);
		write_public_assoc(r, e->id);
		xml_open(x, "attachment");
		xml_text(x, "attachmentId", e->attach_id);
		xml_int(x, "deviceIndex", e->device_index);
		xml_text(x, "status", e->attach_state);
		xml_time(x, "attachTime", e->created_ms);
		xml_bool(x, "deleteOnTermination", e->dot);
		xml_int(x, "networkCardIndex", 0);
		xml_close(x);
		write_ips(r, x, e, dns);
		xml_open(x, "ipv6AddressesSet");
		xml_close(x);
		xml_text(x, "interfaceType", "interface");
		xml_close(x);
	}
	xml_close(x);
	eni_views_free(v, nv);
	return 1;
}

int act_create_network_interface(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	struct subnet_info sn;
	struct eni_view *v = NULL;
	const char **groups = NULL;
	const char *subnet, *ip = api_str(r, "PrivateIpAddress"), *desc = api_str(r, "Description");
	char id[ID_MAX], ipbuf[16], defgroup[ID_MAX];
	const char *onegroup[1];
	size_t ng = 0, nv = 0;
	int ret, e;

	if ((ret = api_need_str(r, "SubnetId", &subnet)) < 0)
		return ret;
	if (!id_valid("subnet", subnet))
		return api_err(r, 400, "InvalidSubnetID.Malformed", "Invalid id: \"%.64s\"", subnet);
	if (api_str(r, "SecondaryPrivateIpAddressCount") || api_str(r, "Ipv6AddressCount"))
		return api_err(r, 400, "UnsupportedOperation",
			       "Secondary private addresses and IPv6 are not supported on this host yet.");
	if (desc && strlen(desc) > 255)
		return api_err(r, 400, "InvalidParameterValue", "Description is longer than 255 characters.");
	e = subnet_lookup(r->h, r->account_id, subnet, &sn);
	if (e == -ENOENT)
		return api_err(r, 400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnet);
	if (e < 0)
		return api_err_internal(r);
	if ((ret = api_list(r, "SecurityGroupId", &groups, &ng)) < 0)
		goto out;
	if (ng > 5) {
		ret = api_err(r, 400, "SecurityGroupsPerInterfaceLimitExceeded",
			      "The maximum number of security groups per interface has been reached.");
		goto out;
	}
	for (size_t i = 0; i < ng; i++) {
		if (!id_valid("sg", groups[i])) {
			ret = api_err(r, 400, "InvalidGroupId.Malformed", "Invalid id: \"%.64s\"", groups[i]);
			goto out;
		}
		e = vpc_group_in(s, r->account_id, sn.vpc_id, groups[i]);
		if (e < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		if (!e) {
			ret = api_err(r, 400, "InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'",
				      groups[i], sn.vpc_id);
			goto out;
		}
	}
	if (!ng) {
		if (vpc_group_by_name(s, sn.vpc_id, "default", defgroup) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		onegroup[0] = defgroup;
	}
	if ((ret = tags_from_specs(r, "network-interface", &tags)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	{
		struct eni_new en = { .sn = &sn, .ip = ip, .groups = ng ? groups : onegroup, .ngroups = ng ? ng : 1,
				      .description = desc };

		e = eni_insert(r->h, r->account_id, &en, id, ipbuf);
	}
	if (e < 0 || tags_set(s, r->account_id, id, "network-interface", &tags) < 0 || store_commit(s) < 0) {
		store_rollback(s);
		if (e == -EADDRINUSE)
			ret = api_err(r, 400, "InvalidIPAddress.InUse", "Address %s is in use.", ip);
		else if (e == -EINVAL)
			ret = api_err(r, 400, "InvalidParameterValue",
				      "Address %.64s does not fall within the subnet's address range or is reserved.", ip);
		else if (e == -ENOSPC)
			ret = api_err(r, 400, "InsufficientFreeAddressesInSubnet",
				      "There are not enough free addresses in subnet '%s'.", sn.id);
		else
			ret = api_err_internal(r);
		goto out;
	}
	vpc_refresh_hosts(r->h, sn.vpc_id, false);
	if (eni_views(s, r->account_id, NULL, id, &v, &nv) < 0 || nv != 1) {
		ret = api_err_internal(r);
		goto out;
	}
	ret = write_eni(r, &v[0], "networkInterface") < 0 ? api_err_internal(r) : 0;
out:
	eni_views_free(v, nv);
	tag_list_free(&tags);
	free(groups);
	return ret;
}

int act_delete_network_interface(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eni_view *v = NULL;
	const char *id;
	char vpc[ID_MAX];
	size_t nv = 0;
	int ret;

	if ((ret = api_need_str(r, "NetworkInterfaceId", &id)) < 0)
		return ret;
	if (!id_valid("eni", id))
		return api_err(r, 400, "InvalidNetworkInterfaceID.Malformed", "Invalid id: \"%.64s\"", id);
	if (eni_views(s, r->account_id, NULL, id, &v, &nv) < 0)
		return api_err_internal(r);
	if (!nv) {
		ret = api_err(r, 400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist",
			      id);
		goto out;
	}
	if (v[0].instance[0]) {
		ret = api_err(r, 400, "InvalidNetworkInterface.InUse", "The network interface '%s' is currently in use.",
			      id);
		goto out;
	}
	snprintf(vpc, sizeof(vpc), "%s", v[0].vpc);
	if (store_begin(s) < 0 || exec1(s, "DELETE FROM enis WHERE id = ?1", id) < 0 ||
	    tags_delete_all(s, r->account_id, id) < 0 || store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	vpc_refresh_hosts(r->h, vpc, true);
	xml_bool(&r->x, "return", true);
	ret = 0;
out:
	eni_views_free(v, nv);
	return ret;
}

/* --- hot-plug ------------------------------------------------------------ */

int act_attach_network_interface(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eni_view *v = NULL;
	const char *eni, *iid;
	char att[ID_MAX + 8], err[512] = "", state[16] = "", ivpc[ID_MAX] = "";
	int64_t idx;
	size_t nv = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "NetworkInterfaceId", &eni)) < 0 || (ret = api_need_str(r, "InstanceId", &iid)) < 0)
		return ret;
	if (!api_str(r, "DeviceIndex"))
		return api_err_missing(r, "DeviceIndex");
	if ((ret = api_int(r, "DeviceIndex", 0, 0, 7, &idx)) < 0)
		return ret;
	if (!id_valid("eni", eni))
		return api_err(r, 400, "InvalidNetworkInterfaceID.Malformed", "Invalid id: \"%.64s\"", eni);
	if (!id_valid("i", iid))
		return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", iid);
	st = store_stmt(s, "SELECT i.state, COALESCE((SELECT e.vpc_id FROM enis e WHERE e.instance_id = i.id AND "
			   "e.device_index = 0), '') FROM instances i WHERE i.id = ?1 AND i.account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, iid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", iid);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	snprintf(state, sizeof(state), "%s", store_text(st, 0));
	snprintf(ivpc, sizeof(ivpc), "%s", store_text(st, 1));
	if (strcmp(state, "running") && strcmp(state, "stopped"))
		return api_err(r, 400, "IncorrectInstanceState",
			       "The instance '%s' is not in a state from which it can have a network interface "
			       "attached (%s).", iid, state);
	if (eni_views(s, r->account_id, NULL, eni, &v, &nv) < 0)
		return api_err_internal(r);
	if (!nv) {
		ret = api_err(r, 400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist",
			      eni);
		goto out;
	}
	if (v[0].instance[0]) {
		ret = api_err(r, 400, "InvalidNetworkInterface.InUse", "Interface: [%s] in use.", eni);
		goto out;
	}
	if (ivpc[0] && strcmp(ivpc, v[0].vpc)) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "You may not attach a network interface to an instance if they are not in the same VPC.");
		goto out;
	}
	st = store_stmt(s, "SELECT 1 FROM enis WHERE instance_id = ?1 AND device_index = ?2");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, iid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ret = api_err(r, 400, "InvalidParameterValue",
			      "Instance '%s' already has an interface attached at device index '%lld'.", iid, (long long)idx);
		goto out;
	}
	if (id_new("eni-attach", att) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "UPDATE enis SET instance_id = ?2, device_index = ?3, attach_id = ?4, attach_state = "
			   "'attached', status = 'in-use', delete_on_termination = 0 WHERE id = ?1");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, iid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, idx);
	sqlite3_bind_text(st, 4, att, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	/* A running guest gets the NIC now; a stopped one on its next start. */
	if (!strcmp(state, "running")) {
		int e = instmgr_nic_attach(r->h, iid, eni, err, sizeof(err));

		if (e < 0 && e != -ENOENT) {
			st = store_stmt(s, "UPDATE enis SET instance_id = NULL, device_index = NULL, attach_id = NULL, "
					   "attach_state = NULL, status = 'available' WHERE id = ?1");
			if (st) {
				sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
				sqlite3_step(st);
			}
			log_err("net", "%s: hot-plug of %s failed: %s", iid, eni, err);
			ret = api_err(r, 500, "InternalError", "The network interface could not be attached: %.200s", err);
			goto out;
		}
	}
	vpc_refresh_hosts(r->h, v[0].vpc, false);
	(void)imdstree_refresh(r->h, iid); /* network/interfaces/macs/ */
	xml_text(&r->x, "attachmentId", att);
	xml_int(&r->x, "networkCardIndex", 0);
	ret = 0;
out:
	eni_views_free(v, nv);
	return ret;
}

int act_detach_network_interface(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *att;
	char eni[ID_MAX], iid[ID_MAX], err[512] = "", state[16];
	sqlite3_stmt *st;
	int ret, rc, idx;

	if ((ret = api_need_str(r, "AttachmentId", &att)) < 0)
		return ret;
	if (!id_valid("eni-attach", att))
		return api_err(r, 400, "InvalidAttachmentID.Malformed", "Invalid id: \"%.64s\"", att);
	st = store_stmt(s, "SELECT e.id, e.instance_id, e.device_index, i.state FROM enis e JOIN instances i ON "
			   "i.id = e.instance_id WHERE e.attach_id = ?1 AND e.account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, att, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidAttachmentID.NotFound", "Interface attachment '%s' does not exist.", att);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	snprintf(eni, sizeof(eni), "%s", store_text(st, 0));
	snprintf(iid, sizeof(iid), "%s", store_text(st, 1));
	idx = sqlite3_column_int(st, 2);
	snprintf(state, sizeof(state), "%s", store_text(st, 3));
	if (idx == 0)
		return api_err(r, 400, "OperationNotPermitted",
			       "The network interface at device index 0 cannot be detached.");
	if (!strcmp(state, "running") && instmgr_nic_detach(r->h, iid, eni, err, sizeof(err)) < 0)
		log_err("net", "%s: unplugging %s: %s (detached anyway)", iid, eni, err);
	st = store_stmt(s, "UPDATE enis SET instance_id = NULL, device_index = NULL, attach_id = NULL, "
			   "attach_state = NULL, status = 'available' WHERE id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, eni, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	(void)imdstree_refresh(r->h, iid);
	return 0;
}

/* --- secondary private addresses ----------------------------------------- */

static int one_eni(struct api_req *r, const char *id, struct eni_view **v, size_t *nv)
{
	if (!id_valid("eni", id))
		return api_err(r, 400, "InvalidNetworkInterfaceID.Malformed", "Invalid id: \"%.64s\"", id);
	if (eni_views(r->h->store, r->account_id, NULL, id, v, nv) < 0)
		return api_err_internal(r);
	if (!*nv)
		return api_err(r, 400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist",
			       id);
	return 0;
}

int act_assign_private_ip_addresses(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eni_view *v = NULL;
	const char *id, **ips = NULL;
	char (*out)[16] = NULL;
	size_t nv = 0, n = 0;
	int64_t count = 0;
	bool reassign = false;
	int ret, e;

	if ((ret = api_need_str(r, "NetworkInterfaceId", &id)) < 0 || (ret = one_eni(r, id, &v, &nv)) < 0 ||
	    (ret = api_list(r, "PrivateIpAddress", &ips, &n)) < 0 ||
	    (ret = api_int(r, "SecondaryPrivateIpAddressCount", 0, 1, 49, &count)) < 0 ||
	    (ret = api_bool(r, "AllowReassignment", false, &reassign)) < 0)
		goto out;
	if ((n && count) || (!n && !count)) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "Specify either PrivateIpAddress or SecondaryPrivateIpAddressCount.");
		goto out;
	}
	if (v[0].nsec + n + (size_t)count > 49) {
		ret = api_err(r, 400, "PrivateIpAddressLimitExceeded",
			      "Number of private addresses will exceed limit for this interface.");
		goto out;
	}
	out = xcalloc(n ? n : (size_t)count, sizeof(*out));
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	e = eni_assign_ips(r->h, &v[0], n ? ips : NULL, n, (int)count, reassign, out);
	if (e < 0 || store_commit(s) < 0) {
		store_rollback(s);
		if (e == -EADDRINUSE)
			ret = api_err(r, 400, "InvalidParameterValue", "Some of the specified addresses are in use.");
		else if (e == -EINVAL)
			ret = api_err(r, 400, "InvalidParameterValue",
				      "Some of the specified addresses are outside the subnet or reserved.");
		else if (e == -ENOSPC)
			ret = api_err(r, 400, "InsufficientFreeAddressesInSubnet",
				      "There are not enough free addresses in subnet '%s'.", v[0].subnet);
		else
			ret = api_err_internal(r);
		goto out;
	}
	vpc_refresh_hosts(r->h, v[0].vpc, false);
	if (v[0].instance[0])
		(void)imdstree_refresh(r->h, v[0].instance); /* local-ipv4s */
	xml_text(&r->x, "networkInterfaceId", id);
	xml_open(&r->x, "assignedPrivateIpAddressesSet");
	for (size_t i = 0; i < (n ? n : (size_t)count); i++) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "privateIpAddress", out[i]);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(out);
	free(ips);
	eni_views_free(v, nv);
	return ret;
}

int act_unassign_private_ip_addresses(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eni_view *v = NULL;
	const char *id, **ips = NULL;
	size_t nv = 0, n = 0;
	int ret;

	if ((ret = api_need_str(r, "NetworkInterfaceId", &id)) < 0 || (ret = one_eni(r, id, &v, &nv)) < 0 ||
	    (ret = api_list(r, "PrivateIpAddress", &ips, &n)) < 0)
		goto out;
	if (!n) {
		ret = api_err_missing(r, "PrivateIpAddress");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool mine = false;

		for (size_t k = 0; k < v[0].nsec; k++)
			mine |= !strcmp(v[0].sec[k], ips[i]);
		if (!mine) {
			ret = api_err(r, 400, "InvalidParameterValue",
				      "Some of the specified addresses are not assigned to interface %s", id);
			goto out;
		}
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = store_stmt(s, "DELETE FROM eni_ips WHERE eni_id = ?1 AND ip = ?2 AND is_primary = 0");

		if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC),
			    sqlite3_bind_text(st, 2, ips[i], -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
			store_rollback(s);
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	vpc_refresh_hosts(r->h, v[0].vpc, false);
	if (v[0].instance[0])
		(void)imdstree_refresh(r->h, v[0].instance);
	xml_bool(&r->x, "return", true);
	ret = 0;
out:
	free(ips);
	eni_views_free(v, nv);
	return ret;
}

/* --- ModifyNetworkInterfaceAttribute ------------------------------------- */

static int set_groups(struct api_req *r, const struct eni_view *e, const char **groups, size_t ng)
{
	struct store *s = r->h->store;
	struct buf list = BUF_INIT;
	int ret = 0;

	if (ng > 5)
		return api_err(r, 400, "SecurityGroupsPerInterfaceLimitExceeded",
			       "The maximum number of security groups per interface has been reached.");
	for (size_t i = 0; i < ng; i++) {
		int in;

		if (!id_valid("sg", groups[i]))
			return api_err(r, 400, "InvalidGroupId.Malformed", "Invalid id: \"%.64s\"", groups[i]);
		in = vpc_group_in(s, r->account_id, e->vpc, groups[i]);
		if (in < 0)
			return api_err_internal(r);
		if (!in)
			return api_err(r, 400, "InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'",
				       groups[i], e->vpc);
	}
	if (store_begin(s) < 0)
		return api_err_internal(r);
	if (exec1(s, "DELETE FROM eni_groups WHERE eni_id = ?1", e->id) < 0)
		goto internal;
	for (size_t i = 0; i < ng; i++) {
		sqlite3_stmt *st = store_stmt(s, "INSERT OR IGNORE INTO eni_groups(eni_id, group_id) VALUES (?1, ?2)");

		if (!st || (sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC),
			    sqlite3_bind_text(st, 2, groups[i], -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE)
			goto internal;
		buf_printf(&list, "%s%s", i ? " " : "", groups[i]);
	}
	/* The instance's own copy (DescribeInstanceAttribute groupSet) follows
	 * its primary ENI. */
	if (e->instance[0] && e->device_index == 0) {
		sqlite3_stmt *st = store_stmt(s, "UPDATE instances SET security_group_ids = ?2 WHERE id = ?1");

		if (!st || (sqlite3_bind_text(st, 1, e->instance, -1, SQLITE_STATIC),
			    sqlite3_bind_text(st, 2, list.data ? list.data : "", -1, SQLITE_STATIC),
			    sqlite3_step(st)) != SQLITE_DONE)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	buf_free(&list);
	return ret;
}

int act_modify_network_interface_attribute(struct api_req *r)
{
	struct store *s = r->h->store;
	struct eni_view *v = NULL;
	const char *id, **groups = NULL, *desc = api_str(r, "Description.Value"), *att = api_str(r, "Attachment.AttachmentId");
	bool sdc_given = api_str(r, "SourceDestCheck.Value") != NULL, b = false;
	size_t nv = 0, ng = 0;
	int ret, nattr;
	sqlite3_stmt *st;

	if ((ret = api_need_str(r, "NetworkInterfaceId", &id)) < 0 || (ret = one_eni(r, id, &v, &nv)) < 0 ||
	    (ret = api_list(r, "SecurityGroupId", &groups, &ng)) < 0)
		goto out;
	nattr = (desc != NULL) + (att != NULL) + sdc_given + (ng > 0);
	if (nattr != 1) {
		ret = api_err(r, 400, nattr ? "InvalidParameterCombination" : "MissingParameter",
			      "Specify exactly one attribute: Description, SourceDestCheck, Groups or Attachment.");
		goto out;
	}
	if (ng) {
		ret = set_groups(r, &v[0], groups, ng);
		goto out;
	}
	if (desc) {
		if (strlen(desc) > 255) {
			ret = api_err(r, 400, "InvalidParameterValue", "Description is longer than 255 characters.");
			goto out;
		}
		st = store_stmt(s, "UPDATE enis SET description = ?2 WHERE id = ?1");
		if (st) {
			sqlite3_bind_text(st, 2, desc, -1, SQLITE_STATIC);
		}
	} else if (sdc_given) {
		if ((ret = api_bool(r, "SourceDestCheck.Value", true, &b)) < 0)
			goto out;
		st = store_stmt(s, "UPDATE enis SET source_dest_check = ?2 WHERE id = ?1");
		if (st)
			sqlite3_bind_int(st, 2, b);
	} else {
		if (strcmp(att, v[0].attach_id)) {
			ret = api_err(r, 400, "InvalidAttachmentID.NotFound", "Interface attachment '%.64s' does not exist.",
				      att);
			goto out;
		}
		if ((ret = api_bool(r, "Attachment.DeleteOnTermination", v[0].dot, &b)) < 0)
			goto out;
		st = store_stmt(s, "UPDATE enis SET delete_on_termination = ?2 WHERE id = ?1");
		if (st)
			sqlite3_bind_int(st, 2, b);
	}
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : api_err_internal(r);
	/* the anti-spoofing rules follow SourceDestCheck */
	if (ret == 0 && sdc_given)
		netsync_vpc(r->h, v[0].vpc);
out:
	if (ret == 0 && nv && v[0].instance[0])
		(void)imdstree_refresh(r->h, v[0].instance); /* security groups */
	free(groups);
	eni_views_free(v, nv);
	return ret;
}
