/* Instance metadata options: ModifyInstanceMetadataOptions (live, through
 * the instance's imds/ tree), and the account's defaults
 * (Modify/GetInstanceMetadataDefaults) that RunInstances applies where the
 * request says nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostd/act_imds.h"
#include "hostd/actions.h"
#include "hostd/api.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/store.h"
#include "hostd/xml.h"
#include "lib/ids.h"

static const char *const tokens_ok[] = { "optional", "required", NULL };
static const char *const onoff_ok[] = { "enabled", "disabled", NULL };

static int enum_param(struct api_req *r, const char *name, const char *const *ok, bool nopref, const char **out)
{
	const char *v = api_str(r, name);

	*out = NULL;
	if (!v)
		return 0;
	if (nopref && !strcmp(v, "no-preference")) {
		*out = v;
		return 0;
	}
	for (size_t i = 0; ok[i]; i++)
		if (!strcmp(v, ok[i])) {
			*out = v;
			return 0;
		}
	return api_err(r, 400, "InvalidParameterValue", "Value (%.64s) for parameter %s is invalid.", v, name);
}

int md_defaults_apply(struct store *s, const char *account, struct md_opts *o)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT http_tokens, hop_limit, http_endpoint, tags FROM md_defaults "
					  "WHERE account_id = ?1");
	static const char *const vals[] = { "optional", "required", "enabled", "disabled" };
	const char **dst[] = { &o->http_tokens, NULL, &o->http_endpoint, &o->tags };

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return 0;
	for (int c = 0; c < 4; c++) {
		const char *v = (const char *)sqlite3_column_text(st, c);

		if (c == 1) {
			if (sqlite3_column_type(st, 1) != SQLITE_NULL)
				o->hop_limit = sqlite3_column_int(st, 1);
			continue;
		}
		/* the store's strings die with the row: map to static ones */
		for (size_t i = 0; v && i < sizeof(vals) / sizeof(vals[0]); i++)
			if (!strcmp(v, vals[i]))
				*dst[c] = vals[i];
	}
	sqlite3_reset(st);
	return 0;
}

