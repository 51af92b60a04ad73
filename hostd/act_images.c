/* RegisterImage, DescribeImages, DeregisterImage, DescribeImageAttribute.
 * An AMI here is EBS-backed, hvm, x86_64, with one block device mapping:
 * its root volume, made from a completed snapshot of the account's. AMIs
 * are private: no launch permissions, no public images. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/hostd.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "images/params.h"
#include "images/registry.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "storage/storage.h"

/* The largest gp2/gp3 volume, GiB. */
#define MAX_VOLUME_GIB 16384

static int malformed_ami(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidAMIID.Malformed", "Invalid id: \"%.64s\" (expecting \"ami-...\")", id);
}

static int ami_not_found(struct api_req *r, const char *id)
{
	return api_err(r, 400, "InvalidAMIID.NotFound", "The image id '[%.64s]' does not exist", id);
}

/* 1 when the account has this AMI (visible, not deregistered), 0 when not. */
static int ami_exists(struct api_req *r, const char *id)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT 1 FROM images WHERE id = ? AND account_id = ? AND "
						   "state != 'deregistered' AND " IMAGES_VISIBLE_SQL);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

/* ImageId: present, well-formed, the account's. */
static int need_own_ami(struct api_req *r, const char **id)
{
	int e;

	if (api_need_str(r, "ImageId", id) < 0)
		return -1;
	if (!id_valid("ami", *id))
		return malformed_ami(r, *id);
	e = ami_exists(r, *id);
	if (e < 0)
		return api_err_internal(r);
	return e ? 0 : ami_not_found(r, *id);
}

/* ---- RegisterImage ---- */

struct mapping {
	const char *device;
	const char *snapshot;
	int64_t size_gib;          /* 0: the snapshot's */
	const char *type;
	bool delete_on_termination;
};

