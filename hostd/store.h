/* The state store: one SQLite file (WAL, foreign keys) in the state
 * directory, its schema versioned and migrated forward on open. Modules run
 * their SQL through cached prepared statements. */
#pragma once
#include <sqlite3.h>
#include <stdint.h>

struct store;

/* Opens (creating) path and migrates it to the current schema. */
int store_open(struct store **out, const char *path);
void store_close(struct store *s);
sqlite3 *store_db(struct store *s);
/* The schema version the file is at (after store_open: the latest). */
int store_schema_version(struct store *s);

/* A prepared statement for sql, reset and unbound, valid until the next
 * store_stmt() call with the same sql. The sql pointer is the cache key, so
 * pass string literals. NULL on error (logged). */
/* Resets every cached statement, so none keeps a read transaction (and an
 * old WAL snapshot) open after its caller stopped stepping it. */
void store_reset_all(struct store *s);
sqlite3_stmt *store_stmt(struct store *s, const char *sql);

/* One transaction per API mutation. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Runs sql with no parameters and no rows. */
int store_exec(struct store *s, const char *sql);
