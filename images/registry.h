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
	char root_device_name[32];      /* "/dev/xvda" */
	char base_file[4096];           /* absolute path of the read-only qcow2 */
	int64_t root_size_gib;          /* the snapshot's size */
	int64_t base_virtual_bytes;     /* the file's virtual size */
	char root_volume_type[8];       /* gp3 ... */
	bool root_delete_on_termination;
	char imds_support[8];           /* "" or "v2.0" */
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
