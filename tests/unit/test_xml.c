/* hostd/xml.c: escaping, element nesting, depth checks and value formats.
 * Generated documents are checked by a small well-formedness parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/api.h"
#include "hostd/xml.h"
#include "lib/buf.h"
#include "lib/util.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static void check_escape_n(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;

	xml_escape(&b, in, n);
	if (!b.data || strcmp(b.data, want) != 0)
		fail_msg("xml_escape(\"%.*s\") = \"%s\", want \"%s\"", (int)n, in, b.data ? b.data : "(null)",
			 want);
	assert_int_equal(b.len, strlen(want));
	buf_free(&b);
}

static void check_escape(const char *in, const char *want)
{
	check_escape_n(in, strlen(in), want);
}

static void test_escape(void **state)
{
	check_escape("", "");
	check_escape("plain text 123", "plain text 123");
	check_escape("&", "&amp;");
	check_escape("<", "&lt;");
	check_escape(">", "&gt;");
	check_escape("\"", "&quot;");
	check_escape("'", "&apos;");
	check_escape("\r", "&#xD;");
	check_escape("a&b<c>d\"e'f\rg", "a&amp;b&lt;c&gt;d&quot;e&apos;f&#xD;g");
	check_escape("&amp;", "&amp;amp;"); /* never treated as already escaped */
	check_escape("<<>>&&", "&lt;&lt;&gt;&gt;&amp;&amp;");
	check_escape("]]>", "]]&gt;");
	check_escape("\t\n", "\t\n");
	check_escape("\r\n", "&#xD;\n");
	check_escape("\x01", "&#xFFFD;");
	check_escape("a\x08" "b\x0b" "c\x0c" "d\x1b" "e\x1f", "a&#xFFFD;b&#xFFFD;c&#xFFFD;d&#xFFFD;e&#xFFFD;");
	check_escape(" ~\x7f", " ~\x7f"); /* DEL is a legal XML character */
	check_escape_n("a\0b", 3, "a&#xFFFD;b");
	check_escape_n("\0", 1, "&#xFFFD;");
	/* Only n bytes are read. */
	check_escape_n("ab&cd", 2, "ab");
	/* UTF-8 passes through untouched. */
	check_escape("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf",
		     "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf");
	check_escape("\xc2\x85\xc2\xa0", "\xc2\x85\xc2\xa0");
	/* U+FFFE and U+FFFF are valid UTF-8 but not XML characters: a parser
	 * (expat, so botocore) refuses the whole response if they appear. */
	check_escape("\xef\xbf\xbf", "&#xFFFD;");
	check_escape("\xef\xbf\xbe", "&#xFFFD;");
	check_escape("a\xef\xbf\xbf" "b\xef\xbf\xbe" "c", "a&#xFFFD;b&#xFFFD;c");
	check_escape("\xef\xbf\xbd\xef\xbf\xbc\xef\xbe\xbf", "\xef\xbf\xbd\xef\xbf\xbc\xef\xbe\xbf");
}

static void test_escape_appends_and_long(void **state)
{
	struct buf b = BUF_INIT;
	size_t n = 100000, want = 0;
	char *in = malloc(n);

	buf_adds(&b, "prefix:");
	xml_escape(&b, "<", 1);
	assert_string_equal(b.data, "prefix:&lt;");
	buf_reset(&b);

	for (size_t i = 0; i < n; i++) {
		static const char mix[] = "ab<&>\"'\r\x01\t\n";

		in[i] = mix[i % (sizeof(mix) - 1)];
		switch (in[i]) {
		case '<': case '>': want += 4; break;
		case '&': want += 5; break;
		case '"': case '\'': want += 6; break;
		case '\r': want += 5; break;
		case '\x01': want += 8; break;
		default: want += 1;
		}
	}
	xml_escape(&b, in, n);
	assert_int_equal(b.len, want);
	assert_int_equal(strlen(b.data), want);
	free(in);
	buf_free(&b);
}

/* A tiny well-formedness check: declaration first, one root element, tags
 * balanced and named alike, text free of raw '<', '>' and bad '&', no C0
 * control characters other than TAB/LF and no U+FFFE/U+FFFF. */