/* BlockDeviceMapping.N into m (one entry per index) and the root. */
static int parse_mappings(struct api_req *r, const char *root_given, struct mapping *root, const char **root_name)
{
	unsigned *idx = NULL;
	size_t n = 0;
	int ret = 0, hit = -1;

	if (query_indices(r->q, "BlockDeviceMapping", &idx, &n) < 0)
		return api_err_internal(r);
	if (n == 0) {
		ret = api_err(r, 400, "MissingParameter",
			      "The request must contain BlockDeviceMapping.1.Ebs.SnapshotId (the root volume's snapshot).");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char k[96];
		const char *dev;

		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", idx[i]);
		if ((ret = api_need_str(r, k, &dev)) < 0)
			goto out;
		if (!device_name_valid(dev)) {
			ret = api_err_value(r, k, dev, "Expected a device name such as /dev/sda1 or /dev/xvda.");
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			char kj[96];

			snprintf(kj, sizeof(kj), "BlockDeviceMapping.%u.DeviceName", idx[j]);
			if (!strcmp(api_str(r, kj), dev)) {
				ret = api_err(r, 400, "InvalidBlockDeviceMapping",
					      "The device name %.32s is used more than once.", dev);
				goto out;
			}
		}
	}
	/* Without RootDeviceName a single mapping is the root (EC2 would
	 * assume /dev/sda1). */
	if (!root_given) {
		char k[96];

		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", idx[0]);
		root_given = n == 1 ? api_str(r, k) : "/dev/sda1";
	} else if (!device_name_valid(root_given)) {
		ret = api_err_value(r, "RootDeviceName", root_given, "Expected a device name such as /dev/sda1.");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char k[96];

		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", idx[i]);
		if (!strcmp(api_str(r, k), root_given))
			hit = (int)i;
	}
	if (hit < 0) {
		ret = api_err(r, 400, "InvalidBlockDeviceMapping",
			      "The root device name %.32s has no block device mapping.", root_given);
		goto out;
	}
	if (n > 1) {
		ret = api_err(r, 400, "UnsupportedOperation",
			      "This host registers AMIs with one block device mapping, the root volume's.");
		goto out;
	}
	{
		unsigned x = idx[hit];
		char k[96];
		const char *v;
		bool enc;

		memset(root, 0, sizeof(*root));
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", x);
		root->device = api_str(r, k);
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.SnapshotId", x);
		if ((ret = api_need_str(r, k, &root->snapshot)) < 0)
			goto out;
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeSize", x);
		if ((ret = api_int(r, k, 0, 1, MAX_VOLUME_GIB, &root->size_gib)) < 0)
			goto out;
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", x);
		if ((ret = api_bool(r, k, true, &root->delete_on_termination)) < 0)
			goto out;
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.Encrypted", x);
		if ((ret = api_bool(r, k, false, &enc)) < 0)
			goto out;
		if (enc) {
			ret = api_err(r, 400, "UnsupportedOperation", "Encrypted volumes are not supported by this host.");
			goto out;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeType", x);
		v = api_str(r, k);
		root->type = v ? v : "gp3";
		if (!strcmp(root->type, "io1") || !strcmp(root->type, "io2")) {
			ret = api_err(r, 400, "UnsupportedOperation",
				      "Provisioned-IOPS volume types (io1, io2) are not supported for AMIs on this host.");
			goto out;
		}
		if (!strcmp(root->type, "st1") || !strcmp(root->type, "sc1")) {
			ret = api_err(r, 400, "InvalidBlockDeviceMapping",
				      "%s volumes cannot be root volumes.", root->type);
			goto out;
		}
		if (strcmp(root->type, "gp3") && strcmp(root->type, "gp2") && strcmp(root->type, "standard")) {
			ret = api_err_value(r, k, root->type, "Valid values: standard | gp2 | gp3 | io1 | io2 | st1 | sc1.");
			goto out;
		}
	}
	*root_name = root_given;
out:
	free(idx);
	return ret;
}

/* The root snapshot: the account's and completed; fills its size. */
static int check_snapshot(struct api_req *r, const char *snap, int64_t *size_gib)
{
	sqlite3_stmt *st;
	int rc;

	if (!id_valid("snap", snap))
		return api_err(r, 400, "InvalidSnapshotID.Malformed", "Invalid id: \"%.64s\" (expecting \"snap-...\")",
			       snap);
	st = store_stmt(r->h->store, "SELECT size_gib, state FROM snapshots WHERE id = ? AND account_id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return api_err(r, 400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", snap);
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	if (strcmp(store_text(st, 1), "completed"))
		return api_err(r, 400, "IncorrectState", "Snapshot '%s' is not completed (%s).", snap, store_text(st, 1));
	*size_gib = sqlite3_column_int64(st, 0);
	return 0;
}

static int check_register_options(struct api_req *r, const char **arch)
{
	static const char *const arches[] = { "i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac" };
	const char *v;

	if (api_str(r, "ImageLocation"))
		return api_err(r, 400, "UnsupportedOperation",
			       "Instance-store AMIs (ImageLocation, S3 bundles) are not supported; register an EBS "
			       "snapshot with BlockDeviceMapping.");
	if ((v = api_str(r, "Description")) && utf8_len(v, strlen(v)) > 255)
		return api_err_value(r, "Description", v, "Length exceeds maximum of 255 characters.");
	/* EC2 defaults to i386; this host runs x86_64 guests only. */
	*arch = api_str(r, "Architecture");
	if (!*arch)
		*arch = "x86_64";
	if (!strv_contains(arches, ARRAY_SIZE(arches), *arch))
		return api_err_value(r, "Architecture", *arch, "Valid values: i386 | x86_64 | arm64 | x86_64_mac | arm64_mac.");
	if (strcmp(*arch, "x86_64"))
		return api_err_value(r, "Architecture", *arch, "This host runs x86_64 AMIs only.");
	if ((v = api_str(r, "VirtualizationType")) && strcmp(v, "hvm"))
		return api_err_value(r, "VirtualizationType", v,
				     !strcmp(v, "paravirtual") ? "This host runs hvm AMIs only." : "Valid values: hvm.");
	if ((v = api_str(r, "BootMode")) && strcmp(v, "legacy-bios") && strcmp(v, "uefi") &&
	    strcmp(v, "uefi-preferred"))
		return api_err_value(r, "BootMode", v, "Valid values: legacy-bios | uefi | uefi-preferred.");
	if ((v = api_str(r, "ImdsSupport")) && strcmp(v, "v2.0"))
		return api_err_value(r, "ImdsSupport", v, "Valid values: v2.0.");
	return 0;
}

int act_register_image(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *name, *arch = "x86_64", *root_name = NULL, *v;
	struct mapping root;
	struct tag_list tags = { 0 };
	char id[ID_MAX];
	int64_t snap_gib = 0;
	bool ena;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = check_register_options(r, &arch)) < 0 || (ret = api_need_str(r, "Name", &name)) < 0)
		return ret;
	if (!ami_name_valid(name))
		return api_err(r, 400, "InvalidAMIName.Malformed",
			       "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, "
			       "spaces, '(', ')', '[', ']', '.', '/', '-', ''', '@' and '_'");
	if ((ret = api_bool(r, "EnaSupport", true, &ena)) < 0 ||
	    (ret = parse_mappings(r, api_str(r, "RootDeviceName"), &root, &root_name)) < 0 ||
	    (ret = check_snapshot(r, root.snapshot, &snap_gib)) < 0)
		return ret;
	if (!root.size_gib)
		root.size_gib = snap_gib;
	if (root.size_gib < snap_gib)
		return api_err(r, 400, "InvalidBlockDeviceMapping",
			       "Volume of %lldGiB is smaller than snapshot '%s', expect size >= %lldGiB",
			       (long long)root.size_gib, root.snapshot, (long long)snap_gib);
	if ((ret = tags_from_specs(r, "image", &tags)) < 0)
		return ret;
	if (id_new("ami", id) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	/* Names an import is about to give its AMI are taken too, but that
	 * AMI's id is not told before the import completes. */
	st = store_stmt(s, "SELECT id, " IMAGES_VISIBLE_SQL " FROM images WHERE account_id = ? AND name = ? AND "
			   "state != 'deregistered'");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(st, 1))
			ret = api_err(r, 400, "InvalidAMIName.Duplicate", "AMI name %.128s is already in use by AMI %s",
				      name, store_text(st, 0));
		else
			ret = api_err(r, 400, "InvalidAMIName.Duplicate",
				      "AMI name %.128s is reserved for the AMI of import task %.128s", name, name);
		store_rollback(s);
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto internal;
	st = store_stmt(s, "INSERT INTO images(id, account_id, name, description, state, architecture, "
			   "root_device_name, root_snapshot_id, root_size_gib, root_volume_type, "
			   "root_delete_on_termination, ena_support, boot_mode, imds_support, created_ms) "
			   "VALUES (?, ?, ?, ?, 'available', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	v = api_str(r, "Description");
	sqlite3_bind_text(st, 4, v ? v : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, arch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, root_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, root.snapshot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, root.size_gib);
	sqlite3_bind_text(st, 9, root.type, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, root.delete_on_termination);
	sqlite3_bind_int(st, 11, ena);
	if ((v = api_str(r, "BootMode")))
		sqlite3_bind_text(st, 12, v, -1, SQLITE_STATIC);
	if ((v = api_str(r, "ImdsSupport")))
		sqlite3_bind_text(st, 13, v, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE || tags_set(s, r->account_id, id, "image", &tags) < 0 ||
	    store_commit(s) < 0)
		goto internal;
	xml_text(&r->x, "imageId", id);
	ret = 0;
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	tag_list_free(&tags);
	return ret;
}

