/* Network ACLs: CreateNetworkAcl, DeleteNetworkAcl, CreateNetworkAclEntry,
 * ReplaceNetworkAclEntry, DeleteNetworkAclEntry,
 * ReplaceNetworkAclAssociation, DescribeNetworkAcls.
 *
 * Every ACL ends with EC2's implicit rule 32767 (deny everything) in each
 * direction; it is shown, never stored, and cannot be changed. */
#include <ctype.h>
#include <errno.h>
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

#define ENTRIES_PER_DIRECTION 20
#define RULE_MAX 32766
#define RULE_IMPLICIT 32767

struct acl {
	char id[ID_MAX];
	char vpc[ID_MAX];
	bool is_default;
};

static int find_acl(struct api_req *r, const char *param, struct acl *a)
{
	const char *id;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, param, &id)) < 0)
		return ret;
	if (!id_valid("acl", id))
		return api_err(r, 400, "InvalidNetworkAclID.Malformed", "Invalid id: \"%.64s\" (expecting \"acl-...\")",
			       id);
	st = store_stmt(r->h->store, "SELECT id, vpc_id, is_default FROM network_acls WHERE id = ? AND account_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(a->id, sizeof(a->id), "%s", store_text(st, 0));
		snprintf(a->vpc, sizeof(a->vpc), "%s", store_text(st, 1));
		a->is_default = sqlite3_column_int(st, 2);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return api_err_internal(r);
	return api_err(r, 400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%.64s' does not exist", id);
}

/* ---- entries ----------------------------------------------------------- */

struct entry {
	bool egress;
	int number;
	char proto[8];     /* "-1" or a protocol number, as EC2 shows it */
	char action[8];    /* allow | deny */
	char cidr[20];
	bool has_ports, has_icmp;
	int from, to;      /* ports (6, 17) */
	int type, code;    /* icmp (1) */
};

/* EC2 stores NACL protocols as numbers; names are accepted. */
static int nacl_proto(struct api_req *r, const char *in, char out[8])
{
	long n;
	char *end;

	if (!strcasecmp(in, "tcp"))
		in = "6";
	else if (!strcasecmp(in, "udp"))
		in = "17";
	else if (!strcasecmp(in, "icmp"))
		in = "1";
	else if (!strcasecmp(in, "all"))
		in = "-1";
	if (!strcmp(in, "-1")) {
		strcpy(out, "-1");
		return 0;
	}
	n = strtol(in, &end, 10);
	if (!*in || *end || n < 0 || n > 255 || (in[0] == '0' && in[1]))
		return api_err(r, 400, "InvalidParameterValue", "Invalid value '%.32s' for protocol. Unknown protocol.",
			       in);
	if (n == 58)
		return api_err(r, 400, "UnsupportedOperation", "IPv6 entries are not supported by this host.");
	snprintf(out, 8, "%ld", n);
	return 0;
}

static int parse_entry(struct api_req *r, struct entry *e)
{
	const char *proto, *action, *cidr;
	int64_t v;
	struct cidr block;
	int ret;

	if ((ret = api_bool(r, "Egress", false, &e->egress)) < 0)
		return ret;
	if (!api_str(r, "Egress"))
		return api_err_missing(r, "Egress");
	if (!api_str(r, "RuleNumber"))
		return api_err_missing(r, "RuleNumber");
	if ((ret = api_int(r, "RuleNumber", 0, 1, RULE_MAX, &v)) < 0)
		return ret;
	e->number = (int)v;
	if ((ret = api_need_str(r, "Protocol", &proto)) < 0 || (ret = nacl_proto(r, proto, e->proto)) < 0)
		return ret;
	if ((ret = api_need_str(r, "RuleAction", &action)) < 0)
		return ret;
	if (strcmp(action, "allow") && strcmp(action, "deny"))
		return api_err_value(r, "RuleAction", action, "Valid values: allow, deny.");
	snprintf(e->action, sizeof(e->action), "%s", action);
	if (api_str(r, "Ipv6CidrBlock"))
		return api_err(r, 400, "UnsupportedOperation", "IPv6 entries are not supported by this host.");
	if ((ret = api_need_str(r, "CidrBlock", &cidr)) < 0)
		return ret;
	if (cidr_parse(cidr, &block) < 0)
		return api_err(r, 400, "InvalidParameterValue", "CIDR block %.64s is malformed", cidr);
	snprintf(e->cidr, sizeof(e->cidr), "%s", cidr);
	if (!strcmp(e->proto, "6") || !strcmp(e->proto, "17")) {
		int64_t f, t;

		if (!api_str(r, "PortRange.From") || !api_str(r, "PortRange.To"))
			return api_err(r, 400, "InvalidParameterValue",
				       "TCP and UDP entries need PortRange.From and PortRange.To.");
		if ((ret = api_int(r, "PortRange.From", 0, 0, 65535, &f)) < 0 ||
		    (ret = api_int(r, "PortRange.To", 0, 0, 65535, &t)) < 0)
			return ret;
		if (f > t)
			return api_err(r, 400, "InvalidParameterValue",
				       "Invalid port range %lld-%lld: From must not exceed To.", (long long)f,
				       (long long)t);
		e->has_ports = true;
		e->from = (int)f;
		e->to = (int)t;
	} else if (!strcmp(e->proto, "1")) {
		int64_t t, c;

		if (!api_str(r, "Icmp.Type") || !api_str(r, "Icmp.Code"))
			return api_err(r, 400, "InvalidParameterValue", "ICMP entries need Icmp.Type and Icmp.Code.");
		if ((ret = api_int(r, "Icmp.Type", 0, -1, 255, &t)) < 0 ||
		    (ret = api_int(r, "Icmp.Code", 0, -1, 255, &c)) < 0)
			return ret;
		e->has_icmp = true;
		e->type = (int)t;
		e->code = (int)c;
	}
	return 0;
}

static int entry_exists(struct store *s, const char *acl, bool egress, int number)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM nacl_entries WHERE nacl_id = ? AND egress = ? AND "
					 "rule_number = ?");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, acl, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, egress);
	sqlite3_bind_int(st, 3, number);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int put_entry(struct store *s, const char *acl, const struct entry *e)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT OR REPLACE INTO nacl_entries(nacl_id, egress, rule_number, protocol, "
					 "rule_action, cidr, from_port, to_port, icmp_type, icmp_code) "
					 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, acl, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->egress);
	sqlite3_bind_int(st, 3, e->number);
	sqlite3_bind_text(st, 4, e->proto, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->cidr, -1, SQLITE_STATIC);
	if (e->has_ports) {
		sqlite3_bind_int(st, 7, e->from);
		sqlite3_bind_int(st, 8, e->to);
	}
	if (e->has_icmp) {
		sqlite3_bind_int(st, 9, e->type);
		sqlite3_bind_int(st, 10, e->code);
	}
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static int entry_change(struct api_req *r, bool replace)
{
	struct store *s = r->h->store;
	struct entry e = { 0 };
	struct acl a;
	sqlite3_stmt *st;
	int ret, have;

	if ((ret = find_acl(r, "NetworkAclId", &a)) < 0 || (ret = parse_entry(r, &e)) < 0)
		return ret;
	if (store_begin(s) < 0)
		return api_err_internal(r);
	have = entry_exists(s, a.id, e.egress, e.number);
	if (have < 0)
		goto internal;
	if (replace && !have) {
		store_rollback(s);
		return api_err(r, 400, "InvalidNetworkAclEntry.NotFound",
			       "The network acl entry identified by %d does not exist.", e.number);
	}
	if (!replace && have) {
		store_rollback(s);
		return api_err(r, 400, "NetworkAclEntryAlreadyExists",
			       "The network acl entry identified by %d already exists.", e.number);
	}
	if (!replace) {
		st = store_stmt(s, "SELECT count(*) FROM nacl_entries WHERE nacl_id = ? AND egress = ?");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, a.id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, e.egress);
		if (sqlite3_step(st) != SQLITE_ROW)
			goto internal;
		if (sqlite3_column_int(st, 0) >= ENTRIES_PER_DIRECTION) {
			store_rollback(s);
			return api_err(r, 400, "NetworkAclEntryLimitExceeded",
				       "The maximum number of entries for network ACL '%s' has been reached.", a.id);
		}
	}
	if (put_entry(s, a.id, &e) < 0 || store_commit(s) < 0)
		goto internal;
	netsync_vpc(r->h, a.vpc);
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