static const char *wellformed(const char *doc)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#xD;", "&#xFFFD;" };
	const char *stack[64];
	size_t stlen[64];
	int depth = 0, roots = 0;
	const char *p = doc;

	if (strncmp(p, DECL, strlen(DECL)) != 0)
		return "no declaration";
	p += strlen(DECL);
	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (c == '<') {
			bool closing = p[1] == '/';
			const char *name = p + 1 + closing, *end = name;

			while (*end && *end != '>' && *end != ' ' && *end != '/')
				end++;
			if (end == name)
				return "empty tag name";
			if (closing) {
				if (*end != '>')
					return "bad close tag";
				if (depth == 0)
					return "close without open";
				depth--;
				if (stlen[depth] != (size_t)(end - name) || strncmp(stack[depth], name, stlen[depth]))
					return "mismatched close";
				p = end + 1;
				continue;
			}
			if (depth == 0 && roots++)
				return "second root";
			if (depth == 64)
				return "too deep";
			stack[depth] = name;
			stlen[depth++] = (size_t)(end - name);
			/* Attributes: name="escaped". */
			while (*end == ' ') {
				const char *q = strchr(end, '"');

				if (!q || !(q = strchr(q + 1, '"')))
					return "bad attribute";
				for (const char *a = strchr(end, '"') + 1; a < q; a++)
					if (*a == '<')
						return "raw < in attribute";
				end = q + 1;
			}
			if (*end != '>')
				return "bad open tag";
			p = end + 1;
			continue;
		}
		if (depth == 0)
			return "text outside the root";
		if (c == '>')
			return "raw >";
		if (c == '&') {
			size_t k;

			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
				if (!strncmp(p, ents[k], strlen(ents[k])))
					break;
			if (k == sizeof(ents) / sizeof(ents[0]))
				return "bad entity";
			p += strlen(ents[k]);
			continue;
		}
		if (c < 0x20 && c != '\t' && c != '\n')
			return "control character";
		if (c == 0xef && (unsigned char)p[1] == 0xbf && ((unsigned char)p[2] & 0xfe) == 0xbe)
			return "U+FFFE/U+FFFF";
		p++;
	}
	if (depth)
		return "unclosed element";
	if (roots != 1)
		return "no root";
	return NULL;
}

static void assert_wellformed(const char *doc)
{
	const char *why = wellformed(doc);

	if (why)
		fail_msg("not well-formed (%s): %s", why, doc);
}

static void test_checker_rejects(void **state)
{
	/* The checker must be able to fail, or the tests using it prove nothing. */
	assert_non_null(wellformed("<a></a>"));
	assert_null(wellformed(DECL "<a></a>"));
	assert_non_null(wellformed(DECL "<a><b></a></b>"));
	assert_non_null(wellformed(DECL "<a>"));
	assert_non_null(wellformed(DECL "<a></a><b></b>"));
	assert_non_null(wellformed(DECL "<a>x & y</a>"));
	assert_non_null(wellformed(DECL "<a>x > y</a>"));
	assert_non_null(wellformed(DECL "<a>\x01</a>"));
	assert_non_null(wellformed(DECL "<a>\xef\xbf\xbf</a>"));
	assert_non_null(wellformed(DECL "<a></ab>"));
	assert_non_null(wellformed(DECL "</a>"));
}

static void test_document(void **state)
{
	struct xml x;
	char root[32];

	xml_init(&x);
	/* The root name is copied: the caller's buffer may change. */
	snprintf(root, sizeof(root), "DescribeTags");
	xml_begin_doc(&x, root, "Response", EC2_XMLNS);
	memset(root, 'Z', sizeof(root) - 1);
	xml_text(&x, "requestId", "r-1");
	xml_open(&x, "tagSet");
	xml_open(&x, "item");
	xml_text(&x, "key", "a<b");
	xml_text(&x, "value", NULL);
	xml_textn(&x, "n", "abcdef", 3);
	xml_close(&x);
	xml_open(&x, "item");
	xml_int(&x, "i", -42);
	xml_bool(&x, "b", true);
	xml_bool(&x, "f", false);
	xml_close(&x);
	/* tagSet and the root are left for xml_finish. */
	assert_int_equal(xml_finish(&x), 0);
	assert_int_equal(x.depth, 0);
	assert_string_equal(x.out.data,
			    DECL "<DescribeTagsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
			    "<requestId>r-1</requestId><tagSet><item><key>a&lt;b</key><value></value>"
			    "<n>abc</n></item><item><i>-42</i><b>true</b><f>false</f></item></tagSet>"
			    "</DescribeTagsResponse>");
	assert_wellformed(x.out.data);
	/* Finishing again changes nothing. */
	assert_int_equal(xml_finish(&x), 0);
	assert_wellformed(x.out.data);
	xml_free(&x);

	xml_init(&x);
	xml_begin_doc(&x, "Response", NULL, "urn:a&b\"c");
	assert_int_equal(xml_finish(&x), 0);
	assert_string_equal(x.out.data, DECL "<Response xmlns=\"urn:a&amp;b&quot;c\"></Response>");
	xml_free(&x);

	xml_init(&x);
	xml_begin_doc(&x, "Plain", "", NULL);
	assert_int_equal(xml_finish(&x), 0);
	assert_string_equal(x.out.data, DECL "<Plain></Plain>");
	xml_free(&x);
}

