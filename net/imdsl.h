/* The metadata front door of the VPCs, hostd's side: a listening socket on
 * 169.254.169.254:80 inside every VPC namespace (made by a short-lived
 * thread that setns()'s into it, kept here for as long as the VPC lives),
 * and the supervisor of hostd-imds, the one unprivileged, seccomp-confined
 * process that serves them all (metadata/imdsd.h).
 *
 * A supervisor thread starts hostd-imds (fork+exec, as root: it drops to
 * NET_IMDS_UID itself) with a SOCK_SEQPACKET socketpair and keeps it in
 * sync: every listener (LISTEN, the socket passed with SCM_RIGHTS) and
 * every instance record (RECORD: VPC, private addresses, an O_DIRECTORY
 * descriptor of its imds/ tree opened afresh for every send), FORGET for
 * records that went (lib/cbormsg.h). When the child dies, for any reason,
 * a new one is started at once (at most twice a second) and everything is
 * sent again; the sockets stay open here, so guests only wait.
 *
 * The child reports counters per instance (STATS); they are added up here,
 * logged on an instance's first contact, and written (temp + rename) to the
 * record's stats file as
 *   requests=N\nmetadata_no_token=N\nlast_contact=EPOCH_SECONDS\n
 * (cumulative: the file's values are read back when a record first comes). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct imdsl;

/* hostd-imds runs as this uid/gid (no passwd entry needed): hostd makes
 * each instance's imds/ tree root:NET_IMDS_GID 0750/0640 (imdsl_share), so
 * the process a guest talks to is not root and reads nothing else. */
#define NET_IMDS_UID 64911
#define NET_IMDS_GID 64911

/* Gives the tree at dir to the responder's group (dirs 0750, files 0640,
 * owner root). */
int imdsl_share(const char *dir);

/* What the service knows of an instance. */
struct imdsl_record {
	const char *id;          /* i-... */
	const char *vpc;         /* the listener key (imdsl_ensure) its guest talks through */
	const uint32_t *ips;     /* its private addresses in that VPC, host byte order */
	size_t nips;
	const char *dir;         /* its imds/ tree */
	const char *stats;       /* where its counters go */
};

/* Starts the supervisor and the first hostd-imds (the binary at imds_bin). */
int imdsl_start(struct imdsl **out, const char *imds_bin);
/* Listens in ns for key (a VPC id) unless it already does. */
int imdsl_ensure(struct imdsl *l, const char *key, const char *ns);
void imdsl_remove(struct imdsl *l, const char *key);
/* Adds or replaces the record of r->id; call again after every rewrite of
 * the tree (the old directory descriptor names the old tree). */
int imdsl_push(struct imdsl *l, const struct imdsl_record *r);
void imdsl_forget(struct imdsl *l, const char *id);
/* The running hostd-imds, or 0 between a death and the restart. */
pid_t imdsl_child(struct imdsl *l);
void imdsl_stop(struct imdsl *l);
