/* The EC2 Query protocol's parameters: application/x-www-form-urlencoded
 * pairs from a POST body and/or a GET query string. Names and values are
 * percent-decoded ('+' is a space), must be UTF-8, and may appear once.
 * Parameters are kept sorted by name for binary-search lookup. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX_PARAMS 4096
#define QUERY_MAX_NAME 256

struct qparam {
	char *name;
	char *value;
	size_t vlen;
};

struct query {
	struct qparam *p;
	size_t n, cap;
};

/* Adds the pairs in s[0..len). Call query_finish() after the last source.
 * On error returns -EINVAL (malformed escape, bad UTF-8, name too long or
 * empty, too many parameters) with a message in err. */
int query_parse(struct query *q, const char *s, size_t len, char *err, size_t errlen);
/* Sorts; returns -EEXIST with the duplicated name in err. */
int query_finish(struct query *q, char *err, size_t errlen);
void query_free(struct query *q);

const struct qparam *query_find(const struct query *q, const char *name);
const char *query_get(const struct query *q, const char *name);

/* The distinct positive N for which "<prefix>.N" or "<prefix>.N.*" is
 * present, ascending. *idx is malloc'd (NULL when none). */
int query_indices(const struct query *q, const char *prefix, unsigned **idx, size_t *n);

/* Matches a parameter name against a pattern whose "N" segments stand for
 * positive decimal indexes: "Filter.N.Value.N" matches "Filter.2.Value.10". */
bool query_pattern_match(const char *pattern, const char *name);

/* Percent-decodes in place semantics into out (len+1 bytes); returns the
 * decoded length or -EINVAL. */
long query_unescape(const char *in, size_t len, char *out);
