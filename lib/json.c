#include "lib/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"

struct json {
	enum json_type type;
	bool b;
	char *s;              /* strings: the value; numbers: their text */
	size_t n, cap;        /* children of arrays and objects */
	struct json **items;
	char **keys;          /* objects only, parallel to items */
};

struct parser {
	const char *p, *end;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | cp >> 6));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | cp >> 12));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | cp >> 18));
		buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A string starting at the opening quote; *out is malloc'd. */
static int parse_string(struct parser *ps, char **out)
{
	struct buf b = BUF_INIT;

	ps->p++; /* the opening quote */
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		unsigned cp, lo;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			buf_addc(&b, (char)c);
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			goto bad;
		switch (ps->p[1]) {
		case '"': buf_addc(&b, '"'); break;
		case '\\': buf_addc(&b, '\\'); break;
		case '/': buf_addc(&b, '/'); break;
		case 'b': buf_addc(&b, '\b'); break;
		case 'f': buf_addc(&b, '\f'); break;
		case 'n': buf_addc(&b, '\n'); break;
		case 'r': buf_addc(&b, '\r'); break;
		case 't': buf_addc(&b, '\t'); break;
		case 'u':
			if (ps->end - ps->p < 6 || hex4(ps->p + 2, &cp) < 0)
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad; /* a lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' ||
				    hex4(ps->p + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				ps->p += 6;
			}
			if (cp == 0)
				goto bad; /* C strings cannot carry it */
			put_utf8(&b, cp);
			ps->p += 4;
			break;
		default:
			goto bad;
		}
		ps->p += 2;
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++; /* the closing quote */
	buf_add(&b, "", 0);
	/* Raw bytes were copied unchecked; one pass validates everything. */
	if (!utf8_valid(b.data, b.len))
		goto bad;
	*out = buf_steal(&b);
	return 0;
bad:
	buf_free(&b);
	return -EINVAL;
}

static bool is_digit(const struct parser *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static int parse_number(struct parser *ps, struct json *j)
{
	const char *start = ps->p;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (!is_digit(ps))
		return -EINVAL;
	if (*ps->p == '0')
		ps->p++;
	else
		while (is_digit(ps))
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!is_digit(ps))
			return -EINVAL;
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps))
			return -EINVAL;
		while (is_digit(ps))
			ps->p++;
	}
	j->type = JSON_NUMBER;
	j->s = xstrndup(start, (size_t)(ps->p - start));
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return -EINVAL;
	ps->p += n;
	return 0;
}

static void add_child(struct json *j, char *key, struct json *child)
{
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 4;
		j->items = realloc(j->items, j->cap * sizeof(*j->items));
		if (!j->items)
			abort();
		if (j->type == JSON_OBJECT) {
			j->keys = realloc(j->keys, j->cap * sizeof(*j->keys));
			if (!j->keys)
				abort();
		}
	}
	if (j->type == JSON_OBJECT)
		j->keys[j->n] = key;
	j->items[j->n++] = child;
}

static int parse_value(struct parser *ps, int depth, struct json **out);

/* Arrays and objects: the opening bracket is at ps->p. */
static int parse_container(struct parser *ps, int depth, struct json *j)
{
	bool obj = *ps->p == '{';
	char close = obj ? '}' : ']';

	j->type = obj ? JSON_OBJECT : JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct json *child = NULL;
		char *key = NULL;

		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &key) < 0)
				return -EINVAL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return -EINVAL;
			}
			ps->p++;
		}
		if (parse_value(ps, depth + 1, &child) < 0) {
			free(key);
			return -EINVAL;
		}
		add_child(j, key, child);
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return -EINVAL;
	}
}

static int parse_value(struct parser *ps, int depth, struct json **out)
{
	struct json *j;
	int r;

	if (depth > JSON_MAX_DEPTH)
		return -EINVAL;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EINVAL;
	j = xcalloc(1, sizeof(*j));
	switch (*ps->p) {
	case '{':
	case '[':
		r = parse_container(ps, depth, j);
		break;
	case '"':
		j->type = JSON_STRING;
		r = parse_string(ps, &j->s);
		break;
	case 't':
		j->type = JSON_BOOL;
		j->b = true;
		r = literal(ps, "true");
		break;
	case 'f':
		j->type = JSON_BOOL;
		r = literal(ps, "false");
		break;
	case 'n':
		j->type = JSON_NULL;
		r = literal(ps, "null");
		break;
	default:
		r = parse_number(ps, j);
		break;
	}
	if (r < 0) {
		json_free(j);
		return r;
	}
	*out = j;
	return 0;
}

int json_parse(const char *text, size_t n, struct json **out)
{
	struct parser ps = { text, text + n };
	struct json *j = NULL;

	if (parse_value(&ps, 0, &j) < 0)
		return -EINVAL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_free(j);
		return -EINVAL;
	}
	*out = j;
	return 0;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->s);
	free(j);
}

enum json_type json_type(const struct json *j) { return j ? j->type : JSON_NULL; }

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (size_t i = obj->n; i-- > 0;)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

size_t json_len(const struct json *arr)
{
	return arr && arr->type == JSON_ARRAY ? arr->n : 0;
}

const struct json *json_at(const struct json *arr, size_t i)
{
	return i < json_len(arr) ? arr->items[i] : NULL;
}

const char *json_str(const struct json *j)
{
	return j && j->type == JSON_STRING ? j->s : NULL;
}

bool json_int(const struct json *j, int64_t *out)
{
	int64_t v;

	if (!j || j->type != JSON_NUMBER || strpbrk(j->s, ".eE"))
		return false;
	if (parse_int64(j->s, &v) < 0)
		return false;
	*out = v;
	return true;
}

bool json_bool(const struct json *j, bool *out)
{
	if (!j || j->type != JSON_BOOL)
		return false;
	*out = j->b;
	return true;
}
