#include "hostd/vpcs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/netsync.h"
#include "hostd/store.h"
#include "lib/buf.h"
#include "lib/cbormsg.h"
#include "lib/cmd.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/imdsl.h"
#include "net/vpcnet.h"
#include "hostd/instances.h"

static int step_done(sqlite3_stmt *st) { return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO; }

static int insert_rule(struct store *s, const char *group, bool egress, const char *cidr, const char *ref, int64_t now)
{
	char id[ID_MAX];
	sqlite3_stmt *st;

	if (id_new("sgr", id) < 0)
		return -EIO;
	st = store_stmt(s, "INSERT INTO sg_rules(id, group_id, egress, protocol, cidr, ref_group_id, created_ms) "
			   "VALUES (?1, ?2, ?3, '-1', ?4, ?5, ?6)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, group, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, egress);
	if (cidr)
		sqlite3_bind_text(st, 4, cidr, -1, SQLITE_STATIC);
	if (ref)
		sqlite3_bind_text(st, 5, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return step_done(st);
}

static int insert_nacl_entry(struct store *s, const char *nacl, bool egress, int num, const char *action)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT INTO nacl_entries(nacl_id, egress, rule_number, protocol, "
					 "rule_action, cidr) VALUES (?1, ?2, ?3, '-1', ?4, '0.0.0.0/0')");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, nacl, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, egress);
	sqlite3_bind_int(st, 3, num);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	return step_done(st);
}

