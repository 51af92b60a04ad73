/* CreateSnapshot, DeleteSnapshot, DescribeSnapshots, CopySnapshot. A
 * snapshot is the volume's top layer frozen (storage/); a copy names the
 * same frozen layer, which is never written again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "lib/ids.h"
#include "lib/util.h"
#include "storage/storage.h"

#define GIB 1073741824LL

static int snap_malformed(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidSnapshotID.Malformed", "Invalid id: \"%.64s\" (expecting \"snap-...\")", id);
}

static int snap_not_found(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidSnapshot.NotFound", "The snapshot '%.64s' does not exist.", id);
}

static bool is_account_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return false;
	return n == 12;
}

/* Who may see and restore a snapshot: its owner, accounts it is shared
 * with (createVolumePermission), everyone when the group all is. ?A is the
 * caller's account. */
#define SNAP_VISIBLE(A)                                                                                           \
	"(account_id = " A " OR EXISTS (SELECT 1 FROM snapshot_perms p WHERE p.snapshot_id = snapshots.id AND "    \
	"p.grantee IN (" A ", 'all')))"

static bool granted(struct store *s, const char *snap, const char *grantee)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT 1 FROM snapshot_perms WHERE snapshot_id = ?1 AND grantee = ?2");
	bool yes;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grantee, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return yes;
}

#define SNAP_COLS                                                                                                 \
	"SELECT id, account_id, volume_id, size_gib, state, progress, description, encrypted, created_ms "           \
	"FROM snapshots "
enum { S_ID, S_ACCOUNT, S_VOL, S_SIZE, S_STATE, S_PROGRESS, S_DESC, S_ENC, S_CREATED };

static int write_snapshot(struct api_req *r, sqlite3_stmt *st)
{
	char progress[8];

	snprintf(progress, sizeof(progress), "%d%%", sqlite3_column_int(st, S_PROGRESS));
	xml_text(&r->x, "snapshotId", store_text(st, S_ID));
	xml_text(&r->x, "volumeId", store_text(st, S_VOL));
	xml_text(&r->x, "status", store_text(st, S_STATE));
	xml_time(&r->x, "startTime", sqlite3_column_int64(st, S_CREATED));
	xml_text(&r->x, "progress", progress);
	xml_text(&r->x, "ownerId", store_text(st, S_ACCOUNT));
	xml_text(&r->x, "description", store_text(st, S_DESC));
	xml_int(&r->x, "volumeSize", sqlite3_column_int64(st, S_SIZE));
	xml_bool(&r->x, "encrypted", sqlite3_column_int(st, S_ENC) != 0);
	xml_text(&r->x, "storageTier", "standard");
	return tags_write(r->h->store, &r->x, r->account_id, store_text(st, S_ID));
}

static int check_description(struct api_req *r, const char *d)
{
	if (d && strlen(d) > 255)
		return api_err(r, 400, "InvalidParameterValue",
			       "Value for parameter Description is invalid. Length exceeds maximum of 255 characters.");
	return 0;
}

static int insert_snapshot(struct api_req *r, const char *id, const char *vol, int64_t gib, const char *file,
			   const char *state, const char *desc, const char *source, const struct tag_list *tags)
{
	struct store *s = r->h->store;
	sqlite3_stmt *st = store_stmt(s, "INSERT INTO snapshots(id, account_id, volume_id, size_gib, file, state, "
					 "progress, description, created_ms, source_snapshot_id) VALUES "
					 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, vol, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, gib);
	sqlite3_bind_text(st, 5, file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, strcmp(state, "completed") ? 0 : 100);
	sqlite3_bind_text(st, 8, desc ? desc : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, now_ms());
	sqlite3_bind_text(st, 10, source, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "snapshot", tags) < 0)
		return -EIO;
	return 0;
}

