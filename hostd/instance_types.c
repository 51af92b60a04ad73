#include "hostd/instance_types.h"

#include <stdlib.h>
#include <string.h>

#include "hostd/filter.h"
#include "hostd/xml.h"
#include "lib/util.h"

/* Values follow the AWS instance-type specifications and what
 * DescribeInstanceTypes reports for these families. Deliberately left out
 * because they could not be stated reliably:
 *  - ebsOptimizedInfo baseline/maximum IOPS and throughput (only the
 *    bandwidths in Mbps are given);
 *  - sustainedClockSpeedInGhz for t2 other than t2.micro (t2 hosts mix
 *    processor generations, and the per-size figures are not certain);
 *  - validCores/validThreadsPerCore for t2 and metal sizes, which take no
 *    CPU options. */

enum { ARCH_I386 = 1, ARCH_X86_64 = 2 };

struct itype_family {
	const char *hypervisor;
	unsigned arch;
	bool xen;             /* t2: no ENA, no NVMe, not EBS-optimized, legacy BIOS only */
	bool burstable;
	bool dedicated_hosts;
	bool auto_recovery;   /* not offered for types with instance store */
	bool cluster_pg;      /* burstable types cannot join cluster groups */
};

struct instance_type {
	const char *name;
	const struct itype_family *fam;
	int vcpus, cores, tpc;
	int vc_min;           /* valid cores: vc_min, vc_min+2, ..., cores; 0 = no CPU options */
	int mem_mib;
	int ndisks, disk_gb;
	const char *net;
	int enis, ipv4;
	int ebs_base, ebs_max; /* Mbps; 0 when not EBS-optimized */
	const char *clock;    /* GHz as text, NULL when unknown */
	bool free_tier, metal;
};

static const struct itype_family fam_t2 = { "xen", ARCH_I386 | ARCH_X86_64, true, true, false, true, false };
static const struct itype_family fam_t3 = { "nitro", ARCH_X86_64, false, true, true, true, false };
static const struct itype_family fam_nitro = { "nitro", ARCH_X86_64, false, false, true, true, true };
static const struct itype_family fam_nitro_d = { "nitro", ARCH_X86_64, false, false, true, false, true };

#define GIB(n) ((n) * 1024)

#define T2(n, v, mem, net_, enis_, ip, clk, ft) \
	{ .name = n, .fam = &fam_t2, .vcpus = v, .cores = v, .tpc = 1, .mem_mib = mem, \
	  .net = net_, .enis = enis_, .ipv4 = ip, .clock = clk, .free_tier = ft }
#define T3(n, v, vcmin, mem, enis_, ip, eb, em, ft) \
	{ .name = n, .fam = &fam_t3, .vcpus = v, .cores = (v) / 2, .tpc = 2, .vc_min = vcmin, \
	  .mem_mib = mem, .net = "Up to 5 Gigabit", .enis = enis_, .ipv4 = ip, \
	  .ebs_base = eb, .ebs_max = em, .clock = "2.5", .free_tier = ft }
/* Nitro virtualized sizes; nd x dgb instance-store disks (0 x 0 for none). */
#define NV(n, f, v, vcmin, mem, nd, dgb, net_, enis_, ip, eb, em, clk) \
	{ .name = n, .fam = f, .vcpus = v, .cores = (v) / 2, .tpc = 2, .vc_min = vcmin, \
	  .mem_mib = mem, .ndisks = nd, .disk_gb = dgb, .net = net_, .enis = enis_, .ipv4 = ip, \
	  .ebs_base = eb, .ebs_max = em, .clock = clk }
#define METAL(n, f, mem, nd, dgb, clk) \
	{ .name = n, .fam = f, .vcpus = 96, .cores = 48, .tpc = 2, .mem_mib = mem, \
	  .ndisks = nd, .disk_gb = dgb, .net = "25 Gigabit", .enis = 15, .ipv4 = 50, \
	  .ebs_base = 19000, .ebs_max = 19000, .clock = clk, .metal = true }

