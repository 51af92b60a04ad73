#include "hostd/store.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

/* More than the distinct statements hostd has: an eviction could finalize a
 * statement a caller is still stepping through. */
#define STMT_CACHE 256

struct store {
	sqlite3 *db;
	int version;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
};

/* Forward-only migrations; index i brings the schema from version i to i+1.
 * Never edit a released step: add a new one. */
static const char *const migrations[] = {
	/* 1: accounts, credentials, key pairs, tags */
	"CREATE TABLE accounts ("
	"  id TEXT PRIMARY KEY,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE credentials ("
	"  access_key TEXT PRIMARY KEY,"
	"  secret_key TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  session_token TEXT,"            /* set for temporary (ASIA...) keys */
	"  expires_ms INTEGER,"            /* NULL: never */
	"  source TEXT NOT NULL DEFAULT 'config');"
	"CREATE TABLE key_pairs ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  key_type TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  public_key TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  UNIQUE(account_id, name));"
	"CREATE TABLE tags ("
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  resource_id TEXT NOT NULL,"
	"  resource_type TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY(account_id, resource_id, key)) WITHOUT ROWID;",
	/* 2: images, snapshots, volumes, instances. Files are named relative to
	 * the state directory. Desired and observed instance state are apart:
	 * `state` is what EC2 reports, `vm` what the reconciler last saw. */
	"CREATE TABLE snapshots ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  volume_id TEXT NOT NULL,"        /* 'vol-ffffffff' for imports, as EC2 */
	"  size_gib INTEGER NOT NULL,"
	"  file TEXT NOT NULL,"
	"  state TEXT NOT NULL,"            /* pending | completed | error */
	"  progress INTEGER NOT NULL DEFAULT 0,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  encrypted INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE images ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL,"            /* pending | available | failed | deregistered */
	"  state_reason TEXT,"
	"  architecture TEXT NOT NULL DEFAULT 'x86_64',"
	"  root_device_name TEXT NOT NULL DEFAULT '/dev/xvda',"
	"  root_snapshot_id TEXT REFERENCES snapshots(id),"
	"  root_size_gib INTEGER NOT NULL,"
	"  root_volume_type TEXT NOT NULL DEFAULT 'gp3',"
	"  root_delete_on_termination INTEGER NOT NULL DEFAULT 1,"
	"  ena_support INTEGER NOT NULL DEFAULT 1,"
	"  boot_mode TEXT,"                 /* NULL | legacy-bios | uefi */
	"  imds_support TEXT,"              /* NULL | v2.0 */
	"  created_ms INTEGER NOT NULL,"
	"  deregistered_ms INTEGER);"
	"CREATE INDEX images_name ON images(account_id, name);"
	"CREATE TABLE import_tasks ("
	"  id TEXT PRIMARY KEY,"            /* import-ami-... */
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL,"           /* the local file it reads */
	"  format TEXT NOT NULL,"           /* qcow2 | raw | vmdk | vhd */
	"  status TEXT NOT NULL,"           /* active | completed | deleted */
	"  status_message TEXT NOT NULL DEFAULT '',"
	"  progress INTEGER NOT NULL DEFAULT 0,"
	"  image_id TEXT,"
	"  snapshot_id TEXT,"
	"  size_bytes INTEGER,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE volumes ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  size_gib INTEGER NOT NULL,"
	"  volume_type TEXT NOT NULL,"
	"  iops INTEGER,"
	"  throughput INTEGER,"
	"  snapshot_id TEXT,"
	"  az TEXT NOT NULL,"
	"  state TEXT NOT NULL,"            /* creating | available | in-use | deleting | deleted */
	"  file TEXT NOT NULL,"
	"  encrypted INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  instance_id TEXT,"
	"  device TEXT,"
	"  attach_state TEXT,"
	"  attach_ms INTEGER,"
	"  delete_on_termination INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX volumes_instance ON volumes(instance_id);"
	"CREATE TABLE reservations ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  client_token TEXT,"
	"  request_hash TEXT,"              /* the RunInstances parameters ClientToken guards */
	"  created_ms INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX reservations_token ON reservations(account_id, client_token);"
	"CREATE TABLE instances ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  reservation_id TEXT NOT NULL REFERENCES reservations(id),"
	"  launch_index INTEGER NOT NULL,"
	"  image_id TEXT NOT NULL,"
	"  instance_type TEXT NOT NULL,"
	"  vcpus INTEGER NOT NULL,"
	"  memory_mib INTEGER NOT NULL,"
	"  key_name TEXT,"
	"  user_data BLOB,"
	"  subnet_id TEXT,"
	"  security_group_ids TEXT,"        /* space-separated; enforced by a later issue */
	"  az TEXT NOT NULL,"
	"  tenancy TEXT NOT NULL DEFAULT 'default',"
	"  placement_group TEXT,"
	"  shutdown_behavior TEXT NOT NULL DEFAULT 'stop',"
	"  disable_api_termination INTEGER NOT NULL DEFAULT 0,"
	"  md_http_tokens TEXT NOT NULL DEFAULT 'optional',"
	"  md_http_endpoint TEXT NOT NULL DEFAULT 'enabled',"
	"  md_hop_limit INTEGER NOT NULL DEFAULT 1,"
	"  md_tags TEXT NOT NULL DEFAULT 'disabled',"
	"  md_ipv6 TEXT NOT NULL DEFAULT 'disabled',"
	"  root_device_name TEXT NOT NULL,"
	"  uuid TEXT NOT NULL,"             /* SMBIOS system uuid, begins with ec2 */
	"  state TEXT NOT NULL,"            /* EC2's state name */
	"  state_reason_code TEXT,"
	"  state_reason_msg TEXT,"
	"  transition_reason TEXT NOT NULL DEFAULT '',"
	"  stop_force INTEGER NOT NULL DEFAULT 0,"
	"  stop_deadline_ms INTEGER,"
	"  launch_ms INTEGER NOT NULL,"
	"  terminated_ms INTEGER);"
	"CREATE INDEX instances_account ON instances(account_id, id);"
	"CREATE INDEX instances_state ON instances(state);",
	/* 3: VPC networking. A VPC is a network namespace (`ns`), a subnet a
	 * bridge in it; an ENI is a tap on that bridge. Security group rules are
	 * one row per source (EC2 gives each its own sgr- id). */
	"CREATE TABLE vpcs ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  cidr TEXT NOT NULL,"
	"  is_default INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL,"            /* pending | available */
	"  ns TEXT NOT NULL,"               /* network namespace name */
	"  dns_support INTEGER NOT NULL DEFAULT 1,"
	"  dns_hostnames INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE subnets ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  vpc_id TEXT NOT NULL REFERENCES vpcs(id),"
	"  cidr TEXT NOT NULL,"
	"  az TEXT NOT NULL,"
	"  is_default INTEGER NOT NULL DEFAULT 0,"
	"  map_public_ip INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL,"
	"  bridge TEXT NOT NULL,"           /* bridge device inside the VPC namespace */
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX subnets_vpc ON subnets(vpc_id);"
	"CREATE TABLE security_groups ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  vpc_id TEXT NOT NULL REFERENCES vpcs(id),"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  UNIQUE(vpc_id, name));"
	"CREATE TABLE sg_rules ("
	"  id TEXT PRIMARY KEY,"            /* sgr-... */
	"  group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,"
	"  egress INTEGER NOT NULL,"
	"  protocol TEXT NOT NULL,"         /* -1 | tcp | udp | icmp | a number */
	"  from_port INTEGER,"              /* icmp: type; NULL for -1 */
	"  to_port INTEGER,"                /* icmp: code */
	"  cidr TEXT,"                      /* exactly one of cidr / ref_group_id */
	"  ref_group_id TEXT,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX sg_rules_group ON sg_rules(group_id);"
	"CREATE INDEX sg_rules_ref ON sg_rules(ref_group_id);"
	"CREATE TABLE enis ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  vpc_id TEXT NOT NULL REFERENCES vpcs(id),"
	"  subnet_id TEXT NOT NULL REFERENCES subnets(id),"
	"  mac TEXT NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL,"           /* available | in-use */
	"  source_dest_check INTEGER NOT NULL DEFAULT 1,"
	"  public_ip TEXT,"                 /* auto-assigned; an EIP lives in addresses */
	"  instance_id TEXT,"
	"  device_index INTEGER,"
	"  attach_id TEXT,"
	"  attach_state TEXT,"              /* attaching | attached | detaching */
	"  delete_on_termination INTEGER NOT NULL DEFAULT 0,"
	"  tap TEXT,"                       /* host-unique tap name while attached */
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX enis_instance ON enis(instance_id);"
	"CREATE INDEX enis_subnet ON enis(subnet_id);"
	"CREATE TABLE eni_ips ("
	"  eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE,"
	"  subnet_id TEXT NOT NULL,"
	"  ip TEXT NOT NULL,"
	"  is_primary INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(subnet_id, ip)) WITHOUT ROWID;"
	"CREATE INDEX eni_ips_eni ON eni_ips(eni_id);"
	"CREATE TABLE eni_groups ("
	"  eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE,"
	"  group_id TEXT NOT NULL REFERENCES security_groups(id),"
	"  PRIMARY KEY(eni_id, group_id)) WITHOUT ROWID;"
	"CREATE INDEX eni_groups_group ON eni_groups(group_id);"
	"CREATE TABLE network_acls ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  vpc_id TEXT NOT NULL REFERENCES vpcs(id),"
	"  is_default INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE nacl_entries ("
	"  nacl_id TEXT NOT NULL REFERENCES network_acls(id) ON DELETE CASCADE,"
	"  egress INTEGER NOT NULL,"
	"  rule_number INTEGER NOT NULL,"   /* 1-32766; 32767 is the implicit deny */
	"  protocol TEXT NOT NULL,"
	"  rule_action TEXT NOT NULL,"      /* allow | deny */
	"  cidr TEXT NOT NULL,"
	"  from_port INTEGER,"
	"  to_port INTEGER,"
	"  icmp_type INTEGER,"
	"  icmp_code INTEGER,"
	"  PRIMARY KEY(nacl_id, egress, rule_number)) WITHOUT ROWID;"
	"CREATE TABLE nacl_assocs ("
	"  id TEXT PRIMARY KEY,"            /* aclassoc-... */
	"  nacl_id TEXT NOT NULL REFERENCES network_acls(id),"
	"  subnet_id TEXT NOT NULL UNIQUE REFERENCES subnets(id) ON DELETE CASCADE);"
	"CREATE TABLE internet_gateways ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  vpc_id TEXT UNIQUE,"             /* NULL: detached */
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE addresses ("
	"  id TEXT PRIMARY KEY,"            /* eipalloc-... */
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  public_ip TEXT NOT NULL UNIQUE,"
	"  association_id TEXT,"            /* eipassoc-... */
	"  eni_id TEXT,"
	"  private_ip TEXT,"
	"  created_ms INTEGER NOT NULL);",
	/* 4: EBS on qcow2 backing chains (storage/). A layer is one qcow2 file
	 * (named relative to the state directory) and the file it is backed by;
	 * volumes.file is a volume's writable top, snapshots.file its frozen
	 * layer. storage_ops is the journal: a row is written before any file
	 * is touched and removed in the transaction that records the result.
	 * volume_mods keeps ModifyVolume's progress. */
	"CREATE TABLE layers ("
	"  file TEXT PRIMARY KEY,"
	"  backing TEXT,"                   /* NULL: a base file */
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX layers_backing ON layers(backing);"
	"CREATE TABLE storage_ops ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL,"             /* vol-create | snap-create | rebase | resize */
	"  vol TEXT,"
	"  snap TEXT,"
	"  file TEXT,"                      /* the file made or changed */
	"  backing TEXT,"                   /* its (new) backing file */
	"  drop_file TEXT,"                 /* rebase: the layer merged away */
	"  size_bytes INTEGER,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE volume_mods ("
	"  volume_id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL,"            /* modifying | optimizing | completed | failed */
	"  status_message TEXT,"
	"  orig_size INTEGER NOT NULL, target_size INTEGER NOT NULL,"
	"  orig_type TEXT NOT NULL, target_type TEXT NOT NULL,"
	"  orig_iops INTEGER, target_iops INTEGER,"
	"  orig_throughput INTEGER, target_throughput INTEGER,"
	"  progress INTEGER NOT NULL DEFAULT 0,"
	"  start_ms INTEGER NOT NULL, end_ms INTEGER);"
	"ALTER TABLE snapshots ADD COLUMN source_snapshot_id TEXT;",
	/* 5: the account's instance metadata defaults
	 * (ModifyInstanceMetadataDefaults); NULL: no preference. */
	"CREATE TABLE md_defaults ("
	"  account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
	"  http_tokens TEXT,"
	"  hop_limit INTEGER,"
	"  http_endpoint TEXT,"
	"  tags TEXT,"
	"  tokens_enforced TEXT);",
	/* 6: IAM instance profile associations (the profiles themselves are
	 * config) and the role credentials minted for each; a credential's
	 * secret, token and expiry live in `credentials` like every key. */
	("CREATE TABLE iam_assocs ("
	 "  id TEXT PRIMARY KEY,"
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  instance_id TEXT NOT NULL,"
	 "  profile_name TEXT NOT NULL,"
	 "  state TEXT NOT NULL,"
	 "  created_ms INTEGER NOT NULL,"
	 "  ended_ms INTEGER);"
	 "CREATE INDEX iam_assocs_instance ON iam_assocs(instance_id);"
	 "CREATE TABLE iam_creds ("
	 "  access_key TEXT PRIMARY KEY,"
	 "  assoc_id TEXT NOT NULL,"
	 "  issued_ms INTEGER NOT NULL,"
	 "  expires_ms INTEGER NOT NULL);"
	 "CREATE INDEX iam_creds_assoc ON iam_creds(assoc_id, issued_ms);"),
	/* 7: EBS attributes: a volume's autoEnableIO; a snapshot's
	 * createVolumePermission grants (grantee: an account id, or 'all' for
	 * the group all). */
	("ALTER TABLE volumes ADD COLUMN auto_enable_io INTEGER NOT NULL DEFAULT 0;"
	 "CREATE TABLE snapshot_perms ("
	 "  snapshot_id TEXT NOT NULL,"
	 "  grantee TEXT NOT NULL,"
	 "  PRIMARY KEY(snapshot_id, grantee)) WITHOUT ROWID;"
	 "CREATE INDEX snapshot_perms_grantee ON snapshot_perms(grantee);"),
};