static int write_snapshot_id(struct api_req *r, const char *id)
{
	sqlite3_stmt *st = store_stmt(r->h->store, SNAP_COLS "WHERE id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return write_snapshot(r, st);
}

int act_create_snapshot(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct tag_list tags = { 0 };
	const char *vol, *desc = api_str(r, "Description");
	char id[ID_MAX], file[256], top[4200];
	int64_t gib, op_id = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "VolumeId", &vol)) < 0 || (ret = check_description(r, desc)) < 0)
		return ret;
	if (!id_valid("vol", vol))
		return api_err(r, 400, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\" (expecting \"vol-...\")",
			       vol);
	if (api_str(r, "OutpostArn") || api_str(r, "Location"))
		return api_err(r, 400, "UnsupportedOperation", "Outposts are not supported by this host.");
	if ((ret = tags_from_specs(r, "snapshot", &tags)) < 0)
		return ret;
	st = store_stmt(s, "SELECT size_gib, state, file FROM volumes WHERE id = ?1 AND account_id = ?2 AND "
			   "state != 'deleted'");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = api_err(r, 400, "InvalidVolume.NotFound", "The volume '%.64s' does not exist.", vol);
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto internal;
	if (strcmp(store_text(st, 1), "available") && strcmp(store_text(st, 1), "in-use")) {
		ret = api_err(r, 400, "IncorrectState", "The volume '%s' is not available for snapshots (%s).", vol,
			      store_text(st, 1));
		goto out;
	}
	gib = sqlite3_column_int64(st, 0);
	snprintf(top, sizeof(top), "%s", store_text(st, 2));
	if (id_new("snap", id) < 0 || storage_new_layer("layer", file, sizeof(file)) < 0 || store_begin(s) < 0)
		goto internal;
	if (insert_snapshot(r, id, vol, gib, top, "pending", desc, NULL, &tags) < 0)
		goto rollback;
	{
		struct storage_op op = { .kind = "snap-create", .vol = vol, .snap = id, .file = file, .backing = top,
					 .size_bytes = gib * GIB };

		if (storage_intent(h, &op, &op_id) < 0)
			goto rollback;
	}
	if (store_commit(s) < 0)
		goto rollback;
	if (write_snapshot_id(r, id) < 0)
		goto internal;
	storage_run(h, op_id);
	ret = 0;
	goto done;
rollback:
	store_rollback(s);
internal:
	ret = api_err_internal(r);
out:
done:
	tag_list_free(&tags);
	return ret;
}

int act_delete_snapshot(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	const char *id;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "SnapshotId", &id)) < 0)
		return ret;
	if (!id_valid("snap", id))
		return snap_malformed(r, id);
	st = store_stmt(s, "SELECT state FROM snapshots WHERE id = ?1 AND account_id = ?2");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = snap_not_found(r, id);
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto internal;
	if (!strcmp(store_text(st, 0), "pending")) {
		ret = api_err(r, 400, "IncorrectState", "The snapshot '%s' is still pending.", id);
		goto out;
	}
	st = store_stmt(s, "SELECT id FROM images WHERE root_snapshot_id = ?1 AND state != 'deregistered' LIMIT 1");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret = api_err(r, 400, "InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id,
			      store_text(st, 0));
		goto out;
	}
	if (rc != SQLITE_DONE || storage_track(h) < 0 || store_begin(s) < 0)
		goto internal;
	/* Deregistered AMIs keep their rows for a while; they stop naming it. */
	st = store_stmt(s, "UPDATE images SET root_snapshot_id = NULL WHERE root_snapshot_id = ?1 AND "
			   "state = 'deregistered'");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
		store_rollback(s);
		goto internal;
	}
	st = store_stmt(s, "DELETE FROM snapshots WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE ||
	    tags_delete_all(s, r->account_id, id) < 0 ||
	    !(st = store_stmt(s, "DELETE FROM snapshot_perms WHERE snapshot_id = ?1")) ||
	    (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE ||
	    store_commit(s) < 0) {
		store_rollback(s);
		goto internal;
	}
	xml_bool(&r->x, "return", true);
	storage_kick(h); /* the layer is merged or collected in the background */
	return 0;
internal:
	ret = api_err_internal(r);
out:
	return ret;
}

