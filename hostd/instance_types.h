/* The instance-type catalogue: a static table of the t2, t3, m5, m5d, c5,
 * c5d, r5 and r5d families as EC2 sells them, behind DescribeInstanceTypes
 * and RunInstances' sizing, CPU-option and capacity checks. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct xml;
struct fbag;
struct instance_type; /* opaque: read it through the accessors */

/* NULL if unknown. */
const struct instance_type *itype_find(const char *name);
size_t itype_count(void);
/* Stable order: family, then size (small to large, metal last). NULL past the end. */
const struct instance_type *itype_at(size_t i);

const char *itype_name(const struct instance_type *t);
int itype_vcpus(const struct instance_type *t);
int itype_default_cores(const struct instance_type *t);
int itype_default_threads_per_core(const struct instance_type *t);
int itype_memory_mib(const struct instance_type *t);
/* Total instance-store GB, 0 if none; disks of disk_size_gb each. */
int itype_instance_storage_gb(const struct instance_type *t);
int itype_disk_count(const struct instance_type *t);
int itype_disk_size_gb(const struct instance_type *t);
int itype_max_network_interfaces(const struct instance_type *t);
int itype_ipv4_per_interface(const struct instance_type *t);
/* "nitro", "xen", or NULL for bare metal. */
const char *itype_hypervisor(const struct instance_type *t);
bool itype_bare_metal(const struct instance_type *t);
bool itype_burstable(const struct instance_type *t);
bool itype_hibernation_supported(const struct instance_type *t);
/* arch: "i386" | "x86_64" | ...; mode: "legacy-bios" | "uefi". */
bool itype_supports_arch(const struct instance_type *t, const char *arch);
bool itype_supports_boot_mode(const struct instance_type *t, const char *mode);
/* RunInstances CpuOptions: true when (cores, threads_per_core) is one of the
 * type's valid combinations. Types without CPU options (t2, metal) accept
 * only their defaults. */
bool itype_cpu_options_valid(const struct instance_type *t, int cores, int threads_per_core);

/* Writes the members of one InstanceTypeInfo (the caller has opened and will
 * close the <item>), named as botocore's EC2 model names them. */
void itype_write_xml(struct xml *x, const struct instance_type *t);
/* Adds the type's values for every DescribeInstanceTypes filter it can answer. */
void itype_fbag(const struct instance_type *t, struct fbag *b);
/* NULL-terminated: every filter name DescribeInstanceTypes accepts. */
extern const char *const itype_filter_names[];
