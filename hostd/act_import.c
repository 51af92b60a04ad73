/* ImportImage, DescribeImportImageTasks, CancelImportTask. The disk comes
 * from a file on the host (DiskContainer.1.Url=file:///path, our stand-in
 * for EC2's S3 URLs); the conversion runs in images/registry.c's worker,
 * so ImportImage answers at once with an active task. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "images/params.h"
#include "images/qimg.h"
#include "images/registry.h"
#include "lib/ids.h"
#include "lib/util.h"

/* EC2 lists finished tasks for 7 days. */
#define TASK_VISIBLE_MS (7LL * 24 * 3600 * 1000)

static void upper(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++)
		out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	out[i] = '\0';
}

/* One ImportImageTask (or ImportImageResult) from a row whose columns are
 * id, description, source, format, status, status_message, progress,
 * image_id, snapshot_id, size_bytes, the AMI's boot_mode. */
static int write_task(struct api_req *r, sqlite3_stmt *st, bool describe)
{
	const char *id = store_text(st, 0), *desc = store_text(st, 1), *status = store_text(st, 4), *msg = store_text(st, 5);
	bool done = !strcmp(status, "completed");
	bool running = !strcmp(status, "active") || !strcmp(status, "deleting");
	char fmt[16], url[PATH_MAX * 3 + 16];

	xml_text(&r->x, "importTaskId", id);
	if (desc[0])
		xml_text(&r->x, "description", desc);
	xml_text(&r->x, "status", status);
	if (msg[0])
		xml_text(&r->x, "statusMessage", msg);
	if (running) {
		char pct[8];

		snprintf(pct, sizeof(pct), "%d", sqlite3_column_int(st, 6));
		xml_text(&r->x, "progress", pct);
	}
	xml_bool(&r->x, "encrypted", false);
	if (done) {
		xml_text(&r->x, "architecture", "x86_64");
		xml_text(&r->x, "imageId", store_text(st, 7));
		xml_text(&r->x, "licenseType", "BYOL");
		xml_text(&r->x, "platform", "Linux");
		xml_text(&r->x, "usageOperation", "RunInstances");
	}
	if (describe && store_text(st, 10)[0])
		xml_text(&r->x, "bootMode", store_text(st, 10));
	xml_open(&r->x, "snapshotDetailSet");
	xml_open(&r->x, "item");
	if (done) {
		xml_text(&r->x, "deviceName", IMAGES_IMPORT_ROOT_DEVICE);
		xml_text(&r->x, "snapshotId", store_text(st, 8));
	}
	xml_double(&r->x, "diskImageSize", (double)sqlite3_column_int64(st, 9));
	if (store_text(st, 3)[0]) {
		upper(store_text(st, 3), fmt, sizeof(fmt));
		xml_text(&r->x, "format", fmt);
	}
	xml_text(&r->x, "status", done ? "completed" : running ? "active" : "deleted");
	if (file_url_from_path(store_text(st, 2), url, sizeof(url)) == 0)
		xml_text(&r->x, "url", url);
	xml_close(&r->x);
	xml_close(&r->x);
	return tags_write(r->h->store, &r->x, r->account_id, id) < 0 ? -EIO : 0;
}

/* The disk to import: DiskContainer.1 with a file:// Url and an optional
 * Format (lowercased into fmt, "" to detect). */