int act_copy_snapshot(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct tag_list tags = { 0 };
	const char *src, *region, *desc = api_str(r, "Description");
	char id[ID_MAX], file[4200], vol[ID_MAX], defdesc[160];
	bool enc = false;
	int64_t gib;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "SourceSnapshotId", &src)) < 0 || (ret = api_need_str(r, "SourceRegion", &region)) < 0 ||
	    (ret = check_description(r, desc)) < 0 || (ret = api_bool(r, "Encrypted", false, &enc)) < 0)
		return ret;
	if (strcmp(region, h->cfg->region))
		return api_err(r, 400, "InvalidParameterValue",
			       "Copying snapshots from region %.64s is not supported by this host (only %s).", region,
			       h->cfg->region);
	if (enc || api_str(r, "KmsKeyId"))
		return api_err(r, 400, "UnsupportedOperation", "Encrypted snapshots are not supported by this host yet.");
	if (!id_valid("snap", src))
		return snap_malformed(r, src);
	if ((ret = tags_from_specs(r, "snapshot", &tags)) < 0)
		return ret;
	st = store_stmt(s, "SELECT volume_id, size_gib, state, file FROM snapshots WHERE id = ?1 AND "
			   SNAP_VISIBLE("?2"));
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, src, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = snap_not_found(r, src);
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto internal;
	if (strcmp(store_text(st, 2), "completed")) {
		ret = api_err(r, 400, "IncorrectState", "Snapshot '%s' is not completed (%s).", src, store_text(st, 2));
		goto out;
	}
	snprintf(vol, sizeof(vol), "%s", store_text(st, 0));
	gib = sqlite3_column_int64(st, 1);
	snprintf(file, sizeof(file), "%s", store_text(st, 3));
	snprintf(defdesc, sizeof(defdesc), "[Copied %s from %s]", src, region);
	if (id_new("snap", id) < 0 || store_begin(s) < 0)
		goto internal;
	/* One transaction: the copy names the source's frozen layer. */
	if (insert_snapshot(r, id, vol, gib, file, "completed", desc ? desc : defdesc, src, &tags) < 0 ||
	    store_commit(s) < 0) {
		store_rollback(s);
		goto internal;
	}
	xml_text(&r->x, "snapshotId", id);
	if (tags_write(s, &r->x, r->account_id, id) < 0)
		goto internal;
	ret = 0;
	goto out;
internal:
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

static const char *const snap_filters[] = {
	"description", "encrypted", "owner-alias", "owner-id", "progress", "snapshot-id", "start-time", "status",
	"storage-tier", "volume-id", "volume-size", NULL,
};

/* RestorableBy.N: who may create volumes from it. "all": public; "self"
 * (or the caller's id): the caller owns it or it is shared with the caller
 * or public; another account's id: the caller owns it and shared it with
 * that account (or with all). */
static bool restorable_by(struct api_req *r, sqlite3_stmt *st, const char *who)
{
	const char *id = store_text(st, S_ID);
	bool own = !strcmp(store_text(st, S_ACCOUNT), r->account_id);

	if (!strcmp(who, "all"))
		return granted(r->h->store, id, "all");
	if (!strcmp(who, "self") || !strcmp(who, r->account_id))
		return own || granted(r->h->store, id, r->account_id) || granted(r->h->store, id, "all");
	return own && (granted(r->h->store, id, who) || granted(r->h->store, id, "all"));
}

static bool owned_by(struct api_req *r, sqlite3_stmt *st, const char *const *owners, size_t n)
{
	const char *owner = store_text(st, S_ACCOUNT);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(owners[i], owner) || (!strcmp(owners[i], "self") && !strcmp(owner, r->account_id)))
			return true;
	return false;
}

