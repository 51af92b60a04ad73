/* The EC2 Query API: authentication, throttling, parameter checking,
 * DryRun, dispatch through the action table, and the XML envelopes. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostd/filter.h"
#include "hostd/query.h"
#include "hostd/sigv4.h"
#include "hostd/xml.h"

#define EC2_XMLNS "http://ec2.amazonaws.com/doc/2016-11-15/"

struct hostd;

enum ptype { P_STR, P_INT, P_BOOL, P_B64 };

struct api_param {
	const char *pattern; /* "KeyName.N", "Filter.N.Value.N" (see query_pattern_match) */
	enum ptype type;
};

struct api_req {
	struct hostd *h;
	const struct query *q;
	const char *action;
	char account_id[13];
	char request_id[37];
	struct xml x;        /* the handler writes the response members here */
	/* Set by api_err(). */
	int status;
	const char *code;
	char msg[512];
};

struct api_action {
	const char *name;
	int (*fn)(struct api_req *r);
	bool mutating;             /* which throttle bucket; also documents intent */
	const struct api_param *params; /* terminated by a NULL pattern */
};

/* One HTTP request as the server received it. */
struct api_http_in {
	const char *method;
	const char *path;          /* raw, as on the wire */
	const char *query;         /* raw query string, "" if none */
	const struct sigv4_header *headers;
	size_t nheaders;
	const unsigned char *body;
	size_t body_len;
	bool body_too_large;       /* the server stopped reading it */
};
struct api_http_out {
	int status;
	char *body;                /* malloc'd; the caller frees it */
	size_t len;
	char request_id[37];
};

void api_handle(struct hostd *h, const struct api_http_in *in, struct api_http_out *out);

/* Records an EC2 error for the response; returns -1 so handlers can write
 * `return api_err(...)`. */
int api_err(struct api_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Common shapes of the above. */
int api_err_missing(struct api_req *r, const char *param);
int api_err_value(struct api_req *r, const char *param, const char *value, const char *why);
int api_err_internal(struct api_req *r);

/* Parameter access (names are the wire names). */
const char *api_str(struct api_req *r, const char *name);
int api_need_str(struct api_req *r, const char *name, const char **out);
int api_int(struct api_req *r, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);
int api_bool(struct api_req *r, const char *name, bool def, bool *out);
/* Values of "<prefix>.N" in index order; *vals is malloc'd (pointers into
 * the query). Empty values are refused with InvalidParameterValue. */
int api_list(struct api_req *r, const char *prefix, const char ***vals, size_t *n);
/* Filter.N.Name / Filter.N.Value.M into fs, each name checked against
 * allowed (and tag filters when allow_tags). */
int api_filters(struct api_req *r, const char *const *allowed, bool allow_tags, struct filter_set *fs);
/* The same under another prefix: a few actions' models name the list
 * "Filters" (DescribeImportImageTasks: Filters.N.Name). */
int api_filters_at(struct api_req *r, const char *prefix, const char *const *allowed, bool allow_tags,
		   struct filter_set *fs);

/* Pagination: MaxResults (min..max, 0 when absent = no limit) and the
 * resume key from NextToken (NULL when absent; malloc'd). */
int api_page(struct api_req *r, int64_t min, int64_t max, int64_t *limit, char **from);
/* Writes <nextToken> for a next page that starts at key (the first item
 * not sent; api_page hands it back). */
void api_next_token(struct api_req *r, const char *key);

/* The action table (generated docs and the supported-actions list come
 * from it). */
extern const struct api_action api_actions[];
extern const size_t api_nactions;
const struct api_action *api_find_action(const char *name);