/* m5 and r5 share sizes, networking and EBS bandwidth; only memory differs. */
#define M5R5(fam, pre, mul, d1, d2, d3, d4, d5, d6, d7, d8) \
	NV(pre ".large",    fam,  2, 1, GIB(8 * (mul)),   d1, "Up to 10 Gigabit", 3, 10,   650,  4750, "3.1"), \
	NV(pre ".xlarge",   fam,  4, 2, GIB(16 * (mul)),  d2, "Up to 10 Gigabit", 4, 15,  1150,  4750, "3.1"), \
	NV(pre ".2xlarge",  fam,  8, 2, GIB(32 * (mul)),  d3, "Up to 10 Gigabit", 4, 15,  2300,  4750, "3.1"), \
	NV(pre ".4xlarge",  fam, 16, 2, GIB(64 * (mul)),  d4, "Up to 10 Gigabit", 8, 30,  4750,  4750, "3.1"), \
	NV(pre ".8xlarge",  fam, 32, 2, GIB(128 * (mul)), d5, "10 Gigabit",       8, 30,  6800,  6800, "3.1"), \
	NV(pre ".12xlarge", fam, 48, 2, GIB(192 * (mul)), d6, "12 Gigabit",       8, 30,  9500,  9500, "3.1"), \
	NV(pre ".16xlarge", fam, 64, 2, GIB(256 * (mul)), d7, "20 Gigabit",      15, 50, 13600, 13600, "3.1"), \
	/* two sockets: at least two cores on each */ \
	NV(pre ".24xlarge", fam, 96, 4, GIB(384 * (mul)), d8, "25 Gigabit",      15, 50, 19000, 19000, "3.1"), \
	METAL(pre ".metal", fam, GIB(384 * (mul)), d8, "3.1")

/* c5 sizes on Skylake run at 3.4 GHz all-core; 12xlarge, 24xlarge and metal
 * are Cascade Lake at 3.6 GHz. */
#define C5(fam, pre, d1, d2, d3, d4, d9, d12, d18, d24) \
	NV(pre ".large",    fam,  2, 1, GIB(4),   d1,  "Up to 10 Gigabit", 3, 10,   650,  4750, "3.4"), \
	NV(pre ".xlarge",   fam,  4, 2, GIB(8),   d2,  "Up to 10 Gigabit", 4, 15,  1150,  4750, "3.4"), \
	NV(pre ".2xlarge",  fam,  8, 2, GIB(16),  d3,  "Up to 10 Gigabit", 4, 15,  2300,  4750, "3.4"), \
	NV(pre ".4xlarge",  fam, 16, 2, GIB(32),  d4,  "Up to 10 Gigabit", 8, 30,  4750,  4750, "3.4"), \
	NV(pre ".9xlarge",  fam, 36, 2, GIB(72),  d9,  "12 Gigabit",       8, 30,  9500,  9500, "3.4"), \
	NV(pre ".12xlarge", fam, 48, 2, GIB(96),  d12, "12 Gigabit",       8, 30,  9500,  9500, "3.6"), \
	NV(pre ".18xlarge", fam, 72, 4, GIB(144), d18, "25 Gigabit",      15, 50, 19000, 19000, "3.4"), \
	NV(pre ".24xlarge", fam, 96, 4, GIB(192), d24, "25 Gigabit",      15, 50, 19000, 19000, "3.6"), \
	METAL(pre ".metal", fam, GIB(192), d24, "3.6")

/* Instance-store disks: count x GB each. Expands to two arguments. */
#define DISK(n, gb) n, gb
#define NODISK 0, 0