/* ---- DescribeImages ---- */

/* Columns shared by DescribeImages and DescribeImageAttribute. */
#define IMAGE_COLS \
	"SELECT images.id, images.name, images.description, images.state, COALESCE(images.state_reason, ''), " \
	"images.architecture, images.root_device_name, COALESCE(images.root_snapshot_id, ''), " \
	"images.root_size_gib, images.root_volume_type, images.root_delete_on_termination, images.ena_support, " \
	"COALESCE(images.boot_mode, ''), COALESCE(images.imds_support, ''), images.created_ms, " \
	"COALESCE(s.encrypted, 0) FROM images LEFT JOIN snapshots s ON s.id = images.root_snapshot_id "
enum { C_ID, C_NAME, C_DESC, C_STATE, C_REASON, C_ARCH, C_ROOT, C_SNAP, C_SIZE, C_TYPE, C_DOT, C_ENA, C_BOOT,
       C_IMDS, C_CREATED, C_ENC };

static void write_mappings(struct api_req *r, sqlite3_stmt *st, const char *name)
{
	xml_open(&r->x, name);
	xml_open(&r->x, "item");
	xml_text(&r->x, "deviceName", store_text(st, C_ROOT));
	xml_open(&r->x, "ebs");
	xml_bool(&r->x, "deleteOnTermination", sqlite3_column_int(st, C_DOT));
	if (store_text(st, C_SNAP)[0])
		xml_text(&r->x, "snapshotId", store_text(st, C_SNAP));
	xml_int(&r->x, "volumeSize", sqlite3_column_int64(st, C_SIZE));
	xml_text(&r->x, "volumeType", store_text(st, C_TYPE));
	xml_bool(&r->x, "encrypted", sqlite3_column_int(st, C_ENC));
	xml_close(&r->x);
	xml_close(&r->x);
	xml_close(&r->x);
}

