#include "hostd/accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostd/config.h"
#include "hostd/store.h"
#include "lib/log.h"
#include "lib/util.h"

static int ensure_account(struct store *s, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT OR IGNORE INTO accounts(id, created_ms) VALUES (?, ?)");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms());
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static int put_key(struct store *s, const char *id, const char *ak, const char *sk, const char *source)
{
	sqlite3_stmt *st = store_stmt(s,
		"INSERT INTO credentials(access_key, secret_key, account_id, source) VALUES (?, ?, ?, ?) "
		"ON CONFLICT(access_key) DO UPDATE SET secret_key = excluded.secret_key, "
		"account_id = excluded.account_id, source = excluded.source, "
		"session_token = NULL, expires_ms = NULL");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, ak, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sk, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static void random_chars(char *out, size_t n, const char *alphabet)
{
	size_t alen = strlen(alphabet);
	unsigned char rnd[64];

	/* 256 % alen bias is irrelevant for identifiers of this length. */
	if (random_bytes(rnd, n) < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rnd[i] % alen];
	out[n] = '\0';
}

/* temp -> fsync -> rename, so a crash never leaves a half-written file. */
static int write_credentials(const char *state_dir, const char *ak, const char *sk, const char *region)
{
	char path[4096], tmp[4100];
	FILE *f = NULL;
	int fd = -1, r = 0;

	if (snprintf(path, sizeof(path), "%s/credentials", state_dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto out;
	}
	fprintf(f, "# Written by hostd on first start: the account it generated.\n"
		   "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = %s\n",
		ak, sk, region);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
out:
	if (r < 0)
		unlink(tmp);
	return r;
}

static int generated_account(struct store *s, const struct config *cfg, const char *state_dir)
{
	sqlite3_stmt *st;
	char id[13], ak[21], sk[41];
	int r;

	st = store_stmt(s, "SELECT account_id, access_key, secret_key FROM credentials "
			   "WHERE source = 'generated' LIMIT 1");
	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(ak, sizeof(ak), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(sk, sizeof(sk), "%s", (const char *)sqlite3_column_text(st, 2));
	} else {
		/* First digit non-zero: account ids are printed as numbers in places. */
		random_chars(id, 12, "0123456789");
		if (id[0] == '0')
			id[0] = '1';
		memcpy(ak, "AKIA", 4);
		random_chars(ak + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
		random_chars(sk, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
		r = ensure_account(s, id);
		if (r == 0)
			r = put_key(s, id, ak, sk, "generated");
		if (r < 0)
			return r;
		log_info("accounts", "generated account %s (access key %s)", id, ak);
	}
	r = write_credentials(state_dir, ak, sk, cfg->region);
	if (r < 0) {
		log_err("accounts", "writing %s/credentials: %s", state_dir, strerror(-r));
		return r;
	}
	log_info("accounts", "account %s; credentials in %s/credentials", id, state_dir);
	return 0;
}

int accounts_sync(struct store *s, const struct config *cfg, const char *state_dir)
{
	sqlite3_stmt *st;
	int r;

	r = store_begin(s);
	if (r < 0)
		return r;
	/* Keys removed from the config stop working. */
	st = store_stmt(s, "DELETE FROM credentials WHERE source = 'config'");
	if (!st || sqlite3_step(st) != SQLITE_DONE) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct config_account *a = &cfg->accounts[i];

		r = ensure_account(s, a->id);
		if (r == 0)
			r = put_key(s, a->id, a->access_key, a->secret_key, "config");
		if (r < 0)
			goto out;
		log_info("accounts", "account %s (access key %s) from config", a->id, a->access_key);
	}
	if (cfg->naccounts == 0) {
		r = generated_account(s, cfg, state_dir);
		if (r < 0)
			goto out;
	}
	r = store_commit(s);
out:
	if (r < 0)
		store_rollback(s);
	return r;
}

int accounts_lookup(struct store *s, const char *access_key, struct credential *c)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT secret_key, account_id, session_token, expires_ms "
					 "FROM credentials WHERE access_key = ?");
	const char *tok;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, access_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(c, 0, sizeof(*c));
	snprintf(c->access_key, sizeof(c->access_key), "%s", access_key);
	snprintf(c->secret_key, sizeof(c->secret_key), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(c->account_id, sizeof(c->account_id), "%s", (const char *)sqlite3_column_text(st, 1));
	tok = (const char *)sqlite3_column_text(st, 2);
	if (tok && snprintf(c->session_token, sizeof(c->session_token), "%s", tok) >=
			   (int)sizeof(c->session_token))
		return -EIO;
	c->expires_ms = sqlite3_column_int64(st, 3);
	return 0;
}

int accounts_add_temporary(struct store *s, const char *account_id, const char *access_key,
			   const char *secret_key, const char *session_token, int64_t expires_ms)
{
	sqlite3_stmt *st = store_stmt(s,
		"INSERT OR REPLACE INTO credentials(access_key, secret_key, account_id, session_token, "
		"expires_ms, source) VALUES (?, ?, ?, ?, ?, 'temporary')");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, access_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, secret_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, session_token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, expires_ms);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int accounts_mint_temporary(struct store *s, const char *account_id, int64_t expires_ms, struct credential *c)
{
	unsigned char tok[96];
	char *b64;
	int r;

	memset(c, 0, sizeof(*c));
	memcpy(c->access_key, "ASIA", 4);
	random_chars(c->access_key + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	random_chars(c->secret_key, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	/* Opaque to clients, as STS's are: random, so it carries nothing a
	 * guest could read or forge. */
	if (random_bytes(tok, sizeof(tok)) < 0)
		return -EIO;
	b64 = base64_encode(tok, sizeof(tok));
	snprintf(c->session_token, sizeof(c->session_token), "%s", b64);
	free(b64);
	snprintf(c->account_id, sizeof(c->account_id), "%s", account_id);
	c->expires_ms = expires_ms;
	r = accounts_add_temporary(s, account_id, c->access_key, c->secret_key, c->session_token, expires_ms);
	return r;
}

int accounts_purge_temporary(struct store *s, int64_t cutoff_ms)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM credentials WHERE source = 'temporary' AND expires_ms < ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, cutoff_ms);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

bool accounts_exists(struct store *s, const char *account_id)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM accounts WHERE id = ?");

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW;
}
