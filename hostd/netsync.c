/* Builds a VPC's firewall model (net/firewall.h) from the store and loads it
 * into the VPC's namespace. */
#include "hostd/netsync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/publicips.h"
#include "hostd/store.h"
#include "hostd/vpcs.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/cidr.h"
#include "net/firewall.h"
#include "net/publicnet.h"

#define DIRTY_MAX 64

/* VPCs whose last apply failed; retried by netsync_retry(). Guarded by
 * h->lock like everything else here. */
static char dirty[DIRTY_MAX][ID_MAX];
static bool uplink_ok;

int netsync_default_vpc(struct hostd *h, const char *account, char *out)
{
	sqlite3_stmt *st;
	int rc;

	/* EC2 accounts always have one: make it on first use. */
	if (vpc_ensure_default(h, account) < 0)
		return -EIO;
	st = store_stmt(h->store, "SELECT id FROM vpcs WHERE account_id = ? AND is_default = 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Every string of the model, owned here and freed at once. */
struct arena {
	char **s;
	size_t n, cap;
};

static const char *keep(struct arena *a, const char *s)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->s = realloc(a->s, a->cap * sizeof(*a->s));
		if (!a->s)
			abort();
	}
	return a->s[a->n++] = xstrdup(s ? s : "");
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->s[i]);
	free(a->s);
}

static void *grow(void *p, size_t n, size_t size)
{
	void *q = realloc(p, (n + 1) * size);

	if (!q)
		abort();
	memset((char *)q + n * size, 0, size);
	return q;
}

struct model {
	struct fw_vpc vpc;
	struct fw_subnet *subnets;
	struct fw_group *groups;
	struct fw_eni *enis;
	struct arena a;
	void **blocks; /* rule, entry and list arrays */
	size_t nblocks;
};

static void *block(struct model *m, void *p)
{
	m->blocks = realloc(m->blocks, (m->nblocks + 1) * sizeof(*m->blocks));
	if (!m->blocks)
		abort();
	m->blocks[m->nblocks++] = p;
	return p;
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->nblocks; i++)
		free(m->blocks[i]);
	free(m->blocks);
	free(m->subnets);
	free(m->groups);
	free(m->enis);
	arena_free(&m->a);
}

