/* RunInstances, DescribeInstances, Start/Stop/Reboot/TerminateInstances,
 * Describe/ModifyInstanceAttribute, GetConsoleOutput, GetConsoleScreenshot.
 * Handlers only record what the user asked for (one transaction each) and
 * wake the reconciler (hostd/instances.c), which does the slow work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hostd/act_iam.h"
#include "hostd/act_imds.h"
#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostd.h"
#include "hostd/netsync.h"
#include "hostd/publicips.h"
#include "hostd/instance_types.h"
#include "hostd/instances.h"
#include "hostd/store.h"
#include "hostd/tags.h"
#include "hostd/vpcs.h"
#include "hostd/resources.h"
#include "images/registry.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"

#define USER_DATA_MAX 16384
#define CONSOLE_MAX 65536

static const struct { const char *name; int code; } state_codes[] = {
	{ "pending", 0 }, { "running", 16 }, { "shutting-down", 32 },
	{ "terminated", 48 }, { "stopping", 64 }, { "stopped", 80 },
};

static int state_code(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_codes); i++)
		if (!strcmp(state_codes[i].name, s))
			return state_codes[i].code;
	return 0;
}

static void write_state(struct xml *x, const char *tag, const char *state)
{
	xml_open(x, tag);
	xml_int(x, "code", state_code(state));
	xml_text(x, "name", state);
	xml_close(x);
}

/* "User initiated (2024-01-02 03:04:05 GMT)", as EC2 writes it. */
static void user_initiated(char *out, size_t len)
{
	time_t t = (time_t)(now_ms() / 1000);
	struct tm tm;
	char ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, len, "User initiated (%s GMT)", ts);
}

/* --- one instance, as DescribeInstances and RunInstances print it -------- */

#define INST_COLS                                                                                         \
	"i.id, i.reservation_id, i.launch_index, i.image_id, i.instance_type, i.vcpus, i.key_name, "   \
	"i.subnet_id, i.security_group_ids, i.az, i.tenancy, i.placement_group, i.shutdown_behavior, "   \
	"i.disable_api_termination, i.md_http_tokens, i.md_http_endpoint, i.md_hop_limit, i.md_tags, "   \
	"i.md_ipv6, i.root_device_name, i.state, i.state_reason_code, i.state_reason_msg, "              \
	"i.transition_reason, i.launch_ms, r.client_token, i.account_id"

struct inst {
	const char *id, *reservation, *image, *type, *key_name, *subnet, *groups, *az, *tenancy, *pgroup;
	const char *behavior, *md_tokens, *md_endpoint, *md_tags, *md_ipv6, *root_dev, *state;
	const char *reason_code, *reason_msg, *transition, *client_token, *account;
	int launch_index, vcpus, hop_limit;
	bool dat;
	int64_t launch_ms;
};

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void inst_from_row(sqlite3_stmt *st, struct inst *in)
{
	in->id = col(st, 0);
	in->reservation = col(st, 1);
	in->launch_index = sqlite3_column_int(st, 2);
	in->image = col(st, 3);
	in->type = col(st, 4);
	in->vcpus = sqlite3_column_int(st, 5);
	in->key_name = col(st, 6);
	in->subnet = col(st, 7);
	in->groups = col(st, 8);
	in->az = col(st, 9);
	in->tenancy = col(st, 10);
	in->pgroup = col(st, 11);
	in->behavior = col(st, 12);
	in->dat = sqlite3_column_int(st, 13) != 0;
	in->md_tokens = col(st, 14);
	in->md_endpoint = col(st, 15);
	in->hop_limit = sqlite3_column_int(st, 16);
	in->md_tags = col(st, 17);
	in->md_ipv6 = col(st, 18);
	in->root_dev = col(st, 19);
	in->state = col(st, 20);
	in->reason_code = col(st, 21);
	in->reason_msg = col(st, 22);
	in->transition = col(st, 23);
	in->launch_ms = sqlite3_column_int64(st, 24);
	in->client_token = col(st, 25);
	in->account = col(st, 26);
}

struct vol_att {
	char id[ID_MAX];
	char device[64];
	char status[16];
	int64_t attach_ms;
	bool dot;
};

/* The instance's attached volumes (root first). */
static int load_atts(struct store *s, const char *id, struct vol_att *out, size_t max, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT id, device, COALESCE(attach_state, 'attaching'), "
					 "COALESCE(attach_ms, created_ms), delete_on_termination FROM volumes "
					 "WHERE instance_id = ?1 AND state != 'deleted' ORDER BY device");
	int rc;

	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct vol_att *a = &out[(*n)++];

		snprintf(a->id, sizeof(a->id), "%s", col(st, 0));
		snprintf(a->device, sizeof(a->device), "%s", col(st, 1) ? col(st, 1) : "");
		snprintf(a->status, sizeof(a->status), "%s", col(st, 2));
		a->attach_ms = sqlite3_column_int64(st, 3);
		a->dot = sqlite3_column_int(st, 4) != 0;
	}
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

static void write_bdm(struct xml *x, const struct vol_att *atts, size_t n)
{
	xml_open(x, "blockDeviceMapping");
	for (size_t i = 0; i < n; i++) {
		xml_open(x, "item");
		xml_text(x, "deviceName", atts[i].device);
		xml_open(x, "ebs");
		xml_text(x, "volumeId", atts[i].id);
		xml_text(x, "status", atts[i].status);
		xml_time(x, "attachTime", atts[i].attach_ms);
		xml_bool(x, "deleteOnTermination", atts[i].dot);
		xml_close(x);
		xml_close(x);
	}
	xml_close(x);
}

static void write_groups(struct xml *x, const char *groups)
{
	xml_open(x, "groupSet");
	if (groups) {
		char *copy = xstrdup(groups), *save = NULL;

		for (char *g = strtok_r(copy, " ", &save); g; g = strtok_r(NULL, " ", &save)) {
			xml_open(x, "item");
			xml_text(x, "groupId", g);
			xml_close(x);
		}
		free(copy);
	}
	xml_close(x);
}

static int write_instance(struct api_req *r, const struct inst *in)
{
	struct store *s = r->h->store;
	struct xml *x = &r->x;
	struct vol_att atts[32];
	size_t natts = 0;
	int threads = 1;

	{
		const struct instance_type *t = itype_find(in->type);

		if (t)
			threads = itype_default_threads_per_core(t);
	}
	if (load_atts(s, in->id, atts, ARRAY_SIZE(atts), &natts) < 0)
		return -EIO;
	xml_open(x, "item");
	xml_text(x, "instanceId", in->id);
	xml_text(x, "imageId", in->image);
	write_state(x, "instanceState", in->state);
	{
		char pub[16], pubdns[128] = "";

		if (pubip_of_instance(r->h, in->id, pub) == 0) {
			pubip_dns_name(r->h, pub, pubdns, sizeof(pubdns));
			xml_text(x, "ipAddress", pub);
		}
		xml_text(x, "dnsName", pubdns);
	}
	xml_text(x, "reason", in->transition ? in->transition : "");
	if (in->key_name)
		xml_text(x, "keyName", in->key_name);
	xml_int(x, "amiLaunchIndex", in->launch_index);
	xml_open(x, "productCodes");
	xml_close(x);
	xml_text(x, "instanceType", in->type);
	xml_time(x, "launchTime", in->launch_ms);
	xml_open(x, "placement");
	xml_text(x, "availabilityZone", in->az);
	xml_text(x, "groupName", in->pgroup ? in->pgroup : "");
	xml_text(x, "tenancy", in->tenancy);
	xml_close(x);
	xml_open(x, "monitoring");
	xml_text(x, "state", "disabled");
	xml_close(x);
	if (in->reason_code) {
		xml_open(x, "stateReason");
		xml_text(x, "code", in->reason_code);
		xml_text(x, "message", in->reason_msg ? in->reason_msg : in->reason_code);
		xml_close(x);
	}
	xml_text(x, "architecture", "x86_64");
	xml_text(x, "rootDeviceType", "ebs");
	xml_text(x, "rootDeviceName", in->root_dev);
	write_bdm(x, atts, natts);
	xml_text(x, "virtualizationType", "hvm");
	xml_text(x, "clientToken", in->client_token ? in->client_token : "");
	if (tags_write(s, x, r->account_id, in->id) < 0)
		return -EIO;
	{
		int has = vpcs_write_instance_net(r, in->id);

		if (has < 0)
			return -EIO;
		if (!has) {
			xml_text(x, "privateDnsName", "");
			if (in->subnet)
				xml_text(x, "subnetId", in->subnet);
			write_groups(x, in->groups);
			xml_open(x, "networkInterfaceSet");
			xml_close(x);
		}
	}
	xml_text(x, "hypervisor", "xen");
	if (iam_write_instance(r, in->id) < 0)
		return -EIO;
	xml_bool(x, "ebsOptimized", false);
	xml_bool(x, "enaSupport", true);
	xml_open(x, "cpuOptions");
	xml_int(x, "coreCount", in->vcpus / (threads > 0 ? threads : 1));
	xml_int(x, "threadsPerCore", threads);
	xml_close(x);
	xml_open(x, "capacityReservationSpecification");
	xml_text(x, "capacityReservationPreference", "open");
	xml_close(x);
	xml_open(x, "hibernationOptions");
	xml_bool(x, "configured", false);
	xml_close(x);
	xml_open(x, "metadataOptions");
	xml_text(x, "state", !strcmp(in->state, "pending") ? "pending" : "applied");
	xml_text(x, "httpTokens", in->md_tokens);
	xml_int(x, "httpPutResponseHopLimit", in->hop_limit);
	xml_text(x, "httpEndpoint", in->md_endpoint);
	xml_text(x, "httpProtocolIpv6", in->md_ipv6);
	xml_text(x, "instanceMetadataTags", in->md_tags);
	xml_close(x);
	xml_open(x, "enclaveOptions");
	xml_bool(x, "enabled", false);
	xml_close(x);
	xml_text(x, "platformDetails", "Linux/UNIX");
	xml_text(x, "usageOperation", "RunInstances");
	xml_time(x, "usageOperationUpdateTime", in->launch_ms);
	xml_open(x, "maintenanceOptions");
	xml_text(x, "autoRecovery", "default");
	xml_close(x);
	xml_text(x, "currentInstanceBootMode", "legacy-bios");
	xml_close(x);
	return 0;
}