int act_modify_instance_metadata_options(struct api_req *r)
{
	struct store *s = r->h->store;
	const char *id, *tokens, *endpoint, *ipv6, *tags;
	char state[16] = "";
	int64_t hop = 0;
	sqlite3_stmt *st;
	int ret;

	if ((ret = api_need_str(r, "InstanceId", &id)) < 0)
		return ret;
	if (!id_valid("i", id))
		return api_err(r, 400, "InvalidInstanceID.Malformed", "Invalid id: \"%.64s\"", id);
	if ((ret = enum_param(r, "HttpTokens", tokens_ok, false, &tokens)) < 0 ||
	    (ret = enum_param(r, "HttpEndpoint", onoff_ok, false, &endpoint)) < 0 ||
	    (ret = enum_param(r, "HttpProtocolIpv6", onoff_ok, false, &ipv6)) < 0 ||
	    (ret = enum_param(r, "InstanceMetadataTags", onoff_ok, false, &tags)) < 0 ||
	    (ret = api_int(r, "HttpPutResponseHopLimit", 0, 1, 64, &hop)) < 0)
		return ret;
	st = store_stmt(s, "SELECT state FROM instances WHERE id = ?1 AND account_id = ?2");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return api_err(r, 400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id);
	snprintf(state, sizeof(state), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (!strcmp(state, "terminated") || !strcmp(state, "shutting-down"))
		return api_err(r, 400, "IncorrectInstanceState",
			       "The instance '%s' is not in a state from which it can be modified.", id);
	st = store_stmt(s, "UPDATE instances SET md_http_tokens = COALESCE(?2, md_http_tokens), "
			   "md_http_endpoint = COALESCE(?3, md_http_endpoint), md_ipv6 = COALESCE(?4, md_ipv6), "
			   "md_tags = COALESCE(?5, md_tags), md_hop_limit = COALESCE(?6, md_hop_limit) WHERE id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (tokens)
		sqlite3_bind_text(st, 2, tokens, -1, SQLITE_STATIC);
	if (endpoint)
		sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_STATIC);
	if (ipv6)
		sqlite3_bind_text(st, 4, ipv6, -1, SQLITE_STATIC);
	if (tags)
		sqlite3_bind_text(st, 5, tags, -1, SQLITE_STATIC);
	if (hop)
		sqlite3_bind_int64(st, 6, hop);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	/* A launched instance's responder reads options per request: applied
	 * as soon as the tree is rewritten. The tree of one not yet launched
	 * is written at launch. */
	if (imdstree_refresh(r->h, id) < 0)
		return api_err_internal(r);
	st = store_stmt(s, "SELECT md_http_tokens, md_hop_limit, md_http_endpoint, md_ipv6, md_tags FROM instances "
			   "WHERE id = ?1");
	if (!st || (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_ROW)
		return api_err_internal(r);
	xml_text(&r->x, "instanceId", id);
	xml_open(&r->x, "instanceMetadataOptions");
	/* EC2 answers pending: the change reaches the instance shortly after. */
	xml_text(&r->x, "state", "pending");
	xml_text(&r->x, "httpTokens", (const char *)sqlite3_column_text(st, 0));
	xml_int(&r->x, "httpPutResponseHopLimit", sqlite3_column_int(st, 1));
	xml_text(&r->x, "httpEndpoint", (const char *)sqlite3_column_text(st, 2));
	xml_text(&r->x, "httpProtocolIpv6", (const char *)sqlite3_column_text(st, 3));
	xml_text(&r->x, "instanceMetadataTags", (const char *)sqlite3_column_text(st, 4));
	xml_close(&r->x);
	sqlite3_reset(st);
	return 0;
}

/* A given value replaces the stored one; no-preference (-1 for the hop
 * limit) clears it; an absent one leaves it. */
int act_modify_instance_metadata_defaults(struct api_req *r)
{
	const char *tokens, *endpoint, *tags, *enforced;
	int64_t hop = 0;
	sqlite3_stmt *st;
	int ret;

	if ((ret = enum_param(r, "HttpTokens", tokens_ok, true, &tokens)) < 0 ||
	    (ret = enum_param(r, "HttpEndpoint", onoff_ok, true, &endpoint)) < 0 ||
	    (ret = enum_param(r, "InstanceMetadataTags", onoff_ok, true, &tags)) < 0 ||
	    (ret = enum_param(r, "HttpTokensEnforced", onoff_ok, true, &enforced)) < 0 ||
	    (ret = api_int(r, "HttpPutResponseHopLimit", 0, -1, 64, &hop)) < 0)
		return ret;
	if (api_str(r, "HttpPutResponseHopLimit") && hop == 0)
		return api_err(r, 400, "InvalidParameterValue",
			       "Value (0) for parameter HttpPutResponseHopLimit is invalid. Valid values: 1-64, or -1 "
			       "for no preference.");
	st = store_stmt(r->h->store,
			"INSERT INTO md_defaults (account_id) VALUES (?1) ON CONFLICT(account_id) DO NOTHING");
	if (!st || (sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE)
		return api_err_internal(r);
	st = store_stmt(r->h->store,
			"UPDATE md_defaults SET "
			"http_tokens = CASE WHEN ?2 IS NULL THEN http_tokens WHEN ?2 = 'no-preference' THEN NULL ELSE ?2 END, "
			"http_endpoint = CASE WHEN ?3 IS NULL THEN http_endpoint WHEN ?3 = 'no-preference' THEN NULL "
			"ELSE ?3 END, "
			"tags = CASE WHEN ?4 IS NULL THEN tags WHEN ?4 = 'no-preference' THEN NULL ELSE ?4 END, "
			"tokens_enforced = CASE WHEN ?5 IS NULL THEN tokens_enforced WHEN ?5 = 'no-preference' THEN NULL "
			"ELSE ?5 END, "
			"hop_limit = CASE WHEN ?6 IS NULL THEN hop_limit WHEN ?6 = -1 THEN NULL ELSE ?6 END "
			"WHERE account_id = ?1");
	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	if (tokens)
		sqlite3_bind_text(st, 2, tokens, -1, SQLITE_STATIC);
	if (endpoint)
		sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_STATIC);
	if (tags)
		sqlite3_bind_text(st, 4, tags, -1, SQLITE_STATIC);
	if (enforced)
		sqlite3_bind_text(st, 5, enforced, -1, SQLITE_STATIC);
	if (hop)
		sqlite3_bind_int64(st, 6, hop);
	if (sqlite3_step(st) != SQLITE_DONE)
		return api_err_internal(r);
	xml_bool(&r->x, "return", true);
	return 0;
}

int act_get_instance_metadata_defaults(struct api_req *r)
{
	sqlite3_stmt *st = store_stmt(r->h->store, "SELECT http_tokens, hop_limit, http_endpoint, tags, "
						   "tokens_enforced FROM md_defaults WHERE account_id = ?1");

	if (!st)
		return api_err_internal(r);
	sqlite3_bind_text(st, 1, r->account_id, -1, SQLITE_STATIC);
	xml_open(&r->x, "accountLevel");
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			xml_text(&r->x, "httpTokens", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			xml_int(&r->x, "httpPutResponseHopLimit", sqlite3_column_int(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			xml_text(&r->x, "httpEndpoint", (const char *)sqlite3_column_text(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			xml_text(&r->x, "instanceMetadataTags", (const char *)sqlite3_column_text(st, 3));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			xml_text(&r->x, "httpTokensEnforced", (const char *)sqlite3_column_text(st, 4));
	}
	xml_text(&r->x, "managedBy", "account");
	xml_close(&r->x);
	sqlite3_reset(st);
	return 0;
}
