/* The AMI registry: images, the snapshots that hold their disks, and
 * ImportImage tasks. An AMI's root disk is a read-only qcow2 file under
 * <state>/snapshots/; instances boot from qcow2 overlays on it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/ids.h"

struct hostd;

/* What RunInstances needs to know about an AMI. */
struct image_launch {
	char id[ID_MAX];
	char snapshot_id[ID_MAX];
	char root_device_name[32];      /* "/dev/sda1" (imports), "/dev/xvda" */
	char base_file[4096];           /* absolute path of the read-only qcow2 */
	int64_t root_size_gib;          /* the AMI's root volume size (its block
					 * device mapping's VolumeSize): the default
					 * for instances, never below the snapshot's */
	int64_t base_virtual_bytes;     /* the file's virtual size */
	char root_volume_type[8];       /* gp3 ... */
	bool root_delete_on_termination;
	char imds_support[8];           /* "" or "v2.0" */
	int64_t snapshot_size_gib;      /* the snapshot's size: the least a root
					 * volume may have */
};

/* Looks up an AMI the account may launch (its own, state available).
 * Returns 0, -ENOENT (no such AMI for this account, or deregistered),
 * -EAGAIN (not available yet: pending), -EIO. Caller holds h->lock. */
int images_for_launch(struct hostd *h, const char *account_id, const char *image_id,
		      struct image_launch *out);

/* Starts the background worker that runs ImportImage conversions and
 * resumes tasks a restart interrupted; stops it. */
int images_start(struct hostd *h);
void images_stop(struct hostd *h);

/* A task was queued: wake the worker. Caller holds h->lock. */
void images_wake(struct hostd *h);

/* CancelImportTask: an active task of the account stops (a running
 * conversion is killed) and ends as status deleted with reason as its
 * statusMessage. 0, -ENOENT (no such task), -EALREADY (not active; *state
 * says what it is), -EIO. Caller holds h->lock. */
int images_cancel(struct hostd *h, const char *account_id, const char *task_id, const char *reason,
		  char *state, size_t statelen);

/* The task id a ClientToken stands for: "import-ami-" and 17 hex digits
 * of SHA-256(account, token), so a retried ImportImage finds its task
 * without a token column. */
int images_token_task_id(const char *account_id, const char *token, char out[ID_MAX]);

/* Absolute path of a file named relative to the state directory. */
int images_state_path(const struct hostd *h, const char *rel, char *out, size_t len);

/* An SQL condition on a row of `images` that hides the AMI an import task
 * is still building (EC2 lists imported AMIs only once done). */
#define IMAGES_VISIBLE_SQL \
	"NOT EXISTS (SELECT 1 FROM import_tasks t WHERE t.image_id = images.id AND t.status != 'completed')"

/* Where an imported disk's snapshot file lives, relative to the state dir. */
#define IMAGES_SNAPSHOT_DIR "snapshots"
/* The root device of imported AMIs, as EC2's VM Import registers them. */
#define IMAGES_IMPORT_ROOT_DEVICE "/dev/sda1"
