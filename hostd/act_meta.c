/* DescribeRegions, DescribeAvailabilityZones, DescribeAccountAttributes,
 * DescribeInstanceTypes: what the host is and offers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/vpcs.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/instance_types.h"
#include "lib/util.h"

/* EC2 zone ids abbreviate the region: us-east-1 -> use1, ap-southeast-2 -> apse2. */
void zone_id(const char *region, const char *az, char *out, size_t len)
{
	static const struct { const char *word, *abbr; } dirs[] = {
		{ "northeast", "ne" }, { "northwest", "nw" }, { "southeast", "se" }, { "southwest", "sw" },
		{ "north", "n" }, { "south", "s" }, { "east", "e" }, { "west", "w" }, { "central", "c" },
	};
	char copy[64], abbr[32] = "", *save = NULL, *part;
	size_t azlen = strlen(region);
	int i = 0;
	char letter = az[azlen] ? az[azlen] : 'a';

	snprintf(copy, sizeof(copy), "%s", region);
	for (part = strtok_r(copy, "-", &save); part; part = strtok_r(NULL, "-", &save), i++) {
		const char *piece = part;

		if (i > 0)
			for (size_t d = 0; d < ARRAY_SIZE(dirs); d++)
				if (!strcmp(part, dirs[d].word)) {
					piece = dirs[d].abbr;
					break;
				}
		strncat(abbr, piece, sizeof(abbr) - strlen(abbr) - 1);
	}
	/* Zone letter a -> az1, b -> az2, ... */
	snprintf(out, len, "%s-az%d", abbr, letter >= 'a' && letter <= 'z' ? letter - 'a' + 1 : 1);
}

static const char *const region_filters[] = { "endpoint", "opt-in-status", "region-name", NULL };

int act_describe_regions(struct api_req *r)
{
	const struct config *cfg = r->h->cfg;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **names = NULL;
	char endpoint[128];
	size_t n = 0;
	bool all;
	int ret;

	if ((ret = api_list(r, "RegionName", &names, &n)) < 0 || (ret = api_bool(r, "AllRegions", false, &all)) < 0 ||
	    (ret = api_filters(r, region_filters, false, &fs)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], cfg->region)) {
			ret = api_err(r, 400, "InvalidParameterValue", "Invalid region: %.64s", names[i]);
			goto out;
		}
	snprintf(endpoint, sizeof(endpoint), "ec2.%s.amazonaws.com", cfg->region);
	fbag_add(&bag, "endpoint", endpoint);
	fbag_add(&bag, "opt-in-status", "opt-in-not-required");
	fbag_add(&bag, "region-name", cfg->region);
	xml_open(&r->x, "regionInfo");
	if (filter_set_match(&fs, &bag)) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "regionName", cfg->region);
		xml_text(&r->x, "regionEndpoint", endpoint);
		xml_text(&r->x, "optInStatus", "opt-in-not-required");
		xml_close(&r->x);
	}
	xml_close(&r->x);
out:
	free(names);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

static const char *const az_filters[] = {
	"group-name", "opt-in-status", "region-name", "state", "zone-id", "zone-name", "zone-type",
	"network-border-group", "message", NULL,
};

int act_describe_availability_zones(struct api_req *r)
{
	const struct config *cfg = r->h->cfg;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **names = NULL, **ids = NULL;
	char zid[64];
	size_t nn = 0, ni = 0;
	bool all;
	int ret;

	if ((ret = api_list(r, "ZoneName", &names, &nn)) < 0 || (ret = api_list(r, "ZoneId", &ids, &ni)) < 0 ||
	    (ret = api_bool(r, "AllAvailabilityZones", false, &all)) < 0 ||
	    (ret = api_filters(r, az_filters, false, &fs)) < 0)
		goto out;
	zone_id(cfg->region, cfg->availability_zone, zid, sizeof(zid));
	for (size_t i = 0; i < nn; i++)
		if (strcmp(names[i], cfg->availability_zone)) {
			ret = api_err(r, 400, "InvalidParameterValue", "Invalid availability zone: [%.64s]", names[i]);
			goto out;
		}
	for (size_t i = 0; i < ni; i++)
		if (strcmp(ids[i], zid)) {
			ret = api_err(r, 400, "InvalidParameterValue", "Invalid availability zone: [%.64s]", ids[i]);
			goto out;
		}
	fbag_add(&bag, "group-name", cfg->region);
	fbag_add(&bag, "network-border-group", cfg->region);
	fbag_add(&bag, "opt-in-status", "opt-in-not-required");
	fbag_add(&bag, "region-name", cfg->region);
	fbag_add(&bag, "state", "available");
	fbag_add(&bag, "zone-id", zid);
	fbag_add(&bag, "zone-name", cfg->availability_zone);
	fbag_add(&bag, "zone-type", "availability-zone");
	xml_open(&r->x, "availabilityZoneInfo");
	if (filter_set_match(&fs, &bag)) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "optInStatus", "opt-in-not-required");
		xml_open(&r->x, "messageSet");
		xml_close(&r->x);
		xml_text(&r->x, "regionName", cfg->region);
		xml_text(&r->x, "zoneName", cfg->availability_zone);
		xml_text(&r->x, "zoneId", zid);
		xml_text(&r->x, "groupName", cfg->region);
		xml_text(&r->x, "networkBorderGroup", cfg->region);
		xml_text(&r->x, "zoneType", "availability-zone");
		xml_text(&r->x, "zoneState", "available");
		xml_close(&r->x);
	}
	xml_close(&r->x);