static const struct instance_type types[] = {
	/* t2.nano's network performance is given as "Low to Moderate" as
	 * DescribeInstanceTypes reports it (older pages said "Low"). */
	T2("t2.nano",    1, 512,      "Low to Moderate", 2, 2,  NULL,  false),
	T2("t2.micro",   1, GIB(1),   "Low to Moderate", 2, 2,  "2.5", true),
	T2("t2.small",   1, GIB(2),   "Low to Moderate", 3, 4,  NULL,  false),
	T2("t2.medium",  2, GIB(4),   "Low to Moderate", 3, 6,  NULL,  false),
	T2("t2.large",   2, GIB(8),   "Low to Moderate", 3, 12, NULL,  false),
	T2("t2.xlarge",  4, GIB(16),  "Moderate",        3, 15, NULL,  false),
	T2("t2.2xlarge", 8, GIB(32),  "Moderate",        3, 15, NULL,  false),

	T3("t3.nano",    2, 1, 512,     2, 2,   43, 2085, false),
	T3("t3.micro",   2, 1, GIB(1),  2, 2,   87, 2085, true),
	T3("t3.small",   2, 1, GIB(2),  3, 4,  174, 2085, false),
	T3("t3.medium",  2, 1, GIB(4),  3, 6,  347, 2085, false),
	T3("t3.large",   2, 1, GIB(8),  3, 12, 695, 2780, false),
	T3("t3.xlarge",  4, 2, GIB(16), 4, 15, 695, 2780, false),
	T3("t3.2xlarge", 8, 2, GIB(32), 4, 15, 695, 2780, false),

	M5R5(&fam_nitro, "m5", 1, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK),
	M5R5(&fam_nitro_d, "m5d", 1, DISK(1, 75), DISK(1, 150), DISK(1, 300), DISK(2, 300),
	     DISK(2, 600), DISK(2, 900), DISK(4, 600), DISK(4, 900)),
	C5(&fam_nitro, "c5", NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK),
	C5(&fam_nitro_d, "c5d", DISK(1, 50), DISK(1, 100), DISK(1, 200), DISK(1, 400),
	   DISK(1, 900), DISK(2, 900), DISK(2, 900), DISK(4, 900)),
	M5R5(&fam_nitro, "r5", 2, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK, NODISK),
	M5R5(&fam_nitro_d, "r5d", 2, DISK(1, 75), DISK(1, 150), DISK(1, 300), DISK(2, 300),
	     DISK(2, 600), DISK(2, 900), DISK(4, 600), DISK(4, 900)),
};

const char *const itype_filter_names[] = {
	"auto-recovery-supported",
	"bare-metal",
	"burstable-performance-supported",
	"current-generation",
	"dedicated-hosts-supported",
	/* accepted though the table leaves IOPS and throughput out: such
	 * filters then match nothing rather than being rejected */
	"ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps",
	"ebs-info.ebs-optimized-info.baseline-iops",
	"ebs-info.ebs-optimized-info.baseline-throughput-in-mbps",
	"ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps",
	"ebs-info.ebs-optimized-info.maximum-iops",
	"ebs-info.ebs-optimized-info.maximum-throughput-in-mbps",
	"ebs-info.ebs-optimized-support",
	"ebs-info.encryption-support",
	"ebs-info.nvme-support",
	"free-tier-eligible",
	"hibernation-supported",
	"hypervisor",
	"instance-storage-info.disk.count",
	"instance-storage-info.disk.size-in-gb",
	"instance-storage-info.disk.type",
	"instance-storage-info.encryption-support",
	"instance-storage-info.nvme-support",
	"instance-storage-info.total-size-in-gb",
	"instance-storage-supported",
	"instance-type",
	"memory-info.size-in-mib",
	"network-info.efa-info.maximum-efa-interfaces",
	"network-info.efa-supported",
	"network-info.ena-support",
	"network-info.encryption-in-transit-supported",
	"network-info.ipv4-addresses-per-interface",
	"network-info.ipv6-addresses-per-interface",
	"network-info.ipv6-supported",
	"network-info.maximum-network-cards",
	"network-info.maximum-network-interfaces",
	"network-info.network-performance",
	"processor-info.supported-architecture",
	"processor-info.sustained-clock-speed-in-ghz",
	"supported-boot-mode",
	"supported-root-device-type",
	"supported-usage-class",
	"supported-virtualization-type",
	"vcpu-info.default-cores",
	"vcpu-info.default-threads-per-core",
	"vcpu-info.default-vcpus",
	"vcpu-info.valid-cores",
	"vcpu-info.valid-threads-per-core",
	NULL,
};

const struct instance_type *itype_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

size_t itype_count(void)
{
	return ARRAY_SIZE(types);
}

