/* CreateVolume, DeleteVolume, DescribeVolumes, ModifyVolume,
 * DescribeVolumesModifications. The files are storage/'s: a handler records
 * its rows and the storage intent in one transaction, then runs the intent
 * (quick: an overlay or a resize) outside h->lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/instances.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "storage/storage.h"
#include "storage/voltype.h"
#include "vmm/vmm.h"

#define GIB 1073741824LL

int act_vol_malformed(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidVolumeID.Malformed", "Invalid id: \"%.64s\" (expecting \"vol-...\")", id);
}

int act_vol_not_found(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidVolume.NotFound", "The volume '%.64s' does not exist.", id);
}

#define VOL_COLS                                                                                                  \
	"SELECT v.id, v.size_gib, v.volume_type, v.iops, v.throughput, COALESCE(v.snapshot_id, ''), v.az, v.state, " \
	"v.created_ms, v.encrypted, COALESCE(v.instance_id, ''), COALESCE(v.device, ''), "                           \
	"COALESCE(v.attach_state, 'attaching'), COALESCE(v.attach_ms, v.created_ms), v.delete_on_termination "       \
	"FROM volumes v "
enum { V_ID, V_SIZE, V_TYPE, V_IOPS, V_TP, V_SNAP, V_AZ, V_STATE, V_CREATED, V_ENC, V_INST, V_DEV, V_ATT, V_ATTMS,
       V_DOT };

/* EC2 reports a root volume that is still being made as creating and one
 * that is attached as in-use. */
static const char *vol_state(sqlite3_stmt *st)
{
	const char *s = store_text(st, V_STATE);

	if (!strcmp(s, "creating") || !strcmp(s, "available") || !strcmp(s, "error"))
		return sqlite3_column_bytes(st, V_INST) && strcmp(s, "error") ? "in-use" : s;
	return s;
}

static void effective(sqlite3_stmt *st, struct voltype *vt)
{
	struct voltype_iotune io;
	const char *type = store_text(st, V_TYPE);

	memset(vt, 0, sizeof(*vt));
	snprintf(vt->type, sizeof(vt->type), "%s", type);
	vt->iops = sqlite3_column_int64(st, V_IOPS);
	vt->throughput = sqlite3_column_int64(st, V_TP);
	if (!vt->iops && (!strcmp(type, "gp2") || !strcmp(type, "gp3"))) {
		voltype_iotune(type, sqlite3_column_int64(st, V_SIZE), 0, 0, &io);
		vt->iops = io.iops;
	}
	if (!vt->throughput && !strcmp(type, "gp3"))
		vt->throughput = 125;
}

static int write_volume(struct api_req *r, sqlite3_stmt *st)
{
	struct voltype vt;
	const char *id = store_text(st, V_ID);

	effective(st, &vt);
	xml_text(&r->x, "volumeId", id);
	xml_int(&r->x, "size", sqlite3_column_int64(st, V_SIZE));
	xml_text(&r->x, "snapshotId", store_text(st, V_SNAP));
	xml_text(&r->x, "availabilityZone", store_text(st, V_AZ));
	xml_text(&r->x, "status", vol_state(st));
	xml_time(&r->x, "createTime", sqlite3_column_int64(st, V_CREATED));
	xml_open(&r->x, "attachmentSet");
	if (sqlite3_column_bytes(st, V_INST)) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "volumeId", id);
		xml_text(&r->x, "instanceId", store_text(st, V_INST));
		xml_text(&r->x, "device", store_text(st, V_DEV));
		xml_text(&r->x, "status", store_text(st, V_ATT));
		xml_time(&r->x, "attachTime", sqlite3_column_int64(st, V_ATTMS));
		xml_bool(&r->x, "deleteOnTermination", sqlite3_column_int(st, V_DOT) != 0);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	xml_bool(&r->x, "encrypted", sqlite3_column_int(st, V_ENC) != 0);
	xml_text(&r->x, "volumeType", vt.type);
	if (vt.iops)
		xml_int(&r->x, "iops", vt.iops);
	if (vt.throughput)
		xml_int(&r->x, "throughput", vt.throughput);
	xml_bool(&r->x, "multiAttachEnabled", false);
	return tags_write(r->h->store, &r->x, r->account_id, id);
}

/* Writes the volume as it is now (CreateVolume's answer). Caller holds
 * h->lock. */
