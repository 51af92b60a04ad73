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
