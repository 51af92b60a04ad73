#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hostd/filter.h"
#include "hostd/instance_types.h"
#include "hostd/xml.h"

static const struct instance_type *must(const char *name)
{
	const struct instance_type *t = itype_find(name);

	if (!t)
		fail_msg("%s missing", name);
	return t;
}

static void test_spot_values(void **state)
{
	static const struct { const char *name; int vcpus, mib; } want[] = {
		{ "t2.nano", 1, 512 },   { "t2.micro", 1, 1024 }, { "t2.small", 1, 2048 },
		{ "t2.medium", 2, 4096 }, { "t3.nano", 2, 512 },  { "t3.micro", 2, 1024 },
		{ "t3.small", 2, 2048 }, { "t3.medium", 2, 4096 }, { "m5.large", 2, 8192 },
		{ "c5.large", 2, 4096 }, { "r5.large", 2, 16384 }, { "c5.9xlarge", 36, 73728 },
		{ "m5.metal", 96, 393216 }, { "r5.24xlarge", 96, 786432 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct instance_type *t = must(want[i].name);

		assert_string_equal(itype_name(t), want[i].name);
		assert_int_equal(itype_vcpus(t), want[i].vcpus);
		assert_int_equal(itype_memory_mib(t), want[i].mib);
		assert_int_equal(itype_default_cores(t) * itype_default_threads_per_core(t),
				 itype_vcpus(t));
	}
	assert_null(itype_find("m5.nano"));
	assert_null(itype_find("M5.LARGE"));
	assert_null(itype_find(""));
	assert_null(itype_find(NULL));
	assert_null(itype_at(itype_count()));
}

static void test_storage(void **state)
{
	static const struct { const char *name; int count, gb; } want[] = {
		{ "m5d.large", 1, 75 }, { "c5d.large", 1, 50 }, { "r5d.large", 1, 75 },
		{ "m5d.4xlarge", 2, 300 }, { "c5d.9xlarge", 1, 900 }, { "c5d.18xlarge", 2, 900 },
		{ "m5d.16xlarge", 4, 600 }, { "r5d.metal", 4, 900 }, { "c5d.metal", 4, 900 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct instance_type *t = must(want[i].name);

		assert_int_equal(itype_disk_count(t), want[i].count);
		assert_int_equal(itype_disk_size_gb(t), want[i].gb);
		assert_int_equal(itype_instance_storage_gb(t), want[i].count * want[i].gb);
	}
	for (size_t i = 0; i < itype_count(); i++) {
		const struct instance_type *t = itype_at(i);
		const char *dot = strchr(itype_name(t), '.');
		bool d = dot && dot[-1] == 'd';

		assert_non_null(dot);
		if (d)
			assert_true(itype_instance_storage_gb(t) > 0);
		else
			assert_int_equal(itype_instance_storage_gb(t), 0);
	}
}

static void test_unique_and_ordered(void **state)
{
	static const char *const fams[] = { "t2", "t3", "m5", "m5d", "c5", "c5d", "r5", "r5d" };
	size_t fi = 0;
	int last_vcpus = 0;
	bool seen_metal = false;

	assert_int_equal(itype_count(), 7 + 7 + 4 * 9 + 2 * 9);
	for (size_t i = 0; i < itype_count(); i++) {
		const struct instance_type *t = itype_at(i);
		const char *name = itype_name(t);
		size_t flen = strcspn(name, ".");

		assert_ptr_equal(itype_find(name), t);
		assert_ptr_equal(itype_at(i), t); /* stable */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(itype_name(itype_at(j)), name);
		if (strlen(fams[fi]) != flen || strncmp(fams[fi], name, flen) != 0) {
			fi++;
			assert_true(fi < sizeof(fams) / sizeof(fams[0]));
			assert_int_equal(strlen(fams[fi]), flen);
			assert_memory_equal(fams[fi], name, flen);
			last_vcpus = 0;
			seen_metal = false;
		}
		/* sizes run small to large, metal last */
		assert_false(seen_metal);
		assert_true(itype_vcpus(t) >= last_vcpus);
		last_vcpus = itype_vcpus(t);
		seen_metal = itype_bare_metal(t);
	}
	assert_int_equal(fi, sizeof(fams) / sizeof(fams[0]) - 1);
	assert_string_equal(itype_name(itype_at(0)), "t2.nano");
	assert_string_equal(itype_name(itype_at(itype_count() - 1)), "r5d.metal");
}

static void test_flags(void **state)
{
	for (size_t i = 0; i < itype_count(); i++) {
		const struct instance_type *t = itype_at(i);
		const char *n = itype_name(t);
		bool t2 = strncmp(n, "t2.", 3) == 0, t3 = strncmp(n, "t3.", 3) == 0;

		assert_int_equal(itype_burstable(t), t2 || t3);
		assert_int_equal(itype_bare_metal(t), strstr(n, ".metal") != NULL);
		if (itype_bare_metal(t))
			assert_null(itype_hypervisor(t));
		else
			assert_string_equal(itype_hypervisor(t), t2 ? "xen" : "nitro");
		assert_true(itype_supports_arch(t, "x86_64"));
		assert_int_equal(itype_supports_arch(t, "i386"), t2);
		assert_false(itype_supports_arch(t, "arm64"));
		assert_true(itype_supports_boot_mode(t, "legacy-bios"));
		assert_int_equal(itype_supports_boot_mode(t, "uefi"), !t2 && !itype_bare_metal(t));
		assert_true(itype_max_network_interfaces(t) >= 2);
		assert_true(itype_ipv4_per_interface(t) >= 2);
		assert_true(itype_cpu_options_valid(t, itype_default_cores(t),
						    itype_default_threads_per_core(t)));
	}
	assert_true(itype_hibernation_supported(must("c5.18xlarge")));   /* 144 GiB */
	assert_false(itype_hibernation_supported(must("c5.24xlarge")));  /* 192 GiB */
	assert_false(itype_hibernation_supported(must("m5.metal")));
	assert_int_equal(itype_max_network_interfaces(must("t2.micro")), 2);
	assert_int_equal(itype_ipv4_per_interface(must("m5.large")), 10);
	assert_int_equal(itype_max_network_interfaces(must("m5.24xlarge")), 15);
}

static void test_cpu_options(void **state)
{
	const struct instance_type *m5_4x = must("m5.4xlarge");
	const struct instance_type *m5_24x = must("m5.24xlarge");

	assert_true(itype_cpu_options_valid(m5_4x, 2, 1));
	assert_true(itype_cpu_options_valid(m5_4x, 8, 2));
	assert_false(itype_cpu_options_valid(m5_4x, 3, 2));
	assert_false(itype_cpu_options_valid(m5_4x, 10, 2));
	assert_false(itype_cpu_options_valid(m5_4x, 8, 3));
	assert_false(itype_cpu_options_valid(m5_24x, 2, 2));
	assert_true(itype_cpu_options_valid(m5_24x, 4, 1));
	assert_true(itype_cpu_options_valid(must("t3.micro"), 1, 1));
	assert_false(itype_cpu_options_valid(must("t2.2xlarge"), 4, 2));
	assert_false(itype_cpu_options_valid(must("c5.metal"), 24, 2));
}

/* A balance check: every tag closes in order, no attributes, no stray
 * markup in text. Returns the number of elements. */
static int xml_balanced(const char *s)
{
	const char *stack[64];
	size_t lens[64];
	int depth = 0, count = 0;

	while (*s) {
		if (*s != '<') {
			if (*s == '>')
				return -1;
			if (*s == '&' && strncmp(s, "&amp;", 5) != 0 && strncmp(s, "&lt;", 4) != 0 &&
			    strncmp(s, "&gt;", 4) != 0)
				return -1;
			s++;
			continue;
		}
		bool closing = s[1] == '/';
		const char *name = s + (closing ? 2 : 1);
		size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

		if (n == 0 || name[n] != '>')
			return -1;
		if (closing) {
			if (depth == 0 || lens[depth - 1] != n || memcmp(stack[depth - 1], name, n) != 0)
				return -1;
			depth--;
		} else {
			if (depth == 64)
				return -1;
			stack[depth] = name;
			lens[depth++] = n;
			count++;
		}
		s = name + n + 1;
	}
	return depth == 0 ? count : -1;
}

static char *render(const struct instance_type *t, struct xml *x)
{
	xml_init(x);
	xml_open(x, "item");
	itype_write_xml(x, t);
	xml_close(x);
	assert_int_equal(xml_finish(x), 0);
	return x->out.data;
}

static void test_xml(void **state)
{
	static const char *const always[] = {
		"<instanceType>", "<currentGeneration>true</currentGeneration>", "<freeTierEligible>",
		"<supportedUsageClasses><item>on-demand</item><item>spot</item></supportedUsageClasses>",
		"<supportedRootDeviceTypes><item>ebs</item></supportedRootDeviceTypes>",
		"<supportedVirtualizationTypes><item>hvm</item></supportedVirtualizationTypes>",
		"<bareMetal>", "<processorInfo><supportedArchitectures>", "<vCpuInfo><defaultVCpus>",
		"<defaultCores>", "<defaultThreadsPerCore>", "<memoryInfo><sizeInMiB>",
		"<instanceStorageSupported>", "<ebsInfo><ebsOptimizedSupport>",
		"<encryptionSupport>supported</encryptionSupport>",
		"<networkInfo><networkPerformance>", "<maximumNetworkInterfaces>",
		"<ipv4AddressesPerInterface>", "<ipv6Supported>true</ipv6Supported>", "<enaSupport>",
		"<placementGroupInfo><supportedStrategies>", "<hibernationSupported>",
		"<burstablePerformanceSupported>", "<dedicatedHostsSupported>",
		"<autoRecoverySupported>", "<supportedBootModes><item>legacy-bios</item>",
	};

	for (size_t i = 0; i < itype_count(); i++) {
		const struct instance_type *t = itype_at(i);
		struct xml x;
		const char *s = render(t, &x);
		char want[256];

		assert_true(xml_balanced(s) > 20);
		for (size_t k = 0; k < sizeof(always) / sizeof(always[0]); k++)
			if (!strstr(s, always[k]))
				fail_msg("%s: no %s in %s", itype_name(t), always[k], s);
		snprintf(want, sizeof(want), "<instanceType>%s</instanceType>", itype_name(t));
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "<defaultVCpus>%d</defaultVCpus>", itype_vcpus(t));
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "<sizeInMiB>%d</sizeInMiB>", itype_memory_mib(t));
		assert_non_null(strstr(s, want));
		if (itype_instance_storage_gb(t)) {
			snprintf(want, sizeof(want),
				 "<instanceStorageInfo><totalSizeInGB>%d</totalSizeInGB><disks><item>"
				 "<sizeInGB>%d</sizeInGB><count>%d</count><type>ssd</type></item></disks>"
				 "<nvmeSupport>required</nvmeSupport>",
				 itype_instance_storage_gb(t), itype_disk_size_gb(t), itype_disk_count(t));
			assert_non_null(strstr(s, want));
			assert_non_null(strstr(s, "<instanceStorageSupported>true<"));
		} else {
			assert_null(strstr(s, "instanceStorageInfo"));
			assert_non_null(strstr(s, "<instanceStorageSupported>false<"));
		}
		if (itype_bare_metal(t))
			assert_null(strstr(s, "<hypervisor>"));
		else
			assert_non_null(strstr(s, "<hypervisor>"));
		xml_free(&x);
	}
}

