/* The metadata tree of one instance as hostd writes it for the IMDS
 * responder (metadata/imds.h describes the layout it serves):
 * <state>/instances/<id>/imds/ with meta-data/, dynamic/, user-data,
 * options and token.key. Built in imds.new/ and swapped in whole
 * (renameat2 RENAME_EXCHANGE), so a connection never sees half a tree;
 * the responder re-reads options per request, so a change of
 * MetadataOptions takes effect without a reboot. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct hostd;

/* Rewrites the instance's imds/ from the store (and its token.key from
 * instances/<id>/token.key, made once per instance). With h->lock held. */
int imdstree_write(struct hostd *h, const char *instance_id);
/* The same when the instance has been launched before (its directory
 * exists), else nothing: for API calls that change what the tree shows. */
int imdstree_refresh(struct hostd *h, const char *instance_id);

/* imdstree_refresh for every instance that may be running (at start, so
 * trees written by an older hostd get today's layout). With h->lock held. */
int imdstree_refresh_running(struct hostd *h);

/* dynamic/instance-identity/document, formatted as EC2 does. */
struct imds_identity {
	const char *account_id, *architecture, *availability_zone, *image_id, *instance_id, *instance_type;
	const char *private_ip, *region;
	int64_t pending_ms;
};
void imdstree_document(const struct imds_identity *id, struct buf *out);