static int write_volume_id(struct api_req *r, const char *id)
{
	sqlite3_stmt *st = store_stmt(r->h->store, VOL_COLS "WHERE v.id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return write_volume(r, st);
}

static int opt_int(struct api_req *r, const char *name, bool *has, int64_t *v)
{
	*has = api_str(r, name) != NULL;
	return api_int(r, name, 0, 0, INT64_MAX / 4, v);
}

int act_create_volume(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct voltype_req q = { 0 };
	struct voltype vt;
	struct tag_list tags = { 0 };
	const char *az = api_str(r, "AvailabilityZone"), *snap = api_str(r, "SnapshotId"), *code;
	char id[ID_MAX], file[256], snapfile[4200] = "", msg[256];
	bool has_size, enc = false, multi = false;
	int64_t op_id = 0;
	sqlite3_stmt *st;
	int ret;

	q.type = api_str(r, "VolumeType");
	if ((ret = opt_int(r, "Size", &has_size, &q.size_gib)) < 0 ||
	    (ret = opt_int(r, "Iops", &q.has_iops, &q.iops)) < 0 ||
	    (ret = opt_int(r, "Throughput", &q.has_throughput, &q.throughput)) < 0 ||
	    (ret = api_bool(r, "Encrypted", false, &enc)) < 0 ||
	    (ret = api_bool(r, "MultiAttachEnabled", false, &multi)) < 0)
		return ret;
	if (!az && !api_str(r, "AvailabilityZoneId"))
		return api_err_missing(r, "AvailabilityZone");
	if (az && strcmp(az, h->cfg->availability_zone))
		return api_err(r, 400, "InvalidParameterValue", "Invalid availability zone: [%.64s]", az);
	if (enc || api_str(r, "KmsKeyId"))
		return api_err(r, 400, "UnsupportedOperation", "Encrypted volumes are not supported by this host yet.");
	if (multi)
		return api_err(r, 400, "UnsupportedOperation", "Multi-attach is not supported by this host yet.");
	if (!has_size && !snap)
		return api_err(r, 400, "MissingParameter", "The request must contain the parameter size or snapshotId");
	if (snap && !id_valid("snap", snap))
		return api_err(r, 400, "InvalidSnapshotID.Malformed", "Invalid id: \"%.64s\" (expecting \"snap-...\")",
			       snap);
	if ((ret = tags_from_specs(r, "volume", &tags)) < 0)
		return ret;
	if (snap) {
		int64_t sgib;

		st = store_stmt(s, "SELECT size_gib, state, file FROM snapshots WHERE id = ?1 AND "
				   "(account_id = ?2 OR EXISTS (SELECT 1 FROM snapshot_perms p WHERE "
				   "p.snapshot_id = snapshots.id AND p.grantee IN (?2, 'all')))");
		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			ret = api_err(r, 400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", snap);
			goto out;
		}
		sgib = sqlite3_column_int64(st, 0);
		if (strcmp(store_text(st, 1), "completed")) {
			ret = api_err(r, 400, "IncorrectState", "Snapshot '%s' is not completed (%s).", snap, store_text(st, 1));
			goto out;
		}
		snprintf(snapfile, sizeof(snapfile), "%s", store_text(st, 2));
		if (!has_size)
			q.size_gib = sgib;
		else if (q.size_gib < sgib) {
			ret = api_err(r, 400, "InvalidParameterValue",
				      "Volume of %lldGiB is smaller than snapshot '%s', expect size >= %lldGiB",
				      (long long)q.size_gib, snap, (long long)sgib);
			goto out;
		}
	}
	if (voltype_resolve(&q, &vt, &code, msg, sizeof(msg)) < 0) {
		ret = api_err(r, 400, code, "%s", msg);
		goto out;
	}
	if (id_new("vol", id) < 0 || storage_new_layer("layer", file, sizeof(file)) < 0)
		goto internal;
	if (store_begin(s) < 0)
		goto internal;
	st = store_stmt(s, "INSERT INTO volumes(id, account_id, size_gib, volume_type, iops, throughput, snapshot_id, "
			   "az, state, file, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'creating', ?9, ?10)");
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, q.size_gib);
	sqlite3_bind_text(st, 4, vt.type, -1, SQLITE_STATIC);
	if (vt.iops)
		sqlite3_bind_int64(st, 5, vt.iops);
	if (vt.throughput)
		sqlite3_bind_int64(st, 6, vt.throughput);
	sqlite3_bind_text(st, 7, snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, h->cfg->availability_zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "volume", &tags) < 0)
		goto rollback;
	{
		struct storage_op op = { .kind = "vol-create", .vol = id, .file = file,
					 .backing = snap ? snapfile : NULL, .size_bytes = q.size_gib * GIB };

		if (storage_intent(h, &op, &op_id) < 0)
			goto rollback;
	}
	if (store_commit(s) < 0)
		goto rollback;
	/* The answer shows the volume as it was accepted: creating. */
	if (write_volume_id(r, id) < 0)
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

/* Looks a volume of the account up; writes the error when it is missing.
 * Caller holds h->lock. */
static int find_volume(struct api_req *r, const char *id, sqlite3_stmt **out)
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("vol", id))
		return act_vol_malformed(r, id);
	st = store_stmt(r->h->store, VOL_COLS "WHERE v.id = ?1 AND v.account_id = ?2 AND v.state != 'deleted'");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return act_vol_not_found(r, id);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	*out = st;
	return 0;
}

