/* CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/hostd.h"
#include "hostd/keycrypto.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "lib/ids.h"
#include "lib/util.h"

/* EC2: up to 255 ASCII characters. */
static int check_key_name(struct api_req *r, const char *name)
{
	size_t n = strlen(name);

	if (n > 255)
		return api_err(r, 400, "InvalidParameterValue",
			       "Value for parameter KeyName is invalid. Length exceeds maximum of 255 characters.");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
			return api_err(r, 400, "InvalidParameterValue",
				       "Value for parameter KeyName is invalid. Character sets beyond ASCII are not supported.");
	return 0;
}

/* Inserts the key pair and its tags in one transaction. */
static int store_key(struct api_req *r, const char *id, const char *name, const char *type,
		     const char *fingerprint, const char *public_key, const struct tag_list *tags)
{
	struct store *s = r->h->store;
	sqlite3_stmt *st;
	int rc;

	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "INSERT INTO key_pairs(id, account_id, name, key_type, fingerprint, public_key, "
			   "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		store_rollback(s);
		return api_err(r, 400, "InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name);
	}
	if (rc != SQLITE_DONE || tags_set(s, r->account_id, id, "key-pair", tags) < 0)
		goto internal;
	if (store_commit(s) < 0)
		goto internal;
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

static int create_or_import(struct api_req *r, bool import)
{
	const char *name, *type_s = api_str(r, "KeyType"), *fmt = api_str(r, "KeyFormat");
	struct tag_list tags = { 0 };
	struct key_created kc = { 0 };
	char id[ID_MAX], fingerprint[128], why[128];
	char *public_key = NULL;
	unsigned char *material = NULL;
	size_t mlen = 0;
	enum key_type type = KEY_TYPE_RSA;
	int ret;

	ret = api_need_str(r, "KeyName", &name);
	if (ret < 0)
		return ret;
	ret = check_key_name(r, name);
	if (ret < 0)
		return ret;
	if (!import) {
		if (type_s && !strcmp(type_s, "ed25519"))
			type = KEY_TYPE_ED25519;
		else if (type_s && strcmp(type_s, "rsa"))
			return api_err_value(r, "KeyType", type_s, "Valid values: rsa, ed25519.");
		if (fmt && !strcmp(fmt, "ppk"))
			return api_err(r, 400, "UnsupportedOperation",
				       "KeyFormat ppk is not supported by this host yet; use pem.");
		if (fmt && strcmp(fmt, "pem"))
			return api_err_value(r, "KeyFormat", fmt, "Valid values: pem, ppk.");
	} else {
		const char *pkm;

		ret = api_need_str(r, "PublicKeyMaterial", &pkm);
		if (ret < 0)
			return ret;
		if (base64_decode(pkm, strlen(pkm), &material, &mlen) < 0)
			return api_err_value(r, "PublicKeyMaterial", "(blob)", "Invalid base64 encoding.");
	}
	ret = tags_from_specs(r, "key-pair", &tags);
	if (ret < 0)
		goto out;
	if (import) {
		int e = keycrypto_import(material, mlen, &type, &public_key, fingerprint, why);

		if (e == -EINVAL) {
			ret = api_err(r, 400, "InvalidKey.Format", "Key is not in valid OpenSSH public key format (%s)",
				      why);
			goto out;
		}
		if (e < 0) {
			ret = api_err_internal(r);
			goto out;
		}
	} else {
		if (keycrypto_create(type, &kc) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		snprintf(fingerprint, sizeof(fingerprint), "%s", kc.fingerprint);
	}
	if (id_new("key", id) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	ret = store_key(r, id, name, type == KEY_TYPE_RSA ? "rsa" : "ed25519", fingerprint,
			import ? public_key : kc.public_openssh, &tags);
	if (ret < 0)
		goto out;
	xml_text(&r->x, "keyFingerprint", fingerprint);
	if (!import)
		xml_text(&r->x, "keyMaterial", kc.private_key);
	xml_text(&r->x, "keyName", name);
	xml_text(&r->x, "keyPairId", id);
	ret = tags_write(r->h->store, &r->x, r->account_id, id) < 0 ? api_err_internal(r) : 0;
out:
	tag_list_free(&tags);
	keycrypto_created_free(&kc);
	free(public_key);
	free(material);
	return ret;
}

int act_create_key_pair(struct api_req *r) { return create_or_import(r, false); }

int act_import_key_pair(struct api_req *r) { return create_or_import(r, true); }

static const char *const kp_filters[] = {
	"key-pair-id", "key-name", "fingerprint", "key-type", NULL,
};

int act_describe_key_pairs(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **names = NULL, **ids = NULL;
	size_t nnames = 0, nids = 0;
	bool include_pub = false;
	sqlite3_stmt *st;
	char *missing = NULL;
	int ret, rc;

	if ((ret = api_list(r, "KeyName", &names, &nnames)) < 0 ||
	    (ret = api_list(r, "KeyPairId", &ids, &nids)) < 0 ||
	    (ret = api_bool(r, "IncludePublicKey", false, &include_pub)) < 0 ||
	    (ret = api_filters(r, kp_filters, true, &fs)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++)
		if (!id_valid("key", ids[i])) {
			ret = api_err(r, 400, "InvalidKeyPair.Malformed", "The key pair ID '%.64s' is malformed",
				      ids[i]);
			goto out;
		}

	/* Explicitly named keys must all exist, as on EC2. */
	for (size_t i = 0; i < nnames + nids; i++) {
		bool by_name = i < nnames;
		const char *v = by_name ? names[i] : ids[i - nnames];

		st = store_stmt(s, by_name ? "SELECT 1 FROM key_pairs WHERE account_id = ? AND name = ?"
					   : "SELECT 1 FROM key_pairs WHERE account_id = ? AND id = ?");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			missing = xstrdup(v);
			break;
		}
		if (rc != SQLITE_ROW) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (missing) {
		ret = api_err(r, 400, "InvalidKeyPair.NotFound", "The key pair '%.255s' does not exist", missing);
		goto out;
	}
	xml_open(&r->x, "keySet");
	st = store_stmt(s, "SELECT id, name, key_type, fingerprint, public_key, created_ms FROM key_pairs "
			   "WHERE account_id = ? ORDER BY name");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		const char *fp = (const char *)sqlite3_column_text(st, 3);

		if ((nnames || nids) && !strv_contains(names, nnames, name) && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "key-pair-id", id);
			fbag_add(&bag, "key-name", name);
			fbag_add(&bag, "fingerprint", fp);
			fbag_add(&bag, "key-type", type);
			/* The tag query reuses no statement of this loop's. */
			if (tags_fbag(s, &bag, r->account_id, id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		xml_open(&r->x, "item");
		xml_text(&r->x, "keyPairId", id);
		xml_text(&r->x, "keyFingerprint", fp);
		xml_text(&r->x, "keyName", name);
		xml_text(&r->x, "keyType", type);
		if (tags_write(s, &r->x, r->account_id, id) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		if (include_pub)
			xml_text(&r->x, "publicKey", (const char *)sqlite3_column_text(st, 4));
		xml_time(&r->x, "createTime", sqlite3_column_int64(st, 5));
		xml_close(&r->x);
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(missing);
	free(names);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

int act_delete_key_pair(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *name = api_str(r, "KeyName"), *id = api_str(r, "KeyPairId");
	char found[ID_MAX] = "";
	sqlite3_stmt *st;
	int rc;

	if ((!name || !*name) && (!id || !*id))
		return api_err_missing(r, "KeyName or KeyPairId");
	if (id && *id && !id_valid("key", id))
		return api_err(r, 400, "InvalidKeyPair.Malformed", "The key pair ID '%.64s' is malformed", id);
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, id && *id ? "SELECT id FROM key_pairs WHERE account_id = ? AND id = ?"
				     : "SELECT id FROM key_pairs WHERE account_id = ? AND name = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id && *id ? id : name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(found, sizeof(found), "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		goto internal;
	if (found[0]) {
		st = store_stmt(s, "DELETE FROM key_pairs WHERE account_id = ? AND id = ?");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, found, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, found) < 0)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	/* EC2 answers true even for a key that did not exist. */
	xml_bool(&r->x, "return", true);
	if (found[0])
		xml_text(&r->x, "keyPairId", found);
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}