const struct instance_type *itype_at(size_t i)
{
	return i < ARRAY_SIZE(types) ? &types[i] : NULL;
}

const char *itype_name(const struct instance_type *t) { return t->name; }
int itype_vcpus(const struct instance_type *t) { return t->vcpus; }
int itype_default_cores(const struct instance_type *t) { return t->cores; }
int itype_default_threads_per_core(const struct instance_type *t) { return t->tpc; }
int itype_memory_mib(const struct instance_type *t) { return t->mem_mib; }
int itype_instance_storage_gb(const struct instance_type *t) { return t->ndisks * t->disk_gb; }
int itype_disk_count(const struct instance_type *t) { return t->ndisks; }
int itype_disk_size_gb(const struct instance_type *t) { return t->disk_gb; }
int itype_max_network_interfaces(const struct instance_type *t) { return t->enis; }
int itype_ipv4_per_interface(const struct instance_type *t) { return t->ipv4; }
bool itype_bare_metal(const struct instance_type *t) { return t->metal; }
bool itype_burstable(const struct instance_type *t) { return t->fam->burstable; }

const char *itype_hypervisor(const struct instance_type *t)
{
	return t->metal ? NULL : t->fam->hypervisor;
}

/* EC2 hibernates only instances with less than 150 GiB of RAM, never bare
 * metal; every family here is otherwise on the supported list. */
bool itype_hibernation_supported(const struct instance_type *t)
{
	return !t->metal && t->mem_mib < GIB(150);
}

bool itype_supports_arch(const struct instance_type *t, const char *arch)
{
	if (strcmp(arch, "x86_64") == 0)
		return t->fam->arch & ARCH_X86_64;
	if (strcmp(arch, "i386") == 0)
		return t->fam->arch & ARCH_I386;
	return false;
}

/* UEFI needs Nitro and is not offered on these bare-metal sizes. */
static bool has_uefi(const struct instance_type *t)
{
	return !t->fam->xen && !t->metal;
}

bool itype_supports_boot_mode(const struct instance_type *t, const char *mode)
{
	if (strcmp(mode, "legacy-bios") == 0)
		return true;
	if (strcmp(mode, "uefi") == 0)
		return has_uefi(t);
	return false;
}

bool itype_cpu_options_valid(const struct instance_type *t, int cores, int threads_per_core)
{
	if (!t->vc_min)
		return cores == t->cores && threads_per_core == t->tpc;
	if (threads_per_core != 1 && threads_per_core != 2)
		return false;
	if (cores < t->vc_min || cores > t->cores)
		return false;
	return (cores - t->vc_min) % 2 == 0;
}

static const char *const usage_classes[] = { "on-demand", "spot", NULL };
static const char *const root_devices[] = { "ebs", NULL };
static const char *const virt_types[] = { "hvm", NULL };

static void xml_list(struct xml *x, const char *name, const char *const *v)
{
	xml_open(x, name);
	for (size_t i = 0; v[i]; i++)
		xml_text(x, "item", v[i]);
	xml_close(x);
}

static const char *ebs_opt(const struct instance_type *t)
{
	return t->fam->xen ? "unsupported" : "default";
}

static const char *nvme(const struct instance_type *t)
{
	return t->fam->xen ? "unsupported" : "required";
}

static const char *ena(const struct instance_type *t)
{
	return t->fam->xen ? "unsupported" : "required";
}

static const char *const *placement(const struct instance_type *t)
{
	static const char *const with_cluster[] = { "cluster", "partition", "spread", NULL };
	static const char *const without[] = { "partition", "spread", NULL };

	return t->fam->cluster_pg ? with_cluster : without;
}

static const char *const *boot_modes(const struct instance_type *t)
{
	static const char *const both[] = { "legacy-bios", "uefi", NULL };
	static const char *const bios[] = { "legacy-bios", NULL };

	return has_uefi(t) ? both : bios;
}

static const char *const *archs(const struct instance_type *t)
{
	static const char *const both[] = { "i386", "x86_64", NULL };
	static const char *const x64[] = { "x86_64", NULL };

	return t->fam->arch & ARCH_I386 ? both : x64;
}

