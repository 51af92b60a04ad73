/* hostd/query.c: form decoding, limits, duplicates, lookup, list indexes
 * and parameter-name patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/query.h"
#include "lib/buf.h"

/* Parses s (copied to an exactly-sized heap buffer, no NUL, so ASan sees
 * any read past len) and finishes. Returns the first error. */
static int parse_n(struct query *q, const char *s, size_t len, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, s, len);
	err[0] = '\0';
	r = query_parse(q, copy, len, err, errlen);
	free(copy);
	if (r == 0)
		r = query_finish(q, err, errlen);
	return r;
}

static int parse(struct query *q, const char *s, char *err)
{
	return parse_n(q, s, strlen(s), err, 256);
}

/* Expects s to be refused by query_parse with -EINVAL and a message. */
static void expect_bad(const char *s, const char *msg_part)
{
	struct query q = { 0 };
	char err[256];
	int r = parse(&q, s, err);

	if (r != -EINVAL)
		fail_msg("'%s': got %d, want -EINVAL", s, r);
	if (!err[0] || (msg_part && !strstr(err, msg_part)))
		fail_msg("'%s': message '%s' lacks '%s'", s, err, msg_part ? msg_part : "");
	query_free(&q);
}

static void check_value(const struct query *q, const char *name, const char *want)
{
	const struct qparam *p = query_find(q, name);

	if (!p)
		fail_msg("parameter '%s' missing", name);
	assert_string_equal(p->value, want);
	assert_int_equal(p->vlen, strlen(want));
	assert_string_equal(p->name, name);
	assert_ptr_equal(query_get(q, name), p->value);
}

static void test_decode(void **state)
{
	struct query q = { 0 };
	char err[256];

	assert_int_equal(parse(&q, "Action=DescribeTags&b=hello+world&c=%41%62%2a%2A&d=a%20b%2Bc"
				   "&e=%26x%3Dy&%41%2e1=v&x+y=1&f=100%25",
			       err), 0);
	assert_int_equal(q.n, 8);
	check_value(&q, "Action", "DescribeTags");
	check_value(&q, "b", "hello world");
	check_value(&q, "c", "Ab**");
	check_value(&q, "d", "a b+c");
	check_value(&q, "e", "&x=y");
	check_value(&q, "A.1", "v");
	check_value(&q, "x y", "1");
	check_value(&q, "f", "100%");
	assert_null(query_find(&q, "x+y"));
	assert_null(query_find(&q, "%41.1"));
	query_free(&q);
	assert_int_equal(q.n, 0);
	assert_null(q.p);
}

static void test_unescape_direct(void **state)
{
	char out[16];
	char *in = malloc(3);

	/* Exactly-sized inputs: an escape at the very end is fine, a cut one
	 * is refused without reading past len. */
	memcpy(in, "%4a", 3);
	assert_int_equal(query_unescape(in, 3, out), 1);
	assert_string_equal(out, "J");
	assert_int_equal(query_unescape(in, 2, out), -EINVAL);
	assert_int_equal(query_unescape(in, 1, out), -EINVAL);
	memcpy(in, "a+%", 3);
	assert_int_equal(query_unescape(in, 2, out), 2);
	assert_string_equal(out, "a ");
	assert_int_equal(query_unescape(in, 3, out), -EINVAL);
	assert_int_equal(query_unescape(in, 0, out), 0);
	assert_string_equal(out, "");
	free(in);
	assert_int_equal(query_unescape("%00", 3, out), 1);
	assert_int_equal(out[0], '\0');
	assert_int_equal(query_unescape("%fF%Ff", 6, out), 2);
	assert_int_equal((unsigned char)out[0], 0xff);
	assert_int_equal((unsigned char)out[1], 0xff);
	assert_int_equal(query_unescape("%+1", 3, out), -EINVAL);
	assert_int_equal(query_unescape("%-1", 3, out), -EINVAL);
	assert_int_equal(query_unescape("% 1", 3, out), -EINVAL);
}

static void test_malformed_percent(void **state)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%G1", "a=%1G", "a=%g0", "%=1", "a=b%", "a=%%41", "x=1&a=%4",
		"%4=1", "a%=1", "a=%x", "a=%0", "a=%\xc3\xa9", "a=%1%", "a=ok&b=%zz&c=ok",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], "percent");
}

