/* images_for_launch: what RunInstances reads about an AMI. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd/hostd.h"
#include "hostd/instances.h"
#include "hostd/store.h"
#include "images/registry.h"

int images_for_launch(struct hostd *h, const char *account_id, const char *image_id, struct image_launch *out)
{
	sqlite3_stmt *st = store_stmt(h->store,
				      "SELECT i.state, COALESCE(i.root_snapshot_id, ''), i.root_device_name, "
				      "COALESCE(s.file, ''), i.root_size_gib, i.root_volume_type, "
				      "i.root_delete_on_termination, COALESCE(i.imds_support, ''), COALESCE(s.state, '') "
				      "FROM images i LEFT JOIN snapshots s ON s.id = i.root_snapshot_id "
				      "WHERE i.id = ?1 AND i.account_id = ?2");
	const char *state;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	memset(out, 0, sizeof(*out));
	state = (const char *)sqlite3_column_text(st, 0);
	if (!strcmp(state, "deregistered") || !strcmp(state, "failed"))
		return -ENOENT;
	if (strcmp(state, "available") || strcmp((const char *)sqlite3_column_text(st, 8), "completed"))
		return -EAGAIN;
	snprintf(out->id, sizeof(out->id), "%s", image_id);
	snprintf(out->snapshot_id, sizeof(out->snapshot_id), "%s", sqlite3_column_text(st, 1));
	snprintf(out->root_device_name, sizeof(out->root_device_name), "%s", sqlite3_column_text(st, 2));
	if (state_path(h, (const char *)sqlite3_column_text(st, 3), out->base_file, sizeof(out->base_file)) < 0)
		return -ENAMETOOLONG;
	out->root_size_gib = sqlite3_column_int64(st, 4);
	snprintf(out->root_volume_type, sizeof(out->root_volume_type), "%s", sqlite3_column_text(st, 5));
	out->root_delete_on_termination = sqlite3_column_int(st, 6) != 0;
	snprintf(out->imds_support, sizeof(out->imds_support), "%s", sqlite3_column_text(st, 7));
	return 0;
}