int act_describe_snapshots(struct api_req *r)
{
	static const char *const aliases[] = { "self", "amazon", "aws-marketplace", "aws-backup-vault" };
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL, **owners = NULL, **restorable = NULL;
	size_t nids = 0, nowners = 0, nrest = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st = NULL;
	int ret, rc;

	if ((ret = api_list(r, "SnapshotId", &ids, &nids)) < 0 || (ret = api_list(r, "Owner", &owners, &nowners)) < 0 ||
	    (ret = api_list(r, "RestorableBy", &restorable, &nrest)) < 0 ||
	    (ret = api_filters(r, snap_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out0;
	for (size_t i = 0; i < nids; i++)
		if (!id_valid("snap", ids[i])) {
			ret = snap_malformed(r, ids[i]);
			goto out0;
		}
	for (size_t i = 0; i < nowners; i++)
		if (!is_account_id(owners[i]) && !strv_contains(aliases, ARRAY_SIZE(aliases), owners[i])) {
			ret = api_err(r, 400, "InvalidUserID.Malformed", "Invalid user id: \"%.64s\"", owners[i]);
			goto out0;
		}
	for (size_t i = 0; i < nrest; i++)
		if (!is_account_id(restorable[i]) && strcmp(restorable[i], "self") && strcmp(restorable[i], "all")) {
			ret = api_err(r, 400, "InvalidUserID.Malformed", "Invalid user id: \"%.64s\"", restorable[i]);
			goto out0;
		}
	for (size_t i = 0; i < nids; i++) {
		st = store_stmt(s, "SELECT 1 FROM snapshots WHERE id = ?1 AND " SNAP_VISIBLE("?2"));
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			ret = snap_not_found(r, ids[i]);
			goto out;
		}
	}
	xml_open(&r->x, "snapshotSet");
	st = store_stmt(s, SNAP_COLS "WHERE " SNAP_VISIBLE("?1") " AND (?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, S_ID);
		bool ok = true;

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (nowners && !owned_by(r, st, owners, nowners))
			continue;
		if (nrest) {
			ok = false;
			for (size_t i = 0; i < nrest && !ok; i++)
				ok = restorable_by(r, st, restorable[i]);
		}
		if (!ok)
			continue;
		if (fs.n) {
			char start[25], progress[8];

			fbag_reset(&bag);
			iso8601_ms(sqlite3_column_int64(st, S_CREATED), start);
			snprintf(progress, sizeof(progress), "%d%%", sqlite3_column_int(st, S_PROGRESS));
			fbag_add(&bag, "snapshot-id", id);
			fbag_add(&bag, "description", store_text(st, S_DESC));
			fbag_add_bool(&bag, "encrypted", sqlite3_column_int(st, S_ENC) != 0);
			fbag_add(&bag, "owner-id", store_text(st, S_ACCOUNT));
			fbag_add(&bag, "progress", progress);
			fbag_add(&bag, "start-time", start);
			fbag_add(&bag, "status", store_text(st, S_STATE));
			fbag_add(&bag, "storage-tier", "standard");
			fbag_add(&bag, "volume-id", store_text(st, S_VOL));
			fbag_add_int(&bag, "volume-size", sqlite3_column_int64(st, S_SIZE));
			if (tags_fbag(s, &bag, r->account_id, id) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(&r->x);
			api_next_token(r, id);
			ret = 0;
			goto out;
		}
		xml_open(&r->x, "item");
		if (write_snapshot(r, st) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		xml_close(&r->x);
		emitted++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	xml_close(&r->x);
	ret = 0;
out:
	sqlite3_reset(st);
out0:
	free(from);
	free(ids);
	free(owners);
	free(restorable);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* ---- snapshot attributes: createVolumePermission ---- */

static int snap_attribute(struct api_req *r, bool required, const char **attr)
{
	*attr = api_str(r, "Attribute");
	if (!*attr) {
		if (required)
			return api_err_missing(r, "Attribute");
		*attr = "createVolumePermission";
	}
	if (strcmp(*attr, "createVolumePermission") && strcmp(*attr, "productCodes"))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Expected: 'createVolumePermission' or "
			       "'productCodes'.", *attr);
	return 0;
}

/* The caller's own snapshot; NotFound for one it may only see (the
 * attributes are the owner's). */
static int find_own_snapshot(struct api_req *r, const char *id)
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("snap", id))
		return snap_malformed(r, id);
	st = store_stmt(r->h->store, "SELECT 1 FROM snapshots WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return snap_not_found(r, id);
	return rc == SQLITE_ROW ? 0 : api_err_internal(r);
}

int act_describe_snapshot_attribute(struct api_req *r)
{
	const char *id, *attr;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "SnapshotId", &id)) < 0 || (ret = snap_attribute(r, true, &attr)) < 0 ||
	    (ret = find_own_snapshot(r, id)) < 0)
		return ret;
	xml_text(&r->x, "snapshotId", id);
	if (!strcmp(attr, "productCodes")) {
		/* No marketplace here: snapshots never carry product codes. */
		xml_open(&r->x, "productCodes");
		xml_close(&r->x);
		return 0;
	}
	st = store_stmt(r->h->store, "SELECT grantee FROM snapshot_perms WHERE snapshot_id = ?1 ORDER BY grantee");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	xml_open(&r->x, "createVolumePermission");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		xml_open(&r->x, "item");
		if (!strcmp(store_text(st, 0), "all"))
			xml_text(&r->x, "group", "all");
		else
			xml_text(&r->x, "userId", store_text(st, 0));
		xml_close(&r->x);
	}
	xml_close(&r->x);
	return rc == SQLITE_DONE ? 0 : api_err_internal(r);
}

