/* lib/cbormsg.c: every message type survives a round trip; the decoder
 * refuses a wrong length prefix, an unknown type, a field of another type,
 * a missing or repeated field, a bad id and declared sizes past the frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cbormsg.h"

static struct cbormsg in, out;

static void roundtrip(void)
{
	struct buf b = BUF_INIT;

	assert_int_equal(cbormsg_encode(&in, &b), 0);
	assert_int_equal(cbormsg_decode((const uint8_t *)b.data, b.len, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* one byte short or long: the prefix no longer matches */
	assert_int_equal(cbormsg_decode((const uint8_t *)b.data, b.len - 1, &out), -EBADMSG);
	buf_addc(&b, 0);
	assert_int_equal(cbormsg_decode((const uint8_t *)b.data, b.len, &out), -EBADMSG);
	buf_free(&b);
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (int t = CBORMSG_LISTEN; t <= CBORMSG_STATS; t++) {
		memset(&in, 0, sizeof(in));
		in.type = t;
		if (t != CBORMSG_FORGET && t != CBORMSG_STATS)
			strcpy(in.vpc, "vpc-0123456789abcdef0");
		if (t == CBORMSG_RECORD || t == CBORMSG_FORGET)
			strcpy(in.id, "i-0123456789abcdef0");
		if (t == CBORMSG_RECORD) {
			in.nips = CBORMSG_IPS_MAX;
			for (size_t i = 0; i < in.nips; i++)
				in.ips[i] = 0x0a000000u + (uint32_t)i * 977;
		}
		if (t == CBORMSG_STATS) {
			in.nstats = CBORMSG_STATS_MAX;
			for (size_t i = 0; i < in.nstats; i++) {
				snprintf(in.stats[i].id, sizeof(in.stats[i].id), "i-%016zx", i);
				in.stats[i].requests = UINT64_MAX - i;
				in.stats[i].no_token = i;
				in.stats[i].last_contact = 1790000000 + (int64_t)i;
			}
		}
		roundtrip();
	}
	assert_int_equal(cbormsg_nfds(CBORMSG_LISTEN), 1);
	assert_int_equal(cbormsg_nfds(CBORMSG_RECORD), 1);
	assert_int_equal(cbormsg_nfds(CBORMSG_FORGET), 0);
	assert_int_equal(cbormsg_nfds(99), -1);
}

static void test_encode_refuses(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = 9;
	assert_int_equal(cbormsg_encode(&in, &b), -EINVAL);
	in.type = CBORMSG_FORGET;
	strcpy(in.id, "i-../x");
	assert_int_equal(cbormsg_encode(&in, &b), -EINVAL);
	in.type = CBORMSG_LISTEN; /* no vpc */
	assert_int_equal(cbormsg_encode(&in, &b), -EINVAL);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static int dec(const char *hex_body)
{
	uint8_t f[256];
	size_t n = 0;

	for (const char *p = hex_body; p[0] && p[1]; p += 2) {
		unsigned v;

		sscanf(p, "%2x", &v);
		f[4 + n++] = (uint8_t)v;
	}
	f[0] = f[1] = 0;
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	return cbormsg_decode(f, n + 4, &out);
}

static void test_decode_refuses(void **state)
{
	(void)state;
	/* {"t":4,"id":"i-1"} is fine */
	assert_int_equal(dec("a261740462696463692d31"), 0);
	assert_string_equal(out.id, "i-1");
	/* {"t":4} missing id */
	assert_int_equal(dec("a1617404"), -EBADMSG);
	/* {"t":4,"id":"i-1","vpc":"v"} a field FORGET does not have */
	assert_int_equal(dec("a361740462696463692d31637670636176"), -EBADMSG);
	/* {"t":4,"id":"i/1"} */
	assert_int_equal(dec("a261740462696463692f31"), -EBADMSG);
	/* {"t":7,"id":"i-1"} */
	assert_int_equal(dec("a261740762696463692d31"), -EBADMSG);
	/* {"t":"4","id":"i-1"} */
	assert_int_equal(dec("a26174613462696463692d31"), -EBADMSG);
	/* ["t"] not a map */
	assert_int_equal(dec("816174"), -EBADMSG);
	/* an array declaring 2^32 elements in a few bytes */
	assert_int_equal(dec("a2617403636970739b0000000100000000"), -EBADMSG);
	/* a map declaring 2^31 pairs */
	assert_int_equal(dec("ba80000000"), -EBADMSG);
	/* indefinite map */
	assert_int_equal(dec("bf61740462696463692d31ff"), -EBADMSG);
	/* trailing item after the map */
	assert_int_equal(dec("a261740462696463692d3100"), -EBADMSG);
	assert_int_equal(cbormsg_decode(NULL, 0, &out), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
