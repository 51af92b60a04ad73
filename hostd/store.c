#include "hostd/store.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

#define STMT_CACHE 64

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
