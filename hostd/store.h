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
sqlite3_stmt *store_stmt(struct store *s, const char *sql);
/* Column i of the current row as text, "" for NULL. */
const char *store_text(sqlite3_stmt *st, int i);

/* Resets every cached statement, ending the read transaction one left
 * mid-result would keep open (it would pin an old snapshot: other
 * processes' writes unseen, the WAL never checkpointed). Call when a unit
 * of work ends (an API request, a reconciler pass). */
void store_reset_all(struct store *s);

/* One transaction per API mutation. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Runs sql with no parameters and no rows. */
int store_exec(struct store *s, const char *sql);
