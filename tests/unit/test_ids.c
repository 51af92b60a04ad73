/* lib/ids.c and lib/util.c: resource ids, UUIDs, base64, hex, UTF-8,
 * integer parsing and timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ids.h"
#include "lib/util.h"

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_id_new(void **state)
{
	enum { N = 10000 };
	char (*ids)[ID_MAX] = calloc(N, ID_MAX);
	int first_digit[16] = { 0 };

	for (int i = 0; i < N; i++) {
		char *id = ids[i];

		assert_int_equal(id_new("key", id), 0);
		assert_int_equal(strlen(id), 4 + ID_HEX_LEN);
		assert_memory_equal(id, "key-", 4);
		assert_true(is_lower_hex(id + 4, ID_HEX_LEN));
		assert_int_not_equal(id[4], '0');
		assert_true(id_valid("key", id));
		assert_false(id_valid("ke", id));
		assert_false(id_valid("vol", id));
		first_digit[id[4] <= '9' ? id[4] - '0' : id[4] - 'a' + 10]++;
	}
	qsort(ids, N, ID_MAX, cmp_str);
	for (int i = 1; i < N; i++)
		if (!strcmp(ids[i - 1], ids[i]))
			fail_msg("duplicate id %s", ids[i]);
	/* Random first digits: every nonzero digit shows up. */
	assert_int_equal(first_digit[0], 0);
	for (int d = 1; d < 16; d++)
		assert_true(first_digit[d] > 0);
	free(ids);
}

static void test_id_new_prefixes(void **state)
{
	char id[ID_MAX], prefix[ID_MAX + 8];

	assert_int_equal(id_new("i", id), 0);
	assert_int_equal(strlen(id), 2 + ID_HEX_LEN);
	assert_true(id_valid("i", id));
	assert_int_equal(id_new("", id), 0);
	assert_int_equal(id[0], '-');
	assert_true(id_valid("", id));
	/* The longest prefix that fits: prefix + '-' + 17 + NUL = ID_MAX. */
	memset(prefix, 'p', sizeof(prefix));
	prefix[ID_MAX - ID_HEX_LEN - 2] = '\0';
	assert_int_equal(id_new(prefix, id), 0);
	assert_int_equal(strlen(id), ID_MAX - 1);
	assert_true(id_valid(prefix, id));
	prefix[ID_MAX - ID_HEX_LEN - 2] = 'p';
	prefix[ID_MAX - ID_HEX_LEN - 1] = '\0';
	assert_int_equal(id_new(prefix, id), -ENAMETOOLONG);
	prefix[ID_MAX + 7] = '\0';
	assert_int_equal(id_new(prefix, id), -ENAMETOOLONG);
}