void itype_write_xml(struct xml *x, const struct instance_type *t)
{
	xml_text(x, "instanceType", t->name);
	xml_bool(x, "currentGeneration", true);
	xml_bool(x, "freeTierEligible", t->free_tier);
	xml_list(x, "supportedUsageClasses", usage_classes);
	xml_list(x, "supportedRootDeviceTypes", root_devices);
	xml_list(x, "supportedVirtualizationTypes", virt_types);
	xml_bool(x, "bareMetal", t->metal);
	if (itype_hypervisor(t))
		xml_text(x, "hypervisor", itype_hypervisor(t));

	xml_open(x, "processorInfo");
	xml_list(x, "supportedArchitectures", archs(t));
	if (t->clock)
		xml_double(x, "sustainedClockSpeedInGhz", strtod(t->clock, NULL));
	xml_close(x);

	xml_open(x, "vCpuInfo");
	xml_int(x, "defaultVCpus", t->vcpus);
	xml_int(x, "defaultCores", t->cores);
	xml_int(x, "defaultThreadsPerCore", t->tpc);
	if (t->vc_min) {
		xml_open(x, "validCores");
		for (int c = t->vc_min; c <= t->cores; c += 2)
			xml_int(x, "item", c);
		xml_close(x);
		xml_open(x, "validThreadsPerCore");
		xml_int(x, "item", 1);
		xml_int(x, "item", 2);
		xml_close(x);
	}
	xml_close(x);

	xml_open(x, "memoryInfo");
	xml_int(x, "sizeInMiB", t->mem_mib);
	xml_close(x);

	xml_bool(x, "instanceStorageSupported", t->ndisks > 0);
	if (t->ndisks) {
		xml_open(x, "instanceStorageInfo");
		xml_int(x, "totalSizeInGB", itype_instance_storage_gb(t));
		xml_open(x, "disks");
		xml_open(x, "item");
		xml_int(x, "sizeInGB", t->disk_gb);
		xml_int(x, "count", t->ndisks);
		xml_text(x, "type", "ssd");
		xml_close(x);
		xml_close(x);
		xml_text(x, "nvmeSupport", "required");
		xml_text(x, "encryptionSupport", "required");
		xml_close(x);
	}

	xml_open(x, "ebsInfo");
	xml_text(x, "ebsOptimizedSupport", ebs_opt(t));
	xml_text(x, "encryptionSupport", "supported");
	if (t->ebs_base) {
		xml_open(x, "ebsOptimizedInfo");
		xml_int(x, "baselineBandwidthInMbps", t->ebs_base);
		xml_int(x, "maximumBandwidthInMbps", t->ebs_max);
		xml_close(x);
	}
	xml_text(x, "nvmeSupport", nvme(t));
	xml_close(x);

	xml_open(x, "networkInfo");
	xml_text(x, "networkPerformance", t->net);
	xml_int(x, "maximumNetworkInterfaces", t->enis);
	xml_int(x, "maximumNetworkCards", 1);
	xml_int(x, "defaultNetworkCardIndex", 0);
	xml_open(x, "networkCards");
	xml_open(x, "item");
	xml_int(x, "networkCardIndex", 0);
	xml_text(x, "networkPerformance", t->net);
	xml_int(x, "maximumNetworkInterfaces", t->enis);
	xml_close(x);
	xml_close(x);
	xml_int(x, "ipv4AddressesPerInterface", t->ipv4);
	xml_int(x, "ipv6AddressesPerInterface", t->ipv4);
	xml_bool(x, "ipv6Supported", true);
	xml_text(x, "enaSupport", ena(t));
	xml_bool(x, "efaSupported", false);
	xml_bool(x, "encryptionInTransitSupported", false);
	xml_bool(x, "enaSrdSupported", false);
	xml_close(x);

	xml_open(x, "placementGroupInfo");
	xml_list(x, "supportedStrategies", placement(t));
	xml_close(x);

	xml_bool(x, "hibernationSupported", itype_hibernation_supported(t));
	xml_bool(x, "burstablePerformanceSupported", t->fam->burstable);
	xml_bool(x, "dedicatedHostsSupported", t->fam->dedicated_hosts);
	xml_bool(x, "autoRecoverySupported", t->fam->auto_recovery);
	xml_list(x, "supportedBootModes", boot_modes(t));
}