static void image_fbag(struct fbag *b, sqlite3_stmt *st, const char *owner, const char *location,
		       const char *created)
{
	fbag_add(b, "architecture", store_text(st, C_ARCH));
	fbag_add_bool(b, "block-device-mapping.delete-on-termination", sqlite3_column_int(st, C_DOT));
	fbag_add(b, "block-device-mapping.device-name", store_text(st, C_ROOT));
	if (store_text(st, C_SNAP)[0])
		fbag_add(b, "block-device-mapping.snapshot-id", store_text(st, C_SNAP));
	fbag_add_int(b, "block-device-mapping.volume-size", sqlite3_column_int64(st, C_SIZE));
	fbag_add(b, "block-device-mapping.volume-type", store_text(st, C_TYPE));
	fbag_add_bool(b, "block-device-mapping.encrypted", sqlite3_column_int(st, C_ENC));
	fbag_add(b, "creation-date", created);
	fbag_add(b, "description", store_text(st, C_DESC));
	fbag_add_bool(b, "ena-support", sqlite3_column_int(st, C_ENA));
	fbag_add_bool(b, "free-tier-eligible", false);
	fbag_add(b, "hypervisor", "xen");
	fbag_add(b, "image-id", store_text(st, C_ID));
	fbag_add(b, "image-type", "machine");
	fbag_add_bool(b, "is-public", false);
	fbag_add(b, "manifest-location", location);
	fbag_add(b, "name", store_text(st, C_NAME));
	fbag_add(b, "owner-id", owner);
	fbag_add(b, "root-device-name", store_text(st, C_ROOT));
	fbag_add(b, "root-device-type", "ebs");
	fbag_add(b, "state", store_text(st, C_STATE));
	if (store_text(st, C_REASON)[0]) {
		fbag_add(b, "state-reason-code", "Client.ImageFailed");
		fbag_add(b, "state-reason-message", store_text(st, C_REASON));
	}
	fbag_add(b, "virtualization-type", "hvm");
}