static void test_id_valid(void **state)
{
	static const struct { const char *prefix, *s; bool want; } t[] = {
		{ "key", "key-0123456789abcdef0", true },
		{ "key", "key-12345678", true },
		{ "key", "key-abcdef01", true },
		{ "key", "key-00000000", true },
		{ "key", "key-0123456789ABCDEF0", false },
		{ "key", "key-ABCDEF01", false },
		{ "key", "key-0123456789abcdef", false },   /* 16 */
		{ "key", "key-0123456789abcdef01", false }, /* 18 */
		{ "key", "key-1234567", false },
		{ "key", "key-123456789", false },
		{ "key", "key-0123456789abcdeg0", false },
		{ "key", "key-1234567 ", false },
		{ "key", " key-12345678", false },
		{ "key", "key-12345678 ", false },
		{ "key", "key-", false },
		{ "key", "key", false },
		{ "key", "ke", false },
		{ "key", "", false },
		{ "key", "key12345678", false },
		{ "key", "key_12345678", false },
		{ "key", "key--1234567", false },
		{ "key", "keys-12345678", false },
		{ "key", "vol-12345678", false },
		{ "key", "KEY-12345678", false },
		{ "key", "key-1234-678", false },
		{ "vol", "vol-0123456789abcdef0", true },
		{ "i", "i-12345678", true },
		{ "i", "in-12345678", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (id_valid(t[i].prefix, t[i].s) != t[i].want)
			fail_msg("id_valid(\"%s\", \"%s\") != %d", t[i].prefix, t[i].s, t[i].want);
}

static void test_uuid(void **state)
{
	enum { N = 2000 };
	char (*u)[37] = calloc(N, 37);
	int variant[4] = { 0 };

	for (int i = 0; i < N; i++) {
		char *s = u[i];

		memset(s, 'x', 37);
		assert_int_equal(uuid_v4(s), 0);
		assert_int_equal(strlen(s), 36);
		for (int k = 0; k < 36; k++) {
			if (k == 8 || k == 13 || k == 18 || k == 23)
				assert_int_equal(s[k], '-');
			else
				assert_true(is_lower_hex(s + k, 1));
		}
		assert_int_equal(s[14], '4');
		assert_non_null(strchr("89ab", s[19]));
		variant[strchr("89ab", s[19]) - "89ab"]++;
	}
	for (int k = 0; k < 4; k++)
		assert_true(variant[k] > 0);
	qsort(u, N, 37, cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(u[i - 1], u[i]);
	free(u);
}

static void check_b64(const char *raw, const char *enc)
{
	char *e = base64_encode((const unsigned char *)raw, strlen(raw));
	unsigned char *d = NULL;
	size_t dn = 0;

	assert_string_equal(e, enc);
	free(e);
	assert_int_equal(base64_decode(enc, strlen(enc), &d, &dn), 0);
	assert_int_equal(dn, strlen(raw));
	assert_memory_equal(d, raw, dn);
	free(d);
}

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	check_b64("", "");
	check_b64("f", "Zg==");
	check_b64("fo", "Zm8=");
	check_b64("foo", "Zm9v");
	check_b64("foob", "Zm9vYg==");
	check_b64("fooba", "Zm9vYmE=");
	check_b64("foobar", "Zm9vYmFy");
	check_b64("\xff\xff\xfe", "///+");
	check_b64("\xfb\xef\xbe", "++++");
}

static void test_base64_roundtrip(void **state)
{
	unsigned char in[256];

	for (size_t n = 0; n <= 64; n++) {
		for (int round = 0; round < 20; round++) {
			unsigned char *d = NULL;
			size_t dn = 99;
			char *e;

			assert_int_equal(random_bytes(in, n), 0);
			e = base64_encode(in, n);
			assert_int_equal(strlen(e), 4 * ((n + 2) / 3));
			for (size_t k = 0; e[k]; k++)
				assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
						       e[k]));
			assert_int_equal(base64_decode(e, strlen(e), &d, &dn), 0);
			assert_int_equal(dn, n);
			if (n)
				assert_memory_equal(d, in, n);
			free(d);
			/* Without padding too. */
			{
				size_t el = strlen(e);

				while (el && e[el - 1] == '=')
					el--;
				assert_int_equal(base64_decode(e, el, &d, &dn), 0);
				assert_int_equal(dn, n);
				if (n)
					assert_memory_equal(d, in, n);
				free(d);
			}
			free(e);
		}
	}
	/* Every byte value. */
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	{
		char *e = base64_encode(in, 256);
		unsigned char *d = NULL;
		size_t dn = 0;

		assert_int_equal(base64_decode(e, strlen(e), &d, &dn), 0);
		assert_int_equal(dn, 256);
		assert_memory_equal(d, in, 256);
		free(d);
		free(e);
	}
}