int act_create_network_acl_entry(struct api_req *r) { return entry_change(r, false); }
int act_replace_network_acl_entry(struct api_req *r) { return entry_change(r, true); }

int act_delete_network_acl_entry(struct api_req *r)
{
	struct store *s = r->h->store;
	struct acl a;
	bool egress;
	int64_t number;
	sqlite3_stmt *st;
	int ret;

	if ((ret = find_acl(r, "NetworkAclId", &a)) < 0)
		return ret;
	if (!api_str(r, "Egress"))
		return api_err_missing(r, "Egress");
	if (!api_str(r, "RuleNumber"))
		return api_err_missing(r, "RuleNumber");
	if ((ret = api_bool(r, "Egress", false, &egress)) < 0 ||
	    (ret = api_int(r, "RuleNumber", 0, 1, RULE_IMPLICIT, &number)) < 0)
		return ret;
	if (number == RULE_IMPLICIT)
		return api_err(r, 400, "InvalidParameterValue", "The default rule 32767 cannot be deleted.");
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "DELETE FROM nacl_entries WHERE nacl_id = ? AND egress = ? AND rule_number = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, a.id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, egress);
	sqlite3_bind_int(st, 3, (int)number);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	if (!sqlite3_changes(store_db(s))) {
		store_rollback(s);
		return api_err(r, 400, "InvalidNetworkAclEntry.NotFound",
			       "The network acl entry identified by %lld does not exist.", (long long)number);
	}
	if (store_commit(s) < 0)
		goto internal;
	netsync_vpc(r->h, a.vpc);
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

/* ---- writing an ACL ---------------------------------------------------- */

static void write_entry(struct api_req *r, bool egress, int number, const char *proto, const char *action,
			const char *cidr, sqlite3_stmt *st)
{
	xml_open(&r->x, "item");
	xml_int(&r->x, "ruleNumber", number);
	xml_text(&r->x, "protocol", proto);
	xml_text(&r->x, "ruleAction", action);
	xml_bool(&r->x, "egress", egress);
	xml_text(&r->x, "cidrBlock", cidr);
	if (st && sqlite3_column_type(st, 5) != SQLITE_NULL) {
		xml_open(&r->x, "portRange");
		xml_int(&r->x, "from", sqlite3_column_int(st, 5));
		xml_int(&r->x, "to", sqlite3_column_int(st, 6));
		xml_close(&r->x);
	}
	if (st && sqlite3_column_type(st, 7) != SQLITE_NULL) {
		xml_open(&r->x, "icmpTypeCode");
		xml_int(&r->x, "code", sqlite3_column_int(st, 8));
		xml_int(&r->x, "type", sqlite3_column_int(st, 7));
		xml_close(&r->x);
	}
	xml_close(&r->x);
}

static const char *const acl_filters[] = {
	"network-acl-id", "vpc-id", "default", "owner-id", "association.association-id",
	"association.network-acl-id", "association.subnet-id", "entry.cidr", "entry.egress", "entry.protocol",
	"entry.rule-action", "entry.rule-number", "entry.port-range.from", "entry.port-range.to",
	"entry.icmp.type", "entry.icmp.code", NULL,
};

/* Adds the ACL's entries and associations to bag (when non-NULL) and, when
 * write, writes entrySet and associationSet. */
static int acl_body(struct api_req *r, const char *id, struct fbag *bag, bool write)
{
	struct store *s = r->h->store;
	sqlite3_stmt *st;
	int rc;

	if (write)
		xml_open(&r->x, "entrySet");
	st = store_stmt(s, "SELECT egress, rule_number, protocol, rule_action, cidr, from_port, to_port, icmp_type, "
			   "icmp_code FROM nacl_entries WHERE nacl_id = ? ORDER BY egress DESC, rule_number");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool egress = sqlite3_column_int(st, 0);
		int number = sqlite3_column_int(st, 1);

		if (number == RULE_IMPLICIT)
			continue; /* written below, once */
		if (write)
			write_entry(r, egress, number, store_text(st, 2), store_text(st, 3), store_text(st, 4), st);
		if (bag) {
			fbag_add_int(bag, "entry.rule-number", number);
			fbag_add_bool(bag, "entry.egress", egress);
			fbag_own_pair(bag, xstrdup("entry.protocol"), xstrdup(store_text(st, 2)));
			fbag_own_pair(bag, xstrdup("entry.rule-action"), xstrdup(store_text(st, 3)));
			fbag_own_pair(bag, xstrdup("entry.cidr"), xstrdup(store_text(st, 4)));
			if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
				fbag_add_int(bag, "entry.port-range.from", sqlite3_column_int(st, 5));
				fbag_add_int(bag, "entry.port-range.to", sqlite3_column_int(st, 6));
			}
			if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
				fbag_add_int(bag, "entry.icmp.type", sqlite3_column_int(st, 7));
				fbag_add_int(bag, "entry.icmp.code", sqlite3_column_int(st, 8));
			}
		}
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	for (int egress = 1; egress >= 0; egress--) {
		if (write)
			write_entry(r, egress, RULE_IMPLICIT, "-1", "deny", "0.0.0.0/0", NULL);
		if (bag) {
			fbag_add_int(bag, "entry.rule-number", RULE_IMPLICIT);
			fbag_add_bool(bag, "entry.egress", egress);
			fbag_add(bag, "entry.protocol", "-1");
			fbag_add(bag, "entry.rule-action", "deny");
			fbag_add(bag, "entry.cidr", "0.0.0.0/0");
		}
	}
	if (write) {
		xml_close(&r->x);
		xml_open(&r->x, "associationSet");
	}
	st = store_stmt(s, "SELECT id, subnet_id FROM nacl_assocs WHERE nacl_id = ? ORDER BY subnet_id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (write) {
			xml_open(&r->x, "item");
			xml_text(&r->x, "networkAclAssociationId", store_text(st, 0));
			xml_text(&r->x, "networkAclId", id);
			xml_text(&r->x, "subnetId", store_text(st, 1));
			xml_close(&r->x);
		}
		if (bag) {
			fbag_own_pair(bag, xstrdup("association.association-id"), xstrdup(store_text(st, 0)));
			fbag_own_pair(bag, xstrdup("association.subnet-id"), xstrdup(store_text(st, 1)));
			fbag_own_pair(bag, xstrdup("association.network-acl-id"), xstrdup(id));
		}
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	if (write)
		xml_close(&r->x);
	return 0;
}