static int load_nacl(struct model *m, struct store *s, struct fw_subnet *sn)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT a.nacl_id FROM nacl_assocs a WHERE a.subnet_id = ?");
	struct fw_nacl_entry *e = NULL;
	size_t n = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sn->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0; /* no ACL: nothing filtered */
	if (rc != SQLITE_ROW)
		return -EIO;
	sn->nacl_id = keep(&m->a, store_text(st, 0));
	st = store_stmt(s, "SELECT egress, rule_number, protocol, rule_action, cidr, from_port, to_port, icmp_type, "
			   "icmp_code FROM nacl_entries WHERE nacl_id = ? AND rule_number < 32767 "
			   "ORDER BY egress, rule_number");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sn->nacl_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = grow(e, n, sizeof(*e));
		e[n].egress = sqlite3_column_int(st, 0);
		e[n].rule_number = sqlite3_column_int(st, 1);
		e[n].protocol = keep(&m->a, store_text(st, 2));
		e[n].allow = !strcmp(store_text(st, 3), "allow");
		e[n].cidr = keep(&m->a, store_text(st, 4));
		e[n].from_port = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 5);
		e[n].to_port = sqlite3_column_type(st, 6) == SQLITE_NULL ? 65535 : sqlite3_column_int(st, 6);
		e[n].icmp_type = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
		e[n].icmp_code = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
		n++;
	}
	sn->nacl = block(m, e);
	sn->nnacl = n;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int load_rules(struct model *m, struct store *s, struct fw_group *g)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT egress, protocol, from_port, to_port, cidr, ref_group_id FROM sg_rules "
					 "WHERE group_id = ? ORDER BY created_ms, rowid");
	struct fw_sg_rule *in = NULL, *out = NULL;
	size_t nin = 0, nout = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool egress = sqlite3_column_int(st, 0);
		struct fw_sg_rule *r;

		if (egress) {
			out = grow(out, nout, sizeof(*out));
			r = &out[nout++];
		} else {
			in = grow(in, nin, sizeof(*in));
			r = &in[nin++];
		}
		r->protocol = keep(&m->a, store_text(st, 1));
		r->from_port = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 2);
		r->to_port = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			r->cidr = keep(&m->a, store_text(st, 4));
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			r->group_id = keep(&m->a, store_text(st, 5));
	}
	g->ingress = block(m, in);
	g->ningress = nin;
	g->egress = block(m, out);
	g->negress = nout;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int load_eni(struct model *m, struct store *s, struct fw_eni *e)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT ip FROM eni_ips WHERE eni_id = ? ORDER BY is_primary DESC, ip");
	const char **ips = NULL, **groups = NULL;
	size_t nips = 0, ng = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ips = grow(ips, nips, sizeof(*ips));
		ips[nips++] = keep(&m->a, store_text(st, 0));
	}
	if (rc != SQLITE_DONE) {
		free(ips);
		return -EIO;
	}
	e->ips = block(m, ips);
	e->nips = nips;
	st = store_stmt(s, "SELECT group_id FROM eni_groups WHERE eni_id = ? ORDER BY group_id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		groups = grow(groups, ng, sizeof(*groups));
		groups[ng++] = keep(&m->a, store_text(st, 0));
	}
	e->group_ids = block(m, groups);
	e->ngroups = ng;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int load_model(struct store *s, const char *vpc_id, struct model *m)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT ns, cidr FROM vpcs WHERE id = ?");
	size_t n;
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	m->vpc.ns = keep(&m->a, store_text(st, 0));
	m->vpc.cidr = keep(&m->a, store_text(st, 1));

	st = store_stmt(s, "SELECT id, bridge, cidr FROM subnets WHERE vpc_id = ? ORDER BY id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		struct cidr c;
		char gw[16];

		m->subnets = grow(m->subnets, n, sizeof(*m->subnets));
		m->subnets[n].id = keep(&m->a, store_text(st, 0));
		m->subnets[n].bridge = keep(&m->a, store_text(st, 1));
		m->subnets[n].cidr = keep(&m->a, store_text(st, 2));
		if (cidr_parse(store_text(st, 2), &c) < 0)
			return -EIO;
		ip_format(c.base + 1, gw);
		m->subnets[n].gateway = keep(&m->a, gw);
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	m->vpc.nsubnets = n;
	for (size_t i = 0; i < n; i++)
		if ((r = load_nacl(m, s, &m->subnets[i])) < 0)
			return r;

	st = store_stmt(s, "SELECT id FROM security_groups WHERE vpc_id = ? ORDER BY id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		m->groups = grow(m->groups, n, sizeof(*m->groups));
		m->groups[n].id = keep(&m->a, store_text(st, 0));
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	m->vpc.ngroups = n;
	for (size_t i = 0; i < n; i++)
		if ((r = load_rules(m, s, &m->groups[i])) < 0)
			return r;

	st = store_stmt(s, "SELECT id, subnet_id, mac, source_dest_check, instance_id FROM enis WHERE vpc_id = ? "
			   "ORDER BY id");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		struct fw_eni *e;
		char tap[16];

		m->enis = grow(m->enis, n, sizeof(*m->enis));
		e = &m->enis[n];
		e->id = keep(&m->a, store_text(st, 0));
		e->subnet_id = keep(&m->a, store_text(st, 1));
		e->mac = keep(&m->a, store_text(st, 2));
		e->source_dest_check = sqlite3_column_int(st, 3);
		/* The tap's name follows from the ENI's id, so the rules are in
		 * place before the guest's tap is plugged. */
		if (sqlite3_column_type(st, 4) != SQLITE_NULL && net_tap_name(e->id, tap, sizeof(tap)) == 0)
			e->tap = keep(&m->a, tap);
	}
	if (rc != SQLITE_DONE)
		return -EIO;
	m->vpc.nenis = n;
	for (size_t i = 0; i < n; i++)
		if ((r = load_eni(m, s, &m->enis[i])) < 0)
			return r;
	m->vpc.subnets = m->subnets;
	m->vpc.groups = m->groups;
	m->vpc.enis = m->enis;
	return 0;
}