static void test_base64_decode_edges(void **state)
{
	static const char *const bad[] = {
		"Zm9v!", "Zm9v-", "Zm9v_", "Zm9vYm=y", "Zg==Zg==", "Zg=a", "Zg===", "Z===", "====",
		"Zm9v====", "Z", "Zm9vY", "Zm9vYmFyZ", "Zm\x80v", "Zm9v\xc3\xa9", "Zm.v", "Zm,9v", "Zg== a",
	};
	unsigned char *d;
	size_t dn;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (base64_decode(bad[i], strlen(bad[i]), &d, &dn) != -EINVAL)
			fail_msg("base64_decode(\"%s\") accepted", bad[i]);
	}
	/* An embedded NUL is a bad character, not the end. */
	assert_int_equal(base64_decode("Zm9v\0YmFy", 9, &d, &dn), -EINVAL);
	/* Only n bytes are read. */
	assert_int_equal(base64_decode("Zm9vYmFy!!!", 8, &d, &dn), 0);
	assert_int_equal(dn, 6);
	assert_memory_equal(d, "foobar", 6);
	free(d);
	assert_int_equal(base64_decode("Zm9vYmFy", 4, &d, &dn), 0);
	assert_int_equal(dn, 3);
	free(d);
	/* ASCII whitespace is ignored anywhere. */
	{
		static const char *const ws[] = {
			"Zm9v\nYmFy", " Zm9vYmFy ", "Z m 9 v Y m F y", "\tZm9v\r\nYmFy\r\n", "Zm9vYmFy\n\n\n",
		};

		for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
			assert_int_equal(base64_decode(ws[i], strlen(ws[i]), &d, &dn), 0);
			assert_int_equal(dn, 6);
			assert_memory_equal(d, "foobar", 6);
			free(d);
		}
		assert_int_equal(base64_decode("Zg=\n=", 5, &d, &dn), 0);
		assert_int_equal(dn, 1);
		assert_int_equal(d[0], 'f');
		free(d);
		assert_int_equal(base64_decode(" \n\t", 3, &d, &dn), 0);
		assert_int_equal(dn, 0);
		free(d);
	}
	/* Padding is optional. */
	assert_int_equal(base64_decode("Zg", 2, &d, &dn), 0);
	assert_int_equal(dn, 1);
	assert_int_equal(d[0], 'f');
	free(d);
	assert_int_equal(base64_decode("Zm8", 3, &d, &dn), 0);
	assert_int_equal(dn, 2);
	assert_memory_equal(d, "fo", 2);
	free(d);
	/* A large input, decoded from an exactly-sized buffer. */
	{
		size_t n = 30000;
		unsigned char *raw = malloc(n);
		char *e, *exact;

		assert_int_equal(random_bytes(raw, n), 0);
		e = base64_encode(raw, n);
		exact = malloc(strlen(e));
		memcpy(exact, e, strlen(e));
		assert_int_equal(base64_decode(exact, strlen(e), &d, &dn), 0);
		assert_int_equal(dn, n);
		assert_memory_equal(d, raw, n);
		free(d);
		free(exact);
		free(e);
		free(raw);
	}
}

static void test_hex(void **state)
{
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[3 * sizeof(in) + 1];
	unsigned char md5[16];

	memset(out, 'x', sizeof(out));
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
	memset(out, 'x', sizeof(out));
	hex_colon_encode(in, sizeof(in), out);
	assert_string_equal(out, "00:01:7f:80:ab:cd:ef:ff");
	assert_int_equal(strlen(out), 3 * sizeof(in) - 1);
	hex_colon_encode(in + 4, 1, out);
	assert_string_equal(out, "ab");
	hex_colon_encode(in, 0, out);
	assert_string_equal(out, "");
	/* An MD5 fingerprint as EC2 prints it: 16 pairs, 47 characters. */
	for (int i = 0; i < 16; i++)
		md5[i] = (unsigned char)(i * 17);
	{
		char fp[48];

		hex_colon_encode(md5, 16, fp);
		assert_string_equal(fp, "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff");
	}
}

