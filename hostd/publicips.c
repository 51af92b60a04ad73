#include "hostd/publicips.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "lib/util.h"
#include "net/cidr.h"
#include "net/publicnet.h"

static int in_use(struct store *s, const char *ip)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM addresses WHERE public_ip = ?1 UNION ALL "
					 "SELECT 1 FROM enis WHERE public_ip = ?1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int pubip_pick(struct hostd *h, char *out)
{
	struct cidr pool;
	uint64_t size;
	uint32_t start;

	if (cidr_parse(h->cfg->public_cidr, &pool) < 0)
		return -EINVAL;
	size = cidr_size(&pool);
	/* Not the network, the router (base+1) or the broadcast address. A
	 * random start spreads addresses the way EC2's look; from the kernel's
	 * generator, since random() is unseeded and every hostd would hand out
	 * the same addresses in the same order. */
	if (random_bytes(&start, sizeof(start)) < 0)
		start = (uint32_t)now_ms();
	start = (uint32_t)(start % (size - 3));
	for (uint64_t i = 0; i < size - 3; i++) {
		uint32_t a = pool.base + 2 + (uint32_t)((start + i) % (size - 3));
		char ip[16];
		int u;

		ip_format(a, ip);
		u = in_use(h->store, ip);
		if (u < 0)
			return u;
		if (!u) {
			memcpy(out, ip, 16);
			return 0;
		}
	}
	return -ENOSPC;
}

int pubip_assign(struct hostd *h, const char *instance_id)
{
	struct store *s = h->store;
	sqlite3_stmt *st = store_stmt(s, "SELECT e.id FROM enis e JOIN subnets sn ON sn.id = e.subnet_id "
					 "WHERE e.instance_id = ? AND e.device_index = 0 AND sn.map_public_ip = 1 AND "
					 "e.public_ip IS NULL AND NOT EXISTS (SELECT 1 FROM addresses a WHERE "
					 "a.eni_id = e.id)");
	char eni[80], ip[16];
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -EIO;
	snprintf(eni, sizeof(eni), "%s", store_text(st, 0));
	if ((r = pubip_pick(h, ip)) < 0)
		return r;
	st = store_stmt(s, "UPDATE enis SET public_ip = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eni, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int pubip_release(struct hostd *h, const char *instance_id)
{
	sqlite3_stmt *st = store_stmt(h->store, "UPDATE enis SET public_ip = NULL WHERE instance_id = ?");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

void pubip_map_free(struct net_nat *map, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)map[i].public_ip);
		free((char *)map[i].private_ip);
	}
	free(map);
}

int pubip_map(struct hostd *h, const char *vpc_id, struct net_nat **out, size_t *n)
{
	struct store *s = h->store;
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM internet_gateways WHERE vpc_id = ?");
	struct net_nat *map = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -EIO;
	/* Automatic addresses go to the ENI's primary private address, Elastic
	 * ones to the private address they were associated with. */
	st = store_stmt(s, "SELECT e.public_ip, i.ip FROM enis e JOIN eni_ips i ON i.eni_id = e.id AND "
			   "i.is_primary = 1 WHERE e.vpc_id = ?1 AND e.public_ip IS NOT NULL UNION ALL "
			   "SELECT a.public_ip, a.private_ip FROM addresses a JOIN enis e ON e.id = a.eni_id "
			   "WHERE e.vpc_id = ?1 AND a.private_ip IS NOT NULL ORDER BY 1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vpc_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		map = realloc(map, (k + 1) * sizeof(*map));
		if (!map)
			abort();
		map[k].public_ip = xstrdup(store_text(st, 0));
		map[k].private_ip = xstrdup(store_text(st, 1));
		k++;
	}
	if (rc != SQLITE_DONE) {
		pubip_map_free(map, k);
		return -EIO;
	}
	*out = map;
	*n = k;
	return 1;
}

void pubip_dns_name(const struct hostd *h, const char *ip, char *out, size_t len)
{
	char dashed[16];

	snprintf(dashed, sizeof(dashed), "%s", ip);
	for (char *p = dashed; *p; p++)
		if (*p == '.')
			*p = '-';
	if (!strcmp(h->cfg->region, "us-east-1"))
		snprintf(out, len, "ec2-%s.compute-1.amazonaws.com", dashed);
	else
		snprintf(out, len, "ec2-%s.%s.compute.amazonaws.com", dashed, h->cfg->region);
}

int pubip_of_instance(struct hostd *h, const char *instance_id, char *out)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT a.public_ip FROM addresses a JOIN enis e ON e.id = a.eni_id "
						"WHERE e.instance_id = ?1 AND e.device_index = 0 UNION ALL "
						"SELECT public_ip FROM enis WHERE instance_id = ?1 AND device_index = 0 "
						"AND public_ip IS NOT NULL LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, 16, "%s", store_text(st, 0));
		return 0;
	}
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int pubip_of_eni(struct hostd *h, const char *eni_id, char *out, char *owner)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT a.public_ip, a.account_id FROM addresses a JOIN eni_ips i ON "
						"i.eni_id = a.eni_id AND i.ip = a.private_ip AND i.is_primary = 1 "
						"WHERE a.eni_id = ?1 UNION ALL "
						"SELECT public_ip, 'amazon' FROM enis WHERE id = ?1 AND public_ip IS NOT NULL "
						"LIMIT 1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, eni_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, 16, "%s", store_text(st, 0));
		snprintf(owner, 16, "%s", store_text(st, 1));
		return 0;
	}
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}