static void test_depth(void **state)
{
	struct xml x;
	static const char *const names[32] = {
		"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11", "e12", "e13", "e14",
		"e15", "e16", "e17", "e18", "e19", "e20", "e21", "e22", "e23", "e24", "e25", "e26", "e27",
		"e28", "e29", "e30", "e31",
	};
	struct buf want = BUF_INIT;

	/* The full stack, closed in reverse order by xml_finish. */
	xml_init(&x);
	for (int i = 0; i < 32; i++) {
		xml_open(&x, names[i]);
		buf_printf(&want, "<%s>", names[i]);
	}
	assert_int_equal(x.depth, 32);
	for (int i = 31; i >= 0; i--)
		buf_printf(&want, "</%s>", names[i]);
	assert_int_equal(xml_finish(&x), 0);
	assert_string_equal(x.out.data, want.data);
	buf_free(&want);
	xml_free(&x);

	/* Closing with nothing open is caught, and stays caught. */
	xml_init(&x);
	xml_close(&x);
	assert_int_equal(xml_finish(&x), -EPROTO);
	assert_int_equal(xml_finish(&x), -EPROTO);
	xml_free(&x);

	xml_init(&x);
	xml_begin_doc(&x, "Root", "Response", EC2_XMLNS);
	xml_open(&x, "a");
	xml_close(&x);
	xml_close(&x); /* the root */
	assert_int_equal(x.depth, 0);
	xml_close(&x); /* one too many */
	xml_close(&x);
	assert_true(x.depth < 0);
	assert_int_equal(xml_finish(&x), -EPROTO);
	xml_free(&x);

	/* A handler that over-closes and then opens again must neither write
	 * outside the element stack nor make xml_finish report success. */
	xml_init(&x);
	xml_begin_doc(&x, "Root", "Response", EC2_XMLNS);
	xml_close(&x);
	xml_close(&x);
	xml_open(&x, "late");
	xml_text(&x, "t", "v");
	xml_close(&x);
	xml_open(&x, "later");
	assert_int_equal(xml_finish(&x), -EPROTO);
	xml_free(&x);
}

static void check_time(int64_t ms, const char *want)
{
	struct xml x;
	char el[64];

	xml_init(&x);
	xml_time(&x, "t", ms);
	snprintf(el, sizeof(el), "<t>%s</t>", want);
	if (strcmp(x.out.data, el) != 0)
		fail_msg("xml_time(%lld) = %s, want %s", (long long)ms, x.out.data, el);
	xml_free(&x);
}

