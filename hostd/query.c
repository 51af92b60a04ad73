#include "hostd/query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

long query_unescape(const char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '+') {
			out[o++] = ' ';
		} else if (in[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hex_digit(in[i + 1]);
			lo = hex_digit(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

static int add(struct query *q, const char *name, size_t nlen, const char *val, size_t vlen,
	       char *err, size_t errlen)
{
	char *n = xmalloc(nlen + 1), *v = xmalloc(vlen + 1);
	long dn, dv;
	int r = -EINVAL;

	dn = query_unescape(name, nlen, n);
	dv = query_unescape(val, vlen, v);
	if (dn < 0 || dv < 0) {
		snprintf(err, errlen, "The query string contains a malformed percent-encoding.");
		goto fail;
	}
	if (dn == 0) {
		snprintf(err, errlen, "The query string contains a parameter with an empty name.");
		goto fail;
	}
	if (dn > QUERY_MAX_NAME || !utf8_valid(n, (size_t)dn)) {
		snprintf(err, errlen, "The query string contains an invalid parameter name.");
		goto fail;
	}
	if (!utf8_valid(v, (size_t)dv)) {
		snprintf(err, errlen, "Value for parameter %s is not valid UTF-8.", n);
		goto fail;
	}
	if (q->n >= QUERY_MAX_PARAMS) {
		snprintf(err, errlen, "The request has more than %d parameters.", QUERY_MAX_PARAMS);
		goto fail;
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->p = realloc(q->p, q->cap * sizeof(*q->p));
		if (!q->p)
			abort();
	}
	q->p[q->n].name = n;
	q->p[q->n].value = v;
	q->p[q->n].vlen = (size_t)dv;
	q->n++;
	return 0;
fail:
	free(n);
	free(v);
	return r;
}

int query_parse(struct query *q, const char *s, size_t len, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;
		int r;

		while (end < len && s[end] != '&')
			end++;
		if (end > i) {
			eq = i;
			while (eq < end && s[eq] != '=')
				eq++;
			if (eq == end)
				r = add(q, s + i, end - i, "", 0, err, errlen);
			else
				r = add(q, s + i, eq - i, s + eq + 1, end - eq - 1, err, errlen);
			if (r < 0)
				return r;
		}
		i = end + 1;
	}
	return 0;
}

static int cmp_param(const void *a, const void *b)
{
	return strcmp(((const struct qparam *)a)->name, ((const struct qparam *)b)->name);
}

int query_finish(struct query *q, char *err, size_t errlen)
{
	if (q->n > 1)
		qsort(q->p, q->n, sizeof(*q->p), cmp_param);
	for (size_t i = 1; i < q->n; i++)
		if (!strcmp(q->p[i - 1].name, q->p[i].name)) {
			snprintf(err, errlen, "The parameter %s is specified more than once.", q->p[i].name);
			return -EEXIST;
		}
	return 0;
}

void query_free(struct query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->p[i].name);
		free(q->p[i].value);
	}
	free(q->p);
	memset(q, 0, sizeof(*q));
}

/* First index whose name is >= key. */
static size_t lower_bound(const struct query *q, const char *key)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(q->p[mid].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct qparam *query_find(const struct query *q, const char *name)
{
	size_t i = lower_bound(q, name);

	if (i < q->n && !strcmp(q->p[i].name, name))
		return &q->p[i];
	return NULL;
}

const char *query_get(const struct query *q, const char *name)
{
	const struct qparam *p = query_find(q, name);

	return p ? p->value : NULL;
}

/* Parses a positive decimal index without leading zeros at s; returns the
 * number of characters used or 0. */
static size_t parse_index(const char *s, unsigned *out)
{
	unsigned long v = 0;
	size_t i = 0;

	if (s[0] < '1' || s[0] > '9')
		return 0;
	while (s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 1000000)
			return 0;
		i++;
	}
	*out = (unsigned)v;
	return i;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int query_indices(const struct query *q, const char *prefix, unsigned **idx, size_t *n)
{
	size_t plen = strlen(prefix), cnt = 0, cap = 0;
	char key[QUERY_MAX_NAME + 2];
	unsigned *out = NULL;

	if (plen + 2 > sizeof(key))
		return -ENAMETOOLONG;
	memcpy(key, prefix, plen);
	key[plen] = '.';
	key[plen + 1] = '\0';
	for (size_t i = lower_bound(q, key); i < q->n; i++) {
		const char *nm = q->p[i].name;
		unsigned v;
		size_t used;

		if (strncmp(nm, key, plen + 1) != 0)
			break;
		used = parse_index(nm + plen + 1, &v);
		if (!used || (nm[plen + 1 + used] != '\0' && nm[plen + 1 + used] != '.'))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			out = realloc(out, cap * sizeof(*out));
			if (!out)
				abort();
		}
		out[cnt++] = v;
	}
	if (cnt > 1) {
		size_t w = 1;

		qsort(out, cnt, sizeof(*out), cmp_uint);
		for (size_t i = 1; i < cnt; i++)
			if (out[i] != out[w - 1])
				out[w++] = out[i];
		cnt = w;
	}
	*idx = out;
	*n = cnt;
	return 0;
}

bool query_pattern_match(const char *pat, const char *name)
{
	const char *start = pat;

	while (*pat && *name) {
		/* An "N" is an index only as a whole dotted segment. */
		if (pat[0] == 'N' && (pat[1] == '.' || pat[1] == '\0') &&
		    pat > start && pat[-1] == '.') {
			unsigned v;
			size_t used = parse_index(name, &v);

			if (!used)
				return false;
			pat++;
			name += used;
			continue;
		}
		if (*pat != *name)
			return false;
		pat++, name++;
	}
	return *pat == '\0' && *name == '\0';
}
