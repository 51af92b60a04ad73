/* Security groups: CreateSecurityGroup, DeleteSecurityGroup,
 * Authorize/RevokeSecurityGroupIngress/Egress, DescribeSecurityGroups,
 * DescribeSecurityGroupRules, ModifySecurityGroupRules.
 *
 * A rule row holds one protocol/port range and one source (a CIDR or a
 * group), because that is the unit EC2 gives an sgr- id; DescribeSecurityGroups
 * folds rows back into IpPermissions by (protocol, ports). After every
 * committed change the VPC's firewall is recompiled (netsync). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/netsync.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "net/cidr.h"
#include "lib/ids.h"
#include "lib/util.h"

#define PORT_NONE INT_MIN
#define RULES_PER_DIRECTION 60
#define GROUPS_PER_VPC 2500

struct perm {
	bool egress;
	char proto[8];      /* -1 | tcp | udp | icmp | a protocol number */
	int from, to;       /* PORT_NONE where the protocol has no ports */
	char cidr[20];      /* exactly one of cidr / ref is set */
	char ref[ID_MAX];
	char desc[256];
	char id[ID_MAX];    /* sgr- once stored or matched */
};

struct perms {
	struct perm *p;
	size_t n, cap;
};

static struct perm *perm_add(struct perms *ps)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 8;
		struct perm *p = realloc(ps->p, cap * sizeof(*p));

		if (!p)
			abort();
		ps->p = p;
		ps->cap = cap;
	}
	memset(&ps->p[ps->n], 0, sizeof(ps->p[0]));
	return &ps->p[ps->n++];
}

static bool perm_same(const struct perm *a, const struct perm *b)
{
	return a->egress == b->egress && !strcmp(a->proto, b->proto) && a->from == b->from && a->to == b->to &&
	       !strcmp(a->cidr, b->cidr) && !strcmp(a->ref, b->ref);
}

/* ---- groups ------------------------------------------------------------ */

struct sg {
	char id[ID_MAX];
	char vpc[ID_MAX];
	char name[256];
};

/* 1 and the account's default VPC in out, 0 when it has none. */
static int default_vpc(struct api_req *r, char out[ID_MAX])
{
	int e = netsync_default_vpc(r->h, r->account_id, out);

	if (e < 0)
		return api_err_internal(r);
	return e;
}

/* Fills g from an id, or from a name looked up in vpc (the default VPC when
 * NULL). Answers EC2's errors itself. */
static int find_group(struct api_req *r, const char *id, const char *name, const char *vpc, struct sg *g)
{
	struct store *s = r->h->store;
	char dvpc[ID_MAX] = "";
	sqlite3_stmt *st;
	int rc;

	if (id && *id) {
		if (!id_valid("sg", id))
			return api_err(r, 400, "InvalidGroupId.Malformed", "Invalid id: \"%.64s\" (expecting \"sg-...\")",
				       id);
		st = store_stmt(s, "SELECT id, vpc_id, name FROM security_groups WHERE id = ? AND account_id = ?");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	} else {
		if (!name || !*name)
			return api_err_missing(r, "GroupId");
		if (!vpc) {
			int e = default_vpc(r, dvpc);

			if (e < 0)
				return e;
			if (!e)
				return api_err(r, 400, "VPCIdNotSpecified",
					       "No default VPC for this user. GroupName is only supported for EC2-Classic "
					       "and default VPC.");
			vpc = dvpc;
		}
		st = store_stmt(s, "SELECT id, vpc_id, name FROM security_groups WHERE name = ? AND account_id = ? AND "
				   "vpc_id = ?");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, vpc, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(g->id, sizeof(g->id), "%s", store_text(st, 0));
		snprintf(g->vpc, sizeof(g->vpc), "%s", store_text(st, 1));
		snprintf(g->name, sizeof(g->name), "%s", store_text(st, 2));
		return 0;
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	if (id && *id)
		return api_err(r, 400, "InvalidGroup.NotFound", "The security group '%.64s' does not exist", id);
	return api_err(r, 400, "InvalidGroup.NotFound", "The security group '%.255s' does not exist in VPC '%s'", name,
		       vpc);
}

/* EC2's character set for VPC group names and descriptions. */
static bool sg_text_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(" ._-:/()#,@[]+=&;{}!$*", *s))
			return false;
	return true;
}

static int check_text(struct api_req *r, const char *param, const char *v)
{
	if (strlen(v) > 255)
		return api_err(r, 400, "InvalidParameterValue",
			       "Value for parameter %s is invalid. Length exceeds maximum of 255 characters.", param);
	if (!sg_text_ok(v))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.255s) for parameter %s is invalid. Character sets beyond "
			       "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$* are not allowed.",
			       v, param);
	return 0;
}

/* ---- rules: parsing ---------------------------------------------------- */

static int norm_proto(struct api_req *r, const char *in, char out[8])
{
	long n;
	char *end;

	if (!strcasecmp(in, "tcp") || !strcasecmp(in, "udp") || !strcasecmp(in, "icmp")) {
		for (int i = 0; in[i]; i++)
			out[i] = (char)tolower((unsigned char)in[i]);
		out[strlen(in)] = '\0';
		return 0;
	}
	if (!strcmp(in, "-1")) {
		strcpy(out, "-1");
		return 0;
	}
	if (!strcasecmp(in, "icmpv6"))
		goto v6;
	n = strtol(in, &end, 10);
	if (!*in || *end || n < 0 || n > 255 || (in[0] == '0' && in[1]))
		return api_err(r, 400, "InvalidParameterValue", "Invalid value '%.32s' for IP protocol. Unknown protocol.",
			       in);
	if (n == 58)
		goto v6;
	snprintf(out, 8, "%s", n == 6 ? "tcp" : n == 17 ? "udp" : n == 1 ? "icmp" : in);
	return 0;
v6:
	return api_err(r, 400, "UnsupportedOperation", "IPv6 rules (icmpv6) are not supported by this host.");
}

