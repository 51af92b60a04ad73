/* Disk images through qemu-img (always run from an argv, never a shell):
 * what ImportImage needs to inspect, check and convert a file, plus the
 * pure parsers behind it (unit-tested). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ImportImage's Format values (EC2's, lowercase, plus qcow2) and the qemu
 * block driver for each: vhd is qemu's "vpc". NULL when unknown. */
const char *qimg_driver(const char *format);
/* The reverse: the ImportImage format of a qemu driver name, or NULL. */
const char *qimg_format(const char *driver);

struct qimg_info {
	char driver[16];          /* qemu's name for the format */
	int64_t virtual_size;     /* bytes the guest sees */
};

/* Checks `qemu-img info --output=json` of the file at path (the path as
 * given to qemu-img) and fills out. Refused, with -EINVAL and a reason in
 * why (a clause for a statusMessage): formats other than qcow2, raw, vmdk,
 * vpc, vhdx; any backing file; qcow2 external data files; VMDKs whose
 * extents live in other files (they could name any file on the host). */
int qimg_info_parse(const char *json, size_t n, const char *path, struct qimg_info *out, char *why,
		    size_t whylen);
/* Runs qemu-img info (probing the format) and qimg_info_parse. -EIO with
 * qemu-img's message in why when it cannot open the file. */
int qimg_info(const char *path, struct qimg_info *out, char *why, size_t whylen);

/* The first n bytes the guest would read, through `qemu-img dd` into
 * tmp_path (removed again). Shorter images leave the rest zeroed. */
int qimg_head(const char *path, const char *driver, const char *tmp_path, unsigned char *buf, size_t n);
/* Bytes qimg_head should read for disk_has_partition_table. */
#define QIMG_HEAD_BYTES 4608
/* true when buf starts with an MBR boot signature (also GPT's protective
 * MBR) or a GPT header at LBA 1 for 512- or 4096-byte sectors. */
bool disk_has_partition_table(const unsigned char *buf, size_t n);

/* qemu-img convert -p prints "    (12.34/100%)\r" records; chunks may split
 * them anywhere. */
struct qimg_progress {
	char rec[32];
	size_t n;
	int pct;                  /* the last whole percentage seen, -1 before */
};
void qimg_progress_init(struct qimg_progress *p);
/* Feeds a chunk; returns true when pct changed. */
bool qimg_progress_feed(struct qimg_progress *p, const char *data, size_t n);

struct qimg_convert_cb {
	void (*progress)(void *arg, int pct);
	bool (*cancelled)(void *arg);
	void *arg;
};
/* qemu-img convert -f driver -O qcow2 src dst. Returns 0, -ECANCELED, or
 * -EIO with qemu-img's message in why. dst is not removed on failure. */
int qimg_convert(const char *src, const char *driver, const char *dst, const struct qimg_convert_cb *cb,
		 char *why, size_t whylen);

/* The virtual size recorded in a qcow2 file's header: a read of 32 bytes,
 * no helper process, so callers may use it while holding locks. */
int qcow2_virtual_size(const char *path, int64_t *out);
/* The same from a header already in memory (n >= 32). */
int qcow2_header_size(const unsigned char *hdr, size_t n, int64_t *out);
