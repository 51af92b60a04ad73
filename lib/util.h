/* Small helpers shared by every module. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* systemd-style scope cleanup. */
static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* Allocating helpers that abort on failure (see buf.h for why). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* Value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Colon-separated lowercase hex ("ab:cd:..."); out needs 3n bytes. */
void hex_colon_encode(const unsigned char *in, size_t n, char *out);

/* Standard base64 with padding. Returns a malloc'd NUL-terminated string. */
char *base64_encode(const unsigned char *in, size_t n);
/* Decodes standard base64, ignoring ASCII whitespace; padding optional.
 * Returns 0 and a malloc'd buffer, or -EINVAL on bad input. */
int base64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen);

/* Fills buf with cryptographically random bytes (OpenSSL RAND_bytes). */
int random_bytes(void *buf, size_t n);

/* Constant-time comparison of two equal-length byte strings. */
/* Whether s is one of l[0..n). */
bool strv_contains(const char *const *l, size_t n, const char *s);

bool ct_equal(const void *a, const void *b, size_t n);

/* true when s is valid UTF-8 (no overlongs, no surrogates, no NUL) and
 * free of U+FFFE/U+FFFF, which XML responses could not carry back. */
bool utf8_valid(const char *s, size_t n);
/* Number of code points of valid UTF-8. */
size_t utf8_len(const char *s, size_t n);

/* Strict decimal parsing of the whole string. */
int parse_int64(const char *s, int64_t *out);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t now_ms(void);
/* ISO 8601 UTC with milliseconds, as EC2 prints timestamps:
 * 2024-01-02T03:04:05.678Z; out needs 25 bytes. */
void iso8601_ms(int64_t ms, char out[25]);
