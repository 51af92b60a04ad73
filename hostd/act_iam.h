/* IAM instance profiles: the profiles an account declares in the config
 * (hostd has no IAM API), their associations with instances
 * (RunInstances IamInstanceProfile, Associate/Disassociate/Replace/
 * DescribeIamInstanceProfileAssociations) and the temporary role
 * credentials minted per association, which the metadata tree serves and
 * hostd's API accepts as the owning account until they expire. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hostd/accounts.h"

struct api_req;
struct config_profile;
struct hostd;

int act_associate_iam_instance_profile(struct api_req *r);
int act_disassociate_iam_instance_profile(struct api_req *r);
int act_replace_iam_instance_profile_association(struct api_req *r);
int act_describe_iam_instance_profile_associations(struct api_req *r);

/* <prefix>.Arn / <prefix>.Name of the request: *out the account's profile,
 * or NULL when neither is given. -1 with r's error set on bad input. */
int iam_profile_param(struct api_req *r, const char *prefix, const struct config_profile **out);
/* A new association (associating) of profile with instance; in the
 * caller's transaction. assoc_id: ID_MAX bytes. */
int iam_assoc_insert(struct hostd *h, const char *account, const char *instance_id, const char *profile,
		     char *assoc_id);
/* DescribeInstances' iamInstanceProfile {arn, id}: nothing when the
 * instance has no live association. -EIO on a store error. */
int iam_write_instance(struct api_req *r, const char *instance_id);
/* The live association's profile ARN for filters ("" when none). */
void iam_instance_arn(struct hostd *h, const char *instance_id, char *out, size_t len);

/* What the metadata tree shows for an instance with a profile. */
struct iam_tree {
	char arn[300];
	char profile_id[22];
	char role[65];
	struct credential cred;
	int64_t issued_ms;
};
/* The live association's current credentials, minted now when there are
 * none yet or the current ones are within the refresh window of their
 * expiry. -ENOENT when the instance has no live association (or its
 * profile left the config). With h->lock held. */
int iam_tree_creds(struct hostd *h, const char *instance_id, struct iam_tree *out);

/* The instance identity credentials (identity-credentials/ec2/) are
 * issued per period of lifetime - refresh seconds and live lifetime
 * seconds, like role credentials: the current period at now_ms, and when
 * its set was issued and expires. */
int64_t iam_identity_period(const struct hostd *h, int64_t now_ms, int64_t *issued_ms, int64_t *expires_ms);

/* The reconciler's share, every pass, with h->lock held: association
 * states move on (their trees rewritten), credentials due for rotation are
 * replaced in the tree, associations of terminated instances end, and
 * credentials long expired are forgotten; every running instance's tree
 * is rewritten when a new identity credential period begins. */
void iam_tick(struct hostd *h);