int act_delete_volume(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	const char *id;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "VolumeId", &id)) < 0)
		return ret;
	if ((ret = find_volume(r, id, &st)) < 0)
		goto out;
	if (sqlite3_column_bytes(st, V_INST)) {
		ret = api_err(r, 400, "VolumeInUse", "Volume %s is currently attached to %s", id, store_text(st, V_INST));
		goto out;
	}
	if (!strcmp(store_text(st, V_STATE), "creating")) {
		ret = api_err(r, 400, "IncorrectState", "The volume '%s' is still being created.", id);
		goto out;
	}
	if (storage_track(h) < 0 || store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	st = store_stmt(s, "DELETE FROM volumes WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE ||
	    tags_delete_all(s, r->account_id, id) < 0 ||
	    !(st = store_stmt(s, "DELETE FROM volume_mods WHERE volume_id = ?1")) ||
	    (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE ||
	    store_commit(s) < 0) {
		store_rollback(s);
		ret = api_err_internal(r);
		goto out;
	}
	xml_bool(&r->x, "return", true);
	ret = 0;
out:
	if (ret == 0)
		storage_kick(h); /* its files go in the background */
	return ret;
}

static const char *const vol_filters[] = {
	"attachment.attach-time", "attachment.delete-on-termination", "attachment.device",
	"attachment.instance-id", "attachment.status", "availability-zone", "create-time", "encrypted",
	"multi-attach-enabled", "fast-restored", "size", "snapshot-id", "status", "volume-id", "volume-type", NULL,
};

static void vol_fbag(struct fbag *b, sqlite3_stmt *st, char created[25], char attached[25])
{
	iso8601_ms(sqlite3_column_int64(st, V_CREATED), created);
	fbag_add(b, "volume-id", store_text(st, V_ID));
	fbag_add_int(b, "size", sqlite3_column_int64(st, V_SIZE));
	fbag_add(b, "volume-type", store_text(st, V_TYPE));
	fbag_add(b, "snapshot-id", store_text(st, V_SNAP));
	fbag_add(b, "availability-zone", store_text(st, V_AZ));
	fbag_add(b, "status", vol_state(st));
	fbag_add(b, "create-time", created);
	fbag_add_bool(b, "encrypted", sqlite3_column_int(st, V_ENC) != 0);
	fbag_add_bool(b, "multi-attach-enabled", false);
	fbag_add_bool(b, "fast-restored", false);
	if (sqlite3_column_bytes(st, V_INST)) {
		iso8601_ms(sqlite3_column_int64(st, V_ATTMS), attached);
		fbag_add(b, "attachment.instance-id", store_text(st, V_INST));
		fbag_add(b, "attachment.device", store_text(st, V_DEV));
		fbag_add(b, "attachment.status", store_text(st, V_ATT));
		fbag_add(b, "attachment.attach-time", attached);
		fbag_add_bool(b, "attachment.delete-on-termination", sqlite3_column_int(st, V_DOT) != 0);
	}
}

int act_describe_volumes(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "VolumeId", &ids, &nids)) < 0 || (ret = api_filters(r, vol_filters, true, &fs)) < 0 ||
	    (ret = api_page(r, 5, 500, &limit, &from)) < 0)
		goto out0;
	if (nids && limit) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "The parameter volumeSet cannot be used with the parameter maxResults");
		goto out0;
	}
	for (size_t i = 0; i < nids; i++) {
		if ((ret = find_volume(r, ids[i], &st)) < 0)
			goto out;
	}
	xml_open(&r->x, "volumeSet");
	st = store_stmt(s, VOL_COLS "WHERE v.account_id = ?1 AND v.state != 'deleted' AND (?2 IS NULL OR v.id >= ?2) "
				    "ORDER BY v.id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, V_ID);
		char created[25], attached[25];

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			vol_fbag(&bag, st, created, attached);
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
		if (write_volume(r, st) < 0) {
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
out0:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

#define MOD_COLS                                                                                                  \
	"SELECT volume_id, state, COALESCE(status_message, ''), orig_size, target_size, orig_type, target_type, "    \
	"orig_iops, target_iops, orig_throughput, target_throughput, progress, start_ms, end_ms FROM volume_mods "
static void write_mod(struct api_req *r, sqlite3_stmt *st)
{
	xml_text(&r->x, "volumeId", store_text(st, 0));
	xml_text(&r->x, "modificationState", store_text(st, 1));
	if (sqlite3_column_bytes(st, 2))
		xml_text(&r->x, "statusMessage", store_text(st, 2));
	xml_int(&r->x, "targetSize", sqlite3_column_int64(st, 4));
	if (sqlite3_column_type(st, 8) != SQLITE_NULL)
		xml_int(&r->x, "targetIops", sqlite3_column_int64(st, 8));
	xml_text(&r->x, "targetVolumeType", store_text(st, 6));
	if (sqlite3_column_type(st, 10) != SQLITE_NULL)
		xml_int(&r->x, "targetThroughput", sqlite3_column_int64(st, 10));
	xml_bool(&r->x, "targetMultiAttachEnabled", false);
	xml_int(&r->x, "originalSize", sqlite3_column_int64(st, 3));
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		xml_int(&r->x, "originalIops", sqlite3_column_int64(st, 7));
	xml_text(&r->x, "originalVolumeType", store_text(st, 5));
	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		xml_int(&r->x, "originalThroughput", sqlite3_column_int64(st, 9));
	xml_bool(&r->x, "originalMultiAttachEnabled", false);
	xml_int(&r->x, "progress", sqlite3_column_int64(st, 11));
	xml_time(&r->x, "startTime", sqlite3_column_int64(st, 12));
	if (sqlite3_column_type(st, 13) != SQLITE_NULL)
		xml_time(&r->x, "endTime", sqlite3_column_int64(st, 13));
}

static void live_iotune(struct hostd *h, const char *vol);

int act_modify_volume(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	struct voltype_req q = { 0 };
	struct voltype cur, vt;
	const char *id, *code;
	char msg[256], file[4200];
	bool has_size, multi = false, resize;
	int64_t size = 0, op_id = 0, cur_size;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "VolumeId", &id)) < 0 || (ret = opt_int(r, "Size", &has_size, &size)) < 0 ||
	    (ret = opt_int(r, "Iops", &q.has_iops, &q.iops)) < 0 ||
	    (ret = opt_int(r, "Throughput", &q.has_throughput, &q.throughput)) < 0 ||
	    (ret = api_bool(r, "MultiAttachEnabled", false, &multi)) < 0)
		return ret;
	q.type = api_str(r, "VolumeType");
	if (!has_size && !q.type && !q.has_iops && !q.has_throughput && !api_str(r, "MultiAttachEnabled"))
		return api_err(r, 400, "MissingParameter",
			       "At least one of the parameters size, volumeType, iops, throughput or "
			       "multiAttachEnabled must be specified.");
	if (multi)
		return api_err(r, 400, "UnsupportedOperation", "Multi-attach is not supported by this host yet.");
	if ((ret = find_volume(r, id, &st)) < 0)
		goto out;
	effective(st, &cur);
	cur_size = sqlite3_column_int64(st, V_SIZE);
	if (!strcmp(store_text(st, V_STATE), "creating") || !strcmp(store_text(st, V_STATE), "error")) {
		ret = api_err(r, 400, "IncorrectState", "The volume '%s' is not available for modification (%s).", id,
			      store_text(st, V_STATE));
		goto out;
	}
	if (has_size && size < cur_size) {
		ret = api_err(r, 400, "InvalidParameterValue",
			      "New size cannot be smaller than existing size (requested %lld GiB, current %lld GiB).",
			      (long long)size, (long long)cur_size);
		goto out;
	}
	q.size_gib = has_size ? size : cur_size;
	if (!q.type)
		q.type = cur.type;
	/* Unchanged settings carry over when the type stays. */
	if (!strcmp(q.type, cur.type)) {
		if (!q.has_iops && cur.iops && (!strcmp(q.type, "gp3") || !strncmp(q.type, "io", 2))) {
			q.has_iops = true;
			q.iops = cur.iops;
		}
		if (!q.has_throughput && cur.throughput && !strcmp(q.type, "gp3")) {
			q.has_throughput = true;
			q.throughput = cur.throughput;
		}
	}
	if (voltype_resolve(&q, &vt, &code, msg, sizeof(msg)) < 0) {
		ret = api_err(r, 400, code, "%s", msg);
		goto out;
	}
	resize = q.size_gib > cur_size;
	if (!resize && !strcmp(vt.type, cur.type) && vt.iops == cur.iops && vt.throughput == cur.throughput) {
		ret = api_err(r, 400, "InvalidParameterValue",
			      "New settings are the same as the volume's current ones; nothing to modify.");
		goto out;
	}
	snprintf(file, sizeof(file), "%s", "");
	{
		sqlite3_stmt *f = store_stmt(s, "SELECT file FROM volumes WHERE id = ?1");

		if (!f || (sqlite3_bind_text(f, 1, id, -1, SQLITE_STATIC), sqlite3_step(f)) != SQLITE_ROW)
			goto internal;
		snprintf(file, sizeof(file), "%s", store_text(f, 0));
	}
	if (store_begin(s) < 0)
		goto internal;
	st = store_stmt(s, "INSERT OR REPLACE INTO volume_mods(volume_id, account_id, state, orig_size, target_size, "
			   "orig_type, target_type, orig_iops, target_iops, orig_throughput, target_throughput, "
			   "progress, start_ms, end_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
	if (!st)
		goto rollback;
	{
		int64_t now = now_ms();

		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, resize ? "modifying" : "completed", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, cur_size);
		sqlite3_bind_int64(st, 5, q.size_gib);
		sqlite3_bind_text(st, 6, cur.type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, vt.type, -1, SQLITE_STATIC);
		if (cur.iops)
			sqlite3_bind_int64(st, 8, cur.iops);
		if (vt.iops)
			sqlite3_bind_int64(st, 9, vt.iops);
		if (cur.throughput)
			sqlite3_bind_int64(st, 10, cur.throughput);
		if (vt.throughput)
			sqlite3_bind_int64(st, 11, vt.throughput);
		sqlite3_bind_int(st, 12, resize ? 0 : 100);
		sqlite3_bind_int64(st, 13, now);
		if (!resize)
			sqlite3_bind_int64(st, 14, now);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		goto rollback;
	st = store_stmt(s, "UPDATE volumes SET volume_type = ?2, iops = ?3, throughput = ?4 WHERE id = ?1");
	if (!st)
		goto rollback;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, vt.type, -1, SQLITE_STATIC);
	if (vt.iops)
		sqlite3_bind_int64(st, 3, vt.iops);
	if (vt.throughput)
		sqlite3_bind_int64(st, 4, vt.throughput);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto rollback;
	if (resize) {
		struct storage_op op = { .kind = "resize", .vol = id, .file = file, .size_bytes = q.size_gib * GIB };

		if (storage_intent(h, &op, &op_id) < 0)
			goto rollback;
	}
	if (store_commit(s) < 0)
		goto rollback;
	st = store_stmt(s, MOD_COLS "WHERE volume_id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
		goto internal;
	xml_open(&r->x, "volumeModification");
	write_mod(r, st);
	xml_close(&r->x);
	if (resize)
		storage_run(h, op_id);
	/* After the resize: gp2's IOPS follow the size. */
	live_iotune(h, id);
	return 0;
rollback:
	store_rollback(s);
internal:
	ret = api_err_internal(r);
out:
	return ret;
}

