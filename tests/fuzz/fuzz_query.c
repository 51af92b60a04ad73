/* libFuzzer target for hostd/query.c. The input is a form body (the seeds
 * are real EC2 requests). If it contains a '\n', the bytes before the first
 * one are also used as a query_pattern_match pattern and query_indices
 * prefix, and the rest is the body.
 *
 * Checked on every input: errors carry a message; accepted queries are
 * strictly sorted, every name and value is within limits and valid UTF-8,
 * query_find finds each parameter; query_indices agrees with a naive
 * scan; query_pattern_match agrees with a segment-by-segment reference. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/query.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* A positive index as query.c defines it: no leading zero, <= 1000000. */
static bool ref_index(const char *s, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || s[0] < '1' || s[0] > '9' || n > 7)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 1000000;
}

/* Splits both on '.'; a pattern segment "N" other than the first is an
 * index, every other segment must be equal. */
static bool ref_pattern_match(const char *pat, const char *name)
{
	bool first = true;

	for (;;) {
		const char *pe = strchr(pat, '.'), *ne = strchr(name, '.');
		size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
		size_t nl = ne ? (size_t)(ne - name) : strlen(name);

		if (!first && pl == 1 && pat[0] == 'N') {
			if (!ref_index(name, nl))
				return false;
		} else if (pl != nl || memcmp(pat, name, pl) != 0) {
			return false;
		}
		if (!pe || !ne)
			return !pe && !ne;
		pat = pe + 1;
		name = ne + 1;
		first = false;
	}
}

static void check_indices(const struct query *q, const char *prefix)
{
	size_t plen = strlen(prefix), n = 0, want = 0;
	unsigned *idx = NULL;
	int r = query_indices(q, prefix, &idx, &n);

	if (plen + 2 > QUERY_MAX_NAME + 2) {
		CHECK(r == -ENAMETOOLONG);
		return;
	}
	CHECK(r == 0);
	CHECK((n == 0) == (idx == NULL));
	for (size_t i = 0; i < n; i++) {
		CHECK(idx[i] >= 1 && idx[i] <= 1000000);
		if (i)
			CHECK(idx[i - 1] < idx[i]);
	}
	/* Naive: every name "<prefix>.<index>" or "<prefix>.<index>.*". */
	for (size_t i = 0; i < q->n; i++) {
		const char *nm = q->p[i].name, *s, *dot;
		size_t len;
		unsigned long v;
		bool seen = false;

		if (strncmp(nm, prefix, plen) != 0 || nm[plen] != '.')
			continue;
		s = nm + plen + 1;
		dot = strchr(s, '.');
		len = dot ? (size_t)(dot - s) : strlen(s);
		if (!ref_index(s, len))
			continue;
		v = strtoul(s, NULL, 10);
		for (size_t k = 0; k < n; k++)
			seen |= idx[k] == v;
		CHECK(seen);
		/* Count distinct values the slow way. */
		seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *o = q->p[j].name, *os, *odot;
			size_t olen;

			if (strncmp(o, prefix, plen) != 0 || o[plen] != '.')
				continue;
			os = o + plen + 1;
			odot = strchr(os, '.');
			olen = odot ? (size_t)(odot - os) : strlen(os);
			seen = ref_index(os, olen) && strtoul(os, NULL, 10) == v;
		}
		want += !seen;
	}
	CHECK(n == want);
	free(idx);
}

static const char *const patterns[] = {
	"Filter.N.Name", "Filter.N.Value.N", "KeyName.N", "NextToken", "MaxResults", "DryRun",
	"TagSpecification.N.Tag.N.Key", "ResourceId.N", "N", "N.N", "A.N.N", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *extra = NULL, err[256];
	const char *body = (const char *)data, *amp;
	size_t blen = size;
	struct query q = { 0 };
	int r;

	if (nl) {
		extra = xstrndup((const char *)data, (size_t)(nl - data));
		body = (const char *)nl + 1;
		blen = size - (size_t)(nl - data) - 1;
	}
	/* Two sources, as the server parses the query string then the body:
	 * split at a '&' so the pairs are the same as in one call. */
	err[0] = '\0';
	amp = memchr(body + blen / 2, '&', blen - blen / 2);
	if (amp) {
		r = query_parse(&q, body, (size_t)(amp - body), err, sizeof(err));
		if (r == 0)
			r = query_parse(&q, amp + 1, blen - (size_t)(amp - body) - 1, err, sizeof(err));
	} else {
		r = query_parse(&q, body, blen, err, sizeof(err));
	}
	if (r < 0) {
		CHECK(r == -EINVAL && err[0] && memchr(err, '\0', sizeof(err)));
		query_free(&q);
		free(extra);
		return 0;
	}
	CHECK(q.n <= QUERY_MAX_PARAMS);
	r = query_finish(&q, err, sizeof(err));
	CHECK(r == 0 || r == -EEXIST);
	for (size_t i = 0; i < q.n; i++) {
		const struct qparam *p = &q.p[i];
		size_t len = strlen(p->name);

		CHECK(len > 0 && len <= QUERY_MAX_NAME && utf8_valid(p->name, len));
		CHECK(strlen(p->value) == p->vlen && utf8_valid(p->value, p->vlen));
		if (i) {
			int c = strcmp(q.p[i - 1].name, p->name);

			CHECK(r == 0 ? c < 0 : c <= 0);
		}
		if (r == 0) {
			CHECK(query_find(&q, p->name) == p);
			CHECK(query_get(&q, p->name) == p->value);
		} else {
			CHECK(query_find(&q, p->name) && !strcmp(query_find(&q, p->name)->name, p->name));
		}
		for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++)
			CHECK(query_pattern_match(patterns[k], p->name) == ref_pattern_match(patterns[k], p->name));
		if (extra)
			CHECK(query_pattern_match(extra, p->name) == ref_pattern_match(extra, p->name));
	}
	if (r == -EEXIST)
		CHECK(err[0] && memchr(err, '\0', sizeof(err)));
	if (r == 0) {
		CHECK(!query_find(&q, "") && !query_get(&q, ""));
		check_indices(&q, "Filter");
		check_indices(&q, "Filter.1.Value");
		check_indices(&q, "KeyName");
		if (extra)
			check_indices(&q, extra);
		query_find(&q, "Action");
		query_find(&q, "Version");
	}
	query_free(&q);
	free(extra);
	return 0;
}
