#include "hostd/netsync.h"

#include <errno.h>
#include <stdio.h>

#include "hostd/hostd.h"
#include "hostd/store.h"
#include "lib/ids.h"
#include "lib/log.h"

int netsync_default_vpc(struct hostd *h, const char *account, char *out)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT id FROM vpcs WHERE account_id = ? AND is_default = 1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

void netsync_vpc(struct hostd *h, const char *vpc_id)
{
	(void)h;
	log_info("net", "firewall of %s to be recompiled", vpc_id);
}