static void test_utf8(void **state)
{
	static const struct { const char *s; size_t n; bool ok; size_t cps; } t[] = {
		{ "", 0, true, 0 },
		{ "abc", 3, true, 3 },
		{ "\x7f", 1, true, 1 },
		{ "\x01\x1f", 2, true, 2 },
		{ "a\0b", 3, false, 0 },
		{ "\0", 1, false, 0 },
		{ "\xc2\x80", 2, true, 1 },
		{ "\xdf\xbf", 2, true, 1 },
		{ "\xc3\xa9", 2, true, 1 },
		{ "\xe0\xa0\x80", 3, true, 1 },
		{ "\xef\xbf\xbd", 3, true, 1 },
		/* U+FFFE / U+FFFF: XML 1.0 cannot carry them back, so refused. */
		{ "\xef\xbf\xbe", 3, false, 0 },
		{ "\xef\xbf\xbf", 3, false, 0 },
		{ "\xed\x9f\xbf", 3, true, 1 },
		{ "\xee\x80\x80", 3, true, 1 },
		{ "\xf0\x90\x80\x80", 4, true, 1 },
		{ "\xf4\x8f\xbf\xbf", 4, true, 1 },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, true, 3 },
		{ "a\xf0\x9f\x98\x80z", 6, true, 3 },
		/* Overlongs. */
		{ "\xc0\x80", 2, false, 0 },
		{ "\xc0\xaf", 2, false, 0 },
		{ "\xc1\xbf", 2, false, 0 },
		{ "\xe0\x80\x80", 3, false, 0 },
		{ "\xe0\x9f\xbf", 3, false, 0 },
		{ "\xf0\x80\x80\x80", 4, false, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, false, 0 },
		/* Surrogates. */
		{ "\xed\xa0\x80", 3, false, 0 },
		{ "\xed\xaf\xbf", 3, false, 0 },
		{ "\xed\xb0\x80", 3, false, 0 },
		{ "\xed\xbf\xbf", 3, false, 0 },
		{ "\xed\xa0\xbd\xed\xb8\x80", 6, false, 0 },
		/* Beyond U+10FFFF and never-valid lead bytes. */
		{ "\xf4\x90\x80\x80", 4, false, 0 },
		{ "\xf5\x80\x80\x80", 4, false, 0 },
		{ "\xf7\xbf\xbf\xbf", 4, false, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, false, 0 },
		{ "\xfc\x84\x80\x80\x80\x80", 6, false, 0 },
		{ "\xfe", 1, false, 0 },
		{ "\xff", 1, false, 0 },
		/* Stray continuations and truncations. */
		{ "\x80", 1, false, 0 },
		{ "\xbf", 1, false, 0 },
		{ "a\x80" "b", 3, false, 0 },
		{ "\xc3", 1, false, 0 },
		{ "\xe6\x97", 2, false, 0 },
		{ "\xf0\x9f\x98", 3, false, 0 },
		{ "\xc3\x28", 2, false, 0 },
		{ "\xe2\x28\xa1", 3, false, 0 },
		{ "\xe2\x82\x28", 3, false, 0 },
		{ "\xf0\x28\x8c\xbc", 4, false, 0 },
		{ "\xf0\x9f\x98\x28", 4, false, 0 },
		{ "\xc3\xc3\xa9", 3, false, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Exactly-sized heap copy: a truncated sequence must not read on. */
		char *c = malloc(t[i].n ? t[i].n : 1);

		memcpy(c, t[i].s, t[i].n);
		if (utf8_valid(c, t[i].n) != t[i].ok)
			fail_msg("utf8_valid case %zu should be %d", i, t[i].ok);
		if (t[i].ok && utf8_len(c, t[i].n) != t[i].cps)
			fail_msg("utf8_len case %zu = %zu, want %zu", i, utf8_len(c, t[i].n), t[i].cps);
		free(c);
	}
	/* The length argument bounds the check, even mid-sequence. */
	assert_true(utf8_valid("ab\xc3\xa9", 2));
	assert_false(utf8_valid("ab\xc3\xa9", 3));
	assert_true(utf8_valid("abc\0def", 3));

	/* Every code point round-trips through a hand-rolled encoder. */
	for (uint32_t cp = 1; cp <= 0x10ffff; cp += (cp < 0x11000 ? 1 : 97)) {
		unsigned char b[4];
		size_t n;

		if (cp < 0x80)
			b[0] = (unsigned char)cp, n = 1;
		else if (cp < 0x800)
			b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 63)), n = 2;
		else if (cp < 0x10000)
			b[0] = (unsigned char)(0xe0 | cp >> 12), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 63)),
			b[2] = (unsigned char)(0x80 | (cp & 63)), n = 3;
		else
			b[0] = (unsigned char)(0xf0 | cp >> 18), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 63)),
			b[2] = (unsigned char)(0x80 | ((cp >> 6) & 63)), b[3] = (unsigned char)(0x80 | (cp & 63)),
			n = 4;
		if (utf8_valid((const char *)b, n) != !((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff))
			fail_msg("utf8_valid(U+%04X) wrong", cp);
	}
}

