/* EC2 resource ids: a prefix, a dash and 17 lowercase hex digits. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define ID_HEX_LEN 17
#define ID_MAX 64

/* Writes "<prefix>-<17 hex>" into out (ID_MAX bytes). Returns 0 or -errno. */
int id_new(const char *prefix, char *out);
/* true when s is "<prefix>-" followed by 8 or 17 lowercase hex digits
 * (EC2 still accepts the old 8-digit form). */
bool id_valid(const char *prefix, const char *s);
/* A random version-4 UUID (request ids); out needs 37 bytes. */
int uuid_v4(char out[37]);