static const char *const mod_filters[] = {
	"modification-state", "original-iops", "original-size", "original-volume-type", "original-throughput",
	"start-time", "target-iops", "target-size", "target-volume-type", "target-throughput", "volume-id",
	"original-multi-attach-enabled", "target-multi-attach-enabled", NULL,
};

int act_describe_volumes_modifications(struct api_req *r)
{
	struct hostd *h = r->h;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "VolumeId", &ids, &nids)) < 0 || (ret = api_filters(r, mod_filters, false, &fs)) < 0 ||
	    (ret = api_page(r, 5, 500, &limit, &from)) < 0)
		goto out0;
	for (size_t i = 0; i < nids; i++) {
		if ((ret = find_volume(r, ids[i], &st)) < 0)
			goto out;
	}
	xml_open(&r->x, "volumeModificationSet");
	st = store_stmt(h->store, MOD_COLS "WHERE account_id = ?1 AND (?2 IS NULL OR volume_id >= ?2) ORDER BY volume_id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0);
		char start[25];

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			iso8601_ms(sqlite3_column_int64(st, 12), start);
			fbag_add(&bag, "volume-id", id);
			fbag_add(&bag, "modification-state", store_text(st, 1));
			fbag_add_int(&bag, "original-size", sqlite3_column_int64(st, 3));
			fbag_add_int(&bag, "target-size", sqlite3_column_int64(st, 4));
			fbag_add(&bag, "original-volume-type", store_text(st, 5));
			fbag_add(&bag, "target-volume-type", store_text(st, 6));
			fbag_add(&bag, "original-iops", store_text(st, 7));
			fbag_add(&bag, "target-iops", store_text(st, 8));
			fbag_add(&bag, "original-throughput", store_text(st, 9));
			fbag_add(&bag, "target-throughput", store_text(st, 10));
			fbag_add(&bag, "start-time", start);
			fbag_add_bool(&bag, "original-multi-attach-enabled", false);
			fbag_add_bool(&bag, "target-multi-attach-enabled", false);
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
		write_mod(r, st);
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
out0:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

static void write_attachment(struct api_req *r, const char *vol, const char *inst, const char *dev,
			     const char *status, int64_t ms)
{
	xml_time(&r->x, "attachTime", ms);
	xml_text(&r->x, "device", dev);
	xml_text(&r->x, "instanceId", inst);
	xml_text(&r->x, "status", status);
	xml_text(&r->x, "volumeId", vol);
	xml_bool(&r->x, "deleteOnTermination", false);
}

static int set_attachment(struct store *s, const char *vol, const char *inst, const char *dev, const char *state,
			  int64_t ms)
{
	sqlite3_stmt *st = store_stmt(s, "UPDATE volumes SET instance_id = ?2, device = ?3, attach_state = ?4, "
					 "attach_ms = ?5, delete_on_termination = 0, state = CASE WHEN ?2 IS NULL "
					 "THEN 'available' ELSE 'in-use' END WHERE id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, inst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	if (inst)
		sqlite3_bind_int64(st, 5, ms);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

/* The instance's VM is running (a hot-plug is needed). */
static bool vm_up(struct hostd *h, const char *inst)
{
	enum vmm_state vs;

	return h->vmm && vmm_state(h->vmm, inst, &vs) == 0 && (vs == VMM_RUNNING || vs == VMM_PAUSED);
}

/* The volume's type limits onto its disk in a running VM (ModifyVolume
 * changes them live; a VM started later gets them in its domain XML).
 * Caller holds h->lock. */
static void live_iotune(struct hostd *h, const char *vol)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT v.volume_type, v.size_gib, COALESCE(v.iops, 0), "
						"COALESCE(v.throughput, 0), v.instance_id, v.device, i.root_device_name "
						"FROM volumes v JOIN instances i ON i.id = v.instance_id WHERE v.id = ?1");
	struct voltype_iotune io;
	char inst[ID_MAX], target[8];
	int r;

	if (!st)
		return;
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return;
	}
	voltype_iotune(store_text(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		       sqlite3_column_int64(st, 3), &io);
	snprintf(inst, sizeof(inst), "%s", store_text(st, 4));
	snprintf(target, sizeof(target), "%s",
		 !strcmp(store_text(st, 5), store_text(st, 6)) ? "vda" : storage_disk_target(store_text(st, 5)));
	sqlite3_reset(st);
	if (!target[0] || !vm_up(h, inst))
		return;
	r = vmm_disk_set_iotune(h->vmm, inst, target, io.iops, io.bytes_sec);
	if (r < 0 && r != -ENOENT)
		log_warn("ebs", "%s: live I/O limits for %s not applied (at the next start)", vol, inst);
}

int act_attach_volume(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	const char *vol, *inst, *dev, *target;
	char file[4200], az[72], type[16], root[64];
	int64_t gib, iops, tp, now = now_ms();
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_need_str(r, "VolumeId", &vol)) < 0 || (ret = api_need_str(r, "InstanceId", &inst)) < 0 ||
	    (ret = api_need_str(r, "Device", &dev)) < 0)
		return ret;
	target = storage_disk_target(dev);
	if (!target[0])
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter device is invalid. %.64s is not a valid EBS device name.", dev,
			       dev);
	if (!id_valid("i", inst))
		return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", inst);
	if ((ret = find_volume(r, vol, &st)) < 0)
		return ret;
	if (sqlite3_column_bytes(st, V_INST))
		return api_err(r, 400, "VolumeInUse", "%s is already attached to an instance", vol);
	if (strcmp(store_text(st, V_STATE), "available"))
		return api_err(r, 400, "IncorrectState", "vol '%s' is not 'available'.", vol);
	snprintf(az, sizeof(az), "%s", store_text(st, V_AZ));
	snprintf(type, sizeof(type), "%s", store_text(st, V_TYPE));
	gib = sqlite3_column_int64(st, V_SIZE);
	iops = sqlite3_column_int64(st, V_IOPS);
	tp = sqlite3_column_int64(st, V_TP);
	st = store_stmt(s, "SELECT state, az, root_device_name FROM instances WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || !strcmp(store_text(st, 0), "terminated"))
		return rc == SQLITE_ROW || rc == SQLITE_DONE
			       ? api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%.64s' does not exist",
					 inst)
			       : api_err_internal(r);
	if (!strcmp(store_text(st, 0), "shutting-down") || !strcmp(store_text(st, 0), "stopping") ||
	    !strcmp(store_text(st, 0), "pending"))
		return api_err(r, 400, "IncorrectInstanceState",
			       "The instance '%s' is not in a state from which a volume can be attached (%s).", inst,
			       store_text(st, 0));
	if (strcmp(store_text(st, 1), az))
		return api_err(r, 400, "InvalidVolume.ZoneMismatch",
			       "The volume '%s' is not in the same availability zone as instance '%s'", vol, inst);
	snprintf(root, sizeof(root), "%s", store_text(st, 2));
	if (!strcmp(storage_disk_target(root), target) || !strcmp(root, dev))
		return api_err(r, 400, "InvalidParameterValue", "Attachment point %s is already in use", dev);
	st = store_stmt(s, "SELECT device FROM volumes WHERE instance_id = ?1 AND state != 'deleted'");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!strcmp(storage_disk_target(store_text(st, 0)), target)) {
			sqlite3_reset(st);
			return api_err(r, 400, "InvalidParameterValue", "Attachment point %s is already in use", dev);
		}
	st = store_stmt(s, "SELECT file FROM volumes WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW ||
	    state_path(h, store_text(st, 0), file, sizeof(file)) < 0)
		return api_err_internal(r);
	/* Recorded first: a VM never writes to a volume the state calls
	 * available. */
	if (set_attachment(s, vol, inst, dev, "attaching", now) < 0)
		return api_err_internal(r);
	storage_crash_point(h, "attach-recorded"); /* storage_start carries it through */
	if (vm_up(h, inst)) {
		struct voltype_iotune io;
		struct vmm_disk d = { .path = file, .target = target, .serial = vol };

		voltype_iotune(type, gib, iops, tp, &io);
		d.iops = io.iops;
		d.bytes_sec = io.bytes_sec;
		if (vmm_attach_disk(h->vmm, inst, &d) < 0) {
			set_attachment(s, vol, NULL, NULL, NULL, 0);
			return api_err(r, 500, "InternalError", "The volume could not be attached to the running instance.");
		}
	}
	/* A stopped instance gets the disk at its next start. */
	if (set_attachment(s, vol, inst, dev, "attached", now) < 0)
		return api_err_internal(r);
	(void)imdstree_refresh(h, inst); /* block-device-mapping/ebsN */
	write_attachment(r, vol, inst, dev, "attaching", now);
	return 0;
}

