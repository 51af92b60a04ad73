/* Tags on any resource, kept per account in the tags table; parsing and
 * validation of Tag.N / TagSpecification.N parameters. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct api_req;
struct store;
struct xml;

#define TAGS_PER_RESOURCE 50

struct tag {
	const char *key;   /* point into the request's query */
	const char *value; /* NULL when the request gave no Value */
};

struct tag_list {
	struct tag *t;
	size_t n;
};

void tag_list_free(struct tag_list *l);

/* <prefix>.N.Key / <prefix>.N.Value. Keys are checked (1-128 characters, no
 * "aws:" prefix, no control characters), values too (0-256). When
 * for_delete, keys are still required but values are optional and may be
 * anything DeleteTags accepts. */
int tags_parse(struct api_req *r, const char *prefix, bool for_delete, struct tag_list *out);
/* TagSpecification.N for a create action making resource_type resources:
 * the tags of the specifications whose ResourceType matches; other types
 * are refused as EC2 does. */
int tags_from_specs(struct api_req *r, const char *resource_type, struct tag_list *out);
/* The same for actions that create several kinds (RunInstances: instance
 * and volume): allowed is a space-separated list of accepted types, the
 * tags of resource_type's specifications are returned. */
int tags_from_specs_of(struct api_req *r, const char *allowed, const char *resource_type, struct tag_list *out);

/* Sets tags on a resource inside the caller's transaction; -E2BIG when the
 * resource would carry more than TAGS_PER_RESOURCE. */
int tags_set(struct store *s, const char *account, const char *resource_id, const char *resource_type,
	     const struct tag_list *tags);
int tags_delete_all(struct store *s, const char *account, const char *resource_id);
/* Writes <tagSet> with the resource's tags (always, empty when none). */
int tags_write(struct store *s, struct xml *x, const char *account, const char *resource_id);
/* Adds the resource's tags to a filter bag; strings are copied into it. */
struct fbag;
int tags_fbag(struct store *s, struct fbag *b, const char *account, const char *resource_id);
