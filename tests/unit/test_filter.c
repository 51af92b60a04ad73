/* hostd/filter.c: EC2 wildcard matching, filter-set semantics, the bag of
 * (name, value) pairs and the allowed-name check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostd/filter.h"
#include "lib/util.h"

static void check_match(const char *pat, const char *s, bool want)
{
	if (wildcard_match(pat, s) != want)
		fail_msg("wildcard_match(\"%s\", \"%s\") != %s", pat, s, want ? "true" : "false");
}

static void test_wildcard_basic(void **state)
{
	static const struct { const char *p, *s; bool want; } t[] = {
		{ "", "", true }, { "", "a", false }, { "a", "", false }, { "*", "", true },
		{ "**", "", true }, { "?", "", false }, { "*?", "", false }, { "?*", "a", true },
		{ "abc", "abc", true }, { "abc", "ABC", false }, { "abc", "abcd", false }, { "abcd", "abc", false },
		{ "*", "anything at all", true }, { "a*", "a", true }, { "a*", "abc", true }, { "a*", "ba", false },
		{ "*a", "a", true }, { "*a", "bca", true }, { "*a", "ab", false },
		{ "*b*", "abc", true }, { "*b*", "ac", false }, { "a*c", "ac", true }, { "a*c", "abbbc", true },
		{ "a*c", "abcb", false }, { "a*c", "abcbc", true },
		{ "?", "a", true }, { "?", "ab", false }, { "??", "ab", true }, { "a?c", "abc", true },
		{ "a?c", "ac", false }, { "a?c", "abbc", false }, { "*?*", "x", true },
		{ "*****a*****", "xa", true }, { "*****a*****", "x", false }, { "*a*b*c*", "xaybzc", true },
		{ "*a*b*c*", "xcybza", false }, { "a**b", "ab", true }, { "a**b", "axxb", true },
		{ "ab*ab*ab", "abababab", true }, { "ab*ab*ab", "ababa", false },
		{ "*aab", "aaaab", true }, { "*aab", "aaaaba", false }, { "*ab*ba", "abba", true }, { "*ab*ba", "aba", false },
		{ "*ab*ba", "abxba", true },
		{ "i-*", "i-0123456789abcdef0", true }, { "i-*", "vol-1", false },
		{ "prod-???", "prod-web", true }, { "prod-???", "prod-db", false },
		/* Escapes: '\' makes the next character literal. */
		{ "\\*", "*", true }, { "\\*", "a", false }, { "\\*", "", false }, { "\\*", "**", false },
		{ "\\?", "?", true }, { "\\?", "a", false }, { "\\\\", "\\", true }, { "\\\\", "\\\\", false },
		{ "\\a", "a", true }, { "\\a", "\\a", false }, { "*\\*", "abc*", true }, { "*\\*", "abc", false },
		{ "\\**", "*abc", true }, { "\\**", "abc", false }, { "*\\?*", "what?now", true },
		{ "*\\?*", "whatnow", false }, { "a\\*b", "a*b", true }, { "a\\*b", "axb", false },
		{ "\\*amazon\\?\\\\", "*amazon?\\", true }, /* EC2's documented example */
		{ "\\*amazon\\?\\\\", "xamazonx\\", false },
		/* A trailing backslash is a literal backslash. */
		{ "a\\", "a\\", true }, { "a\\", "a", false }, { "a\\", "ab", false }, { "\\", "\\", true },
		{ "\\", "", false }, { "*\\", "ab\\", true }, { "*\\", "ab", false },
		/* Star backtracking over an escaped character. */
		{ "*\\*x", "a*b*x", true }, { "*\\*x", "a*b*y", false },
		/* UTF-8 bytes match themselves. */
		{ "caf\xc3\xa9", "caf\xc3\xa9", true }, { "caf*", "caf\xc3\xa9", true },
		{ "*\xc3\xa9", "caf\xc3\xa9", true }, { "caf\xc3\xa9", "cafe", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_match(t[i].p, t[i].s, t[i].want);
}

