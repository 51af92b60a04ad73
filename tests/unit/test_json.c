/* lib/json.c: RFC 8259 values, strictness (trailing data, bad escapes,
 * invalid UTF-8, NUL, depth), and the typed accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

static struct json *parse_ok(const char *text)
{
	struct json *j = NULL;

	if (json_parse(text, strlen(text), &j) != 0)
		fail_msg("refused: %s", text);
	return j;
}

static void test_values(void **state)
{
	struct json *j = parse_ok(" {\"a\": 1, \"b\": [true, false, null, \"x\", -2.5e3, {}], \"c\": {\"d\": \"e\"},"
				  " \"a\": 9223372036854775807}\n");
	const struct json *b = json_get(j, "b");
	int64_t v;
	bool t;

	assert_int_equal(json_type(j), JSON_OBJECT);
	/* Repeated keys: the last wins. */
	assert_true(json_int(json_get(j, "a"), &v));
	assert_true(v == INT64_MAX);
	assert_int_equal(json_len(b), 6);
	assert_true(json_bool(json_at(b, 0), &t) && t);
	assert_true(json_bool(json_at(b, 1), &t) && !t);
	assert_int_equal(json_type(json_at(b, 2)), JSON_NULL);
	assert_string_equal(json_str(json_at(b, 3)), "x");
	assert_int_equal(json_type(json_at(b, 4)), JSON_NUMBER);
	assert_false(json_int(json_at(b, 4), &v)); /* not integral */
	assert_int_equal(json_type(json_at(b, 5)), JSON_OBJECT);
	assert_null(json_at(b, 6));
	assert_string_equal(json_str(json_get(json_get(j, "c"), "d")), "e");
	/* Wrong types and NULLs answer NULL/false, never crash. */
	assert_null(json_get(b, "a"));
	assert_null(json_get(NULL, "a"));
	assert_null(json_str(json_get(j, "a")));
	assert_int_equal(json_len(j), 0);
	assert_null(json_at(NULL, 0));
	assert_false(json_int(NULL, &v));
	assert_false(json_bool(json_get(j, "c"), &t));
	assert_null(json_get(j, "missing"));
	json_free(j);

	j = parse_ok("[]");
	assert_int_equal(json_len(j), 0);
	json_free(j);
	j = parse_ok("-0");
	assert_true(json_int(j, &v) && v == 0);
	json_free(j);
	j = parse_ok("-9223372036854775808");
	assert_true(json_int(j, &v) && v == INT64_MIN);
	json_free(j);
	j = parse_ok("9223372036854775808"); /* valid JSON, too big for int64 */
	assert_false(json_int(j, &v));
	json_free(j);
	json_free(NULL);
}

static void test_strings(void **state)
{
	struct json *j = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00 caf\xc3\xa9\"");

	assert_string_equal(json_str(j), "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 caf\xc3\xa9");
	json_free(j);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "{\"a\" 1}",
		"1 2", "[1] x", "01", "1.", ".5", "1e", "-", "+1", "tru", "nul", "True", "\"abc", "\"a\\x\"",
		"\"\\u12\"", "\"\\u00zz\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"",
		"\"tab\there\"", "\"\xc3\"", "\"\xff\"", "\"\xed\xa0\x80\"", "'a'", "[1 2]", "NaN", "Infinity",
	};
	struct json *j = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_parse(bad[i], strlen(bad[i]), &j) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	/* A NUL byte inside the text, and nothing after a valid prefix. */
	assert_int_equal(json_parse("\"a\0b\"", 5, &j), -EINVAL);
	assert_int_equal(json_parse("[1]\0", 4, &j), -EINVAL);
	assert_int_equal(json_parse("[1]xyz", 3, &j), 0);
	json_free(j);
}

static void test_depth(void **state)
{
	char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
	struct json *j = NULL;
	size_t n;

	/* JSON_MAX_DEPTH + 1 nested arrays are fine (depth counts from 0)... */
	n = JSON_MAX_DEPTH + 1;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	assert_int_equal(json_parse(deep, 2 * n, &j), 0);
	json_free(j);
	/* ... one more is refused, without recursing further. */
	n++;
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	assert_int_equal(json_parse(deep, 2 * n, &j), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
