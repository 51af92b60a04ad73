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

static const struct api_param p_cancel_import_task[] = {
	{ "ImportTaskId", P_STR }, { "CancelReason", P_STR }, DRYRUN, END,
};
static const struct api_param p_create_key_pair[] = {
	{ "KeyName", P_STR }, { "KeyType", P_STR }, { "KeyFormat", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_create_tags[] = {
	{ "ResourceId.N", P_STR }, { "Tag.N.Key", P_STR }, { "Tag.N.Value", P_STR }, DRYRUN, END,
};
static const struct api_param p_delete_key_pair[] = {
	{ "KeyName", P_STR }, { "KeyPairId", P_STR }, DRYRUN, END,
};
static const struct api_param p_deregister_image[] = {
	{ "ImageId", P_STR }, { "DeleteAssociatedSnapshots", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_describe_account_attributes[] = {
	{ "AttributeName.N", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_availability_zones[] = {
	{ "ZoneName.N", P_STR }, { "ZoneId.N", P_STR }, { "AllAvailabilityZones", P_BOOL }, FILTERS, DRYRUN, END,
};
static const struct api_param p_describe_image_attribute[] = {
	{ "ImageId", P_STR }, { "Attribute", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_images[] = {
	{ "ImageId.N", P_STR }, { "Owner.N", P_STR }, { "ExecutableBy.N", P_STR }, { "IncludeDeprecated", P_BOOL },
	{ "IncludeDisabled", P_BOOL }, FILTERS, PAGING, DRYRUN, END,
};
/* This action's model names its filter list "Filters". */
static const struct api_param p_describe_import_image_tasks[] = {
	{ "ImportTaskId.N", P_STR }, { "Filters.N.Name", P_STR }, { "Filters.N.Value.N", P_STR }, PAGING, DRYRUN, END,
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
/* DiskContainer.N.UserBucket and .SnapshotId are accepted only to be
 * refused with a clear message; ClientData, LicenseType and RoleName are
 * accepted and have no effect here. */
static const struct api_param p_import_image[] = {
	{ "DiskContainer.N.Url", P_STR }, { "DiskContainer.N.Format", P_STR },
	{ "DiskContainer.N.UserBucket.S3Bucket", P_STR }, { "DiskContainer.N.UserBucket.S3Key", P_STR },
	{ "DiskContainer.N.SnapshotId", P_STR }, { "Description", P_STR }, { "Architecture", P_STR },
	{ "BootMode", P_STR }, { "Platform", P_STR }, { "Hypervisor", P_STR }, { "LicenseType", P_STR },
	{ "RoleName", P_STR }, { "ClientToken", P_STR }, { "Encrypted", P_BOOL }, { "KmsKeyId", P_STR },
	{ "ClientData.Comment", P_STR }, { "ClientData.UploadStart", P_STR }, { "ClientData.UploadEnd", P_STR },
	{ "ClientData.UploadSize", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_import_key_pair[] = {
	{ "KeyName", P_STR }, { "PublicKeyMaterial", P_B64 }, TAGSPEC, DRYRUN, END,
};

static const struct api_param p_run_instances[] = {
	{ "ImageId", P_STR }, { "InstanceType", P_STR }, { "MinCount", P_INT }, { "MaxCount", P_INT },
	{ "KeyName", P_STR }, { "UserData", P_B64 }, { "SecurityGroupId.N", P_STR }, { "SecurityGroup.N", P_STR },
	{ "SubnetId", P_STR }, { "ClientToken", P_STR }, { "InstanceInitiatedShutdownBehavior", P_STR },
	{ "DisableApiTermination", P_BOOL }, { "Placement.AvailabilityZone", P_STR },
	{ "Placement.GroupName", P_STR }, { "Placement.Tenancy", P_STR },
	{ "BlockDeviceMapping.N.DeviceName", P_STR }, { "BlockDeviceMapping.N.NoDevice", P_STR },
	{ "BlockDeviceMapping.N.Ebs.VolumeSize", P_INT }, { "BlockDeviceMapping.N.Ebs.DeleteOnTermination", P_BOOL },
	{ "BlockDeviceMapping.N.Ebs.VolumeType", P_STR }, { "BlockDeviceMapping.N.Ebs.SnapshotId", P_STR },
	{ "MetadataOptions.HttpTokens", P_STR }, { "MetadataOptions.HttpPutResponseHopLimit", P_INT },
	{ "MetadataOptions.HttpEndpoint", P_STR }, { "MetadataOptions.HttpProtocolIpv6", P_STR },
	{ "MetadataOptions.InstanceMetadataTags", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_describe_instances[] = {
	{ "InstanceId.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_instance_ids[] = { { "InstanceId.N", P_STR }, DRYRUN, END };
static const struct api_param p_start_instances[] = {
	{ "InstanceId.N", P_STR }, { "AdditionalInfo", P_STR }, DRYRUN, END,
};
static const struct api_param p_stop_instances[] = {
	{ "InstanceId.N", P_STR }, { "Force", P_BOOL }, { "Hibernate", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_terminate_instances[] = {
	{ "InstanceId.N", P_STR }, { "SkipOsShutdown", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_describe_instance_attribute[] = {
	{ "InstanceId", P_STR }, { "Attribute", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_instance_attribute[] = {
	{ "InstanceId", P_STR }, { "Attribute", P_STR }, { "Value", P_STR }, { "InstanceType.Value", P_STR },
	{ "UserData.Value", P_B64 }, { "DisableApiTermination.Value", P_BOOL },
	{ "InstanceInitiatedShutdownBehavior.Value", P_STR }, DRYRUN, END,
};
static const struct api_param p_get_console_output[] = {
	{ "InstanceId", P_STR }, { "Latest", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_get_console_screenshot[] = {
	{ "InstanceId", P_STR }, { "WakeUp", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_register_image[] = {
	{ "Name", P_STR }, { "Description", P_STR }, { "Architecture", P_STR }, { "RootDeviceName", P_STR },
	{ "BlockDeviceMapping.N.DeviceName", P_STR }, { "BlockDeviceMapping.N.Ebs.SnapshotId", P_STR },
	{ "BlockDeviceMapping.N.Ebs.VolumeSize", P_INT }, { "BlockDeviceMapping.N.Ebs.DeleteOnTermination", P_BOOL },
	{ "BlockDeviceMapping.N.Ebs.VolumeType", P_STR }, { "BlockDeviceMapping.N.Ebs.Encrypted", P_BOOL },
	{ "VirtualizationType", P_STR }, { "BootMode", P_STR }, { "ImdsSupport", P_STR }, { "EnaSupport", P_BOOL },
	{ "ImageLocation", P_STR }, TAGSPEC, DRYRUN, END,
};

static const struct api_param p_create_volume[] = {
	{ "AvailabilityZone", P_STR }, { "AvailabilityZoneId", P_STR }, { "Size", P_INT }, { "SnapshotId", P_STR },
	{ "VolumeType", P_STR }, { "Iops", P_INT }, { "Throughput", P_INT }, { "Encrypted", P_BOOL },
	{ "KmsKeyId", P_STR }, { "MultiAttachEnabled", P_BOOL }, { "ClientToken", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_volume_id[] = { { "VolumeId", P_STR }, DRYRUN, END };
static const struct api_param p_describe_volumes[] = { { "VolumeId.N", P_STR }, FILTERS, PAGING, DRYRUN, END };
static const struct api_param p_modify_volume[] = {
	{ "VolumeId", P_STR }, { "Size", P_INT }, { "VolumeType", P_STR }, { "Iops", P_INT }, { "Throughput", P_INT },
	{ "MultiAttachEnabled", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_attach_volume[] = {
	{ "VolumeId", P_STR }, { "InstanceId", P_STR }, { "Device", P_STR }, DRYRUN, END,
};
static const struct api_param p_detach_volume[] = {
	{ "VolumeId", P_STR }, { "InstanceId", P_STR }, { "Device", P_STR }, { "Force", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_create_snapshot[] = {
	{ "VolumeId", P_STR }, { "Description", P_STR }, { "OutpostArn", P_STR }, { "Location", P_STR }, TAGSPEC,
	DRYRUN, END,
};
static const struct api_param p_delete_snapshot[] = { { "SnapshotId", P_STR }, DRYRUN, END };
static const struct api_param p_describe_snapshots[] = {
	{ "SnapshotId.N", P_STR }, { "Owner.N", P_STR }, { "RestorableBy.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_copy_snapshot[] = {
	{ "SourceSnapshotId", P_STR }, { "SourceRegion", P_STR }, { "Description", P_STR }, { "Encrypted", P_BOOL },
	{ "KmsKeyId", P_STR }, { "PresignedUrl", P_STR }, { "DestinationRegion", P_STR }, TAGSPEC, DRYRUN, END,
};

const struct api_action api_actions[] = {
	{ "AttachVolume", act_attach_volume, true, p_attach_volume },
	{ "CancelImportTask", act_cancel_import_task, true, p_cancel_import_task },
	{ "CopySnapshot", act_copy_snapshot, true, p_copy_snapshot },
	{ "CreateKeyPair", act_create_key_pair, true, p_create_key_pair },
	{ "CreateSnapshot", act_create_snapshot, true, p_create_snapshot },
	{ "CreateTags", act_create_tags, true, p_create_tags },
	{ "CreateVolume", act_create_volume, true, p_create_volume },
	{ "DeleteKeyPair", act_delete_key_pair, true, p_delete_key_pair },
	{ "DeleteSnapshot", act_delete_snapshot, true, p_delete_snapshot },
	{ "DeleteTags", act_delete_tags, true, p_create_tags },
	{ "DeleteVolume", act_delete_volume, true, p_volume_id },
	{ "DeregisterImage", act_deregister_image, true, p_deregister_image },
	{ "DescribeAccountAttributes", act_describe_account_attributes, false, p_describe_account_attributes },
	{ "DescribeAvailabilityZones", act_describe_availability_zones, false, p_describe_availability_zones },
	{ "DescribeImageAttribute", act_describe_image_attribute, false, p_describe_image_attribute },
	{ "DescribeImages", act_describe_images, false, p_describe_images },
	{ "DescribeImportImageTasks", act_describe_import_image_tasks, false, p_describe_import_image_tasks },
	{ "DescribeInstanceAttribute", act_describe_instance_attribute, false, p_describe_instance_attribute },
	{ "DescribeInstanceTypes", act_describe_instance_types, false, p_describe_instance_types },
	{ "DescribeInstances", act_describe_instances, false, p_describe_instances },
	{ "DescribeKeyPairs", act_describe_key_pairs, false, p_describe_key_pairs },
	{ "DescribeRegions", act_describe_regions, false, p_describe_regions },
	{ "DescribeSnapshots", act_describe_snapshots, false, p_describe_snapshots },
	{ "DescribeTags", act_describe_tags, false, p_describe_tags },
	{ "DescribeVolumes", act_describe_volumes, false, p_describe_volumes },
	{ "DescribeVolumesModifications", act_describe_volumes_modifications, false, p_describe_volumes },
	{ "DetachVolume", act_detach_volume, true, p_detach_volume },
	{ "GetConsoleOutput", act_get_console_output, false, p_get_console_output },
	{ "GetConsoleScreenshot", act_get_console_screenshot, false, p_get_console_screenshot },
	{ "ImportImage", act_import_image, true, p_import_image },
	{ "ImportKeyPair", act_import_key_pair, true, p_import_key_pair },
	{ "ModifyInstanceAttribute", act_modify_instance_attribute, true, p_modify_instance_attribute },
	{ "ModifyVolume", act_modify_volume, true, p_modify_volume },
	{ "RebootInstances", act_reboot_instances, true, p_instance_ids },
	{ "RegisterImage", act_register_image, true, p_register_image },
	{ "RunInstances", act_run_instances, true, p_run_instances },
	{ "StartInstances", act_start_instances, true, p_start_instances },
	{ "StopInstances", act_stop_instances, true, p_stop_instances },
	{ "TerminateInstances", act_terminate_instances, true, p_terminate_instances },
};
const size_t api_nactions = ARRAY_SIZE(api_actions);
