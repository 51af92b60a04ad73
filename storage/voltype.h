/* EBS volume types: EC2's size, IOPS and throughput limits and defaults,
 * and the I/O limits (libvirt iotune) each type is enforced with. Pure
 * functions, unit-tested. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct voltype_req {
	const char *type;        /* NULL: gp2, EC2's CreateVolume default */
	int64_t size_gib;
	bool has_iops, has_throughput;
	int64_t iops, throughput;
};

struct voltype {
	char type[16];
	int64_t iops;            /* 0: none reported (standard, st1, sc1) */
	int64_t throughput;      /* 0: none reported (all but gp3) */
};

/* Checks a request against the type's limits and fills the effective
 * values. On error returns -EINVAL with EC2's error code and message. */
int voltype_resolve(const struct voltype_req *req, struct voltype *out, const char **code, char *msg,
		    size_t msglen);

/* Smallest and largest size of a type in GiB; false for an unknown type. */
bool voltype_size_range(const char *type, int64_t *min, int64_t *max);

/* The enforced limits: total IOPS and bytes per second (0: unlimited). */
struct voltype_iotune {
	int64_t iops;
	int64_t bytes_sec;
};
void voltype_iotune(const char *type, int64_t size_gib, int64_t iops, int64_t throughput,
		    struct voltype_iotune *out);
