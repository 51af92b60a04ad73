#include "hostd/resources.h"

#include <errno.h>
#include <string.h>

#include "hostd/store.h"
#include "lib/ids.h"
#include "lib/util.h"

static const struct rkind kinds[] = {
	{ "key", "key-pair", "SELECT 1 FROM key_pairs WHERE id = ?1 AND account_id = ?2",
	  "InvalidKeyPair.NotFound", "key pair" },
	/* Not the AMI an import is still building (images/registry.h). */
	{ "ami", "image", "SELECT 1 FROM images WHERE id = ?1 AND account_id = ?2 AND state != 'deregistered' AND "
			  "NOT EXISTS (SELECT 1 FROM import_tasks t WHERE t.image_id = images.id AND "
			  "t.status != 'completed')",
	  "InvalidAMIID.NotFound", "image" },
	{ "snap", "snapshot", "SELECT 1 FROM snapshots WHERE id = ?1 AND account_id = ?2",
	  "InvalidSnapshot.NotFound", "snapshot" },
	{ "vol", "volume", "SELECT 1 FROM volumes WHERE id = ?1 AND account_id = ?2 AND state != 'deleted'",
	  "InvalidVolume.NotFound", "volume" },
	{ "import-ami", "import-image-task", "SELECT 1 FROM import_tasks WHERE id = ?1 AND account_id = ?2",
	  "InvalidConversionTaskId", "import task" },
	{ "i", "instance", "SELECT 1 FROM instances WHERE id = ?1 AND account_id = ?2",
	  "InvalidInstanceID.NotFound", "instance" },
	{ "vpc", "vpc", "SELECT 1 FROM vpcs WHERE id = ?1 AND account_id = ?2", "InvalidVpcID.NotFound", "vpc" },
	{ "subnet", "subnet", "SELECT 1 FROM subnets WHERE id = ?1 AND account_id = ?2", "InvalidSubnetID.NotFound",
	  "subnet" },
	{ "eni", "network-interface", "SELECT 1 FROM enis WHERE id = ?1 AND account_id = ?2",
	  "InvalidNetworkInterfaceID.NotFound", "network interface" },
	{ "sg", "security-group", "SELECT 1 FROM security_groups WHERE id = ?1 AND account_id = ?2",
	  "InvalidGroup.NotFound", "security group" },
	{ "sgr", "security-group-rule", "SELECT 1 FROM sg_rules r JOIN security_groups g ON g.id = r.group_id "
					"WHERE r.id = ?1 AND g.account_id = ?2",
	  "InvalidSecurityGroupRuleId.NotFound", "security group rule" },
	{ "acl", "network-acl", "SELECT 1 FROM network_acls WHERE id = ?1 AND account_id = ?2",
	  "InvalidNetworkAclID.NotFound", "network ACL" },
	{ "igw", "internet-gateway", "SELECT 1 FROM internet_gateways WHERE id = ?1 AND account_id = ?2",
	  "InvalidInternetGatewayID.NotFound", "internet gateway" },
	{ "eipalloc", "elastic-ip", "SELECT 1 FROM addresses WHERE id = ?1 AND account_id = ?2",
	  "InvalidAllocationID.NotFound", "address" },
};

const struct rkind *resource_kind(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (id_valid(kinds[i].prefix, id))
			return &kinds[i];
	return NULL;
}

int resource_exists(struct store *s, const struct rkind *k, const char *account, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, k->exists_sql);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -EIO;
}
