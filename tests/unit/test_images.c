/* images/params.c and the pure parts of images/qimg.c: AMI names, device
 * names, file:// URLs, import directories, `qemu-img info` JSON checks,
 * convert progress records, partition-table signatures, qcow2 headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/params.h"
#include "images/qimg.h"

static void test_ami_names(void **state)
{
	static const char *const good[] = {
		"abc", "my-ami_1.0", "Debian 12 (bookworm) [2024-01-01] it's/x@y", "((()))",
		"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567",
	};
	static const char *const bad[] = {
		"", "ab", "a", "caf\xc3\xa9", "a\tb", "a\nbc", "semi;colon", "a:b", "quote\"", "a*b", "a,b", "a+b", "{x}",
		"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
		"01234567890123456789012345678",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!ami_name_valid(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ami_name_valid(bad[i]))
			fail_msg("accepted %s", bad[i]);
}

static void test_device_names(void **state)
{
	static const char *const good[] = {
		"/dev/sda1", "/dev/xvda", "/dev/sdf", "/dev/xvdba", "xvdh", "sdb", "/dev/sda15", "/dev/xvdz99",
	};
	static const char *const bad[] = {
		"", "/dev/", "/dev/sd", "/dev/xvd", "/dev/hda", "/dev/vda", "/dev/sda0", "/dev/sda100", "/dev/sdabc",
		"/dev/SDA", "/dev/sda1 ", "dev/sda", "/dev/nvme0n1", "/dev/sd1", "/dev//sda",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!device_name_valid(good[i]))
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (device_name_valid(bad[i]))
			fail_msg("accepted %s", bad[i]);
}

static void test_file_urls(void **state)
{
	char out[64], url[128];

	assert_int_equal(file_url_path("file:///srv/a.qcow2", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/a.qcow2");
	assert_int_equal(file_url_path("file://localhost/srv/a%20b%2Fc+d", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/a b/c+d");
	assert_int_equal(file_url_path("file:///caf%C3%A9", out, sizeof(out)), 0);
	assert_string_equal(out, "/caf\xc3\xa9");
	/* Schemes are case-insensitive (RFC 3986). */
	assert_int_equal(file_url_path("FILE:///a", out, sizeof(out)), 0);
	assert_string_equal(out, "/a");

	assert_int_equal(file_url_path("s3://bucket/key", out, sizeof(out)), -EPROTONOSUPPORT);
	assert_int_equal(file_url_path("https://example.com/x.vmdk", out, sizeof(out)), -EPROTONOSUPPORT);
	assert_int_equal(file_url_path("ftp://h/x", out, sizeof(out)), -EPROTONOSUPPORT);
	{
		static const char *const bad[] = {
			"", "/srv/a", "file:", "file:/srv/a", "file://srv/a", "file://host/srv/a", "file://",
			"file:///a%00b", "file:///a%0ab", "file:///a%zz", "file:///a%4", "file:///a?x=1", "file:///a#f",
			"file:///a\x01", ":///a", "file:///caf%C3", "file:///%FF",
			"file:///0123456789012345678901234567890123456789012345678901234567890123456789",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (file_url_path(bad[i], out, sizeof(out)) != -EINVAL)
				fail_msg("accepted %s", bad[i]);
	}
	/* Round trip through the encoder. */
	assert_int_equal(file_url_from_path("/srv/a b/c%d?#\xc3\xa9", url, sizeof(url)), 0);
	assert_string_equal(url, "file:///srv/a%20b/c%25d%3F%23%C3%A9");
	assert_int_equal(file_url_path(url, out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/a b/c%d?#\xc3\xa9");
	assert_int_equal(file_url_from_path("/aaaa", url, 11), -ENAMETOOLONG);
	assert_int_equal(file_url_from_path("/aaa", url, 12), 0);
}

static void test_import_dirs(void **state)
{
	assert_true(path_under_dirs("/srv/img/a.raw", "/srv/img"));
	assert_true(path_under_dirs("/srv/img/sub/a.raw", "/other:/srv/img/"));
	assert_true(path_under_dirs("/anything", "/"));
	assert_false(path_under_dirs("/srv/img", "/srv/img"));
	assert_false(path_under_dirs("/srv/images/a.raw", "/srv/img"));
	assert_false(path_under_dirs("/srv/a.raw", "/srv/img:/tmp"));
	assert_false(path_under_dirs("/srv/a.raw", ""));
	assert_false(path_under_dirs("/srv/a.raw", "::"));
}

/* Real `qemu-img info --output=json` outputs (qemu 7.2), trimmed. */
#define QCOW2_INFO "{\"virtual-size\": 536870912, \"filename\": \"/a.qcow2\", \"cluster-size\": 65536, " \
	"\"format\": \"qcow2\", \"actual-size\": 19136512, \"format-specific\": {\"type\": \"qcow2\", \"data\": " \
	"{\"compat\": \"1.1\", \"compression-type\": \"zlib\", \"lazy-refcounts\": false, \"refcount-bits\": 16, " \
	"\"corrupt\": false, \"extended-l2\": false}}, \"dirty-flag\": false}"

static int info(const char *json, const char *path, struct qimg_info *qi, char *why)
{
	why[0] = '\0';
	return qimg_info_parse(json, strlen(json), path, qi, why, 200);
}

static void test_qimg_info(void **state)
{
	struct qimg_info qi;
	char why[200];

	assert_int_equal(info(QCOW2_INFO, "/a.qcow2", &qi, why), 0);
	assert_string_equal(qi.driver, "qcow2");
	assert_true(qi.virtual_size == 536870912);
	assert_int_equal(info("{\"virtual-size\": 1024, \"filename\": \"/o.raw\", \"format\": \"raw\", "
			      "\"actual-size\": 0, \"dirty-flag\": false}", "/o.raw", &qi, why), 0);
	assert_string_equal(qi.driver, "raw");
	assert_int_equal(info("{\"virtual-size\": 537255936, \"filename\": \"/t.vpc\", \"cluster-size\": 2097152,"
			      " \"format\": \"vpc\", \"actual-size\": 19161088, \"dirty-flag\": false}", "/t.vpc", &qi, why),
			 0);
	assert_string_equal(qimg_format(qi.driver), "vhd");
	/* A single-file VMDK passes, extents elsewhere do not. */
	assert_int_equal(info("{\"virtual-size\": 536870912, \"filename\": \"/t.vmdk\", \"format\": \"vmdk\", "
			      "\"format-specific\": {\"type\": \"vmdk\", \"data\": {\"create-type\": \"monolithicSparse\", "
			      "\"extents\": [{\"virtual-size\": 536870912, \"filename\": \"/t.vmdk\", \"format\": \"\"}]}}}",
			      "/t.vmdk", &qi, why), 0);
	assert_int_equal(info("{\"virtual-size\": 2097152, \"filename\": \"/d.vmdk\", \"format\": \"vmdk\", "
			      "\"format-specific\": {\"type\": \"vmdk\", \"data\": {\"create-type\": \"monolithicFlat\", "
			      "\"extents\": [{\"virtual-size\": 1048576, \"filename\": \"/etc/shadow\", \"format\": \"FLAT\"}]}}}",
			      "/d.vmdk", &qi, why), -EINVAL);
	assert_non_null(strstr(why, "Multi-file VMDK"));
	assert_int_equal(info("{\"virtual-size\": 1, \"format\": \"vmdk\", \"format-specific\": {\"type\": \"vmdk\", "
			      "\"data\": {}}}", "/x.vmdk", &qi, why), -EINVAL);
	/* Backing files and external data files. */
	assert_int_equal(info("{\"virtual-size\": 536870912, \"filename\": \"ov.qcow2\", \"format\": \"qcow2\", "
			      "\"backing-filename\": \"/a.qcow2\", \"full-backing-filename\": \"/a.qcow2\"}", "ov.qcow2",
			      &qi, why), -EINVAL);
	assert_non_null(strstr(why, "backing file"));
	assert_int_equal(info("{\"virtual-size\": 10485760, \"format\": \"qcow2\", \"format-specific\": {\"type\": "
			      "\"qcow2\", \"data\": {\"data-file\": \"df.raw\", \"data-file-raw\": true}}}", "/d.qcow2", &qi,
			      why), -EINVAL);
	assert_non_null(strstr(why, "data file"));
	/* Other formats, no size, garbage. */
	assert_int_equal(info("{\"virtual-size\": 1048576, \"format\": \"luks\"}", "/l", &qi, why), -EINVAL);
	assert_non_null(strstr(why, "luks"));
	assert_int_equal(info("{\"virtual-size\": 1048576, \"format\": \"vpc\\u0000\"}", "/l", &qi, why), -EINVAL);
	assert_int_equal(info("{\"virtual-size\": 0, \"format\": \"raw\"}", "/e", &qi, why), -EINVAL);
	assert_int_equal(info("{\"virtual-size\": 1.5, \"format\": \"raw\"}", "/e", &qi, why), -EINVAL);
	assert_int_equal(info("{\"format\": \"raw\"}", "/e", &qi, why), -EINVAL);
	assert_int_equal(info("[\"raw\"]", "/e", &qi, why), -EINVAL);
	assert_int_equal(info("qemu-img: Could not open", "/e", &qi, why), -EINVAL);
	assert_int_equal(info("", "/e", &qi, why), -EINVAL);
}

static void test_formats(void **state)
{
	assert_string_equal(qimg_driver("vhd"), "vpc");
	assert_string_equal(qimg_driver("qcow2"), "qcow2");
	assert_string_equal(qimg_driver("vhdx"), "vhdx");
	assert_null(qimg_driver("ova"));
	assert_null(qimg_driver("vpc"));
	assert_null(qimg_driver("RAW"));
	assert_string_equal(qimg_format("vpc"), "vhd");
	assert_null(qimg_format("vhd"));
	assert_null(qimg_format("luks"));
}

static void test_progress(void **state)
{
	static const char out[] = "    (0.00/100%)\r    (11.07/100%)\r    (21.81/100%)\r    (100.00/100%)\r";
	struct qimg_progress p;
	int seen[8], nseen = 0;

	/* Byte by byte: records split anywhere still parse. */
	qimg_progress_init(&p);
	assert_int_equal(p.pct, -1);
	for (size_t i = 0; i < sizeof(out) - 1; i++)
		if (qimg_progress_feed(&p, out + i, 1))
			seen[nseen++] = p.pct;
	assert_int_equal(nseen, 4);
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[1], 11);
	assert_int_equal(seen[2], 21);
	assert_int_equal(seen[3], 100);

	/* Whole, and junk around records. */
	qimg_progress_init(&p);
	assert_true(qimg_progress_feed(&p, out, sizeof(out) - 1));
	assert_int_equal(p.pct, 100);
	qimg_progress_init(&p);
	assert_false(qimg_progress_feed(&p, "(x/100%) (101.00/100%) (5/100) (5.5/99%) ()", 43));
	assert_false(qimg_progress_feed(&p, "(((((((((((((((((((((((((((((((((((((((((((((((((((((((", 55));
	assert_true(qimg_progress_feed(&p, "(7.5/100%)", 10));
	assert_int_equal(p.pct, 7);
	/* The same value again is no change. */
	assert_false(qimg_progress_feed(&p, "(7.9/100%)", 10));
}

static void test_partition_tables(void **state)
{
	unsigned char b[QIMG_HEAD_BYTES];

	memset(b, 0, sizeof(b));
	assert_false(disk_has_partition_table(b, sizeof(b)));
	b[510] = 0x55, b[511] = 0xaa;
	assert_true(disk_has_partition_table(b, sizeof(b)));
	assert_false(disk_has_partition_table(b, 511));
	b[511] = 0;
	memcpy(b + 512, "EFI PART", 8);
	assert_true(disk_has_partition_table(b, sizeof(b)));
	memset(b + 512, 0, 8);
	memcpy(b + 4096, "EFI PART", 8);
	assert_true(disk_has_partition_table(b, sizeof(b)));
	assert_false(disk_has_partition_table(b, 4100));
}

static void test_qcow2_header(void **state)
{
	unsigned char h[32] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	char path[] = "/tmp/hostd-test-qcow2-XXXXXX";
	int64_t v = 0;
	int fd;

	h[28] = 0x20; /* 512 MiB, big-endian at offset 24 */
	assert_int_equal(qcow2_header_size(h, sizeof(h), &v), 0);
	assert_true(v == 536870912);
	assert_int_equal(qcow2_header_size(h, 31, &v), -EINVAL);
	h[24] = 0x80; /* beyond int64 */
	assert_int_equal(qcow2_header_size(h, sizeof(h), &v), -EINVAL);
	h[24] = 0;
	h[3] = 0xfa;
	assert_int_equal(qcow2_header_size(h, sizeof(h), &v), -EINVAL);
	h[3] = 0xfb;
	memset(h + 24, 0, 8);
	assert_int_equal(qcow2_header_size(h, sizeof(h), &v), -EINVAL);

	h[29] = 1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, h, sizeof(h)), sizeof(h));
	close(fd);
	assert_int_equal(qcow2_virtual_size(path, &v), 0);
	assert_true(v == 65536);
	unlink(path);
	assert_int_equal(qcow2_virtual_size(path, &v), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ami_names),
		cmocka_unit_test(test_device_names),
		cmocka_unit_test(test_file_urls),
		cmocka_unit_test(test_import_dirs),
		cmocka_unit_test(test_qimg_info),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_partition_tables),
		cmocka_unit_test(test_qcow2_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