/* Ports of one permission: tcp/udp need a range, icmp a type and code,
 * other protocols have none. */
static int parse_ports(struct api_req *r, const char *pfx, struct perm *p)
{
	char fn[96], tn[96];
	const char *fv, *tv;
	int64_t f, t;
	int ret;

	snprintf(fn, sizeof(fn), "%sFromPort", pfx);
	snprintf(tn, sizeof(tn), "%sToPort", pfx);
	fv = api_str(r, fn);
	tv = api_str(r, tn);
	if (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp") && strcmp(p->proto, "icmp")) {
		p->from = p->to = PORT_NONE;
		return 0;
	}
	if (!fv || !tv)
		return api_err(r, 400, "InvalidParameterValue",
			       "Invalid value 'Must specify both from and to ports with TCP/UDP/ICMP.' for portRange.");
	if ((ret = api_int(r, fn, 0, -1, 65535, &f)) < 0 || (ret = api_int(r, tn, 0, -1, 65535, &t)) < 0)
		return ret;
	if (!strcmp(p->proto, "icmp")) {
		if (f > 255 || t > 255)
			return api_err(r, 400, "InvalidParameterValue",
				       "Invalid value for portRange. ICMP type and code must be between -1 and 255.");
		if (f == -1 && t != -1)
			return api_err(r, 400, "InvalidParameterValue",
				       "Invalid value for portRange. ICMP code must be -1 when the type is -1.");
	} else {
		if (f < 0 || t < 0)
			return api_err(r, 400, "InvalidParameterValue",
				       "Invalid value for portRange. Must specify a valid fromPort and toPort (0-65535).");
		if (f > t)
			return api_err(r, 400, "InvalidParameterValue",
				       "Invalid TCP/UDP port range %lld-%lld: fromPort must not exceed toPort.",
				       (long long)f, (long long)t);
	}
	p->from = (int)f;
	p->to = (int)t;
	return 0;
}

static int parse_cidr(struct api_req *r, const char *v, char out[20])
{
	struct cidr c;

	if (cidr_parse(v, &c) < 0)
		return api_err(r, 400, "InvalidParameterValue", "CIDR block %.64s is malformed", v);
	snprintf(out, 20, "%s", v);
	return 0;
}

/* A referenced group: same account and VPC as the rule's group. */
static int parse_ref(struct api_req *r, const struct sg *g, const char *id, const char *name, const char *user,
		     char out[ID_MAX])
{
	struct sg ref;
	int ret;

	if (user && *user && strcmp(user, r->account_id))
		return api_err(r, 400, "InvalidGroup.NotFound",
			       "Groups of other accounts (%.16s) cannot be referenced on this host.", user);
	if ((ret = find_group(r, id, name, g->vpc, &ref)) < 0)
		return ret;
	if (strcmp(ref.vpc, g->vpc))
		return api_err(r, 400, "InvalidGroup.NotFound",
			       "You have specified two resources that belong to different networks.");
	snprintf(out, ID_MAX, "%s", ref.id);
	return 0;
}

static int set_desc(struct api_req *r, const char *param, const char *v, struct perm *p)
{
	int ret;

	if (!v)
		return 0;
	if ((ret = check_text(r, param, v)) < 0)
		return ret;
	snprintf(p->desc, sizeof(p->desc), "%s", v);
	return 0;
}

static bool present_under(struct api_req *r, const char *prefix)
{
	unsigned *idx = NULL;
	size_t n = 0;

	query_indices(r->q, prefix, &idx, &n);
	free(idx);
	return n > 0;
}