static void test_xml_details(void **state)
{
	struct xml x;
	const char *s = render(must("t2.micro"), &x);

	assert_non_null(strstr(s, "<freeTierEligible>true</freeTierEligible>"));
	assert_non_null(strstr(s, "<hypervisor>xen</hypervisor>"));
	assert_non_null(strstr(s, "<supportedArchitectures><item>i386</item><item>x86_64</item>"));
	assert_non_null(strstr(s, "<enaSupport>unsupported</enaSupport>"));
	assert_non_null(strstr(s, "<burstablePerformanceSupported>true<"));
	assert_null(strstr(s, "validCores"));
	assert_null(strstr(s, "uefi"));
	xml_free(&x);

	s = render(must("c5.4xlarge"), &x);
	assert_non_null(strstr(s, "<hypervisor>nitro</hypervisor>"));
	assert_non_null(strstr(s, "<sustainedClockSpeedInGhz>3.4</sustainedClockSpeedInGhz>"));
	assert_non_null(strstr(s, "<validCores><item>2</item><item>4</item><item>6</item>"
				  "<item>8</item></validCores>"));
	assert_non_null(strstr(s, "<validThreadsPerCore><item>1</item><item>2</item>"));
	assert_non_null(strstr(s, "<enaSupport>required</enaSupport>"));
	assert_non_null(strstr(s, "<ebsOptimizedSupport>default</ebsOptimizedSupport>"));
	assert_non_null(strstr(s, "<baselineBandwidthInMbps>4750</baselineBandwidthInMbps>"));
	assert_non_null(strstr(s, "<item>cluster</item>"));
	assert_non_null(strstr(s, "<item>uefi</item>"));
	assert_non_null(strstr(s, "<freeTierEligible>false</freeTierEligible>"));
	xml_free(&x);

	s = render(must("r5.metal"), &x);
	assert_non_null(strstr(s, "<bareMetal>true</bareMetal>"));
	assert_null(strstr(s, "validCores"));
	assert_non_null(strstr(s, "<networkPerformance>25 Gigabit</networkPerformance>"));
	xml_free(&x);
}