/* --- DescribeInstances --------------------------------------------------- */

static const char *const inst_filters[] = {
	"instance-id", "instance-state-name", "instance-state-code", "instance-type", "image-id",
	"key-name", "reservation-id", "owner-id", "availability-zone", "launch-index", "ami-launch-index",
	"architecture", "hypervisor", "virtualization-type", "root-device-name", "root-device-type",
	"block-device-mapping.device-name", "block-device-mapping.volume-id",
	"block-device-mapping.status", "block-device-mapping.delete-on-termination",
	"block-device-mapping.attach-time", "client-token", "launch-time", "tenancy", "placement-group-name",
	"subnet-id", "instance.group-id", "reason", "state-reason-code", "state-reason-message",
	"metadata-options.http-tokens", "metadata-options.http-put-response-hop-limit",
	"metadata-options.http-endpoint", "metadata-options.instance-metadata-tags",
	"metadata-options.http-protocol-ipv6", "platform-details", "usage-operation", "boot-mode",
	"current-instance-boot-mode", "vpc-id", "private-ip-address", "private-dns-name", "instance.group-name",
	"network-interface.network-interface-id", "network-interface.mac-address", "network-interface.subnet-id",
	"network-interface.vpc-id", "network-interface.addresses.private-ip-address", "network-interface.status",
	"network-interface.attachment.device-index", "network-interface.group-id", "ip-address", "dns-name",
	"iam-instance-profile.arn", NULL,
};

static int inst_fbag(struct api_req *r, const struct inst *in, struct fbag *b)
{
	struct vol_att atts[32];
	size_t natts = 0;
	char ts[25];

	fbag_add(b, "instance-id", in->id);
	fbag_add(b, "instance-state-name", in->state);
	{
		char arn[300];

		iam_instance_arn(r->h, in->id, arn, sizeof(arn));
		if (arn[0])
			fbag_own_pair(b, xstrdup("iam-instance-profile.arn"), xstrdup(arn));
	}
	{
		char pub[16], pubdns[128];

		if (pubip_of_instance(r->h, in->id, pub) == 0) {
			pubip_dns_name(r->h, pub, pubdns, sizeof(pubdns));
			fbag_own_pair(b, xstrdup("ip-address"), xstrdup(pub));
			fbag_own_pair(b, xstrdup("dns-name"), xstrdup(pubdns));
		}
	}
	fbag_add_int(b, "instance-state-code", state_code(in->state));
	fbag_add(b, "instance-type", in->type);
	fbag_add(b, "image-id", in->image);
	if (in->key_name)
		fbag_add(b, "key-name", in->key_name);
	fbag_add(b, "reservation-id", in->reservation);
	fbag_add(b, "owner-id", in->account);
	fbag_add(b, "availability-zone", in->az);
	fbag_add_int(b, "launch-index", in->launch_index);
	fbag_add_int(b, "ami-launch-index", in->launch_index);
	fbag_add(b, "architecture", "x86_64");
	fbag_add(b, "hypervisor", "xen");
	fbag_add(b, "virtualization-type", "hvm");
	fbag_add(b, "root-device-name", in->root_dev);
	fbag_add(b, "root-device-type", "ebs");
	if (in->client_token)
		fbag_add(b, "client-token", in->client_token);
	iso8601_ms(in->launch_ms, ts);
	fbag_own_pair(b, xstrdup("launch-time"), xstrdup(ts));
	fbag_add(b, "tenancy", in->tenancy);
	if (in->pgroup)
		fbag_add(b, "placement-group-name", in->pgroup);
	if (in->subnet)
		fbag_add(b, "subnet-id", in->subnet);
	{
		struct eni_view *v = NULL;
		size_t nv = 0;

		if (eni_views(r->h->store, in->account, in->id, NULL, &v, &nv) < 0)
			return -EIO;
		for (size_t i = 0; i < nv; i++) {
			const struct eni_view *e = &v[i];
			char dns[128], idx[16];

			eni_dns_name(r->h, e->ip, dns, sizeof(dns));
			snprintf(idx, sizeof(idx), "%d", e->device_index);
			if (e->device_index == 0) {
				fbag_own_pair(b, xstrdup("vpc-id"), xstrdup(e->vpc));
				fbag_own_pair(b, xstrdup("private-ip-address"), xstrdup(e->ip));
				fbag_own_pair(b, xstrdup("private-dns-name"), xstrdup(dns));
				for (size_t g = 0; g < e->ngroups; g++)
					fbag_own_pair(b, xstrdup("instance.group-name"), xstrdup(e->group_names[g]));
			}
			fbag_own_pair(b, xstrdup("network-interface.network-interface-id"), xstrdup(e->id));
			fbag_own_pair(b, xstrdup("network-interface.mac-address"), xstrdup(e->mac));
			fbag_own_pair(b, xstrdup("network-interface.subnet-id"), xstrdup(e->subnet));
			fbag_own_pair(b, xstrdup("network-interface.vpc-id"), xstrdup(e->vpc));
			fbag_own_pair(b, xstrdup("network-interface.addresses.private-ip-address"), xstrdup(e->ip));
			fbag_own_pair(b, xstrdup("network-interface.status"), xstrdup(e->status));
			fbag_own_pair(b, xstrdup("network-interface.attachment.device-index"), xstrdup(idx));
			for (size_t g = 0; g < e->ngroups; g++)
				fbag_own_pair(b, xstrdup("network-interface.group-id"), xstrdup(e->group_ids[g]));
		}
		eni_views_free(v, nv);
	}
	if (in->groups) {
		char *copy = xstrdup(in->groups), *save = NULL;

		for (char *g = strtok_r(copy, " ", &save); g; g = strtok_r(NULL, " ", &save))
			fbag_own_pair(b, xstrdup("instance.group-id"), xstrdup(g));
		free(copy);
	}
	fbag_add(b, "reason", in->transition ? in->transition : "");
	if (in->reason_code) {
		fbag_add(b, "state-reason-code", in->reason_code);
		fbag_add(b, "state-reason-message", in->reason_msg ? in->reason_msg : "");
	}
	fbag_add(b, "metadata-options.http-tokens", in->md_tokens);
	fbag_add_int(b, "metadata-options.http-put-response-hop-limit", in->hop_limit);
	fbag_add(b, "metadata-options.http-endpoint", in->md_endpoint);
	fbag_add(b, "metadata-options.instance-metadata-tags", in->md_tags);
	fbag_add(b, "metadata-options.http-protocol-ipv6", in->md_ipv6);
	fbag_add(b, "platform-details", "Linux/UNIX");
	fbag_add(b, "usage-operation", "RunInstances");
	fbag_add(b, "boot-mode", "legacy-bios");
	fbag_add(b, "current-instance-boot-mode", "legacy-bios");
	if (load_atts(r->h->store, in->id, atts, ARRAY_SIZE(atts), &natts) < 0)
		return -EIO;
	for (size_t i = 0; i < natts; i++) {
		iso8601_ms(atts[i].attach_ms, ts);
		fbag_own_pair(b, xstrdup("block-device-mapping.device-name"), xstrdup(atts[i].device));
		fbag_own_pair(b, xstrdup("block-device-mapping.volume-id"), xstrdup(atts[i].id));
		fbag_own_pair(b, xstrdup("block-device-mapping.status"), xstrdup(atts[i].status));
		fbag_own_pair(b, xstrdup("block-device-mapping.attach-time"), xstrdup(ts));
		fbag_own_pair(b, xstrdup("block-device-mapping.delete-on-termination"),
			      xstrdup(atts[i].dot ? "true" : "false"));
	}
	return tags_fbag(r->h->store, b, r->account_id, in->id);
}