int act_detach_volume(struct api_req *r)
{
	struct hostd *h = r->h;
	struct store *s = h->store;
	const char *vol, *inst_p = api_str(r, "InstanceId"), *dev_p = api_str(r, "Device");
	char inst[ID_MAX], dev[64];
	bool force = false;
	int64_t ms;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "VolumeId", &vol)) < 0 || (ret = api_bool(r, "Force", false, &force)) < 0)
		return ret;
	if ((ret = find_volume(r, vol, &st)) < 0)
		return ret;
	if (!sqlite3_column_bytes(st, V_INST))
		return api_err(r, 400, "IncorrectState", "Volume '%s' is in the 'available' state.", vol);
	snprintf(inst, sizeof(inst), "%s", store_text(st, V_INST));
	snprintf(dev, sizeof(dev), "%s", store_text(st, V_DEV));
	ms = sqlite3_column_int64(st, V_ATTMS);
	if ((inst_p && strcmp(inst_p, inst)) || (dev_p && strcmp(dev_p, dev)))
		return api_err(r, 400, "InvalidAttachment.NotFound",
			       "Volume '%s' can not be detached from that instance or device.", vol);
	st = store_stmt(s, "SELECT root_device_name, state FROM instances WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
		return api_err_internal(r);
	if (!strcmp(store_text(st, 0), dev) && strcmp(store_text(st, 1), "stopped"))
		return api_err(r, 400, "IncorrectState",
			       "Unable to detach root volume '%s' from instance '%s' unless it is stopped", vol, inst);
	if (vm_up(h, inst)) {
		int e = vmm_detach_disk(h->vmm, inst, storage_disk_target(dev), force ? 2000 : 10000);

		if (e == -ETIMEDOUT && !force)
			return api_err(r, 400, "IncorrectState",
				       "The guest did not release volume '%s' (device %s); retry, use Force, or stop the "
				       "instance.", vol, dev);
		if (e < 0 && e != -ENOENT && e != -ENODEV && !(e == -ETIMEDOUT && force))
			return api_err_internal(r);
	}
	if (set_attachment(s, vol, NULL, NULL, NULL, 0) < 0)
		return api_err_internal(r);
	(void)imdstree_refresh(h, inst);
	write_attachment(r, vol, inst, dev, "detaching", ms);
	storage_kick(h); /* its chain may be merged now */
	return 0;
}

