/* The kinds of resources hostd keeps, keyed by id prefix: what CreateTags and
 * DescribeTags need to know about any resource. */
#pragma once

struct store;

struct rkind {
	const char *prefix;        /* "key" for key-0123... */
	const char *type;          /* EC2 resource-type: "key-pair" */
	const char *exists_sql;    /* SELECT 1 ... WHERE id = ?1 AND account_id = ?2 */
	const char *notfound_code; /* "InvalidKeyPair.NotFound" */
	const char *noun;          /* for messages: "key pair" */
};

/* NULL when the id does not have a known, well-formed prefix. */
const struct rkind *resource_kind(const char *id);
/* 1 when the account has the resource, 0 when not, -EIO on store errors. */
int resource_exists(struct store *s, const struct rkind *k, const char *account, const char *id);
