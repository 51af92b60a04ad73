/* hostd-imds's event loop: one thread, epoll, non-blocking sockets.
 *
 * hostd (the parent, on the control socket ctl: a SOCK_SEQPACKET, one
 * lib/cbormsg frame per packet) sends LISTEN with a listening socket per
 * VPC namespace, RECORD with an instance's id, VPC and private addresses
 * plus an O_DIRECTORY descriptor of its imds/ tree (again after every
 * rewrite of the tree), FORGET when it goes. A connection is attributed
 * to the record whose VPC is the listener's and whose addresses hold the
 * peer (anti-spoofing makes the source address trustworthy); nobody's
 * address gets the connection closed. Requests are answered by
 * metadata/imds.c's imds_handle against the record's tree. Keep-alive,
 * pipelining, per-connection buffers, an idle timeout, and caps on
 * connections overall and per instance so one guest cannot starve the
 * others. Back to the parent, at most once a second: STATS with each
 * instance's requests, MetadataNoToken count (deltas) and last contact.
 *
 * The sandbox (metadata/sandbox.h) is entered before the first message is
 * read; failing that, nothing is served. */
#pragma once

#define IMDSD_IDLE_MS 10000          /* without a complete request */
#define IMDSD_MAX_CONNS 1024
#define IMDSD_MAX_CONNS_PER_INSTANCE 64
#define IMDSD_MAX_LISTENERS 256
#define IMDSD_MAX_RECORDS 1024

/* Serves until the parent closes ctl (0) or a fatal error (-errno).
 * selftest (tests only; NULL normally): right after entering the sandbox,
 * attempt that forbidden call (sandbox_selftest), so a test can watch the
 * real server die by SIGSYS and hostd restart it. */
int imdsd_run(int ctl, const char *selftest);