/* Every id must be well formed and the account's; the first that is not
 * decides the error, as on EC2. */
static int check_ids(struct api_req *r, const char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!id_valid("i", ids[i]))
			return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", ids[i]);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = store_stmt(r->h->store, "SELECT 1 FROM instances WHERE id = ?1 AND account_id = ?2");
		int rc;

		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			return api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist",
				       ids[i]);
		if (rc != SQLITE_ROW)
			return api_err_internal(r);
	}
	return 0;
}

int act_describe_instances(struct api_req *r)
{
	struct store *s = r->h->store;
	struct filter_set fs = { 0 };
	struct fbag bag = FBAG_INIT;
	const char **ids = NULL;
	size_t nids = 0;
	int64_t limit = 0, sent = 0;
	char *from = NULL, cur_res[ID_MAX] = "";
	sqlite3_stmt *st;
	int ret, rc;
	bool open_res = false;

	if ((ret = api_list(r, "InstanceId", &ids, &nids)) < 0 || (ret = api_filters(r, inst_filters, true, &fs)) < 0)
		goto out;
	if (nids && api_str(r, "MaxResults")) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "The parameter instancesSet cannot be used with the parameter maxResults");
		goto out;
	}
	if ((ret = api_page(r, 5, 1000, &limit, &from)) < 0 || (ret = check_ids(r, ids, nids)) < 0)
		goto out;
	/* Reservations group their instances; a page never splits one. */
	st = store_stmt(s, "SELECT " INST_COLS " FROM instances i JOIN reservations r ON r.id = i.reservation_id "
			   "WHERE i.account_id = ?1 AND (?2 IS NULL OR i.reservation_id >= ?2) "
			   "ORDER BY i.reservation_id, i.launch_index");
	if (!st) {
		ret = api_err_internal(r);
		goto out;
	}
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	xml_open(&r->x, "reservationSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct inst in;

		inst_from_row(st, &in);
		if (nids && !strv_contains(ids, nids, in.id))
			continue;
		if (fs.n) {
			fbag_reset(&bag);
			if (inst_fbag(r, &in, &bag) < 0) {
				ret = api_err_internal(r);
				goto out;
			}
			if (!filter_set_match(&fs, &bag))
				continue;
		}
		if (strcmp(cur_res, in.reservation)) {
			if (open_res) {
				xml_close(&r->x); /* instancesSet */
				xml_close(&r->x); /* item */
				open_res = false;
			}
			if (limit && sent == limit) {
				api_next_token(r, in.reservation);
				break;
			}
			snprintf(cur_res, sizeof(cur_res), "%s", in.reservation);
			xml_open(&r->x, "item");
			xml_text(&r->x, "reservationId", in.reservation);
			xml_text(&r->x, "ownerId", in.account);
			xml_open(&r->x, "groupSet");
			xml_close(&r->x);
			xml_open(&r->x, "instancesSet");
			open_res = true;
			sent++;
		}
		if (write_instance(r, &in) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (open_res) {
		xml_close(&r->x);
		xml_close(&r->x);
	}
	xml_close(&r->x);
	ret = 0;
out:
	free(from);
	free(ids);
	filter_set_free(&fs);
	fbag_free(&bag);
	return ret;
}

/* --- RunInstances -------------------------------------------------------- */

struct run_req {
	const char *image_id, *type_name, *key_name, *subnet, *client_token, *behavior;
	const char *pgroup, *tenancy;
	const struct instance_type *type;
	int64_t min, max;
	bool dat;
	unsigned char *user_data;
	size_t user_data_len;
	char groups[2048];
	const char *md_tokens, *md_endpoint, *md_tags, *md_ipv6;
	int64_t hop_limit;
	struct image_launch img;
	int64_t root_gib;
	const char *root_type;
	bool root_dot;
	struct tag_list itags, vtags;
	struct ebs_launch *ebs;   /* data volumes mapped at launch (act_volumes.c) */
	/* the primary ENI: its subnet, groups and (optionally) address */
	struct subnet_info sn;
	const char *private_ip;
	char gids[5][ID_MAX];
	size_t ngids;
	const struct config_profile *profile; /* IamInstanceProfile, or NULL */
};

/* SHA-256 over the request's parameters, so a reused ClientToken with
 * other parameters is caught (IdempotentParameterMismatch). */
static void request_hash(struct api_req *r, char out[65])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (size_t i = 0; i < r->q->n; i++) {
		const struct qparam *p = &r->q->p[i];

		if (!strcmp(p->name, "DryRun") || !strcmp(p->name, "Action") || !strcmp(p->name, "Version"))
			continue;
		EVP_DigestUpdate(c, p->name, strlen(p->name) + 1);
		EVP_DigestUpdate(c, p->value, strlen(p->value) + 1);
	}
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	hex_encode(md, sizeof(md), out);
}

static int one_of(struct api_req *r, const char *param, const char *v, const char *const *ok)
{
	for (size_t i = 0; ok[i]; i++)
		if (!strcmp(v, ok[i]))
			return 0;
	return api_err_value(r, param, v, "");
}

/* An optional parameter that must be one of ok; *dst keeps its default
 * when the parameter is absent. */
static int opt_enum(struct api_req *r, const char *param, const char *const *ok, const char **dst)
{
	const char *v = api_str(r, param);
	int ret;

	if (!v)
		return 0;
	if ((ret = one_of(r, param, v, ok)) < 0)
		return ret;
	*dst = v;
	return 0;
}

static int parse_metadata_options(struct api_req *r, struct run_req *q)
{
	static const char *const tokens[] = { "optional", "required", NULL };
	static const char *const onoff[] = { "enabled", "disabled", NULL };
	int ret;

	/* AMIs flagged ImdsSupport v2.0 launch with tokens required and a hop
	 * limit of 2, as on EC2. */
	bool v2 = !strcmp(q->img.imds_support, "v2.0");
	struct md_opts d = { "optional", "enabled", "disabled", 1 };

	/* Precedence: the request, then the AMI, then the account's defaults
	 * (ModifyInstanceMetadataDefaults), then EC2's. */
	if (md_defaults_apply(r->h->store, r->account_id, &d) < 0)
		return api_err_internal(r);
	q->md_tokens = v2 ? "required" : d.http_tokens;
	q->hop_limit = v2 ? 2 : d.hop_limit;
	q->md_endpoint = d.http_endpoint;
	q->md_tags = d.tags;
	q->md_ipv6 = "disabled";
	if ((ret = opt_enum(r, "MetadataOptions.HttpTokens", tokens, &q->md_tokens)) < 0 ||
	    (ret = opt_enum(r, "MetadataOptions.HttpEndpoint", onoff, &q->md_endpoint)) < 0 ||
	    (ret = opt_enum(r, "MetadataOptions.InstanceMetadataTags", onoff, &q->md_tags)) < 0 ||
	    (ret = opt_enum(r, "MetadataOptions.HttpProtocolIpv6", onoff, &q->md_ipv6)) < 0)
		return ret;
	return api_int(r, "MetadataOptions.HttpPutResponseHopLimit", q->hop_limit, 1, 64, &q->hop_limit);
}

