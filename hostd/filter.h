/* EC2 Filter.N matching. A resource describes itself as a bag of
 * (filter-name, value) pairs; a filter set matches when every filter has at
 * least one value that matches one of the bag's values under that name.
 * Values match with EC2's wildcards: '*' any run, '?' one character, and
 * '\' escaping the next character. Matching is case-sensitive, as on EC2. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct filter {
	char *name;
	char **values;
	size_t nvalues;
};

struct filter_set {
	struct filter *f;
	size_t n;
};

struct fbag_ent {
	const char *name;
	const char *value;
};

struct fbag {
	struct fbag_ent *e;
	size_t n, cap;
	char **owned; /* strings the bag made itself (numbers, booleans) */
	size_t nowned, capowned;
};

#define FBAG_INIT { 0 }

/* Borrows name and value: they must outlive the bag's use. */
void fbag_add(struct fbag *b, const char *name, const char *value);
void fbag_add_int(struct fbag *b, const char *name, int64_t v);
void fbag_add_bool(struct fbag *b, const char *name, bool v);
/* Adds tag:<key>, tag-key and tag-value entries for one tag. */
void fbag_add_tag(struct fbag *b, const char *key, const char *value);
/* Adds the entry (name a, value c), two malloc'd strings the bag frees. */
void fbag_own_pair(struct fbag *b, char *a, char *c);
void fbag_reset(struct fbag *b);
void fbag_free(struct fbag *b);

bool wildcard_match(const char *pattern, const char *s);
bool filter_set_match(const struct filter_set *fs, const struct fbag *b);
void filter_set_free(struct filter_set *fs);

/* true when name is one of allowed[] (NULL-terminated) or, when allow_tags,
 * tag:<key>, tag-key or tag-value. */
bool filter_name_allowed(const char *name, const char *const *allowed, bool allow_tags);
