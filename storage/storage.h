/* EBS volumes and snapshots as qcow2 backing chains.
 *
 * A layer is one qcow2 file; its backing file is another layer (or none).
 * A volume is its writable top layer (volumes.file); a snapshot is a frozen
 * layer (snapshots.file) read through its backing chain. CreateSnapshot
 * freezes the volume's top as the snapshot and puts a new empty overlay on
 * top (qemu-img create -u: O(1) in size and depth; live through libvirt
 * when the volume's VM runs). Layers nothing references are collected; a
 * layer only one other layer is backed by is merged into it (qemu-img
 * rebase, which keeps what the child reads), and layers deeper than
 * flatten_depth are rebased onto the root of their chain.
 *
 * Crash safety: every multi-step operation is a row in storage_ops written
 * in the same transaction as the API's intent, before any file is touched;
 * files are written as .tmp, fsync'd and renamed; each step is idempotent,
 * so storage_start() redoes what a killed hostd left and then removes files
 * no layer row names. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hostd;

#define STORAGE_LAYER_DIR "layers"

/* Recovers the journal, collects garbage, starts the background worker
 * (merges, flattening). Before the API serves. */
int storage_start(struct hostd *h);
void storage_stop(struct hostd *h);
/* Wakes the worker (after a delete, a detach, a stop). */
void storage_kick(struct hostd *h);
/* Records every volume's and snapshot's file as a layer (root volumes made
 * at launch and imported AMI files are recorded lazily); call before
 * deleting such a row so its file is collected. Caller holds h->lock. */
int storage_track(struct hostd *h);
/* One collection now, before returning. The caller holds h->lock (released
 * meanwhile, as in storage_run). */
void storage_collect(struct hostd *h);

struct storage_op {
	const char *kind;        /* vol-create | snap-create | resize */
	const char *vol;
	const char *snap;
	const char *file;        /* relative to the state dir */
	const char *backing;     /* relative, or NULL */
	int64_t size_bytes;
};

/* Records op in the journal; the caller holds h->lock and has a
 * transaction open (the API's rows and the intent commit together). */
int storage_intent(struct hostd *h, const struct storage_op *op, int64_t *id);
/* Carries out a recorded op and commits its result. The caller holds
 * h->lock (API handlers do); it is released while files are made and held
 * again on return. 0, or -errno after the rows it was for went to
 * state error (a crash instead leaves it journaled: redone at start). */
int storage_run(struct hostd *h, int64_t id);

/* Carries out n recorded snap-create ops of one instance's volumes at one
 * instant: when inst's VM runs it is suspended (no guest I/O) while every
 * layer is taken, then resumed, so the snapshots are crash-consistent
 * across volumes. Locking as storage_run. 0, or the first -errno. */
int storage_run_group(struct hostd *h, const int64_t *ids, size_t n, const char *inst);
/* The VM of inst is held paused by storage_run_group, or snapshots of its
 * volumes are still journaled (the reconciler must not resume it yet).
 * The caller does not hold h->lock. */
bool storage_vm_held(struct hostd *h, const char *inst);

/* Test hook: SIGKILL here when HOSTD_CRASH_AT names this point. */
void storage_crash_point(struct hostd *h, const char *name);

/* A fresh layer file name, "layers/<prefix>-<hex>.qcow2". */
int storage_new_layer(const char *prefix, char *rel, size_t len);

/* The depth of a layer's chain (1 = no backing), from the layers table.
 * Caller holds h->lock. */
int storage_depth(struct hostd *h, const char *file);

/* The virtio disk a device name maps to: /dev/sdf and /dev/xvdf -> vdf
 * (a static string; "" for names that are not /dev/sd[b-z] or
 * /dev/xvd[b-z]). */
const char *storage_disk_target(const char *device);

/* qemu-img check of a volume's top (file relative to the state dir) with
 * its whole backing chain opened, sharing the image with a running QEMU
 * (-U). 0 when it opens and shows no corruption (leaked clusters are
 * harmless), -EIO when a layer is missing or unreadable or corrupt,
 * another -errno when the check could not run. No lock needed. */
int storage_check(struct hostd *h, const char *file);

/* The backing file name in a qcow2 header ("" when none): a read of the
 * header, no helper process. */
int qcow2_backing(const char *path, char *out, size_t len);
