/* Handlers behind the action table (hostd/actions.c), one module per area. */
#pragma once

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

/* EBS volumes (act_volumes.c) and snapshots (act_snapshots.c). */
int act_create_volume(struct api_req *r);
int act_delete_volume(struct api_req *r);
int act_describe_volumes(struct api_req *r);
int act_modify_volume(struct api_req *r);
int act_describe_volumes_modifications(struct api_req *r);
int act_attach_volume(struct api_req *r);
int act_detach_volume(struct api_req *r);
int act_create_snapshot(struct api_req *r);
int act_delete_snapshot(struct api_req *r);
int act_describe_snapshots(struct api_req *r);
int act_copy_snapshot(struct api_req *r);