static void test_nul_and_utf8(void **state)
{
	static const char *const bad[] = {
		"a=%00", "%00=1", "a=x%00y", "a%00b=1",
		"a=%FF", "a=%fe", "a=%C3", "a=%C3%28", "a=%80", "a=%BF", "a=%C0%AF", "a=%C1%BF",
		"a=%E0%80%AF", "a=%E0%9F%BF", "a=%F0%80%80%AF", "a=%F0%8F%BF%BF", "a=%ED%A0%80",
		"a=%ED%BF%BF", "a=%ED%B0%80", "a=%F4%90%80%80", "a=%F5%80%80%80", "a=%F8%88%80%80%80",
		"a=%FC%84%80%80%80%80", "a=%E2%82", "a=%F0%9F%98", "a=%E2%28%A1", "a=x%C3",
		"%FF=1", "%C0%AF=1", "%ED%A0%80=1", "a=\xff", "\xc3=1", "a=\xed\xa0\x80",
	};
	static const struct { const char *in, *want; } good[] = {
		{ "a=%C3%A9", "\xc3\xa9" },
		{ "a=%F0%9F%98%80", "\xf0\x9f\x98\x80" },
		{ "a=%EF%BF%BD", "\xef\xbf\xbd" },
		{ "a=%ED%9F%BF", "\xed\x9f\xbf" },       /* U+D7FF, just below the surrogates */
		{ "a=%EE%80%80", "\xee\x80\x80" },       /* U+E000, just above */
		{ "a=%F4%8F%BF%BF", "\xf4\x8f\xbf\xbf" }, /* U+10FFFF */
		{ "a=%C2%80", "\xc2\x80" },              /* smallest 2-byte */
		{ "a=%E0%A0%80", "\xe0\xa0\x80" },       /* smallest 3-byte */
		{ "a=%F0%90%80%80", "\xf0\x90\x80\x80" }, /* smallest 4-byte */
		{ "a=%7F%01%1f", "\x7f\x01\x1f" },       /* controls are UTF-8; XML escapes them */
		{ "a=\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], NULL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct query q = { 0 };
		char err[256];

		if (parse(&q, good[i].in, err) != 0)
			fail_msg("'%s' refused: %s", good[i].in, err);
		check_value(&q, "a", good[i].want);
		query_free(&q);
	}
	/* A bad name is reported as a bad name, a bad value names its parameter. */
	expect_bad("%FF=1", "name");
	expect_bad("Key=%FF", "Key");
}

static void test_shapes(void **state)
{
	static const char *const empty_name[] = { "=1", "=", "a=1&=2", "=&a=1", "&=x&" };
	struct query q = { 0 };
	char err[256];

	for (size_t i = 0; i < sizeof(empty_name) / sizeof(empty_name[0]); i++)
		expect_bad(empty_name[i], "empty");

	assert_int_equal(parse(&q, "", err), 0);
	assert_int_equal(q.n, 0);
	assert_null(query_find(&q, ""));
	assert_null(query_find(&q, "a"));
	query_free(&q);

	assert_int_equal(parse(&q, "&&&", err), 0);
	assert_int_equal(q.n, 0);
	query_free(&q);

	assert_int_equal(parse(&q, "&a=1&&b=2&", err), 0);
	assert_int_equal(q.n, 2);
	check_value(&q, "a", "1");
	check_value(&q, "b", "2");
	query_free(&q);

	assert_int_equal(parse(&q, "a&b=&c==&d=x=y&e=%3D&%3D=eq&+=sp", err), 0);
	assert_int_equal(q.n, 7);
	check_value(&q, "a", "");
	check_value(&q, "b", "");
	check_value(&q, "c", "=");
	check_value(&q, "d", "x=y");
	check_value(&q, "e", "=");
	check_value(&q, "=", "eq");
	check_value(&q, " ", "sp");
	query_free(&q);

	/* A single pair with no '&' at all, and one without '='. */
	assert_int_equal(parse(&q, "Action", err), 0);
	check_value(&q, "Action", "");
	query_free(&q);
}

static void test_duplicates(void **state)
{
	struct query q = { 0 };
	char err[256];

	assert_int_equal(query_parse(&q, "a=1&b=2&a=3", 11, err, sizeof(err)), 0);
	assert_int_equal(query_finish(&q, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "a"));
	assert_non_null(strstr(err, "more than once"));
	query_free(&q);

	/* Spelled differently on the wire, the same after decoding. */
	assert_int_equal(parse(&q, "Key+Name=1&Key%20Name=2", err), -EEXIST);
	assert_non_null(strstr(err, "Key Name"));
	query_free(&q);
	assert_int_equal(parse(&q, "a&a=", err), -EEXIST);
	query_free(&q);
	assert_int_equal(parse(&q, "Filter.1.Name=x&%46ilter.1.Name=x", err), -EEXIST);
	assert_non_null(strstr(err, "Filter.1.Name"));
	query_free(&q);

	/* Across the query string and the body. */
	assert_int_equal(query_parse(&q, "Action=A&Version=1", 18, err, sizeof(err)), 0);
	assert_int_equal(query_parse(&q, "x=1&Version=2", 13, err, sizeof(err)), 0);
	assert_int_equal(query_finish(&q, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "Version"));
	query_free(&q);

	/* Case and prefixes are distinct names. */
	assert_int_equal(parse(&q, "a=1&A=2&aa=3&a.1=4&a.=5", err), 0);
	assert_int_equal(q.n, 5);
	check_value(&q, "a", "1");
	check_value(&q, "A", "2");
	query_free(&q);

	/* Many distinct names with one duplicate pair in the middle. */
	{
		struct buf b = BUF_INIT;

		for (int i = 0; i < 500; i++)
			buf_printf(&b, "%sp%d=%d", i ? "&" : "", (i * 37) % 500, i);
		buf_printf(&b, "&p%d=dup", 250);
		assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), -EEXIST);
		assert_non_null(strstr(err, "p250"));
		query_free(&q);
		buf_free(&b);
	}

	/* A small err buffer is truncated, not overrun. */
	{
		char small[8];

		memset(small, 'X', sizeof(small));
		assert_int_equal(query_parse(&q, "long_name=1&long_name=2", 23, small, sizeof(small)), 0);
		assert_int_equal(query_finish(&q, small, sizeof(small)), -EEXIST);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		query_free(&q);
	}
}

