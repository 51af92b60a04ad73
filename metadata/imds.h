/* The instance metadata service (IMDS) for one instance, as a pure request
 * handler: one HTTP/1.x request in, EC2's response bytes out (paths,
 * listings, IMDSv1/IMDSv2 tokens, status codes, headers). The metadata
 * itself is read per request from the instance's imds/ directory, which
 * hostd rewrites atomically at any time:
 *
 *   meta-data/, dynamic/  trees: a regular file is a leaf served verbatim, a
 *                         directory a listing (or its .listing file, verbatim)
 *   user-data             raw bytes; absent: 404
 *   options               key=value lines: instance_id, http_tokens,
 *                         http_endpoint, hop_limit (1..64, default 1)
 *   token.key             32 random bytes, the IMDSv2 token key
 *
 * No global state; nothing is opened outside that directory (component-wise
 * openat with O_NOFOLLOW, names limited to EC2's character set). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"

#define IMDS_KEY_LEN 32
#define IMDS_ID_MAX 64            /* instance id, with its NUL */
#define IMDS_TTL_MAX 21600        /* token TTL, seconds */
#define IMDS_TOKEN_LEN 55         /* base64url of version, expiry and HMAC */
#define IMDS_HEAD_MAX 8192        /* request line and headers */
#define IMDS_BODY_MAX 8192        /* Content-Length */
#define IMDS_REQUEST_MAX (IMDS_HEAD_MAX + IMDS_BODY_MAX)

struct imds_config {
	char instance_id[IMDS_ID_MAX];
	unsigned char key[IMDS_KEY_LEN];
	bool tokens_required;     /* http_tokens=required */
	bool endpoint_disabled;   /* http_endpoint=disabled */
	int hop_limit;            /* hop_limit=: the IP TTL of a new token's response */
};

/* Reads options and token.key beneath dirfd. Returns 0, -ENOENT or -EINVAL
 * (missing instance_id, an unknown http_tokens/http_endpoint value, a key
 * that is not exactly IMDS_KEY_LEN bytes). */
int imds_config_load(int dirfd, struct imds_config *cfg);

struct imds_ctx {
	int dirfd;                       /* the instance's imds/ directory */
	const struct imds_config *cfg;   /* NULL: could not be loaded (500) */
	int64_t now;                     /* seconds since the epoch */
	bool last;                       /* this connection's last response */
	/* When not NULL: set to cfg->hop_limit when the response carries a
	 * new IMDSv2 token, which the caller sends with that IP TTL so it
	 * cannot travel further (a container behind the guest). */
	int *token_hops;
	/* When not NULL: set when the response is a 200 to a request without
	 * a token (IMDSv1): CloudWatch's MetadataNoToken counts these. */
	bool *no_token;
};

/* Handles the first request in in[0..len) and appends the response to out.
 * Returns the bytes consumed (> 0), 0 when the request is incomplete (call
 * again with more bytes; it never needs more than IMDS_REQUEST_MAX), or
 * -EINVAL for a bad ctx. *close is set when the connection must be closed
 * after out is written; a malformed request consumes all of in. */
ssize_t imds_handle(const struct imds_ctx *ctx, const char *in, size_t len, struct buf *out, bool *close);

/* IMDSv2 tokens: bound to cfg's instance id and key, valid until now + ttl
 * (1..IMDS_TTL_MAX). out gets IMDS_TOKEN_LEN characters and a NUL. */
int imds_token_mint(const struct imds_config *cfg, int64_t now, int ttl, char out[IMDS_TOKEN_LEN + 1]);
/* Returns the seconds the token has left (> 0), or -EACCES when it is
 * malformed, forged, for another instance or expired. Constant-time in the
 * MAC comparison. */
int64_t imds_token_check(const struct imds_config *cfg, const char *tok, size_t len, int64_t now);