struct grant {
	const char *who;   /* an account id, or "all" */
	bool add;
};

/* One grantee from a UserId or Group value, checked. */
static int grant_value(struct api_req *r, bool group, const char *v, bool add, struct grant *g, size_t *n)
{
	if (group ? strcmp(v, "all") != 0 : !is_account_id(v))
		return group ? api_err(r, 400, "InvalidParameterValue",
				       "Value (%.64s) for parameter group is invalid. Expected: 'all'.", v)
			     : api_err(r, 400, "InvalidUserID.Malformed", "Invalid user id: \"%.64s\"", v);
	g[*n].who = v;
	g[*n].add = add;
	(*n)++;
	return 0;
}

int act_modify_snapshot_attribute(struct api_req *r)
{
	static const char *const ops[] = { "Add", "Remove" };
	struct store *s = r->h->store;
	const char *id, *attr, *optype = api_str(r, "OperationType");
	const char **users = NULL, **groups = NULL;
	size_t nusers = 0, ngroups = 0, n = 0;
	struct grant *g = NULL;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "SnapshotId", &id)) < 0 || (ret = snap_attribute(r, false, &attr)) < 0)
		return ret;
	if (!strcmp(attr, "productCodes"))
		return api_err(r, 400, "InvalidParameterValue", "The productCodes attribute cannot be modified.");
	if (optype && strcmp(optype, "add") && strcmp(optype, "remove"))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter operationType is invalid. Expected: 'add' or 'remove'.", optype);
	if ((ret = api_list(r, "UserId", &users, &nusers)) < 0 || (ret = api_list(r, "UserGroup", &groups, &ngroups)) < 0)
		goto out;
	/* UserId/UserGroup with OperationType, and CreateVolumePermission.Add
	 * and .Remove lists of {UserId | Group}. */
	g = xcalloc(nusers + ngroups + 2 * r->q->n + 1, sizeof(*g));
	if ((nusers || ngroups) && !optype) {
		ret = api_err_missing(r, "OperationType");
		goto out;
	}
	for (size_t i = 0; i < nusers; i++)
		if ((ret = grant_value(r, false, users[i], !strcmp(optype, "add"), g, &n)) < 0)
			goto out;
	for (size_t i = 0; i < ngroups; i++)
		if ((ret = grant_value(r, true, groups[i], !strcmp(optype, "add"), g, &n)) < 0)
			goto out;
	for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
		char prefix[48], key[96];
		unsigned *idx = NULL;
		size_t ni = 0;

		snprintf(prefix, sizeof(prefix), "CreateVolumePermission.%s", ops[k]);
		if (query_indices(r->q, prefix, &idx, &ni) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		for (size_t i = 0; i < ni && ret == 0; i++) {
			const char *u, *gr;

			snprintf(key, sizeof(key), "%s.%u.UserId", prefix, idx[i]);
			u = api_str(r, key);
			snprintf(key, sizeof(key), "%s.%u.Group", prefix, idx[i]);
			gr = api_str(r, key);
			if (u)
				ret = grant_value(r, false, u, k == 0, g, &n);
			if (ret == 0 && gr)
				ret = grant_value(r, true, gr, k == 0, g, &n);
		}
		free(idx);
		if (ret < 0)
			goto out;
	}
	if (!n) {
		ret = api_err(r, 400, "MissingParameter",
			      "The request must contain a createVolumePermission to add or remove (or userId / "
			      "userGroup with operationType).");
		goto out;
	}
	if ((ret = find_own_snapshot(r, id)) < 0)
		goto out;
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* Sharing with oneself changes nothing, as on EC2. */
		if (!strcmp(g[i].who, r->account_id))
			continue;
		st = store_stmt(s, g[i].add ? "INSERT OR IGNORE INTO snapshot_perms(snapshot_id, grantee) VALUES (?1, ?2)"
					    : "DELETE FROM snapshot_perms WHERE snapshot_id = ?1 AND grantee = ?2");
		if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC),
			    sqlite3_bind_text(st, 2, g[i].who, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
			store_rollback(s);
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	xml_bool(&r->x, "return", true);
	ret = 0;
out:
	free(g);
	free(users);
	free(groups);
	return ret;
}

