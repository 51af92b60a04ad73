#include "storage/voltype.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

static const struct {
	const char *name;
	int64_t min_gib, max_gib;
	int64_t min_iops, max_iops, iops_per_gib; /* provisioned IOPS types */
	bool iops_settable, throughput_settable;
} types[] = {
	{ "standard", 1, 1024, 0, 0, 0, false, false },
	{ "gp2", 1, 16384, 0, 0, 0, false, false },
	{ "gp3", 1, 16384, 3000, 16000, 500, true, true },
	{ "io1", 4, 16384, 100, 64000, 50, true, false },
	{ "io2", 4, 65536, 100, 256000, 1000, true, false },
	{ "st1", 125, 16384, 0, 0, 0, false, false },
	{ "sc1", 125, 16384, 0, 0, 0, false, false },
};

static int find_type(const char *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(types[i].name, t))
			return (int)i;
	return -1;
}

bool voltype_size_range(const char *type, int64_t *min, int64_t *max)
{
	int i = find_type(type);

	if (i < 0)
		return false;
	*min = types[i].min_gib;
	*max = types[i].max_gib;
	return true;
}

static int fail(const char **code, const char *c, char *msg, size_t len, const char *text)
{
	*code = c;
	snprintf(msg, len, "%s", text);
	return -EINVAL;
}

int voltype_resolve(const struct voltype_req *q, struct voltype *out, const char **code, char *msg, size_t msglen)
{
	const char *t = q->type ? q->type : "gp2";
	char m[256];
	int i = find_type(t);

	memset(out, 0, sizeof(*out));
	if (i < 0) {
		snprintf(m, sizeof(m), "Value (%.32s) for parameter volumeType is invalid. Valid values: standard, gp2, "
				      "gp3, io1, io2, st1, sc1.", t);
		return fail(code, "InvalidParameterValue", msg, msglen, m);
	}
	snprintf(out->type, sizeof(out->type), "%s", t);
	if (q->size_gib < types[i].min_gib) {
		snprintf(m, sizeof(m), "Volume of %lldGiB is too small; minimum is %lldGiB.", (long long)q->size_gib,
			 (long long)types[i].min_gib);
		return fail(code, "InvalidParameterValue", msg, msglen, m);
	}
	if (q->size_gib > types[i].max_gib) {
		snprintf(m, sizeof(m), "Volume of %lldGiB is too large for volume type %s; maximum is %lldGiB.",
			 (long long)q->size_gib, t, (long long)types[i].max_gib);
		return fail(code, "InvalidParameterValue", msg, msglen, m);
	}
	if (q->has_iops && !types[i].iops_settable) {
		snprintf(m, sizeof(m), "The parameter iops is not supported for %s volumes.", t);
		return fail(code, "InvalidParameterCombination", msg, msglen, m);
	}
	if (q->has_throughput && !types[i].throughput_settable) {
		snprintf(m, sizeof(m), "The parameter throughput is not supported for %s volumes.", t);
		return fail(code, "InvalidParameterCombination", msg, msglen, m);
	}
	if (!strcmp(t, "gp2")) {
		int64_t iops = q->size_gib * 3;

		out->iops = iops < 100 ? 100 : iops > 16000 ? 16000 : iops;
		return 0;
	}
	if (!types[i].iops_settable)
		return 0;
	if (!q->has_iops && strcmp(t, "gp3"))
		return fail(code, "MissingParameter", msg, msglen, "The request must contain the parameter iops.");
	out->iops = q->has_iops ? q->iops : types[i].min_iops;
	if (out->iops < types[i].min_iops || out->iops > types[i].max_iops) {
		snprintf(m, sizeof(m), "The volume iops of %lld is out of range for %s; valid range is %lld to %lld.",
			 (long long)out->iops, t, (long long)types[i].min_iops, (long long)types[i].max_iops);
		return fail(code, "InvalidParameterValue", msg, msglen, m);
	}
	/* gp3's 3000 baseline comes with any size; the ratio limits what is
	 * provisioned beyond it */
	if (q->has_iops && out->iops > q->size_gib * types[i].iops_per_gib &&
	    (strcmp(t, "gp3") || out->iops > 3000)) {
		snprintf(m, sizeof(m), "Iops to volume size ratio of %.6f is too high; maximum is %.6f.",
			 (double)out->iops / (double)q->size_gib, (double)types[i].iops_per_gib);
		return fail(code, "InvalidParameterValue", msg, msglen, m);
	}
	if (types[i].throughput_settable) {
		out->throughput = q->has_throughput ? q->throughput : 125;
		if (out->throughput < 125 || out->throughput > 1000) {
			snprintf(m, sizeof(m), "The throughput of %lld MiB/s is out of range for gp3; valid range is 125 "
					      "to 1000 MiB/s.", (long long)out->throughput);
			return fail(code, "InvalidParameterValue", msg, msglen, m);
		}
		/* gp3: at most 0.25 MiB/s per provisioned IOPS */
		if (out->throughput > 125 && out->throughput * 4 > out->iops) {
			snprintf(m, sizeof(m), "Throughput (MiBps) to iops ratio of %.6f is too high; maximum is 0.250000 "
					      "MiBps per iops.", (double)out->throughput / (double)out->iops);
			return fail(code, "InvalidParameterValue", msg, msglen, m);
		}
	}
	return 0;
}

void voltype_iotune(const char *type, int64_t size_gib, int64_t iops, int64_t throughput,
		    struct voltype_iotune *out)
{
	const int64_t mib = 1048576;

	memset(out, 0, sizeof(*out));
	if (!strcmp(type, "gp3")) {
		out->iops = iops ? iops : 3000;
		out->bytes_sec = (throughput ? throughput : 125) * mib;
	} else if (!strcmp(type, "gp2")) {
		int64_t i = size_gib * 3;

		/* the baseline; gp2 bursts to 3000 for small volumes */
		out->iops = i < 100 ? 100 : i > 16000 ? 16000 : i;
		out->bytes_sec = 250 * mib;
	} else if (!strcmp(type, "io1") || !strcmp(type, "io2")) {
		out->iops = iops;
		out->bytes_sec = (!strcmp(type, "io1") ? 1000 : 4000) * mib;
	} else if (!strcmp(type, "st1") || !strcmp(type, "sc1")) {
		/* baseline per TiB, capped: st1 40 MiB/s/TiB up to 500, sc1 12 up to 192 */
		int64_t per = !strcmp(type, "st1") ? 40 : 12, cap = !strcmp(type, "st1") ? 500 : 192;
		int64_t t = per * size_gib / 1024;

		if (t < per)
			t = per;
		out->bytes_sec = (t > cap ? cap : t) * mib;
		out->iops = 500;
	} else {
		out->iops = 200; /* magnetic: a few hundred IOPS */
		out->bytes_sec = 90 * mib;
	}
}