static int check_vol_attribute(struct api_req *r, const char **attr)
{
	int ret = api_need_str(r, "Attribute", attr);

	if (ret < 0)
		return ret;
	if (strcmp(*attr, "autoEnableIO") && strcmp(*attr, "productCodes"))
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Expected: 'autoEnableIO' or "
			       "'productCodes'.", *attr);
	return 0;
}

int act_describe_volume_attribute(struct api_req *r)
{
	const char *id, *attr;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "VolumeId", &id)) < 0 || (ret = check_vol_attribute(r, &attr)) < 0 ||
	    (ret = find_volume(r, id, &st)) < 0)
		return ret;
	xml_text(&r->x, "volumeId", id);
	if (!strcmp(attr, "productCodes")) {
		/* No marketplace here: a volume never carries product codes. */
		xml_open(&r->x, "productCodes");
		xml_close(&r->x);
		return 0;
	}
	st = store_stmt(r->h->store, "SELECT auto_enable_io FROM volumes WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
		return api_err_internal(r);
	xml_open(&r->x, "autoEnableIO");
	xml_bool(&r->x, "value", sqlite3_column_int(st, 0) != 0);
	xml_close(&r->x);
	return 0;
}

int act_modify_volume_attribute(struct api_req *r)
{
	const char *id;
	bool on;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "VolumeId", &id)) < 0)
		return ret;
	if (!api_str(r, "AutoEnableIO.Value"))
		return api_err_missing(r, "AutoEnableIO");
	if ((ret = api_bool(r, "AutoEnableIO.Value", false, &on)) < 0 || (ret = find_volume(r, id, &st)) < 0)
		return ret;
	st = store_stmt(r->h->store, "UPDATE volumes SET auto_enable_io = ?2 WHERE id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, on);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	xml_bool(&r->x, "return", true);
	return 0;
}

/* DescribeVolumeStatus: the one check hostd can really make is whether the
 * volume's chain opens and is free of corruption (qemu-img check): ok and
 * io-enabled passed, or impaired and io-enabled failed. I/O performance is
 * not measured, so it is not-applicable; no events are scheduled. */
struct volstat {
	char id[ID_MAX], az[72], file[256];
	bool creating;
	int check;      /* storage_check's answer */
};

static const char *const volstat_filters[] = {
	"action.code", "action.description", "action.event-id", "availability-zone", "event.description",
	"event.event-id", "event.event-type", "event.not-after", "event.not-before", "volume-status.details-name",
	"volume-status.details-status", "volume-status.status", NULL,
};

int act_describe_volume_status(struct api_req *r)
{
	struct hostd *h = r->h;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0, n = 0, cap = 0;
	struct volstat *v = NULL;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	bool more = false;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "VolumeId", &ids, &nids)) < 0 || (ret = api_filters(r, volstat_filters, false, &fs)) < 0 ||
	    (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++)
		if ((ret = find_volume(r, ids[i], &st)) < 0)
			goto out;
	st = store_stmt(h->store, "SELECT id, az, state, file FROM volumes WHERE account_id = ?1 AND state != 'deleted' "
				  "AND (?2 IS NULL OR id >= ?2) ORDER BY id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nids && !strv_contains(ids, nids, store_text(st, 0)))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].id, sizeof(v[n].id), "%s", store_text(st, 0));
		snprintf(v[n].az, sizeof(v[n].az), "%s", store_text(st, 1));
		v[n].creating = !strcmp(store_text(st, 2), "creating");
		if (snprintf(v[n].file, sizeof(v[n].file), "%s", store_text(st, 3)) >= (int)sizeof(v[n].file))
			v[n].creating = true; /* no name hostd made; nothing to check */
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = api_err_internal(r);
		goto out;
	}
	/* qemu-img runs without h->lock; the rows were copied. */
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		v[i].check = v[i].creating ? 0 : storage_check(h, v[i].file);
	pthread_mutex_lock(&h->lock);
	xml_open(&r->x, "volumeStatusSet");
	for (size_t i = 0; i < n; i++) {
		const char *status = "ok", *io = "passed";

		if (v[i].creating)
			status = io = "insufficient-data";
		else if (v[i].check == -EIO)
			status = "impaired", io = "failed";
		else if (v[i].check < 0)
			status = io = "insufficient-data";
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "availability-zone", v[i].az);
			fbag_add(&bag, "volume-status.status", status);
			fbag_add(&bag, "volume-status.details-name", "io-enabled");
			fbag_add(&bag, "volume-status.details-name", "io-performance");
			fbag_add(&bag, "volume-status.details-status", io);
			fbag_add(&bag, "volume-status.details-status", "not-applicable");
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			more = true;
			xml_close(&r->x);
			api_next_token(r, v[i].id);
			break;
		}
		xml_open(&r->x, "item");
		xml_text(&r->x, "volumeId", v[i].id);
		xml_text(&r->x, "availabilityZone", v[i].az);
		xml_open(&r->x, "volumeStatus");
		xml_text(&r->x, "status", status);
		xml_open(&r->x, "details");
		xml_open(&r->x, "item");
		xml_text(&r->x, "name", "io-enabled");
		xml_text(&r->x, "status", io);
		xml_close(&r->x);
		xml_open(&r->x, "item");
		xml_text(&r->x, "name", "io-performance");
		xml_text(&r->x, "status", "not-applicable");
		xml_close(&r->x);
		xml_close(&r->x);
		xml_close(&r->x);
		xml_open(&r->x, "eventsSet");
		xml_close(&r->x);
		xml_open(&r->x, "actionsSet");
		xml_close(&r->x);
		xml_close(&r->x);
		emitted++;
	}
	if (!more)
		xml_close(&r->x);
	ret = 0;