static void test_limits(void **state)
{
	struct query q = { 0 };
	struct buf b = BUF_INIT;
	char err[256], name[QUERY_MAX_NAME + 2];
	char *enc;

	/* Exactly QUERY_MAX_PARAMS is fine; one more is refused. */
	for (int i = 0; i < QUERY_MAX_PARAMS; i++)
		buf_printf(&b, "%sk%d=v", i ? "&" : "", i);
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(q.n, QUERY_MAX_PARAMS);
	check_value(&q, "k0", "v");
	check_value(&q, "k4095", "v");
	query_free(&q);
	buf_adds(&b, "&one=more");
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "4096"));
	query_free(&q);
	/* The limit counts across calls. */
	b.len -= strlen("&one=more");
	b.data[b.len] = '\0';
	assert_int_equal(query_parse(&q, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(query_parse(&q, "x=1", 3, err, sizeof(err)), -EINVAL);
	query_free(&q);
	/* Empty pairs ("&&") do not count. */
	buf_reset(&b);
	for (int i = 0; i < QUERY_MAX_PARAMS; i++)
		buf_printf(&b, "&&k%d=v&", i);
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(q.n, QUERY_MAX_PARAMS);
	query_free(&q);
	buf_free(&b);

	/* Name length is counted after decoding. */
	memset(name, 'n', QUERY_MAX_NAME);
	name[QUERY_MAX_NAME] = '\0';
	buf_printf(&b, "%s=1", name);
	assert_int_equal(parse(&q, b.data, err), 0);
	check_value(&q, name, "1");
	query_free(&q);
	buf_reset(&b);
	buf_printf(&b, "%sn=1", name);
	assert_int_equal(parse(&q, b.data, err), -EINVAL);
	assert_non_null(strstr(err, "name"));
	query_free(&q);
	buf_reset(&b);
	for (int i = 0; i < QUERY_MAX_NAME; i++)
		buf_adds(&b, "%6E");
	buf_adds(&b, "=enc");
	assert_int_equal(parse(&q, b.data, err), 0);
	check_value(&q, name, "enc");
	query_free(&q);
	buf_reset(&b);
	/* 128 two-byte characters are 256 bytes: the limit is in bytes. */
	for (int i = 0; i < QUERY_MAX_NAME / 2; i++)
		buf_adds(&b, "%C3%A9");
	buf_adds(&b, "=1");
	assert_int_equal(parse(&q, b.data, err), 0);
	query_free(&q);
	buf_reset(&b);
	buf_adds(&b, "x");
	for (int i = 0; i < QUERY_MAX_NAME / 2; i++)
		buf_adds(&b, "%C3%A9");
	buf_adds(&b, "=1");
	assert_int_equal(parse(&q, b.data, err), -EINVAL);
	query_free(&q);
	buf_reset(&b);

	/* Values have no such limit. */
	enc = malloc(200001);
	memset(enc, 'v', 200000);
	enc[200000] = '\0';
	buf_printf(&b, "big=%s&after=1", enc);
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
	check_value(&q, "big", enc);
	check_value(&q, "after", "1");
	query_free(&q);
	free(enc);
	buf_free(&b);
}

static void test_error_keeps_query_freeable(void **state)
{
	struct query q = { 0 };
	char err[256];

	/* Pairs before the bad one were added; query_free releases them. */
	assert_int_equal(query_parse(&q, "a=1&b=2&c=%zz&d=4", 17, err, sizeof(err)), -EINVAL);
	assert_true(q.n <= 2);
	query_free(&q);
	assert_int_equal(q.n, 0);
	query_free(&q); /* twice is harmless */
}

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_find_many(void **state)
{
	enum { N = 2000 };
	struct query q = { 0 };
	struct buf b = BUF_INIT;
	int order[N];
	unsigned seed = 7;
	char err[256], name[64], want[64];

	for (int i = 0; i < N; i++)
		order[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(lcg(&seed) % (unsigned)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	/* Shuffled, with names sharing prefixes and differing in length. */
	for (int i = 0; i < N; i++)
		buf_printf(&b, "%sP%d.x%d=v%d", i ? "&" : "", order[i] % 97, order[i], order[i]);
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(q.n, N);
	for (size_t i = 1; i < q.n; i++)
		assert_true(strcmp(q.p[i - 1].name, q.p[i].name) < 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "P%d.x%d", i % 97, i);
		snprintf(want, sizeof(want), "v%d", i);
		check_value(&q, name, want);
		/* Neighbours that are not present. */
		snprintf(name, sizeof(name), "P%d.x%d ", i % 97, i);
		assert_null(query_find(&q, name));
		snprintf(name, sizeof(name), "P%d.x", i % 97);
		assert_null(query_find(&q, name));
		snprintf(name, sizeof(name), "P%d.x%d", (i + 1) % 97, i);
		assert_null(query_find(&q, name));
	}
	assert_null(query_find(&q, ""));
	assert_null(query_find(&q, "A"));      /* before the first */
	assert_null(query_find(&q, "Q"));      /* after the last */
	assert_null(query_find(&q, "\xf4\x8f\xbf\xbf"));
	assert_ptr_equal(query_find(&q, q.p[0].name), &q.p[0]);
	assert_ptr_equal(query_find(&q, q.p[N - 1].name), &q.p[N - 1]);
	assert_null(query_get(&q, "nope"));
	query_free(&q);
	buf_free(&b);

	/* Sizes 1..9 exercise every shape of the binary search. */
	for (int n = 1; n < 10; n++) {
		buf_reset(&b);
		for (int i = n - 1; i >= 0; i--)
			buf_printf(&b, "%sk%c=%d", i == n - 1 ? "" : "&", 'a' + 2 * i, i);
		assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "k%c", 'a' + 2 * i);
			snprintf(want, sizeof(want), "%d", i);
			check_value(&q, name, want);
			snprintf(name, sizeof(name), "k%c", 'a' + 2 * i + 1);
			assert_null(query_find(&q, name));
		}
		assert_null(query_find(&q, "k"));
		assert_null(query_find(&q, "k`"));
		query_free(&q);
	}
	buf_free(&b);
}

