/* vmm/: the accelerator decision, the domain XML (golden files; set
 * UPDATE_GOLDEN=1 to rewrite them after a deliberate change) and the
 * screenshot conversions. No hypervisor needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm.h"

static void test_accel(void **state)
{
	char why[200];

	(void)state;
	assert_int_equal(vmm_accel_from(true, " fpu vme vmx sse", why, sizeof(why)), VMM_ACCEL_KVM);
	assert_int_equal(vmm_accel_from(true, " fpu svm\n", why, sizeof(why)), VMM_ACCEL_KVM);
	/* /dev/kvm without vmx/svm cannot run ordinary guests (this CI box) */
	assert_int_equal(vmm_accel_from(true, " fpu vme sse2 hypervisor", why, sizeof(why)), VMM_ACCEL_TCG);
	assert_non_null(strstr(why, "no vmx/svm"));
	assert_int_equal(vmm_accel_from(false, " vmx", why, sizeof(why)), VMM_ACCEL_TCG);
	assert_int_equal(vmm_accel_from(true, " vmxx svmy", why, sizeof(why)), VMM_ACCEL_TCG);
	assert_int_equal(vmm_accel_from(true, NULL, why, sizeof(why)), VMM_ACCEL_TCG);
	{
		enum vmm_accel a;

		assert_int_equal(vmm_choose_accel("tcg", &a, why, sizeof(why)), 0);
		assert_int_equal(a, VMM_ACCEL_TCG);
	}
}

static void golden(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "tests/unit/golden/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	{
		char want[16384];
		size_t n = fread(want, 1, sizeof(want) - 1, f);

		want[n] = '\0';
		fclose(f);
		assert_string_equal(text, want);
	}
}

static void test_domain_xml(void **state)
{
	struct vmm_disk disk = { .path = "/var/lib/hostd/volumes/vol-0123456789abcdef0.qcow2", .target = "vda" };
	const char *argv[] = { "/usr/lib/hostd/hostd-imds-pipe", "--dir", "/var/lib/hostd/instances/i-0a/imds", NULL };
	struct vmm_spec s = {
		.name = "i-0123456789abcdef0", .uuid = "ec2a1b2c-0000-4000-8000-000000000001",
		.instance_type = "t3.micro", .az = "us-east-1a", .vcpus = 2, .memory_mib = 1024,
		.accel = VMM_ACCEL_TCG, .tb_cache_mib = 64, .disks = &disk, .ndisks = 1,
		.console_log = "/var/lib/hostd/instances/i-0123456789abcdef0/console.log",
	};
	struct buf b = BUF_INIT;

	(void)state;
	vmm_domain_xml(&s, &b);
	golden("domain-tcg.xml", b.data);
	buf_reset(&b);
	s.accel = VMM_ACCEL_KVM;
	s.imds_argv = argv;
	s.mac = "0e:01:23:45:67:89";
	vmm_domain_xml(&s, &b);
	golden("domain-kvm-imds.xml", b.data);
	/* a VPC ENI: a tap hostd made, no user-mode NIC */
	{
		const struct vmm_nic nic = { "tap-6789abcdef0", "02:0a:1b:2c:3d:4e" };

		buf_reset(&b);
		s.imds_argv = NULL;
		s.mac = NULL;
		s.accel = VMM_ACCEL_TCG;
		s.nics = &nic;
		s.nnics = 1;
		vmm_domain_xml(&s, &b);
		golden("domain-tcg-eni.xml", b.data);
		s.nics = NULL;
		s.nnics = 0;
		s.accel = VMM_ACCEL_KVM;
		s.imds_argv = argv;
		s.mac = "0e:01:23:45:67:89";
	}
	/* XML metacharacters in paths are escaped, commas doubled for QEMU */
	buf_reset(&b);
	disk.path = "/tmp/a'b&c<d>.qcow2";
	argv[2] = "/tmp/x,y 'z'";
	vmm_domain_xml(&s, &b);
	assert_non_null(strstr(b.data, "/tmp/a&apos;b&amp;c&lt;d&gt;.qcow2"));
	assert_null(strstr(b.data, "a'b"));
	assert_non_null(strstr(b.data, "&apos;/tmp/x,,y &apos;\\&apos;&apos;z&apos;\\&apos;&apos;&apos;"));
	buf_free(&b);
}

static int jpeg_dims(const unsigned char *j, size_t n, int *w, int *h)
{
	size_t i = 2;

	if (n < 4 || j[0] != 0xff || j[1] != 0xd8 || j[n - 2] != 0xff || j[n - 1] != 0xd9)
		return -1;
	while (i + 9 < n) {
		unsigned m = j[i + 1], len = (unsigned)(j[i + 2] << 8 | j[i + 3]);

		if (m == 0xc0 || m == 0xc2) {
			*h = j[i + 5] << 8 | j[i + 6];
			*w = j[i + 7] << 8 | j[i + 8];
			return 0;
		}
		i += 2 + len;
	}
	return -1;
}

static void test_ppm_png_to_jpeg(void **state)
{
	unsigned char ppm[64 + 3 * 32 * 16], *jpg = NULL, rgb[3 * 32 * 16];
	size_t hl, jlen = 0;
	int w = 0, h = 0, jw, jh;

	(void)state;
	for (size_t i = 0; i < sizeof(rgb); i++)
		rgb[i] = (unsigned char)(i * 7);
	hl = (size_t)snprintf((char *)ppm, 64, "P6\n# qemu\n32 16\n255\n");
	memcpy(ppm + hl, rgb, sizeof(rgb));
	assert_int_equal(vmm_ppm_to_jpeg(ppm, hl + sizeof(rgb), 85, &jpg, &jlen, &w, &h), 0);
	assert_int_equal(w, 32);
	assert_int_equal(h, 16);
	assert_int_equal(jpeg_dims(jpg, jlen, &jw, &jh), 0);
	assert_int_equal(jw, 32);
	assert_int_equal(jh, 16);
	free(jpg);
	/* truncated pixels, wrong magic, absurd sizes */
	assert_int_equal(vmm_ppm_to_jpeg(ppm, hl + 10, 85, &jpg, &jlen, &w, &h), -EINVAL);
	assert_int_equal(vmm_ppm_to_jpeg((const unsigned char *)"P3\n1 1\n255\n", 11, 85, &jpg, &jlen, &w, &h), -EINVAL);
	assert_int_equal(vmm_ppm_to_jpeg((const unsigned char *)"P6\n99999999 1\n255\n", 18, 85, &jpg, &jlen, &w, &h),
			 -EINVAL);
	{
		png_image img;
		png_alloc_size_t plen = 0;
		unsigned char *png;

		memset(&img, 0, sizeof(img));
		img.version = PNG_IMAGE_VERSION;
		img.width = 32;
		img.height = 16;
		img.format = PNG_FORMAT_RGB;
		assert_true(png_image_write_get_memory_size(img, plen, 0, rgb, 0, NULL));
		png = malloc(plen);
		assert_true(png_image_write_to_memory(&img, png, &plen, 0, rgb, 0, NULL));
		assert_int_equal(vmm_png_to_jpeg(png, plen, 85, &jpg, &jlen, &w, &h), 0);
		assert_int_equal(w, 32);
		assert_int_equal(h, 16);
		assert_int_equal(jpeg_dims(jpg, jlen, &jw, &jh), 0);
		free(jpg);
		assert_int_equal(vmm_png_to_jpeg(png, plen / 2, 85, &jpg, &jlen, &w, &h), -EINVAL);
		free(png);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_domain_xml),
		cmocka_unit_test(test_ppm_png_to_jpeg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
