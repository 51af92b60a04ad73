/* A growable byte buffer, always NUL-terminated. Allocation failure aborts:
 * the daemon cannot do anything useful without memory. */
#pragma once
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *buf_steal(struct buf *b);
