/* CreateSnapshot, DeleteSnapshot, DescribeSnapshots, CopySnapshot. A
 * snapshot is the volume's top layer frozen (storage/); a copy names the
 * same frozen layer, which is never written again. */
#include <errno.h>
#include <stdio.h>
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
	    tags_delete_all(s, r->account_id, id) < 0 || store_commit(s) < 0) {
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
	st = store_stmt(s, "SELECT volume_id, size_gib, state, file FROM snapshots WHERE id = ?1 AND account_id = ?2");
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

int act_describe_snapshots(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL, **owners = NULL, **restorable = NULL;
	size_t nids = 0, nowners = 0, nrest = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	bool own = true;
	sqlite3_stmt *st;
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
	if (nowners) {
		own = false;
		for (size_t i = 0; i < nowners; i++)
			if (!strcmp(owners[i], "self") || !strcmp(owners[i], r->account_id))
				own = true;
	}
	for (size_t i = 0; i < nids; i++) {
		st = store_stmt(s, "SELECT 1 FROM snapshots WHERE id = ?1 AND account_id = ?2");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			ret = snap_not_found(r, ids[i]);
			goto out;
		}
	}
	xml_open(&r->x, "snapshotSet");
	if (!own)
		goto end;
	st = store_stmt(s, SNAP_COLS "WHERE account_id = ?1 AND (?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, S_ID);

		if (nids && !strv_contains(ids, nids, id))
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
end:
	xml_close(&r->x);
	ret = 0;
out:
out0:
	free(from);
	free(ids);
	free(owners);
	free(restorable);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}