out:
	free(v);
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* ModifyInstanceAttribute BlockDeviceMapping.N: DeleteOnTermination of the
 * volumes mapped at DeviceName (root or data), all or nothing. The
 * instance exists (checked by the caller). */
int act_modify_instance_bdm(struct api_req *r, const char *inst)
{
	struct store *s = r->h->store;
	unsigned *idx = NULL;
	size_t n = 0;
	struct {
		char vol[ID_MAX];
		bool dot;
	} *set = NULL;
	sqlite3_stmt *st;
	int ret = 0, rc;

	if (query_indices(r->q, "BlockDeviceMapping", &idx, &n) < 0)
		return api_err_internal(r);
	set = xcalloc(n ? n : 1, sizeof(*set));
	for (size_t i = 0; i < n; i++) {
		char k[96];
		const char *dev, *vol;
		bool found = false;

		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", idx[i]);
		if (!(dev = api_str(r, k))) {
			ret = api_err_missing(r, k);
			goto out;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.NoDevice", idx[i]);
		if (api_str(r, k)) {
			ret = api_err(r, 400, "InvalidParameterCombination",
				      "Only DeleteOnTermination of a mapped EBS volume can be modified.");
			goto out;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.VirtualName", idx[i]);
		if (api_str(r, k)) {
			ret = api_err(r, 400, "InvalidParameterCombination",
				      "Only DeleteOnTermination of a mapped EBS volume can be modified.");
			goto out;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", idx[i]);
		if (!api_str(r, k)) {
			ret = api_err_missing(r, k);
			goto out;
		}
		if ((ret = api_bool(r, k, false, &set[i].dot)) < 0)
			goto out;
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeId", idx[i]);
		vol = api_str(r, k);
		st = store_stmt(s, "SELECT id, device FROM volumes WHERE instance_id = ?1 AND state != 'deleted'");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *d = store_text(st, 1), *t = storage_disk_target(dev);

			/* /dev/sdf and /dev/xvdf are the same disk */
			if (!strcmp(d, dev) || (t[0] && !strcmp(storage_disk_target(d), t))) {
				found = true;
				snprintf(set[i].vol, sizeof(set[i].vol), "%s", store_text(st, 0));
			}
		}
		sqlite3_reset(st);
		if (!found) {
			ret = api_err(r, 400, "InvalidInstanceAttributeValue", "No device is currently mapped at %.64s",
				      dev);
			goto out;
		}
		if (vol && strcmp(vol, set[i].vol)) {
			ret = api_err(r, 400, "InvalidInstanceAttributeValue",
				      "The volume %.64s is not the one mapped at %.64s (%s).", vol, dev, set[i].vol);
			goto out;
		}
	}
	if (!n) {
		ret = api_err_missing(r, "BlockDeviceMapping");
		goto out;
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		st = store_stmt(s, "UPDATE volumes SET delete_on_termination = ?2 WHERE id = ?1");
		if (!st || (sqlite3_bind_text(st, 1, set[i].vol, -1, SQLITE_STATIC), sqlite3_bind_int(st, 2, set[i].dot),
			    sqlite3_step(st)) != SQLITE_DONE) {
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
out:
	free(set);
	free(idx);
	return ret;
}

/* ---- data volumes mapped at launch (RunInstances BlockDeviceMapping) ---- */

#define LAUNCH_VOLS_MAX 15   /* with the root: the domain's 16 disks */

struct ebs_launch_vol {
	char dev[32], snap[ID_MAX], snapfile[4200];
	struct voltype vt;
	int64_t gib;
	bool dot;
};

struct ebs_launch {
	struct ebs_launch_vol v[LAUNCH_VOLS_MAX];
	size_t n;
	int64_t *ops;     /* the vol-create intents of every instance */
	size_t nops;
};

int ebs_launch_parse(struct api_req *r, unsigned idx, const char *dev, struct ebs_launch **lp)
{
	struct ebs_launch *l = *lp;
	struct ebs_launch_vol *v;
	struct voltype_req q = { 0 };
	const char *target = storage_disk_target(dev), *code, *snap;
	char k[96], msg[256];
	bool has_size, enc = false;
	int ret;

	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.NoDevice", idx);
	if (api_str(r, k))
		return 0; /* suppresses a mapping of the AMI's; these AMIs map only the root */
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.VirtualName", idx);
	if (api_str(r, k))
		return api_err(r, 400, "UnsupportedOperation",
			       "Instance store volumes (%.32s) are not supported by this host.", api_str(r, k));
	if (!target[0])
		return api_err(r, 400, "InvalidBlockDeviceMapping",
			       "Invalid device name %.64s (expecting /dev/sd[b-z] or /dev/xvd[b-z]).", dev);
	if (!l)
		l = *lp = xcalloc(1, sizeof(*l));
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(storage_disk_target(l->v[i].dev), target))
			return api_err(r, 400, "InvalidBlockDeviceMapping",
				       "The device '%.64s' is used in more than one block-device mapping", dev);
	if (l->n == LAUNCH_VOLS_MAX)
		return api_err(r, 400, "InvalidBlockDeviceMapping", "At most %d data volumes can be mapped at launch.",
			       LAUNCH_VOLS_MAX);
	v = &l->v[l->n];
	memset(v, 0, sizeof(*v));
	snprintf(v->dev, sizeof(v->dev), "%s", dev);
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.Encrypted", idx);
	if ((ret = api_bool(r, k, false, &enc)) < 0)
		return ret;
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.KmsKeyId", idx);
	if (enc || api_str(r, k))
		return api_err(r, 400, "UnsupportedOperation", "Encrypted volumes are not supported by this host yet.");
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", idx);
	if ((ret = api_bool(r, k, true, &v->dot)) < 0) /* true for launch-time volumes, as on EC2 */
		return ret;
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeSize", idx);
	if ((ret = opt_int(r, k, &has_size, &q.size_gib)) < 0)
		return ret;
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.Iops", idx);
	if ((ret = opt_int(r, k, &q.has_iops, &q.iops)) < 0)
		return ret;
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.Throughput", idx);
	if ((ret = opt_int(r, k, &q.has_throughput, &q.throughput)) < 0)
		return ret;
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeType", idx);
	q.type = api_str(r, k);
	snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.SnapshotId", idx);
	snap = api_str(r, k);
	if (!has_size && !snap)
		return api_err(r, 400, "InvalidBlockDeviceMapping",
			       "The block-device mapping %.64s must contain a volume size or a snapshot id.", dev);
	if (snap) {
		sqlite3_stmt *st;
		int64_t sgib;

		if (!id_valid("snap", snap))
			return api_err(r, 400, "InvalidSnapshotID.Malformed", "Invalid id: \"%.64s\" (expecting \"snap-...\")",
				       snap);
		st = store_stmt(r->h->store, "SELECT size_gib, state, file FROM snapshots WHERE id = ?1 AND "
					     "(account_id = ?2 OR EXISTS (SELECT 1 FROM snapshot_perms p WHERE "
					     "p.snapshot_id = snapshots.id AND p.grantee IN (?2, 'all')))");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			return api_err(r, 400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", snap);
		}
		sgib = sqlite3_column_int64(st, 0);
		if (strcmp(store_text(st, 1), "completed")) {
			ret = api_err(r, 400, "IncorrectState", "Snapshot '%s' is not completed (%s).", snap,
				      store_text(st, 1));
			sqlite3_reset(st);
			return ret;
		}
		snprintf(v->snapfile, sizeof(v->snapfile), "%s", store_text(st, 2));
		sqlite3_reset(st);
		snprintf(v->snap, sizeof(v->snap), "%s", snap);
		if (!has_size)
			q.size_gib = sgib;
		else if (q.size_gib < sgib)
			return api_err(r, 400, "InvalidBlockDeviceMapping",
				       "Volume of size %lldGB is smaller than snapshot '%s', expect size >= %lldGB",
				       (long long)q.size_gib, snap, (long long)sgib);
	}
	if (voltype_resolve(&q, &v->vt, &code, msg, sizeof(msg)) < 0)
		return api_err(r, 400, code, "%s (device %.64s)", msg, dev);
	v->gib = q.size_gib;
	l->n++;
	return 0;
}

int ebs_launch_insert(struct api_req *r, struct ebs_launch *l, const char *inst, int64_t now,
		      const struct tag_list *vtags)
{
	struct hostd *h = r->h;
	struct store *s = h->store;

	for (size_t i = 0; l && i < l->n; i++) {
		const struct ebs_launch_vol *v = &l->v[i];
		char id[ID_MAX], file[256];
		int64_t op_id;
		sqlite3_stmt *st;

		if (id_new("vol", id) < 0 || storage_new_layer("layer", file, sizeof(file)) < 0)
			return -EIO;
		st = store_stmt(s, "INSERT INTO volumes(id, account_id, size_gib, volume_type, iops, throughput, "
				   "snapshot_id, az, state, file, created_ms, instance_id, device, attach_state, attach_ms, "
				   "delete_on_termination) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'creating', ?9, ?10, "
				   "?11, ?12, 'attaching', ?10, ?13)");
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, v->gib);
		sqlite3_bind_text(st, 4, v->vt.type, -1, SQLITE_STATIC);
		if (v->vt.iops)
			sqlite3_bind_int64(st, 5, v->vt.iops);
		if (v->vt.throughput)
			sqlite3_bind_int64(st, 6, v->vt.throughput);
		if (v->snap[0])
			sqlite3_bind_text(st, 7, v->snap, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, h->cfg->availability_zone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, now);
		sqlite3_bind_text(st, 11, inst, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, v->dev, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 13, v->dot);
		if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "volume", vtags) < 0)
			return -EIO;
		{
			struct storage_op op = { .kind = "vol-create", .vol = id, .file = file,
						 .backing = v->snap[0] ? v->snapfile : NULL, .size_bytes = v->gib * GIB };

			if (storage_intent(h, &op, &op_id) < 0)
				return -EIO;
		}
		l->ops = realloc(l->ops, (l->nops + 1) * sizeof(*l->ops));
		if (!l->ops)
			abort();
		l->ops[l->nops++] = op_id;
	}
	return 0;
}

void ebs_launch_run(struct api_req *r, struct ebs_launch *l)
{
	/* The reconciler launches the instance once none of its data volumes
	 * is creating any more (instances.c). */
	for (size_t i = 0; l && i < l->nops; i++)
		storage_run(r->h, l->ops[i]);
}

void ebs_launch_free(struct ebs_launch *l)
{
	if (l)
		free(l->ops);
	free(l);
}
