/* Messages between hostd and its hostd-imds child: a 4-byte big-endian
 * length, then one CBOR map (libcbor) with a "t" type field and only the
 * fields of that type. Both sides encode and decode through here, and the
 * decoder checks size, type, every field's CBOR type, presence and range
 * before anything uses the message (fuzzed: tests/fuzz/fuzz_cbormsg.c).
 * File descriptors travel beside a message (SCM_RIGHTS); the type says how
 * many (cbormsg_nfds). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define CBORMSG_MAX 65536        /* the whole frame, prefix included */
#define CBORMSG_ID_MAX 64        /* instance and VPC ids, with the NUL */
#define CBORMSG_IPS_MAX 64       /* private addresses of one record */
#define CBORMSG_STATS_MAX 128    /* per-instance counters in one STATS */

enum cbormsg_type {
	CBORMSG_LISTEN = 1,      /* parent: vpc; fd: a listening socket in that VPC */
	CBORMSG_UNLISTEN = 2,    /* parent: vpc */
	CBORMSG_RECORD = 3,      /* parent: id, vpc, ips; fd: the instance's imds/ directory */
	CBORMSG_FORGET = 4,      /* parent: id */
	CBORMSG_STATS = 5,       /* child: stats[] (deltas since the last STATS) */
};

struct cbormsg_stat {
	char id[CBORMSG_ID_MAX];
	uint64_t requests;       /* responses sent */
	uint64_t no_token;       /* MetadataNoToken: served (200) without a token */
	int64_t last_contact;    /* seconds since the epoch, of the last request */
};

struct cbormsg {
	int type;
	char vpc[CBORMSG_ID_MAX];
	char id[CBORMSG_ID_MAX];
	uint32_t ips[CBORMSG_IPS_MAX];   /* IPv4, host byte order */
	size_t nips;
	struct cbormsg_stat stats[CBORMSG_STATS_MAX];
	size_t nstats;
};

/* The descriptors a message of this type carries (0 or 1); -1: no such type. */
int cbormsg_nfds(int type);

/* Appends m's frame to out. -EINVAL for a message the decoder would refuse
 * (unknown type, bad id, too many entries), -EMSGSIZE past CBORMSG_MAX. */
int cbormsg_encode(const struct cbormsg *m, struct buf *out);

/* Decodes exactly one frame p[0..len) into m. 0, or -EBADMSG for anything
 * but a well-formed message of a known type. */
int cbormsg_decode(const uint8_t *p, size_t len, struct cbormsg *m);
