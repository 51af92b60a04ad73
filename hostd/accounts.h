/* Accounts and their credentials. Each access key belongs to exactly one
 * account; temporary keys (ASIA...) also carry a session token and expiry. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct config;
struct store;

struct credential {
	char access_key[129];
	char secret_key[129];
	char account_id[13];
	char session_token[2048]; /* empty for long-term keys */
	int64_t expires_ms;       /* 0: never */
};

/* Brings the store in line with the config's accounts; with none configured
 * and none generated before, creates one and writes <state_dir>/credentials
 * (AWS shared-credentials format, mode 0600). Logs the account in use. */
int accounts_sync(struct store *s, const struct config *cfg, const char *state_dir);
/* 0, -ENOENT for an unknown key, or -EIO. */
int accounts_lookup(struct store *s, const char *access_key, struct credential *out);
/* Adds temporary credentials for account. */
int accounts_add_temporary(struct store *s, const char *account_id, const char *access_key,
			   const char *secret_key, const char *session_token, int64_t expires_ms);
/* Mints temporary credentials for account valid until expires_ms: an
 * ASIA + 16 character key, a 40 character secret and an opaque session
 * token, stored like every key (the secret is needed to verify SigV4). */
int accounts_mint_temporary(struct store *s, const char *account_id, int64_t expires_ms, struct credential *out);
/* Forgets temporary credentials that expired before cutoff_ms. */
int accounts_purge_temporary(struct store *s, int64_t cutoff_ms);
bool accounts_exists(struct store *s, const char *account_id);