static void expect_indices(const char *form, const char *prefix, const unsigned *want, size_t nwant)
{
	struct query q = { 0 };
	unsigned *idx = (unsigned *)1;
	size_t n = 12345;
	char err[256];

	if (parse(&q, form, err) != 0)
		fail_msg("'%s': %s", form, err);
	assert_int_equal(query_indices(&q, prefix, &idx, &n), 0);
	if (n != nwant)
		fail_msg("'%s' prefix %s: %zu indexes, want %zu", form, prefix, n, nwant);
	if (!nwant)
		assert_null(idx);
	for (size_t i = 0; i < n; i++)
		if (idx[i] != want[i])
			fail_msg("'%s' prefix %s: [%zu] = %u, want %u", form, prefix, i, idx[i], want[i]);
	free(idx);
	query_free(&q);
}

static void test_indices(void **state)
{
	static const char form[] =
		"Filter.3.Value.2=x&Filter.1.Name=a&Filter.10.Name=b&Filter.0.Name=c&Filter.01.Name=d"
		"&Filter.a.Name=e&Filter.2=f&Filter.3.Name=g&Filter.1000001.Name=h"
		"&Filter.99999999999999999999.Name=i&Filter.1000000.Name=j&FilterX.5=k&Filter=l"
		"&Filter.=m&Filter.4x=n&Filters.7=o&Filter.5.=p&Filter.-6=q&Filter.+7=r&Filter.%208=s"
		"&Filter..9=t&Filter-.11=u&Filter/.12=v&filter.13=w&Filter.3.Value.1=y&Filter.10.Value.1=z"
		"&Filter.0=aa&Filter.00=ab&Filter.4294967297.Name=ac&Filter.18446744073709551617=ad";
	static const unsigned want[] = { 1, 2, 3, 5, 10, 1000000 };
	static const unsigned want_values[] = { 1, 2 };
	static const unsigned want_one[] = { 1 };

	expect_indices(form, "Filter", want, 6);
	expect_indices(form, "Filter.3.Value", want_values, 2);
	expect_indices(form, "Filter.10.Value", want_one, 1);
	expect_indices(form, "Filter.1.Value", NULL, 0);
	expect_indices(form, "Filte", NULL, 0);
	expect_indices(form, "FilterX", (const unsigned[]){ 5 }, 1);
	expect_indices(form, "Nope", NULL, 0);
	expect_indices("", "Filter", NULL, 0);
	expect_indices("Filter=1&Filter.=2", "Filter", NULL, 0);
	expect_indices("KeyName.2=b&KeyName.1=a&KeyName.2.x=c", "KeyName", (const unsigned[]){ 1, 2 }, 2);
	/* Sorting is numeric, not by name ("10" < "9" as strings). */
	expect_indices("A.9=1&A.10=1&A.100=1&A.2=1", "A", (const unsigned[]){ 2, 9, 10, 100 }, 4);
}