static void fbag_list(struct fbag *b, const char *name, const char *const *v)
{
	for (size_t i = 0; v[i]; i++)
		fbag_add(b, name, v[i]);
}

void itype_fbag(const struct instance_type *t, struct fbag *b)
{
	fbag_add(b, "instance-type", t->name);
	fbag_add_bool(b, "current-generation", true);
	fbag_add_bool(b, "free-tier-eligible", t->free_tier);
	fbag_add_bool(b, "burstable-performance-supported", t->fam->burstable);
	if (itype_hypervisor(t))
		fbag_add(b, "hypervisor", itype_hypervisor(t));
	fbag_add_bool(b, "bare-metal", t->metal);

	fbag_add_int(b, "vcpu-info.default-vcpus", t->vcpus);
	fbag_add_int(b, "vcpu-info.default-cores", t->cores);
	fbag_add_int(b, "vcpu-info.default-threads-per-core", t->tpc);
	if (t->vc_min) {
		for (int c = t->vc_min; c <= t->cores; c += 2)
			fbag_add_int(b, "vcpu-info.valid-cores", c);
		fbag_add(b, "vcpu-info.valid-threads-per-core", "1");
		fbag_add(b, "vcpu-info.valid-threads-per-core", "2");
	}
	fbag_add_int(b, "memory-info.size-in-mib", t->mem_mib);

	fbag_add_bool(b, "instance-storage-supported", t->ndisks > 0);
	if (t->ndisks) {
		fbag_add_int(b, "instance-storage-info.total-size-in-gb", itype_instance_storage_gb(t));
		fbag_add_int(b, "instance-storage-info.disk.count", t->ndisks);
		fbag_add_int(b, "instance-storage-info.disk.size-in-gb", t->disk_gb);
		fbag_add(b, "instance-storage-info.disk.type", "ssd");
		fbag_add(b, "instance-storage-info.nvme-support", "required");
		fbag_add(b, "instance-storage-info.encryption-support", "required");
	}

	fbag_list(b, "processor-info.supported-architecture", archs(t));
	if (t->clock)
		fbag_add(b, "processor-info.sustained-clock-speed-in-ghz", t->clock);
	fbag_list(b, "supported-root-device-type", root_devices);
	fbag_list(b, "supported-usage-class", usage_classes);
	fbag_list(b, "supported-virtualization-type", virt_types);
	fbag_list(b, "supported-boot-mode", boot_modes(t));

	fbag_add_int(b, "network-info.maximum-network-interfaces", t->enis);
	fbag_add_int(b, "network-info.maximum-network-cards", 1);
	fbag_add_int(b, "network-info.ipv4-addresses-per-interface", t->ipv4);
	fbag_add_int(b, "network-info.ipv6-addresses-per-interface", t->ipv4);
	fbag_add_bool(b, "network-info.ipv6-supported", true);
	fbag_add(b, "network-info.ena-support", ena(t));
	fbag_add_bool(b, "network-info.efa-supported", false);
	fbag_add_bool(b, "network-info.encryption-in-transit-supported", false);
	fbag_add(b, "network-info.network-performance", t->net);

	fbag_add_bool(b, "hibernation-supported", itype_hibernation_supported(t));
	fbag_add_bool(b, "dedicated-hosts-supported", t->fam->dedicated_hosts);
	fbag_add_bool(b, "auto-recovery-supported", t->fam->auto_recovery);

	fbag_add(b, "ebs-info.ebs-optimized-support", ebs_opt(t));
	fbag_add(b, "ebs-info.encryption-support", "supported");
	fbag_add(b, "ebs-info.nvme-support", nvme(t));
	if (t->ebs_base) {
		fbag_add_int(b, "ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps", t->ebs_base);
		fbag_add_int(b, "ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps", t->ebs_max);
	}
}