int vpc_insert(struct store *s, const char *account, const struct cidr *c, bool is_default, char id_out[ID_MAX])
{
	char id[ID_MAX], ns[64], sg[ID_MAX], acl[ID_MAX], cidr[19];
	int64_t now = now_ms();
	sqlite3_stmt *st;
	int r;

	if (id_new("vpc", id) < 0 || id_new("sg", sg) < 0 || id_new("acl", acl) < 0 ||
	    net_ns_name(id, ns, sizeof(ns)) < 0)
		return -EIO;
	cidr_format(c, cidr);
	st = store_stmt(s, "INSERT INTO vpcs(id, account_id, cidr, is_default, state, ns, dns_hostnames, created_ms) "
			   "VALUES (?1, ?2, ?3, ?4, 'available', ?5, ?4, ?6)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cidr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, is_default);
	sqlite3_bind_text(st, 5, ns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if ((r = step_done(st)) < 0)
		return r;
	st = store_stmt(s, "INSERT INTO security_groups(id, account_id, vpc_id, name, description, created_ms) "
			   "VALUES (?1, ?2, ?3, 'default', ?4, ?5)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, is_default ? "default VPC security group" : "default VPC security group", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	if ((r = step_done(st)) < 0 || (r = insert_rule(s, sg, false, NULL, sg, now)) < 0 ||
	    (r = insert_rule(s, sg, true, "0.0.0.0/0", NULL, now)) < 0)
		return r;
	st = store_stmt(s, "INSERT INTO network_acls(id, account_id, vpc_id, is_default, created_ms) "
			   "VALUES (?1, ?2, ?3, 1, ?4)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, acl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if ((r = step_done(st)) < 0)
		return r;
	for (int eg = 0; eg < 2; eg++)
		if ((r = insert_nacl_entry(s, acl, eg, 100, "allow")) < 0 ||
		    (r = insert_nacl_entry(s, acl, eg, 32767, "deny")) < 0)
			return r;
	if (is_default) {
		/* The default VPC comes with an internet gateway, as on EC2. */
		char igw[ID_MAX];

		if (id_new("igw", igw) < 0)
			return -EIO;
		st = store_stmt(s, "INSERT INTO internet_gateways(id, account_id, vpc_id, created_ms) VALUES (?, ?, ?, ?)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, igw, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		if ((r = step_done(st)) < 0)
			return r;
	}
	memcpy(id_out, id, ID_MAX);
	return 0;
}

int subnet_insert(struct store *s, const char *account, const char *vpc_id, const struct cidr *c, const char *az,
		  bool is_default, char id_out[ID_MAX])
{
	char id[ID_MAX], br[16], cidr[19], assoc[ID_MAX];
	sqlite3_stmt *st;
	int r;

	if (id_new("subnet", id) < 0 || id_new("aclassoc", assoc) < 0 || net_bridge_name(id, br, sizeof(br)) < 0)
		return -EIO;
	cidr_format(c, cidr);
	st = store_stmt(s, "INSERT INTO subnets(id, account_id, vpc_id, cidr, az, is_default, map_public_ip, state, "
			   "bridge, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'available', ?7, ?8)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cidr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, az, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, is_default);
	sqlite3_bind_text(st, 7, br, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now_ms());
	if ((r = step_done(st)) < 0)
		return r;
	st = store_stmt(s, "INSERT INTO nacl_assocs(id, nacl_id, subnet_id) SELECT ?1, id, ?2 FROM network_acls "
			   "WHERE vpc_id = ?3 AND is_default = 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, assoc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vpc_id, -1, SQLITE_STATIC);
	if ((r = step_done(st)) < 0)
		return r;
	memcpy(id_out, id, ID_MAX);
	return 0;
}

int vpc_ensure_default(struct hostd *h, const char *account)
{
	struct store *s = h->store;
	sqlite3_stmt *st = store_stmt(s, "SELECT id FROM vpcs WHERE account_id = ?1 AND is_default = 1");
	char vpc[ID_MAX], subnet[ID_MAX];
	struct cidr vc, sc;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return -EIO;
	cidr_parse(DEFAULT_VPC_CIDR, &vc);
	cidr_parse(DEFAULT_SUBNET_CIDR, &sc);
	if (store_begin(s) < 0)
		return -EIO;
	if (vpc_insert(s, account, &vc, true, vpc) < 0 ||
	    subnet_insert(s, account, vpc, &sc, h->cfg->availability_zone, true, subnet) < 0 || store_commit(s) < 0) {
		store_rollback(s);
		return -EIO;
	}
	log_info("net", "account %s: default VPC %s with subnet %s", account, vpc, subnet);
	return vpc_realize(h, vpc);
}

int vpc_default_id(struct hostd *h, const char *account, char out[ID_MAX])
{
	sqlite3_stmt *st;
	int r = vpc_ensure_default(h, account);

	if (r < 0)
		return r;
	st = store_stmt(h->store, "SELECT id FROM vpcs WHERE account_id = ?1 AND is_default = 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	snprintf(out, ID_MAX, "%s", store_text(st, 0));
	return 0;
}

static int subnet_row(struct hostd *h, sqlite3_stmt *st, struct subnet_info *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", store_text(st, 0));
	snprintf(out->vpc_id, sizeof(out->vpc_id), "%s", store_text(st, 1));
	snprintf(out->az, sizeof(out->az), "%s", store_text(st, 2));
	snprintf(out->ns, sizeof(out->ns), "%s", store_text(st, 3));
	snprintf(out->bridge, sizeof(out->bridge), "%s", store_text(st, 4));
	if (cidr_parse(store_text(st, 5), &out->cidr) < 0 || cidr_parse(store_text(st, 6), &out->vpc_cidr) < 0)
		return -EIO;
	(void)h;
	return 0;
}

#define SUBNET_COLS "s.id, s.vpc_id, s.az, v.ns, s.bridge, s.cidr, v.cidr FROM subnets s JOIN vpcs v ON v.id = s.vpc_id"

int subnet_lookup(struct hostd *h, const char *account, const char *subnet_id, struct subnet_info *out)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT " SUBNET_COLS " WHERE s.id = ?1 AND s.account_id = ?2");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, subnet_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	return subnet_row(h, st, out);
}

int subnet_default(struct hostd *h, const char *account, struct subnet_info *out)
{
	sqlite3_stmt *st;
	int r = vpc_ensure_default(h, account);

	if (r < 0)
		return r;
	st = store_stmt(h->store, "SELECT " SUBNET_COLS " WHERE s.account_id = ?1 AND s.is_default = 1 AND "
				  "v.is_default = 1 AND s.az = ?2 ORDER BY s.created_ms LIMIT 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, h->cfg->availability_zone, -1, SQLITE_STATIC);
	return subnet_row(h, st, out);
}

int vpc_group_by_name(struct store *s, const char *vpc_id, const char *name, char out[ID_MAX])
{
	sqlite3_stmt *st = store_stmt(s, "SELECT id FROM security_groups WHERE vpc_id = ?1 AND name = ?2");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	snprintf(out, ID_MAX, "%s", store_text(st, 0));
	return 0;
}

int vpc_group_in(struct store *s, const char *account, const char *vpc_id, const char *group_id)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM security_groups WHERE id = ?1 AND account_id = ?2 AND "
					 "vpc_id = ?3");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, group_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vpc_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

struct used_ctx {
	struct store *s;
	const char *subnet;
	int err;
};

static bool ip_used(uint32_t ip, void *arg)
{
	struct used_ctx *u = arg;
	sqlite3_stmt *st = store_stmt(u->s, "SELECT 1 FROM eni_ips WHERE subnet_id = ?1 AND ip = ?2");
	char buf[16];
	int rc;

	if (!st) {
		u->err = -EIO;
		return true;
	}
	ip_format(ip, buf);
	sqlite3_bind_text(st, 1, u->subnet, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		u->err = -EIO;
	return rc != SQLITE_DONE;
}

int eni_insert(struct hostd *h, const char *account, const struct eni_new *e, char id_out[ID_MAX], char ip_out[16])
{
	struct store *s = h->store;
	struct used_ctx u = { s, e->sn->id, 0 };
	unsigned char rnd[5];
	char id[ID_MAX], mac[18], ipbuf[16];
	uint32_t ip;
	sqlite3_stmt *st;
	int r;

	if (e->ip) {
		if (ip_parse(e->ip, &ip) < 0 || !cidr_contains_ip(&e->sn->cidr, ip) || cidr_reserved(&e->sn->cidr, ip))
			return -EINVAL;
		if (ip_used(ip, &u))
			return u.err ? u.err : -EADDRINUSE;
	} else {
		r = cidr_alloc(&e->sn->cidr, ip_used, &u, &ip);
		if (u.err)
			return u.err;
		if (r < 0)
			return r;
	}
	ip_format(ip, ipbuf);
	if (id_new("eni", id) < 0)
		return -EIO;
	/* A MAC no other ENI has (UNIQUE column): retry on the rare clash. */
	for (int tries = 0;; tries++) {
		if (random_bytes(rnd, sizeof(rnd)) < 0)
			return -EIO;
		net_mac_from(rnd, mac);
		st = store_stmt(s, "INSERT INTO enis(id, account_id, vpc_id, subnet_id, mac, description, status, "
				   "instance_id, device_index, attach_id, attach_state, delete_on_termination, created_ms) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, e->sn->vpc_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->sn->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, mac, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, e->description ? e->description : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, e->instance_id ? "in-use" : "available", -1, SQLITE_STATIC);
		if (e->instance_id) {
			char att[ID_MAX];

			if (id_new("eni-attach", att) < 0)
				return -EIO;
			sqlite3_bind_text(st, 8, e->instance_id, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 9, e->device_index);
			sqlite3_bind_text(st, 10, att, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 11, "attached", -1, SQLITE_STATIC);
		}
		sqlite3_bind_int(st, 12, e->delete_on_termination);
		sqlite3_bind_int64(st, 13, now_ms());
		r = sqlite3_step(st);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_CONSTRAINT || tries > 5)
			return -EIO;
	}
	st = store_stmt(s, "INSERT INTO eni_ips(eni_id, subnet_id, ip, is_primary) VALUES (?1, ?2, ?3, 1)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->sn->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ipbuf, -1, SQLITE_STATIC);
	if (step_done(st) < 0)
		return -EIO;
	for (size_t i = 0; i < e->ngroups; i++) {
		st = store_stmt(s, "INSERT OR IGNORE INTO eni_groups(eni_id, group_id) VALUES (?1, ?2)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->groups[i], -1, SQLITE_STATIC);
		if (step_done(st) < 0)
			return -EIO;
	}
	memcpy(id_out, id, ID_MAX);
	memcpy(ip_out, ipbuf, 16);
	return 0;
}

/* --- the host side ------------------------------------------------------- */

int vpc_dir(const struct hostd *h, const char *vpc_id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/net/%s", h->state_dir, vpc_id);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int vpc_paths(const struct hostd *h, const char *vpc_id, const char *leaf, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/net/%s/%s", h->state_dir, vpc_id, leaf);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* The host files dnsmasq rereads after dropping to its own user live in
 * /run/hostd-net/<namespace>/ (world-traversable; namespace names are
 * host-unique), not in the state directory, whose parents may be private. */
#define RUN_DIR "/run/hostd-net"

static int run_path(const char *vpc_id, const char *leaf, char *out, size_t len)
{
	char ns[64];
	int n;

	if (net_ns_name(vpc_id, ns, sizeof(ns)) < 0)
		return -EINVAL;
	n = leaf ? snprintf(out, len, "%s/%s/%s", RUN_DIR, ns, leaf) : snprintf(out, len, "%s/%s", RUN_DIR, ns);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* temp -> rename, readable by dnsmasq (which drops to its own user). */
static int write_public(const char *path, const struct buf *b)
{
	char tmp[4400];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (b->len && write(fd, b->data, b->len) != (ssize_t)b->len)
		ret = -EIO;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int mkdirs(const struct hostd *h, const char *vpc_id)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/net", h->state_dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (vpc_dir(h, vpc_id, p, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (run_path(vpc_id, NULL, p, sizeof(p)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_hosts(struct hostd *h, const char *vpc_id)
{
	char path[4200], domain[200], alt[200], name[20];
	struct buf hosts = BUF_INIT, dhcp = BUF_INIT;
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = ip_domain(h->cfg->region, domain, sizeof(domain))) < 0)
		return ret;
	snprintf(alt, sizeof(alt), "%s.compute.internal", h->cfg->region);
	st = store_stmt(h->store, "SELECT e.mac, i.ip, i.is_primary FROM enis e JOIN eni_ips i ON i.eni_id = e.id "
				  "WHERE e.vpc_id = ?1 ORDER BY i.ip");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t ip;

		if (ip_parse(store_text(st, 1), &ip) < 0)
			continue;
		ip_hostname(ip, name);
		buf_printf(&hosts, "%s %s.%s", store_text(st, 1), name, domain);
		if (strcmp(alt, domain))
			buf_printf(&hosts, " %s.%s", name, alt);
		buf_printf(&hosts, " %s\n", name);
		if (sqlite3_column_int(st, 2))
			buf_printf(&dhcp, "%s,%s,%s\n", store_text(st, 0), store_text(st, 1), name);
	}
	ret = rc == SQLITE_DONE ? 0 : -EIO;
	if (!hosts.data)
		buf_adds(&hosts, "");
	if (!dhcp.data)
		buf_adds(&dhcp, "");
	if (ret == 0 && (ret = mkdirs(h, vpc_id)) == 0 && (ret = run_path(vpc_id, "hosts", path, sizeof(path))) == 0 &&
	    (ret = write_public(path, &hosts)) == 0 && (ret = run_path(vpc_id, "dhcp-hosts", path, sizeof(path))) == 0)
		ret = write_public(path, &dhcp);
	buf_free(&hosts);
	buf_free(&dhcp);
	return ret;
}

struct sn_row {
	char id[ID_MAX], bridge[16];
	struct cidr c;
};

struct vpc_row {
	char id[ID_MAX], ns[64];
	struct cidr c;
	struct sn_row *sn;
	size_t nsn;
};

static void vpc_row_free(struct vpc_row *v) { free(v->sn); }

static int load_vpc(struct hostd *h, const char *vpc_id, struct vpc_row *v)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT ns, cidr FROM vpcs WHERE id = ?1");
	int rc;

	memset(v, 0, sizeof(*v));
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	snprintf(v->id, sizeof(v->id), "%s", vpc_id);
	snprintf(v->ns, sizeof(v->ns), "%s", store_text(st, 0));
	if (cidr_parse(store_text(st, 1), &v->c) < 0)
		return -EIO;
	st = store_stmt(h->store, "SELECT id, bridge, cidr FROM subnets WHERE vpc_id = ?1 ORDER BY id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sn_row *s;

		v->sn = realloc(v->sn, (v->nsn + 1) * sizeof(*v->sn));
		if (!v->sn)
			abort();
		s = &v->sn[v->nsn++];
		snprintf(s->id, sizeof(s->id), "%s", store_text(st, 0));
		snprintf(s->bridge, sizeof(s->bridge), "%s", store_text(st, 1));
		if (cidr_parse(store_text(st, 2), &s->c) < 0)
			return -EIO;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int dhcp_start(struct hostd *h, const struct vpc_row *v, const struct sn_row *s)
{
	char pid[4200], log[4200], hosts[4200], leaf[ID_MAX + 8], domain[200];
	struct net_dhcp d = { .ns = v->ns, .bridge = s->bridge, .pidfile = pid, .logfile = log, .hostsfile = hosts,
			      .domain = domain, .subnet = s->c, .dns_ip = v->c.base + 2 };

	if (ip_domain(h->cfg->region, domain, sizeof(domain)) < 0)
		return -ENAMETOOLONG;
	snprintf(leaf, sizeof(leaf), "%s.pid", s->id);
	if (vpc_paths(h, v->id, leaf, pid, sizeof(pid)) < 0)
		return -ENAMETOOLONG;
	snprintf(leaf, sizeof(leaf), "%s.log", s->id);
	if (vpc_paths(h, v->id, leaf, log, sizeof(log)) < 0 || run_path(v->id, "dhcp-hosts", hosts, sizeof(hosts)) < 0)
		return -ENAMETOOLONG;
	return net_dhcp_start(&d);
}

static int dns_start(struct hostd *h, const struct vpc_row *v)
{
	char pid[4200], log[4200], hosts[4200], domain[200];
	struct net_dns d = { .ns = v->ns, .pidfile = pid, .logfile = log, .addn_hosts = hosts, .domain = domain,
			     .dns_ip = v->c.base + 2 };

	if (ip_domain(h->cfg->region, domain, sizeof(domain)) < 0 || vpc_paths(h, v->id, "dns.pid", pid, sizeof(pid)) < 0 ||
	    vpc_paths(h, v->id, "dns.log", log, sizeof(log)) < 0 || run_path(v->id, "hosts", hosts, sizeof(hosts)) < 0)
		return -ENAMETOOLONG;
	return net_dns_start(&d);
}

int vpc_realize(struct hostd *h, const char *vpc_id)
{
	struct vpc_row v;
	int r;

	if ((r = load_vpc(h, vpc_id, &v)) < 0)
		goto out;
	if ((r = net_vpc_ensure(v.ns, v.c.base + 2)) < 0 || (r = write_hosts(h, vpc_id)) < 0 || (r = dns_start(h, &v)) < 0)
		goto out;
	for (size_t i = 0; i < v.nsn; i++)
		if ((r = net_subnet_ensure(v.ns, v.sn[i].bridge, &v.sn[i].c)) < 0 || (r = dhcp_start(h, &v, &v.sn[i])) < 0)
			goto out;
	if ((r = imdsl_ensure(h->imdsl, v.id, v.ns)) < 0)
		goto out;
	r = netsync_firewall(h, v.id);
out:
	if (r < 0)
		log_err("net", "%s: cannot set up the VPC's network: %s", vpc_id, strerror(-r));
	vpc_row_free(&v);
	return r;
}

int vpc_refresh_hosts(struct hostd *h, const char *vpc_id, bool removed)
{
	struct vpc_row v;
	char pid[4200], leaf[ID_MAX + 8];
	int r;

	if ((r = load_vpc(h, vpc_id, &v)) < 0 || (r = write_hosts(h, vpc_id)) < 0)
		goto out;
	if (vpc_paths(h, vpc_id, "dns.pid", pid, sizeof(pid)) == 0 && net_dnsmasq_reload(pid) < 0)
		r = vpc_realize(h, vpc_id);
	for (size_t i = 0; r == 0 && i < v.nsn; i++) {
		snprintf(leaf, sizeof(leaf), "%s.pid", v.sn[i].id);
		if (vpc_paths(h, vpc_id, leaf, pid, sizeof(pid)) < 0)
			continue;
		if (removed) {
			net_dnsmasq_stop(pid);
			r = dhcp_start(h, &v, &v.sn[i]);
		} else if (net_dnsmasq_reload(pid) < 0) {
			r = vpc_realize(h, vpc_id);
		}
	}
	/* ENIs came or went: their taps, addresses and group memberships */
	if (r == 0)
		r = netsync_firewall(h, vpc_id);
out:
	vpc_row_free(&v);
	return r;
}

/* Asked-for refreshes: want counts the requests, done the value of want
 * the last successful refresh covered. Both under h->lock, which a
 * refresh holds from reading the store to its end, so any request made
 * after that read bumps want again. */
#define LATER_MAX 256
static struct {
	char vpc[ID_MAX];
	uint64_t want, done;
} later[LATER_MAX];

void vpc_refresh_later(struct hostd *h, const char *vpc_id)
{
	size_t i, free_slot = LATER_MAX;

	for (i = 0; i < LATER_MAX; i++) {
		if (!strcmp(later[i].vpc, vpc_id)) {
			later[i].want++;
			return;
		}
		if (!later[i].vpc[0] && free_slot == LATER_MAX)
			free_slot = i;
	}
	/* No slot: do it now rather than lose it. */
	if (free_slot == LATER_MAX) {
		vpc_refresh_hosts(h, vpc_id, false);
		return;
	}
	snprintf(later[free_slot].vpc, ID_MAX, "%s", vpc_id);
	later[free_slot].want = 1;
	later[free_slot].done = 0;
}

int vpc_refresh_due(struct hostd *h, const char *vpc_id)
{
	int ret = 0;

	for (size_t i = 0; i < LATER_MAX; i++) {
		uint64_t want = later[i].want;
		int r;

		if (!later[i].vpc[0] || (vpc_id && strcmp(later[i].vpc, vpc_id)) || want == later[i].done)
			continue;
		r = vpc_refresh_hosts(h, later[i].vpc, false);
		if (r == 0 && !netsync_failed(later[i].vpc))
			later[i].done = want;
		else if (ret == 0)
			ret = r < 0 ? r : -EIO;
		/* a VPC that is gone has nothing left to refresh */
		if (r == -ENOENT)
			later[i].vpc[0] = '\0';
	}
	return ret;
}

size_t instance_vpcs(struct hostd *h, const char *instance_id, char out[][ID_MAX], size_t max)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT DISTINCT vpc_id FROM enis WHERE instance_id = ?1");
	size_t n = 0;

	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		snprintf(out[n++], ID_MAX, "%s", store_text(st, 0));
	sqlite3_reset(st);
	return n;
}

void vpc_refresh_later_instance(struct hostd *h, const char *instance_id)
{
	char vpcs[8][ID_MAX];     /* at most 8 ENIs per instance */
	size_t n = instance_vpcs(h, instance_id, vpcs, 8);

	for (size_t i = 0; i < n; i++)
		vpc_refresh_later(h, vpcs[i]);
}

int subnet_teardown(struct hostd *h, const char *vpc_id, const char *subnet_id)
{
	char pid[4200], leaf[ID_MAX + 8], ns[64], br[16];

	if (net_ns_name(vpc_id, ns, sizeof(ns)) < 0 || net_bridge_name(subnet_id, br, sizeof(br)) < 0)
		return -EINVAL;
	snprintf(leaf, sizeof(leaf), "%s.pid", subnet_id);
	if (vpc_paths(h, vpc_id, leaf, pid, sizeof(pid)) == 0)
		net_dnsmasq_stop(pid);
	snprintf(leaf, sizeof(leaf), "%s.log", subnet_id);
	if (vpc_paths(h, vpc_id, leaf, pid, sizeof(pid)) == 0)
		unlink(pid);
	log_info("net", "subnet %s: bridge %s in %s removed", subnet_id, br, ns);
	return net_subnet_destroy(ns, br);
}

int vpc_teardown(struct hostd *h, const char *vpc_id)
{
	char pid[4200], ns[64], dir[4200];

	if (net_ns_name(vpc_id, ns, sizeof(ns)) < 0)
		return -EINVAL;
	imdsl_remove(h->imdsl, vpc_id);
	if (vpc_paths(h, vpc_id, "dns.pid", pid, sizeof(pid)) == 0)
		net_dnsmasq_stop(pid);
	if (vpc_dir(h, vpc_id, dir, sizeof(dir)) == 0) {
		const char *argv[] = { "rm", "-rf", dir, NULL };

		cmd_run(argv, NULL, NULL);
	}
	if (run_path(vpc_id, NULL, dir, sizeof(dir)) == 0) {
		const char *argv[] = { "rm", "-rf", dir, NULL };

		cmd_run(argv, NULL, NULL);
	}
	log_info("net", "VPC %s: namespace %s removed", vpc_id, ns);
	return net_vpc_destroy(ns);
}

/* true when the VPC's namespace and every dnsmasq of it are there. */
static bool vpc_healthy(struct hostd *h, const struct vpc_row *v)
{
	char pid[4200], leaf[ID_MAX + 8];

	if (!net_ns_exists(v->ns))
		return false;
	if (vpc_paths(h, v->id, "dns.pid", pid, sizeof(pid)) < 0 || !net_dnsmasq_running(pid))
		return false;
	for (size_t i = 0; i < v->nsn; i++) {
		snprintf(leaf, sizeof(leaf), "%s.pid", v->sn[i].id);
		if (vpc_paths(h, v->id, leaf, pid, sizeof(pid)) < 0 || !net_dnsmasq_running(pid))
			return false;
	}
	return true;
}

void vpcs_reconcile(struct hostd *h, bool all)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT id FROM vpcs ORDER BY id");
	char **ids = NULL;
	size_t n = 0;

	if (!st)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = realloc(ids, (n + 1) * sizeof(*ids));
		if (!ids)
			abort();
		ids[n++] = xstrdup(store_text(st, 0));
	}
	for (size_t i = 0; i < n; i++) {
		struct vpc_row v;

		if (load_vpc(h, ids[i], &v) == 0 && (all || !vpc_healthy(h, &v))) {
			if (!all)
				log_info("net", "%s: namespace or dnsmasq missing, repairing", ids[i]);
			vpc_realize(h, ids[i]);
		}
		vpc_row_free(&v);
		free(ids[i]);
	}
	free(ids);
}

/* --- ENIs as the API shows them ---------------------------------------- */

void eni_views_free(struct eni_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].group_ids);
		free(v[i].group_names);
		free(v[i].sec);
	}
	free(v);
}

int eni_views(struct store *s, const char *account, const char *instance, const char *eni_id, struct eni_view **out,
	      size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT e.id, e.subnet_id, e.vpc_id, e.account_id, sn.az, e.mac, "
					 "COALESCE(p.ip, ''), e.description, e.status, COALESCE(e.instance_id, ''), "
					 "COALESCE(e.attach_id, ''), COALESCE(e.attach_state, ''), "
					 "COALESCE(e.device_index, 0), e.delete_on_termination, e.source_dest_check, "
					 "e.created_ms FROM enis e JOIN subnets sn ON sn.id = e.subnet_id "
					 "LEFT JOIN eni_ips p ON p.eni_id = e.id AND p.is_primary = 1 "
					 "WHERE e.account_id = ?1 AND (?2 IS NULL OR e.instance_id = ?2) AND "
					 "(?3 IS NULL OR e.id = ?3) ORDER BY e.device_index, e.id");
	struct eni_view *v = NULL;
	size_t cnt = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	if (instance)
		sqlite3_bind_text(st, 2, instance, -1, SQLITE_STATIC);
	if (eni_id)
		sqlite3_bind_text(st, 3, eni_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct eni_view *e;

		v = realloc(v, (cnt + 1) * sizeof(*v));
		if (!v)
			abort();
		e = &v[cnt++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "%s", store_text(st, 0));
		snprintf(e->subnet, sizeof(e->subnet), "%s", store_text(st, 1));
		snprintf(e->vpc, sizeof(e->vpc), "%s", store_text(st, 2));
		snprintf(e->account, sizeof(e->account), "%s", store_text(st, 3));
		snprintf(e->az, sizeof(e->az), "%s", store_text(st, 4));
		snprintf(e->mac, sizeof(e->mac), "%s", store_text(st, 5));
		snprintf(e->ip, sizeof(e->ip), "%s", store_text(st, 6));
		snprintf(e->desc, sizeof(e->desc), "%s", store_text(st, 7));
		snprintf(e->status, sizeof(e->status), "%s", store_text(st, 8));
		snprintf(e->instance, sizeof(e->instance), "%s", store_text(st, 9));
		snprintf(e->attach_id, sizeof(e->attach_id), "%s", store_text(st, 10));
		snprintf(e->attach_state, sizeof(e->attach_state), "%s", store_text(st, 11));
		e->device_index = sqlite3_column_int(st, 12);
		e->dot = sqlite3_column_int(st, 13) != 0;
		e->sdc = sqlite3_column_int(st, 14) != 0;
		e->created_ms = sqlite3_column_int64(st, 15);
	}
	if (rc != SQLITE_DONE) {
		eni_views_free(v, cnt);
		return -EIO;
	}
	for (size_t i = 0; i < cnt; i++) {
		st = store_stmt(s, "SELECT g.id, g.name FROM eni_groups eg JOIN security_groups g ON g.id = eg.group_id "
				   "WHERE eg.eni_id = ?1 ORDER BY g.id");
		if (!st) {
			eni_views_free(v, cnt);
			return -EIO;
		}
		sqlite3_bind_text(st, 1, v[i].id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct eni_view *e = &v[i];

			e->group_ids = realloc(e->group_ids, (e->ngroups + 1) * sizeof(*e->group_ids));
			e->group_names = realloc(e->group_names, (e->ngroups + 1) * sizeof(*e->group_names));
			if (!e->group_ids || !e->group_names)
				abort();
			snprintf(e->group_ids[e->ngroups], ID_MAX, "%s", store_text(st, 0));
			snprintf(e->group_names[e->ngroups], 256, "%s", store_text(st, 1));
			e->ngroups++;
		}
		st = store_stmt(s, "SELECT ip FROM eni_ips WHERE eni_id = ?1 AND is_primary = 0 ORDER BY ip");
		if (!st) {
			eni_views_free(v, cnt);
			return -EIO;
		}
		sqlite3_bind_text(st, 1, v[i].id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct eni_view *e = &v[i];

			e->sec = realloc(e->sec, (e->nsec + 1) * sizeof(*e->sec));
			if (!e->sec)
				abort();
			snprintf(e->sec[e->nsec++], 16, "%s", store_text(st, 0));
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

void eni_dns_name(const struct hostd *h, const char *ip, char *out, size_t len)
{
	char domain[200], name[20];
	uint32_t a;

	if (ip_parse(ip, &a) < 0 || ip_domain(h->cfg->region, domain, sizeof(domain)) < 0) {
		snprintf(out, len, "%s", "");
		return;
	}
	ip_hostname(a, name);
	snprintf(out, len, "%s.%s", name, domain);
}

int vpcs_imds_push(struct hostd *h, const char *instance_id)
{
	sqlite3_stmt *st;
	uint32_t ips[CBORMSG_IPS_MAX];
	char vpc[ID_MAX] = "", dir[4200], stats[4200];
	struct imdsl_record rec = { .id = instance_id, .vpc = vpc, .ips = ips, .dir = dir, .stats = stats };
	int r;

	if (!h->imdsl)
		return 0;
	/* The primary ENI's VPC first: a guest's addresses are all in it. */
	st = store_stmt(h->store, "SELECT e.vpc_id, i.ip FROM enis e JOIN eni_ips i ON i.eni_id = e.id JOIN instances n "
				  "ON n.id = e.instance_id WHERE e.instance_id = ?1 AND n.state != 'terminated' "
				  "ORDER BY e.device_index, i.is_primary DESC, i.ip");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && rec.nips < CBORMSG_IPS_MAX) {
		uint32_t a;

		if (!vpc[0])
			snprintf(vpc, sizeof(vpc), "%s", store_text(st, 0));
		if (!strcmp(vpc, store_text(st, 0)) && ip_parse(store_text(st, 1), &a) == 0)
			ips[rec.nips++] = a;
	}
	sqlite3_reset(st);
	if (rec.nips == 0) {
		imdsl_forget(h->imdsl, instance_id);
		return 0;
	}
	if ((r = instance_dir(h, instance_id, dir, sizeof(dir))) < 0)
		return r;
	r = snprintf(stats, sizeof(stats), "%s/imds-stats", dir);
	if (r < 0 || (size_t)r >= sizeof(stats) || strlen(dir) + sizeof("/imds") > sizeof(dir))
		return -ENAMETOOLONG;
	strcat(dir, "/imds");
	return imdsl_push(h->imdsl, &rec);
}

int vpcs_imds_push_all(struct hostd *h)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT id FROM instances WHERE state != 'terminated' ORDER BY id");
	char (*ids)[ID_MAX] = NULL;
	size_t n = 0;
	int ret = 0;

	if (!st)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = realloc(ids, (n + 1) * sizeof(*ids));
		if (!ids)
			abort();
		snprintf(ids[n++], ID_MAX, "%s", store_text(st, 0));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		int r = vpcs_imds_push(h, ids[i]);

		if (r < 0)
			ret = r;
	}
	free(ids);
	return ret;
}

int eni_wires(struct hostd *h, const char *instance_id, struct eni_wire *out, size_t max, size_t *n, bool realize)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT e.id, e.vpc_id, e.mac, v.ns, s.bridge FROM enis e JOIN subnets s "
						"ON s.id = e.subnet_id JOIN vpcs v ON v.id = e.vpc_id WHERE "
						"e.instance_id = ?1 ORDER BY e.device_index");
	int rc;

	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct eni_wire *w = &out[*n];

		memset(w, 0, sizeof(*w));
		snprintf(w->id, sizeof(w->id), "%s", store_text(st, 0));
		snprintf(w->vpc, sizeof(w->vpc), "%s", store_text(st, 1));
		snprintf(w->mac, sizeof(w->mac), "%s", store_text(st, 2));
		snprintf(w->ns, sizeof(w->ns), "%s", store_text(st, 3));
		snprintf(w->bridge, sizeof(w->bridge), "%s", store_text(st, 4));
		if (net_tap_name(w->id, w->tap, sizeof(w->tap)) < 0)
			return -EINVAL;
		(*n)++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return -EIO;
	/* A launch needs the namespace, dnsmasq and rules that match the
	 * store. The API handler that made the ENI applied them already, so
	 * redo the whole VPC (a few hundred ms of ip/iptables runs on every
	 * launch) only when something is missing or the last apply failed. */
	for (size_t i = 0; realize && i < *n; i++) {
		struct vpc_row v;
		bool ok;
		int r;

		if (i > 0 && !strcmp(out[i].vpc, out[i - 1].vpc))
			continue;
		if ((r = load_vpc(h, out[i].vpc, &v)) < 0)
			return r;
		ok = vpc_healthy(h, &v) && !netsync_failed(v.id);
		vpc_row_free(&v);
		if (!ok && (r = vpc_realize(h, out[i].vpc)) < 0)
			return r;
	}
	return 0;
}

