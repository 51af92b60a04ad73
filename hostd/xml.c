#include "hostd/xml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void xml_init(struct xml *x)
{
	memset(x, 0, sizeof(*x));
}

void xml_free(struct xml *x)
{
	buf_free(&x->out);
}

/* Bytes that need a look: markup, CR, C0 controls, and 0xEF (the lead byte
 * of U+FFFE/U+FFFF). Everything else is copied in runs. */
static const unsigned char special[256] = {
	[0 ... 8] = 1, [11 ... 0x1f] = 1, /* not TAB (9) or LF (10) */
	['<'] = 1, ['>'] = 1, ['&'] = 1, ['"'] = 1, ['\''] = 1, [0xef] = 1,
};

void xml_escape(struct buf *b, const char *s, size_t n)
{
	size_t start = 0;

	buf_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t skip = 0;

		if (!special[c])
			continue;
		switch (c) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\r': rep = "&#xD;"; break; /* keep CR through XML's EOL normalisation */
		case 0xef:
			/* U+FFFE and U+FFFF (EF BF BE/BF) are not XML characters. */
			if (i + 2 < n && (unsigned char)s[i + 1] == 0xbf && ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
				rep = "&#xFFFD;", skip = 2;
			break;
		default:
			rep = "&#xFFFD;"; /* C0 control */
		}
		if (rep) {
			buf_add(b, s + start, i - start);
			buf_adds(b, rep);
			i += skip;
			start = i + 1;
		}
	}
	buf_add(b, s + start, n - start);
}

void xml_begin_doc(struct xml *x, const char *root, const char *suffix, const char *xmlns)
{
	if (snprintf(x->root, sizeof(x->root), "%s%s", root, suffix ? suffix : "") >= (int)sizeof(x->root))
		abort(); /* names come from the action table, never from input */
	buf_adds(&x->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
	buf_adds(&x->out, x->root);
	if (xmlns) {
		buf_adds(&x->out, " xmlns=\"");
		xml_escape(&x->out, xmlns, strlen(xmlns));
		buf_addc(&x->out, '"');
	}
	buf_addc(&x->out, '>');
	x->stack[x->depth++] = x->root;
}

/* "<name>" or "</name>" with one reservation: the hot path of every response. */
static void put_tag(struct buf *b, const char *open, const char *name)
{
	size_t ol = strlen(open), nl = strlen(name);
	char *p;

	buf_reserve(b, ol + nl + 1);
	p = b->data + b->len;
	memcpy(p, open, ol), p += ol;
	memcpy(p, name, nl), p += nl;
	*p++ = '>';
	*p = '\0';
	b->len = (size_t)(p - b->data);
}

void xml_open(struct xml *x, const char *name)
{
	if (x->depth < 0)
		return; /* already closed too often: keep it negative for xml_finish */
	if (x->depth >= (int)ARRAY_SIZE(x->stack))
		abort(); /* a handler bug, never input-driven */
	put_tag(&x->out, "<", name);
	x->stack[x->depth++] = name;
}

void xml_close(struct xml *x)
{
	if (x->depth <= 0) {
		x->depth = -1;
		return;
	}
	x->depth--;
	put_tag(&x->out, "</", x->stack[x->depth]);
}

void xml_textn(struct xml *x, const char *name, const char *text, size_t n)
{
	size_t nl = strlen(name);
	struct buf *b = &x->out;
	char *p;

	/* One reservation for the common, nothing-to-escape case. */
	buf_reserve(b, 2 * nl + 5 + n);
	p = b->data + b->len;
	*p++ = '<';
	memcpy(p, name, nl), p += nl;
	*p++ = '>';
	b->len = (size_t)(p - b->data);
	xml_escape(b, text, n);
	buf_reserve(b, nl + 3);
	p = b->data + b->len;
	*p++ = '<', *p++ = '/';
	memcpy(p, name, nl), p += nl;
	*p++ = '>';
	*p = '\0';
	b->len = (size_t)(p - b->data);
}

void xml_text(struct xml *x, const char *name, const char *text)
{
	xml_textn(x, name, text ? text : "", text ? strlen(text) : 0);
}

void xml_int(struct xml *x, const char *name, int64_t v)
{
	buf_printf(&x->out, "<%s>%" PRId64 "</%s>", name, v, name);
}

void xml_double(struct xml *x, const char *name, double v)
{
	buf_printf(&x->out, "<%s>%.15g</%s>", name, v, name);
}

void xml_bool(struct xml *x, const char *name, bool v)
{
	buf_printf(&x->out, "<%s>%s</%s>", name, v ? "true" : "false", name);
}

void xml_time(struct xml *x, const char *name, int64_t ms)
{
	char ts[25];

	iso8601_ms(ms, ts);
	xml_text(x, name, ts);
}

int xml_finish(struct xml *x)
{
	if (x->depth < 0)
		return -EPROTO;
	while (x->depth > 0)
		xml_close(x);
	return 0;
}