static int write_image(struct api_req *r, sqlite3_stmt *st, const char *location, const char *created)
{
	xml_text(&r->x, "imageId", store_text(st, C_ID));
	xml_text(&r->x, "imageLocation", location);
	xml_text(&r->x, "imageState", store_text(st, C_STATE));
	xml_text(&r->x, "imageOwnerId", r->account_id);
	xml_text(&r->x, "creationDate", created);
	xml_bool(&r->x, "isPublic", false);
	xml_text(&r->x, "architecture", store_text(st, C_ARCH));
	xml_text(&r->x, "imageType", "machine");
	xml_text(&r->x, "platformDetails", "Linux/UNIX");
	xml_text(&r->x, "usageOperation", "RunInstances");
	xml_text(&r->x, "name", store_text(st, C_NAME));
	if (store_text(st, C_DESC)[0])
		xml_text(&r->x, "description", store_text(st, C_DESC));
	if (store_text(st, C_REASON)[0]) {
		xml_open(&r->x, "stateReason");
		xml_text(&r->x, "code", "Client.ImageFailed");
		xml_text(&r->x, "message", store_text(st, C_REASON));
		xml_close(&r->x);
	}
	xml_text(&r->x, "rootDeviceType", "ebs");
	xml_text(&r->x, "rootDeviceName", store_text(st, C_ROOT));
	write_mappings(r, st, "blockDeviceMapping");
	xml_text(&r->x, "virtualizationType", "hvm");
	if (tags_write(r->h->store, &r->x, r->account_id, store_text(st, C_ID)) < 0)
		return -EIO;
	xml_text(&r->x, "hypervisor", "xen");
	xml_bool(&r->x, "enaSupport", sqlite3_column_int(st, C_ENA));
	if (store_text(st, C_BOOT)[0])
		xml_text(&r->x, "bootMode", store_text(st, C_BOOT));
	if (store_text(st, C_IMDS)[0])
		xml_text(&r->x, "imdsSupport", store_text(st, C_IMDS));
	xml_bool(&r->x, "freeTierEligible", false);
	return 0;
}

static const char *const image_filters[] = {
	"architecture", "block-device-mapping.delete-on-termination", "block-device-mapping.device-name",
	"block-device-mapping.snapshot-id", "block-device-mapping.volume-size", "block-device-mapping.volume-type",
	"block-device-mapping.encrypted", "creation-date", "description", "ena-support", "free-tier-eligible",
	"hypervisor", "image-allowed", "image-id", "image-type", "is-public", "kernel-id", "manifest-location",
	"name", "owner-alias", "owner-id", "platform", "product-code", "product-code.type", "ramdisk-id",
	"root-device-name", "root-device-type", "source-image-id", "source-image-region", "source-instance-id",
	"state", "state-reason-code", "state-reason-message", "sriov-net-support", "virtualization-type", NULL,
};