/* IpPermissions.N (or the old flat parameters) into one perm per source. */
static int parse_perms(struct api_req *r, const struct sg *g, bool egress, struct perms *out)
{
	unsigned *pi = NULL, *si = NULL;
	size_t npi = 0, nsi = 0;
	char name[128], name2[128], name3[128];
	int ret = 0;

	if (query_indices(r->q, "IpPermissions", &pi, &npi) < 0)
		return api_err_internal(r);
	if (!npi) {
		/* The legacy form: one protocol/port range from one CIDR or group. */
		const char *proto = api_str(r, "IpProtocol"), *cidr = api_str(r, "CidrIp");
		const char *sname = api_str(r, "SourceSecurityGroupName");
		const char *sowner = api_str(r, "SourceSecurityGroupOwnerId");
		struct perm *p;

		if (!proto && !cidr && !sname)
			return api_err_missing(r, "IpPermissions");
		if (cidr && sname)
			return api_err(r, 400, "InvalidParameterCombination",
				       "CidrIp and SourceSecurityGroupName cannot be used together.");
		p = perm_add(out);
		p->egress = egress;
		if ((ret = norm_proto(r, proto ? proto : "-1", p->proto)) < 0 || (ret = parse_ports(r, "", p)) < 0)
			return ret;
		if (sname)
			return parse_ref(r, g, NULL, sname, sowner, p->ref);
		if (!cidr)
			return api_err_missing(r, "CidrIp");
		return parse_cidr(r, cidr, p->cidr);
	}
	for (size_t i = 0; i < npi; i++) {
		struct perm base = { .egress = egress };
		const char *proto;
		char pfx[64];
		size_t before = out->n;

		snprintf(pfx, sizeof(pfx), "IpPermissions.%u.", pi[i]);
		snprintf(name, sizeof(name), "%sIpProtocol", pfx);
		proto = api_str(r, name);
		if (!proto) {
			ret = api_err_missing(r, name);
			goto out;
		}
		if ((ret = norm_proto(r, proto, base.proto)) < 0 || (ret = parse_ports(r, pfx, &base)) < 0)
			goto out;
		snprintf(name, sizeof(name), "%sIpv6Ranges", pfx);
		snprintf(name2, sizeof(name2), "%sPrefixListIds", pfx);
		if (present_under(r, name) || present_under(r, name2)) {
			ret = api_err(r, 400, "UnsupportedOperation",
				      "IPv6 ranges and prefix lists are not supported by this host.");
			goto out;
		}
		snprintf(name, sizeof(name), "%sIpRanges", pfx);
		free(si);
		si = NULL;
		if (query_indices(r->q, name, &si, &nsi) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		for (size_t j = 0; j < nsi; j++) {
			struct perm *p = perm_add(out);
			const char *cidr;

			*p = base;
			snprintf(name, sizeof(name), "%sIpRanges.%u.CidrIp", pfx, si[j]);
			snprintf(name2, sizeof(name2), "%sIpRanges.%u.Description", pfx, si[j]);
			cidr = api_str(r, name);
			if (!cidr) {
				ret = api_err_missing(r, name);
				goto out;
			}
			if ((ret = parse_cidr(r, cidr, p->cidr)) < 0 || (ret = set_desc(r, name2, api_str(r, name2), p)) < 0)
				goto out;
		}
		snprintf(name, sizeof(name), "%sGroups", pfx);
		free(si);
		si = NULL;
		if (query_indices(r->q, name, &si, &nsi) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		for (size_t j = 0; j < nsi; j++) {
			struct perm *p = perm_add(out);

			*p = base;
			snprintf(name, sizeof(name), "%sGroups.%u.GroupId", pfx, si[j]);
			snprintf(name2, sizeof(name2), "%sGroups.%u.GroupName", pfx, si[j]);
			snprintf(name3, sizeof(name3), "%sGroups.%u.UserId", pfx, si[j]);
			if ((ret = parse_ref(r, g, api_str(r, name), api_str(r, name2), api_str(r, name3), p->ref)) < 0)
				goto out;
			snprintf(name, sizeof(name), "%sGroups.%u.Description", pfx, si[j]);
			if ((ret = set_desc(r, name, api_str(r, name), p)) < 0)
				goto out;
		}
		if (out->n == before) {
			ret = api_err(r, 400, "InvalidParameterValue",
				      "IpPermissions.%u names no source: give IpRanges or Groups.", pi[i]);
			goto out;
		}
	}
out:
	free(pi);
	free(si);
	return ret;
}

/* ---- rules: storage ---------------------------------------------------- */

static int load_rules(struct store *s, const char *group, struct perms *out)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT id, egress, protocol, from_port, to_port, cidr, ref_group_id, "
					 "description FROM sg_rules WHERE group_id = ? ORDER BY created_ms, rowid");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct perm *p = perm_add(out);

		snprintf(p->id, sizeof(p->id), "%s", store_text(st, 0));
		p->egress = sqlite3_column_int(st, 1);
		snprintf(p->proto, sizeof(p->proto), "%s", store_text(st, 2));
		p->from = sqlite3_column_type(st, 3) == SQLITE_NULL ? PORT_NONE : sqlite3_column_int(st, 3);
		p->to = sqlite3_column_type(st, 4) == SQLITE_NULL ? PORT_NONE : sqlite3_column_int(st, 4);
		snprintf(p->cidr, sizeof(p->cidr), "%s", store_text(st, 5));
		snprintf(p->ref, sizeof(p->ref), "%s", store_text(st, 6));
		snprintf(p->desc, sizeof(p->desc), "%s", store_text(st, 7));
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int insert_rule(struct store *s, const char *group, struct perm *p)
{
	sqlite3_stmt *st;

	if (id_new("sgr", p->id) < 0)
		return -EIO;
	st = store_stmt(s, "INSERT INTO sg_rules(id, group_id, egress, protocol, from_port, to_port, cidr, "
			   "ref_group_id, description, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, group, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, p->egress);
	sqlite3_bind_text(st, 4, p->proto, -1, SQLITE_STATIC);
	if (p->from != PORT_NONE)
		sqlite3_bind_int(st, 5, p->from);
	if (p->to != PORT_NONE)
		sqlite3_bind_int(st, 6, p->to);
	if (p->cidr[0])
		sqlite3_bind_text(st, 7, p->cidr, -1, SQLITE_STATIC);
	if (p->ref[0])
		sqlite3_bind_text(st, 8, p->ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, p->desc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now_ms());
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static int delete_rule(struct store *s, const char *account, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM sg_rules WHERE id = ?");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	return tags_delete_all(s, account, id);
}

/* The text EC2 puts in InvalidPermission.Duplicate / .NotFound. */
static void perm_text(const struct perm *p, char *out, size_t n)
{
	char ports[64] = "";
	char proto[sizeof(p->proto)] = "ALL";

	if (strcmp(p->proto, "-1"))
		for (size_t i = 0; i < sizeof(proto); i++)
			proto[i] = (char)toupper((unsigned char)p->proto[i]);
	if (p->from != PORT_NONE)
		snprintf(ports, sizeof(ports), ", from port: %d, to port: %d", p->from, p->to);
	snprintf(out, n, "peer: %s, %s%s, ALLOW", p->cidr[0] ? p->cidr : p->ref, proto, ports);
}

static void write_arn(struct api_req *r, const char *name, const char *kind, const char *id)
{
	char arn[256];

	snprintf(arn, sizeof(arn), "arn:aws:ec2:%s:%s:%s/%s", r->h->cfg->region, r->account_id, kind, id);
	xml_text(&r->x, name, arn);
}

static int write_rule(struct api_req *r, const char *group, const struct perm *p, bool with_tags)
{
	xml_text(&r->x, "securityGroupRuleId", p->id);
	xml_text(&r->x, "groupId", group);
	xml_text(&r->x, "groupOwnerId", r->account_id);
	xml_bool(&r->x, "isEgress", p->egress);
	xml_text(&r->x, "ipProtocol", p->proto);
	xml_int(&r->x, "fromPort", p->from == PORT_NONE ? -1 : p->from);
	xml_int(&r->x, "toPort", p->to == PORT_NONE ? -1 : p->to);
	if (p->cidr[0])
		xml_text(&r->x, "cidrIpv4", p->cidr);
	if (p->ref[0]) {
		xml_open(&r->x, "referencedGroupInfo");
		xml_text(&r->x, "groupId", p->ref);
		xml_text(&r->x, "userId", r->account_id);
		xml_close(&r->x);
	}
	if (p->desc[0])
		xml_text(&r->x, "description", p->desc);
	if (with_tags && tags_write(r->h->store, &r->x, r->account_id, p->id) < 0)
		return -EIO;
	write_arn(r, "securityGroupRuleArn", "security-group-rule", p->id);
	return 0;
}

/* ---- CreateSecurityGroup ----------------------------------------------- */

static int vpc_exists(struct api_req *r, const char *vpc)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT 1 FROM vpcs WHERE id = ? AND account_id = ?");
	int rc;

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

int act_create_security_group(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *name, *desc, *vpc_in = api_str(r, "VpcId");
	struct tag_list tags = { 0 };
	struct perm egress = { .egress = true, .proto = "-1", .from = PORT_NONE, .to = PORT_NONE,
			       .cidr = "0.0.0.0/0" };
	char vpc[ID_MAX], id[ID_MAX];
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "GroupName", &name)) < 0 || (ret = api_need_str(r, "GroupDescription", &desc)) < 0 ||
	    (ret = check_text(r, "GroupName", name)) < 0 || (ret = check_text(r, "GroupDescription", desc)) < 0)
		return ret;
	if (!strncasecmp(name, "sg-", 3))
		return api_err(r, 400, "InvalidParameterValue", "Group names may not be in the format sg-*.");
	if (!strcmp(name, "default"))
		return api_err(r, 400, "InvalidGroup.Reserved", "The security group 'default' is reserved");
	if (vpc_in && *vpc_in) {
		if (!id_valid("vpc", vpc_in))
			return api_err(r, 400, "InvalidVpcID.Malformed", "Invalid id: \"%.64s\" (expecting \"vpc-...\")",
				       vpc_in);
		if ((ret = vpc_exists(r, vpc_in)) < 0)
			return ret;
		snprintf(vpc, sizeof(vpc), "%s", vpc_in);
	} else {
		if ((ret = default_vpc(r, vpc)) < 0)
			return ret;
		if (!ret)
			return api_err(r, 400, "VPCIdNotSpecified", "No default VPC for this user");
	}
	if ((ret = tags_from_specs(r, "security-group", &tags)) < 0)
		return ret;
	if (id_new("sg", id) < 0 || store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "SELECT count(*) FROM security_groups WHERE vpc_id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto internal;
	if (sqlite3_column_int(st, 0) >= GROUPS_PER_VPC) {
		store_rollback(s);
		ret = api_err(r, 400, "SecurityGroupLimitExceeded",
			      "The maximum number of security groups for VPC '%s' has been reached.", vpc);
		goto out;
	}
	st = store_stmt(s, "INSERT INTO security_groups(id, account_id, vpc_id, name, description, created_ms) "
			   "VALUES (?, ?, ?, ?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vpc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, desc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		store_rollback(s);
		ret = api_err(r, 400, "InvalidGroup.Duplicate", "The security group '%.255s' already exists for VPC '%s'",
			      name, vpc);
		goto out;
	}
	/* A new group allows all egress and no ingress. */
	if (rc != SQLITE_DONE || insert_rule(s, id, &egress) < 0 ||
	    tags_set(s, r->account_id, id, "security-group", &tags) < 0 || store_commit(s) < 0)
		goto internal;
	xml_text(&r->x, "groupId", id);
	ret = tags_write(s, &r->x, r->account_id, id) < 0 ? api_err_internal(r) : 0;
	write_arn(r, "securityGroupArn", "security-group", id);
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

/* ---- DeleteSecurityGroup ----------------------------------------------- */

/* 1 when an ENI, a live instance or another group's rule uses the group. */
static int group_in_use(struct store *s, const char *id)
{
	static const char *const q[] = {
		"SELECT 1 FROM eni_groups WHERE group_id = ?1",
		"SELECT 1 FROM sg_rules WHERE ref_group_id = ?1 AND group_id != ?1",
		/* instances launched before they had ENIs keep their groups here */
		("SELECT 1 FROM instances WHERE state != 'terminated' AND "
		 "instr(' ' || security_group_ids || ' ', ' ' || ?1 || ' ') > 0"),
	};

	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		sqlite3_stmt *st = store_stmt(s, q[i]);
		int rc;

		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			return 1;
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

int act_delete_security_group(struct api_req *r)
{
	struct store *s = r->h->store;
	struct perms rules = { 0 };
	struct sg g;
	sqlite3_stmt *st;
	int ret, used;

	if ((ret = find_group(r, api_str(r, "GroupId"), api_str(r, "GroupName"), NULL, &g)) < 0)
		return ret;
	if (!strcmp(g.name, "default"))
		return api_err(r, 400, "CannotDelete",
			       "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	used = group_in_use(s, g.id);
	if (used < 0)
		goto internal;
	if (used) {
		store_rollback(s);
		return api_err(r, 400, "DependencyViolation", "resource %s has a dependent object", g.id);
	}
	if (load_rules(s, g.id, &rules) < 0)
		goto internal;
	for (size_t i = 0; i < rules.n; i++)
		if (tags_delete_all(s, r->account_id, rules.p[i].id) < 0)
			goto internal;
	st = store_stmt(s, "DELETE FROM security_groups WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, g.id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, g.id) < 0 || store_commit(s) < 0)
		goto internal;
	free(rules.p);
	xml_bool(&r->x, "return", true);
	xml_text(&r->x, "groupId", g.id);
	return 0;
internal:
	free(rules.p);
	store_rollback(s);
	return api_err_internal(r);
}

/* ---- Authorize / Revoke ------------------------------------------------ */

static int authorize(struct api_req *r, bool egress)
{
	struct store *s = r->h->store;
	struct perms req = { 0 }, have = { 0 };
	struct tag_list tags = { 0 };
	struct sg g;
	size_t count = 0;
	int ret;

	if ((ret = find_group(r, api_str(r, "GroupId"), api_str(r, "GroupName"), NULL, &g)) < 0)
		return ret;
	if ((ret = parse_perms(r, &g, egress, &req)) < 0 ||
	    (ret = tags_from_specs(r, "security-group-rule", &tags)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (load_rules(s, g.id, &have) < 0)
		goto internal;
	for (size_t i = 0; i < have.n; i++)
		count += have.p[i].egress == egress;
	for (size_t i = 0; i < req.n; i++) {
		bool dup = false;
		char text[160];

		for (size_t j = 0; j < have.n && !dup; j++)
			dup = perm_same(&req.p[i], &have.p[j]);
		for (size_t j = 0; j < i && !dup; j++)
			dup = perm_same(&req.p[i], &req.p[j]);
		if (dup) {
			store_rollback(s);
			perm_text(&req.p[i], text, sizeof(text));
			ret = api_err(r, 400, "InvalidPermission.Duplicate", "the specified rule \"%s\" already exists",
				      text);
			goto out;
		}
	}
	if (count + req.n > RULES_PER_DIRECTION) {
		store_rollback(s);
		ret = api_err(r, 400, "RulesPerSecurityGroupLimitExceeded",
			      "The maximum number of rules per security group has been reached.");
		goto out;
	}
	for (size_t i = 0; i < req.n; i++)
		if (insert_rule(s, g.id, &req.p[i]) < 0 ||
		    tags_set(s, r->account_id, req.p[i].id, "security-group-rule", &tags) < 0)
			goto internal;
	if (store_commit(s) < 0)
		goto internal;
	netsync_vpc(r->h, g.vpc);
	xml_bool(&r->x, "return", true);
	xml_open(&r->x, "securityGroupRuleSet");
	for (size_t i = 0; i < req.n; i++) {
		xml_open(&r->x, "item");
		if (write_rule(r, g.id, &req.p[i], true) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		xml_close(&r->x);
	}
	xml_close(&r->x);
	ret = 0;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	free(req.p);
	free(have.p);
	return ret;
}

int act_authorize_security_group_ingress(struct api_req *r) { return authorize(r, false); }
int act_authorize_security_group_egress(struct api_req *r) { return authorize(r, true); }

static void write_unknown(struct api_req *r, const struct perm *p)
{
	xml_open(&r->x, "item");
	xml_text(&r->x, "ipProtocol", p->proto);
	if (p->from != PORT_NONE) {
		xml_int(&r->x, "fromPort", p->from);
		xml_int(&r->x, "toPort", p->to);
	}
	if (p->cidr[0]) {
		xml_open(&r->x, "ipRanges");
		xml_open(&r->x, "item");
		xml_text(&r->x, "cidrIp", p->cidr);
		xml_close(&r->x);
		xml_close(&r->x);
	} else {
		xml_open(&r->x, "groups");
		xml_open(&r->x, "item");
		xml_text(&r->x, "groupId", p->ref);
		xml_text(&r->x, "userId", r->account_id);
		xml_close(&r->x);
		xml_close(&r->x);
	}
	xml_close(&r->x);
}

static int revoke(struct api_req *r, bool egress)
{
	struct store *s = r->h->store;
	struct perms req = { 0 }, have = { 0 }, gone = { 0 };
	const char **ids = NULL;
	size_t nids = 0;
	bool *unknown = NULL;
	size_t nunknown = 0;
	struct sg g;
	int ret;

	if ((ret = find_group(r, api_str(r, "GroupId"), api_str(r, "GroupName"), NULL, &g)) < 0)
		return ret;
	if ((ret = api_list(r, "SecurityGroupRuleId", &ids, &nids)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++)
		if (!id_valid("sgr", ids[i])) {
			ret = api_err(r, 400, "InvalidSecurityGroupRuleId.Malformed",
				      "Invalid id: \"%.64s\" (expecting \"sgr-...\")", ids[i]);
			goto out;
		}
	if (!nids && (ret = parse_perms(r, &g, egress, &req)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (load_rules(s, g.id, &have) < 0)
		goto internal;
	for (size_t i = 0; i < nids; i++) {
		size_t j;

		for (j = 0; j < have.n; j++)
			if (!strcmp(have.p[j].id, ids[i]) && have.p[j].egress == egress)
				break;
		if (j == have.n) {
			store_rollback(s);
			ret = api_err(r, 400, "InvalidSecurityGroupRuleId.NotFound",
				      "The security group rule ID '%.64s' does not exist", ids[i]);
			goto out;
		}
		*perm_add(&gone) = have.p[j];
	}
	unknown = xcalloc(req.n ? req.n : 1, sizeof(*unknown));
	for (size_t i = 0; i < req.n; i++) {
		size_t j;

		for (j = 0; j < have.n; j++)
			if (perm_same(&req.p[i], &have.p[j]))
				break;
		if (j == have.n) {
			unknown[i] = true;
			nunknown++;
			continue;
		}
		*perm_add(&gone) = have.p[j];
	}
	for (size_t i = 0; i < gone.n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(gone.p[k].id, gone.p[i].id);
		if (!seen && delete_rule(s, r->account_id, gone.p[i].id) < 0)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	if (gone.n)
		netsync_vpc(r->h, g.vpc);
	/* EC2: rules that match nothing are listed back, not an error. */
	xml_bool(&r->x, "return", nunknown == 0);
	if (nunknown) {
		xml_open(&r->x, "unknownIpPermissionSet");
		for (size_t i = 0; i < req.n; i++)
			if (unknown[i])
				write_unknown(r, &req.p[i]);
		xml_close(&r->x);
	}
	xml_open(&r->x, "revokedSecurityGroupRuleSet");
	for (size_t i = 0; i < gone.n; i++) {
		const struct perm *p = &gone.p[i];

		xml_open(&r->x, "item");
		xml_text(&r->x, "securityGroupRuleId", p->id);
		xml_text(&r->x, "groupId", g.id);
		xml_bool(&r->x, "isEgress", p->egress);
		xml_text(&r->x, "ipProtocol", p->proto);
		xml_int(&r->x, "fromPort", p->from == PORT_NONE ? -1 : p->from);
		xml_int(&r->x, "toPort", p->to == PORT_NONE ? -1 : p->to);
		if (p->cidr[0])
			xml_text(&r->x, "cidrIpv4", p->cidr);
		if (p->ref[0])
			xml_text(&r->x, "referencedGroupId", p->ref);
		if (p->desc[0])
			xml_text(&r->x, "description", p->desc);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	ret = 0;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	free(ids);
	free(unknown);
	free(req.p);
	free(have.p);
	free(gone.p);
	return ret;
}

int act_revoke_security_group_ingress(struct api_req *r) { return revoke(r, false); }
int act_revoke_security_group_egress(struct api_req *r) { return revoke(r, true); }

/* ---- ModifySecurityGroupRules ------------------------------------------ */

int act_modify_security_group_rules(struct api_req *r)
{
	struct store *s = r->h->store;
	struct perms have = { 0 };
	unsigned *idx = NULL;
	size_t n = 0;
	struct sg g;
	int ret;

	if ((ret = find_group(r, api_str(r, "GroupId"), NULL, NULL, &g)) < 0)
		return ret;
	if (query_indices(r->q, "SecurityGroupRule", &idx, &n) < 0)
		return api_err_internal(r);
	if (!n) {
		free(idx);
		return api_err_missing(r, "SecurityGroupRule");
	}
	if (store_begin(s) < 0) {
		free(idx);
		return api_err_internal(r);
	}
	if (load_rules(s, g.id, &have) < 0)
		goto internal;
	for (size_t i = 0; i < n; i++) {
		char name[160], pfx[80];
		const char *rid, *proto, *cidr, *ref, *desc;
		struct perm *p = NULL, np;
		sqlite3_stmt *st;

		snprintf(name, sizeof(name), "SecurityGroupRule.%u.SecurityGroupRuleId", idx[i]);
		snprintf(pfx, sizeof(pfx), "SecurityGroupRule.%u.SecurityGroupRule.", idx[i]);
		rid = api_str(r, name);
		if (!rid || !*rid) {
			ret = api_err_missing(r, name);
			goto fail;
		}
		for (size_t j = 0; j < have.n && !p; j++)
			if (!strcmp(have.p[j].id, rid))
				p = &have.p[j];
		if (!p) {
			ret = api_err(r, 400, "InvalidSecurityGroupRuleId.NotFound",
				      "The security group rule ID '%.64s' does not exist", rid);
			goto fail;
		}
		np = *p;
		snprintf(name, sizeof(name), "%sIpProtocol", pfx);
		proto = api_str(r, name);
		if (!proto) {
			ret = api_err_missing(r, name);
			goto fail;
		}
		if ((ret = norm_proto(r, proto, np.proto)) < 0 || (ret = parse_ports(r, pfx, &np)) < 0)
			goto fail;
		snprintf(name, sizeof(name), "%sCidrIpv4", pfx);
		cidr = api_str(r, name);
		snprintf(name, sizeof(name), "%sReferencedGroupId", pfx);
		ref = api_str(r, name);
		if (!!cidr == !!ref) {
			ret = api_err(r, 400, "InvalidParameterCombination",
				      "Exactly one of CidrIpv4 and ReferencedGroupId must be given.");
			goto fail;
		}
		np.cidr[0] = np.ref[0] = '\0';
		if (cidr && (ret = parse_cidr(r, cidr, np.cidr)) < 0)
			goto fail;
		if (ref && (ret = parse_ref(r, &g, ref, NULL, NULL, np.ref)) < 0)
			goto fail;
		snprintf(name, sizeof(name), "%sDescription", pfx);
		desc = api_str(r, name);
		np.desc[0] = '\0';
		if ((ret = set_desc(r, name, desc, &np)) < 0)
			goto fail;
		for (size_t j = 0; j < have.n; j++)
			if (&have.p[j] != p && perm_same(&np, &have.p[j])) {
				char text[160];

				perm_text(&np, text, sizeof(text));
				ret = api_err(r, 400, "InvalidPermission.Duplicate",
					      "the specified rule \"%s\" already exists", text);
				goto fail;
			}
		*p = np;
		st = store_stmt(s, "UPDATE sg_rules SET protocol = ?, from_port = ?, to_port = ?, cidr = ?, "
				   "ref_group_id = ?, description = ? WHERE id = ?");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, p->proto, -1, SQLITE_STATIC);
		if (p->from != PORT_NONE)
			sqlite3_bind_int(st, 2, p->from);
		if (p->to != PORT_NONE)
			sqlite3_bind_int(st, 3, p->to);
		if (p->cidr[0])
			sqlite3_bind_text(st, 4, p->cidr, -1, SQLITE_STATIC);
		if (p->ref[0])
			sqlite3_bind_text(st, 5, p->ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, p->desc, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, p->id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	netsync_vpc(r->h, g.vpc);
	xml_bool(&r->x, "return", true);
	free(idx);
	free(have.p);
	return 0;
internal:
	ret = api_err_internal(r);
fail:
	store_rollback(s);
	free(idx);
	free(have.p);
	return ret;
}

/* ---- DescribeSecurityGroups -------------------------------------------- */

static const char *const sg_filters[] = {
	"description", "group-id", "group-name", "owner-id", "vpc-id",
	"ip-permission.cidr", "ip-permission.from-port", "ip-permission.group-id", "ip-permission.protocol",
	"ip-permission.to-port", "ip-permission.user-id", "egress.ip-permission.cidr",
	"egress.ip-permission.from-port", "egress.ip-permission.group-id", "egress.ip-permission.protocol",
	"egress.ip-permission.to-port", "egress.ip-permission.user-id", NULL,
};

/* One <item> per (protocol, ports) of one direction, with its sources. */
static void write_permissions(struct api_req *r, const char *elem, const struct perms *ps, bool egress)
{
	bool *done = xcalloc(ps->n ? ps->n : 1, sizeof(*done));

	xml_open(&r->x, elem);
	for (size_t i = 0; i < ps->n; i++) {
		const struct perm *a = &ps->p[i];

		if (done[i] || a->egress != egress)
			continue;
		xml_open(&r->x, "item");
		xml_text(&r->x, "ipProtocol", a->proto);
		if (a->from != PORT_NONE) {
			xml_int(&r->x, "fromPort", a->from);
			xml_int(&r->x, "toPort", a->to);
		}
		for (int pass = 0; pass < 2; pass++) {
			xml_open(&r->x, pass ? "ipRanges" : "groups");
			for (size_t j = i; j < ps->n; j++) {
				const struct perm *b = &ps->p[j];

				if (done[j] || b->egress != egress || strcmp(a->proto, b->proto) || a->from != b->from ||
				    a->to != b->to || !(pass ? b->cidr[0] : b->ref[0]))
					continue;
				xml_open(&r->x, "item");
				if (pass) {
					xml_text(&r->x, "cidrIp", b->cidr);
				} else {
					xml_text(&r->x, "userId", r->account_id);
					xml_text(&r->x, "groupId", b->ref);
				}
				if (b->desc[0])
					xml_text(&r->x, "description", b->desc);
				xml_close(&r->x);
			}
			xml_close(&r->x);
		}
		for (size_t j = i; j < ps->n; j++)
			if (ps->p[j].egress == egress && !strcmp(a->proto, ps->p[j].proto) && a->from == ps->p[j].from &&
			    a->to == ps->p[j].to)
				done[j] = true;
		xml_open(&r->x, "ipv6Ranges");
		xml_close(&r->x);
		xml_open(&r->x, "prefixListIds");
		xml_close(&r->x);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	free(done);
}

static void perm_fbag(struct fbag *b, const struct perm *p, const char *account)
{
	char *k = NULL, *v = NULL;
	const char *pre = p->egress ? "egress.ip-permission." : "ip-permission.";

	if (asprintf(&k, "%sprotocol", pre) < 0 || !(v = xstrdup(p->proto)))
		abort();
	fbag_own_pair(b, k, v);
	if (p->from != PORT_NONE) {
		if (asprintf(&k, "%sfrom-port", pre) < 0 || asprintf(&v, "%d", p->from) < 0)
			abort();
		fbag_own_pair(b, k, v);
		if (asprintf(&k, "%sto-port", pre) < 0 || asprintf(&v, "%d", p->to) < 0)
			abort();
		fbag_own_pair(b, k, v);
	}
	if (asprintf(&k, p->cidr[0] ? "%scidr" : "%sgroup-id", pre) < 0 ||
	    !(v = xstrdup(p->cidr[0] ? p->cidr : p->ref)))
		abort();
	fbag_own_pair(b, k, v);
	if (p->ref[0]) {
		if (asprintf(&k, "%suser-id", pre) < 0 || !(v = xstrdup(account)))
			abort();
		fbag_own_pair(b, k, v);
	}
}

int act_describe_security_groups(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	struct perms rules = { 0 };
	const char **ids = NULL, **names = NULL;
	size_t nids = 0, nnames = 0;
	char dvpc[ID_MAX] = "", *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "GroupId", &ids, &nids)) < 0 || (ret = api_list(r, "GroupName", &names, &nnames)) < 0 ||
	    (ret = api_filters(r, sg_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	if (nnames && (ret = default_vpc(r, dvpc)) < 0)
		goto out;
	/* Named groups must all exist, as on EC2. */
	for (size_t i = 0; i < nids + nnames; i++) {
		struct sg g;

		if ((ret = find_group(r, i < nids ? ids[i] : NULL, i < nids ? NULL : names[i - nids], NULL, &g)) < 0)
			goto out;
	}
	xml_open(&r->x, "securityGroupInfo");
	st = store_stmt(s, "SELECT id, vpc_id, name, description FROM security_groups WHERE account_id = ?1 AND "
			   "(?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0), *vpc = store_text(st, 1), *name = store_text(st, 2), *desc = store_text(st, 3);

		if ((nids || nnames) && !strv_contains(ids, nids, id) && !(!strcmp(vpc, dvpc) && strv_contains(names, nnames, name)))
			continue;
		rules.n = 0;
		if (load_rules(s, id, &rules) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "group-id", id);
			fbag_add(&bag, "group-name", name);
			fbag_add(&bag, "description", desc);
			fbag_add(&bag, "vpc-id", vpc);
			fbag_add(&bag, "owner-id", r->account_id);
			for (size_t i = 0; i < rules.n; i++)
				perm_fbag(&bag, &rules.p[i], r->account_id);
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
		xml_text(&r->x, "ownerId", r->account_id);
		xml_text(&r->x, "groupId", id);
		xml_text(&r->x, "groupName", name);
		xml_text(&r->x, "groupDescription", desc);
		write_permissions(r, "ipPermissions", &rules, false);
		write_permissions(r, "ipPermissionsEgress", &rules, true);
		xml_text(&r->x, "vpcId", vpc);
		write_arn(r, "securityGroupArn", "security-group", id);
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
	free(names);
	free(from);
	free(rules.p);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* ---- DescribeSecurityGroupRules ---------------------------------------- */

static const char *const sgr_filters[] = { "group-id", "security-group-rule-id", NULL };

int act_describe_security_group_rules(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "SecurityGroupRuleId", &ids, &nids)) < 0 ||
	    (ret = api_filters(r, sgr_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		if (!id_valid("sgr", ids[i])) {
			ret = api_err(r, 400, "InvalidSecurityGroupRuleId.Malformed",
				      "Invalid id: \"%.64s\" (expecting \"sgr-...\")", ids[i]);
			goto out;
		}
		st = store_stmt(s, "SELECT 1 FROM sg_rules JOIN security_groups g ON g.id = sg_rules.group_id "
				   "WHERE sg_rules.id = ? AND g.account_id = ?");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			ret = api_err(r, 400, "InvalidSecurityGroupRuleId.NotFound",
				      "The security group rule ID '%.64s' does not exist", ids[i]);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	xml_open(&r->x, "securityGroupRuleSet");
	st = store_stmt(s, "SELECT r.id, r.egress, r.protocol, r.from_port, r.to_port, r.cidr, r.ref_group_id, "
			   "r.description, r.group_id FROM sg_rules r JOIN security_groups g ON g.id = r.group_id "
			   "WHERE g.account_id = ?1 AND (?2 IS NULL OR r.id >= ?2) ORDER BY r.id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct perm p = { 0 };
		char group[ID_MAX];

		snprintf(p.id, sizeof(p.id), "%s", store_text(st, 0));
		p.egress = sqlite3_column_int(st, 1);
		snprintf(p.proto, sizeof(p.proto), "%s", store_text(st, 2));
		p.from = sqlite3_column_type(st, 3) == SQLITE_NULL ? PORT_NONE : sqlite3_column_int(st, 3);
		p.to = sqlite3_column_type(st, 4) == SQLITE_NULL ? PORT_NONE : sqlite3_column_int(st, 4);
		snprintf(p.cidr, sizeof(p.cidr), "%s", store_text(st, 5));
		snprintf(p.ref, sizeof(p.ref), "%s", store_text(st, 6));
		snprintf(p.desc, sizeof(p.desc), "%s", store_text(st, 7));
		snprintf(group, sizeof(group), "%s", store_text(st, 8));
		if (nids && !strv_contains(ids, nids, p.id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "group-id", group);
			fbag_add(&bag, "security-group-rule-id", p.id);
			if (tags_fbag(s, &bag, r->account_id, p.id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(&r->x);
			api_next_token(r, p.id);
			goto done;
		}
		xml_open(&r->x, "item");
		if (write_rule(r, group, &p, true) < 0) {
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