int act_reset_snapshot_attribute(struct api_req *r)
{
	const char *id, *attr;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "SnapshotId", &id)) < 0 || (ret = snap_attribute(r, true, &attr)) < 0)
		return ret;
	if (!strcmp(attr, "productCodes"))
		return api_err(r, 400, "InvalidParameterValue", "The productCodes attribute cannot be reset.");
	if ((ret = find_own_snapshot(r, id)) < 0)
		return ret;
	st = store_stmt(r->h->store, "DELETE FROM snapshot_perms WHERE snapshot_id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE)
		return api_err_internal(r);
	xml_bool(&r->x, "return", true);
	return 0;
}

/* ---- CreateSnapshots: every volume of an instance at one instant ---- */

struct snapvol {
	char vol[ID_MAX], snap[ID_MAX], top[4200], file[256];
	int64_t gib, op;
};

int act_create_snapshots(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct tag_list tags = { 0 };
	const char *inst, *desc = api_str(r, "Description"), *copy = api_str(r, "CopyTagsFromSource");
	const char **excl = NULL;
	char root[64] = "";
	size_t nexcl = 0, n = 0, cap = 0;
	struct snapvol *v = NULL;
	int64_t *ops = NULL;
	bool no_boot = false;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "InstanceSpecification.InstanceId", &inst)) < 0 ||
	    (ret = api_bool(r, "InstanceSpecification.ExcludeBootVolume", false, &no_boot)) < 0 ||
	    (ret = check_description(r, desc)) < 0)
		return ret;
	if (api_str(r, "OutpostArn") || api_str(r, "Location"))
		return api_err(r, 400, "UnsupportedOperation", "Outposts are not supported by this host.");
	if (copy && strcmp(copy, "volume"))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter copyTagsFromSource is invalid. Expected: 'volume'.", copy);
	if (!id_valid("i", inst))
		return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", inst);
	if ((ret = api_list(r, "InstanceSpecification.ExcludeDataVolumeId", &excl, &nexcl)) < 0)
		return ret;
	for (size_t i = 0; i < nexcl; i++)
		if (!id_valid("vol", excl[i])) {
			ret = api_err(r, 400, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\" (expecting \"vol-...\")",
				      excl[i]);
			goto out;
		}
	if ((ret = tags_from_specs(r, "snapshot", &tags)) < 0)
		goto out;
	st = store_stmt(s, "SELECT state, root_device_name FROM instances WHERE id = ?1 AND account_id = ?2");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW && !strcmp(store_text(st, 0), "terminated"))) {
		sqlite3_reset(st);
		ret = api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", inst);
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto internal;
	if (!strcmp(store_text(st, 0), "pending") || !strcmp(store_text(st, 0), "shutting-down")) {
		ret = api_err(r, 400, "IncorrectInstanceState",
			      "The instance '%s' is not in a state from which its volumes can be snapshotted (%s).", inst,
			      store_text(st, 0));
		sqlite3_reset(st);
		goto out;
	}
	snprintf(root, sizeof(root), "%s", store_text(st, 1));
	sqlite3_reset(st);
	/* ExcludeDataVolumeIds must name the instance's data volumes. */
	for (size_t i = 0; i < nexcl; i++) {
		st = store_stmt(s, "SELECT 1 FROM volumes WHERE id = ?1 AND account_id = ?2 AND instance_id = ?3 AND "
				   "device != ?4 AND state != 'deleted'");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, excl[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, inst, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, root, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			ret = api_err(r, 400, "InvalidParameterValue",
				      "The volume '%s' in excludeDataVolumeIds is not a data volume of instance '%s'.",
				      excl[i], inst);
			goto out;
		}
	}
	st = store_stmt(s, "SELECT id, size_gib, state, file, device FROM volumes WHERE instance_id = ?1 AND "
			   "account_id = ?2 AND state != 'deleted' ORDER BY device = ?3 DESC, device");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, root, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0);

		if ((no_boot && !strcmp(store_text(st, 4), root)) || strv_contains(excl, nexcl, id))
			continue;
		if (strcmp(store_text(st, 2), "available") && strcmp(store_text(st, 2), "in-use")) {
			ret = api_err(r, 400, "IncorrectState", "The volume '%s' is not available for snapshots (%s).", id,
				      store_text(st, 2));
			sqlite3_reset(st);
			goto out;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].vol, sizeof(v[n].vol), "%s", id);
		v[n].gib = sqlite3_column_int64(st, 1);
		snprintf(v[n].top, sizeof(v[n].top), "%s", store_text(st, 3));
		n++;
	}
	if (rc != SQLITE_DONE)
		goto internal;
	for (size_t i = 0; i < n; i++)
		if (id_new("snap", v[i].snap) < 0 || storage_new_layer("layer", v[i].file, sizeof(v[i].file)) < 0)
			goto internal;
	/* Every snapshot and its intent in one transaction. */
	if (store_begin(s) < 0)
		goto internal;
	for (size_t i = 0; i < n; i++) {
		struct storage_op op = { .kind = "snap-create", .vol = v[i].vol, .snap = v[i].snap, .file = v[i].file,
					 .backing = v[i].top, .size_bytes = v[i].gib * GIB };

		if (insert_snapshot(r, v[i].snap, v[i].vol, v[i].gib, v[i].top, "pending", desc, NULL, &tags) < 0)
			goto rollback;
		/* The request's tags win over the volume's of the same key. */
		if (copy && (!(st = store_stmt(s, "INSERT OR IGNORE INTO tags(account_id, resource_id, resource_type, "
						  "key, value) SELECT account_id, ?1, 'snapshot', key, value FROM tags "
						  "WHERE account_id = ?2 AND resource_id = ?3")) ||
			     (sqlite3_bind_text(st, 1, v[i].snap, -1, SQLITE_STATIC),
			      sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC),
			      sqlite3_bind_text(st, 3, v[i].vol, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE))
			goto rollback;
		if (storage_intent(h, &op, &v[i].op) < 0)
			goto rollback;
	}
	if (store_commit(s) < 0)
		goto rollback;
	/* The answer shows them as accepted (pending), as CreateSnapshot's. */
	xml_open(&r->x, "snapshotSet");
	for (size_t i = 0; i < n; i++) {
		char progress[8];

		st = store_stmt(s, SNAP_COLS "WHERE id = ?1");
		if (!st || (sqlite3_bind_text(st, 1, v[i].snap, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
			goto internal;
		snprintf(progress, sizeof(progress), "%d%%", sqlite3_column_int(st, S_PROGRESS));
		xml_open(&r->x, "item");
		xml_text(&r->x, "snapshotId", v[i].snap);
		xml_text(&r->x, "volumeId", v[i].vol);
		xml_text(&r->x, "state", store_text(st, S_STATE));
		xml_time(&r->x, "startTime", sqlite3_column_int64(st, S_CREATED));
		xml_text(&r->x, "progress", progress);
		xml_text(&r->x, "ownerId", r->account_id);
		xml_text(&r->x, "description", store_text(st, S_DESC));
		xml_int(&r->x, "volumeSize", v[i].gib);
		xml_bool(&r->x, "encrypted", sqlite3_column_int(st, S_ENC) != 0);
		sqlite3_reset(st);
		if (tags_write(s, &r->x, r->account_id, v[i].snap) < 0)
			goto internal;
		xml_close(&r->x);
	}
	xml_close(&r->x);
	ops = xcalloc(n ? n : 1, sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		ops[i] = v[i].op;
	if (n)
		storage_run_group(h, ops, n, inst);
	ret = 0;
	goto out;
rollback:
	store_rollback(s);
internal:
	ret = api_err_internal(r);
out:
	free(ops);
	free(v);
	free(excl);
	tag_list_free(&tags);
	return ret;
}
