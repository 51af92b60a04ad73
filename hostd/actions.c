/* The action table: one row per EC2 action, sorted by name (binary search;
 * a unit test checks the order). Each row lists the parameters the action
 * accepts; anything else is UnknownParameter. */
#include "hostd/actions.h"

#include "hostd/api.h"
#include "lib/util.h"

#define TAGSPEC { "TagSpecification.N.ResourceType", P_STR }, \
	{ "TagSpecification.N.Tag.N.Key", P_STR }, { "TagSpecification.N.Tag.N.Value", P_STR }
#define FILTERS { "Filter.N.Name", P_STR }, { "Filter.N.Value.N", P_STR }
#define PAGING { "MaxResults", P_INT }, { "NextToken", P_STR }
#define DRYRUN { "DryRun", P_BOOL }
#define END { NULL, P_STR }

static const struct api_param p_create_key_pair[] = {
	{ "KeyName", P_STR }, { "KeyType", P_STR }, { "KeyFormat", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_create_tags[] = {
	{ "ResourceId.N", P_STR }, { "Tag.N.Key", P_STR }, { "Tag.N.Value", P_STR }, DRYRUN, END,
};
static const struct api_param p_delete_key_pair[] = {
	{ "KeyName", P_STR }, { "KeyPairId", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_account_attributes[] = {
	{ "AttributeName.N", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_availability_zones[] = {
	{ "ZoneName.N", P_STR }, { "ZoneId.N", P_STR }, { "AllAvailabilityZones", P_BOOL }, FILTERS, DRYRUN, END,
};
static const struct api_param p_describe_instance_types[] = {
	{ "InstanceType.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_describe_key_pairs[] = {
	{ "KeyName.N", P_STR }, { "KeyPairId.N", P_STR }, { "IncludePublicKey", P_BOOL }, FILTERS, DRYRUN, END,
};
static const struct api_param p_describe_regions[] = {
	{ "RegionName.N", P_STR }, { "AllRegions", P_BOOL }, FILTERS, DRYRUN, END,
};
static const struct api_param p_describe_tags[] = { FILTERS, PAGING, DRYRUN, END };
static const struct api_param p_import_key_pair[] = {
	{ "KeyName", P_STR }, { "PublicKeyMaterial", P_B64 }, TAGSPEC, DRYRUN, END,
};

const struct api_action api_actions[] = {
	{ "CreateKeyPair", act_create_key_pair, true, p_create_key_pair },
	{ "CreateTags", act_create_tags, true, p_create_tags },
	{ "DeleteKeyPair", act_delete_key_pair, true, p_delete_key_pair },
	{ "DeleteTags", act_delete_tags, true, p_create_tags },
	{ "DescribeAccountAttributes", act_describe_account_attributes, false, p_describe_account_attributes },
	{ "DescribeAvailabilityZones", act_describe_availability_zones, false, p_describe_availability_zones },
	{ "DescribeInstanceTypes", act_describe_instance_types, false, p_describe_instance_types },
	{ "DescribeKeyPairs", act_describe_key_pairs, false, p_describe_key_pairs },
	{ "DescribeRegions", act_describe_regions, false, p_describe_regions },
	{ "DescribeTags", act_describe_tags, false, p_describe_tags },
	{ "ImportKeyPair", act_import_key_pair, true, p_import_key_pair },
};
const size_t api_nactions = ARRAY_SIZE(api_actions);