static void test_wildcard_utf8(void **state)
{
	/* '?' is exactly one character (EC2: "? specifies that exactly one
	 * character must match"), and a tag value may be any UTF-8. */
	check_match("caf?", "caf\xc3\xa9", true);
	check_match("?", "\xe6\x97\xa5", true);
	check_match("?", "\xf0\x9f\x98\x80", true);
	check_match("??", "\xe6\x97\xa5", false);
	check_match("??", "\xe6\x97\xa5\xe6\x9c\xac", true);
	check_match("???", "\xe6\x97\xa5\xe6\x9c\xac", false);
	check_match("?\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac", true);
	check_match("*?", "\xc3\xa9", true);
	check_match("*??", "\xc3\xa9", false);
	check_match("*??", "a\xc3\xa9", true);
	check_match("a?c", "a\xc3\xa9" "c", true);
	check_match("a??c", "a\xc3\xa9" "c", false);
	check_match("*?x", "\xf0\x9f\x98\x80x", true);
	check_match("?*?", "\xf0\x9f\x98\x80", false);
	check_match("?*?", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", true);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_wildcard_pathological(void **state)
{
	enum { STARS = 2000, LEN = 20000 };
	char *p = malloc(2 * STARS + 2), *s = malloc(LEN + 2);
	struct timespec t0;

	/* "a*a*a*...*b" against "aaaa...a": exponential for naive recursive
	 * matchers, bounded here. */
	for (int i = 0; i < STARS; i++) {
		p[2 * i] = 'a';
		p[2 * i + 1] = '*';
	}
	p[2 * STARS] = 'b';
	p[2 * STARS + 1] = '\0';
	memset(s, 'a', LEN);
	s[LEN] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check_match(p, s, false);
	s[LEN] = 'b';
	s[LEN + 1] = '\0';
	check_match(p, s, true);
	/* "*a*a*...*a" hits and near misses. */
	p[2 * STARS] = '\0';
	check_match(p, s, true);
	memset(s, 'a', STARS - 1);
	s[STARS - 1] = '\0';
	check_match(p, s, false);
	/* Many '?' after a star against a long run. */
	memset(p, '?', STARS);
	p[0] = '*';
	p[STARS] = 'b';
	p[STARS + 1] = '\0';
	memset(s, 'a', LEN);
	s[LEN] = '\0';
	check_match(p, s, false);
	if (seconds_since(&t0) > 5.0)
		fail_msg("pathological patterns took %.2fs", seconds_since(&t0));
	free(p);
	free(s);
}

/* A filter_set from varargs: "name", "v1", "v2", NULL, "name2", ..., NULL,
 * NULL (a name list ended by NULL, each name's values ended by NULL). */
static void vbuild(struct filter_set *fs, va_list ap)
{
	const char *name;

	memset(fs, 0, sizeof(*fs));
	while ((name = va_arg(ap, const char *))) {
		struct filter *f;
		const char *v;

		fs->f = realloc(fs->f, (fs->n + 1) * sizeof(*fs->f));
		f = &fs->f[fs->n++];
		f->name = xstrdup(name);
		f->values = NULL;
		f->nvalues = 0;
		while ((v = va_arg(ap, const char *))) {
			f->values = realloc(f->values, (f->nvalues + 1) * sizeof(char *));
			f->values[f->nvalues++] = xstrdup(v);
		}
	}
}

static void build(struct filter_set *fs, ...)
{
	va_list ap;

	va_start(ap, fs);
	vbuild(fs, ap);
	va_end(ap);
}

static bool matches(struct fbag *b, ...)
{
	struct filter_set fs;
	va_list ap;
	bool r;

	va_start(ap, b);
	vbuild(&fs, ap);
	va_end(ap);
	r = filter_set_match(&fs, b);
	filter_set_free(&fs);
	assert_null(fs.f);
	assert_int_equal(fs.n, 0);
	return r;
}

static void test_filter_set(void **state)
{
	struct fbag b = FBAG_INIT;
	struct filter_set fs;

	fbag_add(&b, "key-name", "web-1");
	fbag_add(&b, "key-type", "ed25519");
	fbag_add(&b, "key-pair-id", "key-0123456789abcdef0");
	fbag_add(&b, "fingerprint", NULL);

	/* No filters: everything matches. */
	assert_true(matches(&b, NULL));
	{
		struct fbag empty = FBAG_INIT;

		assert_true(matches(&empty, NULL));
		assert_false(matches(&empty, "key-name", "*", NULL, NULL));
		fbag_free(&empty);
	}
	/* One filter, one value. */
	assert_true(matches(&b, "key-name", "web-1", NULL, NULL));
	assert_true(matches(&b, "key-name", "web-*", NULL, NULL));
	assert_false(matches(&b, "key-name", "web-2", NULL, NULL));
	assert_false(matches(&b, "key-name", "WEB-1", NULL, NULL));
	/* OR across values. */
	assert_true(matches(&b, "key-name", "a", "b", "web-1", NULL, NULL));
	assert_true(matches(&b, "key-name", "web-1", "nope", NULL, NULL));
	assert_false(matches(&b, "key-name", "a", "b", "c", NULL, NULL));
	/* AND across filters. */
	assert_true(matches(&b, "key-name", "web-1", NULL, "key-type", "ed25519", NULL, NULL));
	assert_false(matches(&b, "key-name", "web-1", NULL, "key-type", "rsa", NULL, NULL));
	assert_false(matches(&b, "key-name", "nope", NULL, "key-type", "ed25519", NULL, NULL));
	assert_true(matches(&b, "key-name", "x", "web-?", NULL, "key-type", "rsa", "ed*", NULL,
			    "key-pair-id", "key-*", NULL, NULL));
	/* Names match exactly: no prefix, no case folding, no wildcards. */
	assert_false(matches(&b, "key-nam", "*", NULL, NULL));
	assert_false(matches(&b, "key-names", "*", NULL, NULL));
	assert_false(matches(&b, "Key-Name", "*", NULL, NULL));
	assert_false(matches(&b, "key-*", "*", NULL, NULL));
	assert_false(matches(&b, "", "*", NULL, NULL));
	/* A filter on a name the bag lacks never matches, even with "*". */
	assert_false(matches(&b, "tag:Name", "*", NULL, NULL));
	/* A NULL value is the empty string. */
	assert_true(matches(&b, "fingerprint", "", NULL, NULL));
	assert_true(matches(&b, "fingerprint", "*", NULL, NULL));
	assert_false(matches(&b, "fingerprint", "?", NULL, NULL));
	/* A filter with no values matches nothing. */
	assert_false(matches(&b, "key-name", NULL, NULL));
	/* The same filter name twice: both must hold. */
	assert_true(matches(&b, "key-name", "web*", NULL, "key-name", "*-1", NULL, NULL));
	assert_false(matches(&b, "key-name", "web*", NULL, "key-name", "*-2", NULL, NULL));

	/* build() is the same encoding; check filter_set_free of a larger set. */
	build(&fs, "a", "1", "2", "3", NULL, "b", NULL, "c", "x", NULL, NULL);
	assert_int_equal(fs.n, 3);
	assert_int_equal(fs.f[0].nvalues, 3);
	assert_int_equal(fs.f[1].nvalues, 0);
	assert_false(filter_set_match(&fs, &b));
	filter_set_free(&fs);
	filter_set_free(&fs); /* twice is harmless */
	fbag_free(&b);
}

static void test_multi_valued(void **state)
{
	struct fbag b = FBAG_INIT;

	/* One resource can carry a name several times (e.g. zone names). */
	fbag_add(&b, "zone-name", "us-east-1a");
	fbag_add(&b, "zone-name", "us-east-1b");
	fbag_add(&b, "state", "available");
	assert_true(matches(&b, "zone-name", "us-east-1b", NULL, NULL));
	assert_true(matches(&b, "zone-name", "us-east-1a", NULL, NULL));
	assert_true(matches(&b, "zone-name", "*c", "*b", NULL, "state", "available", NULL, NULL));
	assert_false(matches(&b, "zone-name", "*c", NULL, NULL));
	fbag_free(&b);
}

static void test_tags(void **state)
{
	struct fbag b = FBAG_INIT;
	char key[16], value[16];

	/* The bag builds (and owns) the tag:<key> name; key and value are borrowed. */
	snprintf(key, sizeof(key), "Name");
	snprintf(value, sizeof(value), "web");
	fbag_add_tag(&b, key, value);
	fbag_add_tag(&b, "env", "prod");
	fbag_add_tag(&b, "empty", "");
	fbag_add_tag(&b, "Team:Owner", "a b");
	assert_int_equal(b.n, 12);

	assert_true(matches(&b, "tag:Name", "web", NULL, NULL));
	assert_true(matches(&b, "tag:Name", "w*", NULL, NULL));
	assert_false(matches(&b, "tag:name", "web", NULL, NULL));
	assert_false(matches(&b, "tag:Nam", "*", NULL, NULL));
	assert_false(matches(&b, "tag:", "*", NULL, NULL));
	/* The key and value must belong to the same tag. */
	assert_false(matches(&b, "tag:Name", "prod", NULL, NULL));
	assert_false(matches(&b, "tag:env", "web", NULL, NULL));
	assert_true(matches(&b, "tag:env", "prod", NULL, NULL));
	assert_true(matches(&b, "tag:Team:Owner", "a?b", NULL, NULL));
	assert_true(matches(&b, "tag:empty", "", NULL, NULL));
	assert_false(matches(&b, "tag:empty", "?*", NULL, NULL));
	/* tag-key and tag-value range over every tag. */
	assert_true(matches(&b, "tag-key", "Name", NULL, NULL));
	assert_true(matches(&b, "tag-key", "env", NULL, NULL));
	assert_true(matches(&b, "tag-key", "Na?e", NULL, NULL));
	assert_false(matches(&b, "tag-key", "web", NULL, NULL));
	assert_true(matches(&b, "tag-value", "prod", NULL, NULL));
	assert_true(matches(&b, "tag-value", "web", NULL, NULL));
	assert_false(matches(&b, "tag-value", "Name", NULL, NULL));
	assert_true(matches(&b, "tag-key", "env", NULL, "tag-value", "web", NULL, NULL));
	assert_true(matches(&b, "tag:Name", "web", NULL, "tag:env", "prod", NULL, NULL));
	assert_false(matches(&b, "tag:Name", "web", NULL, "tag:env", "dev", NULL, NULL));
	assert_false(matches(&b, "tag-key", "missing", NULL, NULL));

	/* Reset empties the bag and frees what it owned; it is reusable. */
	fbag_reset(&b);
	assert_int_equal(b.n, 0);
	assert_false(matches(&b, "tag:Name", "*", NULL, NULL));
	fbag_add_tag(&b, "k", "v");
	assert_true(matches(&b, "tag:k", "v", NULL, NULL));
	fbag_free(&b);
	assert_int_equal(b.n, 0);
	assert_null(b.e);
	fbag_free(&b); /* twice is harmless */
}

static void test_numbers_and_owned(void **state)
{
	struct fbag b = FBAG_INIT;

	fbag_add_int(&b, "vcpu", 2);
	fbag_add_int(&b, "min", INT64_MIN);
	fbag_add_int(&b, "neg", -5);
	fbag_add_bool(&b, "yes", true);
	fbag_add_bool(&b, "no", false);
	fbag_own_pair(&b, xstrdup("owned-name"), xstrdup("owned-value"));
	assert_true(matches(&b, "vcpu", "2", NULL, NULL));
	assert_false(matches(&b, "vcpu", "02", NULL, NULL));
	assert_true(matches(&b, "min", "-9223372036854775808", NULL, NULL));
	assert_true(matches(&b, "neg", "-5", NULL, NULL));
	assert_true(matches(&b, "neg", "-?", NULL, NULL));
	assert_true(matches(&b, "yes", "true", NULL, NULL));
	assert_true(matches(&b, "no", "false", NULL, NULL));
	assert_false(matches(&b, "no", "true", NULL, NULL));
	/* an owned pair is an entry like any other */
	assert_true(matches(&b, "owned-name", "owned-value", NULL, NULL));
	assert_false(matches(&b, "owned-name", "other", NULL, NULL));
	/* Many adds grow the bag (and its owned list) past their first size. */
	for (int i = 0; i < 1000; i++)
		fbag_add_int(&b, "n", i);
	assert_true(matches(&b, "n", "999", NULL, NULL));
	assert_true(matches(&b, "n", "0", NULL, NULL));
	assert_false(matches(&b, "n", "1000", NULL, NULL));
	fbag_free(&b);
}

static void test_name_allowed(void **state)
{
	static const char *const allowed[] = { "key-name", "fingerprint", NULL };
	static const char *const with_tagcolon[] = { "tag:", NULL };

	assert_true(filter_name_allowed("key-name", allowed, false));
	assert_true(filter_name_allowed("fingerprint", allowed, true));
	assert_false(filter_name_allowed("key-nam", allowed, true));
	assert_false(filter_name_allowed("key-names", allowed, true));
	assert_false(filter_name_allowed("Key-Name", allowed, true));
	assert_false(filter_name_allowed("", allowed, true));
	assert_false(filter_name_allowed("*", allowed, true));

	assert_true(filter_name_allowed("tag:Name", allowed, true));
	assert_true(filter_name_allowed("tag:x", NULL, true));
	assert_true(filter_name_allowed("tag: ", NULL, true));
	assert_true(filter_name_allowed("tag:tag:", NULL, true));
	assert_true(filter_name_allowed("tag-key", NULL, true));
	assert_true(filter_name_allowed("tag-value", NULL, true));
	assert_false(filter_name_allowed("tag:", allowed, true));
	assert_false(filter_name_allowed("tag:", NULL, true));
	assert_false(filter_name_allowed("tag", NULL, true));
	assert_false(filter_name_allowed("tag-keys", NULL, true));
	assert_false(filter_name_allowed("tag-val", NULL, true));
	assert_false(filter_name_allowed("Tag:Name", NULL, true));
	assert_false(filter_name_allowed("tag-Key", NULL, true));

	/* Without allow_tags only the list counts. */
	assert_false(filter_name_allowed("tag:Name", allowed, false));
	assert_false(filter_name_allowed("tag-key", allowed, false));
	assert_false(filter_name_allowed("tag-value", NULL, false));
	assert_false(filter_name_allowed("key-name", NULL, false));
	assert_true(filter_name_allowed("tag:", with_tagcolon, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard_basic),
		cmocka_unit_test(test_wildcard_utf8),
		cmocka_unit_test(test_wildcard_pathological),
		cmocka_unit_test(test_filter_set),
		cmocka_unit_test(test_multi_valued),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_numbers_and_owned),
		cmocka_unit_test(test_name_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