static int migrate(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int r = 0, v = 0;

	r = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	else
		r = store_exec(s, "INSERT INTO schema_version VALUES (0);");
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (v > (int)ARRAY_SIZE(migrations)) {
		log_err("store", "state file has schema %d, newer than this hostd (%zu)", v,
			ARRAY_SIZE(migrations));
		return -EPROTO;
	}
	for (; v < (int)ARRAY_SIZE(migrations); v++) {
		char bump[64];

		r = store_begin(s);
		if (r < 0)
			return r;
		snprintf(bump, sizeof(bump), "UPDATE schema_version SET version = %d;", v + 1);
		r = store_exec(s, migrations[v]);
		if (r == 0)
			r = store_exec(s, bump);
		if (r < 0) {
			store_rollback(s);
			log_err("store", "migration to schema %d failed", v + 1);
			return r;
		}
		r = store_commit(s);
		if (r < 0)
			return r;
		log_info("store", "migrated state to schema %d", v + 1);
	}
	s->version = v;
	return 0;
}

int store_open(struct store **out, const char *path)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int r;

	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_err("store", "open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		r = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* WAL keeps readers (tests, backups, the sqlite3 shell) off the writer;
	 * synchronous=NORMAL is durable across process crashes in WAL mode. */
	r = store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
	if (r < 0)
		goto fail;
	r = migrate(s);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	free(s);
}

sqlite3 *store_db(struct store *s) { return s->db; }

int store_schema_version(struct store *s) { return s->version; }

const char *store_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? t : "";
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			st = s->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_err("store", "prepare: %s: %s", sqlite3_errmsg(s->db), sql);
		return NULL;
	}
	if (s->ncache < STMT_CACHE) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].st = st;
		s->ncache++;
	} else {
		/* Full cache: replace the oldest entry rather than grow forever. */
		sqlite3_finalize(s->cache[0].st);
		memmove(&s->cache[0], &s->cache[1], (STMT_CACHE - 1) * sizeof(s->cache[0]));
		s->cache[STMT_CACHE - 1].sql = sql;
		s->cache[STMT_CACHE - 1].st = st;
	}
	return st;
}

void store_reset_all(struct store *s)
{
	for (size_t i = 0; i < s->ncache; i++)
		sqlite3_reset(s->cache[i].st);
}

int store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("store", "%s", msg ? msg : "exec failed");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int store_begin(struct store *s) { return store_exec(s, "BEGIN IMMEDIATE;"); }

int store_commit(struct store *s) { return store_exec(s, "COMMIT;"); }

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)store_exec(s, "ROLLBACK;");
}