static int disk_container(struct api_req *r, char *path, size_t pathlen, char *fmt, size_t fmtlen)
{
	unsigned *idx = NULL;
	size_t n = 0;
	char name[96], pfx[48];
	const char *url, *format;
	int ret = 0, e;

	if (query_indices(r->q, "DiskContainer", &idx, &n) < 0)
		return api_err_internal(r);
	if (n == 0) {
		ret = api_err_missing(r, "DiskContainer.1.Url");
		goto out;
	}
	if (n > 1) {
		ret = api_err(r, 400, "UnsupportedOperation",
			      "This host imports one disk per image; give a single DiskContainer.");
		goto out;
	}
	snprintf(pfx, sizeof(pfx), "DiskContainer.%u", idx[0]);
	snprintf(name, sizeof(name), "%s.UserBucket.S3Bucket", pfx);
	if (api_str(r, name) || (snprintf(name, sizeof(name), "%s.UserBucket.S3Key", pfx), api_str(r, name))) {
		ret = api_err(r, 400, "UnsupportedOperation",
			      "This host has no S3: import a file on the host with %s.Url=file:///path/to/disk.", pfx);
		goto out;
	}
	snprintf(name, sizeof(name), "%s.SnapshotId", pfx);
	if (api_str(r, name)) {
		ret = api_err(r, 400, "UnsupportedOperation",
			      "Importing from a snapshot is not supported; register it with RegisterImage.");
		goto out;
	}
	snprintf(name, sizeof(name), "%s.Url", pfx);
	if ((ret = api_need_str(r, name, &url)) < 0)
		goto out;
	e = file_url_path(url, path, pathlen);
	if (e == -EPROTONOSUPPORT) {
		ret = api_err(r, 400, "UnsupportedOperation",
			      "Only file:// URLs of files on this host can be imported (%s=file:///path/to/disk), "
			      "not %.64s", name, url);
		goto out;
	}
	if (e < 0) {
		ret = api_err_value(r, name, url, "Expected a file URL with an absolute path: file:///path/to/disk.");
		goto out;
	}
	snprintf(name, sizeof(name), "%s.Format", pfx);
	format = api_str(r, name);
	fmt[0] = '\0';
	if (format && *format) {
		char low[16];
		size_t i = 0;

		for (; format[i] && i + 1 < sizeof(low); i++)
			low[i] = (char)(format[i] >= 'A' && format[i] <= 'Z' ? format[i] + 32 : format[i]);
		low[i] = '\0';
		if (!strcmp(low, "ova")) {
			ret = api_err(r, 400, "UnsupportedOperation",
				      "OVA archives are not supported; import the disk image (VMDK) inside it.");
			goto out;
		}
		if (format[i] || !qimg_driver(low)) {
			ret = api_err_value(r, name, format, "Valid values: VMDK | RAW | VHD | VHDX | QCOW2.");
			goto out;
		}
		snprintf(fmt, fmtlen, "%s", low);
	}
out:
	free(idx);
	return ret;
}

/* The other ImportImage parameters this host acts on or accepts. */
static int check_options(struct api_req *r)
{
	const char *v, *token = api_str(r, "ClientToken");
	bool encrypted;

	if (api_bool(r, "Encrypted", false, &encrypted) < 0)
		return -1;
	if (encrypted || api_str(r, "KmsKeyId"))
		return api_err(r, 400, "UnsupportedOperation", "Encrypted imports are not supported by this host.");
	if ((v = api_str(r, "Architecture")) && strcmp(v, "x86_64"))
		return api_err_value(r, "Architecture", v, "This host imports x86_64 images only.");
	if ((v = api_str(r, "BootMode")) && strcmp(v, "legacy-bios") && strcmp(v, "uefi") &&
	    strcmp(v, "uefi-preferred"))
		return api_err_value(r, "BootMode", v, "Valid values: legacy-bios | uefi | uefi-preferred.");
	if ((v = api_str(r, "Platform"))) {
		if (!strcasecmp(v, "Windows"))
			return api_err(r, 400, "UnsupportedOperation", "This host imports Linux images only.");
		if (strcasecmp(v, "Linux"))
			return api_err_value(r, "Platform", v, "Valid values: Linux | Windows.");
	}
	if ((v = api_str(r, "LicenseType")) && strcasecmp(v, "AWS") && strcasecmp(v, "BYOL"))
		return api_err_value(r, "LicenseType", v, "Valid values: AWS | BYOL.");
	if ((v = api_str(r, "Hypervisor")) && strcmp(v, "xen"))
		return api_err_value(r, "Hypervisor", v, "Valid values: xen.");
	if ((v = api_str(r, "Description")) && utf8_len(v, strlen(v)) > 255)
		return api_err_value(r, "Description", v, "Length exceeds maximum of 255 characters.");
	if (token) {
		size_t n = strlen(token);

		if (n == 0 || n > 64)
			return api_err_value(r, "ClientToken", token, "Length must be between 1 and 64 characters.");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
				return api_err_value(r, "ClientToken", token, "Only printable ASCII is allowed.");
	}
	return 0;
}