static bool bag_has(const struct fbag *b, const char *name, const char *value)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->e[i].name, name) == 0 && strcmp(b->e[i].value, value) == 0)
			return true;
	return false;
}

static void test_fbag(void **state)
{
	struct fbag b = FBAG_INIT;

	itype_fbag(must("m5d.large"), &b);
	assert_true(bag_has(&b, "instance-type", "m5d.large"));
	assert_true(bag_has(&b, "vcpu-info.default-vcpus", "2"));
	assert_true(bag_has(&b, "vcpu-info.default-cores", "1"));
	assert_true(bag_has(&b, "vcpu-info.default-threads-per-core", "2"));
	assert_true(bag_has(&b, "vcpu-info.valid-cores", "1"));
	assert_true(bag_has(&b, "vcpu-info.valid-threads-per-core", "1"));
	assert_true(bag_has(&b, "vcpu-info.valid-threads-per-core", "2"));
	assert_true(bag_has(&b, "memory-info.size-in-mib", "8192"));
	assert_true(bag_has(&b, "instance-storage-supported", "true"));
	assert_true(bag_has(&b, "instance-storage-info.total-size-in-gb", "75"));
	assert_true(bag_has(&b, "instance-storage-info.disk.count", "1"));
	assert_true(bag_has(&b, "instance-storage-info.disk.type", "ssd"));
	assert_true(bag_has(&b, "instance-storage-info.nvme-support", "required"));
	assert_true(bag_has(&b, "hypervisor", "nitro"));
	assert_true(bag_has(&b, "processor-info.supported-architecture", "x86_64"));
	assert_true(bag_has(&b, "processor-info.sustained-clock-speed-in-ghz", "3.1"));
	assert_true(bag_has(&b, "network-info.network-performance", "Up to 10 Gigabit"));
	assert_true(bag_has(&b, "supported-usage-class", "spot"));
	assert_true(bag_has(&b, "supported-boot-mode", "uefi"));
	assert_true(bag_has(&b, "ebs-info.nvme-support", "required"));
	assert_true(bag_has(&b, "free-tier-eligible", "false"));

	fbag_reset(&b);
	itype_fbag(must("t2.micro"), &b);
	assert_true(bag_has(&b, "free-tier-eligible", "true"));
	assert_true(bag_has(&b, "hypervisor", "xen"));
	assert_true(bag_has(&b, "processor-info.supported-architecture", "i386"));
	assert_true(bag_has(&b, "instance-storage-supported", "false"));
	assert_false(bag_has(&b, "supported-boot-mode", "uefi"));
	fbag_free(&b);
}