/* A failure that found no free slot: every VPC counts as failed until a
 * retry pass has run. */
static bool dirty_overflow;

static void mark(const char *vpc_id, bool failed)
{
	size_t i, free_slot = DIRTY_MAX;

	for (i = 0; i < DIRTY_MAX; i++) {
		if (!strcmp(dirty[i], vpc_id)) {
			if (!failed)
				dirty[i][0] = '\0';
			return;
		}
		if (!dirty[i][0] && free_slot == DIRTY_MAX)
			free_slot = i;
	}
	if (failed && free_slot < DIRTY_MAX)
		snprintf(dirty[free_slot], ID_MAX, "%s", vpc_id);
	else if (failed)
		dirty_overflow = true;
}

bool netsync_failed(const char *vpc_id)
{
	if (dirty_overflow)
		return true;
	for (size_t i = 0; i < DIRTY_MAX; i++)
		if (!strcmp(dirty[i], vpc_id))
			return true;
	return false;
}

/* Public and Elastic IPs: NAT and the link to the public namespace while
 * the VPC has an internet gateway. */
static int sync_public(struct hostd *h, const char *vpc_id, const char *ns)
{
	struct net_nat *map = NULL;
	struct cidr pool;
	size_t n = 0;
	int r = pubip_map(h, vpc_id, &map, &n);

	if (r < 0)
		return r;
	if (cidr_parse(h->cfg->public_cidr, &pool) < 0)
		r = -EINVAL;
	else if (r == 1)
		r = net_public_vpc(ns, vpc_id, &pool, map, n);
	else
		r = net_public_vpc_remove(ns, vpc_id);
	/* The opt-in uplink, once per run (and again after a failure). */
	if (r == 0 && h->cfg->public_uplink[0] && (!uplink_ok || !net_public_uplink_present())) {
		r = net_public_uplink(h->cfg->public_uplink_netns[0] ? h->cfg->public_uplink_netns : NULL,
				      h->cfg->public_uplink, &pool);
		uplink_ok = r == 0;
	}
	pubip_map_free(map, n);
	return r;
}

int netsync_firewall(struct hostd *h, const char *vpc_id)
{
	struct model m = { 0 };
	char why[256] = "";
	int r;

	r = load_model(h->store, vpc_id, &m);
	if (r == -ENOENT) {
		mark(vpc_id, false);
		goto out;
	}
	if (r == 0)
		r = fw_apply(&m.vpc, NULL, why, sizeof(why));
	if (r == 0 && (r = sync_public(h, vpc_id, m.vpc.ns)) < 0)
		snprintf(why, sizeof(why), "public addresses: %s", strerror(-r));
	if (r < 0)
		log_err("net", "%s: firewall not applied: %s", vpc_id, why[0] ? why : strerror(-r));
	mark(vpc_id, r < 0);
out:
	model_free(&m);
	return r;
}

void netsync_vpc(struct hostd *h, const char *vpc_id)
{
	netsync_firewall(h, vpc_id);
}

void netsync_instance(struct hostd *h, const char *instance_id)
{
	char vpcs[8][ID_MAX];
	size_t n = instance_vpcs(h, instance_id, vpcs, 8);

	for (size_t i = 0; i < n; i++)
		netsync_vpc(h, vpcs[i]);
}

void netsync_retry(struct hostd *h)
{
	if (dirty_overflow) {
		char **ids = NULL;
		size_t n = 0;
		sqlite3_stmt *st = store_stmt(h->store, "SELECT id FROM vpcs");

		dirty_overflow = false;
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			ids = realloc(ids, (n + 1) * sizeof(*ids));
			if (!ids)
				abort();
			ids[n++] = xstrdup(store_text(st, 0));
		}
		if (st)
			sqlite3_reset(st);
		for (size_t i = 0; i < n; i++) {
			netsync_firewall(h, ids[i]);
			free(ids[i]);
		}
		free(ids);
	}
	for (size_t i = 0; i < DIRTY_MAX; i++)
		if (dirty[i][0]) {
			char id[ID_MAX];

			memcpy(id, dirty[i], sizeof(id));
			netsync_firewall(h, id);
		}
}