/* The task an earlier ImportImage with the same ClientToken made: 1 (and
 * the response written), 0 none, or an error. */
static int replay(struct api_req *r, const char *id, const char *path, const char *fmt, const char *desc)
{
	static const char sql[] = "SELECT t.id, t.description, t.source, t.format, t.status, t.status_message, "
		"t.progress, COALESCE(t.image_id, ''), COALESCE(t.snapshot_id, ''), COALESCE(t.size_bytes, 0), "
		"COALESCE(i.boot_mode, ''), t.account_id FROM import_tasks t LEFT JOIN images i ON i.id = t.image_id "
		"WHERE t.id = ?";
	sqlite3_stmt *st = store_stmt(r->h->store, sql);
	int rc;

	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW || strcmp(store_text(st, 11), r->account_id))
		return api_err_internal(r);
	/* The format is detected later, so only a given one is compared. */
	if (strcmp(store_text(st, 2), path) || strcmp(store_text(st, 1), desc) || (fmt[0] && strcmp(store_text(st, 3), fmt)))
		return api_err(r, 400, "IdempotentParameterMismatch",
			       "The client token you have provided is associated with a task that has different "
			       "parameters (%s).", id);
	return write_task(r, st, false) < 0 ? api_err_internal(r) : 1;
}

int act_import_image(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *desc = api_str(r, "Description"), *boot = api_str(r, "BootMode");
	const char *token = api_str(r, "ClientToken"), *v;
	struct tag_list tags = { 0 };
	char path[PATH_MAX], fmt[16], id[ID_MAX], snap[ID_MAX], ami[ID_MAX];
	sqlite3_stmt *st;
	int64_t now = now_ms();
	int ret;

	if (!desc)
		desc = "";
	if ((ret = disk_container(r, path, sizeof(path), fmt, sizeof(fmt))) < 0 || (ret = check_options(r)) < 0)
		return ret;
	ret = tags_from_specs(r, "import-image-task", &tags);
	if (ret < 0)
		return ret;
	if (token) {
		images_token_task_id(r->account_id, token, id);
		ret = replay(r, id, path, fmt, desc);
		if (ret != 0)
			goto out;
	} else if (id_new("import-ami", id) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (id_new("snap", snap) < 0 || id_new("ami", ami) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	/* The AMI exists from now on, hidden until the task completes: it holds
	 * what only this request knows (BootMode). Imports are named after
	 * their task, as EC2 names them. */
	st = store_stmt(s, "INSERT INTO images(id, account_id, name, description, state, architecture, "
			   "root_device_name, root_size_gib, boot_mode, created_ms) "
			   "VALUES (?, ?, ?, ?, 'pending', 'x86_64', '" IMAGES_IMPORT_ROOT_DEVICE "', 0, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, ami, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, desc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, boot ? boot : "legacy-bios", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	st = store_stmt(s, "INSERT INTO import_tasks(id, account_id, description, source, format, status, "
			   "status_message, progress, image_id, snapshot_id, created_ms) "
			   "VALUES (?, ?, ?, ?, ?, 'active', 'pending', 2, ?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, desc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, fmt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ami, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, snap, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "import-image-task", &tags) < 0 ||
	    store_commit(s) < 0)
		goto internal;
	images_wake(r->h);

	/* As EC2 answers: the request echoed, the task pending. */
	xml_text(&r->x, "importTaskId", id);
	if (desc[0])
		xml_text(&r->x, "description", desc);
	xml_text(&r->x, "progress", "2");
	xml_text(&r->x, "status", "active");
	xml_text(&r->x, "statusMessage", "pending");
	xml_bool(&r->x, "encrypted", false);
	if ((v = api_str(r, "Architecture")))
		xml_text(&r->x, "architecture", v);
	if ((v = api_str(r, "Platform")))
		xml_text(&r->x, "platform", v);
	if ((v = api_str(r, "LicenseType")))
		xml_text(&r->x, "licenseType", v);
	if ((v = api_str(r, "Hypervisor")))
		xml_text(&r->x, "hypervisor", v);
	xml_open(&r->x, "snapshotDetailSet");
	xml_open(&r->x, "item");
	xml_double(&r->x, "diskImageSize", 0);
	if (fmt[0]) {
		char up[16];

		upper(fmt, up, sizeof(up));
		xml_text(&r->x, "format", up);
	}
	{
		char url[PATH_MAX * 3 + 16];

		if (file_url_from_path(path, url, sizeof(url)) == 0)
			xml_text(&r->x, "url", url);
	}
	xml_close(&r->x);
	xml_close(&r->x);
	ret = tags_write(s, &r->x, r->account_id, id) < 0 ? api_err_internal(r) : 0;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret > 0 ? 0 : ret;
}

static const char *const task_filters[] = { "task-state", NULL };

int act_describe_import_image_tasks(struct api_req *r)
{
	static const char sql[] =
		"SELECT t.id, t.description, t.source, t.format, t.status, t.status_message, t.progress, "
		"COALESCE(t.image_id, ''), COALESCE(t.snapshot_id, ''), COALESCE(t.size_bytes, 0), "
		"COALESCE(i.boot_mode, '') FROM import_tasks t LEFT JOIN images i ON i.id = t.image_id "
		"WHERE t.account_id = ?1 AND (?2 IS NULL OR t.id >= ?2) "
		"AND (t.status IN ('active', 'deleting') OR t.created_ms >= ?3) ORDER BY t.id";
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "ImportTaskId", &ids, &nids)) < 0 ||
	    (ret = api_filters_at(r, "Filters", task_filters, false, &fs)) < 0 ||
	    (ret = api_page(r, 1, 1000, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++)
		if (!id_valid("import-ami", ids[i])) {
			ret = api_err(r, 400, "InvalidConversionTaskId.Malformed",
				      "The import task ID '%.64s' is malformed", ids[i]);
			goto out;
		}
	/* Named tasks must all exist. */
	for (size_t i = 0; i < nids; i++) {
		st = store_stmt(s, "SELECT 1 FROM import_tasks WHERE id = ? AND account_id = ? "
				   "AND (status IN ('active', 'deleting') OR created_ms >= ?)");
		if (!st) {
			ret = api_err_internal(r);
			goto out;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms() - TASK_VISIBLE_MS);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			ret = api_err(r, 400, "InvalidConversionTaskId", "The import task ID '%s' does not exist",
				      ids[i]);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	st = store_stmt(s, sql);
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms() - TASK_VISIBLE_MS);
	xml_open(&r->x, "importImageTaskSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, 0);

		if (nids && !strv_contains(ids, nids, id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			fbag_add(&bag, "task-state", store_text(st, 4));
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			xml_close(&r->x);
			api_next_token(r, id);
			goto done;
		}
		xml_open(&r->x, "item");
		if (write_task(r, st, true) < 0) {
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
done:
	ret = 0;
out:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

int act_cancel_import_task(struct api_req *r)
{
	const char *id, *reason = api_str(r, "CancelReason");
	char state[16] = "";
	int ret;

	if ((ret = api_need_str(r, "ImportTaskId", &id)) < 0)
		return ret;
	if (!id_valid("import-ami", id))
		return api_err(r, 400, "InvalidConversionTaskId.Malformed", "The import task ID '%.64s' is malformed",
			       id);
	if (reason && utf8_len(reason, strlen(reason)) > 255)
		return api_err_value(r, "CancelReason", reason, "Length exceeds maximum of 255 characters.");
	ret = images_cancel(r->h, r->account_id, id, reason && *reason ? reason : "Cancelled by the user", state,
			    sizeof(state));
	if (ret == -ENOENT)
		return api_err(r, 400, "InvalidConversionTaskId", "The import task ID '%s' does not exist", id);
	if (ret == -EALREADY)
		return api_err(r, 400, "IncorrectState",
			       "The import task '%s' is %s; only active tasks can be cancelled.", id, state);
	if (ret < 0)
		return api_err_internal(r);
	xml_text(&r->x, "importTaskId", id);
	xml_text(&r->x, "previousState", "active");
	xml_text(&r->x, "state", "deleting");
	return 0;
}