/* Every name a bag carries must be an accepted filter, and a realistic
 * filter set selects exactly the expected types. */
static void test_filters(void **state)
{
	struct fbag b = FBAG_INIT;
	char *v_type[] = { (char *)"m5*", (char *)"c5d.*" };
	char *v_vcpu[] = { (char *)"2" };
	char *v_store[] = { (char *)"true" };
	struct filter f[] = {
		{ (char *)"instance-type", v_type, 2 },
		{ (char *)"vcpu-info.default-vcpus", v_vcpu, 1 },
		{ (char *)"instance-storage-supported", v_store, 1 },
	};
	struct filter_set fs = { f, 3 };
	int hits = 0;

	for (size_t i = 0; i < itype_count(); i++) {
		fbag_reset(&b);
		itype_fbag(itype_at(i), &b);
		for (size_t k = 0; k < b.n; k++)
			if (!filter_name_allowed(b.e[k].name, itype_filter_names, false))
				fail_msg("%s not in itype_filter_names", b.e[k].name);
		if (filter_set_match(&fs, &b)) {
			hits++;
			assert_true(strcmp(itype_name(itype_at(i)), "m5d.large") == 0 ||
				    strcmp(itype_name(itype_at(i)), "c5d.large") == 0);
		}
	}
	assert_int_equal(hits, 2);
	assert_true(filter_name_allowed("vcpu-info.default-vcpus", itype_filter_names, false));
	assert_false(filter_name_allowed("tag:Name", itype_filter_names, false));
	fbag_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spot_values),
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_unique_and_ordered),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_cpu_options),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_xml_details),
		cmocka_unit_test(test_fbag),
		cmocka_unit_test(test_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
