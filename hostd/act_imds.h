/* act_imds.c: instance metadata options and the account's defaults. */
#pragma once
#include <stdint.h>

struct api_req;
struct store;

int act_modify_instance_metadata_options(struct api_req *r);
int act_modify_instance_metadata_defaults(struct api_req *r);
int act_get_instance_metadata_defaults(struct api_req *r);

/* RunInstances' starting point: the account's defaults (set by
 * ModifyInstanceMetadataDefaults) replace o's fields they give; strings
 * are static. -EIO on a store error. */
struct md_opts {
	const char *http_tokens, *http_endpoint, *tags;
	int64_t hop_limit;
};
int md_defaults_apply(struct store *s, const char *account, struct md_opts *o);
