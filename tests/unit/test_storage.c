#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cmd.h"
#include "hostd/hostd.h"
#include "storage/storage.h"
#include "storage/voltype.h"

static int resolve(const char *type, int64_t gib, int64_t iops, int64_t tp, struct voltype *vt, const char **code)
{
	struct voltype_req q = { .type = type, .size_gib = gib, .has_iops = iops >= 0, .iops = iops,
				 .has_throughput = tp >= 0, .throughput = tp };
	char msg[256];

	return voltype_resolve(&q, vt, code, msg, sizeof(msg));
}

static void test_defaults(void **state)
{
	struct voltype vt;
	const char *code;

	assert_int_equal(resolve(NULL, 10, -1, -1, &vt, &code), 0);
	assert_string_equal(vt.type, "gp2");
	assert_int_equal(vt.iops, 100);   /* 3/GiB, at least 100 */
	assert_int_equal(resolve("gp2", 1000, -1, -1, &vt, &code), 0);
	assert_int_equal(vt.iops, 3000);
	assert_int_equal(resolve("gp2", 16000, -1, -1, &vt, &code), 0);
	assert_int_equal(vt.iops, 16000); /* capped */
	assert_int_equal(resolve("gp3", 1, -1, -1, &vt, &code), 0);
	assert_int_equal(vt.iops, 3000);
	assert_int_equal(vt.throughput, 125);
	assert_int_equal(resolve("io2", 10, 10000, -1, &vt, &code), 0);
	assert_int_equal(resolve("st1", 125, -1, -1, &vt, &code), 0);
	assert_int_equal(vt.iops, 0);
	assert_int_equal(resolve("standard", 1, -1, -1, &vt, &code), 0);
}

static void test_limits(void **state)
{
	static const struct {
		const char *type;
		int64_t gib, iops, tp;
		const char *code;
	} bad[] = {
		{ "io1", 10, 501, -1, "InvalidParameterValue" },        /* > 50 IOPS/GiB */
		{ "io1", 10, -1, -1, "MissingParameter" },
		{ "io1", 3, 100, -1, "InvalidParameterValue" },         /* min 4 GiB */
		{ "io2", 10, 10001, -1, "InvalidParameterValue" },      /* > 1000 IOPS/GiB */
		{ "io1", 2000, 64001, -1, "InvalidParameterValue" },
		{ "gp2", 10, 300, -1, "InvalidParameterCombination" },
		{ "st1", 500, -1, 200, "InvalidParameterCombination" },
		{ "gp3", 10, 3000, 751, "InvalidParameterValue" },      /* > 0.25 MiB/s per IOPS */
		{ "gp3", 100, 16001, -1, "InvalidParameterValue" },
		{ "gp3", 100, 2999, -1, "InvalidParameterValue" },
		{ "gp3", 100, 4000, 1001, "InvalidParameterValue" },
		{ "sc1", 124, -1, -1, "InvalidParameterValue" },
		{ "standard", 1025, -1, -1, "InvalidParameterValue" },
		{ "gp3", 0, -1, -1, "InvalidParameterValue" },
		{ "magnetic", 10, -1, -1, "InvalidParameterValue" },
	};
	struct voltype vt;
	const char *code;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (resolve(bad[i].type, bad[i].gib, bad[i].iops, bad[i].tp, &vt, &code) == 0)
			fail_msg("case %zu (%s %lld GiB) accepted", i, bad[i].type, (long long)bad[i].gib);
		assert_string_equal(code, bad[i].code);
	}
	/* gp3: 3000 baseline at any size, 500/GiB only beyond it */
	assert_int_equal(resolve("gp3", 1, 3000, -1, &vt, &code), 0);
	assert_int_not_equal(resolve("gp3", 8, 4001, -1, &vt, &code), 0);
	assert_int_equal(resolve("gp3", 8, 4000, 1000, &vt, &code), 0);
}

static void test_iotune(void **state)
{
	struct voltype_iotune io;

	voltype_iotune("gp3", 10, 0, 0, &io);
	assert_int_equal(io.iops, 3000);
	assert_int_equal(io.bytes_sec, 125LL << 20);
	voltype_iotune("io1", 100, 5000, 0, &io);
	assert_int_equal(io.iops, 5000);
	voltype_iotune("st1", 2048, 0, 0, &io);
	assert_int_equal(io.bytes_sec, 80LL << 20);   /* 40 MiB/s per TiB */
	voltype_iotune("sc1", 16384, 0, 0, &io);
	assert_int_equal(io.bytes_sec, 192LL << 20);  /* capped */
}

/* qcow2_backing reads the header's backing name without qemu-img. */
static void test_backing(void **state)
{
	char dir[] = "/tmp/hostd-unit-XXXXXX", a[128], b[128], got[256];
	const char *mk_a[] = { "qemu-img", "create", "-q", "-f", "qcow2", a, "1M", NULL };
	const char *mk_b[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", a, "-F", "qcow2", b, "1M", NULL };

	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.qcow2", dir);
	snprintf(b, sizeof(b), "%s/b.qcow2", dir);
	if (cmd_run(mk_a, NULL, NULL) != 0 || cmd_run(mk_b, NULL, NULL) != 0)
		skip();
	assert_int_equal(qcow2_backing(a, got, sizeof(got)), 0);
	assert_string_equal(got, "");
	assert_int_equal(qcow2_backing(b, got, sizeof(got)), 0);
	assert_string_equal(got, a);
	assert_int_equal(qcow2_backing(b, got, 4), -ENAMETOOLONG);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

/* storage_check (DescribeVolumeStatus): a sound chain passes, one whose
 * backing layer is missing or whose header is garbage does not. */
static void test_check(void **state)
{
	char dir[] = "/tmp/hostd-unit-XXXXXX", a[128], b[128], away[140];
	const char *mk_a[] = { "qemu-img", "create", "-q", "-f", "qcow2", a, "1M", NULL };
	const char *mk_b[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", a, "-F", "qcow2", b, "1M", NULL };
	struct hostd h;
	FILE *f;

	memset(&h, 0, sizeof(h));
	assert_non_null(mkdtemp(dir));
	h.state_dir = dir;
	snprintf(a, sizeof(a), "%s/a.qcow2", dir);
	snprintf(b, sizeof(b), "%s/b.qcow2", dir);
	snprintf(away, sizeof(away), "%s.away", a);
	if (cmd_run(mk_a, NULL, NULL) != 0 || cmd_run(mk_b, NULL, NULL) != 0)
		skip();
	assert_int_equal(storage_check(&h, "b.qcow2"), 0);
	assert_int_equal(rename(a, away), 0);
	assert_int_equal(storage_check(&h, "b.qcow2"), -EIO);
	assert_int_equal(rename(away, a), 0);
	assert_int_equal(storage_check(&h, "b.qcow2"), 0);
	/* a header that is no longer qcow2's */
	f = fopen(a, "r+");
	assert_non_null(f);
	fputs("garbage!", f);
	fclose(f);
	assert_int_equal(storage_check(&h, "b.qcow2"), -EIO);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_iotune),
		cmocka_unit_test(test_backing),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
