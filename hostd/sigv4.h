/* AWS Signature Version 4 verification (server side) for the EC2 Query API.
 * sigv4_parse() extracts the Authorization header or presigned query
 * parameters; sigv4_verify() rebuilds the canonical request the way botocore
 * signs it and checks scope, time and signature. Reentrant, no global state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SIGV4_MAX_SKEW 900           /* seconds between X-Amz-Date and now */
#define SIGV4_MAX_EXPIRES 604800     /* presigned URLs: 7 days */
#define SIGV4_TOKEN_MAX 4096

struct sigv4_header { const char *name; const char *value; };   /* as received, any case; duplicates possible */
struct sigv4_request {
	const char *method;            /* "GET" / "POST" */
	const char *path;              /* path exactly as on the wire (still percent-encoded), e.g. "/" */
	const char *query;             /* raw query string without '?', "" if none */
	const struct sigv4_header *headers; size_t nheaders;
	const unsigned char *body; size_t body_len;
};
struct sigv4_auth {                /* what sigv4_parse extracted */
	char access_key[129];
	char scope_date[9];            /* YYYYMMDD from the credential scope */
	char region[64];
	char service[64];
	char amz_date[17];             /* YYYYMMDDTHHMMSSZ (from the Date header if no X-Amz-Date) */
	char signed_headers[1024];     /* "host;x-amz-date" */
	char signature[65];            /* lowercase hex */
	bool has_security_token;       /* X-Amz-Security-Token (header or query), decoded: */
	char security_token[SIGV4_TOKEN_MAX + 1];
	bool presigned;                /* query-string form */
	long expires;                  /* X-Amz-Expires for presigned, else 0 */
};
struct sigv4_error { const char *code; int http_status; char message[256]; };

/* Returns 0, -ENOENT when the request carries no signature at all, or -EINVAL
 * with err filled (IncompleteSignature or MalformedQueryString, 400). */
int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *auth, struct sigv4_error *err);

/* Verifies auth against the secret of auth->access_key; the scope must name
 * expect_region/expect_service. now: seconds since the epoch. Returns 0,
 * -EACCES with err filled, or -EIO (InternalError, 500) if crypto fails. */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, const char *secret,
                 const char *expect_region, const char *expect_service, time_t now, struct sigv4_error *err);
