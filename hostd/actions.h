/* Handlers behind the action table (hostd/actions.c), one module per area. */
#pragma once
#include <stdint.h>

struct api_req;

/* act_meta.c: the region, its zones, the account, instance types */
int act_describe_regions(struct api_req *r);
int act_describe_availability_zones(struct api_req *r);
int act_describe_account_attributes(struct api_req *r);
int act_describe_instance_types(struct api_req *r);

/* act_keypairs.c */
int act_create_key_pair(struct api_req *r);
int act_import_key_pair(struct api_req *r);
int act_describe_key_pairs(struct api_req *r);
int act_delete_key_pair(struct api_req *r);

/* act_tags.c */
int act_create_tags(struct api_req *r);
int act_delete_tags(struct api_req *r);
int act_describe_tags(struct api_req *r);

/* act_instances.c */
int act_run_instances(struct api_req *r);
int act_describe_instances(struct api_req *r);
int act_start_instances(struct api_req *r);
int act_stop_instances(struct api_req *r);
int act_reboot_instances(struct api_req *r);
int act_terminate_instances(struct api_req *r);
int act_describe_instance_attribute(struct api_req *r);
int act_modify_instance_attribute(struct api_req *r);
int act_get_console_output(struct api_req *r);
int act_get_console_screenshot(struct api_req *r);
/* act_import.c: ImportImage tasks */
int act_import_image(struct api_req *r);
int act_describe_import_image_tasks(struct api_req *r);
int act_cancel_import_task(struct api_req *r);

/* act_images.c: AMIs */
int act_register_image(struct api_req *r);
int act_describe_images(struct api_req *r);
int act_deregister_image(struct api_req *r);
int act_describe_image_attribute(struct api_req *r);

/* act_secgroups.c: security groups and their rules */
int act_create_security_group(struct api_req *r);
int act_delete_security_group(struct api_req *r);
int act_authorize_security_group_ingress(struct api_req *r);
int act_authorize_security_group_egress(struct api_req *r);
int act_revoke_security_group_ingress(struct api_req *r);
int act_revoke_security_group_egress(struct api_req *r);
int act_modify_security_group_rules(struct api_req *r);
int act_describe_security_groups(struct api_req *r);
int act_describe_security_group_rules(struct api_req *r);

/* act_nacls.c: network ACLs */
int act_create_network_acl(struct api_req *r);
int act_delete_network_acl(struct api_req *r);
int act_create_network_acl_entry(struct api_req *r);
int act_replace_network_acl_entry(struct api_req *r);
int act_delete_network_acl_entry(struct api_req *r);
int act_replace_network_acl_association(struct api_req *r);
int act_describe_network_acls(struct api_req *r);
/* act_meta.c: the zone id of az (us-east-1a -> use1-az1). */
#include <stddef.h>
void zone_id(const char *region, const char *az, char *out, size_t len);

/* act_vpcs.c: VPCs, subnets, network interfaces */
int act_create_vpc(struct api_req *r);
int act_delete_vpc(struct api_req *r);
int act_describe_vpcs(struct api_req *r);
int act_create_subnet(struct api_req *r);
int act_delete_subnet(struct api_req *r);
int act_describe_subnets(struct api_req *r);
int act_modify_subnet_attribute(struct api_req *r);
int act_describe_network_interfaces(struct api_req *r);
int act_create_network_interface(struct api_req *r);
int act_delete_network_interface(struct api_req *r);
int act_attach_network_interface(struct api_req *r);
int act_detach_network_interface(struct api_req *r);
int act_assign_private_ip_addresses(struct api_req *r);
int act_unassign_private_ip_addresses(struct api_req *r);
int act_modify_network_interface_attribute(struct api_req *r);
/* Writes an instance's VPC fields and networkInterfaceSet; 1 when it has
 * an ENI, 0 when not (nothing written), -EIO. */
int vpcs_write_instance_net(struct api_req *r, const char *instance_id);

/* act_addresses.c: internet gateways and Elastic IPs */
int act_create_internet_gateway(struct api_req *r);
int act_attach_internet_gateway(struct api_req *r);
int act_detach_internet_gateway(struct api_req *r);
int act_delete_internet_gateway(struct api_req *r);
int act_describe_internet_gateways(struct api_req *r);
int act_allocate_address(struct api_req *r);
int act_associate_address(struct api_req *r);
int act_disassociate_address(struct api_req *r);
int act_release_address(struct api_req *r);
int act_describe_addresses(struct api_req *r);
/* EBS volumes (act_volumes.c) and snapshots (act_snapshots.c). */
int act_create_volume(struct api_req *r);
int act_delete_volume(struct api_req *r);
int act_describe_volumes(struct api_req *r);
int act_modify_volume(struct api_req *r);
int act_describe_volumes_modifications(struct api_req *r);
int act_describe_volume_attribute(struct api_req *r);
int act_modify_volume_attribute(struct api_req *r);
int act_describe_volume_status(struct api_req *r);
/* ModifyInstanceAttribute's BlockDeviceMapping form (DeleteOnTermination);
 * the instance inst exists. */
int act_modify_instance_bdm(struct api_req *r, const char *inst);
/* RunInstances' data volumes (BlockDeviceMapping entries other than the
 * root): parse one entry into *l (allocated on first use), insert each
 * instance's volumes and their vol-create intents in the launch's
 * transaction, make the files after the commit. */
struct ebs_launch;
struct tag_list;
int ebs_launch_parse(struct api_req *r, unsigned idx, const char *dev, struct ebs_launch **l);
int ebs_launch_insert(struct api_req *r, struct ebs_launch *l, const char *inst, int64_t now,
		      const struct tag_list *vtags);
void ebs_launch_run(struct api_req *r, struct ebs_launch *l);
void ebs_launch_free(struct ebs_launch *l);
int act_attach_volume(struct api_req *r);
int act_detach_volume(struct api_req *r);
int act_create_snapshot(struct api_req *r);
int act_delete_snapshot(struct api_req *r);
int act_describe_snapshots(struct api_req *r);
int act_copy_snapshot(struct api_req *r);
int act_describe_snapshot_attribute(struct api_req *r);
int act_modify_snapshot_attribute(struct api_req *r);
int act_reset_snapshot_attribute(struct api_req *r);
int act_create_snapshots(struct api_req *r);