static void test_time(void **state)
{
	check_time(1704164645678LL, "2024-01-02T03:04:05.678Z");
	check_time(0, "1970-01-01T00:00:00.000Z");
	check_time(1, "1970-01-01T00:00:00.001Z");
	check_time(999, "1970-01-01T00:00:00.999Z");
	check_time(1000, "1970-01-01T00:00:01.000Z");
	check_time(951782400000LL, "2000-02-29T00:00:00.000Z");
	check_time(951868799999LL, "2000-02-29T23:59:59.999Z");
	check_time(4102444800000LL, "2100-01-01T00:00:00.000Z");
	check_time(253402300799999LL, "9999-12-31T23:59:59.999Z");
	/* Before the epoch clamps to it. */
	check_time(-1, "1970-01-01T00:00:00.000Z");
	check_time(-1500, "1970-01-01T00:00:00.000Z");
	check_time(INT64_MIN, "1970-01-01T00:00:00.000Z");
	/* Past year 9999 the form cannot hold the date; it stays 24 characters. */
	for (int64_t ms = 253402300800000LL; ms > 0; ms = ms < INT64_MAX / 4 ? ms * 3 : INT64_MAX) {
		char ts[25];

		memset(ts, 'x', sizeof(ts));
		iso8601_ms(ms, ts);
		assert_int_equal(strlen(ts), 24);
		assert_int_equal(ts[4], '-');
		assert_int_equal(ts[10], 'T');
		assert_int_equal(ts[19], '.');
		assert_int_equal(ts[23], 'Z');
		if (ms == INT64_MAX)
			break;
	}
}

static void test_numbers(void **state)
{
	static const struct { double v; const char *want; } d[] = {
		{ 0, "0" }, { 1.5, "1.5" }, { -2.5, "-2.5" }, { 0.1, "0.1" }, { 20, "20" },
		{ 1e20, "1e+20" }, { 1.0 / 3, "0.333333333333333" }, { 3.75, "3.75" }, { 1e-7, "1e-07" },
		{ 123456789012345.0, "123456789012345" },
	};
	static const struct { int64_t v; const char *want; } n[] = {
		{ 0, "0" }, { -1, "-1" }, { 42, "42" },
		{ INT64_MAX, "9223372036854775807" }, { INT64_MIN, "-9223372036854775808" },
	};
	struct xml x;
	char want[128];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		xml_init(&x);
		xml_double(&x, "d", d[i].v);
		snprintf(want, sizeof(want), "<d>%s</d>", d[i].want);
		assert_string_equal(x.out.data, want);
		xml_free(&x);
	}
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		xml_init(&x);
		xml_int(&x, "memorySize", n[i].v);
		snprintf(want, sizeof(want), "<memorySize>%s</memorySize>", n[i].want);
		assert_string_equal(x.out.data, want);
		xml_free(&x);
	}
	xml_init(&x);
	xml_bool(&x, "b", true);
	xml_bool(&x, "b", false);
	xml_bool(&x, "b", 7);
	assert_string_equal(x.out.data, "<b>true</b><b>false</b><b>true</b>");
	xml_free(&x);
}

static unsigned lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_random_documents(void **state)
{
	/* Text pieces cover every escape, controls, and UTF-8 of each length. */
	static const char *const pieces[] = {
		"a", "&", "<", ">", "\"", "'", "\r", "\n", "\t", "\x01", "\x1f", "\x7f", "\xc3\xa9",
		"\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xef\xbf\xbe", "\xef\xbf\xbd", "]]>",
		"&amp;", "<!--", "?>", " ",
	};
	static const char *const names[] = { "item", "tagSet", "keyName", "x", "resourceId" };
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		struct xml x;
		int opened = 0;

		xml_init(&x);
		xml_begin_doc(&x, "Test", "Response", EC2_XMLNS);
		for (int op = 0; op < 60; op++) {
			unsigned k = lcg(&seed) % 6;

			if (k == 0 && x.depth < 31) {
				xml_open(&x, names[lcg(&seed) % 5]);
				opened++;
			} else if (k == 1 && x.depth > 1) {
				xml_close(&x);
			} else if (k == 2) {
				xml_int(&x, "n", (int64_t)lcg(&seed) - 1000000);
			} else if (k == 3) {
				xml_time(&x, "t", (int64_t)lcg(&seed) * 1000);
			} else {
				struct buf t = BUF_INIT;
				unsigned np = lcg(&seed) % 8;

				for (unsigned i = 0; i < np; i++)
					buf_adds(&t, pieces[lcg(&seed) % (sizeof(pieces) / sizeof(pieces[0]))]);
				if (k == 4)
					xml_text(&x, names[lcg(&seed) % 5], t.data ? t.data : "");
				else
					xml_textn(&x, "v", t.data ? t.data : "", t.len);
				buf_free(&t);
			}
		}
		assert_int_equal(xml_finish(&x), 0);
		assert_wellformed(x.out.data);
		xml_free(&x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_appends_and_long),
		cmocka_unit_test(test_checker_rejects),
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_random_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