out:
	free(names);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

int act_describe_account_attributes(struct api_req *r)
{
	const struct config *cfg = r->h->cfg;
	const char **want = NULL;
	char max_instances[16];
	size_t n = 0;
	int ret;
	char default_vpc[ID_MAX] = "none";
	/* Every account has a default VPC (made on first use, as here). */
	const struct { const char *name; const char *values[2]; } attrs[] = {
		{ "supported-platforms", { "VPC", NULL } },
		{ "default-vpc", { default_vpc, NULL } },
		{ "max-instances", { max_instances, NULL } },
		{ "vpc-max-security-groups-per-interface", { "5", NULL } },
		{ "max-elastic-ips", { "5", NULL } },
		{ "vpc-max-elastic-ips", { "5", NULL } },
	};

	snprintf(max_instances, sizeof(max_instances), "%d", cfg->max_instances);
	if (vpc_default_id(r->h, r->account_id, default_vpc) < 0)
		return api_err_internal(r);
	ret = api_list(r, "AttributeName", &want, &n);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t a = 0; a < ARRAY_SIZE(attrs); a++)
			known |= !strcmp(attrs[a].name, want[i]);
		if (!known) {
			ret = api_err_value(r, "AttributeName", want[i], "Unknown account attribute.");
			goto out;
		}
	}
	xml_open(&r->x, "accountAttributeSet");
	for (size_t a = 0; a < ARRAY_SIZE(attrs); a++) {
		if (n && !strv_contains(want, n, attrs[a].name))
			continue;
		xml_open(&r->x, "item");
		xml_text(&r->x, "attributeName", attrs[a].name);
		xml_open(&r->x, "attributeValueSet");
		for (size_t v = 0; attrs[a].values[v]; v++) {
			xml_open(&r->x, "item");
			xml_text(&r->x, "attributeValue", attrs[a].values[v]);
			xml_close(&r->x);
		}
		xml_close(&r->x);
		xml_close(&r->x);
	}
	xml_close(&r->x);
out:
	free(want);
	return ret;
}

int act_describe_instance_types(struct api_req *r)
{
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **want = NULL;
	char *from = NULL;
	int64_t limit = 0, emitted = 0, start = 0;
	size_t n = 0;
	int ret;

	if ((ret = api_list(r, "InstanceType", &want, &n)) < 0 ||
	    (ret = api_filters(r, itype_filter_names, false, &fs)) < 0 ||
	    (ret = api_page(r, 5, 100, &limit, &from)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!itype_find(want[i])) {
			ret = api_err(r, 400, "InvalidInstanceType",
				      "The following supplied instance types do not exist: [%.64s]", want[i]);
			goto out;
		}
	/* The resume key is the table position of the first type not yet sent. */
	if (from) {
		if (parse_int64(from, &start) < 0 || start < 0 || start >= (int64_t)itype_count()) {
			ret = api_err(r, 400, "InvalidPaginationToken",
				      "The specified pagination token is not valid or is expired.");
			goto out;
		}
	}
	xml_open(&r->x, "instanceTypeSet");
	for (size_t i = (size_t)start; i < itype_count(); i++) {
		const struct instance_type *t = itype_at(i);

		if (n && !strv_contains(want, n, itype_name(t)))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			itype_fbag(t, &bag);
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (limit && emitted == limit) {
			char key[24];

			xml_close(&r->x);
			snprintf(key, sizeof(key), "%zu", i);
			api_next_token(r, key);
			goto done;
		}
		xml_open(&r->x, "item");
		itype_write_xml(&r->x, t);
		xml_close(&r->x);
		emitted++;
	}
	xml_close(&r->x);
done:
	ret = 0;
out:
	free(want);
	free(from);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}