int enis_release(struct hostd *h, const char *instance_id)
{
	static const char *const sql[] = {
		"DELETE FROM tags WHERE resource_id IN (SELECT id FROM enis WHERE instance_id = ?1 AND "
		"delete_on_termination = 1)",
		"DELETE FROM enis WHERE instance_id = ?1 AND delete_on_termination = 1",
		"UPDATE enis SET instance_id = NULL, status = 'available', device_index = NULL, attach_id = NULL, "
		"attach_state = NULL, tap = NULL WHERE instance_id = ?1",
	};

	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		sqlite3_stmt *st = store_stmt(h->store, sql[i]);

		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

int eni_assign_ips(struct hostd *h, const struct eni_view *e, const char *const *ips, size_t n, int count,
		   bool reassign, char (*out)[16])
{
	struct store *s = h->store;
	struct cidr c;
	struct used_ctx u = { s, e->subnet, 0 };
	size_t total = ips ? n : (size_t)count;

	{
		sqlite3_stmt *st = store_stmt(s, "SELECT cidr FROM subnets WHERE id = ?1");

		if (!st || (sqlite3_bind_text(st, 1, e->subnet, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW ||
		    cidr_parse(store_text(st, 0), &c) < 0)
			return -EIO;
	}
	for (size_t i = 0; i < total; i++) {
		uint32_t ip;
		sqlite3_stmt *st;
		int r;

		if (ips) {
			if (ip_parse(ips[i], &ip) < 0 || !cidr_contains_ip(&c, ip) || cidr_reserved(&c, ip))
				return -EINVAL;
			if (ip_used(ip, &u)) {
				char buf[16];

				if (u.err)
					return u.err;
				ip_format(ip, buf);
				st = store_stmt(s, "DELETE FROM eni_ips WHERE subnet_id = ?1 AND ip = ?2 AND is_primary = 0 "
						   "AND ?3");
				if (!st)
					return -EIO;
				sqlite3_bind_text(st, 1, e->subnet, -1, SQLITE_STATIC);
				sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int(st, 3, reassign);
				if (sqlite3_step(st) != SQLITE_DONE)
					return -EIO;
				if (sqlite3_changes(store_db(s)) != 1)
					return -EADDRINUSE;
			}
		} else {
			r = cidr_alloc(&c, ip_used, &u, &ip);
			if (u.err)
				return u.err;
			if (r < 0)
				return r;
		}
		ip_format(ip, out[i]);
		st = store_stmt(s, "INSERT INTO eni_ips(eni_id, subnet_id, ip, is_primary) VALUES (?1, ?2, ?3, 0)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->subnet, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, out[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -EADDRINUSE;
	}
	return 0;
}