/* The root device's mapping; other devices are data volumes. */
static int parse_bdm(struct api_req *r, struct run_req *q)
{
	unsigned *idx = NULL;
	size_t n = 0;
	int ret = 0;

	q->root_gib = q->img.root_size_gib;
	q->root_type = q->img.root_volume_type[0] ? q->img.root_volume_type : "gp3";
	q->root_dot = q->img.root_delete_on_termination;
	if (query_indices(r->q, "BlockDeviceMapping", &idx, &n) < 0)
		return api_err_internal(r);
	for (size_t i = 0; i < n; i++) {
		char k[96];
		const char *dev, *v;

		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.DeviceName", idx[i]);
		dev = api_str(r, k);
		if (!dev) {
			ret = api_err_missing(r, k);
			goto out;
		}
		if (strcmp(dev, q->img.root_device_name)) {
			if ((ret = ebs_launch_parse(r, idx[i], dev, &q->ebs)) < 0)
				goto out;
			continue;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.NoDevice", idx[i]);
		if (api_str(r, k)) {
			ret = api_err(r, 400, "InvalidBlockDeviceMapping", "The root device cannot be suppressed.");
			goto out;
		}
		{
			/* Not for the root yet (data volumes take them); never a fake encryption. */
			static const char *const unsupported[] = { "Iops", "Throughput", "Encrypted", "KmsKeyId" };

			for (size_t u = 0; u < ARRAY_SIZE(unsupported); u++) {
				snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.%s", idx[i], unsupported[u]);
				if ((v = api_str(r, k)) && strcmp(v, "false")) {
					ret = api_err(r, 400, "UnsupportedOperation",
						      "%s on the root device is not supported by this host.",
						      unsupported[u]);
					goto out;
				}
			}
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeSize", idx[i]);
		if ((ret = api_int(r, k, q->root_gib, 1, 16384, &q->root_gib)) < 0)
			goto out;
		if (q->root_gib < q->img.root_size_gib) {
			ret = api_err(r, 400, "InvalidBlockDeviceMapping",
				      "Volume of size %lldGB is smaller than snapshot '%s', expect size >= %lldGB",
				      (long long)q->root_gib, q->img.snapshot_id, (long long)q->img.root_size_gib);
			goto out;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", idx[i]);
		if ((ret = api_bool(r, k, q->root_dot, &q->root_dot)) < 0)
			goto out;
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.VolumeType", idx[i]);
		if ((v = api_str(r, k))) {
			static const char *const types[] = { "standard", "gp2", "gp3", "io1", "io2", "st1", "sc1", NULL };

			if ((ret = one_of(r, k, v, types)) < 0)
				goto out;
			q->root_type = v;
		}
		snprintf(k, sizeof(k), "BlockDeviceMapping.%u.Ebs.SnapshotId", idx[i]);
		if ((v = api_str(r, k)) && strcmp(v, q->img.snapshot_id)) {
			ret = api_err(r, 400, "InvalidBlockDeviceMapping",
				      "The root device must use the AMI's snapshot %s.", q->img.snapshot_id);
			goto out;
		}
	}
out:
	free(idx);
	return ret;
}

static int key_exists(struct api_req *r, const char *name)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT 1 FROM key_pairs WHERE account_id = ?1 AND name = ?2");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW;
}

/* The primary ENI's subnet (SubnetId or the account's default subnet),
 * security groups (ids or names in that VPC, else its default group) and
 * PrivateIpAddress. */
static int parse_network(struct api_req *r, struct run_req *q, const char **groups, size_t ng, const char **names,
			 size_t nn)
{
	struct store *s = r->h->store;
	int e;

	if (ng + nn > 5)
		return api_err(r, 400, "SecurityGroupsPerInterfaceLimitExceeded",
			       "The maximum number of security groups per interface has been reached.");
	e = q->subnet ? subnet_lookup(r->h, r->account_id, q->subnet, &q->sn)
		      : subnet_default(r->h, r->account_id, &q->sn);
	if (e == -ENOENT && q->subnet)
		return api_err(r, 400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", q->subnet);
	if (e == -ENOENT)
		return api_err(r, 400, "MissingInput", "No subnets found for the default VPC. Please specify a subnet.");
	if (e < 0)
		return api_err_internal(r);
	for (size_t i = 0; i < ng; i++) {
		e = vpc_group_in(s, r->account_id, q->sn.vpc_id, groups[i]);
		if (e < 0)
			return api_err_internal(r);
		if (!e) {
			e = resource_exists(s, resource_kind(groups[i]), r->account_id, groups[i]);
			if (e > 0)
				return api_err(r, 400, "InvalidParameter",
					       "Security group %s and subnet %s belong to different networks.", groups[i],
					       q->sn.id);
			return api_err(r, 400, "InvalidGroup.NotFound", "The security group '%s' does not exist",
				       groups[i]);
		}
		snprintf(q->gids[q->ngids++], ID_MAX, "%s", groups[i]);
	}
	for (size_t i = 0; i < nn; i++) {
		e = vpc_group_by_name(s, q->sn.vpc_id, names[i], q->gids[q->ngids]);
		if (e == -ENOENT)
			return api_err(r, 400, "InvalidGroup.NotFound",
				       "The security group '%.255s' does not exist in VPC '%s'", names[i], q->sn.vpc_id);
		if (e < 0)
			return api_err_internal(r);
		q->ngids++;
	}
	if (!q->ngids) {
		e = vpc_group_by_name(s, q->sn.vpc_id, "default", q->gids[0]);
		if (e < 0)
			return api_err_internal(r);
		q->ngids = 1;
	}
	for (size_t i = 0; i < q->ngids; i++) {
		size_t len = strlen(q->groups);

		snprintf(q->groups + len, sizeof(q->groups) - len, "%s%s", len ? " " : "", q->gids[i]);
	}
	q->subnet = q->sn.id;
	q->private_ip = api_str(r, "PrivateIpAddress");
	if (q->private_ip) {
		uint32_t ip;

		if (ip_parse(q->private_ip, &ip) < 0)
			return api_err(r, 400, "InvalidParameterValue",
				       "Value (%.64s) for parameter privateIpAddress is invalid.", q->private_ip);
		if (!cidr_contains_ip(&q->sn.cidr, ip))
			return api_err(r, 400, "InvalidParameterValue",
				       "Address %s does not fall within the subnet's address range", q->private_ip);
		if (cidr_reserved(&q->sn.cidr, ip))
			return api_err(r, 400, "InvalidParameterValue",
				       "Address %s is reserved by AWS and cannot be used.", q->private_ip);
	}
	return 0;
}

static int parse_run(struct api_req *r, struct run_req *q)
{
	static const char *const behaviors[] = { "stop", "terminate", NULL };
	const char **groups = NULL, **names = NULL;
	size_t ng = 0, nn = 0;
	const char *v;
	int ret;

	if ((ret = api_need_str(r, "ImageId", &q->image_id)) < 0)
		return ret;
	if (!api_str(r, "MinCount"))
		return api_err_missing(r, "MinCount");
	if (!api_str(r, "MaxCount"))
		return api_err_missing(r, "MaxCount");
	if ((ret = api_int(r, "MinCount", 1, 1, 1000, &q->min)) < 0 ||
	    (ret = api_int(r, "MaxCount", 1, 1, 1000, &q->max)) < 0)
		return ret;
	if (q->max < q->min)
		return api_err(r, 400, "InvalidParameterValue",
			       "MaxCount (%lld) must be greater than or equal to MinCount (%lld).", (long long)q->max,
			       (long long)q->min);
	if (!id_valid("ami", q->image_id))
		return api_err(r, 400, "InvalidAMIID.Malformed", "Invalid id: \"%.64s\" (expecting \"ami-...\")",
			       q->image_id);
	q->type_name = api_str(r, "InstanceType");
	if (!q->type_name)
		q->type_name = "t2.micro"; /* EC2's m1.small default is not sold here */
	q->type = itype_find(q->type_name);
	if (!q->type)
		return api_err(r, 400, "InvalidParameterValue", "Invalid value '%.64s' for InstanceType.",
			       q->type_name);
	if (itype_bare_metal(q->type))
		return api_err(r, 400, "Unsupported",
			       "The requested configuration is currently not supported: %s is bare metal.",
			       q->type_name);
	ret = images_for_launch(r->h, r->account_id, q->image_id, &q->img);
	if (ret == -ENOENT)
		return api_err(r, 400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", q->image_id);
	if (ret == -EAGAIN)
		return api_err(r, 400, "InvalidAMIID.Unavailable", "The image '%s' is not available yet.",
			       q->image_id);
	if (ret < 0)
		return api_err_internal(r);
	q->key_name = api_str(r, "KeyName");
	if (q->key_name) {
		ret = key_exists(r, q->key_name);
		if (ret < 0)
			return api_err_internal(r);
		if (!ret)
			return api_err(r, 400, "InvalidKeyPair.NotFound", "The key pair '%.255s' does not exist",
				       q->key_name);
	}
	if ((v = api_str(r, "UserData"))) {
		if (base64_decode(v, strlen(v), &q->user_data, &q->user_data_len) < 0)
			return api_err(r, 400, "InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.");
		if (q->user_data_len > USER_DATA_MAX)
			return api_err(r, 400, "InvalidParameterValue", "User data is limited to %d bytes",
				       USER_DATA_MAX);
	}
	q->behavior = api_str(r, "InstanceInitiatedShutdownBehavior");
	if (!q->behavior)
		q->behavior = "stop";
	else if ((ret = one_of(r, "InstanceInitiatedShutdownBehavior", q->behavior, behaviors)) < 0)
		return ret;
	if ((ret = api_bool(r, "DisableApiTermination", false, &q->dat)) < 0)
		return ret;
	if ((v = api_str(r, "Placement.AvailabilityZone")) && strcmp(v, r->h->cfg->availability_zone))
		return api_err(r, 400, "InvalidParameterValue", "Invalid availability zone: [%.64s]", v);
	q->tenancy = api_str(r, "Placement.Tenancy");
	if (!q->tenancy)
		q->tenancy = "default";
	else if (strcmp(q->tenancy, "default"))
		return api_err(r, 400, "Unsupported", "The requested configuration is currently not supported: "
						       "tenancy %.32s.", q->tenancy);
	q->pgroup = api_str(r, "Placement.GroupName");
	q->subnet = api_str(r, "SubnetId");
	if (q->subnet && !id_valid("subnet", q->subnet))
		return api_err(r, 400, "InvalidSubnetID.Malformed", "Invalid id: \"%.64s\"", q->subnet);
	q->client_token = api_str(r, "ClientToken");
	if (q->client_token && strlen(q->client_token) > 64)
		return api_err(r, 400, "InvalidParameterValue", "Value for ClientToken is too long (max 64).");
	if ((ret = api_list(r, "SecurityGroupId", &groups, &ng)) < 0)
		return ret;
	if ((ret = api_list(r, "SecurityGroup", &names, &nn)) < 0)
		goto out;
	for (size_t i = 0; i < ng; i++)
		if (!id_valid("sg", groups[i])) {
			ret = api_err(r, 400, "InvalidGroupId.Malformed", "Invalid id: \"%.64s\"", groups[i]);
			goto out;
		}
	if ((ret = parse_network(r, q, groups, ng, names, nn)) < 0)
		goto out;
	if (q->private_ip && q->max > 1) {
		ret = api_err(r, 400, "InvalidParameterCombination",
			      "Cannot specify a private IP address when launching more than one instance.");
		goto out;
	}
	if ((ret = parse_metadata_options(r, q)) < 0 || (ret = parse_bdm(r, q)) < 0 ||
	    (ret = iam_profile_param(r, "IamInstanceProfile", &q->profile)) < 0)
		goto out;
	if ((ret = tags_from_specs_of(r, "instance volume", "instance", &q->itags)) < 0 ||
	    (ret = tags_from_specs_of(r, "instance volume", "volume", &q->vtags)) < 0)
		goto out;
out:
	free(groups);
	free(names);
	return ret;
}

/* An SMBIOS/domain uuid that starts with "ec2", which cloud-init and
 * friends take as the sign of EC2. */
static int ec2_uuid(char out[37])
{
	char u[37];

	if (uuid_v4(u) < 0)
		return -EIO;
	memcpy(u, "ec2", 3);
	memcpy(out, u, 37);
	return 0;
}

/* The existing reservation for a ClientToken: 1 found (and written), 0 none. */
static int idempotent(struct api_req *r, const char *token, const char *hash, char *res_id, size_t len)
{
	sqlite3_stmt *st = store_stmt(r->h->store,
				      "SELECT id, request_hash FROM reservations WHERE account_id = ?1 AND client_token = ?2");
	int rc;

	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return api_err_internal(r);
	if (strcmp(col(st, 1), hash))
		return api_err(r, 400, "IdempotentParameterMismatch",
			       "Arguments on this idempotent request are inconsistent with arguments used in "
			       "previous request(s).");
	snprintf(res_id, len, "%s", col(st, 0));
	return 1;
}

static int write_reservation(struct api_req *r, const char *res_id)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT " INST_COLS " FROM instances i JOIN reservations r ON "
						   "r.id = i.reservation_id WHERE i.reservation_id = ?1 ORDER BY i.launch_index");
	int rc;

	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, res_id, -1, SQLITE_STATIC);
	xml_text(&r->x, "reservationId", res_id);
	xml_text(&r->x, "ownerId", r->account_id);
	xml_open(&r->x, "groupSet");
	xml_close(&r->x);
	xml_open(&r->x, "instancesSet");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct inst in;

		inst_from_row(st, &in);
		if (write_instance(r, &in) < 0)
			return api_err_internal(r);
	}
	xml_close(&r->x);
	return rc == SQLITE_DONE ? 0 : api_err_internal(r);
}