static void test_indices_many(void **state)
{
	enum { N = 600 };
	struct query q = { 0 };
	struct buf b = BUF_INIT;
	unsigned *idx = NULL, seed = 99, used[N];
	size_t n = 0, nused = 0;
	char err[256];

	/* Random distinct indexes, each with several sub-parameters, among
	 * unrelated parameters sorting before and after. */
	buf_adds(&b, "Action=DescribeTags&Version=2016-11-15&Fil=1&Filter-=2&Filtes.1=3");
	while (nused < N) {
		unsigned v = lcg(&seed) % 100000 + 1;
		bool dup = false;

		for (size_t i = 0; i < nused; i++)
			dup |= used[i] == v;
		if (dup)
			continue;
		used[nused++] = v;
		buf_printf(&b, "&Filter.%u.Name=n&Filter.%u.Value.1=a&Filter.%u.Value.2=b", v, v, v);
	}
	assert_int_equal(parse_n(&q, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(query_indices(&q, "Filter", &idx, &n), 0);
	assert_int_equal(n, N);
	for (size_t i = 1; i < n; i++)
		assert_true(idx[i - 1] < idx[i]);
	for (size_t i = 0; i < N; i++) {
		bool found = false;

		for (size_t k = 0; k < n; k++)
			found |= idx[k] == used[i];
		assert_true(found);
	}
	free(idx);
	query_free(&q);
	buf_free(&b);
}

static void test_indices_prefix_limit(void **state)
{
	struct query q = { 0 };
	unsigned *idx = NULL;
	size_t n = 0;
	char prefix[QUERY_MAX_NAME + 2];
	char err[256];
	struct buf b = BUF_INIT;

	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	assert_int_equal(query_indices(&q, prefix, &idx, &n), -ENAMETOOLONG);
	/* A 254-character prefix plus ".1" is a legal 256-character name. */
	prefix[QUERY_MAX_NAME - 2] = '\0';
	buf_printf(&b, "%s.1=x&%s.2=y", prefix, prefix);
	assert_int_equal(parse(&q, b.data, err), 0);
	assert_int_equal(query_indices(&q, prefix, &idx, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	free(idx);
	prefix[QUERY_MAX_NAME] = '\0';
	memset(prefix, 'p', QUERY_MAX_NAME);
	assert_int_equal(query_indices(&q, prefix, &idx, &n), 0);
	assert_int_equal(n, 0);
	query_free(&q);
	buf_free(&b);
}

static void test_pattern_match(void **state)
{
	static const struct { const char *pat, *name; bool want; } t[] = {
		{ "Filter.N.Value.N", "Filter.1.Value.1", true },
		{ "Filter.N.Value.N", "Filter.2.Value.10", true },
		{ "Filter.N.Value.N", "Filter.1000000.Value.999999", true },
		{ "Filter.N.Value.N", "Filter.1000001.Value.1", false },
		{ "Filter.N.Value.N", "Filter.1.Value.99999999999999999999999", false },
		{ "Filter.N.Value.N", "Filter.0.Value.1", false },
		{ "Filter.N.Value.N", "Filter.1.Value.0", false },
		{ "Filter.N.Value.N", "Filter.01.Value.1", false },
		{ "Filter.N.Value.N", "Filter.1.Value", false },
		{ "Filter.N.Value.N", "Filter.1.Value.", false },
		{ "Filter.N.Value.N", "Filter.1.Value.1.", false },
		{ "Filter.N.Value.N", "Filter.1.Value.1x", false },
		{ "Filter.N.Value.N", "Filter.1.value.1", false },
		{ "Filter.N.Value.N", "Filter.N.Value.N", false },
		{ "Filter.N.Value.N", "Filter.a.Value.1", false },
		{ "Filter.N.Value.N", "Filter.-1.Value.1", false },
		{ "Filter.N.Value.N", "Filter.+1.Value.1", false },
		{ "Filter.N.Value.N", "Filter. 1.Value.1", false },
		{ "Filter.N.Value.N", "Filter.1 .Value.1", false },
		{ "Filter.N.Value.N", "", false },
		{ "Filter.N.Name", "Filter.1.Name", true },
		{ "Filter.N.Name", "Filter.0.Name", false },
		{ "Filter.N.Name", "Filter.1", false },
		{ "Filter.N.Name", "Filter.1.Name.x", false },
		{ "Filter.N.Name", "Filter.1.Names", false },
		{ "Filter.N.Name", "Filter.1.Nam", false },
		{ "Filter.N.Name", "Filter.12.Name", true },
		{ "Filter.N.Name", "Filter..Name", false },
		{ "Filter.N.Name", "XFilter.1.Name", false },
		{ "KeyName.N", "KeyName.1", true },
		{ "KeyName.N", "KeyName.1000000", true },
		{ "KeyName.N", "KeyName", false },
		{ "KeyName.N", "KeyName.", false },
		{ "KeyName.N", "KeyName.N", false },
		{ "KeyName.N", "KeyName.1.2", false },
		{ "KeyName", "KeyName", true },
		{ "KeyName", "KeyName.1", false },
		{ "KeyName", "KeyNam", false },
		{ "KeyName", "keyname", false },
		/* A leading N and an N inside a word are literal letters. */
		{ "NextToken", "NextToken", true },
		{ "NextToken", "1extToken", false },
		{ "NextToken", "1", false },
		{ "NextToken", "NextTokens", false },
		{ "N", "N", true },
		{ "N", "1", false },
		{ "N.N", "N.1", true },
		{ "N.N", "1.1", false },
		{ "KeyN", "Key1", false },
		{ "KeyN", "KeyN", true },
		{ "A.Nx", "A.Nx", true },
		{ "A.Nx", "A.1x", false },
		{ "A.xN", "A.x1", false },
		{ "A.N.N", "A.1.2", true },
		{ "A.N.N", "A.12", false },
		{ "TagSpecification.N.Tag.N.Key", "TagSpecification.3.Tag.4.Key", true },
		{ "TagSpecification.N.Tag.N.Key", "TagSpecification.3.Tag.4.Value", false },
		{ "", "", true },
		{ "", "a", false },
		{ "a", "", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (query_pattern_match(t[i].pat, t[i].name) != t[i].want)
			fail_msg("query_pattern_match(\"%s\", \"%s\") != %d", t[i].pat, t[i].name, t[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_unescape_direct),
		cmocka_unit_test(test_malformed_percent),
		cmocka_unit_test(test_nul_and_utf8),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_error_keeps_query_freeable),
		cmocka_unit_test(test_find_many),
		cmocka_unit_test(test_indices),
		cmocka_unit_test(test_indices_many),
		cmocka_unit_test(test_indices_prefix_limit),
		cmocka_unit_test(test_pattern_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