static int write_acl(struct api_req *r, const char *id, const char *vpc, bool is_default)
{
	xml_text(&r->x, "networkAclId", id);
	xml_text(&r->x, "vpcId", vpc);
	xml_bool(&r->x, "default", is_default);
	if (acl_body(r, id, NULL, true) < 0 || tags_write(r->h->store, &r->x, r->account_id, id) < 0)
		return -EIO;
	xml_text(&r->x, "ownerId", r->account_id);
	return 0;
}

/* ---- CreateNetworkAcl / DeleteNetworkAcl ------------------------------- */

int act_create_network_acl(struct api_req *r)
{
	struct store *s = r->h->store;
	struct tag_list tags = { 0 };
	const char *vpc, *token = api_str(r, "ClientToken");
	char id[ID_MAX];
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "VpcId", &vpc)) < 0)
		return ret;
	if (!id_valid("vpc", vpc))
		return api_err(r, 400, "InvalidVpcID.Malformed", "Invalid id: \"%.64s\" (expecting \"vpc-...\")", vpc);
	st = store_stmt(s, "SELECT 1 FROM vpcs WHERE id = ? AND account_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, vpc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidVpcID.NotFound", "The vpc ID '%.64s' does not exist", vpc);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	if ((ret = tags_from_specs(r, "network-acl", &tags)) < 0)
		return ret;
	/* A new ACL has no entries: only the implicit deny-all applies. */
	if (id_new("acl", id) < 0 || store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "INSERT INTO network_acls(id, account_id, vpc_id, is_default, created_ms) "
			   "VALUES (?, ?, ?, 0, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vpc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "network-acl", &tags) < 0 ||
	    store_commit(s) < 0)
		goto internal;
	xml_open(&r->x, "networkAcl");
	ret = write_acl(r, id, vpc, false) < 0 ? api_err_internal(r) : 0;
	xml_close(&r->x);
	if (token)
		xml_text(&r->x, "clientToken", token);
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

