/* A small strict JSON reader (RFC 8259) for the output of helper programs
 * such as `qemu-img info --output=json`. The whole text is parsed into a
 * read-only tree; lookups on the wrong type return NULL/false rather than
 * failing, so callers check only what they use. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json;

/* Nesting deeper than this is refused (the parser recurses). */
#define JSON_MAX_DEPTH 64

/* Parses text[0..n). Returns 0, or -EINVAL for anything that is not one
 * complete JSON value (trailing garbage, bad escapes, invalid UTF-8,
 * strings containing U+0000, too deep). */
int json_parse(const char *text, size_t n, struct json **out);
void json_free(struct json *j);

enum json_type json_type(const struct json *j);
/* The member named key of an object (the last one if repeated), or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* Array length (0 for non-arrays) and element i (NULL out of range). */
size_t json_len(const struct json *arr);
const struct json *json_at(const struct json *arr, size_t i);
/* A string's UTF-8 value, or NULL for non-strings. */
const char *json_str(const struct json *j);
/* An integral number that fits int64_t; false otherwise. */
bool json_int(const struct json *j, int64_t *out);
/* A boolean; false when j is not one. */
bool json_bool(const struct json *j, bool *out);