static void test_parse_int64(void **state)
{
	static const struct { const char *s; int ret; int64_t v; } t[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "-1", 0, -1 },
		{ "-0", 0, 0 },
		{ "007", 0, 7 },
		{ "2147483648", 0, 2147483648LL },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -EINVAL, 0 },
		{ "-9223372036854775809", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "+", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "\t1", -EINVAL, 0 },
		{ "1\n", -EINVAL, 0 },
		{ "- 1", -EINVAL, 0 },
		{ "--1", -EINVAL, 0 },
		{ "-+1", -EINVAL, 0 },
		{ "1-", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "1.0", -EINVAL, 0 },
		{ "1,000", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ "12abc", -EINVAL, 0 },
		{ "\xd9\xa1", -EINVAL, 0 }, /* ARABIC-INDIC DIGIT ONE */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t v = 12345;
		int r = parse_int64(t[i].s, &v);

		if (r != t[i].ret)
			fail_msg("parse_int64(\"%s\") = %d, want %d", t[i].s, r, t[i].ret);
		if (r == 0 && v != t[i].v)
			fail_msg("parse_int64(\"%s\") gave %lld", t[i].s, (long long)v);
	}
	{
		int64_t v = 5;

		assert_int_equal(parse_int64(NULL, &v), -EINVAL);
	}
	/* A failed call must not leave errno set so the next one fails. */
	{
		int64_t v;

		assert_int_equal(parse_int64("99999999999999999999", &v), -EINVAL);
		assert_int_equal(parse_int64("42", &v), 0);
		assert_int_equal(v, 42);
	}
}

static void check_iso(int64_t ms, const char *want)
{
	char out[25];

	memset(out, 'x', sizeof(out));
	iso8601_ms(ms, out);
	if (strcmp(out, want) != 0)
		fail_msg("iso8601_ms(%lld) = %s, want %s", (long long)ms, out, want);
}

static void test_iso8601(void **state)
{
	check_iso(1704164645678LL, "2024-01-02T03:04:05.678Z");
	check_iso(0, "1970-01-01T00:00:00.000Z");
	check_iso(59999, "1970-01-01T00:00:59.999Z");
	check_iso(86399999, "1970-01-01T23:59:59.999Z");
	check_iso(86400000, "1970-01-02T00:00:00.000Z");
	check_iso(946684799999LL, "1999-12-31T23:59:59.999Z");
	check_iso(946684800000LL, "2000-01-01T00:00:00.000Z");
	check_iso(1709164800000LL, "2024-02-29T00:00:00.000Z");
	check_iso(2147483647000LL, "2038-01-19T03:14:07.000Z");
	check_iso(2147483648123LL, "2038-01-19T03:14:08.123Z");
	check_iso(253402300799999LL, "9999-12-31T23:59:59.999Z");
	check_iso(-1, "1970-01-01T00:00:00.000Z");
	check_iso(-86400000, "1970-01-01T00:00:00.000Z");
	check_iso(INT64_MIN, "1970-01-01T00:00:00.000Z");
	/* now_ms() is in the current era and formats as such. */
	{
		char out[25];
		int64_t now = now_ms();

		assert_true(now > 1704067200000LL);
		iso8601_ms(now, out);
		assert_int_equal(strlen(out), 24);
		assert_true(out[0] == '2');
	}
}

static void test_ct_equal(void **state)
{
	assert_true(ct_equal("abc", "abc", 3));
	assert_false(ct_equal("abc", "abd", 3));
	assert_false(ct_equal("\x80" "bc", "\x00" "bc", 3));
	assert_true(ct_equal("abc", "abd", 2));
	assert_true(ct_equal("x", "y", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_new),
		cmocka_unit_test(test_id_new_prefixes),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_decode_edges),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_iso8601),
		cmocka_unit_test(test_ct_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