int act_delete_network_acl(struct api_req *r)
{
	struct store *s = r->h->store;
	struct acl a;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = find_acl(r, "NetworkAclId", &a)) < 0)
		return ret;
	if (a.is_default)
		return api_err(r, 400, "InvalidParameterValue", "cannot delete default network ACL %s", a.id);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "SELECT 1 FROM nacl_assocs WHERE nacl_id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, a.id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_rollback(s);
		return api_err(r, 400, "DependencyViolation",
			       "The network ACL '%s' has dependencies and cannot be deleted.", a.id);
	}
	if (rc != SQLITE_DONE)
		goto internal;
	st = store_stmt(s, "DELETE FROM network_acls WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, a.id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, a.id) < 0 || store_commit(s) < 0)
		goto internal;
	xml_bool(&r->x, "return", true);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

/* ---- ReplaceNetworkAclAssociation -------------------------------------- */

int act_replace_network_acl_association(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *assoc;
	char subnet[ID_MAX], old_vpc[ID_MAX], nid[ID_MAX];
	struct acl a;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "AssociationId", &assoc)) < 0 || (ret = find_acl(r, "NetworkAclId", &a)) < 0)
		return ret;
	if (!id_valid("aclassoc", assoc))
		return api_err(r, 400, "InvalidAssociationID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"aclassoc-...\")", assoc);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "SELECT a.subnet_id, n.vpc_id FROM nacl_assocs a JOIN network_acls n ON n.id = a.nacl_id "
			   "WHERE a.id = ? AND n.account_id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, assoc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		store_rollback(s);
		return api_err(r, 400, "InvalidAssociationID.NotFound", "The association ID '%.64s' does not exist",
			       assoc);
	}
	if (rc != SQLITE_ROW)
		goto internal;
	snprintf(subnet, sizeof(subnet), "%s", store_text(st, 0));
	snprintf(old_vpc, sizeof(old_vpc), "%s", store_text(st, 1));
	if (strcmp(old_vpc, a.vpc)) {
		store_rollback(s);
		return api_err(r, 400, "InvalidParameterValue",
			       "Network ACL %s and subnet %s belong to different networks.", a.id, subnet);
	}
	/* EC2 hands out a new association id for every replacement. */
	if (id_new("aclassoc", nid) < 0)
		goto internal;
	st = store_stmt(s, "UPDATE nacl_assocs SET id = ?, nacl_id = ? WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, nid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, assoc, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || store_commit(s) < 0)
		goto internal;
	netsync_vpc(r->h, a.vpc);
	xml_text(&r->x, "newAssociationId", nid);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

/* ---- DescribeNetworkAcls ----------------------------------------------- */

int act_describe_network_acls(struct api_req *r)
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

	if ((ret = api_list(r, "NetworkAclId", &ids, &nids)) < 0 || (ret = api_filters(r, acl_filters, true, &fs)) < 0 ||
	    (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++) {
		if (!id_valid("acl", ids[i])) {
			ret = api_err(r, 400, "InvalidNetworkAclID.Malformed",
				      "Invalid id: \"%.64s\" (expecting \"acl-...\")", ids[i]);
			goto out;
		}
		st = store_stmt(s, "SELECT 1 FROM network_acls WHERE id = ? AND account_id = ?");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			ret = api_err(r, 400, "InvalidNetworkAclID.NotFound", "The network ACL ID '%.64s' does not exist",
				      ids[i]);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	xml_open(&r->x, "networkAclSet");
	st = store_stmt(s, "SELECT id, vpc_id, is_default FROM network_acls WHERE account_id = ?1 AND "
			   "(?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[ID_MAX], vpc[ID_MAX];
		bool is_default = sqlite3_column_int(st, 2);

		snprintf(id, sizeof(id), "%s", store_text(st, 0));
		snprintf(vpc, sizeof(vpc), "%s", store_text(st, 1));
		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "network-acl-id", id);
			fbag_add(&bag, "vpc-id", vpc);
			fbag_add(&bag, "owner-id", r->account_id);
			fbag_add_bool(&bag, "default", is_default);
			if (acl_body(r, id, &bag, false) < 0 || tags_fbag(s, &bag, r->account_id, id) < 0) {
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
		if (write_acl(r, id, vpc, is_default) < 0) {
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