/* How many of [min, max] instances fit: the account's vCPU quota first
 * (VcpuLimitExceeded), then the host's budget (InsufficientInstanceCapacity).
 * Never more than fits: no silent overcommit. */
static int fit(struct api_req *r, const struct instance_type *t, int64_t min, int64_t max, int64_t *n)
{
	struct capacity c;
	int vcpus = itype_vcpus(t), mib = itype_memory_mib(t);
	int64_t by_quota, by_cpu, by_mem;

	if (instmgr_capacity(r->h, r->account_id, &c) < 0)
		return api_err_internal(r);
	by_quota = (c.quota_vcpus - c.account_vcpus) / vcpus;
	by_cpu = (c.host_vcpus - c.used_vcpus) / vcpus;
	by_mem = (c.host_mib - c.used_mib) / mib;
	if (by_quota < min)
		return api_err(r, 400, "VcpuLimitExceeded",
			       "You have requested more vCPU capacity than your current vCPU limit of %ld allows for "
			       "the instance bucket that the specified instance type belongs to. Please visit "
			       "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
			       c.quota_vcpus);
	if (by_cpu < min || by_mem < min)
		return api_err(r, 500, "InsufficientInstanceCapacity",
			       "We currently do not have sufficient %s capacity in the Availability Zone you "
			       "requested (%s). Our system will be working on provisioning additional capacity. "
			       "(host budget: %ld of %ld vCPUs and %ld of %ld MiB in use)",
			       itype_name(t), r->h->cfg->availability_zone, c.used_vcpus, c.host_vcpus, c.used_mib,
			       c.host_mib);
	*n = max;
	if (*n > by_quota)
		*n = by_quota;
	if (*n > by_cpu)
		*n = by_cpu;
	if (*n > by_mem)
		*n = by_mem;
	return 0;
}

