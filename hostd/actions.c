/* The action table: one row per EC2 action, sorted by name (binary search;
 * a unit test checks the order). Each row lists the parameters the action
 * accepts; anything else is UnknownParameter. */
#include "hostd/act_iam.h"
#include "hostd/act_imds.h"
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

/* The association actions have no DryRun in EC2's model. */
#define IIP { "IamInstanceProfile.Arn", P_STR }, { "IamInstanceProfile.Name", P_STR }
static const struct api_param p_associate_iam_instance_profile[] = {
	IIP, { "InstanceId", P_STR }, END,
};
static const struct api_param p_disassociate_iam_instance_profile[] = { { "AssociationId", P_STR }, END };
static const struct api_param p_replace_iam_instance_profile_association[] = {
	IIP, { "AssociationId", P_STR }, END,
};
static const struct api_param p_describe_iam_instance_profile_associations[] = {
	{ "AssociationId.N", P_STR }, FILTERS, PAGING, END,
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
	{ "BlockDeviceMapping.N.Ebs.Iops", P_INT }, { "BlockDeviceMapping.N.Ebs.Throughput", P_INT },
	{ "BlockDeviceMapping.N.Ebs.Encrypted", P_BOOL }, { "BlockDeviceMapping.N.Ebs.KmsKeyId", P_STR },
	{ "BlockDeviceMapping.N.VirtualName", P_STR },
	{ "MetadataOptions.HttpTokens", P_STR }, { "MetadataOptions.HttpPutResponseHopLimit", P_INT },
	{ "MetadataOptions.HttpEndpoint", P_STR }, { "MetadataOptions.HttpProtocolIpv6", P_STR },
	{ "MetadataOptions.InstanceMetadataTags", P_STR }, { "PrivateIpAddress", P_STR }, IIP, TAGSPEC, DRYRUN, END,
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
	{ "InstanceInitiatedShutdownBehavior.Value", P_STR }, { "BlockDeviceMapping.N.DeviceName", P_STR },
	{ "BlockDeviceMapping.N.Ebs.DeleteOnTermination", P_BOOL }, { "BlockDeviceMapping.N.Ebs.VolumeId", P_STR },
	{ "BlockDeviceMapping.N.NoDevice", P_STR }, { "BlockDeviceMapping.N.VirtualName", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_instance_metadata_options[] = {
	{ "InstanceId", P_STR }, { "HttpTokens", P_STR }, { "HttpPutResponseHopLimit", P_INT }, { "HttpEndpoint", P_STR },
	{ "HttpProtocolIpv6", P_STR }, { "InstanceMetadataTags", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_instance_metadata_defaults[] = {
	{ "HttpTokens", P_STR }, { "HttpPutResponseHopLimit", P_INT }, { "HttpEndpoint", P_STR },
	{ "InstanceMetadataTags", P_STR }, { "HttpTokensEnforced", P_STR }, DRYRUN, END,
};
static const struct api_param p_dry_run_only[] = {
	DRYRUN, END,
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

/* One permission list, as the Authorize/Revoke actions name it; the flat
 * CidrIp/IpProtocol/... form is the API's older shape. */
#define SG_PERMS { "IpPermissions.N.IpProtocol", P_STR }, { "IpPermissions.N.FromPort", P_INT }, \
	{ "IpPermissions.N.ToPort", P_INT }, { "IpPermissions.N.IpRanges.N.CidrIp", P_STR }, \
	{ "IpPermissions.N.IpRanges.N.Description", P_STR }, { "IpPermissions.N.Groups.N.GroupId", P_STR }, \
	{ "IpPermissions.N.Groups.N.GroupName", P_STR }, { "IpPermissions.N.Groups.N.UserId", P_STR }, \
	{ "IpPermissions.N.Groups.N.Description", P_STR }, { "IpPermissions.N.Ipv6Ranges.N.CidrIpv6", P_STR }, \
	{ "IpPermissions.N.Ipv6Ranges.N.Description", P_STR }, \
	{ "IpPermissions.N.PrefixListIds.N.PrefixListId", P_STR }, \
	{ "IpPermissions.N.PrefixListIds.N.Description", P_STR }, { "CidrIp", P_STR }, { "IpProtocol", P_STR }, \
	{ "FromPort", P_INT }, { "ToPort", P_INT }, { "SourceSecurityGroupName", P_STR }, \
	{ "SourceSecurityGroupOwnerId", P_STR }
static const struct api_param p_create_security_group[] = {
	{ "GroupName", P_STR }, { "GroupDescription", P_STR }, { "VpcId", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_delete_security_group[] = {
	{ "GroupId", P_STR }, { "GroupName", P_STR }, DRYRUN, END,
};
static const struct api_param p_authorize_sg_ingress[] = {
	{ "GroupId", P_STR }, { "GroupName", P_STR }, SG_PERMS, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_authorize_sg_egress[] = { { "GroupId", P_STR }, SG_PERMS, TAGSPEC, DRYRUN, END };
static const struct api_param p_revoke_sg_ingress[] = {
	{ "GroupId", P_STR }, { "GroupName", P_STR }, SG_PERMS, { "SecurityGroupRuleId.N", P_STR }, DRYRUN, END,
};
static const struct api_param p_revoke_sg_egress[] = {
	{ "GroupId", P_STR }, SG_PERMS, { "SecurityGroupRuleId.N", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_security_group_rules[] = {
	{ "GroupId", P_STR }, { "SecurityGroupRule.N.SecurityGroupRuleId", P_STR },
	{ "SecurityGroupRule.N.SecurityGroupRule.IpProtocol", P_STR },
	{ "SecurityGroupRule.N.SecurityGroupRule.FromPort", P_INT },
	{ "SecurityGroupRule.N.SecurityGroupRule.ToPort", P_INT },
	{ "SecurityGroupRule.N.SecurityGroupRule.CidrIpv4", P_STR },
	{ "SecurityGroupRule.N.SecurityGroupRule.ReferencedGroupId", P_STR },
	{ "SecurityGroupRule.N.SecurityGroupRule.Description", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_security_groups[] = {
	{ "GroupId.N", P_STR }, { "GroupName.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_describe_security_group_rules[] = {
	{ "SecurityGroupRuleId.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_create_network_acl[] = {
	{ "VpcId", P_STR }, { "ClientToken", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_network_acl_id[] = { { "NetworkAclId", P_STR }, DRYRUN, END };
static const struct api_param p_network_acl_entry[] = {
	{ "NetworkAclId", P_STR }, { "RuleNumber", P_INT }, { "Protocol", P_STR }, { "RuleAction", P_STR },
	{ "Egress", P_BOOL }, { "CidrBlock", P_STR }, { "Ipv6CidrBlock", P_STR }, { "Icmp.Code", P_INT },
	{ "Icmp.Type", P_INT }, { "PortRange.From", P_INT }, { "PortRange.To", P_INT }, DRYRUN, END,
};
static const struct api_param p_delete_network_acl_entry[] = {
	{ "NetworkAclId", P_STR }, { "RuleNumber", P_INT }, { "Egress", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_replace_network_acl_association[] = {
	{ "AssociationId", P_STR }, { "NetworkAclId", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_network_acls[] = {
	{ "NetworkAclId.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_create_vpc[] = {
	{ "CidrBlock", P_STR }, { "AmazonProvidedIpv6CidrBlock", P_BOOL }, { "Ipv6Pool", P_STR },
	{ "Ipv6CidrBlock", P_STR }, { "Ipv4IpamPoolId", P_STR }, { "Ipv4NetmaskLength", P_INT },
	{ "Ipv6IpamPoolId", P_STR }, { "Ipv6NetmaskLength", P_INT }, { "InstanceTenancy", P_STR },
	{ "Ipv6CidrBlockNetworkBorderGroup", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_delete_vpc[] = { { "VpcId", P_STR }, DRYRUN, END };
static const struct api_param p_describe_vpcs[] = { { "VpcId.N", P_STR }, FILTERS, PAGING, DRYRUN, END };
static const struct api_param p_create_subnet[] = {
	{ "VpcId", P_STR }, { "CidrBlock", P_STR }, { "AvailabilityZone", P_STR }, { "AvailabilityZoneId", P_STR },
	{ "Ipv6CidrBlock", P_STR }, { "OutpostArn", P_STR }, { "Ipv6Native", P_BOOL }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_delete_subnet[] = { { "SubnetId", P_STR }, DRYRUN, END };
static const struct api_param p_describe_subnets[] = { { "SubnetId.N", P_STR }, FILTERS, PAGING, DRYRUN, END };
static const struct api_param p_modify_subnet_attribute[] = {
	{ "SubnetId", P_STR }, { "MapPublicIpOnLaunch.Value", P_BOOL }, { "AssignIpv6AddressOnCreation.Value", P_BOOL },
	{ "MapCustomerOwnedIpOnLaunch.Value", P_BOOL }, { "CustomerOwnedIpv4Pool", P_STR },
	{ "EnableDns64.Value", P_BOOL }, { "PrivateDnsHostnameTypeOnLaunch", P_STR },
	{ "EnableResourceNameDnsARecordOnLaunch.Value", P_BOOL },
	{ "EnableResourceNameDnsAAAARecordOnLaunch.Value", P_BOOL }, { "EnableLniAtDeviceIndex", P_INT },
	{ "DisableLniAtDeviceIndex.Value", P_BOOL }, END, /* no DryRun in this action's model */
};
static const struct api_param p_create_network_interface[] = {
	{ "SubnetId", P_STR }, { "Description", P_STR }, { "PrivateIpAddress", P_STR }, { "SecurityGroupId.N", P_STR },
	{ "SecondaryPrivateIpAddressCount", P_INT }, { "Ipv6AddressCount", P_INT }, { "ClientToken", P_STR },
	TAGSPEC, DRYRUN, END,
};
static const struct api_param p_delete_network_interface[] = { { "NetworkInterfaceId", P_STR }, DRYRUN, END };
static const struct api_param p_attach_network_interface[] = {
	{ "NetworkInterfaceId", P_STR }, { "InstanceId", P_STR }, { "DeviceIndex", P_INT }, { "NetworkCardIndex", P_INT },
	DRYRUN, END,
};
static const struct api_param p_detach_network_interface[] = {
	{ "AttachmentId", P_STR }, { "Force", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_assign_private_ip_addresses[] = {
	{ "NetworkInterfaceId", P_STR }, { "PrivateIpAddress.N", P_STR }, { "SecondaryPrivateIpAddressCount", P_INT },
	{ "AllowReassignment", P_BOOL }, END,
};
static const struct api_param p_unassign_private_ip_addresses[] = {
	{ "NetworkInterfaceId", P_STR }, { "PrivateIpAddress.N", P_STR }, END,
};
static const struct api_param p_modify_network_interface_attribute[] = {
	{ "NetworkInterfaceId", P_STR }, { "Description.Value", P_STR }, { "SourceDestCheck.Value", P_BOOL },
	{ "SecurityGroupId.N", P_STR }, { "Attachment.AttachmentId", P_STR }, { "Attachment.DeleteOnTermination", P_BOOL },
	DRYRUN, END,
};
static const struct api_param p_describe_network_interfaces[] = {
	{ "NetworkInterfaceId.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};

static const struct api_param p_create_internet_gateway[] = { TAGSPEC, DRYRUN, END };
static const struct api_param p_igw_vpc[] = { { "InternetGatewayId", P_STR }, { "VpcId", P_STR }, DRYRUN, END };
static const struct api_param p_delete_internet_gateway[] = { { "InternetGatewayId", P_STR }, DRYRUN, END };
static const struct api_param p_describe_internet_gateways[] = {
	{ "InternetGatewayId.N", P_STR }, FILTERS, PAGING, DRYRUN, END,
};
static const struct api_param p_allocate_address[] = {
	{ "Domain", P_STR }, { "Address", P_STR }, { "PublicIpv4Pool", P_STR }, { "NetworkBorderGroup", P_STR },
	TAGSPEC, DRYRUN, END,
};
static const struct api_param p_associate_address[] = {
	{ "AllocationId", P_STR }, { "PublicIp", P_STR }, { "InstanceId", P_STR }, { "NetworkInterfaceId", P_STR },
	{ "PrivateIpAddress", P_STR }, { "AllowReassociation", P_BOOL }, DRYRUN, END,
};
static const struct api_param p_disassociate_address[] = {
	{ "AssociationId", P_STR }, { "PublicIp", P_STR }, DRYRUN, END,
};
static const struct api_param p_release_address[] = {
	{ "AllocationId", P_STR }, { "PublicIp", P_STR }, { "NetworkBorderGroup", P_STR }, DRYRUN, END,
};
static const struct api_param p_describe_addresses[] = {
	{ "AllocationId.N", P_STR }, { "PublicIp.N", P_STR }, FILTERS, DRYRUN, END,
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
static const struct api_param p_volume_attribute[] = {
	{ "VolumeId", P_STR }, { "Attribute", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_volume_attribute[] = {
	{ "VolumeId", P_STR }, { "AutoEnableIO.Value", P_BOOL }, DRYRUN, END,
};
/* IncludeManagedResources: accepted; no resource here is managed. */
static const struct api_param p_describe_volume_status[] = {
	{ "VolumeId.N", P_STR }, { "IncludeManagedResources", P_BOOL }, FILTERS, PAGING, DRYRUN, END,
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
static const struct api_param p_snapshot_attribute[] = {
	{ "SnapshotId", P_STR }, { "Attribute", P_STR }, DRYRUN, END,
};
static const struct api_param p_modify_snapshot_attribute[] = {
	{ "SnapshotId", P_STR }, { "Attribute", P_STR }, { "OperationType", P_STR }, { "UserId.N", P_STR },
	{ "UserGroup.N", P_STR }, { "CreateVolumePermission.Add.N.UserId", P_STR },
	{ "CreateVolumePermission.Add.N.Group", P_STR }, { "CreateVolumePermission.Remove.N.UserId", P_STR },
	{ "CreateVolumePermission.Remove.N.Group", P_STR }, DRYRUN, END,
};
static const struct api_param p_create_snapshots[] = {
	{ "InstanceSpecification.InstanceId", P_STR }, { "InstanceSpecification.ExcludeBootVolume", P_BOOL },
	{ "InstanceSpecification.ExcludeDataVolumeId.N", P_STR }, { "Description", P_STR },
	{ "CopyTagsFromSource", P_STR }, { "OutpostArn", P_STR }, { "Location", P_STR }, TAGSPEC, DRYRUN, END,
};
static const struct api_param p_copy_snapshot[] = {
	{ "SourceSnapshotId", P_STR }, { "SourceRegion", P_STR }, { "Description", P_STR }, { "Encrypted", P_BOOL },
	{ "KmsKeyId", P_STR }, { "PresignedUrl", P_STR }, { "DestinationRegion", P_STR }, TAGSPEC, DRYRUN, END,
};

const struct api_action api_actions[] = {
	{ "AllocateAddress", act_allocate_address, true, p_allocate_address },
	{ "AssignPrivateIpAddresses", act_assign_private_ip_addresses, true, p_assign_private_ip_addresses },
	{ "AssociateAddress", act_associate_address, true, p_associate_address },
	{ "AssociateIamInstanceProfile", act_associate_iam_instance_profile, true, p_associate_iam_instance_profile },
	{ "AttachInternetGateway", act_attach_internet_gateway, true, p_igw_vpc },
	{ "AttachNetworkInterface", act_attach_network_interface, true, p_attach_network_interface },
	{ "AttachVolume", act_attach_volume, true, p_attach_volume },
	{ "AuthorizeSecurityGroupEgress", act_authorize_security_group_egress, true, p_authorize_sg_egress },
	{ "AuthorizeSecurityGroupIngress", act_authorize_security_group_ingress, true, p_authorize_sg_ingress },
	{ "CancelImportTask", act_cancel_import_task, true, p_cancel_import_task },
	{ "CopySnapshot", act_copy_snapshot, true, p_copy_snapshot },
	{ "CreateInternetGateway", act_create_internet_gateway, true, p_create_internet_gateway },
	{ "CreateKeyPair", act_create_key_pair, true, p_create_key_pair },
	{ "CreateNetworkAcl", act_create_network_acl, true, p_create_network_acl },
	{ "CreateNetworkAclEntry", act_create_network_acl_entry, true, p_network_acl_entry },
	{ "CreateNetworkInterface", act_create_network_interface, true, p_create_network_interface },
	{ "CreateSecurityGroup", act_create_security_group, true, p_create_security_group },
	{ "CreateSnapshot", act_create_snapshot, true, p_create_snapshot },
	{ "CreateSnapshots", act_create_snapshots, true, p_create_snapshots },
	{ "CreateSubnet", act_create_subnet, true, p_create_subnet },
	{ "CreateTags", act_create_tags, true, p_create_tags },
	{ "CreateVolume", act_create_volume, true, p_create_volume },
	{ "CreateVpc", act_create_vpc, true, p_create_vpc },
	{ "DeleteInternetGateway", act_delete_internet_gateway, true, p_delete_internet_gateway },
	{ "DeleteKeyPair", act_delete_key_pair, true, p_delete_key_pair },
	{ "DeleteNetworkAcl", act_delete_network_acl, true, p_network_acl_id },
	{ "DeleteNetworkAclEntry", act_delete_network_acl_entry, true, p_delete_network_acl_entry },
	{ "DeleteNetworkInterface", act_delete_network_interface, true, p_delete_network_interface },
	{ "DeleteSecurityGroup", act_delete_security_group, true, p_delete_security_group },
	{ "DeleteSnapshot", act_delete_snapshot, true, p_delete_snapshot },
	{ "DeleteSubnet", act_delete_subnet, true, p_delete_subnet },
	{ "DeleteTags", act_delete_tags, true, p_create_tags },
	{ "DeleteVolume", act_delete_volume, true, p_volume_id },
	{ "DeleteVpc", act_delete_vpc, true, p_delete_vpc },
	{ "DeregisterImage", act_deregister_image, true, p_deregister_image },
	{ "DescribeAccountAttributes", act_describe_account_attributes, false, p_describe_account_attributes },
	{ "DescribeAddresses", act_describe_addresses, false, p_describe_addresses },
	{ "DescribeAvailabilityZones", act_describe_availability_zones, false, p_describe_availability_zones },
	{ "DescribeIamInstanceProfileAssociations", act_describe_iam_instance_profile_associations, false,
	  p_describe_iam_instance_profile_associations },
	{ "DescribeImageAttribute", act_describe_image_attribute, false, p_describe_image_attribute },
	{ "DescribeImages", act_describe_images, false, p_describe_images },
	{ "DescribeImportImageTasks", act_describe_import_image_tasks, false, p_describe_import_image_tasks },
	{ "DescribeInstanceAttribute", act_describe_instance_attribute, false, p_describe_instance_attribute },
	{ "DescribeInstanceTypes", act_describe_instance_types, false, p_describe_instance_types },
	{ "DescribeInstances", act_describe_instances, false, p_describe_instances },
	{ "DescribeInternetGateways", act_describe_internet_gateways, false, p_describe_internet_gateways },
	{ "DescribeKeyPairs", act_describe_key_pairs, false, p_describe_key_pairs },
	{ "DescribeNetworkAcls", act_describe_network_acls, false, p_describe_network_acls },
	{ "DescribeNetworkInterfaces", act_describe_network_interfaces, false, p_describe_network_interfaces },
	{ "DescribeRegions", act_describe_regions, false, p_describe_regions },
	{ "DescribeSecurityGroupRules", act_describe_security_group_rules, false, p_describe_security_group_rules },
	{ "DescribeSecurityGroups", act_describe_security_groups, false, p_describe_security_groups },
	{ "DescribeSnapshotAttribute", act_describe_snapshot_attribute, false, p_snapshot_attribute },
	{ "DescribeSnapshots", act_describe_snapshots, false, p_describe_snapshots },
	{ "DescribeSubnets", act_describe_subnets, false, p_describe_subnets },
	{ "DescribeTags", act_describe_tags, false, p_describe_tags },
	{ "DescribeVolumeAttribute", act_describe_volume_attribute, false, p_volume_attribute },
	{ "DescribeVolumeStatus", act_describe_volume_status, false, p_describe_volume_status },
	{ "DescribeVolumes", act_describe_volumes, false, p_describe_volumes },
	{ "DescribeVolumesModifications", act_describe_volumes_modifications, false, p_describe_volumes },
	{ "DescribeVpcs", act_describe_vpcs, false, p_describe_vpcs },
	{ "DetachInternetGateway", act_detach_internet_gateway, true, p_igw_vpc },
	{ "DetachNetworkInterface", act_detach_network_interface, true, p_detach_network_interface },
	{ "DetachVolume", act_detach_volume, true, p_detach_volume },
	{ "DisassociateAddress", act_disassociate_address, true, p_disassociate_address },
	{ "DisassociateIamInstanceProfile", act_disassociate_iam_instance_profile, true,
	  p_disassociate_iam_instance_profile },
	{ "GetConsoleOutput", act_get_console_output, false, p_get_console_output },
	{ "GetConsoleScreenshot", act_get_console_screenshot, false, p_get_console_screenshot },
	{ "GetInstanceMetadataDefaults", act_get_instance_metadata_defaults, false, p_dry_run_only },
	{ "ImportImage", act_import_image, true, p_import_image },
	{ "ImportKeyPair", act_import_key_pair, true, p_import_key_pair },
	{ "ModifyInstanceAttribute", act_modify_instance_attribute, true, p_modify_instance_attribute },
	{ "ModifyInstanceMetadataDefaults", act_modify_instance_metadata_defaults, true,
	  p_modify_instance_metadata_defaults },
	{ "ModifyInstanceMetadataOptions", act_modify_instance_metadata_options, true,
	  p_modify_instance_metadata_options },
	{ "ModifyNetworkInterfaceAttribute", act_modify_network_interface_attribute, true, p_modify_network_interface_attribute },
	{ "ModifySecurityGroupRules", act_modify_security_group_rules, true, p_modify_security_group_rules },
	{ "ModifySnapshotAttribute", act_modify_snapshot_attribute, true, p_modify_snapshot_attribute },
	{ "ModifySubnetAttribute", act_modify_subnet_attribute, true, p_modify_subnet_attribute },
	{ "ModifyVolume", act_modify_volume, true, p_modify_volume },
	{ "ModifyVolumeAttribute", act_modify_volume_attribute, true, p_modify_volume_attribute },
	{ "RebootInstances", act_reboot_instances, true, p_instance_ids },
	{ "RegisterImage", act_register_image, true, p_register_image },
	{ "ReleaseAddress", act_release_address, true, p_release_address },
	{ "ReplaceIamInstanceProfileAssociation", act_replace_iam_instance_profile_association, true,
	  p_replace_iam_instance_profile_association },
	{ "ReplaceNetworkAclAssociation", act_replace_network_acl_association, true, p_replace_network_acl_association },
	{ "ReplaceNetworkAclEntry", act_replace_network_acl_entry, true, p_network_acl_entry },
	{ "ResetSnapshotAttribute", act_reset_snapshot_attribute, true, p_snapshot_attribute },
	{ "RevokeSecurityGroupEgress", act_revoke_security_group_egress, true, p_revoke_sg_egress },
	{ "RevokeSecurityGroupIngress", act_revoke_security_group_ingress, true, p_revoke_sg_ingress },
	{ "RunInstances", act_run_instances, true, p_run_instances },
	{ "StartInstances", act_start_instances, true, p_start_instances },
	{ "StopInstances", act_stop_instances, true, p_stop_instances },
	{ "TerminateInstances", act_terminate_instances, true, p_terminate_instances },
	{ "UnassignPrivateIpAddresses", act_unassign_private_ip_addresses, true, p_unassign_private_ip_addresses },
};
const size_t api_nactions = ARRAY_SIZE(api_actions);