static bool is_account_id(const char *s)
{
	size_t n = strlen(s);

	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Owner.N and ExecutableBy.N: do they let the caller's own AMIs through?
 * Nothing else exists to list: no public or shared AMIs, no aliases. */
static int own_images_selected(struct api_req *r, bool *own)
{
	static const char *const aliases[] = { "amazon", "aws-marketplace", "aws-backup-vault" };
	const char **owners = NULL, **exec = NULL;
	size_t no = 0, ne = 0;
	bool owner_ok = false, exec_ok = false;
	int ret;

	if ((ret = api_list(r, "Owner", &owners, &no)) < 0 || (ret = api_list(r, "ExecutableBy", &exec, &ne)) < 0)
		goto out;
	for (size_t i = 0; i < no; i++) {
		if (!strcmp(owners[i], "self") || !strcmp(owners[i], r->account_id))
			owner_ok = true;
		else if (!is_account_id(owners[i]) && !strv_contains(aliases, ARRAY_SIZE(aliases), owners[i])) {
			ret = api_err(r, 400, "InvalidUserID.Malformed", "Invalid user id: \"%.64s\"", owners[i]);
			goto out;
		}
	}
	for (size_t i = 0; i < ne; i++) {
		/* An owner may launch its own AMIs; "all" means public ones. */
		if (!strcmp(exec[i], "self") || !strcmp(exec[i], r->account_id))
			exec_ok = true;
		else if (!is_account_id(exec[i]) && strcmp(exec[i], "all")) {
			ret = api_err(r, 400, "InvalidUserID.Malformed", "Invalid user id: \"%.64s\"", exec[i]);
			goto out;
		}
	}
	*own = (no == 0 || owner_ok) && (ne == 0 || exec_ok);
out:
	free(owners);
	free(exec);
	return ret;
}

int act_describe_images(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	char *from = NULL;
	int64_t limit = 0, emitted = 0;
	bool own = true, flag;
	sqlite3_stmt *st;
	int ret, rc;

	if ((ret = api_list(r, "ImageId", &ids, &nids)) < 0 || (ret = own_images_selected(r, &own)) < 0 ||
	    (ret = api_bool(r, "IncludeDeprecated", false, &flag)) < 0 ||
	    (ret = api_bool(r, "IncludeDisabled", false, &flag)) < 0 ||
	    (ret = api_filters(r, image_filters, true, &fs)) < 0 || (ret = api_page(r, 5, 1000, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < nids; i++)
		if (!id_valid("ami", ids[i])) {
			ret = malformed_ami(r, ids[i]);
			goto out;
		}
	for (size_t i = 0; i < nids; i++) {
		int e = ami_exists(r, ids[i]);

		if (e < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		if (!e) {
			ret = ami_not_found(r, ids[i]);
			goto out;
		}
	}
	xml_open(&r->x, "imagesSet");
	if (!own)
		goto end;
	st = store_stmt(s, IMAGE_COLS "WHERE images.account_id = ?1 AND images.state != 'deregistered' AND "
				      IMAGES_VISIBLE_SQL " AND (?2 IS NULL OR images.id >= ?2) ORDER BY images.id");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = store_text(st, C_ID);
		char location[160], created[25];

		if (nids && !strv_contains(ids, nids, id))
			continue;
		snprintf(location, sizeof(location), "%s/%s", r->account_id, store_text(st, C_NAME));
		iso8601_ms(sqlite3_column_int64(st, C_CREATED), created);
		if (fs.n) {
			fbag_reset(&bag);
			image_fbag(&bag, st, r->account_id, location, created);
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
			goto done;
		}
		xml_open(&r->x, "item");
		if (write_image(r, st, location, created) < 0) {
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
done:
	ret = 0;
out:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* ---- DeregisterImage ---- */

/* Deletes the AMI's snapshot inside the caller's transaction unless
 * another AMI or a volume still uses it (instances' root volumes are
 * overlays on its file). Returns EC2's DeleteSnapshotReturnCode and, on
 * success, the file to remove once committed. */
static const char *drop_snapshot(struct api_req *r, const char *snap, char *file, size_t filelen)
{
	struct store *s = r->h->store;
	sqlite3_stmt *st;

	st = store_stmt(s, "SELECT (SELECT count(*) FROM images WHERE root_snapshot_id = ?1 AND "
			   "state != 'deregistered') + (SELECT count(*) FROM volumes WHERE snapshot_id = ?1 AND "
			   "state != 'deleted'), (SELECT file FROM snapshots WHERE id = ?1 AND account_id = ?2)");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return NULL;
	if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		return "client-error";
	if (sqlite3_column_int(st, 0) > 0)
		return "skipped";
	snprintf(file, filelen, "%s", store_text(st, 1));
	/* Deregistered AMIs keep no reference that would block the delete. */
	st = store_stmt(s, "UPDATE images SET root_snapshot_id = NULL WHERE root_snapshot_id = ?");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return NULL;
	st = store_stmt(s, "DELETE FROM snapshots WHERE id = ? AND account_id = ?");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, snap) < 0)
		return NULL;
	return "success";
}

int act_deregister_image(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id, *code = NULL;
	char snap[ID_MAX] = "", file[PATH_MAX] = "";
	bool del_snaps;
	sqlite3_stmt *st;
	int ret;

	if ((ret = need_own_ami(r, &id)) < 0 || (ret = api_bool(r, "DeleteAssociatedSnapshots", false, &del_snaps)) < 0)
		return ret;
	if (store_begin(s) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "SELECT COALESCE(root_snapshot_id, '') FROM images WHERE id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto internal;
	snprintf(snap, sizeof(snap), "%s", store_text(st, 0));
	st = store_stmt(s, "UPDATE images SET state = 'deregistered', deregistered_ms = ? WHERE id = ? AND "
			   "account_id = ?");
	if (!st)
		goto internal;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || tags_delete_all(s, r->account_id, id) < 0)
		goto internal;
	if (del_snaps && snap[0] && storage_track(r->h) < 0)
		goto internal;
	if (del_snaps && snap[0] && !(code = drop_snapshot(r, snap, file, sizeof(file))))
		goto internal;
	if (store_commit(s) < 0)
		goto internal;
	/* The file may still back volumes (or a copy of the snapshot): the
	 * storage collector removes it once nothing is backed by it (at once
	 * when nothing is). */
	if (file[0])
		storage_collect(r->h);
	xml_bool(&r->x, "return", true);
	if (code) {
		xml_open(&r->x, "deleteSnapshotResultSet");
		xml_open(&r->x, "item");
		xml_text(&r->x, "snapshotId", snap);
		xml_text(&r->x, "returnCode", code);
		xml_close(&r->x);
		xml_close(&r->x);
	}
	return 0;
internal:
	store_rollback(s);
	return api_err_internal(r);
}

/* ---- DescribeImageAttribute ---- */

static void attr_value(struct api_req *r, const char *name, const char *value)
{
	xml_open(&r->x, name);
	if (value && *value)
		xml_text(&r->x, "value", value);
	xml_close(&r->x);
}

int act_describe_image_attribute(struct api_req *r)
{
	static const char *const empty_values[] = { "kernel", "ramdisk", "sriovNetSupport", "tpmSupport", "uefiData",
						    "lastLaunchedTime" };
	static const char *const empty_lists[] = { "launchPermission", "productCodes" };
	const char *id, *attr;
	sqlite3_stmt *st;
	int ret;

	if ((ret = need_own_ami(r, &id)) < 0 || (ret = api_need_str(r, "Attribute", &attr)) < 0)
		return ret;
	st = store_stmt(r->h->store, IMAGE_COLS "WHERE images.id = ?");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return api_err_internal(r);
	xml_text(&r->x, "imageId", id);
	if (!strcmp(attr, "description"))
		attr_value(r, "description", store_text(st, C_DESC));
	else if (!strcmp(attr, "bootMode"))
		attr_value(r, "bootMode", store_text(st, C_BOOT));
	else if (!strcmp(attr, "imdsSupport"))
		attr_value(r, "imdsSupport", store_text(st, C_IMDS));
	else if (!strcmp(attr, "deregistrationProtection"))
		attr_value(r, "deregistrationProtection", "disabled");
	else if (!strcmp(attr, "blockDeviceMapping"))
		write_mappings(r, st, "blockDeviceMapping");
	else if (strv_contains(empty_values, ARRAY_SIZE(empty_values), attr))
		attr_value(r, attr, NULL);
	else if (strv_contains(empty_lists, ARRAY_SIZE(empty_lists), attr)) {
		xml_open(&r->x, attr);
		xml_close(&r->x);
	} else
		return api_err_value(r, "Attribute", attr,
				     "Valid values: description | kernel | ramdisk | launchPermission | productCodes | "
				     "blockDeviceMapping | sriovNetSupport | bootMode | tpmSupport | uefiData | "
				     "lastLaunchedTime | imdsSupport | deregistrationProtection.");
	return 0;
}
