/* The interim metadata front door of the VPCs: a listening socket on
 * 169.254.169.254:80 inside every VPC namespace (made by a short-lived
 * thread that setns()'s into it), one thread accepting on all of them, and
 * per connection a fork+exec of the metadata responder (hostd-imds-pipe
 * --dir DIR, the connection as its stdin/stdout) once the caller's lookup
 * has attributed the source address to an instance. */
#pragma once
#include <stddef.h>

struct imdsl;

/* The responder runs as this uid/gid (no passwd entry needed): hostd makes
 * each instance's imds/ tree root:NET_IMDS_GID 0750/0640 (imdsl_share), so
 * the process a guest talks to is not root and reads nothing else. */
#define NET_IMDS_UID 64911
#define NET_IMDS_GID 64911

/* Gives the tree at dir to the responder's group (dirs 0750, files 0640,
 * owner root). */
int imdsl_share(const char *dir);

/* Fills dir with the instance's metadata directory for a connection from
 * peer_ip in the VPC key; 0, or -ENOENT to refuse the connection. */
typedef int (*imdsl_lookup_fn)(void *arg, const char *key, const char *peer_ip, char *dir, size_t len);

int imdsl_start(struct imdsl **out, const char *pipe_bin, imdsl_lookup_fn fn, void *arg);
/* Listens in ns for key (a VPC id) unless it already does. */
int imdsl_ensure(struct imdsl *l, const char *key, const char *ns);
void imdsl_remove(struct imdsl *l, const char *key);
void imdsl_stop(struct imdsl *l);