static int insert_instance(struct api_req *r, const struct run_req *q, const char *res_id, int idx,
			   int64_t now, char *id_out)
{
	struct store *s = r->h->store;
	char id[ID_MAX], vol[ID_MAX], uuid[37], file[ID_MAX + 16];
	sqlite3_stmt *st;

	if (id_new("i", id) < 0 || id_new("vol", vol) < 0 || ec2_uuid(uuid) < 0)
		return -EIO;
	st = store_stmt(s, "INSERT INTO instances(id, account_id, reservation_id, launch_index, image_id, "
			   "instance_type, vcpus, memory_mib, key_name, user_data, subnet_id, security_group_ids, az, "
			   "tenancy, placement_group, shutdown_behavior, disable_api_termination, md_http_tokens, "
			   "md_http_endpoint, md_hop_limit, md_tags, md_ipv6, root_device_name, uuid, state, "
			   "state_reason_code, state_reason_msg, launch_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
			   "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, 'pending', "
			   "'pending', 'pending', ?25)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, res_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, idx);
	sqlite3_bind_text(st, 5, q->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, q->type_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, itype_vcpus(q->type));
	sqlite3_bind_int(st, 8, itype_memory_mib(q->type));
	if (q->key_name)
		sqlite3_bind_text(st, 9, q->key_name, -1, SQLITE_STATIC);
	if (q->user_data)
		sqlite3_bind_blob(st, 10, q->user_data, (int)q->user_data_len, SQLITE_STATIC);
	if (q->subnet)
		sqlite3_bind_text(st, 11, q->subnet, -1, SQLITE_STATIC);
	if (q->groups[0])
		sqlite3_bind_text(st, 12, q->groups, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->h->cfg->availability_zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, q->tenancy, -1, SQLITE_STATIC);
	if (q->pgroup)
		sqlite3_bind_text(st, 15, q->pgroup, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, q->behavior, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 17, q->dat);
	sqlite3_bind_text(st, 18, q->md_tokens, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, q->md_endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 20, q->hop_limit);
	sqlite3_bind_text(st, 21, q->md_tags, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 22, q->md_ipv6, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 23, q->img.root_device_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 25, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	snprintf(file, sizeof(file), "volumes/%s.qcow2", vol);
	st = store_stmt(s, "INSERT INTO volumes(id, account_id, size_gib, volume_type, snapshot_id, az, state, file, "
			   "created_ms, instance_id, device, attach_state, attach_ms, delete_on_termination) VALUES "
			   "(?1, ?2, ?3, ?4, ?5, ?6, 'creating', ?7, ?8, ?9, ?10, 'attaching', ?8, ?11)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, vol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, q->root_gib);
	sqlite3_bind_text(st, 4, q->root_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, q->img.snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->h->cfg->availability_zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, q->img.root_device_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 11, q->root_dot);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -EIO;
	if (tags_set(s, r->account_id, id, "instance", &q->itags) < 0 ||
	    tags_set(s, r->account_id, vol, "volume", &q->vtags) < 0 ||
	    ebs_launch_insert(r, q->ebs, id, now, &q->vtags) < 0)
		return -EIO;
	if (q->profile) {
		char assoc[ID_MAX];

		if (iam_assoc_insert(r->h, r->account_id, id, q->profile->name, assoc) < 0)
			return -EIO;
	}
	{
		const char *gp[5];
		struct eni_new en = { .sn = &q->sn, .ip = q->private_ip, .groups = gp, .ngroups = q->ngids,
				      .instance_id = id, .device_index = 0, .delete_on_termination = true,
				      .description = "" };
		char eni[ID_MAX], ip[16];
		int e;

		for (size_t i = 0; i < q->ngids; i++)
			gp[i] = q->gids[i];
		e = eni_insert(r->h, r->account_id, &en, eni, ip);
		if (e < 0)
			return e;
		if ((e = pubip_assign(r->h, id)) < 0)
			return e;
	}
	memcpy(id_out, id, ID_MAX);
	return 0;
}

int act_run_instances(struct api_req *r)
{
	struct store *s = r->h->store;
	struct run_req q;
	char res_id[ID_MAX], hash[65], id[ID_MAX];
	int64_t n = 0, now = now_ms();
	int ret;

	memset(&q, 0, sizeof(q));
	if (!r->h->vmm) {
		ret = api_err(r, 503, "Unavailable", "This host runs without a hypervisor connection.");
		goto out;
	}
	if ((ret = parse_run(r, &q)) < 0)
		goto out;
	request_hash(r, hash);
	if (q.client_token) {
		ret = idempotent(r, q.client_token, hash, res_id, sizeof(res_id));
		if (ret < 0)
			goto out;
		if (ret == 1) {
			ret = write_reservation(r, res_id);
			goto out;
		}
	}
	if ((ret = fit(r, q.type, q.min, q.max, &n)) < 0)
		goto out;
	if (id_new("r", res_id) < 0 || store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	{
		sqlite3_stmt *st = store_stmt(s, "INSERT INTO reservations(id, account_id, client_token, request_hash, "
						 "created_ms) VALUES (?1, ?2, ?3, ?4, ?5)");

		if (!st)
			goto internal;
		sqlite3_bind_text(st, 1, res_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		if (q.client_token)
			sqlite3_bind_text(st, 3, q.client_token, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto internal;
	}
	for (int64_t i = 0; i < n; i++) {
		int e = insert_instance(r, &q, res_id, (int)i, now, id);

		if (e == -EADDRINUSE) {
			store_rollback(s);
			ret = api_err(r, 400, "InvalidIPAddress.InUse", "Address %s is in use.", q.private_ip);
			goto out;
		}
		if (e == -ENOSPC) {
			store_rollback(s);
			ret = api_err(r, 400, "InsufficientFreeAddressesInSubnet",
				      "There are not enough free addresses in subnet '%s' to satisfy the requested "
				      "number of instances.", q.sn.id);
			goto out;
		}
		if (e < 0)
			goto internal;
	}
	if (store_commit(s) < 0)
		goto internal;
	/* DHCP/DNS hosts and rules for the new ENIs: the launch brings them
	 * in while QEMU starts (before the guest runs). */
	vpc_refresh_later(r->h, q.sn.vpc_id);
	ebs_launch_run(r, q.ebs);
	log_info("instance", "RunInstances: %lld x %s from %s in %s", (long long)n, q.type_name, q.image_id, res_id);
	instmgr_kick(r->h);
	ret = write_reservation(r, res_id);
	goto out;
internal:
	store_rollback(s);
	ret = api_err_internal(r);
out:
	free(q.user_data);
	tag_list_free(&q.itags);
	tag_list_free(&q.vtags);
	ebs_launch_free(q.ebs);
	return ret;
}

/* --- Start/Stop/Reboot/Terminate ---------------------------------------- */

struct change {
	char id[ID_MAX];
	char prev[16], cur[16];
};

static int read_state(struct api_req *r, const char *id, char *state, size_t len, bool *dat)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT state, disable_api_termination FROM instances "
						   "WHERE id = ?1 AND account_id = ?2");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -ENOENT;
	snprintf(state, len, "%s", col(st, 0));
	if (dat)
		*dat = sqlite3_column_int(st, 1) != 0;
	return 0;
}

static int set_state(struct api_req *r, const char *id, const char *to, const char *code, const char *msg,
		     bool force)
{
	char reason[64];
	sqlite3_stmt *st = store_stmt(r->h->store,
				      "UPDATE instances SET state = ?2, state_reason_code = ?3, state_reason_msg = ?4, "
				      "transition_reason = ?5, stop_force = ?6, stop_deadline_ms = NULL WHERE id = ?1");

	if (!st)
		return -EIO;
	user_initiated(reason, sizeof(reason));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, msg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, code ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, force);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

static void write_changes(struct api_req *r, const char *set, const struct change *c, size_t n)
{
	xml_open(&r->x, set);
	for (size_t i = 0; i < n; i++) {
		xml_open(&r->x, "item");
		xml_text(&r->x, "instanceId", c[i].id);
		write_state(&r->x, "currentState", c[i].cur);
		write_state(&r->x, "previousState", c[i].prev);
		xml_close(&r->x);
	}
	xml_close(&r->x);
}

enum op { OP_START, OP_STOP, OP_TERMINATE };

static const char uis_code[] = "Client.UserInitiatedShutdown";
static const char uis_msg[] = "Client.UserInitiatedShutdown: User initiated shutdown";

/* Validates every instance first (all or nothing), then records the new
 * states in one transaction. */
static int change_states(struct api_req *r, enum op op)
{
	struct store *s = r->h->store;
	const char **ids = NULL;
	struct change *c = NULL;
	size_t n = 0;
	bool force = false;
	int ret;

	if ((ret = api_list(r, "InstanceId", &ids, &n)) < 0)
		goto out;
	if (!n) {
		ret = api_err_missing(r, "InstanceId");
		goto out;
	}
	if (op == OP_STOP) {
		bool hib = false;

		if ((ret = api_bool(r, "Force", false, &force)) < 0 || (ret = api_bool(r, "Hibernate", false, &hib)) < 0)
			goto out;
		if (hib) {
			ret = api_err(r, 400, "UnsupportedHibernationConfiguration",
				      "The instance was not launched with hibernation enabled.");
			goto out;
		}
	}
	if ((ret = check_ids(r, ids, n)) < 0)
		goto out;
	c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		bool dat = false;

		snprintf(c[i].id, sizeof(c[i].id), "%s", ids[i]);
		if (read_state(r, ids[i], c[i].prev, sizeof(c[i].prev), &dat) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		snprintf(c[i].cur, sizeof(c[i].cur), "%s", c[i].prev);
		switch (op) {
		case OP_START:
			if (!strcmp(c[i].prev, "stopped")) {
				snprintf(c[i].cur, sizeof(c[i].cur), "pending");
			} else if (strcmp(c[i].prev, "pending") && strcmp(c[i].prev, "running")) {
				ret = api_err(r, 400, "IncorrectInstanceState",
					      "The instance '%s' is not in a state from which it can be started.", ids[i]);
				goto out;
			}
			break;
		case OP_STOP:
			if (!strcmp(c[i].prev, "running") || !strcmp(c[i].prev, "stopping")) {
				snprintf(c[i].cur, sizeof(c[i].cur), "stopping");
			} else if (strcmp(c[i].prev, "stopped")) {
				ret = api_err(r, 400, "IncorrectInstanceState",
					      "This instance '%s' is not in a state from which it can be stopped.", ids[i]);
				goto out;
			}
			break;
		case OP_TERMINATE:
			if (dat) {
				ret = api_err(r, 400, "OperationNotPermitted",
					      "The instance '%s' may not be terminated. Modify its 'disableApiTermination' "
					      "instance attribute and try again.", ids[i]);
				goto out;
			}
			if (strcmp(c[i].prev, "terminated"))
				snprintf(c[i].cur, sizeof(c[i].cur), "shutting-down");
			break;
		}
	}
	if (store_begin(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int e = 0;

		if (op == OP_START && !strcmp(c[i].cur, "pending") && strcmp(c[i].prev, "pending")) {
			e = set_state(r, c[i].id, "pending", "pending", "pending", false);
			/* a new automatic public IP for every start, as on EC2 */
			if (e == 0)
				e = pubip_assign(r->h, c[i].id);
		}
		else if (op == OP_STOP && !strcmp(c[i].cur, "stopping") &&
			 (strcmp(c[i].prev, "stopping") || force))
			e = set_state(r, c[i].id, "stopping", uis_code, uis_msg, force);
		else if (op == OP_TERMINATE && !strcmp(c[i].cur, "shutting-down") && strcmp(c[i].prev, "shutting-down"))
			e = set_state(r, c[i].id, "shutting-down", uis_code, uis_msg, false);
		if (e < 0) {
			store_rollback(s);
			ret = api_err_internal(r);
			goto out;
		}
	}
	if (store_commit(s) < 0) {
		ret = api_err_internal(r);
		goto out;
	}
	if (op == OP_START)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(c[i].cur, "pending") && strcmp(c[i].prev, "pending"))
				vpc_refresh_later_instance(r->h, c[i].id);
	instmgr_kick(r->h);
	/* All three responses name the list instancesSet in the model. */
	write_changes(r, "instancesSet", c, n);
	ret = 0;
out:
	free(c);
	free(ids);
	return ret;
}

/* Start needs capacity again, like a launch. */
static int start_capacity(struct api_req *r)
{
	const char **ids = NULL;
	size_t n = 0;
	long vcpus = 0, mib = 0;
	struct capacity c;
	int ret;

	if ((ret = api_list(r, "InstanceId", &ids, &n)) < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = store_stmt(r->h->store, "SELECT vcpus, memory_mib FROM instances WHERE id = ?1 "
							   "AND account_id = ?2 AND state = 'stopped'");

		if (!st)
			break;
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			vcpus += sqlite3_column_int(st, 0);
			mib += sqlite3_column_int(st, 1);
		}
	}
	free(ids);
	if (instmgr_capacity(r->h, r->account_id, &c) < 0)
		return api_err_internal(r);
	if (c.account_vcpus + vcpus > c.quota_vcpus)
		return api_err(r, 400, "VcpuLimitExceeded",
			       "You have requested more vCPU capacity than your current vCPU limit of %ld allows.",
			       c.quota_vcpus);
	if (c.used_vcpus + vcpus > c.host_vcpus || c.used_mib + mib > c.host_mib)
		return api_err(r, 500, "InsufficientInstanceCapacity",
			       "Insufficient capacity to start the instances on this host.");
	return 0;
}

int act_start_instances(struct api_req *r)
{
	int ret;

	if (!r->h->vmm)
		return api_err(r, 503, "Unavailable", "This host runs without a hypervisor connection.");
	ret = start_capacity(r);
	return ret < 0 ? ret : change_states(r, OP_START);
}

int act_stop_instances(struct api_req *r) { return change_states(r, OP_STOP); }

int act_terminate_instances(struct api_req *r) { return change_states(r, OP_TERMINATE); }

int act_reboot_instances(struct api_req *r)
{
	const char **ids = NULL;
	size_t n = 0;
	int ret;

	if ((ret = api_list(r, "InstanceId", &ids, &n)) < 0)
		goto out;
	if (!n) {
		ret = api_err_missing(r, "InstanceId");
		goto out;
	}
	if ((ret = check_ids(r, ids, n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char state[16];

		if (read_state(r, ids[i], state, sizeof(state), NULL) < 0) {
			ret = api_err_internal(r);
			goto out;
		}
		if (strcmp(state, "running") && strcmp(state, "pending")) {
			ret = api_err(r, 400, "IncorrectInstanceState", "The instance '%s' is not in a state from "
									 "which it can be rebooted.", ids[i]);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (instmgr_reboot(r->h, ids[i]) < 0)
			log_err("instance", "%s: reboot failed", ids[i]);
	xml_bool(&r->x, "return", true);
	ret = 0;
out:
	free(ids);
	return ret;
}

/* --- attributes ---------------------------------------------------------- */

static int one_instance(struct api_req *r, const char **id)
{
	int ret = api_need_str(r, "InstanceId", id);

	if (ret < 0)
		return ret;
	return check_ids(r, id, 1);
}

int act_describe_instance_attribute(struct api_req *r)
{
	static const char *const attrs[] = {
		"instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
		"instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping", "productCodes",
		"sourceDestCheck", "groupSet", "ebsOptimized", "sriovNetSupport", "enaSupport",
		"enclaveOptions", "disableApiStop", NULL,
	};
	const char *id, *attr;
	sqlite3_stmt *st;
	int ret;

	if ((ret = one_instance(r, &id)) < 0 || (ret = api_need_str(r, "Attribute", &attr)) < 0)
		return ret;
	if (one_of(r, "Attribute", attr, attrs) < 0)
		return api_err(r, 400, "InvalidParameterValue", "Value (%.64s) for parameter attribute is invalid. "
								 "Unknown attribute.", attr);
	st = store_stmt(r->h->store, "SELECT instance_type, user_data, disable_api_termination, shutdown_behavior, "
				     "root_device_name, security_group_ids FROM instances WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return api_err_internal(r);
	xml_text(&r->x, "instanceId", id);
	if (!strcmp(attr, "instanceType")) {
		xml_open(&r->x, "instanceType");
		xml_text(&r->x, "value", col(st, 0));
		xml_close(&r->x);
	} else if (!strcmp(attr, "userData")) {
		xml_open(&r->x, "userData");
		if (sqlite3_column_bytes(st, 1) > 0) {
			char *b64 = base64_encode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));

			xml_text(&r->x, "value", b64);
			free(b64);
		}
		xml_close(&r->x);
	} else if (!strcmp(attr, "disableApiTermination")) {
		xml_open(&r->x, "disableApiTermination");
		xml_bool(&r->x, "value", sqlite3_column_int(st, 2) != 0);
		xml_close(&r->x);
	} else if (!strcmp(attr, "instanceInitiatedShutdownBehavior")) {
		xml_open(&r->x, "instanceInitiatedShutdownBehavior");
		xml_text(&r->x, "value", col(st, 3));
		xml_close(&r->x);
	} else if (!strcmp(attr, "rootDeviceName")) {
		xml_open(&r->x, "rootDeviceName");
		xml_text(&r->x, "value", col(st, 4));
		xml_close(&r->x);
	} else if (!strcmp(attr, "blockDeviceMapping")) {
		struct vol_att atts[32];
		size_t natts = 0;

		if (load_atts(r->h->store, id, atts, ARRAY_SIZE(atts), &natts) < 0)
			return api_err_internal(r);
		write_bdm(&r->x, atts, natts);
	} else if (!strcmp(attr, "groupSet")) {
		char *groups = col(st, 5) ? xstrdup(col(st, 5)) : NULL;

		write_groups(&r->x, groups);
		free(groups);
	} else if (!strcmp(attr, "sourceDestCheck") || !strcmp(attr, "ebsOptimized") ||
		   !strcmp(attr, "enaSupport") || !strcmp(attr, "disableApiStop")) {
		xml_open(&r->x, attr);
		xml_bool(&r->x, "value", !strcmp(attr, "sourceDestCheck") || !strcmp(attr, "enaSupport"));
		xml_close(&r->x);
	} else if (!strcmp(attr, "productCodes")) {
		xml_open(&r->x, "productCodes");
		xml_close(&r->x);
	} else if (!strcmp(attr, "enclaveOptions")) {
		xml_open(&r->x, "enclaveOptions");
		xml_bool(&r->x, "enabled", false);
		xml_close(&r->x);
	} else {
		/* kernel, ramdisk, sriovNetSupport: empty, as for HVM AMIs */
		xml_open(&r->x, attr);
		xml_close(&r->x);
	}
	return 0;
}

/* ModifyInstanceAttribute: Attribute+Value, or one of the X.Value forms. */
int act_modify_instance_attribute(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id, *attr = api_str(r, "Attribute"), *value = api_str(r, "Value");
	const char *itype = api_str(r, "InstanceType.Value"), *udata = api_str(r, "UserData.Value");
	const char *dat = api_str(r, "DisableApiTermination.Value");
	const char *beh = api_str(r, "InstanceInitiatedShutdownBehavior.Value");
	char state[16];
	/* BlockDeviceMapping.N (DeleteOnTermination): act_volumes.c */
	unsigned *bdm_idx = NULL;
	size_t nbdm = 0;
	bool bdm = query_indices(r->q, "BlockDeviceMapping", &bdm_idx, &nbdm) == 0 && nbdm > 0;
	int given = !!itype + !!udata + !!dat + !!beh + !!attr + bdm;
	sqlite3_stmt *st;
	int ret;

	free(bdm_idx);
	if ((ret = one_instance(r, &id)) < 0)
		return ret;
	if (given != 1)
		return api_err(r, 400, "InvalidParameterCombination",
			       "Exactly one attribute must be modified per request.");
	if (bdm)
		return act_modify_instance_bdm(r, id);
	if (attr) {
		if (!value)
			return api_err_missing(r, "Value");
		if (!strcmp(attr, "instanceType"))
			itype = value;
		else if (!strcmp(attr, "userData"))
			udata = value;
		else if (!strcmp(attr, "disableApiTermination"))
			dat = value;
		else if (!strcmp(attr, "instanceInitiatedShutdownBehavior"))
			beh = value;
		else
			return api_err(r, 400, "InvalidParameterValue",
				       "Value (%.64s) for parameter attribute is invalid. Modifying it is not "
				       "supported on this host.", attr);
	}
	if (read_state(r, id, state, sizeof(state), NULL) < 0)
		return api_err_internal(r);
	if ((itype || udata) && strcmp(state, "stopped"))
		return api_err(r, 400, "IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", id);
	if (itype) {
		const struct instance_type *t = itype_find(itype);

		if (!t || itype_bare_metal(t))
			return api_err(r, 400, "InvalidInstanceAttributeValue", "Invalid value '%.64s' for instanceType.",
				       itype);
		st = store_stmt(s, "UPDATE instances SET instance_type = ?2, vcpus = ?3, memory_mib = ?4 WHERE id = ?1");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 2, itype, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, itype_vcpus(t));
		sqlite3_bind_int(st, 4, itype_memory_mib(t));
	} else if (udata) {
		unsigned char *raw = NULL;
		size_t len = 0;

		if (base64_decode(udata, strlen(udata), &raw, &len) < 0)
			return api_err(r, 400, "InvalidParameterValue", "Invalid BASE64 encoding of user data.");
		if (len > USER_DATA_MAX) {
			free(raw);
			return api_err(r, 400, "InvalidParameterValue", "User data is limited to %d bytes", USER_DATA_MAX);
		}
		st = store_stmt(s, "UPDATE instances SET user_data = ?2 WHERE id = ?1");
		if (!st) {
			free(raw);
			return api_err_internal(r);
		}
		if (len)
			sqlite3_bind_blob(st, 2, raw, (int)len, SQLITE_TRANSIENT);
		free(raw);
	} else if (dat) {
		bool b;

		if (!strcmp(dat, "true"))
			b = true;
		else if (!strcmp(dat, "false"))
			b = false;
		else
			return api_err_value(r, "DisableApiTermination", dat, "Expected true or false.");
		st = store_stmt(s, "UPDATE instances SET disable_api_termination = ?2 WHERE id = ?1");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_int(st, 2, b);
	} else {
		if (strcmp(beh, "stop") && strcmp(beh, "terminate"))
			return api_err(r, 400, "InvalidParameterValue",
				       "Value (%.32s) for parameter instanceInitiatedShutdownBehavior is invalid.", beh);
		st = store_stmt(s, "UPDATE instances SET shutdown_behavior = ?2 WHERE id = ?1");
		if (!st)
			return api_err_internal(r);
		sqlite3_bind_text(st, 2, beh, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	xml_bool(&r->x, "return", true);
	return 0;
}

/* --- console ------------------------------------------------------------- */

int act_get_console_output(struct api_req *r)
{
	const char *id;
	char path[4300];
	struct stat sb;
	unsigned char *data = NULL;
	int fd = -1, ret;

	if ((ret = one_instance(r, &id)) < 0)
		return ret;
	{
		bool latest;

		if ((ret = api_bool(r, "Latest", false, &latest)) < 0)
			return ret;
	}
	xml_text(&r->x, "instanceId", id);
	xml_time(&r->x, "timestamp", now_ms());
	if (instance_console_path(r->h, id, path, sizeof(path)) < 0)
		return api_err_internal(r);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* nothing printed yet: no <output>, as on EC2 */
	if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
		/* The most recent 64 KiB, as EC2 returns. */
		off_t off = sb.st_size > CONSOLE_MAX ? sb.st_size - CONSOLE_MAX : 0;
		size_t want = (size_t)(sb.st_size - off), got = 0;

		data = xmalloc(want);
		while (got < want) {
			ssize_t k = pread(fd, data + got, want - got, off + (off_t)got);

			if (k <= 0)
				break;
			got += (size_t)k;
		}
		if (got) {
			char *b64 = base64_encode(data, got);

			xml_text(&r->x, "output", b64);
			free(b64);
		}
	}
	free(data);
	close(fd);
	return 0;
}

int act_get_console_screenshot(struct api_req *r)
{
	const char *id;
	char state[16];
	unsigned char *jpg = NULL;
	size_t len = 0;
	int w, h, ret;

	if ((ret = one_instance(r, &id)) < 0)
		return ret;
	{
		bool wake;

		if ((ret = api_bool(r, "WakeUp", false, &wake)) < 0)
			return ret;
	}
	if (read_state(r, id, state, sizeof(state), NULL) < 0)
		return api_err_internal(r);
	if (strcmp(state, "running"))
		return api_err(r, 400, "IncorrectInstanceState", "The instance '%s' is not in the 'running' state.", id);
	ret = instmgr_screenshot(r->h, id, &jpg, &len, &w, &h);
	if (ret == -ENOENT)
		return api_err(r, 400, "IncorrectInstanceState", "The instance '%s' is not running.", id);
	if (ret < 0)
		return api_err(r, 500, "InternalError", "The screenshot could not be taken.");
	{
		char *b64 = base64_encode(jpg, len);

		xml_text(&r->x, "instanceId", id);
		xml_text(&r->x, "imageData", b64);
		free(b64);
	}
	free(jpg);
	return 0;
}
