/* A streaming XML writer for EC2 responses. Elements are opened and closed
 * in order; text is escaped; the writer tracks depth so a handler that
 * forgets a close is caught by xml_finish(). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"

struct xml {
	struct buf out;
	int depth;
	const char *stack[32];
	char root[128];
};

void xml_init(struct xml *x);
void xml_free(struct xml *x);
/* <?xml ...?> and the root element <{root}{suffix} xmlns="...">; the name
 * is copied, so callers may pass temporaries. */
void xml_begin_doc(struct xml *x, const char *root, const char *suffix, const char *xmlns);
void xml_open(struct xml *x, const char *name);
void xml_close(struct xml *x);
/* <name>escaped text</name> */
void xml_text(struct xml *x, const char *name, const char *text);
void xml_textn(struct xml *x, const char *name, const char *text, size_t n);
void xml_int(struct xml *x, const char *name, int64_t v);
void xml_double(struct xml *x, const char *name, double v);
void xml_bool(struct xml *x, const char *name, bool v);
/* Timestamp in EC2's ISO 8601 form with milliseconds. */
void xml_time(struct xml *x, const char *name, int64_t ms);
/* Closes everything still open; returns -EPROTO if depth went negative. */
int xml_finish(struct xml *x);

/* Appends s escaped for XML text and attribute values. Characters XML 1.0
 * cannot carry (C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF) become
 * &#xFFFD; so a response always parses. */
void xml_escape(struct buf *b, const char *s, size_t n);
